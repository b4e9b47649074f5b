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

  // Every pushed message carries the stream's sequence number. The channel
  // layer delivers at most once, so a skipped number means a lost event. A
  // number at or below the last one means an event older than the snapshot,
  // or a Redis restart that reset the counters and lost the events sent
  // while it was down. Either way, ask once for a fresh snapshot, which
  // carries the current number.
  var lastSeq = null;
  var snapshotRequested = false;
  var SEQ_PATTERN = /id="stream-seq" data-seq="(\d+)"/;
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var match = SEQ_PATTERN.exec(event.detail.message);
    if (!match) {
      return;
    }
    var seq = Number(match[1]);
    if (event.detail.message.indexOf('id="job-rows"') !== -1) {
      lastSeq = seq;
      snapshotRequested = false;
      return;
    }
    if (lastSeq !== null && seq !== lastSeq + 1 && !snapshotRequested) {
      snapshotRequested = true;
      event.detail.socketWrapper.send(JSON.stringify({action: "snapshot"}));
    }
    if (lastSeq === null || seq > lastSeq) {
      lastSeq = seq;
    }
  });
  // The ws extension retries by itself only after abnormal closes (1006,
  // 1011-1013). A server that restarts cleanly closes with 1001, so retry
  // those too, with the same full-jitter backoff. Codes 4000 and up are
  // the server's refusals (signed out, not allowed) and are final.
  var retries = 0;
  document.addEventListener("htmx:wsOpen", function () { retries = 0; });
  document.addEventListener("htmx:wsClose", function (event) {
    lastSeq = null;
    snapshotRequested = false;
    var code = event.detail.event.code;
    if ([1006, 1011, 1012, 1013].indexOf(code) !== -1 || code >= 4000) {
      return;
    }
    var delay = 1000 * Math.pow(2, Math.min(retries, 6)) * Math.random();
    retries += 1;
    setTimeout(function () { event.detail.socketWrapper.reconnect(); }, delay);
  });

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
