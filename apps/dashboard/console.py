"""The fairness console's socket: staff only, a full snapshot on connect, then pushed updates.

Two kinds of events arrive: ``console.refresh`` carries HTML that the
publisher rendered once for every console, and ``job.changed`` carries one
job, from which this consumer updates the owner's row and the event feed.
"""

import json
import logging
import time

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string
from redis.exceptions import RedisError

from apps.code_app.models import JobState
from apps.core import events, health

from . import console_state

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
def load_snapshot():
    state = console_state.build_console_state(ping_workers=False)
    return state, console_state.render_console(state)


def count_job(row, state, delta):
    """Add ``delta`` to the row's counters of an active job in ``state``."""
    row["submitted"] = max(row["submitted"] + delta, 0)
    if state == JobState.RUNNING:
        row["running"] = max(row["running"] + delta, 0)
    elif state == JobState.PENDING:
        row["pending"] = max(row["pending"] + delta, 0)


class ConsoleConsumer(AsyncWebsocketConsumer):
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
        self.rows = {}
        self.active_jobs = {}
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
        self.rows = {row["id"]: row for row in state["users"]}
        self.active_jobs = dict(state["active_jobs"])
        await self.send(text_data=html)

    async def console_refresh(self, event):
        self.rows = {row["id"]: row for row in event["users"]}
        self.active_jobs = dict(event["active_jobs"])
        await self.send(text_data=event["html"])
        await self.renew_registration()

    async def job_changed(self, event):
        job, owner_id = event["job"], event.get("owner_id")
        if owner_id is None:
            return
        key = str(job["job_id"])
        previous = self.active_jobs.pop(key, None)
        if not job["is_final"]:
            self.active_jobs[key] = [owner_id, job["state"]]

        row = self.rows.get(owner_id)
        is_new_row = row is None
        if is_new_row:
            # Counted from the database, so the row already includes this job.
            row = await database_sync_to_async(console_state.load_user_row)(owner_id)
            if row is None:
                return
            self.rows[owner_id] = row
        else:
            if previous is not None:
                count_job(row, previous[1], -1)
            if not job["is_final"]:
                count_job(row, job["state"], +1)

        html = render_to_string("console/_user_row.html", {"row": row, "oob": not is_new_row, "new": is_new_row})
        html += render_to_string("console/_event.html", {"job": job, "username": row["username"]})
        await self.send(text_data=html)
