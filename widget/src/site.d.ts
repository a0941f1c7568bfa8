// The site configuration is not a file: Build (widget.go) serves it as the
// virtual JSON module "consentd:site", so it is minified with the code.
declare module "consentd:site" {
  const site: import("./types").Site;
  export default site;
}
