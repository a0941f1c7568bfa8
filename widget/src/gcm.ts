// Google Consent Mode v2 (docs/widget.md, "Google Consent Mode"). Runs at
// load, before the rest of the widget: a "default" command with every mapped
// signal, then an "update" after each decision. A signal is granted when all
// of its categories are effectively granted (consent.ts).
import site from "consentd:site";
import type { State } from "./types";
import { currentState, effective, gpc, region } from "./consent";
import { safe } from "./safe";

type W = { dataLayer?: unknown[]; gtag?: (...a: unknown[]) => void; consentd?: { get?: unknown } };

const cm = site.consentMode;
const w = window as unknown as W;

// Not when the widget is on the page twice: the first one does it.
if (cm && typeof w.consentd?.get != "function") {
  safe(() => {
    w.dataLayer = w.dataLayer || [];
    // The standard stub: gtag.js reads the arguments object, not an array.
    // A page's own gtag is kept.
    w.gtag = w.gtag || function () {
      // eslint-disable-next-line prefer-rest-params
      w.dataLayer!.push(arguments);
    };
    // Looked up on each call: the page may define its own gtag later.
    const gtag = (...a: unknown[]) => w.gtag!(...a);
    const signals = (s: State | null) => {
      const e = effective(site, s, region().m, gpc());
      const out: Record<string, string | number> = {};
      for (const k in cm.signals) out[k] = cm.signals[k].every((c) => e[c]) ? "granted" : "denied";
      return out;
    };
    const state = currentState(site);
    gtag("consent", "default", { ...signals(state), wait_for_update: cm.waitForUpdate });
    // Tags that only listen for updates see a stored decision too.
    if (state) gtag("consent", "update", signals(state));
    document.addEventListener(
      "consentd:change",
      safe((e: Event) => gtag("consent", "update", signals((e as CustomEvent<State>).detail))),
    );
  })();
}
