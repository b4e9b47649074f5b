"""Fairness measured on the compute tier: CPU-hours, shares, fair-share factors, Jain's index.

Usage is CPU time taken from the Job table: ``cpus`` times the part of
[start_time, end_time] that falls inside a window, where a running job counts
up to now. A user's target share in a window is an equal part among the users
who had demand in it: a job submitted before the window ended and not ended
before it began. A user whose jobs only waited therefore counts with a share
of 0.

The fair-share factor follows Slurm's classic formula F = 2^(-U/S), with U the
user's decayed usage divided by everyone's and S the user's share divided by
all shares (equal shares, 1/N). A scheduler backend may supply its own factors
(for Slurm, from sshare) through an optional ``fairshare()`` method.
"""

import logging
import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from .exceptions import PlatformError

logger = logging.getLogger(__name__)

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
TREND_DAYS = 7
ACCOUNT_PATTERN = re.compile(r"u_(\d+)")


def overlap_seconds(start, end, window_start, window_end):
    """Return the seconds of [start, end] inside [window_start, window_end], at least 0."""
    begin = max(start, window_start)
    finish = min(end, window_end)
    return max((finish - begin).total_seconds(), 0.0)


def cpu_seconds_by_user(rows, window_start, window_end, now):
    """Return {user_id: CPU-seconds} of ``rows`` inside the window.

    ``rows`` are (owner_id, cpus, submit_time, start_time, end_time) tuples;
    jobs without a start time used nothing, and a job without an end time runs
    until ``now``.
    """
    usage = {}
    for owner_id, cpus, _submitted, start, end in rows:
        if start is None:
            continue
        seconds = overlap_seconds(start, end or now, window_start, window_end)
        if seconds > 0:
            usage[owner_id] = usage.get(owner_id, 0.0) + cpus * seconds
    return usage


def users_with_demand(rows, window_start, window_end):
    """Return the ids of users with a job submitted before the window ended and not ended before it began."""
    users = set()
    for owner_id, _cpus, submitted, _start, end in rows:
        if submitted < window_end and (end is None or end > window_start):
            users.add(owner_id)
    return users


def decayed_usage(rows, now):
    """Return {user_id: CPU-seconds} weighted by age, as the local scheduler orders waiting jobs."""
    from apps.code_app.schedulers.local import USAGE_HALF_LIFE_HOURS, USAGE_WINDOW

    usage = {}
    for owner_id, cpus, _submitted, start, end in rows:
        if start is None:
            continue
        finished = end or now
        if finished < now - USAGE_WINDOW:
            continue
        seconds = max((finished - start).total_seconds(), 0.0)
        age_hours = max((now - finished).total_seconds(), 0.0) / 3600
        usage[owner_id] = usage.get(owner_id, 0.0) + cpus * seconds * 0.5 ** (age_hours / USAGE_HALF_LIFE_HOURS)
    return usage


def jains_index(values):
    """Return Jain's fairness index (sum x)^2 / (n * sum x^2) of non-negative ``values``.

    It is 1 when all values are equal and 1/n when one value takes everything.
    Returns None for no values or when all are 0, where the index is undefined.
    """
    values = list(values)
    squares = sum(value * value for value in values)
    if not values or squares == 0:
        return None
    return sum(values) ** 2 / (len(values) * squares)


def shares_against_targets(usage, users):
    """Return {user_id: {"share", "target", "ratio"}} for ``users`` given their CPU-seconds.

    ``target`` is 1/len(users); ``ratio`` is share/target, so 1 means the user
    got exactly their fair part. With no usage at all every share is 0.
    """
    users = set(users) | set(usage)
    if not users:
        return {}
    total = sum(usage.values())
    target = 1 / len(users)
    result = {}
    for user_id in users:
        share = usage.get(user_id, 0.0) / total if total else 0.0
        result[user_id] = {"share": share, "target": target, "ratio": share / target}
    return result


def fairshare_factors(usage, users):
    """Return {user_id: F} with F = 2^(-U/S) for equal shares S = 1/len(users).

    ``usage`` is each user's decayed usage; U is it divided by the total. A
    user with no usage gets 1.0, the highest priority.
    """
    users = set(users) | set(usage)
    if not users:
        return {}
    total = sum(usage.values())
    normalised_share = 1 / len(users)
    factors = {}
    for user_id in users:
        normalised_usage = usage.get(user_id, 0.0) / total if total else 0.0
        factors[user_id] = 2 ** (-normalised_usage / normalised_share)
    return factors


def scheduler_fairshare(backend):
    """Return {user_id: factor} from the backend's optional ``fairshare()``, or None.

    The backend's keys are usernames or Slurm accounts named ``u_<user id>``;
    keys that match neither are skipped. When the scheduler cannot be reached,
    this returns None, so the platform's own figures are shown.
    """
    method = getattr(backend, "fairshare", None)
    if method is None:
        return None
    try:
        raw = method()
    except PlatformError as exc:
        logger.warning("reading fair-share factors from the %s scheduler failed; computing them here: %s", backend.name, exc)
        return None
    if raw is None:
        return None
    ids_by_name = dict(get_user_model().objects.filter(username__in=list(raw)).values_list("username", "pk"))
    factors = {}
    for key, factor in raw.items():
        match = ACCOUNT_PATTERN.fullmatch(str(key))
        user_id = int(match.group(1)) if match else ids_by_name.get(key)
        if user_id is None:
            logger.warning("fair-share factor for unknown user or account %r skipped", key)
            continue
        factors[user_id] = float(factor)
    return factors


def load_job_rows(since, now):
    """Return (owner_id, cpus, submit_time, start_time, end_time) of jobs active at some point since ``since``."""
    from apps.code_app.models import Job

    jobs = Job.objects.filter(submit_time__lte=now).filter(Q(end_time__isnull=True) | Q(end_time__gt=since))
    return list(jobs.values_list("owner_id", "cpus", "submit_time", "start_time", "end_time"))


def window_summary(rows, window_start, window_end):
    """Return usage, shares and Jain's index of one window."""
    usage = cpu_seconds_by_user(rows, window_start, window_end, window_end)
    users = users_with_demand(rows, window_start, window_end)
    shares = shares_against_targets(usage, users)
    return {
        "cpu_seconds": usage,
        "shares": shares,
        "jain": jains_index(entry["ratio"] for entry in shares.values()),
        "users": len(shares),
        "cpu_hours": sum(usage.values()) / 3600,
    }


def jain_trend(rows, now, days=TREND_DAYS):
    """Return [{"end", "jain"}] for each of the last ``days`` whole 24-hour windows, oldest first."""
    trend = []
    for back in range(days - 1, -1, -1):
        end = now - timedelta(days=back)
        summary = window_summary(rows, end - timedelta(days=1), end)
        trend.append({"end": end, "jain": summary["jain"]})
    return trend


def build_report(now=None, *, backend=None):
    """Return the fairness figures of the last 24 hours and 7 days, per user and overall.

    ``users`` maps each user id with demand in the last 7 days to its CPU-hours,
    shares and ratios per window and to its fair-share factor.
    ``fairshare_source`` is "scheduler" when the backend supplied the factors,
    else "platform".
    """
    now = now or timezone.now()
    longest = max(WINDOWS.values())
    rows = load_job_rows(now - longest - timedelta(days=1), now)

    windows = {name: window_summary(rows, now - length, now) for name, length in WINDOWS.items()}
    factors = scheduler_fairshare(backend) if backend is not None else None
    source = "scheduler"
    if factors is None:
        source = "platform"
        factors = fairshare_factors(decayed_usage(rows, now), windows["7d"]["shares"])

    users = {}
    for user_id in set(windows["7d"]["shares"]) | set(windows["24h"]["shares"]):
        entry = {"fairshare": factors.get(user_id)}
        for name, summary in windows.items():
            share = summary["shares"].get(user_id, {"share": 0.0, "target": 0.0, "ratio": 0.0})
            entry[f"cpu_hours_{name}"] = summary["cpu_seconds"].get(user_id, 0.0) / 3600
            entry[f"share_{name}"] = share["share"]
            entry[f"target_{name}"] = share["target"]
            entry[f"ratio_{name}"] = share["ratio"]
        users[user_id] = entry

    return {
        "generated_at": now,
        "windows": {
            name: {"jain": summary["jain"], "users": summary["users"], "cpu_hours": summary["cpu_hours"]}
            for name, summary in windows.items()
        },
        "users": users,
        "fairshare_source": source,
        "trend": jain_trend(rows, now),
    }


def cpus_in_use(rows, bucket_starts, bucket_length, now):
    """Return the average number of CPUs in use in each bucket [start, start + bucket_length].

    The current bucket is averaged over its elapsed part only, so it does not
    read low while it is still filling.
    """
    series = []
    for start in bucket_starts:
        end = min(start + bucket_length, now)
        length = (end - start).total_seconds()
        if length <= 0:
            series.append(0.0)
            continue
        used = sum(cpu_seconds_by_user(rows, start, end, now).values())
        series.append(used / length)
    return series
