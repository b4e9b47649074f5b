"""What fault tests read from a dashboard open in Chromium."""

# Counts the snapshots the page received and the times it opened a socket,
# from the events that htmx's WebSocket extension fires.
TRACKING_SCRIPT = """
window.faultLog = {snapshots: 0, connecting: []};
document.addEventListener("htmx:wsConnecting", function () {
  window.faultLog.connecting.push(Date.now());
});
document.addEventListener("htmx:wsBeforeMessage", function (event) {
  if (event.detail.message.indexOf('id="job-rows"') !== -1) {
    window.faultLog.snapshots += 1;
  }
});
"""


def open_dashboard(browser, system, log_in):
    page = browser.new_page()
    page.add_init_script(TRACKING_SCRIPT)
    log_in(page, system, "demo")
    page.wait_for_selector("#connection-state[data-state=live]", timeout=15_000)
    return page


def shown_states(page):
    """Return {job id: state} of the rows the page shows."""
    rows = page.evaluate(
        "Array.from(document.querySelectorAll('#job-rows tr[id^=job-]')).map(r => [r.id, r.dataset.state])"
    )
    return {int(row_id.removeprefix("job-")): state for row_id, state in rows}


def snapshots(page):
    return page.evaluate("window.faultLog.snapshots")


def socket_attempts(page):
    """Return the times (ms since the epoch) at which the page started opening a socket."""
    return page.evaluate("window.faultLog.connecting")
