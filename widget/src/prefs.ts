// The settings: a modal <dialog id="consentd-prefs"> in the widget's shadow
// root (dom.ts modal()) with a switch per category, each category's
// services (provider, purpose, cookies and their durations), the visitor's
// consent ID and a language switcher. It is made anew on each opening (and
// on a language switch) and removed when it closes. Not in the widget
// bundle: the separate script prefsview.ts, loaded when first needed, so
// it gets the site's configuration from the widget.
import type { Choices, Site } from "./types";
import { complete, type Strings } from "./i18n";
import { button, make, modal } from "./dom";
import css from "./prefs.css";

/** What the settings show, and where the visitor's actions go. */
export interface Prefs {
  /** The site's public configuration (the widget's). */
  site: Site;
  t: Strings;
  lang: string;
  /** Category id → switched on, at opening. */
  on: Choices;
  /** The visitor's consent ID; none before the first decision. */
  id?: string;
  /** The Global Privacy Control signal was honoured: a note says so. */
  gpc: boolean;
  /**
   * A button: "accept-all", "reject-all", "notice", or "save"; ch are the
   * category switches as they are.
   */
  act(a: string, ch: Choices): void;
  /** The language switcher: everything anew in lang, the switches kept (ch). */
  switchLang(lang: string, ch: Choices): void;
}

let dlg: HTMLDialogElement | null = null;

/** Units of cookie durations in the site file → Intl unit names. */
const units: Record<string, string> = { min: "minute", h: "hour", d: "day", mo: "month", y: "year" };

/**
 * A cookie duration of the site file ("30min", "13mo", "session") in the
 * words of lang ("13 months", "13 kuukautta"), by Intl; else as it is.
 */
function duration(d: string, lang: string, t: Strings): string {
  const m = /^(\d+)([a-z]+)$/.exec(d);
  try {
    return m
      ? new Intl.NumberFormat(lang, { style: "unit", unit: units[m[2]], unitDisplay: "long" }).format(+m[1])
      : d == "session" ? t.session : d;
  } catch {
    return d; // a unit Intl does not know
  }
}

/**
 * A switch: <input type="checkbox" role="switch"> in a <label> after
 * text, described by the element with the id desc when given.
 */
function toggle(text: Node, checked: boolean, disabled = false, onchange = () => {}, desc?: string) {
  const i = make("input", { type: "checkbox", checked, disabled, onchange });
  i.setAttribute("role", "switch");
  if (desc) i.setAttribute("aria-describedby", desc);
  return [make("label", { className: "sw" }, text, i), i] as const;
}

/**
 * Opens the settings in the widget's shadow root (or makes them anew, when
 * they are open) and returns their dialog. The focus goes to the first
 * switch that can change; Tab stays inside, Esc closes and the browser
 * returns the focus where it was.
 */
export function openPrefs(root: ShadowRoot, o: Prefs): HTMLDialogElement {
  const { lang, site } = o;
  const t = complete(o.t, lang);
  const read = () => {
    const ch: Choices = {};
    for (const i of d.querySelectorAll<HTMLInputElement>("[data-cat]")) ch[i.dataset.cat!] = i.checked;
    return ch;
  };
  const bar: Node[] = [];
  if (site.languages[1]) {
    // Each language by its own name ("suomi"), from Intl.
    const sel = make("select", {
      onchange() {
        o.switchLang(sel.value, read());
        dlg!.querySelector("select")!.focus();
      },
    });
    for (const l of site.languages) {
      let name = l;
      try {
        name = new Intl.DisplayNames([l], { type: "language" }).of(l) || l;
      } catch {
        // no name: the code
      }
      sel.append(make("option", { value: l, lang: l }, name));
    }
    sel.value = lang;
    sel.setAttribute("aria-label", t.language);
    bar.push(sel);
  }
  const d = modal("consentd-prefs-t", t.settings, lang, t.close, ...bar);
  const body = make("div", { className: "body" }, make("p", { className: "intro" }, t.text + " ", button(t.notice, "link", () => o.act("notice", read()))));
  if (o.gpc) body.append(make("p", { className: "note" }, t.gpc));

  for (const c of site.categories) {
    // With serviceToggles each service has a switch too. The ledger
    // records categories: a category is on only while all its services
    // are, and its switch sets them all.
    const subs: HTMLInputElement[] = [];
    const desc = "consentd-d-" + c.id;
    const [label, sw] = toggle(
      make("span", null, c.label[lang], c.required ? make("small", null, " " + t.alwaysOn) : ""),
      c.required || !!o.on[c.id],
      c.required,
      () => subs.forEach((x) => (x.checked = sw.checked)),
      desc,
    );
    sw.dataset.cat = c.id;
    if (!c.required && !body.querySelector("[autofocus]")) sw.autofocus = true;
    const sec = make("div", { className: "cat" }, label, make("p", { id: desc }, c.description[lang]));
    if (c.services.length) {
      const det = make("details", null, make("summary", null, c.services.map((s) => s.name).join(", ")));
      for (const s of c.services) {
        let top: Node = make("span", null, make("b", null, s.name), " · " + s.provider);
        if (site.banner.serviceToggles && !c.required) {
          const [l, x] = toggle(top, sw.checked, false, () => (sw.checked = subs.every((x) => x.checked)));
          subs.push(x);
          top = l;
        }
        det.append(make(
          "div",
          { className: "svc" },
          top,
          make("p", null, s.purpose[lang]),
          make("ul", null, ...s.cookies.map((k) => make("li", null, k.name + " · " + duration(k.duration, lang, t)))),
        ));
      }
      sec.append(det);
    }
    body.append(sec);
  }

  if (o.id) {
    const code = make("code", null, o.id);
    const copy = button(t.copy, "link", () => {
      // Selected for Ctrl+C too: the clipboard API needs a secure context.
      getSelection()?.selectAllChildren(code);
      navigator.clipboard?.writeText(o.id!).then(() => (copy.textContent = t.copied), () => 0);
    });
    body.append(make("p", null, t.consentId + " ", code, " ", copy));
  }

  const foot = make("div", { className: "actions" });
  for (const [a, l] of [["accept-all", t.acceptAll], ["reject-all", t.rejectAll], ["save", t.save]]) {
    foot.append(button(l, "btn", () => o.act(a, read()), a));
  }
  d.id = "consentd-prefs";
  d.onclose = () => {
    d.remove();
    if (dlg == d) dlg = null;
  };
  d.append(make("style", null, css), body, foot);
  const old = dlg;
  dlg = d;
  // At once, not on its close event: the new one has the same id.
  if (old) old.close(), old.remove();
  root.append(d);
  d.showModal();
  return d;
}
