/*! Handoff loader: <script src="https://HOST/v1/forms/ID/embed.js" async></script>. See README. */
import "./start.js";
// The form module's wasm-bindgen glue, bundled in (built into www/form/ first).
import { initSync, mount } from "../../../www/form/handoff_form.js";

(() => {
  "use strict";
  const W = window, perf = W.performance, doc = document, now = Date.now;
  const mark = (n) => perf && perf.mark && perf.mark(n);
  // Shared by the page's forms: module (instantiated once), styles, context, outbox, and (mode
  // `consent`) what waits in memory for consent. The Worker's per-form loader
  // (GET /v1/forms/ID/embed.js) is this script after a statement that leaves a function giving
  // the form's answer (spec, compiled conditions, markup) in `next`, taken here first.
  const all = W.__handoff || (W.__handoff = {}), inline = all.next && all.next();
  delete all.next;
  const script = doc.currentScript;
  if (!script || !script.src) return;
  const attr = (n) => script.getAttribute("data-" + n);
  // The per-form loader is served by the Worker under /v1/, the module beside /embed.js.
  const formId = inline ? inline.form.id : attr("form"), selector = attr("target");
  const base = new URL(inline ? "/" : ".", script.src);
  const api = (attr("api") || base.origin).replace(/\/$/, "");
  // `consent` is `full` that keeps everything in memory until the visitor consents in a form.
  const mode = attr("context") || "full", full = mode == "full" || mode == "consent";
  let host = selector ? doc.querySelector(selector) : doc.createElement("div");
  if (!selector && script.parentNode) script.parentNode.insertBefore(host, script);
  if (!host || !formId) return console.error("handoff: embed.js needs data-form and, if given, a data-target that exists");
  host.setAttribute("aria-busy", "true");

  // A stored `handoff:consent` says that consent was given.
  const page = all[base.href] || (all[base.href] = { ctx: {}, mem: {} });
  const held = () => mode == "consent" && !page.granted;
  const get = (k, d) => {
    if (held()) return k in page.mem ? page.mem[k] : d;
    try { const v = JSON.parse(localStorage.getItem(k)); return v == null ? d : v; } catch (e) { return d; }
  };
  const put = (k, v) => {
    if (held()) return void (page.mem[k] = v);
    try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) {}
  };
  if (mode == "consent" && !page.granted) try { page.granted = !!localStorage.getItem("handoff:consent"); } catch (e) {}
  // randomUUID needs a secure context (https); elsewhere 128 random bits in hex.
  const uuid = () => crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join("");
  const json = (r) => r.json();
  const omit = { credentials: "omit" };

  const spec = inline ? Promise.resolve(inline) : fetch(api + "/v1/forms/" + encodeURIComponent(formId), omit).then((r) => {
    if (!r.ok) throw new Error("form spec answered " + r.status);
    return json(r);
  });

  // Visitor token and known fields (ids and times, never answers): `full` only.
  let visitor, known = Promise.resolve({}), knownNow = {};
  if (full) {
    let fresh = false;
    try {
      if (held()) throw 0;
      visitor = localStorage.getItem("handoff:visitor");
      // A token the Worker would refuse (16-64 of [A-Za-z0-9_-]) is replaced.
      if (!/^[\w-]{16,64}$/.test(visitor)) localStorage.setItem("handoff:visitor", (visitor = uuid())), (fresh = true);
    } catch (e) { fresh = !page.visitor; visitor = page.visitor || (page.visitor = uuid()); }
    // A token made just now has no profile yet: a first visit asks the Worker nothing, and the
    // next view starts from that empty profile while it asks.
    if (fresh) put("handoff:profile", {});
    // A returning visitor's last profile answer is used at once and refreshed for the next view,
    // so no page view waits for it but the first after the visitor's first lead.
    const cached = get("handoff:profile", null);
    const asked = page.profile || fresh ? 0 : fetch(api + "/v1/profile?visitor=" + encodeURIComponent(visitor), omit)
      .then((r) => (r.ok ? json(r) : {})).then((p) => (put("handoff:profile", (p = (p && p.known) || {})), p)).catch(() => ({}));
    page.profile = page.profile || (fresh ? Promise.resolve({}) : cached ? Promise.resolve(cached) : asked);
    const merge = (remote) => {
      const merged = {};
      for (const m of [remote, get("handoff:known", {})])
        for (const k in m) if (typeof m[k] == "number" && !(merged[k] >= m[k])) merged[k] = m[k];
      return merged;
    };
    // What the page's first form could use at once (null: it waits for the Worker's answer).
    if (!("remote" in page)) page.remote = fresh ? {} : cached;
    knownNow = page.remote && merge(page.remote);
    known = page.profile.then(merge);
  }

  const emit = (name, detail) =>
    host.dispatchEvent(new CustomEvent("handoff:" + name, { detail, bubbles: true, composed: true }));

  // A shadow root per form (in a <div> if the target cannot have one).
  let root = host;
  try { root = host.shadowRoot || host.attachShadow({ mode: "open" }); } catch (e) {
    try { root = host.appendChild(doc.createElement("div")).attachShadow({ mode: "open" }); } catch (e) {}
  }
  const v = (name, d) => `var(--handoff-${name},${d})`;
  const accent = v("accent", "#0b57d0"), error = v("error", "#b3261e"), radius = v("radius", "6px");
  const f = ".handoff-field", box2 = `${f}[data-kind=checkbox],${f}[data-kind=consent]`;
  const css = page.css || (page.css = `:host{display:block;min-height:1px}
.handoff-form{font:16px/1.5 ${v("font", "system-ui,sans-serif")};color:${v("text", "#1d1d1f")};max-width:${v("max-width", "28rem")}}
.handoff-form h2{font-size:1.25rem;margin:0 0 .5rem}
${f}{margin:0 0 1rem}
${f}[hidden],${f}[data-kind=hidden]{display:none}
${f}>label,${f} legend{display:block;font-weight:600;margin-bottom:.25rem;padding:0}
${f} fieldset{border:0;margin:0;padding:0;min-width:0}
${f} input:not([type=checkbox]):not([type=radio]),${f} select,${f} textarea{box-sizing:border-box;width:100%;padding:.5rem .625rem;font:inherit;color:inherit;background:${v("field-bg", "#fff")};border:1px solid ${v("border", "#6e6e73")};border-radius:${radius}}
${f} textarea{min-height:6rem;resize:vertical}
.handoff-option,${box2}{display:flex;gap:.5rem;align-items:flex-start;flex-wrap:wrap}
.handoff-option{margin:.25rem 0}
${f} input[type=checkbox],${f} input[type=radio]{width:1.125rem;height:1.125rem;margin:.2rem 0 0;accent-color:${accent};flex:none}
${f}[data-kind=checkbox]>label,${f}[data-kind=consent]>label{display:inline;font-weight:400;flex:1}
${f}[data-kind=checkbox] .handoff-error,${f}[data-kind=consent] .handoff-error{flex-basis:100%}
${f} [aria-invalid=true]{border-color:${error}}
.handoff-form :focus-visible{outline:3px solid ${accent};outline-offset:2px}
.handoff-error{color:${error};margin:.25rem 0 0;font-size:.875rem;line-height:1.3;min-height:1.3em}
.handoff-suggestion:not([hidden])~.handoff-error:empty{display:none}
.handoff-suggestion{margin:.25rem 0 0;font-size:.875rem;line-height:1.3}
.handoff-suggestion button{font:inherit;font-weight:600;padding:0;border:0;background:none;color:${accent};text-decoration:underline;cursor:pointer}
.handoff-help{color:${v("muted", "#4a4a4f")};margin:.25rem 0 0;font-size:.875rem}
.handoff-form button[type=submit]{font:inherit;font-weight:600;padding:.625rem 1.25rem;border:0;border-radius:${radius};background:${accent};color:${v("accent-text", "#fff")};cursor:pointer}
.handoff-form button[type=submit]:disabled{background:#5f6368;cursor:progress}
.handoff-status[data-kind=error]{color:${error}}
.handoff-status[data-kind=success]{color:${v("success", "#0d652d")};font-weight:600}
.handoff-next{color:${accent};font-weight:600}
.handoff-status[data-kind=queued]{color:${v("muted", "#4a4a4f")}}
.handoff-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.handoff-hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}`);
  // CSP-safe: one constructed stylesheet for all shadow roots; <style> only without adoptedStyleSheets.
  if (root != host && root.adoptedStyleSheets && W.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    if (!page.sheet) (page.sheet = new CSSStyleSheet()).replaceSync(css);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, page.sheet];
  } else {
    const style = doc.createElement("style");
    style.textContent = css;
    (root == host ? doc.head : root).appendChild(style);
  }
  const box = root.appendChild(doc.createElement("div"));
  // Mode `consent`: ticking a consent box in the form is the consent. From then on the loader
  // stores as `full` does, starting with what waited in memory (token, visits, pages).
  if (held()) box.addEventListener("change", (e) => {
    const t = e.target;
    if (!held() || !t.checked || !t.closest("[data-kind=consent]")) return;
    page.granted = true;
    try {
      localStorage.setItem("handoff:consent", JSON.stringify(now()));
      if (visitor) localStorage.setItem("handoff:visitor", visitor);
      if (page.mem.landing) sessionStorage.setItem("handoff:landing", page.mem.landing);
    } catch (err) {}
    for (const k in page.mem) if (k != "landing") put(k, page.mem[k]);
  });

  // A country field's options come as ISO codes: each is named in the page's language (its
  // `lang`, else the browser's) and the list ordered by name. Without Intl.DisplayNames the codes
  // stay, in code order. The form module reads only the values.
  const nameCountries = () => {
    const lists = box.querySelectorAll('[data-kind="country"] select');
    if (!lists.length || !W.Intl || !Intl.DisplayNames) return;
    const region = { type: "region" }, lang = doc.documentElement.lang;
    let locales = lang ? [lang] : [], names;
    try { names = new Intl.DisplayNames(locales, region); } catch (e) { names = new Intl.DisplayNames((locales = []), region); }
    const order = new Intl.Collator(locales).compare;
    for (const list of lists) {
      const options = [...list.options].slice(1);
      for (const o of options) o.textContent = names.of(o.value) || o.value;
      for (const o of options.sort((a, b) => order(a.textContent, b.textContent))) list.appendChild(o);
    }
  };
  // The form's markup, as the Worker rendered it from the same spec (handoff_core::markup): a
  // tree of elements and text, built node by node (never parsed as HTML), so the visitor can type
  // before the module has loaded. Until the module attaches, a submit (the button, or Enter in a
  // field) waits for it instead of leaving the page; what was typed meanwhile is kept and checked.
  // Its ids are relative: each id, and each id an attribute refers to, gets `handoff-<n>-`, n the
  // form's number on the page, so that several forms never share one.
  let form, live, pending, shownMs;
  const refs = { id: 1, for: 1, "aria-labelledby": 1, "aria-describedby": 1 };
  const build = (n, ids) => {
    if (typeof n == "string") return doc.createTextNode(n);
    const el = doc.createElement(n[0]);
    for (const k in n[1]) el.setAttribute(k, refs[k] ? n[1][k].replace(/\S+/g, (id) => ids + id) : n[1][k]);
    for (let i = 2; i < n.length; i++) el.appendChild(build(n[i], ids));
    return el;
  };
  const show = (answer) => {
    if (form) return;
    form = box.appendChild(build(answer.markup, "handoff-" + (all.forms = (all.forms || 0) + 1) + "-"));
    shownMs = now();
    form.addEventListener("submit", (e) => live || (e.preventDefault(), (pending = 1)));
    nameCountries();
  };
  // The fields take keystrokes once the task that built them ends: the mark comes last.
  const input = () => form && !page.input && (mark("handoff:input"), (page.input = 1));
  // Shown at once unless the visitor is known: progressive profiling may then ask other questions,
  // which only the module can plan.
  if (inline && knownNow && !Object.keys(knownNow).length) show(inline);
  else Promise.all([spec, known]).then(([answer, known]) => Object.keys(known).length || (show(answer), input()), () => {});
  // The module is asked for once the form shows (a first fetch costs the page a few ms the visitor
  // would wait for); its glue is part of this script. It is compiled as one piece when it has
  // arrived: V8 compiles wasm functions lazily, so that takes a millisecond or two, where the
  // streaming compile's hops between threads cost several for a module this size. The wasm is
  // named by the hash of its content and the glue's (set by the build), so browsers keep it for
  // good.
  if (!page.mod) {
    page.mod = fetch(new URL("form/handoff_form_bg.wasm?v=" + MODULE_VERSION, base).href).then((r) => {
      if (!r.ok) throw new Error("form module answered " + r.status);
      return r.arrayBuffer();
    }).then((bytes) => (initSync({ module: new WebAssembly.Module(bytes) }), { mount }));
    page.mod.catch(() => {});
  }
  // The rest waits for the next task, so that the fields take the visitor's first keystroke
  // as soon as this one ends: the context, the outbox, and attaching the module when it comes.
  setTimeout(() => {
    const attribution = mode == "none" ? undefined : page.ctx[mode] || (page.ctx[mode] = (() => {
      const l = location, q = new URLSearchParams(l.search), utm = {}, t = now();
      for (const k of ["source", "medium", "campaign", "term", "content"]) if (q.get("utm_" + k)) utm[k] = q.get("utm_" + k);
      let here = { landing_page: l.origin + l.pathname + l.search };
      if (Object.keys(utm).length) here.utm = utm;
      if (doc.referrer) here.referrer = doc.referrer;
      if (!full) return here;
      try {
        // A visit is a browser session; its first page is the landing page.
        const s = held() ? page.mem.landing : sessionStorage.getItem("handoff:landing");
        if (s) here = JSON.parse(s);
        else {
          if (held()) page.mem.landing = JSON.stringify(here);
          else sessionStorage.setItem("handoff:landing", JSON.stringify(here));
          const v = get("handoff:visits", { count: 0, first_seen_ms: t });
          v.count++;
          put("handoff:visits", v);
        }
      } catch (e) {}
      const pages = get("handoff:pages", []).concat({ url: l.pathname + l.search, at_ms: t }).slice(-50);
      put("handoff:pages", pages);
      const v = get("handoff:visits", {});
      here.pages = pages;
      if (v.count) { here.visits = v.count; here.first_seen_ms = v.first_seen_ms; }
      return here;
    })());

    // One Idempotency-Key per submission, kept for retries and the outbox: each lead is stored once.
    const post = (body, key, to) =>
      fetch((to || api) + "/v1/leads", {
        method: "POST", body, credentials: "omit",
        headers: { "content-type": "application/json", "idempotency-key": key },
      }).then((r) => json(r).catch(() => null).then((b) => {
        if (r.ok && full) try {
          const k = get("handoff:known", {});
          for (const id in JSON.parse(body).answers) k[id] = now();
          put("handoff:known", k);
        } catch (e) {}
        return { status: r.status, body: b };
      }));
    const outbox = (f) => put("handoff:outbox", f([].concat(get("handoff:outbox", []))));
    const flush = async () => {
      if (page.flushing) return;
      page.flushing = 1;
      for (const e of get("handoff:outbox", [])) {
        try {
          const a = await post(e.body, e.key, e.api);
          if (a.status >= 500 || a.status == 429) continue;
          if (a.status >= 300) console.error("handoff: a queued lead was refused", a.status, a.body);
          outbox((o) => o.filter((x) => x.key != e.key));
        } catch (err) {}
      }
      page.flushing = 0;
    };
    if (!page.outbox) {
      page.outbox = 1;
      W.addEventListener("online", flush);
      flush();
    }
    const deliver = (body) => new Promise((done) => {
      const key = uuid();
      let tries = 0;
      const queue = () => {
        outbox((o) => o.concat({ body, key, at: now(), api }).slice(-20));
        done({ queued: true });
      };
      const attempt = () => {
        if (navigator.onLine === false) return queue();
        post(body, key).then((a) => {
          // 429 (too many submissions from this client) waits like a server error: never dropped.
          if (a.status < 500 && a.status != 429) return done(a);
          throw a;
        }).catch(() => (++tries >= 5 ? queue() : setTimeout(attempt, 250 << tries))); // 0.5, 1, 2, 4 s
      };
      attempt();
    });

    const near = new Promise((ok) => {
      if (!W.IntersectionObserver) return ok();
      const io = new IntersectionObserver((es) => {
        if (es.some((e) => e.isIntersecting)) { io.disconnect(); ok(); }
      }, { rootMargin: "200px" });
      io.observe(host);
    });

    // Below the fold, the form waits for the observer; near or in view, for nothing more (one
    // layout read when all else is ready, instead of the observer's first callback a frame later).
    const inView = () => {
      const r = host.getBoundingClientRect();
      return r.top < innerHeight + 200 && r.bottom > -200;
    };

    Promise.all([page.mod, spec, known])
      .then((ready) => (inView() ? ready : near.then(() => ready)))
      .then(([mod, answer, known]) => {
        show(answer);
        // The fill time counts from when the visitor first saw the fields.
        const options = { endpoint: api + "/v1/leads", formId, known, deliver, emit, shownMs };
        if (visitor) options.visitor = visitor;
        if (attribution) options.attribution = attribution;
        try {
          mod.mount(box, answer, options);
        } catch (e) {
          // A module that reads only { endpoint } refuses other options before attaching.
          if (!/bad_options/.test(e && e.message)) throw e;
          mod.mount(box, answer, { endpoint: options.endpoint });
        }
        live = 1;
        host.removeAttribute("aria-busy");
        input();
        if (!page.interactive) mark("handoff:interactive"), (page.interactive = 1);
        emit("ready", { form: formId });
        if (pending) form.dispatchEvent(new Event("submit", { cancelable: true }));
      })
      .catch((error) => {
        host.removeAttribute("aria-busy");
        const text = "This form could not be loaded. Please refresh the page or try again later.";
        const status = form && form.querySelector(".handoff-status");
        // The answers typed so far stay on the page; only sending is off.
        if (status) (status.textContent = text), status.setAttribute("data-kind", "error"), form.querySelector("[type=submit]").setAttribute("disabled", "");
        else box.textContent = text;
        console.error("handoff:", error);
      });
  });
  input();
})();