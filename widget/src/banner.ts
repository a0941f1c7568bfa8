// The consent banner, a <section> in the widget's shadow root (dom.ts).
import type { Strings } from "./i18n";
import { button, make, shadow } from "./dom";

/** The value of a button's data-action attribute. */
export type Action = "accept-all" | "reject-all" | "notice";

let section: HTMLElement | null = null;

/**
 * Shows the banner unless it is already shown. It is added to the page
 * after DOMContentLoaded when there is no body yet. With focus, the first
 * button takes the keyboard focus (for show() calls made by the visitor,
 * such as a "cookie settings" link).
 */
export function openBanner(
  t: Strings,
  lang: string,
  onAction: (a: Action) => void,
  focus?: boolean,
): void {
  if (section) return;
  const s = (section = make("section"));
  s.id = "consentd-banner";
  s.lang = lang;
  s.setAttribute("role", "region");
  s.setAttribute("aria-labelledby", "consentd-title");
  const title = make("h2", t.title);
  title.id = "consentd-title";
  const actions = make("div");
  actions.className = "actions";
  const add = (parent: HTMLElement, action: Action, label: string, cls: string) => {
    const b = button(label, cls, () => onAction(action));
    b.setAttribute("data-action", action);
    parent.append(b);
  };
  // Both choices get the same class: equal prominence. The notice is a
  // link-styled control on its own line above them.
  const more = make("p");
  add(more, "notice", t.notice, "link");
  add(actions, "accept-all", t.acceptAll, "btn");
  add(actions, "reject-all", t.rejectAll, "btn");
  s.append(title, make("p", t.text), more, actions);

  shadow((root) => {
    if (section != s) return; // closed before the body existed
    root.append(s);
    if (focus) (actions.firstChild as HTMLElement).focus();
  });
}

/** Removes the banner if it is shown (an open notice view stays). */
export function closeBanner(): void {
  if (section) section.remove();
  section = null;
}
