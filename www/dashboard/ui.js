// What every dashboard page shares: the session (the bearer token the user enters once per browser
// tab, in sessionStorage: it is gone when the tab closes, so a shared laptop keeps no credential;
// the dashboard keeps a reports token, the configuration page an admin token, each under its own
// key), requests to the admin API, and DOM helpers. Nothing the API returns is ever parsed
// as HTML: every text goes through textContent (`el`'s children are text nodes or elements).
const SVG = "http://www.w3.org/2000/svg";
// The sessionStorage key of this page's token, set by `session`.
let KEY = "handoff.reportsToken";
export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
  return node;
}

export const pct = (r) => (r == null ? "–" : `${(r * 100).toFixed(r >= 0.1 ? 0 : 1)}%`);

export function duration(ms) {
  if (ms == null) return "–";
  const neg = ms < 0 ? "−" : "";
  const m = Math.abs(ms) / 60_000;
  if (m < 1) return `${neg}${Math.round(Math.abs(ms) / 1000)} s`;
  if (m < 90) return `${neg}${Math.round(m)} min`;
  if (m < 48 * 60) return `${neg}${(m / 60).toFixed(1)} h`;
  return `${neg}${(m / 1440).toFixed(1)} d`;
}

export class Unauthorized extends Error {}

/** A request to the admin API with the session's token: the response when it is `ok` or its
 * status is one of `accept` (e.g. 422, whose body says what is wrong); `Unauthorized` on 401. */
export async function api(path, { accept = [], headers = {}, ...init } = {}) {
  const r = await fetch(path, { ...init, headers: { ...headers, authorization: `Bearer ${sessionStorage.getItem(KEY)}` } });
  if (r.status === 401) throw new Unauthorized();
  if (!r.ok && !accept.includes(r.status)) {
    const code = await r.json().then((b) => b?.error?.code, () => null);
    throw new Error(`${path}: ${r.status}${code ? ` ${code}` : ""}`);
  }
  return r;
}

/** A table with a caption: the accessible form of every chart, and the only form of lists. */
export function table(caption, headers, rows, { hidden = false, numeric = [] } = {}) {
  const t = el("table", {}, el("caption", {}, caption));
  t.append(el("thead", {}, el("tr", {}, ...headers.map((h, i) => el("th", { scope: "col", class: numeric.includes(i) ? "n" : "" }, h)))));
  t.append(el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c, i) =>
    el("td", { class: numeric.includes(i) ? "n" : "" }, c ?? "–"))))));
  // A hidden table is the text alternative of a chart: read by screen readers, never seen.
  return hidden ? el("div", { class: "visually-hidden" }, t) : t;
}

/** A wide table that scrolls sideways on a phone: a labelled region keyboard users can focus. */
export function scroll(t) {
  return el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": t.querySelector("caption").textContent }, t);
}

/** Shows the page's data (`#panels`, and the header's controls `#range`) instead of the sign-in
 * form, or the sign-in form instead of them. */
export function signedIn(on) {
  $("panels").hidden = !on;
  $("range").hidden = !on;
  $("signin").hidden = on;
}

/** The page's session for `role` ("reports" or "admin"): the sign-in form (`#signin`, `#token`, `#signin-error`), the sign-out
 * button (`#signout`) and the status line (`#status`). `load` shows the page's data (and calls
 * `signedIn(true)` once it has); signing out hides it again. Returns `signOut(message)`. */
export function session(load, role) {
  KEY = `handoff.${role}Token`;
  const signOut = (message = "") => {
    sessionStorage.removeItem(KEY);
    signedIn(false);
    $("signin-error").textContent = message;
    $("status").textContent = "";
    $("token").focus();
  };
  $("signin").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    load();
  });
  $("signout").addEventListener("click", () => signOut());
  if (sessionStorage.getItem(KEY)) load();
  else signOut();
  return signOut;
}

/** What a failed load says: the sign-in form again for a refused token, else the reason. */
export function failed(signOut, e) {
  if (e instanceof Unauthorized) return signOut("That token was not accepted.");
  $("status").textContent = `The data could not be loaded (${e.message}).`;
}
