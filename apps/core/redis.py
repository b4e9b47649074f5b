"""The process-wide Redis client used for locks and limits."""

import os

import redis
from django.conf import settings

_clients = {}


def get_redis():
    """Return this process's Redis client, recreated after a fork."""
    key = (os.getpid(), settings.REDIS_URL)
    client = _clients.get(key)
    if client is None:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=5,
            socket_connect_timeout=5,
            health_check_interval=30,
            retry_on_timeout=True,
        )
        _clients.clear()
        _clients[key] = client
    return client


def redis_key(*parts):
    return ":".join([settings.REDIS_PREFIX, *map(str, parts)])
