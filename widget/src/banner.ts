// The consent banner, a <section> in the widget's shadow root (dom.ts), and
// the small fixed link of the opt-out and notice modes.
import site from "consentd:site";
import type { Strings } from "./i18n";
import type { Site } from "./types";
import { button, make, shadow } from "./dom";

/** The value of a button's data-action attribute. */
export type Action = "accept-all" | "reject-all" | "notice" | "settings";

let section: HTMLElement | null = null;
let link: HTMLElement | null = null;

/**
 * Shows the banner unless it is already shown. It is added to the page
 * after DOMContentLoaded when there is no body yet. With focus, the first
 * button takes the keyboard focus (for show() calls made by the visitor,
 * such as a "cookie settings" link). Layout and position come from the
 * site's banner config, as the classes l-<layout> and p-<position>.
 */
export function openBanner(t: Strings, lang: string, onAction: (a: Action) => void, focus?: boolean): void {
  if (section) return;
  const b: Partial<Site["banner"]> = site.banner || {};
  const add = (action: Action, label: string, cls: string) => button(label, cls, () => onAction(action), action);
  // Both choices get the same class: equal prominence. Settings is an
  // outlined button after them; the notice is a link-styled control on
  // its own line above them. A site with only required categories has
  // nothing to choose: an information notice with OK (which records the
  // required categories, as "accept all" of them).
  const info = site.categories.every((c) => c.required);
  const first = add("accept-all", info ? t.ok : t.acceptAll, "btn");
  const s = (section = make(
    "section",
    { id: "consentd-banner", className: "l-" + (b.layout || "bar") + " p-" + (b.position || "bottom"), lang },
    make("h2", { id: "consentd-title" }, t.title),
    make("p", null, info ? t.infoText : t.text),
    make("p", null, add("notice", t.notice, "link")),
    info
      ? make("div", { className: "actions" }, first)
      : make("div", { className: "actions" }, first, add("reject-all", t.rejectAll, "btn"), add("settings", t.settings, "btn sec")),
  ));
  s.setAttribute("role", "region");
  s.setAttribute("aria-labelledby", "consentd-title");
  shadow((root) => {
    if (section != s) return; // closed before the body existed
    root.append(s);
    if (focus) first.focus();
  });
}

/** Removes the banner if it is shown (an open notice view stays); reports whether it was. */
export function closeBanner(): boolean {
  const shown = !!section;
  if (section) section.remove();
  section = null;
  return shown;
}

/**
 * Shows (or relabels) the small link fixed in the bottom-left corner,
 * #consentd-link: "Do Not Sell or Share My Personal Information" in the
 * opt-out mode, the privacy notice in the notice mode. Relabelled in place,
 * it keeps the focus.
 */
export function corner(label: string, lang: string, onclick: () => void): void {
  if (link) return void Object.assign(link, { textContent: label, lang, onclick });
  const b = (link = make("button", { type: "button", id: "consentd-link", lang, onclick }, label));
  shadow((root) => root.append(b));
}
