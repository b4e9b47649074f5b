"""Measure job events pushed over WebSockets: one Daphne, many sockets, the product against a bare relay.

For each ``--sockets`` count the bench runs two servers in turn on the same
private Redis, each a single Daphne process started with
``--ping-interval 3600``:

- the product (``project.asgi:application``) on a fresh SQLite database that
  the bench migrates. Every socket belongs to its own user and connects to
  /ws/dashboard/ with a session cookie. A publisher process changes the
  users' jobs at each ``--rates`` value for ``--seconds``, through
  ``apply_status`` and ``publish_job`` as the poller does. Then as many
  staff sockets connect to /ws/console/ and receive ``console.refresh``
  (built once, as the periodic refresh does) and ``job.changed`` broadcasts;
- the bare relay (bench/bare_asgi.py): the same number of sockets, each in a
  group, receiving ``group_send`` of messages of the product's size at the
  same rates, and then broadcasts to one group holding every socket.

Latency runs from the moment before the job state is stored (bare: before
``group_send``) to the moment a client socket returns the message, with
``time.monotonic()`` on both sides. An event that never arrives is lost. A
loss counts as noticed when a later message on the same socket skipped its
sequence number, as the page checks. Daphne's memory per socket is the growth
of its RSS while the sockets connect, divided by the sockets. Both RSS figures
come from /proc, after a few warm-up sockets have come and gone.

Clients (bench/ws_bench_clients.py) and publishers (bench/ws_bench_publish.py)
are separate processes, and everything shares the machine's cores.

Usage:
    python bench/ws_load_bench.py --sockets 100,1000 --rates 50,200 --seconds 10
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
REDIS_PREFIX = "wsbench"
BARE_PREFIX = "wsbench-bare:asgi"
WARM_UP_SOCKETS = 5
DRAIN_SECONDS = 1.5
# Maximum seconds to wait for one broadcast to reach every socket; sockets
# still without it then count as not reached.
BROADCAST_WAIT_SECONDS = 120
OPEN_FILES = 8192
# Targets at the largest socket count and the highest rate.
TARGET_P99_MS = 10.0
TARGET_KB_PER_SOCKET = 40.0
TARGET_CONSOLE_LAST_MS = 350.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", default="100,1000", help="comma-separated socket counts (default 100,1000)")
    parser.add_argument("--rates", default="50,200", help="comma-separated events per second (default 50,200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds at each rate (default 10)")
    parser.add_argument("--broadcasts", type=int, default=3, help="broadcasts of each kind per run (default 3)")
    parser.add_argument("--concurrency", type=int, default=20, help="handshakes in flight at once (default 20)")
    parser.add_argument("--console-concurrency", type=int, default=50,
                        help="console handshakes in flight at once (default 50)")
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server",
                        help="redis-server binary to start a private Redis with")
    parser.add_argument("--keep", action="store_true", help="keep the work folder with logs and raw results")
    parser.add_argument("--skip-bare", action="store_true", help="measure the product only")
    parser.add_argument("--bare-direct", action="store_true",
                        help="bare sockets skip Channels' per-message turn on the database thread, as the product's do")
    parser.add_argument("--skip-console", action="store_true", help="skip the console broadcasts")
    args = parser.parse_args(argv)
    args.sockets = [int(value) for value in args.sockets.split(",")]
    args.rates = [float(value) for value in args.rates.split(",")]
    if min(args.sockets) <= WARM_UP_SOCKETS:
        parser.error(f"--sockets must each be more than {WARM_UP_SOCKETS}")
    if args.seconds <= 0 or args.seconds > 120:
        parser.error("--seconds must be from 0 to 120")
    return args


# --- processes ------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with code {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def stop(process, timeout=15.0):
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running(command, *, env, log_path, port):
    with open(log_path, "a") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        yield process
    finally:
        stop(process)


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def run_checked(command, *, env, timeout, log_path):
    with open(log_path, "a") as log:
        subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=timeout)


class Clients:
    """A client process holding sockets open until ``finish()``."""

    def __init__(self, work, name, base_url, specs, *, wait_first, concurrency, max_seconds):
        self.out = work / f"{name}.json"
        sockets_file = work / f"{name}-sockets.json"
        sockets_file.write_text(json.dumps(specs))
        command = [
            PYTHON, str(BENCH / "ws_bench_clients.py"), "--base-url", base_url,
            "--origin", base_url.replace("ws://", "http://"), "--sockets", str(sockets_file),
            "--out", str(self.out), "--concurrency", str(concurrency), "--max-seconds", str(max_seconds),
        ]
        if wait_first:
            command.append("--wait-first")
        self.log = open(work / f"{name}.log", "w")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        self.ready = self._read_ready(max_seconds)

    def _read_ready(self, timeout):
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if readable else ""
        if not line:
            self.process.kill()
            raise RuntimeError(f"the clients did not connect within {timeout} s; see {self.log.name}")
        return json.loads(line)

    def wait_for_broadcast(self, number, timeout):
        """Return how many sockets got broadcast ``number``, waiting up to ``timeout`` s for all of them."""
        self.process.stdin.write(f"wait-broadcast {number} {timeout}\n")
        self.process.stdin.flush()
        readable, _, _ = select.select([self.process.stdout], [], [], timeout + 30)
        line = self.process.stdout.readline() if readable else ""
        return json.loads(line)["reached"] if line else 0

    def finish(self):
        try:
            self.process.stdin.write("stop\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass
        self.process.wait(timeout=120)
        self.log.close()
        return json.loads(self.out.read_text())


def warm_up(work, base_url, specs, *, wait_first):
    clients = Clients(work, "warm-up", base_url, specs[:WARM_UP_SOCKETS], wait_first=wait_first,
                      concurrency=WARM_UP_SOCKETS, max_seconds=120)
    clients.finish()
    time.sleep(0.5)


def publish(work, name, arguments, *, env, timeout):
    out = work / f"{name}.json"
    run_checked([PYTHON, str(BENCH / "ws_bench_publish.py"), *arguments, "--out", str(out)],
                env=env, timeout=timeout, log_path=work / "publish.log")
    return json.loads(out.read_text())


# --- measurements -------------------------------------------------------------------


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def latency_row(events, received_at, missing_by_socket, socket_of):
    """Return latency and loss figures of ``events`` [key, job, state, sent, done]."""
    latencies, lost_by_socket = [], {}
    for key, job_id, state, sent, _ in events:
        received = received_at.get((socket_of[key], job_id, state))
        if received is None:
            lost_by_socket[socket_of[key]] = lost_by_socket.get(socket_of[key], 0) + 1
        else:
            latencies.append((received - sent) * 1000)
    lost = sum(lost_by_socket.values())
    noticed = sum(min(count, missing_by_socket.get(str(index), 0)) for index, count in lost_by_socket.items())
    span = events[-1][3] - events[0][3] if len(events) > 1 else 0.0
    return {
        "events": len(events),
        "achieved_rate": (len(events) - 1) / span if span else math.nan,
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=math.nan),
        "lost": lost,
        "unnoticed": lost - noticed,
    }


def received_index(records):
    """Map (socket, job id, state) to the first time it was received."""
    index = {}
    for socket_index, received, _seq, job_id, state, _broadcast, _size in records:
        if job_id is not None:
            index.setdefault((socket_index, job_id, state), received)
    return index


def broadcast_row(sent_list, records, sockets, *, match):
    """Return receive figures of broadcasts: sockets reached and ms to the first, median and last socket."""
    per_broadcast = []
    for entry in sent_list:
        times = sorted((received - entry[3]) * 1000 for received in match(entry, records))
        per_broadcast.append(
            {"reached": len(times), "first": times[0] if times else math.nan,
             "median": statistics.median(times) if times else math.nan, "last": times[-1] if times else math.nan}
        )
    lasts = [row["last"] for row in per_broadcast]
    return {
        "sockets": sockets,
        "broadcasts": len(per_broadcast),
        "reached": min(row["reached"] for row in per_broadcast),
        "first": statistics.median(row["first"] for row in per_broadcast),
        "median": statistics.median(row["median"] for row in per_broadcast),
        "last": statistics.median(lasts),
        "worst": max(lasts),
    }


def by_broadcast(entry, records):
    return [record[1] for record in records if record[5] == entry[0]]


def by_job_state(entry, records):
    return [record[1] for record in records if record[3] == entry[1] and record[4] == entry[2] and record[5] is None]


def message_size(records, predicate):
    sizes = [record[6] for record in records if predicate(record)]
    return int(statistics.median(sizes)) if sizes else 0


# --- phases ---------------------------------------------------------------------------


def product_phase(args, work, env, users, staff, sockets):
    port = free_port()
    base_url = f"ws://127.0.0.1:{port}"
    command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--ping-interval", "3600",
               "project.asgi:application"]
    result = {"sockets": sockets}
    user_specs = [{"path": "/ws/dashboard/", "cookie": user["cookie"]} for user in users[:sockets]]
    user_ids = [user["id"] for user in users[:sockets]]
    users_file = work / f"users-{sockets}.json"
    users_file.write_text(json.dumps(user_ids))
    socket_of = {user_id: index for index, user_id in enumerate(user_ids)}

    with running(command, env=env, log_path=work / "daphne-product.log", port=port) as daphne:
        warm_up(work, base_url, user_specs, wait_first=True)
        before = rss_kb(daphne.pid)
        clients = Clients(work, f"product-{sockets}", base_url, user_specs, wait_first=True,
                          concurrency=args.concurrency, max_seconds=600)
        time.sleep(1.0)
        after = rss_kb(daphne.pid)
        result["memory"] = memory_row(before, after, sockets, clients.ready)
        published = []
        for rate in args.rates:
            published.append(publish(work, f"product-{sockets}-{rate:g}",
                                     ["product", "--users", str(users_file), "--rate", str(rate),
                                      "--seconds", str(args.seconds)],
                                     env=env, timeout=args.seconds * 4 + 60))
            time.sleep(DRAIN_SECONDS)
        received = clients.finish()
        index = received_index(received["records"])
        result["rates"] = [
            {"rate": rate, **latency_row(run["events"], index, received["missing_by_socket"], socket_of),
             "publisher_late_ms": run["max_late"] * 1000}
            for rate, run in zip(args.rates, published)
        ]
        result["closed_early"] = len(received["closed_early"])
        result["job_message_bytes"] = message_size(received["records"], lambda record: record[3] is not None)

        if not args.skip_console:
            result["console"] = console_phase(args, work, env, base_url, daphne, staff[:sockets])
    return result


def console_phase(args, work, env, base_url, daphne, staff):
    specs = [{"path": "/ws/console/", "cookie": member["cookie"]} for member in staff]
    warm_up(work, base_url, specs, wait_first=True)
    before = rss_kb(daphne.pid)
    # Consoles that wait together share one snapshot build, which takes
    # seconds, so more of their handshakes go at once than the dashboard's.
    clients = Clients(work, f"console-{len(specs)}", base_url, specs, wait_first=True,
                      concurrency=args.console_concurrency, max_seconds=600)
    time.sleep(1.0)
    after = rss_kb(daphne.pid)
    sent = publish(work, f"console-{len(specs)}", ["console", "--broadcasts", str(args.broadcasts)],
                   env=env, timeout=120 + 4 * args.broadcasts)
    clients.wait_for_broadcast(0, BROADCAST_WAIT_SECONDS)
    time.sleep(DRAIN_SECONDS)
    received = clients.finish()
    records = received["records"]
    return {
        "memory": memory_row(before, after, len(specs), clients.ready),
        "build_seconds": sent["build_seconds"],
        "users_shown": sent["users_shown"],
        "refresh": broadcast_row(sent["refresh"], records, len(specs), match=by_broadcast),
        "refresh_bytes": message_size(records, lambda record: record[5] is not None),
        "job_changed": broadcast_row(sent["job_changed"], records, len(specs), match=by_job_state),
        "job_changed_bytes": message_size(records, lambda record: record[5] is None and record[3] is not None),
    }


def bare_phase(args, work, redis_url, sockets, product):
    port = free_port()
    base_url = f"ws://127.0.0.1:{port}"
    env = {**os.environ, "BENCH_REDIS_URL": redis_url, "BENCH_CHANNEL_PREFIX": BARE_PREFIX}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--ping-interval", "3600",
               "bench.bare_asgi:application"]
    bare_args = ["--redis-url", redis_url, "--prefix", BARE_PREFIX]
    result = {"sockets": sockets}
    path = "/ws/bare-direct/" if args.bare_direct else "/ws/bare/"
    specs = [{"path": f"{path}?group=user.{index}"} for index in range(sockets)]
    socket_of = {index: index for index in range(sockets)}

    with running(command, env=env, log_path=work / "daphne-bare.log", port=port) as daphne:
        warm_up(work, base_url, specs, wait_first=False)
        before = rss_kb(daphne.pid)
        clients = Clients(work, f"bare-{sockets}", base_url, specs, wait_first=False,
                          concurrency=args.concurrency, max_seconds=600)
        time.sleep(1.0)
        after = rss_kb(daphne.pid)
        result["memory"] = memory_row(before, after, sockets, clients.ready)
        published = []
        for rate in args.rates:
            published.append(publish(work, f"bare-{sockets}-{rate:g}",
                                     ["bare", *bare_args, "--groups", str(sockets), "--rate", str(rate),
                                      "--seconds", str(args.seconds), "--size", str(product["job_message_bytes"])],
                                     env=env, timeout=args.seconds * 4 + 60))
            time.sleep(DRAIN_SECONDS)
        received = clients.finish()
        index = received_index(received["records"])
        result["rates"] = [
            {"rate": rate, **latency_row(run["events"], index, received["missing_by_socket"], socket_of),
             "publisher_late_ms": run["max_late"] * 1000}
            for rate, run in zip(args.rates, published)
        ]

        if not args.skip_console:
            result["broadcasts"] = bare_broadcasts(args, work, env, base_url, bare_args, sockets, product)
    return result


def bare_broadcasts(args, work, env, base_url, bare_args, sockets, product):
    """Broadcast messages of the size of the product's job.changed, then one of its console.refresh."""
    console = product.get("console", {})
    sizes = [
        ("job.changed", console.get("job_changed_bytes") or product["job_message_bytes"], args.broadcasts),
        ("console.refresh", console.get("refresh_bytes") or product["job_message_bytes"], 1),
    ]
    path = "/ws/bare-direct/" if args.bare_direct else "/ws/bare/"
    specs = [{"path": f"{path}?group=all"} for _ in range(sockets)]
    clients = Clients(work, f"bare-all-{sockets}", base_url, specs, wait_first=False,
                      concurrency=args.concurrency, max_seconds=600)
    sent, first = {}, 0
    for kind, size, count in sizes:
        run = publish(work, f"bare-broadcast-{sockets}-{first}",
                      ["bare-broadcast", *bare_args, "--size", str(size), "--broadcasts", str(count),
                       "--first-number", str(first)],
                      env=env, timeout=60 + 4 * count)
        clients.wait_for_broadcast(first + count - 1, BROADCAST_WAIT_SECONDS)
        sent[kind] = (size, run["refresh"])
        first += count
    time.sleep(DRAIN_SECONDS)
    records = clients.finish()["records"]
    return {
        kind: {**broadcast_row(entries, records, sockets, match=by_broadcast), "bytes": size}
        for kind, (size, entries) in sent.items()
    }


def memory_row(before, after, sockets, ready):
    return {
        "connected": ready["ready"],
        "failed": ready["failed"],
        "connect_seconds": ready["seconds"],
        "rss_before_mb": before / 1024,
        "rss_after_mb": after / 1024,
        "kb_per_socket": (after - before) / max(ready["ready"], 1),
    }


# --- set-up ----------------------------------------------------------------------------


def raise_open_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = OPEN_FILES if hard == resource.RLIM_INFINITY else min(max(soft, OPEN_FILES), hard)
    if limit > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


@contextmanager
def private_redis(binary, work):
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(work), "--maxclients", str(OPEN_FILES)]
    with running(command, env=dict(os.environ), log_path=work / "redis.log", port=port):
        yield f"redis://127.0.0.1:{port}/0"


def job_counts(args):
    """Return the PENDING jobs each user needs: two events (RUNNING, COMPLETED) per job, plus console changes."""
    events = [0] * max(args.sockets)
    for sockets in args.sockets:
        total = sum(int(rate * args.seconds) for rate in args.rates)
        for index in range(sockets):
            events[index] += math.ceil(total / sockets)
    return [math.ceil(count / 2) + 1 + args.broadcasts for count in events]


def prepare_database(args, work, env):
    run_checked([PYTHON, "manage.py", "migrate", "--noinput"], env=env, timeout=300, log_path=work / "setup.log")
    counts_file = work / "job-counts.json"
    counts_file.write_text(json.dumps(job_counts(args)))
    out = work / "accounts.json"
    run_checked([PYTHON, str(BENCH / "ws_bench_publish.py"), "setup", "--jobs-file", str(counts_file),
                 "--staff", str(max(args.sockets)), "--out", str(out)],
                env=env, timeout=600, log_path=work / "setup.log")
    return json.loads(out.read_text())


def describe_machine(redis_binary):
    def version(package):
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "missing"

    redis_version = subprocess.run([redis_binary, "--version"], capture_output=True, text=True).stdout.split()
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    return {
        "cpus": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": ", ".join(
            f"{name} {version(name)}" for name in ("django", "channels", "channels-redis", "daphne", "redis", "websockets")
        ),
        "redis_server": next((part[2:] for part in redis_version if part.startswith("v=")), "unknown"),
        "load_start": os.getloadavg(),
    }


# --- report ---------------------------------------------------------------------------


def fmt(value, digits=1):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    if not b or math.isnan(a) or math.isnan(b):
        return "–"
    return f"{a / b:.2f}×"


def report(args, machine, results):
    lines = [
        f"Machine: {machine['cpus']} CPUs, {machine['memory']} memory, {machine['os']}, Python {machine['python']}, "
        f"Redis {machine['redis_server']}; {machine['versions']}.",
        "Load average at start: " + ", ".join(f"{value:.2f}" for value in machine["load_start"])
        + "; at end: " + ", ".join(f"{value:.2f}" for value in os.getloadavg()) + ".",
        "",
        "Events on the sockets (latency from the state change to the client socket):",
        "",
        "| server | sockets | events/s asked | achieved | events | p50 ms | p99 ms | max ms | lost | lost unnoticed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for product, bare in results:
        for name, run in (("product", product), ("bare", bare)):
            if run is None:
                continue
            for row in run["rates"]:
                lines.append(
                    f"| {name} | {run['sockets']:,} | {row['rate']:g} | {fmt(row['achieved_rate'])} | {row['events']:,} "
                    f"| {fmt(row['p50'], 2)} | {fmt(row['p99'], 2)} | {fmt(row['max'], 1)} | {row['lost']} | {row['unnoticed']} |"
                )
    lines += [
        "",
        "Daphne memory and connecting:",
        "",
        "| server | sockets | connected | connect s | RSS before MB | RSS after MB | KB per socket |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for product, bare in results:
        rows = [("product /ws/dashboard/", product["memory"]), ("bare", bare["memory"] if bare else None)]
        if "console" in product:
            rows.insert(1, ("product /ws/console/", product["console"]["memory"]))
        for name, memory in rows:
            if memory is None:
                continue
            lines.append(
                f"| {name} | {product['sockets']:,} | {memory['connected']:,} | {fmt(memory['connect_seconds'])} "
                f"| {fmt(memory['rss_before_mb'])} | {fmt(memory['rss_after_mb'])} | {fmt(memory['kb_per_socket'])} |"
            )
    if not args.skip_console:
        lines += [
            "",
            "Broadcasts to one group holding every socket (ms after the send; the median over the broadcasts,"
            " and the slowest broadcast's last socket):",
            "",
            "| server | message | sockets | broadcasts | bytes | reached | first ms | median ms | last ms | worst last ms |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for product, bare in results:
            console = product["console"]
            entries = [
                ("product", "console.refresh", console["refresh"], console["refresh_bytes"]),
                ("product", "job.changed", console["job_changed"], console["job_changed_bytes"]),
            ]
            if bare:
                for kind, row in bare["broadcasts"].items():
                    entries.append(("bare", f"{kind} size", row, row["bytes"]))
            for name, kind, row, size in entries:
                lines.append(
                    f"| {name} | {kind} | {row['sockets']:,} | {row['broadcasts']} | {size:,} | {row['reached']:,} "
                    f"| {fmt(row['first'])} "
                    f"| {fmt(row['median'])} | {fmt(row['last'])} | {fmt(row['worst'])} |"
                )
    if not args.skip_bare:
        lines += [
            "",
            "Product against bare (product ÷ bare):",
            "",
            "| sockets | events/s | p50 | p99 | max | KB per socket | job.changed to last socket | console.refresh to last socket |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for product, bare in results:
            to_last = ["–", "–"]
            if "console" in product:
                to_last = [
                    ratio(product["console"][key]["last"], bare["broadcasts"][kind]["last"])
                    for key, kind in (("job_changed", "job.changed"), ("refresh", "console.refresh"))
                ]
            for mine, base in zip(product["rates"], bare["rates"]):
                lines.append(
                    f"| {product['sockets']:,} | {mine['rate']:g} | {ratio(mine['p50'], base['p50'])} "
                    f"| {ratio(mine['p99'], base['p99'])} | {ratio(mine['max'], base['max'])} "
                    f"| {ratio(product['memory']['kb_per_socket'], bare['memory']['kb_per_socket'])} "
                    f"| {to_last[0]} | {to_last[1]} |"
                )
    lines += ["", *target_lines(args, results)]
    return "\n".join(lines)


def target_lines(args, results):
    """Return a table of the targets against the run with the most sockets, at its highest rate."""
    product = results[-1][0]
    fastest = max(product["rates"], key=lambda row: row["rate"])
    rows = [
        (f"p99 ≤ {TARGET_P99_MS:g} ms", f"{fmt(fastest['p99'], 2)} ms", fastest["p99"] <= TARGET_P99_MS),
        ("nothing lost without the page noticing", f"{fastest['unnoticed']} unnoticed of {fastest['lost']} lost",
         fastest["unnoticed"] == 0),
        (f"≤ {TARGET_KB_PER_SOCKET:g} KB per dashboard socket", f"{fmt(product['memory']['kb_per_socket'])} KB",
         product["memory"]["kb_per_socket"] <= TARGET_KB_PER_SOCKET),
    ]
    if "console" in product:
        last = product["console"]["job_changed"]["last"]
        rows.append((f"console job.changed to the last socket ≤ {TARGET_CONSOLE_LAST_MS:g} ms", f"{fmt(last)} ms",
                     last <= TARGET_CONSOLE_LAST_MS))
    lines = [
        f"Targets at {product['sockets']:,} sockets and {fastest['rate']:g} events/s:",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    lines += [f"| {target} | {measured} | {'yes' if met else 'no'} |" for target, measured, met in rows]
    return lines


def main(argv=None):
    args = parse_args(argv)
    raise_open_file_limit()
    work = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    machine = describe_machine(args.redis_server)
    results = []
    try:
        with private_redis(args.redis_server, work) as redis_url:
            env = {
                **os.environ,
                "VAR_DIR": str(work / "var"),
                "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
                "REDIS_URL": redis_url,
                "REDIS_PREFIX": REDIS_PREFIX,
                "PYTHONUNBUFFERED": "1",
            }
            env.pop("DJANGO_SETTINGS_MODULE", None)
            accounts = prepare_database(args, work, env)
            for sockets in args.sockets:
                print(f"measuring {sockets} sockets …", file=sys.stderr, flush=True)
                product = product_phase(args, work, env, accounts["users"], accounts["staff"], sockets)
                bare = None if args.skip_bare else bare_phase(args, work, redis_url, sockets, product)
                results.append((product, bare))
        (work / "results.json").write_text(json.dumps(results, indent=1))
        print(report(args, machine, results))
    finally:
        if args.keep:
            print(f"logs and raw results: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
