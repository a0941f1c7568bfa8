// The widget's DOM: one open shadow root on <div id="consentd">, shared by
// the banner and the notice view, so the host page's CSS cannot restyle
// them. Every text from the config is set with textContent, never as HTML.
import css from "./style.css";

let host: HTMLElement | undefined;

/**
 * Calls ready with the widget's shadow root once its host is in the
 * document: now, or after DOMContentLoaded when there is no body yet. The
 * host is made on first use and put back if the page removed it.
 */
export function shadow(ready: (root: ShadowRoot) => void): void {
  if (!host) {
    host = make("div");
    host.id = "consentd";
    host.attachShadow({ mode: "open" }).append(make("style", css));
  }
  if (!document.body) {
    document.addEventListener("DOMContentLoaded", () => shadow(ready));
    return;
  }
  if (!host.isConnected) document.body.append(host);
  ready(host.shadowRoot!);
}

/** Makes an element, with text as its textContent. */
export function make<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string) {
  const el = document.createElement(tag);
  if (text) el.textContent = text;
  return el;
}

/** Makes a <button type="button"> with a label, a class and a click handler. */
export function button(label: string, cls: string, onclick: () => void) {
  const b = make("button", label);
  b.type = "button";
  b.className = cls;
  b.onclick = onclick;
  return b;
}
