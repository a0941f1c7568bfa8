// Entry point of the notice view script, served at /w/_notice.js
// (widget.go NoticeView). The widget loads it when the visitor first opens
// the privacy notice and calls window.__consentdNotice with its shadow root
// (main.ts). This interface is kept stable: a cached widget bundle may
// meet a newer view script.
import { openNotice } from "./notice";

(window as unknown as { __consentdNotice: typeof openNotice }).__consentdNotice = openNotice;
