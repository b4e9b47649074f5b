"""The fairness console page and its actions, each recorded in the AdminAction audit log.

Actions are htmx POSTs (with the CSRF token from base.html) that return a
short result fragment. Every open console then receives a full refresh over
its socket, so other staff see the change and the new audit entry too.
"""

import logging
from functools import wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import render
from django.views.decorators.http import require_POST

from apps.code_app.models import Job
from apps.code_app.services.submission import cancel_job
from apps.core import admission
from apps.core.exceptions import JobNotCancellable, PlatformError
from apps.core.models import JOB_CAP_KINDS, QuotaOverride, quota_kind_choices
from apps.core.quotas import push_job_caps, push_quota

from .console_state import pausable_kinds, publish_console_refresh
from .models import AdminAction

logger = logging.getLogger(__name__)


class ActionError(Exception):
    """A console action's input is invalid; ``errors`` maps each field to a sentence."""

    def __init__(self, errors):
        super().__init__(next(iter(errors.values())))
        self.errors = errors


def staff_required(view):
    """Redirect anonymous users to the login page and return 403 to signed-in users who are not staff."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("The fairness console is for staff only.")
        return view(request, *args, **kwargs)

    return wrapper


def console_action(view):
    """Run a staff-only POST action, render its result and push a refresh to every console."""

    @wraps(view)
    @staff_required
    @require_POST
    def wrapper(request, *args, **kwargs):
        try:
            message = view(request, *args, **kwargs)
        except ActionError as error:
            return render(request, "console/_action_result.html", {"errors": error.errors}, status=400)
        try:
            publish_console_refresh(force=True)
        except Exception:
            logger.exception("pushing the console refresh after %s failed", view.__name__)
        return render(request, "console/_action_result.html", {"message": message})

    return wrapper


def record(request, action, *, target=None, kind="", details=None):
    return AdminAction.objects.create(
        actor=request.user,
        actor_username=request.user.get_username(),
        action=action,
        target_user=target,
        target_username=target.get_username() if target else "",
        kind=kind,
        details=details or {},
    )


def target_by_id(raw):
    if not str(raw or "").isdigit():
        raise ActionError({"user_id": f"user_id must be a user's numeric id; got {raw!r}."})
    user = get_user_model().objects.filter(pk=int(raw)).first()
    if user is None:
        raise ActionError({"user_id": f"No user has id {raw}."})
    return user


def target_by_username(raw):
    username = (raw or "").strip()
    if not username:
        raise ActionError({"username": "username is missing; enter the user's username."})
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ActionError({"username": f"No user is named {username!r}; check the username."})
    return user


def override_kind(raw):
    kinds = dict(quota_kind_choices())
    if raw not in kinds:
        raise ActionError({"kind": f"kind must be one of {', '.join(kinds)}; got {raw!r}."})
    return raw


def admission_kind(raw):
    kinds = dict(pausable_kinds())
    if raw not in kinds:
        raise ActionError({"kind": f"kind must be one of {', '.join(kinds)}; got {raw!r}."})
    return raw


def describe_override(override):
    return {"limit": override.limit, "burst": override.burst, "note": override.note}


def push_override(user_id, kind):
    """Show the user's new limit on their own dashboard at once."""
    if kind in JOB_CAP_KINDS:
        push_job_caps(user_id)
    else:
        push_quota(user_id, kind)


@staff_required
def console(request):
    return render(request, "console/console.html", {"quota_kinds": quota_kind_choices()})


@console_action
def cancel_user_jobs(request):
    """Request cancellation of every active job of one user."""
    target = target_by_id(request.POST.get("user_id"))
    cancelled, failed = [], []
    for job in Job.objects.filter(owner=target).active().order_by("pk"):
        try:
            cancel_job(job)
        except JobNotCancellable:
            continue
        except PlatformError as error:
            logger.warning("cancelling job %s of user %s from the console failed: %s", job.pk, target.pk, error)
            failed.append(job.pk)
            continue
        cancelled.append(job.pk)

    record(request, AdminAction.Action.CANCEL_JOBS, target=target, details={"cancelled": cancelled, "failed": failed})
    logger.info(
        "staff user %s requested cancellation of %s jobs of user %s (%s failed)",
        request.user.pk, len(cancelled), target.pk, len(failed),
    )
    if not cancelled and not failed:
        return f"{target.username} has no active jobs; nothing was cancelled."
    message = f"Requested cancellation of {len(cancelled)} job(s) of {target.username}."
    if failed:
        message += f" Cancelling jobs {', '.join(map(str, failed))} failed; see the log."
    return message


@console_action
def set_override(request):
    """Create or replace one user's quota override after QuotaOverride's own validation."""
    target = target_by_username(request.POST.get("username"))
    kind = override_kind(request.POST.get("kind"))
    raw_burst = (request.POST.get("burst") or "").strip()
    if raw_burst and not raw_burst.isdigit():
        raise ActionError({"burst": f"burst must be a whole number; got {raw_burst!r}."})

    with transaction.atomic():
        override = QuotaOverride.objects.select_for_update().filter(user=target, kind=kind).first()
        previous = describe_override(override) if override else None
        override = override or QuotaOverride(user=target, kind=kind)
        override.limit = (request.POST.get("limit") or "").strip()
        override.burst = int(raw_burst) if raw_burst else None
        override.note = (request.POST.get("note") or "").strip()
        try:
            override.full_clean()
        except ValidationError as error:
            raise ActionError({field: " ".join(messages) for field, messages in error.message_dict.items()}) from None
        override.save()
        record(
            request, AdminAction.Action.SET_OVERRIDE, target=target, kind=kind,
            details={**describe_override(override), "previous": previous},
        )
    logger.info("staff user %s set the %s override of user %s to %s", request.user.pk, kind, target.pk, override.limit)
    push_override(target.pk, kind)
    return f"{target.username} now has {kind} = {override.limit}."


@console_action
def clear_override(request):
    target = target_by_username(request.POST.get("username"))
    kind = override_kind(request.POST.get("kind"))
    with transaction.atomic():
        override = QuotaOverride.objects.select_for_update().filter(user=target, kind=kind).first()
        if override is None:
            raise ActionError({"kind": f"{target.username} has no {kind} override to clear."})
        previous = describe_override(override)
        override.delete()
        record(request, AdminAction.Action.CLEAR_OVERRIDE, target=target, kind=kind, details={"previous": previous})
    logger.info("staff user %s cleared the %s override of user %s", request.user.pk, kind, target.pk)
    push_override(target.pk, kind)
    return f"{target.username} is back on the default {kind} limit."


@console_action
def pause_admission(request):
    kind = admission_kind(request.POST.get("kind"))
    if kind in admission.paused_kinds():
        return f"Admission of {kind} was already paused."
    admission.pause(kind)
    record(request, AdminAction.Action.PAUSE_ADMISSION, kind=kind)
    logger.info("staff user %s paused admission of %s", request.user.pk, kind)
    return f"Admission of {kind} is paused; new requests get 503 until it is resumed."


@console_action
def resume_admission(request):
    kind = admission_kind(request.POST.get("kind"))
    if kind not in admission.paused_kinds():
        return f"Admission of {kind} was not paused."
    admission.resume(kind)
    record(request, AdminAction.Action.RESUME_ADMISSION, kind=kind)
    logger.info("staff user %s resumed admission of %s", request.user.pk, kind)
    return f"Admission of {kind} is open again."
