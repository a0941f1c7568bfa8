// Effective consent: what may run now, from the stored decision, the
// visitor's regional mode (given by the server in front of the bundle,
// docs/geo.md) and the Global Privacy Control signal. The banner, the
// blocking of scripts and Consent Mode all decide from here.
import type { Site, State } from "./types";
import { readState } from "./storage";

/** The visitor's regional mode and country, as the server found them. */
export interface Region {
  /** "opt-in" (default), "opt-out" or "notice". */
  m: string;
  /** ISO country code, "" when unknown. */
  c: string;
}

/**
 * The region the server put in front of the bundle (window.__consentdGeo),
 * else opt-in: the safe default, also for the content-hashed bundle URL,
 * which carries no region.
 */
export function region(): Region {
  const g = (window as unknown as { __consentdGeo?: Region }).__consentdGeo;
  return g && (g.m == "opt-out" || g.m == "notice") ? { m: g.m, c: g.c || "" } : { m: "opt-in", c: (g && g.c) || "" };
}

/** Whether the browser sends the Global Privacy Control signal. */
export const gpc = (): boolean =>
  (navigator as unknown as { globalPrivacyControl?: boolean }).globalPrivacyControl === true;

/**
 * The stored decision if it was made for a current notice version (in any
 * of the site's languages) and is not older than the site's
 * consentExpiryDays, else null: a changed notice or an expired decision
 * asks again. The cookie's Max-Age normally ends it first; the time is
 * checked too because a cookie can outlive its Max-Age (copied, restored).
 */
export function currentState(site: Site): State | null {
  const s = readState();
  const now = Date.now() / 1e3;
  return s && now < s.t + site.consentExpiryDays * 86400 &&
    (s.cv == null
      ? // made by an earlier version of the widget: valid for the notice it was made for
        Object.values(site.noticeVersions).indexOf(s.v) >= 0
      : // unless the site forced a re-ask: valid for this consent version;
        // after a change of it, a refusal (nothing but the required
        // categories) is respected for reaskAfterRejectDays all the same
        s.f == (site.forced || "") &&
        (s.cv == site.consentVersion ||
          (now < s.t + site.reaskAfterRejectDays * 86400 && site.categories.every((c) => c.required || s.c[c.id] !== 1))))
    ? s
    : null;
}

/** The decision found at the start (see startState), once read. */
let start: { s: State | null } | undefined;

/**
 * The decision as the page found it: currentState(site), read once at the
 * widget's start and shared by Consent Mode (gcm.ts), the blocking
 * (blocking.ts) and the banner (main.ts). Each read of document.cookie is
 * a round trip to the browser, about 1–2 ms while a page loads, and the
 * banner waits for these; reads later on (a decision's consent ID) are
 * fresh, since another tab may have decided meanwhile.
 */
export const startState = (site: Site): State | null => (start = start || { s: currentState(site) }).s;

/**
 * Whether each category may be used now: required ones always; then the
 * visitor's decision; without one, per mode: opt-in → no, notice → yes,
 * opt-out → yes, except categories marked saleShare when GPC is on.
 */
export function effective(site: Site, state: State | null, mode: string, gpcOn: boolean): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const c of site.categories) {
    out[c.id] = c.required || (state
      ? state.c[c.id] === 1
      : mode == "notice" || (mode == "opt-out" && !(gpcOn && c.saleShare)));
  }
  return out;
}
