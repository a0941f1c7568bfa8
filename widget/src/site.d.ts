// The site configuration is not a file: Build (widget.go) serves it as the
// virtual JSON module "consentd:site", so it is minified with the code.
declare module "consentd:site" {
  const site: import("./types").Site;
  export default site;
}

// The built-in UI strings of the site's languages, language → strings
// (src/i18n/<lang>.json); Build (widget.go) makes it for each site.
declare module "consentd:i18n" {
  const strings: Record<string, import("./i18n").Strings>;
  export default strings;
}

// The site's optional features, each true only in the bundle of a site
// that uses it (widget.go, features): the others' code is dropped.
declare const CD_GCM: boolean;
declare const CD_UET: boolean;
declare const CD_CLARITY: boolean;
declare const CD_CLOSE: boolean;
declare const CD_DOMAIN: boolean;
declare const CD_GPC_REJECT: boolean;
declare const CD_SERVER_COOKIE: boolean;
declare const CD_INFO: boolean;

// The later script's file name under /w/, "_core.HASH.js" (widget.go
// CoreFile): a bundle loads the build it was made with.
declare const CD_CORE: string;
