// Shapes shared by the widget modules. The Site shape mirrors the public
// site JSON (config.PublicSite) that Build (widget.go) inlines as the
// virtual module "consentd:site", without the fields the widget does not
// use (pruneSite: the site's name and policy version, services' URLs,
// cookies' descriptions, and the settings that are feature flags:
// banner.closeRejects → CD_CLOSE, gpcInOptIn → CD_GPC_REJECT, site.d.ts).

/** A text in several languages, keyed by language code ("fi", "sv", "en"). */
export type Localized = Record<string, string>;

/** One cookie or storage entry set by a service. */
export interface SiteCookie {
  /** Name; "*" matches any text (blocking.ts deletes them on withdrawal). */
  name: string;
  /** "session", or a number and a unit: min, h, d, mo or y ("13mo"). */
  duration: string;
}

/** One third-party (or first-party) service within a category. */
export interface Service {
  name: string;
  provider: string;
  purpose: Localized;
  cookies: SiteCookie[];
}

/** A consent category such as "necessary", "analytics" or "marketing". */
export interface Category {
  id: string;
  required: boolean;
  /** A "sale or sharing" under US state laws: GPC denies it in opt-out regions. */
  saleShare?: boolean;
  label: Localized;
  description: Localized;
  services: Service[];
}

/** The public site configuration. */
export interface Site {
  id: string;
  languages: string[];
  defaultLanguage: string;
  /**
   * Notice version per language: the SHA-256 of exactly what the visitor
   * is shown. A stored decision is valid only for a current version.
   */
  noticeVersions: Localized;
  consentExpiryDays: number;
  categories: Category[];
  /** The widget's look. */
  banner: {
    layout: "bar" | "box" | "cloud";
    position: string;
    /** A switch per service in the settings too (prefs.ts). */
    serviceToggles?: boolean;
    /** Where the control that reopens the settings floats, or "off". */
    reopen: string;
  };
  /**
   * What consent is given to, hashed (config/site ConsentVersionOf): a
   * decision for another one asks again; a refusal only after
   * reaskAfterRejectDays.
   */
  consentVersion: string;
  /** The site's own consentVersion label: a change asks everyone again. */
  forced?: string;
  reaskAfterRejectDays: number;
  /** The decision cookie's Domain (shared by the subdomains), or none. */
  cookieDomain?: string;
  /** Microsoft UET and Clarity: signal → categories that must all be granted. */
  signals?: { uet?: string[]; clarity?: Record<string, string[]> };
  /** Google Consent Mode v2: signal → categories that must all be granted. */
  consentMode?: { signals: Record<string, string[]>; waitForUpdate: number };
  /** The site's overrides of the widget's texts, per language. */
  strings?: Record<string, Record<string, string>>;
}

/** Choices per category id. */
export type Choices = Record<string, boolean>;

/**
 * The stored decision, exactly as kept (JSON, URI-encoded) in the first-party
 * cookie "consentd". It is also what window.consentd.get() returns and the
 * detail of the "consentd:change" event.
 */
export interface State {
  /** Consent id (UUID v4), kept across decisions. */
  id: string;
  /** noticeVersion the decision was made for. */
  v: string;
  /** 1 = granted, 0 = denied, per category id. */
  c: Record<string, 0 | 1>;
  /** Time of the decision, Unix seconds. */
  t: number;
  /** The site's consentVersion the decision was made for. */
  cv?: string;
  /** The site's forced label then ("" when none). */
  f?: string;
}

/**
 * How a decision was made; sent to the server as "method": a button of
 * the banner or the settings (Save is "custom"), the Global Privacy Control
 * signal in an opt-out region ("gpc"), or consentd.withdraw().
 */
export type Method = "accept_all" | "reject_all" | "custom" | "gpc" | "withdraw" | "close";

/** Body of POST /v1/consent. */
export interface ConsentRequest {
  site: string;
  consentId: string;
  choices: Choices;
  method: Method;
  noticeVersion: string;
  language: string;
  url: string;
}
