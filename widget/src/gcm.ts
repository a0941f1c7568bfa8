// Consent signals to tags (docs/widget.md, "Consent signals"): Google
// Consent Mode v2, Microsoft UET consent mode and Microsoft Clarity's
// consent API, each when the site maps it. Runs at load, before the rest of
// the widget: a "default" with every mapped signal, then an "update" after
// each decision. A signal is granted when all of its categories are
// effectively granted (consent.ts).
import site from "consentd:site";
import type { State } from "./types";
import { effective, gpc, region, startState } from "./consent";
import { safe } from "./safe";

type F = ((...a: unknown[]) => void) & { q?: unknown[] };
type W = { dataLayer?: unknown[]; gtag?: F; uetq?: unknown[]; clarity?: F; consentd?: { get?: unknown } };

const cm = site.consentMode;
const sig = site.signals || {};
const w = window as unknown as W;

// Granted or denied per signal of map, for decision s.
const signals = (map: Record<string, string[]>, s: State | null) => {
  const e = effective(site, s, region().m, gpc());
  const out: Record<string, string> = {};
  for (const k in map) out[k] = map[k].every((c) => e[c]) ? "granted" : "denied";
  return out;
};

// Each tag's calls: send(first, s) gives the signals of decision s, as the
// default (first) or an update. Each command is looked up when called: the
// page may define its own later, and the stubs are the vendors' own.
const tags: ((first: boolean, s: State | null) => void)[] = [];
if (CD_GCM && cm) {
  tags.push((first, s) => {
    // The standard stub: gtag.js reads the arguments object, not an array.
    w.dataLayer = w.dataLayer || [];
    w.gtag = w.gtag || function () {
      // eslint-disable-next-line prefer-rest-params
      w.dataLayer!.push(arguments);
    };
    w.gtag("consent", first ? "default" : "update", first ? { ...signals(cm.signals, s), wait_for_update: cm.waitForUpdate } : signals(cm.signals, s));
  });
}
if (CD_UET && sig.uet) {
  // UET reads its queue, an array, when it loads (and takes pushes after).
  tags.push((first, s) => (w.uetq = w.uetq || []).push("consent", first ? "default" : "update", signals({ ad_storage: sig.uet! }, s)));
}
if (CD_CLARITY && sig.clarity) {
  // Clarity's own stub queues calls until its script loads. Its consent
  // API has no default: one call with the state at load (a stored
  // decision's comes as the update), then one per decision.
  tags.push((first, s) => {
    if (first && s) return;
    w.clarity = w.clarity || function (...a: unknown[]) {
      (w.clarity!.q = w.clarity!.q || []).push(a);
    };
    w.clarity("consentv2", signals(sig.clarity!, s));
  });
}

// Not when the widget is on the page twice: the first one does it.
if (tags[0] && typeof w.consentd?.get != "function") {
  safe(() => {
    const state = startState(site);
    for (const tag of tags) {
      tag(true, state);
      // Tags that only listen for updates see a stored decision too.
      if (state) tag(false, state);
    }
    document.addEventListener(
      "consentd:change",
      safe((e: Event) => tags.forEach((tag) => tag(false, (e as CustomEvent<State>).detail))),
    );
  })();
}
