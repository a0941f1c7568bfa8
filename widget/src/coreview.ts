// Entry point of the widget's later script, served at /w/_core.HASH.js
// (widget.go Core); see core.ts. It sets window.__consentdCore.
import { startCore } from "./core";

(window as unknown as { __consentdCore: typeof startCore }).__consentdCore = startCore;
