// The notice view: the site's privacy notice in a modal <dialog> in the
// widget's shadow root. showModal() puts it in the top layer: nothing on
// the page moves, the rest of the page is inert and Esc closes it (the
// native "cancel"); the browser returns focus to where it was.
import type { Strings } from "./i18n";
import { button, make, shadow } from "./dom";

/** Notice HTML per version (a version never changes), or its fetch. */
const cache: Record<string, Promise<string>> = {};

let dialog: HTMLDialogElement | undefined;

/**
 * Opens the notice view for version, the notice of site in lang, fetched
 * from GET {base}/n/{site}/v/{version} (once per page).
 */
export function openNotice(t: Strings, base: string, site: string, lang: string, version: string): void {
  shadow((root) => {
    const page = base + "/n/" + site + "?lang=" + lang;
    const pageLink = () => {
      const a = make("a", t.noticePage);
      a.href = page;
      a.target = "_blank";
      a.rel = "noopener";
      return a;
    };
    if (!dialog) {
      const d = (dialog = make("dialog"));
      d.lang = lang;
      d.setAttribute("aria-labelledby", "consentd-notice");
      const title = make("h2", t.notice);
      title.id = "consentd-notice";
      const bar = make("div");
      bar.className = "bar";
      bar.append(title, pageLink(), button(t.close, "x", () => d.close()));
      // The scroll region takes the focus first: arrow keys scroll it.
      const body = make("div");
      body.className = "body";
      body.tabIndex = 0;
      body.autofocus = true;
      body.setAttribute("role", "region");
      body.setAttribute("aria-label", t.notice);
      // Links of the table of contents scroll the view, not the page.
      body.onclick = (e) => {
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
      };
      // Tab wraps around inside the dialog: the browser would move the
      // focus out of the page after the last link.
      d.onkeydown = (e) => {
        const all = d.querySelectorAll<HTMLElement>("a[href],button,[tabindex='0']");
        const back = e.shiftKey;
        const edge = all[back ? 0 : all.length - 1];
        const a = root.activeElement;
        if (e.key == "Tab" && a && (a == edge || edge.compareDocumentPosition(a) & (back ? 2 : 4))) {
          e.preventDefault();
          all[back ? all.length - 1 : 0].focus();
        }
      };
      d.append(bar, body);
      root.append(d);
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
        // Links out of the notice open beside the page, not instead of it.
        for (const a of body.querySelectorAll<HTMLAnchorElement>("a[href^=http]")) {
          a.target = "_blank";
          a.rel = "noopener";
        }
      },
      () => {
        delete cache[version]; // try again next time
        const p = make("p", t.noticeError + " ");
        p.append(pageLink());
        body.replaceChildren(p);
      },
    );
  });
}
