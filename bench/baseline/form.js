/*! Baseline for bench/form-load.mjs: the demo form as a typical site would build it in plain JS,
 * embedded with one tag like ours: <script src="/form.js" data-form="demo" async></script>.
 * Bundled with esbuild --bundle --minify (IIFE) into .build/baseline/form.js.
 *
 * Same fields, labels, options, styles, markup (classes, ids, aria) and behaviour as the wasm form
 * (crates/form): conditional visibility and progressive profiling re-planned on every input/change,
 * errors shown once a field was left, email checked as typed with a mailcheck "Did you mean" on
 * leaving, phone numbers validated with libphonenumber-js (its default entry, i.e. the "min"
 * metadata, as a typical site imports it), required checks; submit checks every shown field and
 * focuses the first problem. It does not post anything (the benchmark never submits). */
import "./start.js"; // performance.mark("handoff:script"), before any dependency's code runs
import { parsePhoneNumberFromString } from "libphonenumber-js";
import Mailcheck from "mailcheck";
import { CONDITIONS, COUNTRY_CODES, FORM } from "./fields.js";

const MESSAGES = {
  required: "This field is required.",
  emailSyntax: "Enter an email address like name@company.com.",
  emailTooLong: "This email address is too long.",
  emailDomain: "The part after @ must be a domain like company.com.",
  tooLong: "This answer is too long.",
  phone: "Enter a phone number, like +1 415 555 0100.",
  number: "Enter a number.",
  choice: "Choose one of the options.",
};

// The same stylesheet www/embed.js injects, so both forms look and lay out alike.
const CSS = [
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
  ".handoff-error{color:#b3261e;margin:.25rem 0 0;font-size:.875rem;line-height:1.3;min-height:1.3em}",
  ".handoff-suggestion:not([hidden])~.handoff-error:empty{display:none}",
  ".handoff-suggestion{margin:.25rem 0 0;font-size:.875rem;line-height:1.3}",
  ".handoff-suggestion button{font:inherit;font-weight:600;padding:0;border:0;background:none;color:#0b57d0;text-decoration:underline;cursor:pointer}",
  ".handoff-help{color:#4a4a4f;margin:.25rem 0 0;font-size:.875rem}",
  ".handoff-form button[type=submit]{font:inherit;font-weight:600;padding:.625rem 1.25rem;border:0;border-radius:6px;background:#0b57d0;color:#fff;cursor:pointer}",
  ".handoff-form button[type=submit]:disabled{background:#5f6368;cursor:progress}",
  ".handoff-status[data-kind=error]{color:#b3261e}",
  ".handoff-status[data-kind=success]{color:#0d652d;font-weight:600}",
].join("");

// ---- checks -------------------------------------------------------------------------------------

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u00C0-\uFFFF]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u00C0-\uFFFF]+)*$/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9\u00C0-\uFFFF-]{1,63}(?<!-)$/;
const TLD = /^([a-z\u00C0-\uFFFF]{2,}|xn--[a-z0-9-]+)$/;

/** { value } normalized (domain lowercased), or { error }. */
function checkEmail(raw) {
  const address = raw.trim();
  if (address.length > 254) return { error: MESSAGES.emailTooLong };
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return { error: MESSAGES.emailSyntax };
  const local = address.slice(0, at);
  if (local.length > 64) return { error: MESSAGES.emailTooLong };
  if (!LOCAL_PART.test(local)) return { error: MESSAGES.emailSyntax };
  const domain = address.slice(at + 1).toLowerCase();
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((l) => DOMAIN_LABEL.test(l)) || !TLD.test(labels[labels.length - 1])) {
    return { error: MESSAGES.emailDomain };
  }
  return { value: `${local}@${domain}` };
}

/** Folds whitespace; an error past `max` characters. */
function checkLine(raw, max) {
  const value = raw.replace(/\s+/g, " ").trim();
  return value.length > max ? { error: MESSAGES.tooLong } : { value };
}

// ---- rendering ----------------------------------------------------------------------------------

function el(tag, props, parent) {
  const node = document.createElement(tag);
  if (props) for (const key in props) node.setAttribute(key, props[key]);
  if (parent) parent.appendChild(node);
  return node;
}

function text(tag, content, parent, props) {
  const node = el(tag, props, parent);
  node.textContent = content;
  return node;
}

function requiredMark(field, parent) {
  if (field.required) text("span", " *", parent, { "aria-hidden": "true" });
}

function renderField(form, field, id) {
  const row = el("div", { class: "handoff-field", "data-field": field.id, "data-kind": field.type }, form);
  const view = { field, row, controls: [], touched: false, suggestion: null };
  let described;
  const input = (type, inputId, parent) => {
    const node = el("input", { type, id: inputId, name: field.id }, parent);
    view.controls.push(node);
    return node;
  };
  if (field.type === "select") {
    requiredMark(field, text("label", field.label, row, { for: id }));
    const select = el("select", { id, name: field.id }, row);
    if (field.required) select.required = true;
    if (field.autocomplete) select.setAttribute("autocomplete", field.autocomplete);
    text("option", "Choose…", select, { value: "" });
    for (const option of field.options) text("option", option, select, { value: option });
    view.controls.push(select);
    described = select;
  } else if (field.type === "radio") {
    const set = el("fieldset", { id }, row);
    requiredMark(field, text("legend", field.label, set));
    field.options.forEach((option, n) => {
      const item = el("div", { class: "handoff-option" }, set);
      const radio = input("radio", `${id}-${n}`, item);
      radio.value = option;
      radio.required = !!field.required;
      text("label", option, item, { for: `${id}-${n}` });
    });
    described = set;
  } else if (field.type === "consent" || field.type === "checkbox") {
    const box = input("checkbox", id, row);
    box.required = !!field.required;
    requiredMark(field, text("label", field.label, row, { for: id }));
    described = box;
  } else {
    requiredMark(field, text("label", field.label, row, { for: id }));
    const box = input(field.type, id, row);
    box.required = !!field.required;
    if (field.placeholder) box.setAttribute("placeholder", field.placeholder);
    if (field.autocomplete) box.setAttribute("autocomplete", field.autocomplete);
    if (field.max_length) box.setAttribute("maxlength", String(field.max_length));
    described = box;
  }
  if (field.type === "email") {
    const line = el("p", { class: "handoff-suggestion", "aria-live": "polite" }, row);
    line.hidden = true;
    line.append("Did you mean ");
    const button = el("button", { type: "button" }, line);
    line.append("?");
    view.suggestion = { line, button };
  }
  const describedBy = [];
  if (field.help) {
    text("p", field.help, row, { id: `${id}-help`, class: "handoff-help" });
    describedBy.push(`${id}-help`);
  }
  view.error = el("p", { id: `${id}-error`, class: "handoff-error" }, row);
  describedBy.push(`${id}-error`);
  described.setAttribute("aria-describedby", describedBy.join(" "));
  return view;
}

// ---- the live form ------------------------------------------------------------------------------

function mount(target) {
  const prefix = `leadform-${FORM.id}`;
  const form = el("form", { class: "handoff-form", "data-form": FORM.id, "aria-labelledby": `${prefix}-title` });
  form.noValidate = true;
  text("h2", FORM.title, form, { id: `${prefix}-title` });
  if (FORM.intro) text("p", FORM.intro, form, { class: "handoff-intro" });
  const views = FORM.fields.map((field, i) => renderField(form, field, `${prefix}-${i}-${field.id}`));
  const submit = text("button", FORM.submit_label, form, { type: "submit" });
  const status = el("p", { class: "handoff-status", role: "status", "aria-live": "polite" }, form);
  target.appendChild(form);
  const byId = Object.fromEntries(views.map((v) => [v.field.id, v]));

  /** The answer as the DOM holds it: text, the chosen option, whether the box is ticked. */
  function read(view) {
    const { field, controls } = view;
    if (field.type === "radio") return controls.find((c) => c.checked)?.value;
    if (field.type === "consent" || field.type === "checkbox") return controls[0].checked;
    const value = controls[0].value;
    return field.type === "select" && value === "" ? undefined : value;
  }

  const answered = (a) => (typeof a === "string" ? a.trim() !== "" : a !== undefined);

  /** { value } (normalized, undefined when unanswered) or { error }. */
  function verdict(view) {
    const { field } = view;
    const answer = read(view);
    if (field.type === "number" && view.controls[0].validity.badInput) return { error: MESSAGES.number };
    if (!answered(answer) || answer === false) return field.required ? { error: MESSAGES.required } : { value: undefined };
    switch (field.type) {
      case "email":
        return checkEmail(answer);
      case "tel": {
        const country = COUNTRY_CODES[read(byId.country) ?? ""];
        const phone = parsePhoneNumberFromString(answer, country);
        return phone && phone.isValid() ? { value: phone.formatInternational() } : { error: MESSAGES.phone };
      }
      case "number": {
        const value = answer.trim();
        return Number.isFinite(Number(value)) && value.length <= 32 ? { value } : { error: MESSAGES.number };
      }
      case "select":
      case "radio":
        return field.options.includes(answer) ? { value: answer } : { error: MESSAGES.choice };
      case "consent":
      case "checkbox":
        return { value: answer };
      default:
        return checkLine(answer, field.max_length ?? 500);
    }
  }

  /** Which fields show: conditions on earlier shown answers, then at most N new profiling questions
   *  (a new visitor: nothing is known, as in the wasm form). */
  function plan() {
    const answers = {};
    const shown = views.map((view) => {
      const condition = CONDITIONS[view.field.id];
      const visible = condition ? condition(answers) : true;
      const answer = read(view);
      if (visible && answered(answer)) answers[view.field.id] = typeof answer === "string" ? answer.trim() : answer;
      return visible;
    });
    const profiling = FORM.profiling;
    if (profiling) {
      let budget = profiling.max_new_questions;
      const picked = new Set();
      for (const id of profiling.pool) {
        const i = views.indexOf(byId[id]);
        if (i >= 0 && budget > 0 && shown[i]) picked.add(id), budget--;
      }
      views.forEach((view, i) => {
        const { field } = view;
        if (!shown[i] || field.required || answered(read(view))) return;
        if (profiling.pool.includes(field.id)) shown[i] = picked.has(field.id);
      });
    }
    return shown;
  }

  function refreshVisibility() {
    const shown = plan();
    views.forEach((view, i) => {
      if (view.row.hidden === shown[i]) view.row.hidden = !shown[i];
    });
    return shown;
  }

  function showError(view, message) {
    view.error.textContent = message ?? "";
    for (const control of view.controls) control.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function check(view) {
    const result = verdict(view);
    showError(view, result.error);
    return result;
  }

  function offer(view, address) {
    view.suggestion.button.textContent = address ?? "";
    view.suggestion.line.hidden = !address;
  }

  function onChange(view) {
    // Editing: a suggestion about the old text no longer applies.
    if (view.suggestion) offer(view, null);
    refreshVisibility();
    const result = verdict(view);
    if (view.touched) showError(view, result.error);
  }

  function onLeave(view) {
    if (!view.touched && !answered(read(view)) && !view.controls[0].validity.badInput) return;
    view.touched = true;
    const result = check(view);
    const type = view.field.type;
    if (typeof result.value === "string" && (type === "email" || type === "text" || type === "tel" || type === "number")) {
      if (view.controls[0].value !== result.value) view.controls[0].value = result.value;
    }
    if (view.suggestion) {
      let suggestion = null;
      Mailcheck.run({ email: view.controls[0].value.trim(), suggested: (s) => (suggestion = s.full), empty: () => {} });
      offer(view, suggestion);
    }
  }

  for (const view of views) {
    const changed = () => onChange(view);
    view.row.addEventListener("input", changed);
    view.row.addEventListener("change", changed);
    // Moving between the radios of one field is not leaving it.
    view.row.addEventListener("focusout", (event) => {
      if (!(event.relatedTarget && view.row.contains(event.relatedTarget))) onLeave(view);
    });
    if (view.suggestion) {
      view.suggestion.button.addEventListener("click", () => {
        view.controls[0].value = view.suggestion.button.textContent;
        offer(view, null);
        view.touched = true;
        check(view);
        refreshVisibility();
        view.controls[0].focus();
      });
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const shown = refreshVisibility();
    let firstBad = null;
    const answers = {};
    views.forEach((view, i) => {
      if (!shown[i]) return;
      view.touched = true;
      const result = check(view);
      if (result.error) firstBad ??= view;
      else if (result.value !== undefined) answers[view.field.id] = result.value;
    });
    if (firstBad) {
      firstBad.controls[0].focus();
      status.textContent = "Please fix the highlighted field before sending.";
      status.setAttribute("data-kind", "error");
      return;
    }
    // A real site would POST `answers` here; the benchmark never submits.
    for (const view of views) for (const control of view.controls) control.disabled = true;
    submit.hidden = true;
    status.textContent = FORM.success_message;
    status.setAttribute("data-kind", "success");
  });

  refreshVisibility();
}

// ---- embedding: the same steps as www/embed.js ---------------------------------------------------

(function () {
  const script = document.currentScript;
  if (!script) return;
  const selector = script.getAttribute("data-target");
  const target = selector ? document.querySelector(selector) : document.createElement("div");
  if (!selector && script.parentNode) script.parentNode.insertBefore(target, script);
  if (!target || script.getAttribute("data-form") !== FORM.id) {
    console.error("form.js: needs data-form=\"demo\" and, if given, a data-target that exists");
    return;
  }
  target.setAttribute("aria-busy", "true");
  if (!document.querySelector("style[data-leadform]")) {
    const style = el("style", { "data-leadform": "" });
    style.textContent = CSS;
    document.head.appendChild(style);
  }
  mount(target);
  target.removeAttribute("aria-busy");
  // Its fields are created and wired in one task: the first keystroke is taken when both are done.
  if (window.performance && performance.mark) performance.mark("handoff:input"), performance.mark("handoff:interactive");
})();
