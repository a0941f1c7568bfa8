// Demo page script: shows the visitor's consent state, the tags that ran,
// the page's cookies and the Consent Mode commands, and reopens the banner.
//
// Loaded as /demo.js?tag=NAME it is instead a stand-in for a third-party tag
// that the widget runs only with consent (see the text/plain scripts in
// index.html): it marks itself as run, and the analytics one sets cookies
// named like Matomo's.
(function () {
  "use strict";
  var me = document.currentScript;
  var tag = me && me.src ? new URL(me.src).searchParams.get("tag") : null;
  if (tag) {
    (window.demoTags = window.demoTags || []).push(tag);
    if (tag === "analytics") {
      var id = Math.random().toString(16).slice(2, 10);
      document.cookie = "_pk_id.1.demo=" + id + "; Path=/; Max-Age=34128000; SameSite=Lax";
      document.cookie = "_pk_ses.1.demo=1; Path=/; Max-Age=1800; SameSite=Lax";
    }
    document.dispatchEvent(new CustomEvent("demo:tag", { detail: tag }));
    return;
  }

  function text(id, s) {
    var el = document.getElementById(id);
    if (el) el.textContent = s;
  }
  function renderState(state) {
    if (!state) { text("state", "No decision yet."); return; }
    var granted = Object.keys(state.c || {}).filter(function (k) { return state.c[k]; });
    text("state", "Consent ID " + state.id + " · allowed: " + (granted.join(", ") || "nothing") +
      " · decided " + new Date(state.t * 1000).toLocaleString());
  }
  function renderTags() {
    var ran = window.demoTags || [];
    var items = document.querySelectorAll("#tags [data-tag]");
    for (var i = 0; i < items.length; i++) {
      var name = items[i].getAttribute("data-tag");
      items[i].textContent = name.charAt(0).toUpperCase() + name.slice(1) + " tag: " +
        (ran.indexOf(name) >= 0 ? "ran" : "not run");
    }
  }
  function renderCookies() {
    var names = document.cookie.split(";").map(function (c) { return c.split("=")[0].trim(); })
      .filter(function (n) { return n; });
    text("cookies", names.join(", ") || "none");
  }
  // gtag pushes its arguments object: Array.from makes it a list.
  function renderConsentMode() {
    var lines = (window.dataLayer || []).map(function (e) {
      return e && typeof e === "object" && typeof e.length === "number" ? Array.from(e) : null;
    }).filter(function (e) { return e && e[0] === "consent"; }).map(function (e) {
      var args = e[2] || {};
      return e[0] + " " + e[1] + ": " + Object.keys(args).map(function (k) { return k + " " + args[k]; }).join(", ");
    });
    text("gcm", lines.join("\n") || "No Consent Mode commands yet.");
  }
  function current() {
    return window.consentd && typeof window.consentd.get === "function" ? window.consentd.get() : null;
  }
  function renderAll(state) {
    renderState(state === undefined ? current() : state);
    renderTags();
    renderCookies();
    renderConsentMode();
  }
  // After the widget's own listeners (Consent Mode, blocking) have run.
  document.addEventListener("consentd:change", function (e) {
    setTimeout(function () { renderAll(e.detail); }, 0);
  });
  document.addEventListener("demo:tag", function () { renderTags(); renderCookies(); });
  document.addEventListener("DOMContentLoaded", function () {
    renderAll();
    document.getElementById("reopen").addEventListener("click", function () {
      if (window.consentd && window.consentd.show) window.consentd.show();
    });
  });
  window.addEventListener("load", function () { renderAll(); });
})();
