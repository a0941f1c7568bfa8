// Browser storage: the decision cookie and the queue of unsent decisions.
// Nothing here throws: cookies and localStorage can be blocked (sandboxed
// iframes, Safari private mode), and then reads give nothing and writes are
// dropped (the queue falls back to memory).
import type { Site, State } from "./types";
import { isUUID, uuid } from "./uuid";

const COOKIE = "consentd";
const QUEUE = "consentd.queue";
const RECEIPTS = "consentd.receipts";

/**
 * Reads the decision cookie. A missing, unreadable or malformed cookie gives
 * null; the caller compares State.v with the current noticeVersion.
 */
export function readState(): State | null {
  try {
    const m = RegExp("(^|;) *" + COOKIE + "=([^;]*)").exec(document.cookie);
    const s = m && JSON.parse(decodeURIComponent(m[2]));
    // A choice other than 1 counts as denied (consent.ts effective()).
    if (s && isUUID(s.id) && typeof s.v == "string" && typeof s.t == "number" && s.c && typeof s.c == "object") {
      // cv and f: compared with the site's (consent.ts currentState).
      return { id: s.id, v: s.v, c: s.c, t: s.t, cv: s.cv, f: s.f };
    }
  } catch {
    // malformed: treat as absent
  }
  return null;
}

/**
 * Writes the decision cookie for the site's consent lifetime, for the
 * site's cookieDomain (so its subdomains share it) when this page is
 * under it, else for this host only. A host-only cookie of an earlier
 * decision is removed then: it would shadow the shared one here.
 */
export function writeState(state: State, site: Site): void {
  const set = (value: string, age: number, domain?: string) =>
    (document.cookie =
      COOKIE + "=" + value + "; Path=/; SameSite=Lax; Max-Age=" + age +
      (domain ? "; Domain=" + domain : "") + (location.protocol == "https:" ? "; Secure" : ""));
  try {
    const d = CD_DOMAIN && site.cookieDomain;
    const h = location.hostname;
    const shared = d && (h == d || h.slice(-d.length - 1) == "." + d) ? d : "";
    if (shared) set("", 0);
    set(encodeURIComponent(JSON.stringify(state)), site.consentExpiryDays * 86400, shared);
  } catch {
    // cookies blocked: the decision still lives in memory for this page
  }
}

/** A decision waiting to be sent to the server. */
export interface Entry {
  /** JSON request body. */
  body: string;
  /** Idempotency-Key of the decision. */
  key: string;
  /** Failed attempts so far. */
  tries: number;
  /** Earliest time of the next attempt, ms since the epoch. */
  next: number;
  /** serverCookie sites only: 1 for the newest decision, whose response may set the cookie, else 0. */
  c?: number;
}

/** Most entries kept; the oldest are dropped first. */
const CAP = 20;

// localStorage works until an access throws; from then on the queue lives in
// memory only (it is still retried on this page).
let persistent = true;
let memory: Entry[] = [];

/** Loads the queue; never throws. */
export function loadQueue(): Entry[] {
  if (persistent) {
    try {
      const list = JSON.parse(localStorage.getItem(QUEUE) || "[]");
      return Array.isArray(list)
        ? list.filter((e) => e && typeof e.body == "string" && typeof e.key == "string")
        : [];
    } catch (e) {
      // corrupt JSON is dropped; a throwing localStorage means memory from now on
      if (!(e instanceof SyntaxError)) persistent = false;
      else return [];
    }
  }
  return memory;
}

/** Saves the queue, keeping at most the newest CAP entries; never throws. */
export function saveQueue(list: Entry[]): void {
  memory = list.slice(-CAP);
  if (!persistent) return;
  try {
    if (memory.length) localStorage.setItem(QUEUE, JSON.stringify(memory));
    else localStorage.removeItem(QUEUE);
  } catch {
    persistent = false; // unavailable or full: memory keeps it
  }
}

/**
 * Queues a decision's request body for sending (api.ts, which sends the
 * queue), with a new Idempotency-Key. With serverCookie only the newest
 * entry may set the cookie: an older one sent later would overwrite it.
 */
export function enqueue(body: string): void {
  const e: Entry = { body, key: uuid(), tries: 0, next: 0 };
  if (CD_SERVER_COOKIE) e.c = 1;
  saveQueue((CD_SERVER_COOKIE ? loadQueue().map((q) => ({ ...q, c: 0 })) : loadQueue()).concat(e));
}

/** Most receipts kept; the oldest are dropped first. */
const KEEP = 10;

/**
 * The server's signed receipts of this browser's stored decisions, oldest
 * first (docs/proof.md): anyone can check one against the server's
 * published keys. Never throws.
 */
export function receipts(): unknown[] {
  try {
    const list = JSON.parse(localStorage.getItem(RECEIPTS) || "[]");
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

/** Keeps the receipt of a stored decision (the newest KEEP); never throws. */
export function keepReceipt(r: unknown): void {
  try {
    localStorage.setItem(RECEIPTS, JSON.stringify(receipts().concat([r]).slice(-KEEP)));
  } catch {
    // unavailable or full: the record is in the ledger all the same
  }
}
