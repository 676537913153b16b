// marginlab dashboard: live account and positions over server-sent events. No framework, no build step.
// The server sends the page's own texts (formatted there), so this script only swaps them in place.
(function () {
  "use strict";
  var root = document.getElementById("live-root");
  if (!root || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var keys = root.getAttribute("data-keys");

  function setStatus(state, text) {
    if (status) { status.setAttribute("data-state", state); status.textContent = text; }
  }

  function fill(scope, fields) {
    Object.keys(fields).forEach(function (name) {
      scope.querySelectorAll('[data-live="' + name + '"]').forEach(function (el) {
        if (el.textContent !== fields[name]) { el.textContent = fields[name]; }
      });
    });
  }

  // a form being filled in is never thrown away by a reload
  function busy() {
    var el = document.activeElement;
    if (el && (el.tagName === "INPUT" || el.tagName === "SELECT")) { return true; }
    return Array.prototype.some.call(document.querySelectorAll("input[type=text]"), function (i) {
      return i.value !== "";
    });
  }

  var source = new EventSource(root.getAttribute("data-live-url"));
  source.onopen = function () { setStatus("on", "live"); };
  source.onerror = function () { setStatus("off", "reconnecting…"); };
  source.addEventListener("signedout", function () { source.close(); window.location.assign("/signin"); });
  source.onmessage = function (event) {
    var snap = JSON.parse(event.data);
    setStatus("on", "live");
    fill(document, snap.fields);
    Object.keys(snap.positions).forEach(function (key) {
      var row = document.getElementById("pos-" + key);
      if (!row) { return; }
      var pos = snap.positions[key];
      fill(row, pos.fields);
      row.classList.toggle("danger", pos.level !== "ok");
    });
    var gauge = document.getElementById("gauge");
    if (gauge) {
      gauge.setAttribute("data-level", snap.gauge.level);
      gauge.setAttribute("aria-valuetext", snap.fields.ratio);
      gauge.querySelector(".fill").style.width = snap.gauge.width;
    }
    if (snap.keys !== keys) {
      // a position opened, closed or was liquidated: the rows themselves change
      if (!busy()) { window.location.reload(); }
      else { setStatus("on", "positions changed: reload the page to see them"); }
    }
  };
})();
