// Language choice and UI strings.
import type { Site } from "./types";
import type en from "./i18n/en.json";
// Only the site's languages (and English when one of them is not built
// in): Build (widget.go) makes this module from src/i18n/<lang>.json.
import bundled from "consentd:i18n";

/** UI strings of the widget in one language. */
export type Strings = typeof en;

const primary = (tag: string | null | undefined): string =>
  (tag || "").split("-")[0].toLowerCase();

/**
 * Picks the language: the primary subtag of <html lang> if the site offers
 * it, else the first of the browser's languages that the site offers, else
 * the site's default language.
 */
export function pickLanguage(site: Site): string {
  const offered = (l: string) => site.languages.indexOf(l) >= 0;
  const page = primary(document.documentElement.lang);
  if (offered(page)) return page;
  const browser = navigator.languages || [navigator.language];
  for (const tag of browser) {
    const l = primary(tag);
    if (offered(l)) return l;
  }
  return site.defaultLanguage;
}

/**
 * UI strings for lang: the built-in ones (English when the widget has no
 * translation for lang), overridden by the site's own texts
 * (site file: strings.<lang>."widget.<key>").
 */
export function strings(site: Site, lang: string): Strings {
  return Object.assign({}, bundled[lang] || bundled.en, site.strings && site.strings[lang]);
}


/**
 * t completed with the built-in texts of the settings and the notice view
 * (in their scripts' consentd:i18n; the page's bundle leaves them out,
 * widget.go viewStrings). The site's own texts in t win.
 */
export const complete = (t: Strings, lang: string): Strings => Object.assign({}, bundled[lang] || bundled.en, t);
