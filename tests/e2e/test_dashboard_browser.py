"""A researcher submits a script from the dashboard form and watches it finish live."""

import pytest

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

SCRIPT = "import time\ntime.sleep(2)\nprint('total', sum(range(101)))\n"


def test_submitted_job_reaches_completed_without_reload(live_system, browser, tmp_path):
    script = tmp_path / "count.py"
    script.write_text(SCRIPT)
    page = browser.new_page()
    log_in(page, live_system, "demo")
    page.wait_for_selector("#connection-state[data-state=live]", timeout=10_000)
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    page.set_input_files("input[name=script_file]", str(script))
    page.fill("input[name=name]", "count")
    page.click("#submit-form button[type=submit]")

    page.wait_for_selector("#submit-result .ok", timeout=10_000)
    row = page.locator("#job-rows tr", has_text="count")
    row.locator("td.state", has_text="RUNNING").wait_for(timeout=20_000)
    row.locator("td.state", has_text="COMPLETED").wait_for(timeout=30_000)
    assert row.locator("td").nth(6).inner_text() == "0"
    row.get_by_role("button", name="Output").click()
    page.locator("#job-output pre").first.wait_for(timeout=10_000)
    assert page.locator("#job-output pre").first.inner_text().strip() == "total 5050"
    assert navigations == []
    page.screenshot(path=str(tmp_path / "dashboard.png"))


def test_form_shows_field_errors(live_system, browser):
    page = browser.new_page()
    log_in(page, live_system, "demo")

    page.fill("textarea[name=script]", "print(1)")
    page.fill("input[name=cpus]", "99")
    page.evaluate("document.querySelector('input[name=cpus]').removeAttribute('max')")
    page.click("#submit-form button[type=submit]")

    error = page.locator("#submit-result .error li[data-field=cpus]")
    error.wait_for(timeout=10_000)
    assert error.inner_text() == "cpus must be from 1 to 16; got 99."
