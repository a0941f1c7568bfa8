// Injected by consentd scan into every document before its own scripts
// (Page.addScriptToEvaluateOnNewDocument): it reports each cookie and
// storage key a script writes, with the caller's stack, to the binding
// __consentdScan (Runtime.addBinding). The writes themselves go through
// unchanged. recorder.go reads the reports; stackScript picks the script.
(() => {
  const send = window.__consentdScan;
  if (typeof send !== "function" || window.__consentdScanOn) return;
  Object.defineProperty(window, "__consentdScanOn", { value: true });
  // report(kind, name) is called by a wrapper: the stack's first line is
  // "Error", the next two are report and the wrapper, then the caller.
  const report = (kind, name) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 32;
    const stack = (new Error().stack || "").split("\n").slice(3).join("\n");
    Error.stackTraceLimit = limit;
    try {
      send(JSON.stringify({ kind: kind, name: String(name), stack: stack, page: location.href, origin: location.origin }));
    } catch (e) { /* never break the page */ }
  };
  // deletes: the assignment removes the cookie (Max-Age <= 0 or an
  // Expires in the past), as the widget does on withdrawal.
  const deletes = (v) => {
    const age = /;\s*max-age\s*=\s*(-?\d+)/i.exec(v);
    if (age) return Number(age[1]) <= 0;
    const exp = /;\s*expires\s*=\s*([^;]+)/i.exec(v);
    return !!exp && Date.parse(exp[1]) <= Date.now();
  };
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  if (cookie && cookie.set) {
    Object.defineProperty(Document.prototype, "cookie", {
      configurable: true,
      enumerable: cookie.enumerable,
      get: cookie.get,
      set(v) {
        if (!deletes(String(v))) report("script", String(v).split(";")[0].split("=")[0].trim());
        return cookie.set.call(this, v);
      },
    });
  }
  if (window.CookieStore && CookieStore.prototype.set) {
    const set = CookieStore.prototype.set;
    CookieStore.prototype.set = function (a) {
      report("cookieStore", typeof a === "string" ? a : a && a.name);
      return set.apply(this, arguments);
    };
  }
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (k) {
    let kind = "sessionStorage";
    try { if (this === window.localStorage) kind = "localStorage"; } catch (e) { /* storage denied */ }
    report(kind, k);
    return setItem.apply(this, arguments);
  };
})();
