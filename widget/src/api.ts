// Sending decisions to the server. A decision is written to the queue
// (storage.ts enqueue, by the page's bundle) before it is sent and leaves
// it only when the server has answered 2xx (stored) or another 4xx (will
// never be accepted), so one that is in flight when the page
// unloads is sent again on the next page load; its Idempotency-Key lets the
// server drop the duplicate. Failures (network, 429, 5xx) are retried with
// exponential back-off (1 s, 2 s, 4 s ... 60 s) or after Retry-After. Part
// of the widget's later script (core.ts).
import { type Entry, keepReceipt } from "./storage";

/**
 * The send queue, as the page's bundle keeps it (storage.ts loadQueue and
 * saveQueue): its copy, since the queue lives in that module's memory
 * when localStorage is blocked.
 */
export interface Queue {
  load(): Entry[];
  save(list: Entry[]): void;
}

/** Posts the queued decisions to one consentd server. */
export interface Sender {
  /** Sends every queued decision that is due and schedules the others. */
  flush(): void;
}

const MAX_DELAY = 60e3;

/** Makes a Sender of queue for the API at base (an origin, or "" for this page's). */
export function sender(base: string, queue: Queue): Sender {
  const url = base + "/v1/consent";
  const inFlight: Record<string, boolean> = {};
  let timer: ReturnType<typeof setTimeout> | undefined;

  // The queue is re-read on every change: another tab may have changed it.
  const update = (key: string, change: (e: Entry) => Entry | null) =>
    queue.save(
      queue
        .load()
        .map((e) => (e.key == key ? change(e) : e))
        .filter((e): e is Entry => !!e),
    );

  const attempt = (e: Entry) => {
    inFlight[e.key] = true;
    const settle = (change: (e: Entry) => Entry | null) => {
      delete inFlight[e.key];
      update(e.key, change);
      schedule();
    };
    const failed = (after: number) =>
      settle((q) => ({ ...q, tries: q.tries + 1, next: Date.now() + (after || backoff(q.tries)) }));
    try {
      const h: Record<string, string> = { "Content-Type": "application/json", "Idempotency-Key": e.key };
      // serverCookie (its entries have c): the API is on this origin;
      // the newest decision's response sets the decision cookie too
      // (server/cookie.go).
      if (e.c) h["Consentd-Cookie"] = "1";
      fetch(url, {
        method: "POST",
        headers: h,
        body: e.body,
        keepalive: true,
        credentials: e.c != null ? "same-origin" : "omit",
      }).then(
        (res) => {
          if (res.ok) {
            settle(() => null);
            // The signed receipt, for the visitor to keep (docs/proof.md).
            return res.json().then((b) => b && b.receipt && keepReceipt(b.receipt), () => 0);
          }
          if (res.status == 429 || res.status >= 500) {
            return failed(retryAfter(res.headers.get("Retry-After")));
          }
          console.warn("consentd: decision refused, HTTP " + res.status);
          settle(() => null);
        },
        () => failed(0),
      );
    } catch {
      failed(0); // no fetch at all
    }
  };

  // One timer, set for the earliest entry not in flight. It wakes at least
  // every MAX_DELAY, so a far Retry-After or a clock change cannot stall it.
  const schedule = () => {
    clearTimeout(timer);
    let first = Infinity;
    for (const e of queue.load()) if (!inFlight[e.key]) first = Math.min(first, e.next);
    if (first < Infinity) {
      timer = setTimeout(flush, Math.min(MAX_DELAY, Math.max(0, first - Date.now())));
    }
  };

  const flush = () => {
    try {
      const now = Date.now();
      for (const e of queue.load()) if (!inFlight[e.key] && e.next <= now) attempt(e);
      schedule();
    } catch {
      // never throw into the host page (this also runs from a timer)
    }
  };

  return { flush };
}

/** Delay before the next try after `tries` earlier failures: 1 s, 2 s, 4 s ... 60 s. */
const backoff = (tries: number) => Math.min(MAX_DELAY, 1e3 * 2 ** tries);

/** Retry-After (seconds or an HTTP date) in ms; 0 when absent or unusable. */
function retryAfter(h: string | null): number {
  if (!h) return 0;
  const ms = /^\d+$/.test(h.trim()) ? +h * 1e3 : Date.parse(h) - Date.now();
  return ms > 0 ? ms : 0;
}
