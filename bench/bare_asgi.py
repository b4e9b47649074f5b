"""The smallest Channels application that relays group events to WebSockets.

It is the baseline of bench/ws_load_bench.py: the same Daphne, channel layer
and Redis as the product, without authentication, sessions, the database or
templates. A socket at ``/ws/bare/?group=NAME`` joins the group ``NAME``, and
every ``bench.event`` sent to that group is forwarded as its ``text``.

Serve it with ``daphne bench.bare_asgi:application`` and set BENCH_REDIS_URL
and BENCH_CHANNEL_PREFIX to the Redis and channel prefix of the publisher.
"""

import os
from urllib.parse import parse_qs

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        CHANNEL_LAYERS={
            "default": {
                # The product's layer (project/settings.py), with the same options.
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": os.environ["BENCH_REDIS_URL"]}],
                    "prefix": os.environ.get("BENCH_CHANNEL_PREFIX", "bench:asgi"),
                },
            }
        },
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.consumer import get_handler_name  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class RelayConsumer(AsyncWebsocketConsumer):
    """Join the group named in the query string and forward its events."""

    async def connect(self):
        query = parse_qs(self.scope["query_string"].decode())
        self.group = query.get("group", ["all"])[0]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def bench_event(self, event):
        await self.send(text_data=event["text"])


class DirectRelayConsumer(RelayConsumer):
    """RelayConsumer without Channels' per-message hop to the database thread.

    Channels 4.2 and later run ``close_old_connections`` on the one shared
    database thread before every handler; this consumer uses no database.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


application = ProtocolTypeRouter(
    {
        "websocket": URLRouter(
            [path("ws/bare/", RelayConsumer.as_asgi()), path("ws/bare-direct/", DirectRelayConsumer.as_asgi())]
        )
    }
)
