/*! Handoff embed loader. Usage: <script src="https://HOST/embed.js" data-form="ID" async></script>
 * Renders the form where the tag stands, or into data-target="#selector". Loads the form module
 * and the form's spec in parallel; never blocks the host page. */
(function () {
  "use strict";
  // Performance marks the host page (and bench/form-load.mjs) can read: script start to interactive.
  if (window.performance && performance.mark) performance.mark("handoff:script");
  var script = document.currentScript;
  if (!script || !script.src) return;
  var formId = script.getAttribute("data-form");
  var base = new URL(".", script.src);
  var api = (script.getAttribute("data-api") || base.origin).replace(/\/$/, "");
  var selector = script.getAttribute("data-target");
  var target = selector ? document.querySelector(selector) : document.createElement("div");
  if (!selector && script.parentNode) script.parentNode.insertBefore(target, script);
  if (!target || !formId) {
    console.error("handoff: embed.js needs data-form and, if given, a data-target that exists");
    return;
  }
  target.setAttribute("aria-busy", "true");

  if (!document.querySelector("style[data-handoff]")) {
    var style = document.createElement("style");
    style.setAttribute("data-handoff", "");
    style.textContent = [
      ".handoff-form{font:16px/1.5 system-ui,sans-serif;color:#1d1d1f;max-width:28rem}",
      ".handoff-form h2{font-size:1.25rem;margin:0 0 .5rem}",
      ".handoff-field{margin:0 0 1rem}",
      ".handoff-field[hidden],.handoff-field[data-kind=hidden]{display:none}",
      ".handoff-field>label,.handoff-field legend{display:block;font-weight:600;margin-bottom:.25rem;padding:0}",
      ".handoff-field fieldset{border:0;margin:0;padding:0;min-width:0}",
      ".handoff-field input:not([type=checkbox]):not([type=radio]),.handoff-field select,.handoff-field textarea{box-sizing:border-box;width:100%;padding:.5rem .625rem;font:inherit;color:inherit;background:#fff;border:1px solid #6e6e73;border-radius:6px}",
      ".handoff-field textarea{min-height:6rem;resize:vertical}",
      ".handoff-option,.handoff-field[data-kind=checkbox],.handoff-field[data-kind=consent]{display:flex;gap:.5rem;align-items:flex-start;flex-wrap:wrap}",
      ".handoff-option{margin:.25rem 0}",
      ".handoff-field input[type=checkbox],.handoff-field input[type=radio]{width:1.125rem;height:1.125rem;margin:.2rem 0 0;accent-color:#0b57d0;flex:none}",
      ".handoff-field[data-kind=checkbox]>label,.handoff-field[data-kind=consent]>label{display:inline;font-weight:400;flex:1}",
      ".handoff-field[data-kind=checkbox] .handoff-error,.handoff-field[data-kind=consent] .handoff-error{flex-basis:100%}",
      ".handoff-field [aria-invalid=true]{border-color:#b3261e}",
      ".handoff-form :focus-visible{outline:3px solid #0b57d0;outline-offset:2px}",
      // Room for an error is reserved, so a message appearing never moves the button under a click;
      // a "Did you mean" line takes the empty error's place for the same reason.
      ".handoff-error{color:#b3261e;margin:.25rem 0 0;font-size:.875rem;line-height:1.3;min-height:1.3em}",
      ".handoff-suggestion:not([hidden])~.handoff-error:empty{display:none}",
      ".handoff-suggestion{margin:.25rem 0 0;font-size:.875rem;line-height:1.3}",
      ".handoff-suggestion button{font:inherit;font-weight:600;padding:0;border:0;background:none;color:#0b57d0;text-decoration:underline;cursor:pointer}",
      ".handoff-help{color:#4a4a4f;margin:.25rem 0 0;font-size:.875rem}",
      ".handoff-form button[type=submit]{font:inherit;font-weight:600;padding:.625rem 1.25rem;border:0;border-radius:6px;background:#0b57d0;color:#fff;cursor:pointer}",
      ".handoff-form button[type=submit]:disabled{background:#5f6368;cursor:progress}",
      ".handoff-status[data-kind=error]{color:#b3261e}",
      ".handoff-status[data-kind=success]{color:#0d652d;font-weight:600}"
    ].join("");
    document.head.appendChild(style);
  }

  var moduleUrl = new URL("form/handoff_form.js", base).href;
  var wasmUrl = new URL("form/handoff_form_bg.wasm", base).href;
  var spec = fetch(api + "/v1/forms/" + encodeURIComponent(formId), { credentials: "omit" })
    .then(function (r) {
      if (!r.ok) throw new Error("form spec answered " + r.status);
      return r.json();
    });
  Promise.all([import(moduleUrl), spec])
    .then(function (loaded) {
      var mod = loaded[0], answer = loaded[1];
      return mod.default({ module_or_path: wasmUrl }).then(function () {
        mod.mount(target, answer, { endpoint: api + "/v1/leads" });
        target.removeAttribute("aria-busy");
        if (window.performance && performance.mark) performance.mark("handoff:interactive");
      });
    })
    .catch(function (error) {
      target.removeAttribute("aria-busy");
      target.textContent = "This form could not be loaded. Please refresh the page or try again later.";
      console.error("handoff:", error);
    });
})();
