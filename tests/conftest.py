import time

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apps.code_app.models import Job
from apps.code_app.schedulers import base as scheduler_base
from apps.code_app.services.poller import poll_once


@pytest.fixture(autouse=True)
def isolated_workspaces(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WORKSPACE_ROOT = tmp_path / "workspaces"
    settings.LOCAL_SCHEDULER_STATE_DIR = tmp_path / "local-scheduler"
    scheduler_base._backends.clear()
    yield settings.WORKSPACE_ROOT
    scheduler_base._backends.clear()


def make_user(username, *, staff=False):
    return get_user_model().objects.create_user(
        username=username, password=f"{username}-password", is_staff=staff
    )


@pytest.fixture
def owner(db):
    return make_user("alice")


@pytest.fixture
def other_user(db):
    return make_user("bob")


@pytest.fixture
def staff_user(db):
    return make_user("carol", staff=True)


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def owner_client(owner):
    return client_for(owner)


@pytest.fixture
def other_client(other_user):
    return client_for(other_user)


def poll_until(predicate, *, timeout=30.0, interval=0.2):
    """Run poller ticks until ``predicate()`` is true; return the last value or fail."""
    backend = scheduler_base.get_backend()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        poll_once(backend)
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def wait_for_state(job_id, *states, timeout=30.0):
    states = set(states)
    poll_until(lambda: Job.objects.get(pk=job_id).state in states, timeout=timeout)
    return Job.objects.get(pk=job_id)


@pytest.fixture
def cancel_leftover_jobs():
    """Cancel every job still running when a test ends, so no process outlives it."""
    yield
    backend = scheduler_base.get_backend()
    for job in Job.objects.active():
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        backend.cancel(job)
    deadline = time.monotonic() + 20
    while Job.objects.active().exists() and time.monotonic() < deadline:
        poll_once(backend)
        time.sleep(0.2)


# The Celery worker and the fake external APIs of the async tier's tests.
from tests.integration.celery_worker import fake_services, live_worker, module_celery_worker  # noqa: E402,F401
