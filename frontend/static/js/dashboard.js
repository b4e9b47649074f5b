// Live dashboard behaviour that htmx does not cover: the connection badge,
// the elapsed-time clock and small tidy-ups after pushed fragments.
(function () {
  "use strict";

  function setConnection(state, text) {
    var badge = document.getElementById("connection-state");
    if (badge) {
      badge.dataset.state = state;
      badge.textContent = text;
    }
  }

  function formatDuration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var mm = String(m).padStart(2, "0");
    var ss = String(s).padStart(2, "0");
    return h > 0 ? h + ":" + mm + ":" + ss : m + ":" + ss;
  }

  function refreshElapsed() {
    var now = Date.now();
    document.querySelectorAll("td.elapsed").forEach(function (cell) {
      var limit = cell.dataset.limit + " min";
      if (!cell.dataset.start) {
        cell.textContent = "– / " + limit;
        return;
      }
      var start = Date.parse(cell.dataset.start);
      var end = cell.dataset.end ? Date.parse(cell.dataset.end) : now;
      cell.textContent = formatDuration((end - start) / 1000) + " / " + limit;
    });
  }

  // A meter carries the quota as it was when pushed; between pushes it refills
  // on the client at the policy's rate, the same way the limiter computes it.
  function refreshMeters() {
    var now = Date.now();
    document.querySelectorAll(".meter[data-refill]").forEach(function (meter) {
      if (!meter.dataset.received) {
        meter.dataset.received = String(now);
      }
      var passed = (now - Number(meter.dataset.received)) / 1000;
      var limit = Number(meter.dataset.limit);
      var refill = Number(meter.dataset.refill);
      var resetIn = Math.max(Number(meter.dataset.resetIn) - passed, 0);
      var remaining = Math.min(limit, Math.floor((limit * refill - resetIn) / refill + 1e-9));
      remaining = Math.max(remaining, Number(meter.dataset.remaining));
      meter.querySelector(".remaining").textContent = remaining;
      meter.querySelector("progress").value = remaining;
      meter.querySelector(".reset").textContent = resetIn > 0 ? "full again in " + Math.ceil(resetIn) + " s" : "full";
    });
  }

  document.addEventListener("htmx:wsOpen", function () { setConnection("live", "live"); });
  document.addEventListener("htmx:wsClose", function () { setConnection("offline", "reconnecting…"); });
  document.addEventListener("htmx:wsError", function () { setConnection("offline", "reconnecting…"); });
  document.addEventListener("htmx:oobAfterSwap", function () {
    var rows = document.querySelectorAll("#job-rows tr[id^='job-']");
    if (rows.length) {
      document.querySelectorAll("#job-rows tr.empty").forEach(function (row) { row.remove(); });
    }
    refreshElapsed();
    refreshMeters();
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "submit-form" && event.detail.xhr.status === 201) {
      form.reset();
    }
  });
  setInterval(function () { refreshElapsed(); refreshMeters(); }, 1000);
})();
