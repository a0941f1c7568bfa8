// Shapes shared by the widget modules. The Site shape mirrors the public
// site JSON that the server renders into the virtual module "consentd:site".

/** A text in several languages, keyed by language code ("fi", "sv", "en"). */
export type Localized = Record<string, string>;

/** One cookie or storage entry set by a service. */
export interface SiteCookie {
  name: string;
  duration: string;
  description: Localized;
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
  name: string;
  languages: string[];
  defaultLanguage: string;
  /**
   * Notice version per language: the SHA-256 of exactly what the visitor
   * is shown. A stored decision is valid only for a current version.
   */
  noticeVersions: Localized;
  policyVersion: string;
  consentExpiryDays: number;
  categories: Category[];
  /** The widget's look. */
  banner: {
    layout: "bar" | "box";
    position: string;
    theme?: Record<string, string>;
    dark?: Record<string, string>;
    serviceToggles?: boolean;
  };
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
}

/** How a decision was made; sent to the server as "method". */
export type Method = "accept_all" | "reject_all" | "custom";

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
