// Fairness console behaviour that htmx does not cover: the connection badge,
// a bounded live event feed and removing placeholder rows once real ones arrive.
(function () {
  "use strict";

  var MAX_EVENTS = 100;

  function setConnection(state, text) {
    var badge = document.getElementById("connection-state");
    if (badge) {
      badge.dataset.state = state;
      badge.textContent = text;
    }
  }

  function tidy() {
    if (document.querySelector("#console-users tr[id^='console-user-']")) {
      document.querySelectorAll("#console-users tr.empty").forEach(function (row) { row.remove(); });
    }
    var events = document.getElementById("console-events");
    if (!events) {
      return;
    }
    if (events.querySelector("li[data-job]")) {
      events.querySelectorAll("li.empty").forEach(function (item) { item.remove(); });
    }
    var items = events.querySelectorAll("li[data-job]");
    for (var index = MAX_EVENTS; index < items.length; index++) {
      items[index].remove();
    }
  }

  document.addEventListener("htmx:wsOpen", function () { setConnection("live", "live"); });
  document.addEventListener("htmx:wsClose", function () { setConnection("offline", "reconnecting…"); });
  document.addEventListener("htmx:wsError", function () { setConnection("offline", "reconnecting…"); });
  document.addEventListener("htmx:oobAfterSwap", tidy);
})();
