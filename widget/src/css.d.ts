// Build (widget.go) minifies .css files and imports them as a string.
declare module "*.css" {
  const css: string;
  export default css;
}
