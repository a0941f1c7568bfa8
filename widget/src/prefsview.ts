// Entry point of the settings script, served at /w/_prefs.js (widget.go
// PrefsView). The widget loads it when the banner is first touched or
// the settings are first opened, and calls window.__consentdPrefs with
// its shadow root and the site (main.ts). This interface is kept stable:
// a cached widget bundle may meet a newer settings script.
import { openPrefs } from "./prefs";

(window as unknown as { __consentdPrefs: typeof openPrefs }).__consentdPrefs = openPrefs;
