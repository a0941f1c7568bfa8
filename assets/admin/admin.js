// consentd controller dashboard: sign in with an admin token, see the
// token's sites side by side (when it grants several) and, for the site
// chosen, decisions and opt-in rates and the recorded scans; export the
// log, look up a consent ID.
// No framework, no external requests; every value from the server is put
// into the page with textContent, never as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY = "consentd.admin";
  const COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"];
  // auth: {token, site}: the token and the site whose details are shown.
  let auth = JSON.parse(sessionStorage.getItem(KEY) || "null");
  // sites: the token's sites as GET /v1/sites last listed them.
  let sites = [];

  const el = (tag, text, attrs) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  };
  const svg = (tag, attrs, text) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const day = (d) => d.toISOString().slice(0, 10);
  const pct = (r) => (r === null || r === undefined ? "–" : Math.round(r * 1000) / 10 + " %");

  // api requests a path of the site shown: /v1/sites/{site}{path}.
  const api = (path) => request("/v1/sites/" + encodeURIComponent(auth.site) + path);

  async function request(url) {
    const res = await fetch(url, {
      headers: { Authorization: "Bearer " + auth.token },
      cache: "no-store",
    });
    if (res.status === 401 || res.status === 403) {
      signOut("The token was refused (" + res.status + "). Sign in again.");
      throw new Error("signed out");
    }
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try {
        const body = await res.json();
        msg = body.error + (body.field ? " (" + body.field + ")" : "");
      } catch (_) { /* not JSON */ }
      throw new Error(msg);
    }
    return res;
  }

  function show(signedIn) {
    $("signin").hidden = signedIn;
    $("app").hidden = !signedIn;
    $("signout").hidden = !signedIn;
    $("who").hidden = !signedIn;
    if (!signedIn) $("who").textContent = "";
  }

  function signOut(msg) {
    auth = null;
    sites = [];
    sessionStorage.removeItem(KEY);
    show(false);
    $("signin-error").textContent = msg || "";
    $("token").value = "";
  }

  const save = () => sessionStorage.setItem(KEY, JSON.stringify(auth));

  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    auth = { token: $("token").value.trim(), site: null };
    $("signin-error").textContent = "";
    setPeriod();
    let o;
    try {
      o = await (await request("/v1/sites" + rangeQuery())).json();
    } catch (err) {
      if (auth) $("signin-error").textContent = err.message;
      return;
    }
    if (!o.sites.length) {
      signOut("The token grants no site of this server.");
      return;
    }
    auth.site = o.sites[0].site;
    save();
    $("token").value = "";
    show(true);
    overview(o);
    loadSite();
  });
  $("signout").addEventListener("click", () => signOut());

  // setPeriod fills in the period when it is empty: the last 30 days.
  function setPeriod() {
    if (!$("from").value) $("from").value = day(new Date(Date.now() - 29 * 864e5));
    if (!$("to").value) $("to").value = day(new Date());
  }
  const rangeQuery = () => "?from=" + $("from").value + "&to=" + $("to").value;

  function start() {
    show(true);
    setPeriod();
    load();
  }

  $("range-form").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });

  // load shows the period: the overview of the token's sites, then the
  // details of the site chosen.
  async function load() {
    $("range-error").textContent = "";
    try {
      overview(await (await request("/v1/sites" + rangeQuery())).json());
    } catch (err) {
      if (auth) $("range-error").textContent = err.message;
      return;
    }
    if (!auth.site) {
      signOut("The token grants no site of this server.");
      return;
    }
    await loadSite();
  }

  // loadSite shows the details of auth.site for the period.
  async function loadSite() {
    $("range-error").textContent = "";
    let r;
    try {
      r = await (await api("/stats" + rangeQuery() + "&granularity=" + $("granularity").value)).json();
    } catch (err) {
      $("range-error").textContent = err.message;
      return;
    }
    totals(r.totals);
    chart(r);
    countries(r.totals.countries);
    await scans();
  }

  // scans lists the site's recorded scans (GET /v1/sites/{site}/scans):
  // when, what, the pages and violations, and the report's SHA-256; the
  // newest scanPage, then a page more with each "Show older scans".
  const scanPage = 20;
  async function scans(before) {
    $("scans-error").textContent = "";
    let r;
    try {
      r = await (await api("/scans?limit=" + scanPage + (before ? "&before=" + encodeURIComponent(before) : ""))).json();
    } catch (err) {
      $("scans-error").textContent = err.message;
      if (!before) $("scans").replaceChildren();
      else $("scans-more").onclick = () => scans(before); // try again
      return;
    }
    const box = $("scans");
    if (!before) {
      box.replaceChildren();
      if (!r.scans.length) box.append(el("p", "No scan recorded for this site yet."));
    }
    let table = box.querySelector("table.scans");
    if (!table && r.scans.length) {
      table = el("table", null, { class: "scans" });
      const head = el("tr");
      for (const c of ["Recorded (UTC)", "Address", "Pages", "Violations", "Complete", "Report SHA-256", "Seq"]) {
        head.append(el("th", c, { scope: "col", class: ["Pages", "Violations", "Seq"].includes(c) ? "num" : "" }));
      }
      table.append(el("thead"), el("tbody"));
      table.tHead.append(head);
      box.append(table);
    }
    for (const x of r.scans) {
      const s = x.scan;
      const tr = el("tr");
      tr.append(el("td", x.time), el("td", s.url, { class: "mono" }), el("td", s.pages, { class: "num" }),
        el("td", s.violations, { class: s.violations ? "num bad" : "num" }), el("td", s.complete ? "yes" : "no"),
        el("td", s.report_sha256.slice(0, 16) + "…", { class: "mono", title: s.report_sha256 }), el("td", x.seq, { class: "num" }));
      table.tBodies[0].append(tr);
    }
    if (r.unverified && r.unverified.length) {
      // Entries the scans index names that are not scan records of the
      // signed chain: never listed as scans (docs/proof.md).
      const warn = el("div", null, { class: "error", role: "alert" });
      warn.append(el("p", r.unverified.length + " entry(ies) of the scans index are not scan records of the signed chain:"));
      const list = el("ul");
      for (const u of r.unverified) list.append(el("li", u.stream_id + ": " + u.reason, { class: "mono" }));
      warn.append(list);
      box.append(warn);
    }
    // How many are shown, and a page more while there are older ones.
    const shown = table ? table.tBodies[0].rows.length : 0;
    $("scans-count").textContent = r.total ? shown + " of " + r.total + " scans shown" : "";
    // The button keeps the focus while pages follow; after the last one
    // the focus goes to the table's region.
    const more = $("scans-more");
    const focused = document.activeElement === more;
    more.hidden = !r.next;
    if (focused && more.hidden) box.focus();
    let asked = false; // one page per click, however fast the clicks
    more.onclick = () => {
      if (!asked) scans(r.next);
      asked = true;
    };
  }

  // overview takes GET /v1/sites: the site switcher and, for a token of
  // several sites, a table of them side by side.
  function overview(o) {
    sites = o.sites;
    if (!sites.some((x) => x.site === auth.site)) {
      auth.site = sites.length ? sites[0].site : null;
      save();
    }
    const several = sites.length > 1;
    $("overview").hidden = !several;
    $("switcher").hidden = !several;
    $("who").textContent = several ? o.token + ": " + sites.length + " sites" : "Site: " + auth.site;
    const sel = $("site-select");
    sel.replaceChildren(...sites.map((x) => el("option", x.name + " (" + x.site + ")", { value: x.site })));
    sel.value = auth.site;
    if (!several) return;

    // One column per optional category of any of the sites, in the order met.
    const cats = [];
    for (const x of sites) for (const c of x.categories) if (!cats.includes(c)) cats.push(c);
    const table = el("table", null, { class: "overview", "aria-describedby": "overview-note" });
    table.append(el("colgroup", null, { span: 4 }), el("colgroup", null, { span: cats.length }), el("thead"), el("tbody"));
    const group = el("tr");
    group.append(el("td", null, { colspan: 4 }), el("th", "Opt-in rate", { scope: "colgroup", colspan: cats.length }));
    const head = el("tr");
    head.append(el("th", "Site", { scope: "col" }));
    for (const h of ["Decisions", "Accept all", "Reject all", ...cats]) head.append(el("th", h, { scope: "col", class: "num" }));
    table.tHead.append(group, head);
    for (const x of sites) {
      const tr = el("tr");
      const name = el("th", null, { scope: "row" });
      const b = el("button", x.name, { type: "button", class: "link", "data-site": x.site });
      b.addEventListener("click", () => choose(x.site));
      name.append(b, el("span", x.site, { class: "mono id" }));
      tr.append(name);
      for (const v of [x.totals.decisions, x.totals.acceptAll, x.totals.rejectAll]) tr.append(el("td", v, { class: "num" }));
      for (const c of cats) tr.append(el("td", pct(x.totals.optIn[c] && x.totals.optIn[c].rate), { class: "num" }));
      table.tBodies[0].append(tr);
    }
    $("overview-table").replaceChildren(table);
    $("overview-note").textContent = o.from + " to " + o.to + ". Opt-in rate: the share of decisions that granted an " +
      "optional category. –: no decisions in the period, or the site has no such category.";
    mark();
  }

  // mark shows which row of the overview is the site chosen.
  function mark() {
    for (const b of document.querySelectorAll("#overview-table button[data-site]")) {
      const on = b.dataset.site === auth.site;
      b.closest("tr").classList.toggle("current", on);
      if (on) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
  }

  // choose shows the details of another of the token's sites.
  function choose(site) {
    if (site === auth.site) return;
    auth.site = site;
    save();
    $("site-select").value = site;
    mark();
    $("lookup").replaceChildren();
    $("lookup-error").textContent = "";
    $("export-status").textContent = "";
    loadSite();
  }
  $("site-select").addEventListener("change", (e) => choose(e.target.value));

  function totals(t) {
    const box = $("totals");
    box.replaceChildren();
    for (const [label, v] of [
      ["Decisions", t.decisions], ["Accept all", t.acceptAll], ["Reject all", t.rejectAll],
      ["Custom", t.custom], ["GPC", t.gpc], ["Withdrawals", t.withdrawals],
    ]) {
      const d = el("div");
      d.append(el("dt", label), el("dd", v));
      box.append(d);
    }
  }

  // chart draws the opt-in rate of each optional category per period as
  // an inline SVG line chart, plus the same numbers as a table.
  function chart(r) {
    const W = 720, H = 300, L = 48, R = 12, T = 12, B = 36;
    const n = r.periods.length;
    const x = (i) => L + (n < 2 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
    const y = (v) => T + (1 - v) * (H - T - B);
    const s = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": "chart-title chart-desc" });
    s.append(svg("title", { id: "chart-title" }, "Opt-in rate per category, " + r.from + " to " + r.to));
    s.append(svg("desc", { id: "chart-desc" }, "Share of decisions that granted each optional category, per " + r.granularity + ". The table below has the numbers."));
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      s.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      s.append(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, v * 100 + " %"));
    }
    const ticks = n < 2 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];
    for (const i of ticks) {
      if (i < n) s.append(svg("text", { x: x(i), y: H - 12, "text-anchor": "middle" }, r.periods[i].start));
    }
    const legend = el("ul", null, { class: "legend" });
    r.categories.forEach((cat, ci) => {
      const color = COLORS[ci % COLORS.length];
      let d = "";
      let pen = "M";
      r.periods.forEach((p, i) => {
        const rate = p.optIn[cat] && p.optIn[cat].rate;
        if (rate === null || rate === undefined) {
          pen = "M";
          return;
        }
        d += pen + x(i).toFixed(1) + " " + y(rate).toFixed(1) + " ";
        pen = "L";
        s.append(svg("circle", { cx: x(i), cy: y(rate), r: 3, fill: color }));
      });
      if (d) s.append(svg("path", { class: "line", d, stroke: color, "data-category": cat }));
      const li = el("li");
      const sw = el("span", null, { class: "swatch" });
      sw.style.background = color; // CSSOM, allowed by the page's CSP (a style attribute would not be)
      li.append(sw, document.createTextNode(cat + " " + pct(r.totals.optIn[cat] && r.totals.optIn[cat].rate)));
      legend.append(li);
    });
    $("chart").replaceChildren(s, legend);

    const table = el("table");
    const head = el("tr");
    head.append(el("th", "Period", { scope: "col" }), el("th", "Decisions", { scope: "col" }));
    for (const cat of r.categories) head.append(el("th", cat, { scope: "col" }));
    table.append(el("thead"), el("tbody"));
    table.tHead.append(head);
    for (const p of r.periods) {
      const tr = el("tr");
      tr.append(el("th", p.start === p.end ? p.start : p.start + " – " + p.end, { scope: "row" }), el("td", p.decisions));
      for (const cat of r.categories) tr.append(el("td", pct(p.optIn[cat] && p.optIn[cat].rate)));
      table.tBodies[0].append(tr);
    }
    $("chart-table").replaceChildren(table);
  }

  function countries(c) {
    const list = $("countries");
    list.replaceChildren();
    const top = Object.keys(c).sort((a, b) => c[b] - c[a] || (a < b ? -1 : 1)).slice(0, 10);
    if (!top.length) list.append(el("li", "No decisions in this period."));
    for (const code of top) list.append(el("li", (code === "unknown" ? "unknown" : code) + ": " + c[code]));
  }

  $("export-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = $("export-status");
    status.textContent = "Exporting…";
    const q = "?from=" + $("from").value + "&to=" + $("to").value + "&format=" + $("format").value;
    try {
      const res = await api("/consents" + q);
      const blob = await res.blob();
      const cd = res.headers.get("Content-Disposition") || "";
      const m = /filename="([^"]+)"/.exec(cd);
      const a = el("a", null, { href: URL.createObjectURL(blob), download: m ? m[1] : "consents." + $("format").value });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      status.textContent = "Downloaded " + (m ? m[1] : "the export") + " (" + blob.size + " bytes).";
    } catch (err) {
      status.textContent = "Export failed: " + err.message;
    }
  });

  $("lookup-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("lookup-error").textContent = "";
    $("lookup").replaceChildren();
    let h;
    try {
      h = await (await api("/consents/" + encodeURIComponent($("consent-id").value.trim()))).json();
    } catch (err) {
      $("lookup-error").textContent = err.message;
      return;
    }
    const table = el("table");
    const head = el("tr");
    for (const c of ["Time (UTC)", "Method", "Choices", "Notice shown", "Language", "Page"]) head.append(el("th", c, { scope: "col" }));
    table.append(el("thead"), el("tbody"));
    table.tHead.append(head);
    for (const rec of h.records) {
      const tr = el("tr");
      const choices = Object.keys(rec.choices).sort().map((k) => k + ": " + (rec.choices[k] ? "yes" : "no")).join(", ");
      const notice = el("td");
      notice.append(el("a", rec.notice_version.slice(0, 12) + "…", { href: h.notices[rec.notice_version], class: "mono" }));
      tr.append(el("td", rec.time), el("td", rec.method), el("td", choices), notice, el("td", rec.language), el("td", rec.url, { class: "mono" }));
      table.tBodies[0].append(tr);
    }
    const parts = [el("p", h.records.length + " decision(s), oldest first."), table];
    if (h.unverified && h.unverified.length) {
      // Entries in Redis that are not part of the signed chain: never
      // shown as decisions (docs/proof.md).
      const warn = el("div", null, { class: "error", role: "alert" });
      const one = h.unverified.length === 1;
      warn.append(el("p", h.unverified.length + (one ? " other log entry of this consent ID is" : " other log entries of this consent ID are") +
        " not part of the signed chain (not stored by consentd as they are), so not decisions:"));
      const list = el("ul");
      for (const u of h.unverified) list.append(el("li", u.stream_id + ": " + u.reason, { class: "mono" }));
      warn.append(list);
      parts.push(warn);
    }
    $("lookup").replaceChildren(...parts);
  });

  if (auth) start();
  else show(false);
})();
