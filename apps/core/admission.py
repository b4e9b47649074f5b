"""Admission switches: an admin can pause new work of one kind for everyone."""

from django.conf import settings

from .exceptions import AdmissionPaused
from .redis import get_redis, redis_key


def _paused_key():
    return redis_key("admission-paused")


def paused_kinds():
    return sorted(member.decode() for member in get_redis().smembers(_paused_key()))


def pause(kind):
    get_redis().sadd(_paused_key(), kind)


def resume(kind):
    get_redis().srem(_paused_key(), kind)


def check_not_paused(kind):
    if get_redis().sismember(_paused_key(), kind):
        label = settings.RATE_LIMITS.get(kind, {}).get("label", kind)
        raise AdmissionPaused(f"{label}: new requests are paused by the platform admins; try again later.")
