// The widget's DOM: one open shadow root on <div id="consentd">, shared by
// the banner, the settings and the notice view, so the host page's CSS
// cannot restyle them. Every text from the config is set as text (a
// string child, textContent), never as HTML.
import css from "./style.css";
import frame from "./dialog.css";
import cross from "./close.css";

let host: HTMLElement | undefined;

/**
 * Calls ready with the widget's shadow root, at once. The host is made on
 * first use and put back if the page removed it. It goes first in <body>,
 * so the banner comes first in the tab order and to a screen reader; a
 * script in <head> that runs before <body> exists puts it before <body>
 * (the parser adds <body> after it), rather than waiting for
 * DOMContentLoaded. With last (the reopen control, once <body> is
 * parsed) it goes last in <body> instead.
 */
export function shadow(ready: (root: ShadowRoot) => void, last?: boolean): void {
  if (!host) {
    host = make("div", { id: "consentd" });
    // The site's theme is in the style sheet (widget.go, themeCSS).
    host.attachShadow({ mode: "open" }).append(make("style", null, css));
  }
  // With last, after the page's content: last in the tab order.
  if (last && document.body) document.body.lastElementChild != host && document.body.append(host);
  else if (!host.isConnected) {
    const b = document.body;
    b ? b.prepend(host) : document.documentElement.append(host);
  }
  ready(host.shadowRoot!);
}

/** Reports whether el is the widget's host or inside its shadow root. */
export const ours = (el: unknown): boolean =>
  !!host && (el == host || (el instanceof Node && el.getRootNode() == host.shadowRoot));

/** The focused element, inside the widget's shadow root too. */
export const focused = (): Element | null =>
  (host && host.shadowRoot!.activeElement) || document.activeElement;

/**
 * Makes an element with properties (id, className, lang, onclick, ...)
 * and children: nodes, or strings, which become text nodes.
 */
export function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Partial<HTMLElementTagNameMap[K]> | null,
  ...kids: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const k in props) (el as unknown as Record<string, unknown>)[k] = props[k as keyof typeof props];
  for (const k of kids) el.append(k);
  return el;
}

/** The close icon button's styles (close.css). */
export { cross };

/** Makes a <button type="button">, with data-action when action is given. */
export function button(label: string, cls: string, onclick: () => void, action?: string) {
  const b = make("button", { type: "button", className: cls, onclick }, label);
  if (action) b.setAttribute("data-action", action);
  return b;
}

/**
 * Makes a modal <dialog> labelled by its title, an <h2 id=id> in a header
 * bar with the controls in bar and a close icon button named close. Tab
 * stays inside: it wraps around at both ends, where the browser would
 * move the focus out of the page. showModal() makes the rest of the page
 * inert, Esc closes it and the browser returns the focus on close.
 */
export function modal(id: string, title: string, lang: string, close: string, ...bar: Node[]) {
  const d = make("dialog", {
    lang,
    onkeydown(e) {
      const all = d.querySelectorAll<HTMLElement>("a[href],button,input:enabled,select,summary,[tabindex='0']");
      const back = e.shiftKey;
      const edge = all[back ? 0 : all.length - 1];
      const a = (d.getRootNode() as ShadowRoot).activeElement;
      if (e.key == "Tab" && a && (a == edge || edge.compareDocumentPosition(a) & (back ? 2 : 4))) {
        e.preventDefault();
        all[back ? all.length - 1 : 0].focus();
      }
    },
  });
  d.setAttribute("aria-labelledby", id);
  // The close button is an icon (a cross drawn by CSS) named by its label.
  const x = button("", "x", () => d.close());
  x.setAttribute("aria-label", close);
  x.title = close;
  // The frame's styles come with the dialog (the banner does not need them).
  d.append(make("style", null, frame + cross), make("div", { className: "bar" }, make("h2", { id }, title), ...bar, x));
  return d;
}
