// The small fixed link of the opt-out and notice modes, and the reopen
// control of the opt-in mode, in the widget's shadow root. Part of the
// widget's later script (core.ts): the banner does not wait for it.
import { make } from "./dom";
import cornerCSS from "./corner.css";

/** Calls ready with the widget's shadow root (dom.ts shadow, of the page's bundle). */
export type Shadow = (ready: (root: ShadowRoot) => void, last?: boolean) => void;

let link: HTMLElement | null = null;
let linkStyle: HTMLElement | null = null;

/**
 * Shows (or relabels) the small link fixed in the bottom-left corner,
 * #consentd-link: "Do Not Sell or Share My Personal Information" in the
 * opt-out mode, the privacy notice in the notice mode. Relabelled in place,
 * it keeps the focus. With place (bottom-left or bottom-right) it is the
 * reopen control of the opt-in mode instead: a round icon button named
 * by label.
 */
export function corner(shadow: Shadow, label: string, lang: string, onclick: () => void, place?: string): void {
  // The reopen control comes last in the tab order, after the page.
  if (place && document.readyState == "loading") {
    return void document.addEventListener("DOMContentLoaded", () => corner(shadow, label, lang, onclick, place));
  }
  // Its style sheet comes with it.
  if (!link) {
    link = make("button", { type: "button", id: "consentd-link" });
    linkStyle = make("style", null, cornerCSS);
  }
  shadow((root) => link!.parentNode != root && root.append(linkStyle!, link!), !!place);
  Object.assign(link, { lang, onclick, className: place ? "reopen " + place : "", textContent: place ? "" : label });
  if (place) link.setAttribute("aria-label", label);
  else link.removeAttribute("aria-label");
}
