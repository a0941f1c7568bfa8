// The consent banner, a <section> in the widget's shadow root (dom.ts).
import site from "consentd:site";
import type { Strings } from "./i18n";
import type { Site } from "./types";
import { cross, focused, make, ours, shadow } from "./dom";

/** The value of a button's data-action attribute. */
export type Action = "accept-all" | "reject-all" | "notice" | "settings" | "close";

let section: HTMLElement | null = null;
/** Keeps the page's end clear of a banner at the bottom (see room()). */
let spacer: HTMLElement | null = null;
/** Where the focus was before it entered the banner (or show() moved it). */
let back: Element | null = null;
/** The page's focusin listener of the banner (see openBanner()). */
let clear: ((e: FocusEvent) => void) | null = null;

/**
 * Keeps room for a banner h px high at the bottom (bottom) or the top of
 * the screen, or none (h = 0): a <consentd-spacer> that high after the
 * end of <body>, so the page's last content can be scrolled above a
 * banner at the bottom, and the page's scroll padding, so a control of
 * the page that gets the keyboard focus is scrolled clear of the banner
 * (WCAG 2.4.11). Nothing of the page moves: the spacer comes after
 * everything else, and scroll padding does not change the layout.
 */
function room(h: number, bottom?: boolean): void {
  const st = document.documentElement.style;
  st.scrollPaddingBottom = bottom && h ? h + "px" : "";
  st.scrollPaddingTop = !bottom && h ? h + "px" : "";
  if (!spacer) spacer = document.createElement("consentd-spacer");
  spacer.style.cssText = "display:block;height:" + (bottom ? h : 0) + "px";
  place();
}

/**
 * Puts the spacer at the end of <body> when it has a height, else takes it
 * out. Not before the page is parsed: the page's later content would come
 * after it, and move down by the banner's height.
 */
function place(): void {
  const s = spacer!;
  if (s.style.height == "0px") s.remove();
  // The same listener is added once, however often this runs.
  else if (document.readyState == "loading") document.addEventListener("DOMContentLoaded", place);
  else if (!s.isConnected) document.body?.append(s);
}

// The banner's markup: title, text, links (the notice, "Show more"), then
// the choices; openBanner sets the texts in this order.
const HEAD =
  '<div class="in"><div class="txt"><h2 id="consentd-title"></h2><p id="consentd-text"></p><div class="links">' +
  '<button type="button" class="link" data-action="notice"></button>' +
  '<button type="button" class="link more" aria-expanded="false" aria-controls="consentd-text"></button></div></div>' +
  '<div class="actions"><button type="button" class="btn" data-action="accept-all"></button>';
const BANNER =
  HEAD +
  '<button type="button" class="btn" data-action="reject-all"></button>' +
  '<button type="button" class="btn" data-action="settings"></button></div></div>';
const INFO = HEAD + "</div></div>";

/**
 * Shows the banner unless it is already shown. With focus, the first
 * button takes the keyboard focus (for show() calls made by the visitor,
 * such as a "cookie settings" link). Layout and position come from the
 * site's banner config, as the classes l-<layout> and p-<position>.
 * onTouch is called when the pointer or the focus first comes to it.
 */
export function openBanner(t: Strings, lang: string, onAction: (a: Action) => void, focus?: boolean, onTouch?: () => void): void {
  if (section) return;
  const b: Partial<Site["banner"]> = site.banner || {};
  const pos = b.position || "bottom";
  // The three choices look the same and are as wide: equal prominence. A
  // site with only required categories has nothing to choose: an
  // information notice with OK (which records the required categories,
  // as "accept all" of them).
  const info = CD_INFO; // every category required (widget.go siteFlags)
  // The markup is a constant (one parse is much faster than making each
  // element, and the banner is what the page waits for); the texts are set
  // as text afterwards, never as HTML.
  const s = (section = make("section", {
    id: "consentd-banner",
    className: "cd l-" + (b.layout || "bar") + " p-" + pos,
    lang,
    onpointerenter: onTouch,
    innerHTML: info ? INFO : BANNER,
  }));
  const texts = [t.title, info ? t.infoText : t.text, t.notice, t.more, info ? t.ok : t.acceptAll, t.rejectAll, t.manage];
  const all = s.querySelectorAll<HTMLElement>("h2,p,button");
  all.forEach((el, i) => (el.textContent = texts[i]));
  // The close button of banner.closeRejects: an icon (a cross drawn by
  // CSS) named by its label; it refuses.
  if (CD_CLOSE && !info) {
    const x = make("button", { type: "button", className: "x" });
    x.setAttribute("data-action", "close");
    x.setAttribute("aria-label", t.closeReject);
    x.title = t.closeReject;
    s.classList.add("has-x");
    s.append(x, make("style", null, cross));
  }
  const text = all[1];
  const more = all[3];
  const first = all[4];
  s.onclick = (e) => {
    const el = e.target instanceof Element && e.target.closest("button");
    const a = el && el.getAttribute("data-action");
    if (a) onAction(a as Action);
    else if (el == more) {
      // On a small screen the text is cut to two lines until "Show more".
      more.textContent = text.classList.toggle("open") ? t.less : t.more;
      more.setAttribute("aria-expanded", "" + text.classList.contains("open"));
    }
  };
  // When the focus comes in from the page, remember where it was: a
  // decision brings it back there.
  s.addEventListener("focusin", (e) => {
    if (onTouch) onTouch();
    if (!ours(e.relatedTarget)) back = e.relatedTarget as Element | null;
  });
  // A landmark (not modal: no trap), named by its title and described
  // by its text, first in the tab order.
  s.setAttribute("role", "region");
  s.setAttribute("aria-labelledby", "consentd-title");
  s.setAttribute("aria-describedby", "consentd-text");
  shadow((root) => {
    root.append(s);
    if (focus) {
      const f = focused();
      back = ours(f) ? back : f;
      first.focus();
    }
    // After layout and before paint: the room the banner needs (not for
    // a box in the centre), and "Show more" only where the text is cut.
    new ResizeObserver(() => {
      if (section != s) return;
      const r = s.getBoundingClientRect();
      const bottom = r.bottom > innerHeight - 40;
      if (bottom || r.top < 40) room(bottom ? innerHeight - r.top : r.bottom, bottom);
      more.hidden = !text.classList.contains("open") && text.scrollHeight <= text.clientHeight;
    }).observe(s);
  });
  // A control of the page that takes the focus (Tab) is scrolled clear of
  // the banner at the bottom or the top, where the browser would leave it
  // behind it (WCAG 2.4.11).
  // After the browser's own scrolling to it, before the paint.
  clear = (e) => {
    const t = e.target;
    if (ours(t) || !(t instanceof Element)) return;
    requestAnimationFrame(() => {
      const r = t.getBoundingClientRect();
      const b = s.getBoundingClientRect();
      if (b.bottom > innerHeight - 40 && r.bottom > b.top) scrollBy(0, r.bottom - b.top + 8);
      else if (b.top < 40 && r.top < b.bottom) scrollBy(0, r.top - b.bottom - 8);
    });
  };
  document.addEventListener("focusin", clear);
}

/**
 * Removes the banner if it is shown (an open notice view stays); reports
 * whether it was. A focus that was in the banner (or fell to the page
 * when it went) goes back to where it was before it entered the banner;
 * without such a place the next Tab starts at the top of the page.
 */
export function closeBanner(): boolean {
  const shown = !!section;
  if (section) {
    const f = focused();
    const lost = !f || f == document.body || section.contains(f);
    section.remove();
    room(0);
    document.removeEventListener("focusin", clear!);
    if (lost && back && back.isConnected) (back as HTMLElement).focus({ preventScroll: true });
  }
  section = back = null;
  return shown;
}
