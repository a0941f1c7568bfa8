// Prior blocking (docs/widget.md, "Blocking"). Scripts and iframes marked
// with data-consent="cat ..." stay inert until all their categories are
// effectively granted (consent.ts); then the scripts run, in document order,
// and the iframes load. Elements added later are handled the same way. When
// a category is withdrawn, its services' first-party cookies are deleted.
// Part of the widget's later script (core.ts), started by the page's
// bundle (main.ts) once it has loaded.
import type { Site, State } from "./types";
import { effective } from "./consent";
import type { Strings } from "./i18n";
import { safe } from "./safe";

/** What the blocking is told by the page's bundle (main.ts). */
export interface Page {
  site: Site;
  /** The regional mode (consent.ts region). */
  mode: string;
  /** Whether Global Privacy Control is on. */
  gpc: boolean;
  /** The decision now: null when there is none. */
  state(): State | null;
  /** The visitor's language now. */
  lang(): string;
  /** The widget's texts in it (with the site's own). */
  t(): Strings;
}

/** The page, once started. */
let page: Page;

const SEL = 'script[type="text/plain" i][data-consent],iframe[data-consent][data-src]';

/** Effective consent per category, as of the latest decision. */
let granted: Record<string, boolean> = {};
/** Elements handled for good: scripts queued to run, iframes loaded. */
const done = new WeakSet<Element>();
/** Blocked iframe → its placeholder. */
const holders = new WeakMap<Element, HTMLElement>();
/** Scripts to run, in document order. */
const queue: HTMLScriptElement[] = [];
/** External scripts inserted that have not run (loaded or failed) yet. */
let pending = 0;

const cats = (el: HTMLElement) => el.dataset.consent!.trim().split(/\s+/);
const allowed = (el: HTMLElement) => cats(el).every((c) => granted[c]);
const make = (tag: string, text = "") => {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
};

const ran = safe(() => (pending--, pump()));

/**
 * Runs the queued scripts: each blocked <script> is replaced by its clone
 * (attributes, text, nonce) with the real type and src. Consecutive
 * external scripts are inserted together with async = false, so they load
 * in parallel and run in order; an inline script (it runs on insertion)
 * waits until the external ones before it have run.
 */
function pump(): void {
  for (let old; (old = queue[0]); ) {
    const s = old.cloneNode(true) as HTMLScriptElement;
    const d = old.dataset;
    if (d.src) s.src = d.src;
    if (!s.src && pending) return;
    queue.shift();
    if (!old.isConnected) continue;
    s.type = d.type || "";
    if (s.src) {
      pending++;
      s.async = false;
      s.addEventListener("load", ran);
      s.addEventListener("error", ran);
    }
    old.replaceWith(s);
  }
}

/**
 * Loads a granted iframe. A blocked one with data-placeholder is hidden
 * behind a placeholder of its size: the reason, a button that shows it
 * this time only (no decision is stored) and one that grants the missing
 * categories; data-preview is an image shown in it.
 */
function frame(f: HTMLIFrameElement, once?: boolean): void {
  const ph = holders.get(f);
  if (once || allowed(f)) {
    done.add(f);
    f.src = f.dataset.src!;
    if (ph) {
      f.style.display = "";
      // The button had the focus: the content it loaded takes it.
      if (ph.contains(document.activeElement)) f.focus();
      ph.remove();
    }
  } else if (!ph && f.hasAttribute("data-placeholder")) {
    const { site } = page;
    const lang = page.lang();
    const t = page.t();
    const missing = cats(f).filter((c) => !granted[c]);
    const label = (id: string) => site.categories.find((c) => c.id == id)?.label[lang] || id;
    const d = make("div");
    const names = missing.map(label).join(", ");
    const once = make("button", t.loadOnce) as HTMLButtonElement;
    once.type = "button";
    once.onclick = safe(() => frame(f, true));
    const b = make("button", t.loadContent.replace("{cat}", names)) as HTMLButtonElement;
    b.type = "button";
    // Through the public API, so the decision is recorded as usual.
    b.onclick = safe(() =>
      (window as unknown as { consentd: { accept(c: string[]): void } }).consentd.accept(
        Object.keys(granted).filter((c) => granted[c]).concat(missing),
      ),
    );
    // A preview the site provides (an image of its own: one from the
    // embedded service would contact it before consent).
    const preview = f.getAttribute("data-preview");
    if (preview) {
      const img = make("img") as HTMLImageElement;
      img.src = preview;
      img.alt = "";
      img.style.cssText = "display:block;max-width:100%;max-height:50%;margin:auto";
      d.append(img);
    }
    d.className = "consentd-placeholder";
    d.lang = lang;
    // Set through CSSOM, which strict style-src policies allow.
    d.style.cssText = "box-sizing:border-box;max-width:100%;padding:1em;border:1px solid;text-align:center";
    d.style.width = f.width && f.width + "px";
    d.style.height = f.height && f.height + "px";
    d.append(make("p", t.blocked.replace("{cat}", names)), once, " ", b);
    f.style.display = "none";
    f.before(d);
    holders.set(f, d);
  }
}

/**
 * Handles the marked elements in root (and root itself), in document order.
 * Scripts wait until the page is parsed: until then a script's text may be
 * incomplete.
 */
function scan(root: Element | Document): void {
  const els = [...root.querySelectorAll<HTMLElement>(SEL)];
  if (root != document && (root as Element).matches(SEL)) els.unshift(root as HTMLElement);
  for (const el of els) {
    if (done.has(el)) continue;
    if (el.tagName == "IFRAME") frame(el as HTMLIFrameElement);
    else if (document.readyState != "loading" && allowed(el)) {
      done.add(el);
      queue.push(el as HTMLScriptElement);
    }
  }
  pump();
}

/**
 * Deletes the first-party cookies listed for a category's services ("*" in
 * a name matches any text) with Path=/, host-only and for the host and
 * each of its parent domains.
 */
function wipe(cat: string): void {
  const names: string[] = [];
  for (const c of page.site.categories) {
    if (c.id == cat) for (const s of c.services) for (const k of s.cookies) names.push(k.name);
  }
  const re = RegExp("^(" + names.join("|").replace(/[^\w|*]/g, "\\$&").replace(/\*/g, ".*") + ")$");
  const host = location.hostname.split(".");
  for (const part of document.cookie.split(";")) {
    const name = part.split("=")[0].trim();
    if (name != "consentd" && names.length && re.test(name)) {
      for (let i = 0; i <= host.length; i++) {
        document.cookie = name + "=; Path=/; Max-Age=0" + (i < host.length ? "; Domain=" + host.slice(i).join(".") : "");
      }
    }
  }
}

/** Applies a decision: withdrawn categories lose their cookies, granted ones run. */
const update = safe((state: State | null) => {
  const before = granted;
  granted = effective(page.site, state, page.mode, page.gpc);
  for (const c in before) if (before[c] && !granted[c]) wipe(c);
  scan(document);
});

/**
 * Starts the blocking: the page's marked elements as of the decision now,
 * then every decision (the consentd:change event) and every element added
 * later.
 */
export function startBlocking(p: Page): void {
  page = p;
  document.addEventListener("consentd:change", (e) => update((e as CustomEvent<State>).detail));
  const state = p.state();
  // A stored "no" also clears the cookies left from before it (set by
  // scripts that still ran when the visitor withdrew).
  if (state) for (const c of p.site.categories) granted[c.id] = true;
  update(state);
  document.addEventListener("DOMContentLoaded", safe(() => scan(document)));
  new MutationObserver(
    safe((records: MutationRecord[]) => {
      for (const r of records) for (const n of r.addedNodes) if (n.nodeType == 1) scan(n as Element);
    }),
  ).observe(document, { childList: true, subtree: true });
}
