"""A staff user watches another user's job appear and run on the fairness console, without a reload."""

import json
import re
import urllib.request

import pytest

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

SCRIPT = "import time\ntime.sleep(3)\nprint('done')\n"


def api_token(system, username):
    output = system.manage("setup_demo").stdout
    match = re.search(rf"API token for {username}: (\w+)", output)
    assert match, output
    return match.group(1)


def submit_as(system, token, name):
    request = urllib.request.Request(
        f"{system.base_url}/code/api/jobs/submit/",
        data=json.dumps({"name": name, "script": SCRIPT, "cpus": 2, "time_limit": "5"}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return json.loads(response.read())


def test_console_shows_other_users_job_live(live_system, browser, tmp_path):
    token = api_token(live_system, "demo")
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    log_in(page, live_system, "admin")
    page.goto(f"{live_system.base_url}/console/")
    page.wait_for_selector("#connection-state[data-state=live]", timeout=15_000)
    page.wait_for_selector("#console-fairness dl.figures", timeout=15_000)
    assert page.locator("#console-audit tr.empty").inner_text() == "No console actions yet."
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    job = submit_as(live_system, token, "console-e2e")

    row = page.locator("#console-users tr[data-username=demo]")
    row.wait_for(timeout=15_000)
    event = page.locator(f"#console-events li[data-job='{job['job_id']}']").first
    event.wait_for(timeout=15_000)
    assert "console-e2e" in event.inner_text()
    assert "demo" in event.inner_text()
    row.locator("td.running", has_text="1 / 10").wait_for(timeout=20_000)
    page.locator(f"#console-events li[data-job='{job['job_id']}'][data-state=RUNNING]").wait_for(timeout=20_000)
    page.locator(f"#console-events li[data-job='{job['job_id']}'][data-state=COMPLETED]").wait_for(timeout=30_000)
    row.locator("td.submitted", has_text="0 / 20").wait_for(timeout=10_000)
    assert navigations == []
    page.screenshot(path=str(tmp_path / "console.png"), full_page=True)


def test_console_forbidden_for_researcher(live_system, browser):
    page = browser.new_page()
    log_in(page, live_system, "demo")

    response = page.goto(f"{live_system.base_url}/console/")

    assert response.status == 403
    assert page.locator("a[href='/console/']").count() == 0
