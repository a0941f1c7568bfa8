// The consent banner. It lives in an open shadow root of <div id="consentd">
// so the host page's CSS cannot restyle it. Every text is set with
// textContent, never as HTML.
import css from "./style.css";
import type { Strings } from "./i18n";

/** The value of a button's data-action attribute. */
export type Action = "accept-all" | "reject-all";

let host: HTMLElement | null = null;

/**
 * Shows the banner unless it is already shown. It is appended to
 * document.body, after DOMContentLoaded when there is no body yet. With
 * focus, the first button takes the keyboard focus (for show() calls made
 * by the visitor, such as a "cookie settings" link).
 */
export function openBanner(
  t: Strings,
  lang: string,
  onAction: (a: Action) => void,
  focus?: boolean,
): void {
  if (host) return;
  const h = (host = make("div"));
  h.id = "consentd";
  const root = h.attachShadow({ mode: "open" });
  root.append(make("style", css));

  const section = make("section");
  section.id = "consentd-banner";
  section.lang = lang;
  section.setAttribute("role", "region");
  section.setAttribute("aria-labelledby", "consentd-title");
  const title = make("h2", t.title);
  title.id = "consentd-title";
  const actions = make("div");
  actions.className = "actions";
  for (const [action, label] of [
    ["accept-all", t.acceptAll],
    ["reject-all", t.rejectAll],
  ] as const) {
    // Both buttons get the same class: equal prominence for both choices.
    const b = make("button", label);
    b.type = "button";
    b.className = "btn";
    b.setAttribute("data-action", action);
    b.onclick = () => onAction(action);
    actions.append(b);
  }
  section.append(title, make("p", t.text), actions);
  root.append(section);

  const mount = () => {
    if (host != h) return; // closed before the body existed
    document.body.append(h);
    if (focus) (actions.firstChild as HTMLElement).focus();
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
}

/** Removes the banner if it is shown. */
export function closeBanner(): void {
  if (host) host.remove();
  host = null;
}

function make<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string) {
  const el = document.createElement(tag);
  if (text) el.textContent = text;
  return el;
}
