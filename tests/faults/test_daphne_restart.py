"""Daphne stopped and started again while dashboards are open in Chromium."""

import time

import pytest

from .conftest import log_in, submit_job, wait_until
from .pages import open_dashboard, shown_states, socket_attempts

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

DOWN_SECONDS = 10
# dashboard.js and htmx's WebSocket extension wait a random time of up to
# 2^min(retry, 6) seconds before each new attempt (full jitter).
MAX_DELAY_MS = 1000 * 2**6


def test_pages_reconnect_and_show_changes_made_while_down(system, browser):
    system.start_daphne()
    system.start_poller()
    pages = [open_dashboard(browser, system, log_in) for _ in range(2)]
    api = system.api("demo")
    response = submit_job(api, "spans-restart", 5)
    assert response.status_code == 201, response.text
    job_id = response.json()["job_id"]
    for page in pages:
        wait_until(lambda page=page: shown_states(page).get(job_id) == "RUNNING", timeout=30, message="RUNNING shown")
    attempts_before = [len(socket_attempts(page)) for page in pages]

    system.daphne.stop()
    stopped_at = time.time() * 1000
    for page in pages:
        page.wait_for_selector("#connection-state[data-state=offline]", timeout=10_000)
    wait_until(lambda: system.job_states([job_id])[job_id] == "COMPLETED", timeout=30, message="COMPLETED stored")
    time.sleep(max(DOWN_SECONDS - (time.time() * 1000 - stopped_at) / 1000, 0))
    shown_while_down = [shown_states(page)[job_id] for page in pages]
    system.start_daphne()

    for page in pages:
        page.wait_for_selector("#connection-state[data-state=live]", timeout=MAX_DELAY_MS + 10_000)
        wait_until(lambda page=page: shown_states(page).get(job_id) == "COMPLETED", timeout=10, message="COMPLETED shown")
    assert shown_while_down == ["RUNNING", "RUNNING"]
    retries = [socket_attempts(page)[count:] for page, count in zip(pages, attempts_before)]
    # Each page tried again while Daphne was down, with pauses between tries,
    # and the two pages did not try in step.
    for times in retries:
        assert 2 <= len(times) <= 12, retries
        assert all(later - earlier <= MAX_DELAY_MS + 1000 for earlier, later in zip(times, times[1:])), retries
    assert retries[0] != retries[1]
