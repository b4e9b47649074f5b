"""WebSocket edges of the live pages: authorise, send a snapshot, relay events."""

import json
import logging

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from apps.code_app.models import Job
from apps.code_app.serializers import job_payload
from apps.code_app.services.fairshare import fairshare_of
from apps.code_app.services.scheduler_status import get_scheduler_status
from apps.core import events
from apps.core.dispatch import task_payload
from apps.core.models import TaskRecord
from apps.core.quotas import get_user_quota_status

logger = logging.getLogger(__name__)

SNAPSHOT_JOBS = 50
SNAPSHOT_TASKS = 10
CLOSE_UNAUTHENTICATED = 4401


@database_sync_to_async
def load_snapshot(user):
    # The sequence number is read first: an event published while the rows
    # load is then both in the snapshot and after it, never in neither.
    seq = events.current_sequence(events.user_group(user.pk))
    jobs = [job_payload(job) for job in Job.objects.filter(owner_id=user.pk)[:SNAPSHOT_JOBS]]
    tasks = [task_payload(record) for record in TaskRecord.objects.filter(owner_id=user.pk)[:SNAPSHOT_TASKS]]
    return {
        "seq": seq,
        "jobs": jobs,
        "tasks": tasks,
        "quota": get_user_quota_status(user),
        "scheduler": get_scheduler_status(),
        "fairshare": fairshare_of(user.pk),
    }


def sequence_marker(seq):
    """Return the element that tells the page which stream event it just received.

    It goes last in a message: the browser parses a message like a template,
    and table rows are kept only when they come before any other element.
    """
    return f'<span id="stream-seq" data-seq="{int(seq)}" hx-swap-oob="true" hidden></span>'


class LiveConsumer(AsyncWebsocketConsumer):
    """A socket consumer whose handlers reach the database only through database_sync_to_async.

    Channels 4.2 and later run ``close_old_connections`` before every handler,
    on the one thread that serialises all database work of the process. A
    broadcast to 1,000 sockets then waits for 1,000 turns of that thread,
    which doubled the time until the last socket got it (about 500 ms against
    250 ms, bench/ws_load_bench.py). database_sync_to_async closes old
    connections around each call itself, so these handlers skip the extra turn.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class DashboardConsumer(LiveConsumer):
    """The user's dashboard: their jobs, pushed as htmx out-of-band fragments."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.group = events.user_group(user.pk)
        self.shown_jobs = set()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_snapshot()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "{}")
        except ValueError:
            return
        if message.get("action") == "snapshot":
            await self.send_snapshot()

    async def send_snapshot(self):
        snapshot = await load_snapshot(self.user)
        self.shown_jobs = {job["job_id"] for job in snapshot["jobs"]}
        # Imported here because notifications imports this module.
        from .notifications import task_ranks

        self.shown_tasks = task_ranks(snapshot["tasks"])
        html = render_to_string("dashboard/_snapshot.html", snapshot)
        await self.send(text_data=html + sequence_marker(snapshot["seq"]))

    async def job_changed(self, event):
        job = event["job"]
        is_new = job["job_id"] not in self.shown_jobs
        self.shown_jobs.add(job["job_id"])
        html = render_to_string("dashboard/_job_row.html", {"job": job, "new": is_new})
        await self.send(text_data=html + sequence_marker(event["seq"]))

    async def quota_changed(self, event):
        parts = []
        if "jobs" in event:
            parts.append(render_to_string("dashboard/_job_caps.html", {"jobs": event["jobs"], "oob": True}))
        if "fairshare" in event:
            parts.append(render_to_string("dashboard/_fairshare.html", {"fairshare": event["fairshare"], "oob": True}))
        for quota in event.get("rates", {}).values():
            parts.append(render_to_string("dashboard/_quota_meter.html", {"quota": quota, "oob": True}))
        await self.send(text_data="".join(parts) + sequence_marker(event["seq"]))

    async def scheduler_status(self, event):
        html = render_to_string("dashboard/_scheduler_status.html", {"scheduler": event["status"]})
        await self.send(text_data=html + sequence_marker(event["seq"]))

    async def task_changed(self, event):
        """Show the task in the recent tasks table: new ones on top, known ones replaced."""
        from .notifications import is_outdated

        task = event["task"]
        is_new = task["task_id"] not in self.shown_tasks
        html = ""
        if not is_outdated(self.shown_tasks, task):
            html = render_to_string("dashboard/_task_row.html", {"task": task, "new": is_new})
        await self.send(text_data=html + sequence_marker(event["seq"]))
