// Entry point: reads the stored decision, shows the banner when there is no
// valid one, and installs window.consentd. Nothing here may throw into the
// host page.
import site from "consentd:site";
import type { Choices, Method, State } from "./types";
import { pickLanguage, strings } from "./i18n";
import { readState, writeState } from "./storage";
import { sender } from "./api";
import { closeBanner, openBanner } from "./banner";
import { openNotice } from "./notice";
import { uuid } from "./uuid";
import { currentState } from "./consent";

// document.currentScript is set only while this script first runs, so it is
// read here at the top level, synchronously.
const script = document.currentScript as HTMLScriptElement | null;

/** The public API, window.consentd. */
export interface ConsentdAPI {
  /** The current decision, or null when there is none for this notice. */
  get(): State | null;
  /** Reports whether category cat may be used (required ones always may). */
  has(cat: string): boolean;
  /** Opens the banner again. */
  show(): void;
  /**
   * Opens the privacy notice in a modal view over the page (also when the
   * banner is not shown), for a "privacy notice" link of the page.
   */
  showNotice(): void;
  /** Grants the listed categories (and the required ones), or all of them. */
  accept(cats?: string[] | "all"): void;
  /** Grants only the required categories. */
  reject(): void;
  /** Calls fn with the new state after each decision; returns an unsubscribe function. */
  on(event: "change", fn: (state: State) => void): () => void;
}

/**
 * Where the API is: the data-api attribute of the script tag when set (for
 * a widget served from another origin than the API), else the origin of the
 * script's own URL. "" (this page's origin) when neither is known.
 */
function apiBase(): string {
  const attr = script && script.getAttribute("data-api");
  if (attr) return attr.replace(/\/+$/, "");
  try {
    return new URL(script!.src).origin;
  } catch {
    return "";
  }
}

const warn = (e: unknown) => console.warn("consentd:", e);

/** Wraps fn so that an error is logged instead of thrown into the caller. */
const safe = <A extends unknown[], R>(fn: (...a: A) => R) =>
  (...a: A): R | undefined => {
    try {
      return fn(...a);
    } catch (e) {
      warn(e);
    }
  };

const copy = (s: State | null): State | null => s && JSON.parse(JSON.stringify(s));

function init(): void {
  const w = window as unknown as { consentd?: unknown };
  const before = w.consentd as
    | { get?: unknown; q?: unknown[][] }
    | unknown[][]
    | undefined;
  if (before && typeof (before as { get?: unknown }).get == "function") return; // loaded twice

  // Unsent decisions from earlier pages go first.
  const base = apiBase();
  const api = sender(base);
  api.flush();

  const lang = pickLanguage(site);
  const t = strings(site, lang);
  const version = site.noticeVersions[lang];
  const stored = readState();
  // Only a decision made for a current notice (in any of its languages)
  // counts; a changed notice asks again.
  let state = currentState(site);

  const decide = (choices: Choices, method: Method) => {
    // Keep the consent id, also across notice versions.
    const id = (readState() || state || stored || { id: uuid() }).id;
    const c: State["c"] = {};
    for (const k in choices) c[k] = choices[k] ? 1 : 0;
    state = { id, v: version, c, t: Math.floor(Date.now() / 1e3) };
    writeState(state, site);
    closeBanner();
    document.dispatchEvent(new CustomEvent("consentd:change", { detail: copy(state) }));
    api.send({
      site: site.id,
      consentId: id,
      choices,
      method,
      noticeVersion: version,
      language: lang,
      url: location.href,
    });
  };

  // Choices with the required categories and those grant() picks.
  const choose = (grant: (id: string) => boolean) => {
    const ch: Choices = {};
    for (const c of site.categories) ch[c.id] = c.required || grant(c.id);
    return ch;
  };

  const accept = (cats: string[] | "all" = "all") => {
    const ch = choose((id) => cats == "all" || cats.indexOf(id) >= 0);
    const all = site.categories.every((c) => ch[c.id]);
    const none = site.categories.every((c) => ch[c.id] == c.required);
    decide(ch, all ? "accept_all" : none ? "reject_all" : "custom");
  };
  const reject = () => decide(choose(() => false), "reject_all");

  const notice = () => openNotice(t, base, site.id, lang, version);
  const banner = (focus?: boolean) =>
    openBanner(t, lang, (a) => (a == "notice" ? notice() : a == "accept-all" ? accept() : reject()), focus);

  const consentd: ConsentdAPI = {
    get: () => copy(state),
    has: (cat) =>
      site.categories.some((c) => c.id == cat && c.required) || (!!state && state.c[cat] === 1),
    show: safe(() => banner(true)),
    showNotice: safe(notice),
    accept: safe(accept),
    reject: safe(reject),
    on(event, fn) {
      const listener = (e: Event) => fn((e as CustomEvent<State>).detail);
      if (event == "change") document.addEventListener("consentd:change", listener);
      return () => document.removeEventListener("consentd:change", listener);
    },
  };
  w.consentd = consentd;

  // Future blocking and Consent Mode will act on `state` here.
  if (!state) banner();

  // Calls made before this script ran. A page may queue them with a stub:
  //   window.consentd = window.consentd || { q: [] };
  //   consentd.q.push(["on", "change", fn], ["accept", ["analytics"]]);
  // (window.consentd may also be such an array itself). Each
  // [name, ...args] is replayed here, in order, on the real API.
  const queued = Array.isArray(before) ? before : before && before.q;
  if (Array.isArray(queued)) {
    for (const call of queued) {
      const f = Array.isArray(call) && consentd[call[0] as keyof ConsentdAPI];
      if (typeof f == "function") safe(f as (...a: unknown[]) => unknown)(...call.slice(1));
    }
  }
}

try {
  init();
} catch (e) {
  warn(e);
}
