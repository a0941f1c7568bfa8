// Demo page script: shows the visitor's consent state and reopens the banner.
(function () {
  "use strict";
  function render(state) {
    var el = document.getElementById("state");
    if (!el) return;
    if (!state) { el.textContent = "No decision yet."; return; }
    var granted = Object.keys(state.c || {}).filter(function (k) { return state.c[k]; });
    el.textContent = "Consent ID " + state.id + " · allowed: " + (granted.join(", ") || "nothing") +
      " · decided " + new Date(state.t * 1000).toLocaleString();
  }
  function current() {
    return window.consentd && typeof window.consentd.get === "function" ? window.consentd.get() : null;
  }
  document.addEventListener("consentd:change", function (e) { render(e.detail); });
  document.addEventListener("DOMContentLoaded", function () {
    render(current());
    document.getElementById("reopen").addEventListener("click", function () {
      if (window.consentd && window.consentd.show) window.consentd.show();
    });
  });
  window.addEventListener("load", function () { render(current()); });
})();
