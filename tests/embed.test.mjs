// The embed loader (crates/form/js/embed.js, served minified as /embed.js) end to end in real headless Chromium against `wrangler dev`: test
// pages are served on the Worker's own origin through Playwright routes (so the host page is
// first-party, as a marketer's would be), under a strict Content-Security-Policy where it matters.
// What is checked here is the loader's own work: shadow DOM and styles, several forms, data-target,
// deferral below the fold, the visitor token and context, the profile, delivery and its outbox,
// and the DOM events.
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, freshState, launchChromium, randomToken, startWranglerDev } from "./support/edge.mjs";
import { consented } from "./support/consent.mjs";

const ARTIFACTS = join(ROOT, "test-artifacts");
let state, edge, browser, token;

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  state = await freshState();
  token = randomToken();
  edge = await startWranglerDev(state.dir, { adminToken: token });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
  await state?.cleanup();
});

const html = (body, head = "", lang = "en") =>
  `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>embed test</title>${head}</head><body>${body}</body></html>`;

/** The policy README.md documents, and nothing more: no inline script or style, no eval. */
const strictCsp = (origin) =>
  `default-src 'none'; script-src ${origin} 'wasm-unsafe-eval'; connect-src ${origin}; style-src ${origin}; base-uri 'none'; form-action 'none'`;

/**
 * A fresh browser context whose pages on the Worker's origin under /t/ are `pages[path]`
 * ({body, head?, csp?, css?, lang?}). With `spy`, the form module is wrapped so that each `mount`'s options
 * are recorded in `window.__mounts` (the real module is still what attaches to the form). Every
 * handoff:* event and CSP violation is recorded in the page too.
 */
async function open(pages, { spy = false } = {}) {
  const context = await browser.newContext();
  const requests = [];
  context.on("request", (r) => requests.push({ method: r.method(), url: r.url(), headers: r.headers() }));
  await context.route(`${edge.url}/t/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname.endsWith(".css")) {
      return route.fulfill({ contentType: "text/css", body: pages[url.pathname] });
    }
    const p = pages[url.pathname];
    if (!p) return route.fulfill({ status: 404, body: "" });
    const headers = p.csp ? { "content-security-policy": p.csp } : {};
    return route.fulfill({ contentType: "text/html", headers, body: html(p.body, p.head, p.lang) });
  });
  if (spy) {
    // The loader keeps the instantiated module as `__handoff[base].mod`, a promise of `{ mount }`:
    // each page entry it makes gets a `mod` whose `mount` records its options first.
    await context.addInitScript(() => {
      const wrap = (entry) => {
        let mod;
        Object.defineProperty(entry, "mod", {
          get: () => mod,
          set: (p) => (mod = p.then((m) => ({ ...m, mount: (el, answer, options) => ((window.__mounts ||= []).push(options), m.mount(el, answer, options)) }))),
        });
        return entry;
      };
      window.__handoff = new Proxy({}, {
        set: (all, key, value) => ((all[key] = value && typeof value == "object" && "ctx" in value ? wrap(value) : value), true),
      });
    });
  }
  await context.addInitScript(() => {
    window.__events = [];
    window.__violations = [];
    for (const name of ["ready", "change", "submit", "qualified"]) {
      document.addEventListener(`handoff:${name}`, (e) =>
        window.__events.push({ type: e.type, detail: e.detail, host: e.target.id || e.target.tagName }));
    }
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The loader's own console errors count; the browser's network log lines ("Failed to load
  // resource") are what some tests provoke on purpose.
  page.on("console", (m) => m.type() === "error" && !/^Failed to load resource/.test(m.text()) && errors.push(m.text()));
  return { context, page, requests, errors };
}

/** The form shows, and its module has attached (the fields show before it has). */
async function live(page) {
  await page.getByLabel("Work email").first().waitFor();
  await page.waitForFunction(() => window.__events.some((e) => e.type === "handoff:ready"));
}

const tag = (attrs = "") => `<script src="/embed.js" data-form="demo" ${attrs} async></script>`;
const count = (requests, path) => requests.filter((r) => new URL(r.url).pathname === path).length;

test("two forms render in shadow roots with adopted styles under a strict CSP, themed by custom properties", async () => {
  const pages = {
    "/t/csp": {
      csp: strictCsp(edge.url),
      head: `<link rel="stylesheet" href="/t/theme.css">`,
      body: `<main><section id="first">${tag()}</section><section id="second"></section>
             ${tag('data-target="#second"')}</main>`,
    },
    // The host page themes the second form only; the first keeps the defaults.
    "/t/theme.css": "#second{--handoff-accent:#8a1c00;--handoff-radius:0px;--handoff-font:Georgia,serif}",
  };
  const { context, page, requests, errors } = await open(pages);
  await page.goto(`${edge.url}/t/csp`);
  await page.waitForFunction(() => window.__events.filter((e) => e.type === "handoff:ready").length === 2);
  assert.equal(await page.getByLabel("Work email").count(), 2, "two forms");

  const shape = await page.evaluate(() => {
    const hosts = [...document.querySelectorAll("main > section > div, #second")];
    const first = document.querySelector("#first > div");
    const second = document.querySelector("#second");
    const look = (host) => {
      const button = host.shadowRoot.querySelector("button[type=submit]");
      const s = getComputedStyle(button);
      return { bg: s.backgroundColor, radius: s.borderRadius, font: getComputedStyle(host.shadowRoot.querySelector("form")).fontFamily };
    };
    return {
      hosts: hosts.length,
      shadow: [first, second].map((h) => h.shadowRoot?.mode),
      inShadow: [first, second].map((h) => !!h.shadowRoot.querySelector("form.handoff-form")),
      inLight: document.querySelectorAll("form").length,
      sheets: [first, second].map((h) => h.shadowRoot.adoptedStyleSheets.length),
      oneSheet: first.shadowRoot.adoptedStyleSheets[0] === second.shadowRoot.adoptedStyleSheets[0],
      styleElements: document.querySelectorAll("style").length +
        first.shadowRoot.querySelectorAll("style").length + second.shadowRoot.querySelectorAll("style").length,
      // The form's honeypot may also be placed through the CSSOM, which a CSP allows.
      styleAttributes: document.querySelectorAll("[style]").length +
        first.shadowRoot.querySelectorAll("[style]:not(.handoff-hp)").length +
        second.shadowRoot.querySelectorAll("[style]:not(.handoff-hp)").length,
      first: look(first),
      second: look(second),
      busy: [first, second].map((h) => h.getAttribute("aria-busy")),
      marks: ["handoff:script", "handoff:interactive"].map((n) => performance.getEntriesByName(n).length),
      violations: window.__violations,
      ready: window.__events.map((e) => [e.type, e.detail.form]),
    };
  });
  assert.deepEqual(shape.shadow, ["open", "open"]);
  assert.deepEqual(shape.inShadow, [true, true]);
  assert.equal(shape.inLight, 0, "nothing of the form in the host page's own DOM");
  assert.deepEqual(shape.sheets, [1, 1]);
  assert.ok(shape.oneSheet, "one constructed stylesheet shared by every form");
  assert.equal(shape.styleElements, 0, "no <style> element");
  assert.equal(shape.styleAttributes, 0, "no style attribute");
  assert.deepEqual(shape.first, { bg: "rgb(11, 87, 208)", radius: "6px", font: "system-ui, sans-serif" });
  assert.deepEqual(shape.second, { bg: "rgb(138, 28, 0)", radius: "0px", font: "Georgia, serif" });
  assert.deepEqual(shape.busy, [null, null]);
  assert.deepEqual(shape.marks, [2, 1], "a script mark per tag, one interactive mark per page");
  assert.deepEqual(shape.violations, [], "the CSP blocked nothing");
  assert.deepEqual(shape.ready, [["handoff:ready", "demo"], ["handoff:ready", "demo"]]);
  // The module and the wasm are fetched once per page, the spec once per form; a first visit (a
  // token made just now) has no profile to ask for.
  assert.equal(count(requests, "/form/handoff_form.js"), 0, "the module's glue is part of the loader");
  assert.equal(count(requests, "/form/handoff_form_bg.wasm"), 1);
  assert.equal(count(requests, "/v1/profile"), 0);
  assert.equal(count(requests, "/v1/forms/demo"), 2);
  // Playwright's locators reach into the open shadow roots: a form under CSP works as any other.
  const second = page.locator("#second");
  await second.getByLabel("Work email").fill("maria@gmail");
  await second.getByRole("button", { name: "Request a demo" }).click();
  assert.equal(await second.getByLabel("Work email").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("#first").getByLabel("Work email").getAttribute("aria-invalid"), null,
    "the forms are independent");
  await page.screenshot({ path: join(ARTIFACTS, "embed-two-forms-csp.png"), fullPage: true });
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(errors, []);
  await context.close();
});

/** The per-form loader README.md recommends: the loader with the form in it. */
const formTag = (attrs = "") => `<script src="/v1/forms/demo/embed.js" ${attrs} async></script>`;

test("the per-form loader brings its form along: the same form, one round trip less, under a strict CSP", async () => {
  const { context, page, requests, errors } = await open({
    "/t/inline": {
      csp: strictCsp(edge.url),
      body: `<main><section id="first">${formTag()}</section><section id="second">${tag()}</section></main>`,
    },
  });
  await page.goto(`${edge.url}/t/inline`);
  await page.waitForFunction(() => window.__events.filter((e) => e.type === "handoff:ready").length === 2);
  assert.equal(count(requests, "/v1/forms/demo/embed.js"), 1);
  assert.equal(count(requests, "/v1/forms/demo"), 1, "only the generic loader asks for its form");
  assert.equal(count(requests, "/form/handoff_form_bg.wasm"), 1, "one module for both loaders");
  const forms = await page.evaluate(() => {
    const roots = [document.querySelector("#first > div").shadowRoot, document.querySelector("#second > div").shadowRoot];
    return roots.map((root) => {
      const ids = [...root.querySelectorAll("[id]")].map((e) => e.id);
      const refs = [...root.querySelectorAll("[for],[aria-describedby],[aria-labelledby]")]
        .flatMap((e) => ["for", "aria-describedby", "aria-labelledby"].flatMap((a) => (e.getAttribute(a) || "").split(" ").filter(Boolean)));
      return {
        // Each form's ids are its own (handoff-<n>-), and every reference stays inside its form.
        prefixes: [...new Set(ids.map((id) => id.match(/^handoff-\d+-/)?.[0]))],
        unique: new Set(ids).size === ids.length,
        dangling: refs.filter((id) => !root.getElementById(id)),
        html: root.querySelector("form").outerHTML.replace(/handoff-\d+-/g, "handoff-N-"),
      };
    });
  });
  assert.equal(forms[0].prefixes.length, 1);
  assert.equal(forms[1].prefixes.length, 1);
  assert.notDeepEqual(forms[0].prefixes, forms[1].prefixes);
  assert.deepEqual(forms.map((f) => [f.unique, f.dangling]), [[true, []], [true, []]]);
  assert.equal(forms[0].html, forms[1].html, "both loaders show the same form");
  // It works as the other: a check live in each.
  const first = page.locator("#first");
  await first.getByLabel("Work email").fill("maria@gmail");
  await first.getByRole("button", { name: "Request a demo" }).click();
  assert.equal(await first.getByLabel("Work email").getAttribute("aria-invalid"), "true");
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the per-form loader is a cacheable script: revalidated by ETag, refused to origins the form does not allow", async () => {
  const r = await fetch(`${edge.url}/v1/forms/demo/embed.js`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(r.headers.get("cache-control"), "public, max-age=60, stale-while-revalidate=600");
  const body = await r.text();
  const loader = await (await fetch(`${edge.url}/embed.js`)).text();
  assert.ok(body.endsWith(loader), "the loader itself follows the form");
  const form = await (await fetch(`${edge.url}/v1/forms/demo`)).json();
  assert.equal(body.slice(0, body.length - loader.length), `(self.__handoff||(self.__handoff={})).next=()=>(${JSON.stringify(form)});\n`);
  const etag = r.headers.get("etag");
  assert.match(etag, /^"sha256:[0-9a-f]+-[0-9a-f]{16}"$/, "the bundle's version and the loader's build");
  const again = await fetch(`${edge.url}/v1/forms/demo/embed.js`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  await again.arrayBuffer();
  // The spec's own ETag does not stand for the loader.
  const json = await fetch(`${edge.url}/v1/forms/demo/embed.js`, { headers: { "if-none-match": `"${form.bundle_version}"` } });
  assert.equal(json.status, 200);
  await json.arrayBuffer();
  const unknown = await fetch(`${edge.url}/v1/forms/nope/embed.js`);
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, "unknown_form");
  const other = await fetch(`${edge.url}/v1/forms/demo/embed.js`, { headers: { origin: "https://other.example" } });
  assert.equal(other.status, 403);
  await other.arrayBuffer();
});

test("the exact policy README.md documents is enough: styled, with nothing blocked", async () => {
  const { context, page, errors } = await open({
    // style-src falls back to default-src 'none': the page itself may not have a single style.
    "/t/minimal": { csp: `default-src 'none'; script-src ${edge.url} 'wasm-unsafe-eval'; connect-src ${edge.url}`, body: tag() },
  });
  await page.goto(`${edge.url}/t/minimal`);
  await live(page);
  const button = page.getByRole("button", { name: "Request a demo" });
  assert.equal(await button.evaluate((b) => getComputedStyle(b).backgroundColor), "rgb(11, 87, 208)");
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a data-target that cannot have a shadow root gets a <div> inside it that does", async () => {
  const { context, page, errors } = await open({ "/t/list": { body: `<ul id="list"></ul>${tag('data-target="#list"')}` } });
  await page.goto(`${edge.url}/t/list`);
  await live(page);
  assert.equal(await page.evaluate(() => document.querySelector("#list > div").shadowRoot.querySelectorAll("form").length), 1);
  assert.deepEqual(await page.evaluate(() => window.__events.map((e) => e.type)), ["handoff:ready"]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a data-target that does not exist is reported, and nothing else breaks", async () => {
  const { context, page, errors } = await open({ "/t/missing": { body: tag('data-target="#nowhere"') } });
  await page.goto(`${edge.url}/t/missing`);
  await page.waitForFunction(() => performance.getEntriesByName("handoff:script").length === 1);
  assert.equal(await page.locator("form").count(), 0);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /data-target that exists/);
  await context.close();
});

test("a form far below the fold is laid out at once but its module attaches only when scrolled near", async () => {
  const { context, page, requests, errors } = await open({
    "/t/fold": { body: `<div style="height:4000px">tall content</div><div id="far"></div>${tag('data-target="#far"')}` },
  });
  await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/form/handoff_form_bg.wasm"),
    page.waitForResponse((r) => r.url().endsWith("/v1/forms/demo")),
    page.goto(`${edge.url}/t/fold`),
  ]);
  // Module, wasm and spec are already loaded; give the loader time it would need to mount.
  await page.waitForFunction(() => document.querySelector("#far").shadowRoot?.querySelector("form") != null);
  await page.waitForTimeout(500);
  // Its fields take their place on the page (nothing moves when it comes into view), but the
  // module has not attached to them.
  assert.equal(await page.evaluate(() => performance.getEntriesByName("handoff:input").length), 1);
  assert.equal(await page.evaluate(() => performance.getEntriesByName("handoff:interactive").length), 0,
    "not attached while far below the fold");
  assert.equal(await page.evaluate(() => document.querySelector("#far").getAttribute("aria-busy")), "true");
  const before = requests.length;
  await page.evaluate(() => document.querySelector("#far").scrollIntoView());
  await live(page);
  assert.equal(requests.length, before, "nothing more is fetched when the form mounts");
  assert.deepEqual(await page.evaluate(() => window.__events.map((e) => [e.type, e.host])), [["handoff:ready", "far"]]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the visitor token persists, the profile is asked for it and merged with what the page knows", async () => {
  const { context, page, requests, errors } = await open({ "/t/profile": { body: tag() } }, { spy: true });
  await page.goto(`${edge.url}/t/profile`);
  await live(page);
  const visitor = await page.evaluate(() => localStorage.getItem("handoff:visitor"));
  assert.match(visitor, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  let options = (await page.evaluate(() => window.__mounts))[0];
  assert.equal(options.visitor, visitor);
  assert.deepEqual(options.known, {}, "a new visitor: nothing known");

  // A lead with this token teaches the Worker two field ids; the page itself knows another, and an
  // older time for one of the Worker's.
  const r = await fetch(`${edge.url}/v1/leads`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(consented({ form: "demo", visitor, answers: { email: "ana@northwind-example.com", interest: "Pricing", consent: true } })),
  });
  assert.equal(r.status, 201);
  await page.evaluate(() => localStorage.setItem("handoff:known", JSON.stringify({ company: 5, email: 7 })));
  // The next view waits for no request: it starts from the last profile answer (for a token made
  // on the first view, the empty one) and what the page knows, and asks for the next view.
  await page.reload();
  await live(page);
  options = (await page.evaluate(() => window.__mounts))[0];
  assert.equal(await page.evaluate(() => localStorage.getItem("handoff:visitor")), visitor, "the same token after a reload");
  assert.equal(options.visitor, visitor);
  assert.deepEqual(options.known, { company: 5, email: 7 });
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("handoff:profile")).interest > 0);
  await page.reload();
  await live(page);
  options = (await page.evaluate(() => window.__mounts))[0];
  assert.deepEqual(Object.keys(options.known).sort(), ["company", "consent", "email", "interest"]);
  assert.equal(options.known.company, 5);
  assert.ok(options.known.email > 1e12, "the newest time wins");
  const asked = requests.filter((q) => new URL(q.url).pathname === "/v1/profile").map((q) => new URL(q.url).searchParams.get("visitor"));
  assert.deepEqual(asked, [visitor, visitor], "asked on each return visit, once; never on the first");
  // A stored token the Worker would refuse is replaced by a new one.
  await page.evaluate(() => localStorage.setItem("handoff:visitor", "not a token"));
  await page.reload();
  await live(page);
  const renewed = await page.evaluate(() => localStorage.getItem("handoff:visitor"));
  assert.match(renewed, /^[0-9a-f-]{36}$/);
  assert.equal((await page.evaluate(() => window.__mounts))[0].visitor, renewed);
  assert.equal(options.endpoint, `${edge.url}/v1/leads`);
  assert.equal(options.formId, "demo");
  assert.deepEqual(await page.evaluate(() => [typeof window.__mounts[0].deliver, typeof window.__mounts[0].emit]),
    ["function", "function"]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a failing profile endpoint leaves what the page knows", async () => {
  const { context, page, errors } = await open({ "/t/noprofile": { body: tag() } }, { spy: true });
  await context.route(`${edge.url}/v1/profile**`, (route) => route.abort("connectionrefused"));
  await page.addInitScript(() => {
    localStorage.setItem("handoff:visitor", "0123456789abcdef0123");
    localStorage.setItem("handoff:known", JSON.stringify({ role: 42 }));
  });
  await page.goto(`${edge.url}/t/noprofile`);
  await live(page);
  assert.deepEqual((await page.evaluate(() => window.__mounts))[0].known, { role: 42 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("context: campaign, referrer, landing page, pages viewed and visits, as data-context allows", async () => {
  const pages = {
    "/t/landing": { body: `<a id="go" href="/t/pricing?plan=team">pricing</a>${tag()}` },
    "/t/pricing": { body: tag() },
    "/t/session": { body: tag('data-context="session"') },
    "/t/none": { body: tag('data-context="none"') },
  };
  const { context, page, errors } = await open(pages, { spy: true });
  await page.goto(`${edge.url}/t/landing?utm_source=news&utm_medium=email&utm_campaign=spring`, { referer: "https://search.example/q" });
  await live(page);
  let a = (await page.evaluate(() => window.__mounts))[0].attribution;
  const t0 = a.first_seen_ms;
  assert.ok(Math.abs(t0 - Date.now()) < 60_000);
  assert.deepEqual(a, {
    utm: { source: "news", medium: "email", campaign: "spring" },
    referrer: "https://search.example/q",
    landing_page: `${edge.url}/t/landing?utm_source=news&utm_medium=email&utm_campaign=spring`,
    pages: [{ url: "/t/landing?utm_source=news&utm_medium=email&utm_campaign=spring", at_ms: a.pages[0].at_ms }],
    visits: 1,
    first_seen_ms: t0,
  });
  // The next page of the same visit keeps the visit's landing page and campaign.
  await page.click("#go");
  await page.waitForURL(/pricing/);
  await live(page);
  a = (await page.evaluate(() => window.__mounts))[0].attribution;
  assert.deepEqual(a.utm, { source: "news", medium: "email", campaign: "spring" });
  assert.equal(a.landing_page, `${edge.url}/t/landing?utm_source=news&utm_medium=email&utm_campaign=spring`);
  assert.deepEqual(a.pages.map((p) => p.url), ["/t/landing?utm_source=news&utm_medium=email&utm_campaign=spring", "/t/pricing?plan=team"]);
  assert.equal(a.visits, 1);

  // A new tab is a new session: a second visit, same first-seen time, a landing page of its own.
  const tab = await context.newPage();
  await tab.goto(`${edge.url}/t/pricing`);
  await live(tab);
  a = (await tab.evaluate(() => window.__mounts))[0].attribution;
  assert.equal(a.visits, 2);
  assert.equal(a.first_seen_ms, t0);
  assert.equal(a.landing_page, `${edge.url}/t/pricing`);
  assert.equal(a.utm, undefined);
  assert.equal(a.referrer, undefined);
  assert.equal(a.pages.length, 3);

  // session: this page only, and nothing new is stored.
  const stored = () => tab.evaluate(() => [localStorage.getItem("handoff:pages"), localStorage.getItem("handoff:visits")]);
  const kept = await stored();
  await tab.goto(`${edge.url}/t/session?utm_source=ads`);
  await live(tab);
  let options = (await tab.evaluate(() => window.__mounts))[0];
  assert.deepEqual(options.attribution, { utm: { source: "ads" }, landing_page: `${edge.url}/t/session?utm_source=ads` });
  assert.equal(options.visitor, undefined, "no visitor token is sent");
  assert.deepEqual(options.known, {});
  assert.deepEqual(await stored(), kept);

  // none: nothing at all.
  await tab.goto(`${edge.url}/t/none?utm_source=ads`);
  await live(tab);
  options = (await tab.evaluate(() => window.__mounts))[0];
  assert.equal(options.attribution, undefined);
  assert.equal(options.visitor, undefined);
  assert.deepEqual(await stored(), kept);
  assert.deepEqual(errors, []);
  await context.close();
});

/** A lead the Worker accepts, as the form would send it. */
const leadBody = (email, visitor) =>
  JSON.stringify(consented({ form: "demo", visitor, answers: { email, interest: "Pricing", consent: true } }));

const lead = async (id) =>
  (await fetch(`${edge.url}/v1/leads/${id}`, { headers: { authorization: `Bearer ${token}` } })).json();

// Regression (issue 21): the loader stored a visitor token and 50 page views before any consent.
test("data-context=\"consent\": nothing is stored in the browser until the visitor consents in the form", async () => {
  const pages = {
    "/t/c-landing": { body: `<a id="go" href="/t/c-next">next</a>${tag('data-context="consent"')}` },
    "/t/c-next": { body: tag('data-context="consent"') },
  };
  const { context, page, errors } = await open(pages, { spy: true });
  /** Everything the page keeps: localStorage, sessionStorage and cookies. */
  const kept = () => page.evaluate(() => ({
    local: Object.fromEntries(Object.entries(localStorage)),
    session: Object.fromEntries(Object.entries(sessionStorage)),
    cookie: document.cookie,
  }));
  const nothing = { local: {}, session: {}, cookie: "" };
  await page.goto(`${edge.url}/t/c-landing?utm_source=news`);
  await live(page);
  assert.deepEqual(await kept(), nothing, "nothing before consent");
  // The next page of the visit: still nothing kept, and nothing remembered from the first.
  await page.click("#go");
  await page.waitForURL(/c-next/);
  await live(page);
  assert.deepEqual(await kept(), nothing, "nothing before consent, on the next page either");
  const options = (await page.evaluate(() => window.__mounts))[0];
  assert.deepEqual(options.attribution.pages.map((p) => p.url), ["/t/c-next"], "only this page, from memory");
  assert.deepEqual(options.known, {});
  await page.getByLabel("Work email").fill("consent.mode@northwind-example.com");
  await page.getByLabel("Pricing").check();
  assert.deepEqual(await kept(), nothing, "answering is no consent");
  // Consent given in the form: from now on the loader keeps what `full` keeps.
  await page.getByLabel("I agree to be contacted by Northwind Cloud about this request.").check();
  const after = await kept();
  assert.ok(Number.isInteger(JSON.parse(after.local["handoff:consent"])));
  assert.equal(after.local["handoff:visitor"], options.visitor);
  assert.deepEqual(JSON.parse(after.local["handoff:pages"]).map((p) => p.url), ["/t/c-next"]);
  assert.equal(JSON.parse(after.local["handoff:visits"]).count, 1);
  assert.equal(after.cookie, "");
  // The lead goes with the consent the Worker checks and stamps.
  await page.waitForTimeout(3_000);
  await page.getByRole("button", { name: "Request a demo" }).click();
  const form = page.locator("form.handoff-form[data-lead-id]");
  await form.waitFor();
  const lead = await (await fetch(`${edge.url}/v1/leads/${await form.getAttribute("data-lead-id")}`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.equal(lead.visitor, options.visitor);
  assert.equal(lead.attribution.consent.version, "2026-11-01");
  assert.ok(Number.isInteger(lead.attribution.consent.at_ms));
  // A later page knows the consent was given, and stores as `full` does.
  await page.goto(`${edge.url}/t/c-landing`);
  await live(page);
  const later = await kept();
  assert.equal(later.local["handoff:visitor"], options.visitor);
  assert.equal(JSON.parse(later.local["handoff:pages"]).length, 2);
  assert.deepEqual(errors, []);
  await context.close();
});

test("deliver posts once with an Idempotency-Key, retries a 5xx with the same key, and records known fields", async () => {
  const { context, page, requests, errors } = await open({ "/t/deliver": { body: tag() } }, { spy: true });
  await page.goto(`${edge.url}/t/deliver`);
  await live(page);
  // The first two tries meet a storage outage; the third reaches the Worker.
  let failures = 2;
  await context.route(`${edge.url}/v1/leads`, (route) =>
    failures-- > 0
      ? route.fulfill({ status: 503, contentType: "application/json", body: '{"error":{"code":"storage_unavailable","message":"x"}}' })
      : route.continue(),
  );
  const visitor = await page.evaluate(() => localStorage.getItem("handoff:visitor"));
  const started = Date.now();
  const answer = await page.evaluate((body) => window.__mounts[0].deliver(body), leadBody("tom@northwind-example.com", visitor));
  assert.ok(Date.now() - started >= 1_400, "backoff of 0.5 s, then 1 s");
  assert.equal(answer.status, 201);
  assert.match(answer.body.id, /^[0-9a-f-]{36}$/);
  const posts = requests.filter((r) => r.method === "POST");
  assert.equal(posts.length, 3);
  assert.equal(new Set(posts.map((r) => r.headers["idempotency-key"])).size, 1, "one key for every try");
  assert.match(posts[0].headers["idempotency-key"], /^[0-9a-f-]{36}$/);
  assert.equal(posts[0].headers["content-type"], "application/json");
  assert.equal((await lead(answer.body.id)).email, "tom@northwind-example.com");
  const known = await page.evaluate(() => JSON.parse(localStorage.getItem("handoff:known")));
  assert.deepEqual(Object.keys(known).sort(), ["consent", "email", "interest"]);
  // A refusal is an answer, not a failure: returned at once, not queued.
  const refused = await page.evaluate((body) => window.__mounts[0].deliver(body), leadBody("tom@gmail", visitor));
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error.code, "validation_failed");
  assert.equal(await page.evaluate(() => localStorage.getItem("handoff:outbox")), null);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a Worker that keeps failing: five tries with backoff, then the outbox, sent on the next load with the same key", async () => {
  const { context, page, requests, errors } = await open({ "/t/outage": { body: tag() } }, { spy: true });
  await page.goto(`${edge.url}/t/outage`);
  await live(page);
  await context.route(`${edge.url}/v1/leads`, (route) =>
    route.fulfill({ status: 503, contentType: "application/json", body: '{"error":{"code":"storage_unavailable","message":"x"}}' }));
  const started = Date.now();
  const answer = await page.evaluate((body) => window.__mounts[0].deliver(body), leadBody("ines@northwind-example.com"));
  assert.deepEqual(answer, { queued: true });
  assert.ok(Date.now() - started >= 7_000, "0.5 + 1 + 2 + 4 s of backoff");
  const keys = requests.filter((r) => r.method === "POST").map((r) => r.headers["idempotency-key"]);
  assert.equal(keys.length, 5);
  assert.equal(new Set(keys).size, 1);
  const [entry] = await page.evaluate(() => JSON.parse(localStorage.getItem("handoff:outbox")));
  assert.equal(entry.key, keys[0]);
  await context.unroute(`${edge.url}/v1/leads`);
  const sent = page.waitForResponse((r) => r.request().headers()["idempotency-key"] === entry.key);
  await page.reload();
  const created = await (await sent).json();
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("handoff:outbox")).length === 0);
  assert.equal((await lead(created.id)).email, "ines@northwind-example.com");
  assert.deepEqual(errors, []);
  await context.close();
});

test("offline, a submission is queued and sent once when the browser is back online", async () => {
  const { context, page, errors } = await open({ "/t/offline": { body: tag() } }, { spy: true });
  await page.goto(`${edge.url}/t/offline`);
  await live(page);
  await context.setOffline(true);
  const answer = await page.evaluate((body) => window.__mounts[0].deliver(body), leadBody("olga@northwind-example.com"));
  assert.deepEqual(answer, { queued: true });
  const [entry] = await page.evaluate(() => JSON.parse(localStorage.getItem("handoff:outbox")));
  assert.match(entry.key, /^[0-9a-f-]{36}$/);
  assert.equal(JSON.parse(entry.body).answers.email, "olga@northwind-example.com");
  const sent = page.waitForResponse((r) => r.url().endsWith("/v1/leads") && r.request().headers()["idempotency-key"] === entry.key);
  await context.setOffline(false);
  const created = await (await sent).json();
  await page.waitForFunction(() => JSON.parse(localStorage.getItem("handoff:outbox")).length === 0);
  assert.equal((await lead(created.id)).email, "olga@northwind-example.com");
  assert.deepEqual(errors, []);
  await context.close();
});

test("the outbox is flushed on the next page load with its keys, so each lead is stored once", async () => {
  const { context, page, errors } = await open({ "/t/outbox": { body: tag() } });
  const good = { body: leadBody("rui@northwind-example.com"), key: crypto.randomUUID(), at: Date.now() - 60_000 };
  const bad = { body: JSON.stringify({ form: "demo", answers: { email: "rui@gmail" } }), key: crypto.randomUUID(), at: Date.now() };
  const seed = (entries) => page.evaluate((e) => localStorage.setItem("handoff:outbox", JSON.stringify(e)), entries);
  const flushed = async () => {
    const r = page.waitForResponse((r) => r.request().headers()["idempotency-key"] === good.key);
    await page.reload();
    const answer = await r;
    await page.waitForFunction(() => JSON.parse(localStorage.getItem("handoff:outbox")).length === 0);
    return [answer.status(), (await answer.json()).id];
  };
  await page.goto(`${edge.url}/t/outbox`);
  await seed([good, bad]);
  const [status, id] = await flushed();
  assert.equal(status, 201);
  assert.equal((await lead(id)).email, "rui@northwind-example.com");
  assert.ok(errors.some((e) => /queued lead was refused/.test(e)), "the refused entry is logged and dropped");
  // The same entry sent again (a second tab flushed it too) is the same lead, not a second one.
  await seed([good]);
  const [, again] = await flushed();
  assert.equal(again, id);
  await context.close();
});

test("emit dispatches handoff:* events that bubble out of the shadow root", async () => {
  const { context, page, errors } = await open({ "/t/events": { body: `<div id="box"></div>${tag('data-target="#box"')}` } }, { spy: true });
  await page.goto(`${edge.url}/t/events`);
  await live(page);
  await page.evaluate(() => {
    const { emit } = window.__mounts[0];
    emit("change", { form: "demo", field: "email" });
    emit("submit", { form: "demo" });
    emit("qualified", { form: "demo", lifecycle: "sql", lead_id: "x" });
  });
  assert.deepEqual(await page.evaluate(() => window.__events), [
    { type: "handoff:ready", detail: { form: "demo" }, host: "box" },
    { type: "handoff:change", detail: { form: "demo", field: "email" }, host: "box" },
    { type: "handoff:submit", detail: { form: "demo" }, host: "box" },
    { type: "handoff:qualified", detail: { form: "demo", lifecycle: "sql", lead_id: "x" }, host: "box" },
  ]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a country field is named in the page's language and ordered by name; the lead stores the code", async () => {
  const demo = await readFile(join(ROOT, "config/demo.toml"), "utf8");
  const where = `
[[forms]]
id = "where"
title = "Where are you based?"
submit_label = "Send"
success_message = "Thanks"

[[forms.fields]]
id = "email"
label = "Work email"
type = "email"
required = true

[[forms.fields]]
id = "hq"
label = "Headquarters"
type = "country"
required = true
`;
  const put = (text) => fetch(`${edge.url}/v1/config`, {
    method: "PUT", body: text, headers: { "content-type": "application/toml", authorization: `Bearer ${token}` },
  });
  const up = await put(demo + where);
  assert.equal(up.status, 200, await up.text());
  try {
    const served = await (await fetch(`${edge.url}/v1/forms/where`)).json();
    const codes = served.form.fields[1].options;
    assert.ok(codes.length > 240 && codes.includes("DE") && codes.every((c) => /^[A-Z]{2}$/.test(c)), "every code of the shipped list");
    const page = (lang) => ({ lang, body: `<script src="/embed.js" data-form="where" async></script>` });
    // "en_US" is no language tag: the browser's own language names the countries instead.
    const { context, page: de, errors } = await open({ "/t/de": page("de"), "/t/en": page("en_US") });
    const options = async (p) => {
      const select = p.getByLabel("Headquarters");
      await select.waitFor();
      return select.evaluate((s) => [...s.options].map((o) => [o.value, o.textContent]));
    };
    await de.goto(`${edge.url}/t/de`);
    const shown = await options(de);
    assert.deepEqual(shown[0], ["", "Choose…"]);
    assert.equal(shown.length, codes.length + 1);
    const named = new Map(shown.slice(1));
    assert.deepEqual(["DE", "AT", "CH", "US"].map((c) => named.get(c)), ["Deutschland", "Österreich", "Schweiz", "Vereinigte Staaten"]);
    // By German name, not by code: Afghanistan, Ägypten, Albanien (EG would come after DE by code).
    const position = (code) => shown.findIndex(([c]) => c === code);
    assert.ok(position("AF") < position("EG") && position("EG") < position("AL"), JSON.stringify(shown.slice(1, 5)));
    await de.getByLabel("Work email").fill("ines@northwind-example.com");
    await de.getByLabel("Headquarters").selectOption("DE");
    await de.getByRole("button", { name: "Send" }).click();
    await de.waitForFunction(() => window.__events.some((e) => e.type === "handoff:qualified"));
    const { lead_id } = await de.evaluate(() => window.__events.find((e) => e.type === "handoff:qualified").detail);
    const stored = await lead(lead_id);
    assert.equal(stored.answers.hq, "DE", JSON.stringify(stored));
    assert.equal(stored.evaluation.country_code, "DE");

    const en = await context.newPage();
    await en.goto(`${edge.url}/t/en`);
    const english = new Map((await options(en)).slice(1));
    assert.deepEqual(["DE", "AT", "CH"].map((c) => english.get(c)), ["Germany", "Austria", "Switzerland"]);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    assert.equal((await put(demo)).status, 200);
  }
});
