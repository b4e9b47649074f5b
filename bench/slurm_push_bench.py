"""Delay from a Slurm job's transition to the dashboard socket: push against polling.

Runs on the cluster of deployment/slurm/cluster.sh up, as root (it configures
the hook with manage.py setup_slurm_push and reads slurmctld's log). The
transition times are slurmctld's own log lines, stamped to the millisecond:
"sched: Allocate JobId=N" for the start and the first "_job_complete:
JobId=N" for the end. The bench records when the dashboard socket of the
job's owner receives RUNNING and the final state.

- push: the hooks append to the Redis stream and the push consumer applies
  the events; no poller runs.
- poll: no hook events (push is switched off); the poller runs every
  ``--poll-interval`` seconds, as a polling dashboard would.

Sockets are channels consumers in this process, served by the project's ASGI
application over the Redis channel layer.

Usage:
    python bench/slurm_push_bench.py --jobs 20 --poll-interval 2
"""

import argparse
import asyncio
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

JOB_SCRIPT = """#!/bin/bash
sleep {seconds}
"""
ROW = re.compile(r'id="job-(\d+)" data-state="([A-Z_]+)"')


def setup_django(folder):
    os.environ.update(
        VAR_DIR=folder,
        DATABASE_URL=f"sqlite:///{folder}/bench.sqlite3",
        SCHEDULER_BACKEND="slurm",
        SLURM_CONTAINER_RUNTIME="none",
        WORKSPACE_ROOT=f"{folder}/workspaces",
        DJANGO_SETTINGS_MODULE="project.settings",
    )
    os.environ.setdefault("REDIS_PREFIX", f"pushbench-{os.getpid()}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def hook_event_times():
    """Return {(slurm job id, "started"|"final"): the hook's own time} from the event stream."""
    import json

    from apps.code_app.services.push import stream_key
    from apps.core.redis import get_redis

    times = {}
    for _entry_id, fields in get_redis().xrange(stream_key()):
        event = json.loads(fields[b"event"])
        times[(str(event["job_id"]), event["event"])] = event["ts"]
    return times


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def collect(communicator, seen, stop):
    while not stop.is_set():
        try:
            message = await asyncio.wait_for(communicator.output_queue.get(), timeout=0.5)
        except asyncio.TimeoutError:
            continue
        now = time.time()
        for job_id, state in ROW.findall(message.get("text", "")):
            seen.setdefault((int(job_id), state), now)


def run_mode(mode, user, jobs, seconds, poll_interval):
    from django.conf import settings
    from django.core.management import call_command

    from apps.code_app.schedulers.base import get_backend
    from apps.code_app.services.poller import run_forever
    from apps.code_app.services.push import PushConsumer
    from apps.code_app.services.submission import submit_job

    stopping = threading.Event()
    if mode == "push":
        settings.SLURM_PUSH = True
        call_command("setup_slurm_push", verbosity=0)
        worker = threading.Thread(target=PushConsumer(get_backend(), block_ms=200).run, kwargs={"stop": stopping.is_set})
    else:
        settings.SLURM_PUSH = False
        subprocess.run(["rm", "-f", "/etc/slurm/push/push.conf"], check=True, timeout=10)
        worker = threading.Thread(target=run_forever, args=(get_backend(), poll_interval), kwargs={"stop": stopping.is_set})
    worker.start()
    submitted = []
    try:
        for _ in range(jobs):
            submitted.append(submit_job(user, {"script": JOB_SCRIPT.format(seconds=seconds)}))
            time.sleep(random.uniform(0.4, 1.5))
        time.sleep(seconds + 3 + (poll_interval if mode == "poll" else 0))
    finally:
        stopping.set()
        worker.join(timeout=30)
        subprocess.run(["rm", "-f", "/etc/slurm/push/push.conf"], check=True, timeout=10)
    return submitted


LOG_LINE = re.compile(r"^\[(\S+)\] (sched: Allocate|sched/backfill: .*Allocate|_job_complete:) JobId=(\d+)")


def transitions(log_path):
    """Return {(slurm job id, "start"|"end"): epoch} from slurmctld's log (millisecond stamps, local time)."""
    from datetime import datetime

    moments = {}
    for line in Path(log_path).read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if not match:
            continue
        stamp, kind, job_id = match.groups()
        key = (job_id, "end" if kind.startswith("_job_complete") else "start")
        moments.setdefault(key, datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").timestamp())
    return moments


async def bench(jobs, seconds, poll_interval, log_path):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.contrib.auth import get_user_model
    from django.test import Client

    from project.asgi import application

    user = await database_sync_to_async(get_user_model().objects.create_user)("pushbench")

    def cookie():
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    session = await database_sync_to_async(cookie)()
    headers = [(b"cookie", f"sessionid={session}".encode()), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    results = {}
    for mode in ("push", "poll"):
        communicator = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        seen, stop = {}, asyncio.Event()
        collector = asyncio.create_task(collect(communicator, seen, stop))
        submitted = await asyncio.to_thread(run_mode, mode, user, jobs, seconds, poll_interval)
        stop.set()
        await collector
        await communicator.disconnect()
        moments = await asyncio.to_thread(transitions, log_path)
        hook_times = await asyncio.to_thread(hook_event_times) if mode == "push" else {}
        starts, ends, missed_running = [], [], 0
        hook_delays, app_delays = [], []
        for job in submitted:
            job = await database_sync_to_async(type(job).objects.get)(pk=job.pk)
            start = moments.get((job.scheduler_job_id, "start"))
            end = moments.get((job.scheduler_job_id, "end"))
            final = next((seen[(job.pk, state)] for state in ("COMPLETED", "FAILED") if (job.pk, state) in seen), None)
            if (job.pk, "RUNNING") in seen and start:
                starts.append((seen[(job.pk, "RUNNING")] - start) * 1000)
            else:
                missed_running += 1
            if final is not None and end:
                ends.append((final - end) * 1000)
            for kind, reference, received in (("started", start, seen.get((job.pk, "RUNNING"))), ("final", end, final)):
                hooked = hook_times.get((job.scheduler_job_id, kind))
                if hooked and reference and received:
                    hook_delays.append((hooked - reference) * 1000)
                    app_delays.append((received - hooked) * 1000)
        results[mode] = (starts, ends, missed_running, len(submitted))
        if hook_delays:
            results["push: transition → hook ran"] = hook_delays
            results["push: hook → socket"] = app_delays
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs per mode")
    parser.add_argument("--seconds", type=float, default=1.0, help="how long each job sleeps")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="poller interval in the poll mode")
    parser.add_argument("--slurmctld-log", default="/var/log/slurm/slurmctld.log",
                        help="slurmctld's log, whose allocation and completion lines give the transition times")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        results = asyncio.run(bench(args.jobs, args.seconds, args.poll_interval, args.slurmctld_log))

    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average at end {os.getloadavg()[0]:.2f}\n")
    print("| path | transition | n | p50 ms | p95 ms | max ms | jobs never shown RUNNING |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for mode in ("push", "poll"):
        starts, ends, missed, total = results[mode]
        for name, values in (("start → RUNNING", starts), ("end → final state", ends)):
            if values:
                print(f"| {mode} | {name} | {len(values)} | {statistics.median(values):.0f} | "
                      f"{percentile(values, 0.95):.0f} | {max(values):.0f} | {missed} of {total} |")
    for name in ("push: transition → hook ran", "push: hook → socket"):
        values = results.get(name)
        if values:
            print(f"| {name} | both | {len(values)} | {statistics.median(values):.0f} | "
                  f"{percentile(values, 0.95):.0f} | {max(values):.0f} | |")
    push_ends = results["push"][1] + results["push"][0]
    all_push = push_ends
    poll_ends = results["poll"][1] + results["poll"][0]
    if push_ends and poll_ends:
        print(f"\nmedian delay, poll / push: {statistics.median(poll_ends) / statistics.median(push_ends):.1f}×")


if __name__ == "__main__":
    main()
