"""Database setup and event publishers of bench/ws_load_bench.py, each run as a process.

Subcommands:

- ``setup``: create the bench users, their sessions and PENDING jobs in the
  database of the environment's settings, and write the session cookies.
- ``product``: change job states at ``--rate`` per second the way the poller
  does (``apply_status`` in a transaction, then ``publish_job``), taking the
  users in turn. Each job goes PENDING → RUNNING → COMPLETED.
- ``console``: push ``job.changed`` and then ``console.refresh`` (built and
  rendered once, as the periodic refresh does) to the console group.
- ``bare`` and ``bare-broadcast``: ``group_send`` of same-sized messages
  straight on the channel layer, for bench/bare_asgi.py.

Every publisher writes ``[key, job id, state, send time, done time]`` per
event to ``--out``, with ``time.monotonic()`` times.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHANNEL_PREFIX_SUFFIX = ":asgi"
JOB_BATCH = 2000


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    setup = commands.add_parser("setup", help="create users, sessions and jobs")
    setup.add_argument("--jobs-file", required=True, help="JSON list: PENDING jobs to create for each user")
    setup.add_argument("--staff", type=int, required=True, help="staff users to create")
    setup.add_argument("--out", required=True, help="JSON file for the users' ids, cookies and job ids")

    product = commands.add_parser("product", help="job state changes through apply_status and publish_job")
    product.add_argument("--users", required=True, help="JSON file of user ids, in the order of the sockets")
    product.add_argument("--rate", type=float, required=True, help="events per second")
    product.add_argument("--seconds", type=float, required=True, help="duration")
    product.add_argument("--out", required=True)

    console = commands.add_parser("console", help="broadcasts to the console group")
    console.add_argument("--broadcasts", type=int, default=3, help="job.changed broadcasts (default 3)")
    console.add_argument("--refreshes", type=int, default=1, help="console.refresh broadcasts (default 1)")
    console.add_argument("--interval", type=float, default=2.0, help="seconds between broadcasts (default 2)")
    console.add_argument("--out", required=True)

    for name in ("bare", "bare-broadcast"):
        bare = commands.add_parser(name, help="group_send on the channel layer alone")
        bare.add_argument("--redis-url", required=True)
        bare.add_argument("--prefix", required=True, help="channel layer prefix shared with bench/bare_asgi.py")
        bare.add_argument("--size", type=int, required=True, help="bytes of each message")
        bare.add_argument("--out", required=True)
        if name == "bare":
            bare.add_argument("--groups", type=int, required=True, help="groups user.0 … user.N-1, taken in turn")
            bare.add_argument("--rate", type=float, required=True, help="events per second")
            bare.add_argument("--seconds", type=float, required=True, help="duration")
        else:
            bare.add_argument("--broadcasts", type=int, default=3)
            bare.add_argument("--first-number", type=int, default=0, help="number of the first broadcast")
            bare.add_argument("--interval", type=float, default=2.0)
    return parser.parse_args(argv)


def pace(start, index, rate):
    """Sleep until event ``index`` is due; return how late it is, in seconds."""
    due = start + index / rate
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
        return 0.0
    return -delay


def write(path, data):
    with open(path, "w") as file:
        json.dump(data, file)


# --- setup ----------------------------------------------------------------------


def run_setup(args):
    setup_django()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from apps.code_app.models import Job, JobState

    with open(args.jobs_file) as file:
        job_counts = json.load(file)
    User = get_user_model()
    # An unusable password costs no hashing; sessions are created directly below.
    users = [User(username=f"bench-{index:05d}", password=make_password(None)) for index in range(len(job_counts))]
    staff = [User(username=f"bench-staff-{index:05d}", password=make_password(None), is_staff=True) for index in range(args.staff)]
    User.objects.bulk_create(users + staff, batch_size=JOB_BATCH)
    users = list(User.objects.filter(username__startswith="bench-", is_staff=False).order_by("username"))
    staff = list(User.objects.filter(username__startswith="bench-staff-").order_by("username"))

    jobs = [
        Job(
            owner=user, backend="local", scheduler_job_id=f"bench-{user.pk}-{number}", name=f"bench-{number}",
            partition="normal", cpus=1, memory_gb=1, time_limit_minutes=60, script_path="bench.py",
            state=JobState.PENDING,
        )
        for user, count in zip(users, job_counts)
        for number in range(count)
    ]
    Job.objects.bulk_create(jobs, batch_size=JOB_BATCH)

    expires = timezone.now() + timezone.timedelta(days=1)
    sessions, cookies = [], {}
    for user in users + staff:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(Session(session_key=key, session_data=SessionStore().encode(data), expire_date=expires))
        cookies[user.pk] = f"sessionid={key}"
    Session.objects.bulk_create(sessions, batch_size=JOB_BATCH)

    write(
        args.out,
        {
            "users": [{"id": user.pk, "cookie": cookies[user.pk]} for user in users],
            "staff": [{"id": user.pk, "cookie": cookies[user.pk]} for user in staff],
        },
    )


# --- the product's path -----------------------------------------------------------


def next_status(job, now):
    from apps.code_app.models import JobState
    from apps.code_app.schedulers.base import JobStatus

    if job.state == JobState.PENDING:
        return JobStatus(state=JobState.RUNNING, start_time=now)
    return JobStatus(state=JobState.COMPLETED, exit_code=0, start_time=job.start_time, end_time=now)


def change_job(job):
    """Store the job's next state and publish it as the poller does; return (state, send time, done time)."""
    from django.db import transaction
    from django.utils import timezone

    from apps.code_app.services.poller import apply_status, publish_job

    status = next_status(job, timezone.now())
    sent = time.monotonic()
    with transaction.atomic():
        apply_status(job, status)
    publish_job(job)
    return job.state, sent, time.monotonic()


def load_job_queues(user_ids):
    from apps.code_app.models import Job

    queues = {user_id: deque() for user_id in user_ids}
    for job in Job.objects.active().filter(owner_id__in=user_ids).order_by("pk"):
        queues[job.owner_id].append(job)
    return queues


def warm_up_publisher():
    """Open the publisher's Redis connections and start its event loop before the clock runs."""
    from apps.core import events

    events.publish("bench.warm-up", "bench.warm_up", {})


def run_product(args):
    setup_django()
    from apps.code_app.models import JobState

    with open(args.users) as file:
        user_ids = json.load(file)
    queues = load_job_queues(user_ids)
    warm_up_publisher()
    total = int(args.rate * args.seconds)
    events, max_late = [], 0.0
    start = time.monotonic() + 0.2
    for index in range(total):
        user_id = user_ids[index % len(user_ids)]
        queue = queues[user_id]
        if not queue:
            raise SystemExit(f"user {user_id} has no active job left; the setup created too few")
        max_late = max(max_late, pace(start, index, args.rate))
        job = queue[0]
        state, sent, done = change_job(job)
        if state == JobState.COMPLETED:
            queue.popleft()
        events.append([user_id, job.pk, state, sent, done])
    write(args.out, {"events": events, "max_late": max_late})


def broadcast_marker(number):
    return f'<span id="bench-broadcast" data-broadcast="{number}" hidden></span>'


def run_console(args):
    setup_django()
    from apps.code_app.models import Job
    from apps.core import events
    from apps.dashboard.console_state import CONSOLE_REFRESH, build_console_state, refresh_payload, render_console

    started = time.monotonic()
    warm_up_publisher()
    state = build_console_state(ping_workers=False)
    html = render_console(state)
    build_seconds = time.monotonic() - started

    # Job events first: the refresh after them is much larger, and consoles
    # still working through it would delay the job events.
    owner_id = state["users"][0]["id"]
    jobs = deque(Job.objects.active().filter(owner_id=owner_id).order_by("pk"))
    changes = []
    for _ in range(args.broadcasts):
        job = jobs[0]
        state_name, sent, done = change_job(job)
        if job.is_final:
            jobs.popleft()
        changes.append([owner_id, job.pk, state_name, sent, done])
        time.sleep(args.interval)

    refreshes = []
    for number in range(args.refreshes):
        sent = time.monotonic()
        events.publish(events.CONSOLE_GROUP, CONSOLE_REFRESH, refresh_payload(state, html + broadcast_marker(number)))
        refreshes.append([number, None, None, sent, time.monotonic()])
        time.sleep(args.interval)
    write(
        args.out,
        {"refresh": refreshes, "job_changed": changes, "build_seconds": build_seconds, "users_shown": len(state["users"])},
    )


# --- the bare channel layer ---------------------------------------------------------


def bare_text(job_id, state, seq, size, broadcast=None):
    head = f'<tr id="job-{job_id}" data-state="{state}"><td>'
    tail = "</td></tr>"
    if broadcast is not None:
        tail += f'<span data-broadcast="{broadcast}"></span>'
    tail += f'<span id="stream-seq" data-seq="{seq}" hidden></span>'
    return head + "x" * max(size - len(head) - len(tail), 0) + tail


def bare_layer(args):
    from channels_redis.pubsub import RedisPubSubChannelLayer

    return RedisPubSubChannelLayer(hosts=[{"address": args.redis_url}], prefix=args.prefix)


async def run_bare(args):
    layer = bare_layer(args)
    await layer.group_send("warm-up", {"type": "bench.event", "text": ""})
    seqs = [0] * args.groups
    total = int(args.rate * args.seconds)
    events, max_late = [], 0.0
    start = time.monotonic() + 0.2
    for index in range(total):
        group = index % args.groups
        due = start + index / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            max_late = max(max_late, -delay)
        seqs[group] += 1
        state = "RUNNING" if seqs[group] % 2 else "COMPLETED"
        text = bare_text(index, state, seqs[group], args.size)
        sent = time.monotonic()
        await layer.group_send(f"user.{group}", {"type": "bench.event", "text": text})
        events.append([group, index, state, sent, time.monotonic()])
    await layer.flush()
    write(args.out, {"events": events, "max_late": max_late})


async def run_bare_broadcast(args):
    layer = bare_layer(args)
    await layer.group_send("warm-up", {"type": "bench.event", "text": ""})
    broadcasts = []
    for number in range(args.first_number, args.first_number + args.broadcasts):
        text = bare_text(0, "RUNNING", number + 1, args.size, broadcast=number)
        sent = time.monotonic()
        await layer.group_send("all", {"type": "bench.event", "text": text})
        broadcasts.append([number, None, None, sent, time.monotonic()])
        await asyncio.sleep(args.interval)
    await layer.flush()
    write(args.out, {"refresh": broadcasts})


def main():
    args = parse_args()
    if args.command == "setup":
        run_setup(args)
    elif args.command == "product":
        run_product(args)
    elif args.command == "console":
        run_console(args)
    elif args.command == "bare":
        asyncio.run(run_bare(args))
    else:
        asyncio.run(run_bare_broadcast(args))


if __name__ == "__main__":
    main()
