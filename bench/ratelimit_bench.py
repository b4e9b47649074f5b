"""Compare apps.core.ratelimit with a bare EVALSHA, DRF's cache throttle and ``limits``.

All four run in one process against the same Redis:

- ``gcra``: ``RateLimiter.hit`` from apps.core.ratelimit;
- ``evalsha``: a registered script that runs ``return 1``, the floor for any
  limiter that makes one script call per decision;
- ``drf``: a ``rest_framework.throttling.SimpleRateThrottle`` subclass on
  Django's ``RedisCache``, which reads the request history with GET and
  writes it back with SET;
- ``limits``: ``limits.strategies.MovingWindowRateLimiter`` on
  ``limits.storage.RedisStorage``, which keeps a list of request timestamps
  taken from the client host's clock (limits 5.8).

Throughput is measured with one client and with ``--clients`` threads, in
``--rounds`` rounds that take turns across the contenders, so that a slow
moment on the machine does not land on one contender only. The table shows
the median round. Each decision goes to one of ``--users`` subjects under a
1000/day limit, so the limiters admit every request, as for many users who
are under their limits.
The race test sends ``--clients`` threads × ``--attempts`` requests at one
key with a limit of ``--limit`` per day and counts how many each limiter
admits. Admissions above the limit are the over-admission. The same limit is
first checked from one thread with ``--limit`` + 10 requests, of which every
limiter must admit exactly ``--limit``. That check shows the harness is set up
right, so over-admission in the race comes from the limiter.

Every key is written under a prefix unique to the run and deleted at exit.

Usage:
    python bench/ratelimit_bench.py --redis-url redis://127.0.0.1:6379/14 --seconds 2 --rounds 3 --clients 64
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.core.ratelimit import RateLimiter, RateLimitPolicy  # noqa: E402

THROUGHPUT_LIMIT_PER_DAY = 1000
# Upper bound on decisions per thread in one throughput phase, as a second stop
# besides the --seconds deadline.
MAX_OPS_PER_THREAD = 5_000_000


@dataclass
class Contender:
    """One rate limiter under test.

    ``decide(subject)`` makes one decision under the throughput limit and
    returns whether it was admitted. ``make_racer(limit)`` returns a function
    of the subject that decides under a limit of ``limit`` per day, or None
    when the contender has no limit to enforce.
    """

    name: str
    decide: object
    make_racer: object


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="Redis to benchmark against (default: $REDIS_URL or redis://127.0.0.1:6379/14)",
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each throughput phase in seconds")
    parser.add_argument("--rounds", type=int, default=3, help="number of throughput rounds per contender, reported as the median")
    parser.add_argument("--clients", type=int, default=64, help="number of concurrent client threads")
    parser.add_argument("--users", type=int, default=10_000, help="number of distinct subjects in throughput phases")
    parser.add_argument("--limit", type=int, default=100, help="per-day limit N for the race test")
    parser.add_argument("--attempts", type=int, default=10, help="requests per thread in the race test")
    parser.add_argument("--trials", type=int, default=5, help="race test repetitions, each on a fresh key")
    args = parser.parse_args(argv)

    if not 0 < args.seconds <= 300:
        parser.error(f"--seconds {args.seconds} is out of range; use a value in (0, 300]")
    if not 1 <= args.clients <= 1024:
        parser.error(f"--clients {args.clients} is out of range; use 1 to 1024")
    for name in ("rounds", "users", "limit", "attempts", "trials"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} {getattr(args, name)} is invalid; use an integer >= 1")
    return args


# Contenders ----------------------------------------------------------------


def build_gcra(redis_url, prefix, clients):
    limiter = RateLimiter(redis.Redis.from_url(redis_url, max_connections=clients + 4), prefix=f"{prefix}:gcra")
    policy = RateLimitPolicy(THROUGHPUT_LIMIT_PER_DAY, 86400)

    def decide(subject):
        return limiter.hit("bench", subject, policy).allowed

    def make_racer(limit):
        race_policy = RateLimitPolicy(limit, 86400)
        return lambda subject: limiter.hit("race", subject, race_policy).allowed

    return Contender("gcra (this limiter)", decide, make_racer)


def build_evalsha(redis_url, prefix, clients):
    client = redis.Redis.from_url(redis_url, max_connections=clients + 4)
    script = client.register_script("return 1")

    def decide(subject):
        return script(keys=(f"{prefix}:evalsha:{subject}",)) == 1

    return Contender("raw EVALSHA `return 1`", decide, lambda limit: None)


def configure_django(redis_url, prefix):
    import django
    from django.conf import settings

    settings.configure(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": f"{prefix}:drf",
            }
        },
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        REST_FRAMEWORK={},
        USE_TZ=True,
    )
    django.setup()


def build_drf(redis_url, prefix, clients):
    from rest_framework.throttling import SimpleRateThrottle

    class SubjectRequest:
        def __init__(self, subject):
            self.subject = subject

    def throttle_class(rate):
        class SubjectThrottle(SimpleRateThrottle):
            scope = "bench"

            def get_cache_key(self, request, view):
                return self.cache_format % {"scope": self.scope, "ident": request.subject}

        SubjectThrottle.rate = rate
        return SubjectThrottle

    throughput_class = throttle_class(f"{THROUGHPUT_LIMIT_PER_DAY}/day")

    # DRF creates a throttle instance per request, and the instance keeps
    # per-request state, so every decision gets a new one here too.
    def decide(subject):
        return throughput_class().allow_request(SubjectRequest(subject), None)

    def make_racer(limit):
        race_class = throttle_class(f"{limit}/day")
        return lambda subject: race_class().allow_request(SubjectRequest(f"race-{subject}"), None)

    return Contender("DRF SimpleRateThrottle + RedisCache", decide, make_racer)


def build_limits(redis_url, prefix, clients):
    from limits import RateLimitItemPerDay
    from limits.storage import RedisStorage
    from limits.strategies import MovingWindowRateLimiter

    storage = RedisStorage(redis_url, key_prefix=f"{prefix}:limits", max_connections=clients + 4)
    strategy = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerDay(THROUGHPUT_LIMIT_PER_DAY)

    def decide(subject):
        return strategy.hit(item, "bench", subject)

    def make_racer(limit):
        race_item = RateLimitItemPerDay(limit)
        return lambda subject: strategy.hit(race_item, "race", subject)

    return Contender("limits MovingWindowRateLimiter", decide, make_racer)


# Measurements --------------------------------------------------------------


def measure_single(contender, seconds, users):
    """Run decisions from one thread; return decisions per second and each latency in seconds."""
    latencies = []
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while count < MAX_OPS_PER_THREAD:
        before = time.perf_counter()
        if before >= deadline:
            break
        contender.decide(f"user:{count % users}")
        latencies.append(time.perf_counter() - before)
        count += 1
    elapsed = time.perf_counter() - started
    return count / elapsed, latencies


def percentile_us(sorted_latencies, fraction):
    index = min(len(sorted_latencies) - 1, int(len(sorted_latencies) * fraction))
    return sorted_latencies[index] * 1e6


def measure_concurrent(contender, seconds, users, clients):
    """Run decisions from ``clients`` threads; return decisions per second and errors."""
    barrier = threading.Barrier(clients + 1)
    counts = [0] * clients
    errors = []
    timing = {}

    def worker(index):
        barrier.wait()
        deadline = timing["deadline"]
        count = 0
        try:
            while count < MAX_OPS_PER_THREAD and time.perf_counter() < deadline:
                contender.decide(f"user:{(index * 7919 + count) % users}")
                count += 1
        except Exception as error:  # counted and reported, so one failing client does not hide the others
            errors.append(repr(error))
        counts[index] = count

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(clients)]
    for thread in threads:
        thread.start()
    timing["started"] = time.perf_counter()
    timing["deadline"] = timing["started"] + seconds
    barrier.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - timing["started"]
    return sum(counts) / elapsed, errors


def race(racer, clients, attempts, trial_subject):
    """Send clients × attempts requests at one subject at once; return how many were admitted."""
    barrier = threading.Barrier(clients)
    admitted = [0] * clients

    def worker(index):
        barrier.wait()
        admitted[index] = sum(bool(racer(trial_subject)) for _ in range(attempts))

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sum(admitted)


def delete_keys(client, prefix):
    deleted = 0
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        deleted += client.delete(key)
    return deleted


def print_machine_facts(client, load_before):
    import django
    import limits
    import rest_framework

    server = client.info("server")
    print(f"- Python {platform.python_version()}, redis-py {redis.__version__}, Django {django.get_version()}, "
          f"DRF {rest_framework.VERSION}, limits {limits.__version__}")
    print(f"- Redis server {server['redis_version']} ({server.get('multiplexing_api', '?')}), "
          f"CPUs visible to this process: {os.cpu_count()}")
    print(f"- redis-py response parser: {'hiredis' if redis.utils.HIREDIS_AVAILABLE else 'pure Python'}")
    # Other processes compete with the client and the server for CPU, so a
    # load average above the CPU count makes the run noisy. Only the value at
    # start is shown because the benchmark's own threads raise it later.
    print(f"- 1-minute load average at start: {load_before:.2f}")


@dataclass
class Results:
    """Measurements per contender name, filled in by run_throughput and run_races."""

    single: dict
    latencies: dict
    concurrent: dict
    errors: dict
    admitted: dict
    sequential_admitted: dict

    @classmethod
    def empty(cls, contenders):
        names = [contender.name for contender in contenders]
        return cls(*({name: [] for name in names} for _ in range(5)), sequential_admitted={})


def run_throughput(contenders, results, args):
    for round_number in range(1, args.rounds + 1):
        for contender in contenders:
            rate, round_latencies = measure_single(contender, args.seconds, args.users)
            results.single[contender.name].append(rate)
            results.latencies[contender.name].extend(round_latencies)

            rate, round_errors = measure_concurrent(contender, args.seconds, args.users, args.clients)
            results.concurrent[contender.name].append(rate)
            results.errors[contender.name].extend(round_errors)
        print(f"finished throughput round {round_number} of {args.rounds}", file=sys.stderr)


def run_races(contenders, results, args):
    for contender in contenders:
        racer = contender.make_racer(args.limit)
        if racer is None:
            continue
        sequential = sum(bool(racer("sequential")) for _ in range(args.limit + 10))
        results.sequential_admitted[contender.name] = sequential
        for trial in range(args.trials):
            count = race(racer, args.clients, args.attempts, f"trial-{trial}")
            results.admitted[contender.name].append(count)
    print("finished race trials", file=sys.stderr)


def print_report(contenders, results, args, admin, load_before):
    print(f"Command: python {' '.join(sys.argv)}")
    print_machine_facts(admin, load_before)
    print(
        f"- Throughput phases: {args.seconds:g} s each, median of {args.rounds} rounds, "
        f"{args.users} subjects at {THROUGHPUT_LIMIT_PER_DAY}/day. Race: {args.clients} threads × "
        f"{args.attempts} requests at one key, limit {args.limit}/day, {args.trials} trials."
    )
    print()
    print(
        f"| limiter | 1 client decisions/s | p50 µs | p99 µs | {args.clients} threads decisions/s "
        f"| 1 client: admitted of {args.limit + 10} "
        f"| {args.clients} threads: admitted of {args.clients * args.attempts}, min–max "
        f"| max over limit {args.limit} |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")

    for contender in contenders:
        name = contender.name
        counts = results.admitted[name]
        if counts:
            admitted_text = f"{min(counts)}–{max(counts)} (mean {statistics.mean(counts):.1f})"
            over_text = str(max(0, max(counts) - args.limit))
        else:
            admitted_text = over_text = "n/a"
        error_text = f" ({len(results.errors[name])} client errors)" if results.errors[name] else ""
        sorted_latencies = sorted(results.latencies[name])
        print(
            f"| {name} | {statistics.median(results.single[name]):,.0f} "
            f"| {percentile_us(sorted_latencies, 0.5):.0f} | {percentile_us(sorted_latencies, 0.99):.0f} "
            f"| {statistics.median(results.concurrent[name]):,.0f}{error_text} "
            f"| {results.sequential_admitted.get(name, 'n/a')} | {admitted_text} | {over_text} |"
        )
        for error in results.errors[name][:3]:
            print(f"  error in {name}: {error}", file=sys.stderr)

    gcra, evalsha = contenders[0].name, contenders[1].name
    single_ratio = statistics.median(results.single[gcra]) / statistics.median(results.single[evalsha])
    concurrent_ratio = statistics.median(results.concurrent[gcra]) / statistics.median(results.concurrent[evalsha])
    print()
    print(f"gcra / raw EVALSHA throughput: 1 client {single_ratio:.2f}×, {args.clients} threads {concurrent_ratio:.2f}×")


def main(argv=None):
    args = parse_args(argv)
    prefix = f"rlbench-{uuid.uuid4().hex[:12]}"
    admin = redis.Redis.from_url(args.redis_url)
    admin.ping()
    configure_django(args.redis_url, prefix)

    builders = (build_gcra, build_evalsha, build_drf, build_limits)
    contenders = [build(args.redis_url, prefix, args.clients) for build in builders]
    results = Results.empty(contenders)
    load_before = os.getloadavg()[0]
    try:
        run_throughput(contenders, results, args)
        run_races(contenders, results, args)
    finally:
        deleted = delete_keys(admin, prefix)
        print(f"deleted {deleted} benchmark keys under {prefix}:*", file=sys.stderr)

    print_report(contenders, results, args, admin, load_before)


if __name__ == "__main__":
    main()
