"""A researcher uses the writer, scholar and vis pages and sees each result arrive without a reload."""

import pytest

from tests.e2e.conftest import log_in
from tests.fakes.pdfs import make_pdf
from tests.integration.celery_worker import running_worker

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def system_with_worker(live_system, tmp_path_factory):
    """The live system plus a Celery worker with its settings, on the offline providers."""
    log_path = tmp_path_factory.mktemp("e2e-worker") / "worker.log"
    with running_worker(dict(live_system.env), log_path):
        yield live_system


def test_results_arrive_live_on_each_page(system_with_worker, browser, tmp_path):
    system = system_with_worker
    page = browser.new_page()
    log_in(page, system, "demo")
    navigations = []

    page.goto(f"{system.base_url}/writer/")
    page.wait_for_selector("#connection-state[data-state=live]", timeout=10_000)
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.fill("#suggest-form textarea[name=text]", "This result is very good. It holds for every user.")
    page.click("#suggest-form button[type=submit]")
    page.wait_for_selector("#suggest-result .ok", timeout=10_000)
    suggestion = page.locator("#task-list .task[data-kind=ai_suggest][data-state=SUCCESS]")
    suggestion.wait_for(timeout=20_000)
    assert "offline provider" in suggestion.inner_text()
    assert "Replace 'very' with a more precise word." in suggestion.inner_text()
    page.screenshot(path=str(tmp_path / "writer.png"), full_page=True)
    assert navigations == []

    page.goto(f"{system.base_url}/scholar/")
    page.wait_for_selector("#connection-state[data-state=live]", timeout=10_000)
    navigations.clear()
    page.fill("#search-form input[name=query]", "fair share scheduler")
    page.click("#search-form button[type=submit]")
    results = page.locator("#task-list .task[data-kind=paper_search][data-state=SUCCESS]")
    results.wait_for(timeout=20_000)
    assert "A Fair Share Scheduler" in results.inner_text()
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(make_pdf(text="Shared clusters", pages=3))
    page.set_input_files("#pdf-form input[name=file]", str(pdf))
    page.click("#pdf-form button[type=submit]")
    processed = page.locator("#task-list .task[data-kind=pdf_process][data-state=SUCCESS]")
    processed.wait_for(timeout=20_000)
    assert processed.locator(".pdf-pages").inner_text() == "3"
    page.screenshot(path=str(tmp_path / "scholar.png"), full_page=True)
    assert navigations == []

    page.goto(f"{system.base_url}/vis/")
    page.wait_for_selector("#connection-state[data-state=live]", timeout=10_000)
    navigations.clear()
    page.click("#figure-form button[type=submit]")
    row = page.locator("#figure-list .figure-row").first
    row.wait_for(timeout=10_000)
    row.locator("button[type=submit]").click()
    image = page.locator("#task-list .task[data-kind=figure_export][data-state=SUCCESS] img.figure")
    image.wait_for(timeout=20_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=10_000)
    page.screenshot(path=str(tmp_path / "vis.png"), full_page=True)
    assert navigations == []
