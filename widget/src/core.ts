// The widget's later script, served at /w/_core.HASH.js (widget.go Core), the
// same for every site: the blocking of marked scripts and iframes, the
// sending of decisions, and the corner link. The page's bundle (main.ts)
// loads it right after its first task, so that the banner does not wait
// for its code, and starts it with window.__consentdCore. A decision made
// before it has loaded is in the send queue and in the decision cookie:
// it is sent and applied when this starts. This interface is kept
// stable: a cached page bundle may meet a newer script.
import { type Page, startBlocking } from "./blocking";
import { type Queue, sender } from "./api";
import { corner, type Shadow } from "./corner";
import { safe } from "./safe";

/** What the page's bundle gives the later script. */
export interface CorePage extends Page {
  /** The API's origin, "" for this page's (main.ts apiBase). */
  base: string;
  /** The widget's shadow root (dom.ts shadow). */
  shadow: Shadow;
  /** The send queue (storage.ts). */
  queue: Queue;
}

/** What the later script does for the page's bundle. */
export interface Core {
  /** Sends the queued decisions (storage.ts enqueue). */
  flush(): void;
  /** Shows or relabels the corner link or the reopen control (corner.ts). */
  corner(label: string, lang: string, onclick: () => void, place?: string): void;
}

/** Starts the blocking and the sending for the page; sends what earlier pages left unsent when the browser is idle. */
export function startCore(page: CorePage): Core {
  const api = sender(page.base, page.queue);
  safe(startBlocking)(page);
  (window.requestIdleCallback || setTimeout)(api.flush);
  return {
    flush: api.flush,
    corner: safe((label: string, lang: string, onclick: () => void, place?: string) => corner(page.shadow, label, lang, onclick, place)),
  };
}
