"""Redis killed and started again while jobs run and a dashboard is open."""

import time

import pytest

from .conftest import log_in, submit_job, wait_until
from .pages import open_dashboard, shown_states, snapshots

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

# Long enough for the running jobs to end while Redis is down.
OUTAGE_SECONDS = 6


def test_jobs_and_pages_survive_redis_restart(system, redis_server, browser):
    daphne = system.start_daphne()
    poller = system.start_poller()
    page = open_dashboard(browser, system, log_in)
    api = system.api("demo")
    # Five jobs on the four local slots: four end during the outage, the last
    # waits for a slot and runs after it.
    job_ids = []
    for number, seconds in enumerate([2, 2, 3, 3, 8]):
        response = submit_job(api, f"before-{number}", seconds)
        assert response.status_code == 201, response.text
        job_ids.append(response.json()["job_id"])
    wait_until(lambda: "RUNNING" in shown_states(page).values(), timeout=30, message="a job shown RUNNING")
    snapshots_before = snapshots(page)

    redis_server.kill()
    rejected = submit_job(api, "during-outage", 1)
    time.sleep(OUTAGE_SECONDS)
    still_running = {"daphne": daphne.alive(), "poller": poller.alive()}
    redis_server.start()

    after = wait_until(
        lambda: (response := submit_job(api, "after-restart", 1)).status_code == 201 and response,
        timeout=30, interval=1.0, message="a submission accepted after the restart",
    )
    job_ids.append(after.json()["job_id"])

    assert still_running == {"daphne": True, "poller": True}, system.logs()
    assert rejected.status_code == 503, rejected.text
    assert rejected.json()["error"] == "service_unavailable"
    wait_until(
        lambda: set(system.job_states(job_ids).values()) == {"COMPLETED"},
        timeout=90, message=f"every accepted job COMPLETED in the database ({system.job_states(job_ids)})",
    )
    wait_until(
        lambda: all(shown_states(page).get(job_id) == "COMPLETED" for job_id in job_ids),
        timeout=60, message=f"every accepted job COMPLETED on the page ({shown_states(page)})",
    )
    assert snapshots(page) > snapshots_before
    assert page.locator("#connection-state").get_attribute("data-state") == "live"
    assert daphne.alive(), system.logs()
    assert poller.alive(), system.logs()
