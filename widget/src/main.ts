// Entry point: reads the stored decision, shows the banner (opt-in mode)
// or the corner link (opt-out and notice modes, docs/geo.md) when there is
// no valid one, and installs window.consentd. The blocking, the sending
// of decisions and the corner link are a script of their own (core.ts),
// loaded after this one's first task. Nothing here may throw into the
// host page.
import "./gcm";
import site from "consentd:site";
import type { Category, Choices, Method, State } from "./types";
import { pickLanguage, strings } from "./i18n";
import { enqueue, loadQueue, readState, receipts, saveQueue, writeState } from "./storage";
import { closeBanner, openBanner } from "./banner";
import { make, shadow } from "./dom";
import type { Core, startCore } from "./core";
import type { openNotice } from "./notice";
import type { openPrefs } from "./prefs";
import { uuid } from "./uuid";
import { effective, gpc, region, startState } from "./consent";
import { safe, warn } from "./safe";

// document.currentScript is set only while this script first runs, so it is
// read here at the top level, synchronously.
const script = document.currentScript as HTMLScriptElement | null;

/** The public API, window.consentd (docs/widget.md). */
export interface ConsentdAPI {
  /** The current decision, or null when there is none for this notice (or it expired). */
  get(): State | null;
  /**
   * Reports whether category cat may be used now: required ones always;
   * else the decision, or without one the regional mode (opt-out: yes
   * unless GPC denies a saleShare category; notice: yes; opt-in: no).
   */
  has(cat: string): boolean;
  /** Opens the settings after a decision (or outside opt-in mode), else the banner. */
  show(): void;
  /** Opens the settings. */
  showSettings(): void;
  /**
   * Opens the privacy notice in a modal view over the page (also when the
   * banner is not shown), for a "privacy notice" link of the page.
   */
  showNotice(): void;
  /** Grants the listed categories (and the required ones), or all of them. */
  accept(cats?: string[] | "all"): void;
  /** Grants only the required categories. */
  reject(): void;
  /** Withdraws consent: only the required categories, recorded as "withdraw"; the consent ID stays. */
  withdraw(): void;
  /**
   * The server's signed receipts of the decisions stored from this browser
   * for this site's pages (this origin), oldest first, at most 10: proof a
   * visitor can keep and anyone can check with the server's public keys
   * (docs/proof.md).
   */
  receipts(): unknown[];
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

const copy = (s: State | null): State | null => s && JSON.parse(JSON.stringify(s));

function init(): void {
  const w = window as unknown as { consentd?: unknown };
  const before = w.consentd as
    | { get?: unknown; q?: unknown[][] }
    | unknown[][]
    | undefined;
  if (before && typeof (before as { get?: unknown }).get == "function") return; // loaded twice

  const base = apiBase();

  const mode = region().m;
  const gpcOn = gpc();
  const cats = site.categories;
  let lang = pickLanguage(site);
  let t = strings(site, lang);
  // Only a decision made for a current notice (in any of its languages)
  // that has not expired counts; else the banner asks again. The consent
  // ID stays, also across notice versions and expiry.
  let state = startState(site);
  const id = () => (readState() || state || {}).id;

  const eff = () => effective(site, state, mode, gpcOn);
  const sale = cats.filter((c) => c.saleShare);
  // GPC is honoured when it is on in the opt-out mode and no sale or
  // sharing is allowed (the visitor may still allow it later).
  const honoured = () => mode == "opt-out" && gpcOn && sale[0] && !sale.some((c) => eff()[c.id]);

  const decide = (choices: Choices, method: Method) => {
    const c: State["c"] = {};
    for (const k in choices) c[k] = choices[k] ? 1 : 0;
    // Taking back all that was granted is a withdrawal (GDPR Art. 7(3)),
    // whichever button did it.
    const before = state && eff();
    if (before && cats.some((k) => !k.required && before[k.id]) && cats.every((k) => k.required || !choices[k.id])) method = "withdraw";
    const s = (state = {
      id: id() || uuid(),
      v: site.noticeVersions[lang],
      c,
      t: Math.floor(Date.now() / 1e3),
      cv: site.consentVersion,
      f: site.forced || "",
    });
    writeState(s, site);
    // The settings first: closing them gives the focus back to the
    // banner's Settings button, and the banner then to the page.
    if (prefs && prefs.open) prefs.close();
    closeBanner();
    link();
    document.dispatchEvent(new CustomEvent("consentd:change", { detail: copy(s) }));
    // Queued before it is sent: a page left before the later script has
    // loaded leaves it for the next.
    enqueue(
      JSON.stringify({
        site: site.id,
        consentId: s.id,
        choices,
        method,
        noticeVersion: s.v,
        language: lang,
        url: location.href,
      }),
    );
    later((c) => c.flush());
  };

  // Choices with the required categories and those grant() picks.
  const choose = (grant: (c: Category) => unknown) => {
    const ch: Choices = {};
    for (const c of cats) ch[c.id] = c.required || !!grant(c);
    return ch;
  };
  const accept = (list: string[] | "all" = "all") => {
    const ch = choose((c) => list == "all" || list.indexOf(c.id) >= 0);
    decide(ch, cats.every((c) => ch[c.id]) ? "accept_all" : cats.every((c) => ch[c.id] == c.required) ? "reject_all" : "custom");
  };
  const reject = (method: Method = "reject_all") => decide(choose(() => 0), method);

  // The notice view and the settings are scripts of their own
  // (noticeview.ts, prefsview.ts) on the widget's server, loaded when
  // first needed (the settings' also when the visitor first touches the
  // banner), while the banner stays as it is, and so is the later script
  // (coreview.ts), loaded after the first task; a failed load is tried
  // again on the next use. Each sets window.__consentd<Name>.
  const views: Record<string, Promise<unknown> | undefined> = {};
  const view = <T,>(name: string): T | undefined => (window as unknown as Record<string, T>)["__consentd" + name];
  const load = (name: string, file: string) =>
    (views[name] =
      views[name] ||
      new Promise((ok, fail) => {
        const src = base + "/w/" + file;
        // With the nonce of this script's tag: a page whose CSP allows
        // scripts by nonce allows these too.
        const s = make("script", { src, onload: ok, nonce: (script && script.nonce) || "" });
        s.onerror = () => (s.remove(), fail(src + " did not load"));
        document.head.append(s);
      })).then(
      () => view(name),
      (e) => {
        views[name] = undefined;
        warn(e);
      },
    );
  // The later script, started once with this page's state.
  let core: Core | undefined;
  const later = (f: (c: Core) => unknown) =>
    load("Core", CD_CORE).then(
      (start) =>
        start &&
        f(
          (core =
            core ||
            (start as typeof startCore)({
              site,
              base,
              mode,
              gpc: gpcOn,
              state: () => state,
              lang: () => lang,
              t: () => t,
              shadow,
              queue: { load: loadQueue, save: saveQueue },
            })),
        ),
    );
  const notice = () =>
    load("Notice", "_notice.js").then(
      (open) =>
        open &&
        shadow((root) =>
          (open as typeof openNotice)(root, t, base, site.id, lang, site.noticeVersions[lang]),
        ),
    );
  let prefs: HTMLDialogElement | undefined;
  // A button of the banner or the settings.
  const act = (a: string, ch?: Choices) =>
    a == "notice" ? notice()
    : a == "settings" ? settings()
    : a == "accept-all" ? accept()
    : a == "reject-all" ? reject()
    : CD_CLOSE && a == "close" ? reject("close") // the banner's close button (banner.closeRejects)
    : decide(ch!, "custom"); // "save" of the settings
  const banner = (focus?: boolean) => openBanner(t, lang, act, focus, () => load("Prefs", "_prefs.js"));
  // At once when the script is there (a language switch keeps the focus).
  const settings = (keep?: Choices): void => {
    const open = (f: typeof openPrefs) =>
      shadow((root) => {
        prefs = f(root, {
          site,
          t,
          lang,
          on: keep || eff(),
          id: id(),
          gpc: !!honoured(),
          act,
          switchLang(l, ch) {
            lang = l;
            t = strings(site, l);
            if (closeBanner()) banner();
            link();
            settings(ch);
          },
        });
      });
    const f = view<typeof openPrefs>("Prefs");
    f ? open(f) : load("Prefs", "_prefs.js").then((f) => f && open(f as typeof openPrefs));
  };
  // The corner link: opt-out → "Do Not Sell or Share" (or that GPC was
  // honoured), opening the settings; notice → the privacy notice; opt-in,
  // after a decision → the reopen control (banner.reopen), so that
  // withdrawing is as easy as consenting (GDPR Art. 7(3)).
  const link = () =>
    later((c) =>
      mode == "opt-out" ? c.corner(honoured() ? t.gpc : t.doNotSell, lang, () => settings())
      : mode == "notice" ? c.corner(t.notice, lang, notice)
      : state && site.banner.reopen != "off" && c.corner(t.settings, lang, () => settings(), site.banner.reopen),
    );

  const consentd: ConsentdAPI = {
    get: () => copy(state),
    has: (cat) => !!eff()[cat],
    show: () => (state || mode != "opt-in" ? settings() : banner(true)),
    showSettings: () => settings(),
    showNotice: notice,
    accept,
    reject: () => reject(),
    withdraw: () => reject("withdraw"),
    receipts,
    on(event, fn) {
      const listener = (e: Event) => fn((e as CustomEvent<State>).detail);
      if (event == "change") document.addEventListener("consentd:change", listener);
      return () => document.removeEventListener("consentd:change", listener);
    },
  };
  // No call of the page may throw: each logs its error instead.
  for (const k in consentd) consentd[k as "get"] = safe(consentd[k as "get"]) as () => State | null;
  w.consentd = consentd;

  // Links and buttons of the page: data-consentd="open" opens the
  // settings, data-consentd="notice" the notice.
  document.addEventListener("click", (e) => {
    const el = e.target instanceof Element && e.target.closest("[data-consentd]");
    const v = el && el.getAttribute("data-consentd");
    if (v == "open" || v == "notice") {
      e.preventDefault();
      consentd[v == "open" ? "showSettings" : "showNotice"]();
    }
  });

  // Calls made before this script ran. A page may queue them with a stub:
  //   window.consentd = window.consentd || { q: [] };
  //   consentd.q.push(["on", "change", fn], ["accept", ["analytics"]]);
  // (window.consentd may also be such an array itself). Each
  // [name, ...args] is replayed here, in order, on the real API.
  const queued = Array.isArray(before) ? before : before && before.q;
  if (Array.isArray(queued)) {
    for (const call of queued) {
      const f = Array.isArray(call) && consentd[call[0] as keyof ConsentdAPI];
      if (typeof f == "function") (f as (...a: unknown[]) => unknown)(...call.slice(1));
    }
  }

  // GPC in the opt-out mode: the sale or sharing categories are denied
  // without asking, and that is recorded once, as "gpc". In the opt-in
  // mode a site may let it refuse without a banner (gpcInOptIn: reject).
  if (!state && mode == "opt-out" && gpcOn && sale[0]) decide(choose((c) => !c.saleShare), "gpc");
  if (CD_GPC_REJECT && !state && mode == "opt-in" && gpcOn) decide(choose(() => 0), "gpc");
  // Only the opt-in mode asks.
  if (!state && mode == "opt-in") banner();
  // The later script (blocking, sending, the corner link) after this
  // task: the banner comes first.
  setTimeout(link);
}

safe(init)();
