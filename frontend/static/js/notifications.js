// Live results of the writer, scholar and vis pages, fed by /ws/notifications/.
// htmx swaps the pushed fragments; this file keeps the connection badge, requests
// a fresh snapshot when an event was lost, reconnects after a clean
// server close and clears file inputs after an accepted upload.
(function () {
  "use strict";

  function setConnection(state, text) {
    var badge = document.getElementById("connection-state");
    if (badge) {
      badge.dataset.state = state;
      badge.textContent = text;
    }
  }

  // Every pushed message ends with the stream's sequence number. The channel
  // layer delivers at most once, so a skipped number means a lost event.
  var lastSeq = null;
  var SEQ_PATTERN = /id="stream-seq" data-seq="(\d+)"/;
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var match = SEQ_PATTERN.exec(event.detail.message);
    if (!match) {
      return;
    }
    var seq = Number(match[1]);
    var isSnapshot = event.detail.message.indexOf('id="task-list"') !== -1;
    if (!isSnapshot && lastSeq !== null && seq > lastSeq + 1) {
      event.detail.socketWrapper.send(JSON.stringify({action: "snapshot"}));
    }
    if (isSnapshot || lastSeq === null || seq > lastSeq) {
      lastSeq = seq;
    }
  });

  // The ws extension retries by itself only after abnormal closes; a server
  // that restarts cleanly closes with 1001. Codes 4000 and up are refusals.
  var retries = 0;
  document.addEventListener("htmx:wsOpen", function () {
    retries = 0;
    setConnection("live", "live");
  });
  document.addEventListener("htmx:wsClose", function (event) {
    lastSeq = null;
    setConnection("offline", "reconnecting…");
    var code = event.detail.event.code;
    if ([1006, 1011, 1012, 1013].indexOf(code) !== -1 || code >= 4000) {
      return;
    }
    var delay = 1000 * Math.pow(2, Math.min(retries, 6)) * Math.random();
    retries += 1;
    setTimeout(function () { event.detail.socketWrapper.reconnect(); }, delay);
  });
  document.addEventListener("htmx:wsError", function () { setConnection("offline", "reconnecting…"); });

  document.addEventListener("htmx:oobAfterSwap", function () {
    var list = document.getElementById("task-list");
    if (list && list.querySelector(".task")) {
      list.querySelectorAll(".empty").forEach(function (note) { note.remove(); });
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    var status = event.detail.xhr.status;
    if (form && form.hasAttribute("data-reset-on-success") && status >= 200 && status < 300) {
      form.reset();
    }
  });
})();
