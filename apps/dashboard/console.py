"""The fairness console's socket: staff only, a full snapshot on connect, then pushed updates.

Two kinds of events arrive: ``console.refresh`` carries HTML that the
publisher rendered once for every console, and ``job.changed`` carries one
job, from which the owner's row and the event feed are updated. The consoles
of a process share one copy of the rows they show (SharedConsole).
"""

import asyncio
import json
import logging
import math
import time

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.template.loader import render_to_string
from redis.exceptions import RedisError

from apps.code_app.models import JobState
from apps.core import events, health

from . import console_state
from .consumers import LiveConsumer

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
RENEW_INTERVAL = console_state.REGISTRATION_TTL / 3


def ensure_worker_ping():
    """Ping the workers unless a recent result is cached; errors leave the console without one."""
    try:
        if health.cached_worker_ping() is None:
            health.ping_workers()
    except Exception as exc:
        logger.warning("pinging the Celery workers failed: %s", exc)


@database_sync_to_async
def build_snapshot():
    state = console_state.build_console_state(ping_workers=False)
    return state, console_state.render_console(state)


_builds = {}


async def load_snapshot():
    """Return (state, html) of a new snapshot; consoles asking while one is built share it.

    A build reads every shown user's quotas, which takes seconds for 200 users
    on 2 cores, on the one database thread. So a thousand consoles reconnecting
    at once would otherwise queue a thousand builds. A console that shares a
    build begun before it joined the group can miss a job event of those
    seconds, until the next full refresh replaces its figures.
    """
    loop = asyncio.get_running_loop()
    build = _builds.get(loop)
    if build is None:
        build = _builds[loop] = loop.create_task(build_snapshot())
        build.add_done_callback(lambda _: _builds.pop(loop, None))
    return await asyncio.shield(build)


# How long the HTML of an event stays available to the consoles of a process.
EVENT_HTML_LIFETIME = 10.0


class SharedConsole:
    """What every console of one process shows: the users' rows and the active jobs.

    All consoles of a process receive the same events in the same order, so
    the first console to handle an event updates this state and renders the
    event's HTML, and the others send that HTML. With a copy in each console,
    1,000 consoles and 5,000 active jobs took 270 KB per socket and full
    garbage collections of up to 2 s. Rendering for each console also took
    seconds per broadcast (bench/ws_load_bench.py on 2 cores).
    """

    def __init__(self):
        self.rows = {}
        self.active_jobs = {}
        self._users = None
        self._html = {}
        self._html_since = -math.inf

    def show(self, users, active_jobs):
        """Take the rows and active jobs of a snapshot or refresh."""
        if users is self._users:
            return
        self._users = users
        self.rows = {row["id"]: row for row in users}
        # Tuples of plain values, which the garbage collector stops tracking.
        self.active_jobs = {key: tuple(value) for key, value in active_jobs.items()}

    async def html_once(self, key, render):
        """Return the event's HTML; only the first console to ask for ``key`` runs ``render()``.

        ``key`` contains the event's sequence number. Without one, every console renders.
        """
        if None in key:
            return await render()
        now = time.monotonic()
        if now - self._html_since > EVENT_HTML_LIFETIME:
            self._html = {}
            self._html_since = now
        key = (asyncio.get_running_loop(), *key)
        task = self._html.get(key)
        if task is None:
            task = self._html[key] = asyncio.ensure_future(render())
        return await asyncio.shield(task)

    async def apply_job_change(self, job, owner_id):
        """Count the job in its owner's row; return the row and feed entry, or "" if the user is gone."""
        key = str(job["job_id"])
        previous = self.active_jobs.pop(key, None)
        if not job["is_final"]:
            self.active_jobs[key] = (owner_id, job["state"])

        row = self.rows.get(owner_id)
        is_new_row = row is None
        if is_new_row:
            # Counted from the database, so the row already includes this job.
            row = await database_sync_to_async(console_state.load_user_row)(owner_id)
            if row is None:
                return ""
            self.rows[owner_id] = row
        else:
            if previous is not None:
                count_job(row, previous[1], -1)
            if not job["is_final"]:
                count_job(row, job["state"], +1)

        html = render_to_string("console/_user_row.html", {"row": row, "oob": not is_new_row, "new": is_new_row})
        return html + render_to_string("console/_event.html", {"job": job, "username": row["username"]})


shared_console = SharedConsole()


def count_job(row, state, delta):
    """Add ``delta`` to the row's counters of an active job in ``state``."""
    row["submitted"] = max(row["submitted"] + delta, 0)
    if state == JobState.RUNNING:
        row["running"] = max(row["running"] + delta, 0)
    elif state == JobState.PENDING:
        row["pending"] = max(row["pending"] + delta, 0)


class ConsoleConsumer(LiveConsumer):
    """The staff fairness console, pushed as htmx out-of-band fragments."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not user.is_staff:
            logger.info("console socket of user %s rejected: not staff", user.pk)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        self.registered_at = 0.0
        self.group = events.CONSOLE_GROUP
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.renew_registration(force=True)
        await self.send_snapshot()

    async def disconnect(self, code):
        if not hasattr(self, "group"):
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        try:
            await sync_to_async(console_state.unregister_console, thread_sensitive=False)(self.channel_name)
        except RedisError as exc:
            logger.warning("removing console %s from the registry failed: %s", self.channel_name, exc)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "{}")
        except ValueError:
            return
        if message.get("action") == "snapshot":
            await self.send_snapshot()

    async def renew_registration(self, *, force=False):
        """Renew this console in the registry that the periodic refresh checks before it runs."""
        now = time.monotonic()
        if not force and now - self.registered_at < RENEW_INTERVAL:
            return
        self.registered_at = now
        try:
            await sync_to_async(console_state.register_console, thread_sensitive=False)(self.channel_name)
        except RedisError as exc:
            logger.warning("registering console %s failed: %s", self.channel_name, exc)

    async def send_snapshot(self):
        # The ping blocks for up to a second, so it runs outside the thread
        # that serialises every consumer's database work.
        await sync_to_async(ensure_worker_ping, thread_sensitive=False)()
        state, html = await load_snapshot()
        shared_console.show(state["users"], state["active_jobs"])
        await self.send(text_data=html)

    async def console_refresh(self, event):
        async def take_refresh():
            figures = json.loads(event["figures"])
            shared_console.show(figures["users"], figures["active_jobs"])
            return event["html"]

        html = await shared_console.html_once(("refresh", event.get("seq"), len(event["html"])), take_refresh)
        await self.send(text_data=html)
        await self.renew_registration()

    async def job_changed(self, event):
        job, owner_id = event["job"], event.get("owner_id")
        if owner_id is None:
            return
        key = ("job", event.get("seq"), job["job_id"], job["state"])
        html = await shared_console.html_once(key, lambda: shared_console.apply_job_change(job, owner_id))
        if html:
            await self.send(text_data=html)
