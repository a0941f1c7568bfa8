// The notice view: the site's privacy notice in a modal <dialog> in the
// widget's shadow root (dom.ts modal()). Not in the widget bundle: it is
// the separate script noticeview.ts, loaded when first needed. showModal() puts it in the top
// layer: nothing on the page moves, the rest of the page is inert and Esc
// closes it (the native "cancel"); the browser returns focus to where it was.
import { complete, type Strings } from "./i18n";
import { make, modal } from "./dom";
import css from "./notice.css";

/** Notice HTML per version (a version never changes), or its fetch. */
const cache: Record<string, Promise<string>> = {};

let dialog: HTMLDialogElement | undefined;

/**
 * Opens the notice view in the widget's shadow root for version, the
 * notice of site in lang, fetched from GET {base}/n/{site}/v/{version}
 * (once per page).
 */
export function openNotice(root: ShadowRoot, texts: Strings, base: string, site: string, lang: string, version: string): void {
  const t = complete(texts, lang);
  const page = base + "/n/" + site + "?lang=" + lang;
  const pageLink = () => make("a", { href: page, target: "_blank", rel: "noopener" }, t.noticePage);
  // A language switch (in the settings) makes it anew in the new language.
  if (dialog && dialog.lang != lang && !dialog.open) {
    dialog.remove();
    dialog = undefined;
  }
  if (!dialog) {
    // The scroll region takes the focus first: arrow keys scroll it.
    const body = make("div", {
      className: "body",
      tabIndex: 0,
      autofocus: true,
      // Links of the table of contents scroll the view, not the page.
      onclick(e) {
        const a = (e.target as Element).closest("a[href^='#']");
        const h = a && root.getElementById(a.getAttribute("href")!.slice(1) + "-h");
        if (!a) return;
        e.preventDefault();
        if (h) {
          h.tabIndex = -1;
          h.focus({ preventScroll: true });
          // instant or smooth, as the region's CSS scroll-behavior says
          h.parentElement!.scrollIntoView();
        }
      },
    });
    body.setAttribute("role", "region");
    body.setAttribute("aria-label", t.notice);
    dialog = modal("consentd-notice", t.notice, lang, t.close, pageLink());
    // The styles of the notice's content come with this script.
    dialog.append(make("style", null, css), body);
    root.append(dialog);
  }
  if (dialog.open) return;
  const body = dialog.lastChild as HTMLElement;
  body.textContent = t.loading;
  dialog.showModal();

  // Fails (and shows the error) on a network error, a non-2xx answer,
  // or a body that is not a notice snapshot in this language.
  (cache[version] =
    cache[version] ||
    fetch(base + "/n/" + site + "/v/" + version, { credentials: "omit" })
      .then((r) => (r.ok ? r.json() : 0))
      .then((n) => {
        if (n.format !== "consentd-notice/1" || n.lang !== lang || typeof n.html != "string") throw 0;
        return n.html as string;
      })).then(
    (html) => {
      // Our own server's output: html/template rendered it with every
      // string of the config escaped (server/notice/fragment.tmpl).
      body.innerHTML = html;
      // The notice's own title (notice.title), as on its page.
      const title = body.querySelector(".cdn")?.getAttribute("data-title");
      if (title) root.getElementById("consentd-notice")!.textContent = title;
      // Links out of the notice open beside the page, not instead of it.
      for (const a of body.querySelectorAll<HTMLAnchorElement>("a[href^=http]")) {
        a.target = "_blank";
        a.rel = "noopener";
      }
      // A table that scrolls sideways (a phone) takes the focus, so the
      // keyboard can scroll it.
      for (const w of body.querySelectorAll<HTMLElement>(".cdn-table")) if (w.scrollWidth > w.clientWidth) w.tabIndex = 0;
    },
    () => {
      delete cache[version]; // try again next time
      body.replaceChildren(make("p", null, t.noticeError + " ", pageLink()));
    },
  );
}
