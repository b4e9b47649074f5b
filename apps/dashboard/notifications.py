"""The notifications socket of the writer, scholar and vis pages.

/ws/notifications/?app=writer (or scholar, vis) joins the user's group and
relays task changes of that app's kinds as htmx out-of-band fragments: a
task new to the page goes to the top of #task-list, a known one replaces
its card. On connect it sends a snapshot of the user's recent tasks of those
kinds, and again when the page requests one ({"action": "snapshot"}) because it saw
a gap in the stream's sequence numbers. Without ``app`` every kind is
relayed.
"""

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from apps.core import events
from apps.core.dispatch import task_payload
from apps.core.models import TaskRecord

from .consumers import sequence_marker

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
SNAPSHOT_TASKS = 20
APP_KINDS = {
    "writer": ("ai_suggest", "ai_generate", "latex_compile"),
    "scholar": ("paper_search", "pdf_process", "metadata"),
    "vis": ("figure_export",),
}
TASK_TEMPLATES = {kind: f"{app}/_task.html" for app, kinds in APP_KINDS.items() for kind in kinds}
DEFAULT_TASK_TEMPLATE = "writer/_task.html"
# Events of one task come from different processes (the web process sends
# PENDING, a worker the rest), so they can arrive out of order. A page keeps
# the furthest state it has shown.
STATE_RANK = {"PENDING": 0, "STARTED": 1, "RETRY": 1, "SUCCESS": 2, "FAILURE": 2}


def is_outdated(shown_ranks, task):
    """Return whether ``task`` is older than the state already shown for it, and record it if not."""
    rank = STATE_RANK.get(task["state"], 0)
    if rank < shown_ranks.get(task["task_id"], -1):
        return True
    shown_ranks[task["task_id"]] = rank
    return False


def task_ranks(tasks):
    """Return {task_id: rank of its state} for tasks just shown in a snapshot."""
    return {task["task_id"]: STATE_RANK.get(task["state"], 0) for task in tasks}


def render_task(task, *, oob=False):
    template = TASK_TEMPLATES.get(task["kind"], DEFAULT_TASK_TEMPLATE)
    return render_to_string(template, {"task": task, "oob": oob})


@database_sync_to_async
def load_recent_tasks(user, kinds):
    """Return (stream sequence number, recent task payloads); the number is read first, as in load_snapshot."""
    seq = events.current_sequence(events.user_group(user.pk))
    records = TaskRecord.objects.filter(owner_id=user.pk)
    if kinds is not None:
        records = records.filter(kind__in=kinds)
    return seq, [task_payload(record) for record in records[:SNAPSHOT_TASKS]]


class NotificationConsumer(AsyncWebsocketConsumer):
    """Pushes the user's task changes to the writer, scholar and vis pages."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.kinds = self._kinds_from_query()
        self.group = events.user_group(user.pk)
        self.shown_ranks = {}
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
        if isinstance(message, dict) and message.get("action") == "snapshot":
            await self.send_snapshot()

    async def send_snapshot(self):
        seq, tasks = await load_recent_tasks(self.user, self.kinds)
        self.shown_ranks = task_ranks(tasks)
        cards = "".join(render_task(task) for task in tasks)
        empty = "" if tasks else '<p class="muted empty">No results yet.</p>'
        await self.send(
            text_data=f'<div id="task-list" hx-swap-oob="true">{cards}{empty}</div>'
            '<span id="connection-state" hx-swap-oob="true" data-state="live">live</span>' + sequence_marker(seq)
        )

    async def task_changed(self, event):
        task = event["task"]
        html = ""
        relayed = self.kinds is None or task["kind"] in self.kinds
        is_new = task["task_id"] not in self.shown_ranks
        if relayed and not is_outdated(self.shown_ranks, task):
            if is_new:
                # An out-of-band element with a position swap inserts its children.
                html = f'<div hx-swap-oob="afterbegin:#task-list">{render_task(task)}</div>'
            else:
                html = render_task(task, oob=True)
        await self.send(text_data=html + sequence_marker(event["seq"]))

    async def job_changed(self, event):
        """Job changes are shown on the dashboard; only the stream position is sent."""
        await self.send(text_data=sequence_marker(event["seq"]))

    async def quota_changed(self, event):
        """Quota changes are shown on the dashboard; only the stream position is sent."""
        await self.send(text_data=sequence_marker(event["seq"]))

    def _kinds_from_query(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        app = (query.get("app") or [""])[0]
        return APP_KINDS.get(app)
