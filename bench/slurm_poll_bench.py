"""Measure the poller's cost: parsing a large squeue output, and scheduler calls per tick.

Part 1 parses a synthetic 10,000-job ``squeue`` output in the poller's format
(the same fields and delimiter as ``slurm_parse.SQUEUE_ARGS``; free-text job
names, array and pending jobs mixed in) and reports the median of
``--repeats`` parses.

Part 2 runs the real poller against the running Slurm cluster
(deployment/slurm/cluster.sh up) with a few jobs of one user, first with 1
and then with ``--pages`` dashboard sockets open for that user and other
users, and counts the squeue, sacct and other Slurm commands each tick runs.
Sockets are real channels consumers in this process, connected through the
project's ASGI application to the Redis channel layer.

Usage (from the repository root, with the cluster running):
    python bench/slurm_poll_bench.py --jobs 10000 --pages 200 --ticks 10
"""

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_squeue(count):
    states = ["RUNNING", "PENDING", "PENDING", "COMPLETED", "FAILED", "COMPLETING", "CANCELLED"]
    reasons = {"RUNNING": "None", "PENDING": "Priority", "COMPLETED": "None", "FAILED": "NonZeroExitCode"}
    limits = ["1-00:00:00", "1:00:00", "7-00:00:00", "30:00"]
    lines = []
    for index in range(count):
        job_id = 100000 + index
        state = states[index % len(states)]
        display = f"{job_id - index % 5}_{index % 5}" if index % 50 == 0 else str(job_id)
        reason = reasons.get(state, "None")
        submit = 1796400000 + index
        start = str(submit + 30) if state != "PENDING" else str(submit + 3600)
        name = f"train|model {index}" if index % 97 == 0 else f"job-{index}"
        lines.append(
            f"{job_id}|{display}|{state}|{reason}|u_{index % 300}|normal|fairshare|{submit}|{start}|"
            f"{submit + 7200}|{index % 3600 // 60}:{index % 60:02d}|{limits[index % 4]}|{1 + index % 16}|"
            f"{10000 + index % 900}|{name}"
        )
    return "\n".join(lines) + "\n"


def bench_parse(count, repeats):
    from apps.code_app.schedulers.slurm_parse import parse_squeue

    text = synthetic_squeue(count)
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        statuses = parse_squeue(text)
        durations.append(time.perf_counter() - started)
    assert len(statuses) == count
    return statistics.median(durations), min(durations), len(text)


def setup_django(folder):
    os.environ["VAR_DIR"] = folder
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["SCHEDULER_BACKEND"] = "slurm"
    os.environ["SLURM_CONTAINER_RUNTIME"] = "none"
    os.environ.setdefault("REDIS_PREFIX", f"bench-{os.getpid()}")
    os.environ["WORKSPACE_ROOT"] = f"{folder}/workspaces"
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


async def open_pages(users, count):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.test import Client

    from project.asgi import application

    def cookie_for(user):
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    pages = []
    for index in range(count):
        user = users[index % len(users)]
        cookie = await database_sync_to_async(cookie_for)(user)
        headers = [(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
        communicator = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await communicator.receive_from(timeout=10)
        pages.append(communicator)
    return pages


def count_ticks(ticks, interval):
    from apps.code_app.schedulers import slurm as slurm_module
    from apps.code_app.schedulers.base import get_backend
    from apps.code_app.services.poller import poll_once

    calls = Counter()
    original = slurm_module.run_slurm

    def counting(argv, **kwargs):
        calls[Path(argv[0]).name] += 1
        return original(argv, **kwargs)

    slurm_module.run_slurm = counting
    per_tick = []
    try:
        for _ in range(ticks):
            before = sum(calls.values())
            started = time.perf_counter()
            poll_once(get_backend())
            per_tick.append((sum(calls.values()) - before, time.perf_counter() - started))
            time.sleep(interval)
    finally:
        slurm_module.run_slurm = original
    return calls, per_tick


async def bench_calls(pages, ticks, interval):
    from channels.db import database_sync_to_async
    from django.contrib.auth import get_user_model

    from apps.code_app.models import Job
    from apps.code_app.services.submission import cancel_job, submit_job

    User = get_user_model()
    users = [await database_sync_to_async(User.objects.create_user)(f"bench{index}") for index in range(10)]
    jobs = [
        await database_sync_to_async(submit_job)(users[0], {"script": "#!/bin/bash\nsleep 120\n", "name": f"b{index}"})
        for index in range(5)
    ]
    results = {}
    try:
        for count in (1, pages):
            open_now = await open_pages(users, count)
            calls, per_tick = await asyncio.to_thread(count_ticks, ticks, interval)
            results[count] = (calls, per_tick)
            for communicator in open_now:
                await communicator.disconnect()
    finally:
        for job in jobs:
            job = await database_sync_to_async(Job.objects.get)(pk=job.pk)
            if not job.is_final:
                await database_sync_to_async(cancel_job)(job)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10000, help="jobs in the synthetic squeue output")
    parser.add_argument("--repeats", type=int, default=7, help="parses to take the median of")
    parser.add_argument("--pages", type=int, default=200, help="dashboard sockets in the second run")
    parser.add_argument("--ticks", type=int, default=10, help="poller ticks per run")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between ticks")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        median, best, size = bench_parse(args.jobs, args.repeats)
        results = asyncio.run(bench_calls(args.pages, args.ticks, args.interval))

    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}\n")
    print("| squeue jobs | output size | parse median ms | parse best ms |")
    print("|---:|---:|---:|---:|")
    print(f"| {args.jobs:,} | {size / 1024:.0f} KB | {median * 1000:.1f} | {best * 1000:.1f} |\n")
    print("| open dashboards | ticks | squeue calls | sacct calls | other calls | max calls in one tick | median tick ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for count, (calls, per_tick) in results.items():
        other = sum(calls.values()) - calls["squeue"] - calls["sacct"]
        print(
            f"| {count} | {len(per_tick)} | {calls['squeue']} | {calls['sacct']} | {other} | "
            f"{max(n for n, _ in per_tick)} | {statistics.median(t for _, t in per_tick) * 1000:.1f} |"
        )


if __name__ == "__main__":
    main()
