// The configuration page: what is active, and a candidate configuration tried on past leads before
// it goes live. `POST /v1/config/preview` checks the TOML as activation would and replays the last
// days' leads through it and through the active configuration (docs/CONFIG.md, "What a change
// would have done"); the page shows the totals and the changed leads, and activates exactly the
// text it previewed with `PUT /v1/config`. Every text the API returns goes through textContent.
import { $, api, el, failed, scroll, session, signedIn, table } from "./ui.js";

/** The kinds of change a preview reports, in its order, as the page names them. */
const KINDS = {
  assignee: "Owner or queue",
  lifecycle: "Stage",
  score: "Score",
  disqualification: "Disqualified",
  merged: "Merged into an earlier lead",
  sla: "First-touch deadline",
  arm: "Experiment arm",
};
/** Each kind's field of an outcome. */
const FIELDS = { assignee: "assignee", lifecycle: "lifecycle", score: "score", disqualification: "disqualification",
  merged: "merged_into", sla: "first_touch_due", arm: "arm" };

/** The text last previewed, and its version: what Activate sends. */
let previewed = null;

const when = (ms) => new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
/** `owner:maya` → `maya`; `queue:triage` → `triage (queue)`; none → not routed. */
function holder(key) {
  if (key == null || key === "(none)") return "not routed";
  const [kind, id] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
  return kind === "queue" ? `${id} (queue)` : id;
}
function value(kind, v) {
  if (v == null) return "none";
  if (kind === "assignee") return holder(v);
  if (kind === "sla") return when(Date.parse(v));
  return String(v);
}
const signed = (n) => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : "0");

/** The active configuration's forms (`GET /v1/config`), for the lead to try. */
let forms = [];

async function loadActive() {
  const { active, history, forms: list = [] } = await (await api("/v1/config")).json();
  if (JSON.stringify(list) !== JSON.stringify(forms)) {
    forms = list;
    const chosen = $("try-form").value;
    $("try-form").replaceChildren(...forms.map((f) => el("option", { value: f.id }, `${f.title} (${f.id})`)));
    if (forms.some((f) => f.id === chosen)) $("try-form").value = chosen;
    fields();
  }
  const current = history.find((h) => h.version === active);
  $("active").replaceChildren(
    el("p", {}, active
      ? `Version ${active}${current?.activated_at ? `, activated ${when(current.activated_at)}` : ""}.`
      : "No configuration is active yet."),
    ...(history.length > 1
      ? [table("Earlier activations, newest first", ["version", "activated"],
        history.filter((h) => h.version !== active).slice(0, 5).map((h) => [h.version, h.activated_at ? when(h.activated_at) : "–"]))]
      : []));
  return active;
}

async function load() {
  $("status").textContent = "Loading…";
  try {
    await loadActive();
    signedIn(true);
    $("status").textContent = "";
    document.body.dataset.loaded = "true";
  } catch (e) {
    failed(signOut, e);
  }
}

/** Selects line `line` of the configuration text, so a problem's place is one click away. */
function goTo(line) {
  const text = $("toml").value;
  let start = 0;
  for (let l = 1; l < line && start !== -1; l++) start = text.indexOf("\n", start) + 1 || -1;
  if (start < 0) start = text.length;
  const end = text.indexOf("\n", start);
  $("toml").focus();
  $("toml").setSelectionRange(start, end === -1 ? text.length : end);
}

function problems(list) {
  $("result").hidden = true;
  $("problems").hidden = false;
  const rows = list.map((p) => [el("button", { type: "button", class: "link", "data-line": p.line },
    `Line ${p.line}, column ${p.column}`), el("code", {}, p.code), p.message]);
  $("problem-list").replaceChildren(scroll(table(`${list.length} problem${list.length === 1 ? "" : "s"} found`,
    ["where", "code", "problem"], rows)));
  $("h-problems").focus();
}

function result(p) {
  const s = p.summary;
  $("problems").hidden = true;
  $("result").hidden = false;
  const same = p.version === p.active;
  const notes = [];
  if (p.truncated) notes.push(`Only the first ${s.leads} leads of the period were replayed.`);
  if (p.skipped) notes.push(`${p.skipped} lead${p.skipped === 1 ? " was" : "s were"} left out: their form is not in both configurations.`);
  $("verdict").textContent = [
    s.leads === 0 ? `No lead arrived in the last ${p.days} days: there is nothing to compare.`
      : same ? `This is the active configuration (${p.version}): replaying it changes nothing.`
        : `${s.changed} of ${s.leads} leads from the last ${p.days} days would have had a different outcome.`,
    ...notes].join(" ");
  $("totals").replaceChildren(...[
    ["Leads replayed", s.leads],
    ["Would change", s.changed],
    ["Breached the first-touch deadline, now", s.breached.before],
    ["… with this configuration", s.breached.after],
  ].map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, String(v)))));
  const kinds = Object.keys(KINDS).filter((k) => s.changes[k]);
  $("changes").replaceChildren(kinds.length
    ? table("Leads per kind of change", ["what changes", "leads"], kinds.map((k) => [KINDS[k], String(s.changes[k])]), { numeric: [1] })
    : el("p", { class: "hint" }, "No lead's outcome changes."));
  const counts = (caption, first, map, name) => table(caption, [first, "now", "with this configuration", "difference"],
    Object.entries(map).sort(([a], [b]) => a.localeCompare(b))
      .map(([k, c]) => [name(k), String(c.before), String(c.after), signed(c.after - c.before)]), { numeric: [1, 2, 3] });
  $("assignees").replaceChildren(scroll(counts("Leads per owner and queue", "owner or queue", s.assignees, holder)));
  $("lifecycles").replaceChildren(scroll(counts("Leads per stage", "stage", s.lifecycles, (k) => (k === "(none)" ? "invalid" : k))));
  const lines = (outcome, changed) => el("ul", { class: "plain" },
    ...changed.map((k) => el("li", {}, `${KINDS[k]}: ${value(k, outcome[FIELDS[k]])}`)));
  const who = (l) => el("span", { class: "who" }, ...[l.lead?.name, l.lead?.email, l.lead?.company, l.id]
    .filter((t, i, all) => t && all.indexOf(t) === i).slice(0, 3).map((t) => el("span", {}, t)));
  const listed = p.changed.map((l) => [who(l), when(Date.parse(l.at)), lines(l.before, l.changed), lines(l.after, l.changed)]);
  $("changed").replaceChildren(...(listed.length
    ? [scroll(table(s.changed > listed.length ? `The first ${listed.length} of ${s.changed} changed leads`
      : "The changed leads", ["lead", "arrived", "now", "with this configuration"], listed))]
    : []));
  $("activate").disabled = same;
  $("activated").textContent = same ? "This configuration is already active." : "";
}

async function preview(e) {
  e.preventDefault();
  const text = $("toml").value;
  const days = $("preview-days").value;
  $("preview").disabled = true;
  $("status").textContent = `Replaying the last ${days} days…`;
  try {
    const r = await api(`/v1/config/preview?days=${days}`, {
      method: "POST", body: text, headers: { "content-type": "application/toml" }, accept: [422],
    });
    const body = await r.json();
    if (r.status === 422) {
      previewed = null;
      problems(body.error.problems);
      $("status").textContent = "The configuration has problems.";
      return;
    }
    previewed = { text, version: body.version };
    result(body);
    $("status").textContent = `Previewed ${body.version} over ${body.summary.leads} leads.`;
  } catch (e) {
    failed(signOut, e);
  } finally {
    $("preview").disabled = false;
  }
}

async function activate() {
  if (!previewed || previewed.text !== $("toml").value) return;
  $("activate").disabled = true;
  try {
    const r = await api("/v1/config", {
      method: "PUT", body: previewed.text, headers: { "content-type": "application/toml" }, accept: [422],
    });
    const body = await r.json();
    if (r.status === 422) return problems(body.error.problems);
    $("activated").textContent = body.changed
      ? `Activated ${body.version}${body.previous ? ` (it replaces ${body.previous})` : ""}. New leads are judged by it from now on.`
      : "This configuration is already active.";
    await loadActive();
  } catch (e) {
    $("activate").disabled = false;
    failed(signOut, e);
  }
}

const countryName = (() => {
  try {
    const names = new Intl.DisplayNames([document.documentElement.lang || "en"], { type: "region" });
    return (code) => names.of(code) ?? code;
  } catch {
    return (code) => code;
  }
})();

/** The chosen form's fields as inputs, each labelled with its question. */
function fields() {
  const form = forms.find((f) => f.id === $("try-form").value);
  const inputs = (form?.fields ?? []).map((f) => {
    const id = `answer-${f.id}`;
    const label = el("label", { for: id }, `${f.label || f.id}${f.required ? " (required)" : ""}${f.type === "hidden" ? " (hidden field)" : ""}`);
    if (f.type === "checkbox" || f.type === "consent") {
      return el("div", { class: "check" }, el("input", { id, type: "checkbox", "data-answer": f.id, "data-type": f.type }), label);
    }
    if (f.options.length) {
      const select = el("select", { id, "data-answer": f.id, "data-type": f.type, ...(f.type === "multi-select" ? { multiple: "" } : {}) },
        ...(f.type === "multi-select" ? [] : [el("option", { value: "" }, "—")]),
        ...f.options.map((o) => el("option", { value: o }, f.type === "country" ? `${countryName(o)} (${o})` : o)));
      return el("div", {}, label, select);
    }
    const type = { email: "email", tel: "tel", number: "number" }[f.type] ?? "text";
    return el("div", {}, label, el("input", { id, type, "data-answer": f.id, "data-type": f.type }));
  });
  $("try-fields").replaceChildren(...inputs);
}

/** The lead the inputs describe, as `handoff route` reads a line. */
function tried() {
  const answers = {};
  for (const input of $("try-fields").querySelectorAll("[data-answer]")) {
    const id = input.dataset.answer;
    if (input.type === "checkbox") {
      if (input.checked) answers[id] = true;
    } else if (input.multiple) {
      const chosen = [...input.selectedOptions].map((o) => o.value);
      if (chosen.length) answers[id] = chosen;
    } else if (input.value.trim() !== "") {
      answers[id] = input.value.trim();
    }
  }
  const utm = {};
  if ($("try-source").value.trim()) utm.source = $("try-source").value.trim();
  if ($("try-campaign").value.trim()) utm.campaign = $("try-campaign").value.trim();
  return { form: $("try-form").value, answers, attribution: { utm }, context: { fill_ms: 60_000 } };
}

/** Where the lead went, in words: who and why, its stage and score, its deadlines, who was passed over. */
function where(answer) {
  const p = answer.place;
  const out = [];
  const version = answer.candidate ? `the configuration in the box (${answer.version})` : `the active configuration (${answer.version})`;
  if (!p.valid) {
    out.push(el("p", { class: "place" }, "Not routed: the lead would be refused."),
      el("ul", {}, ...p.issues.map((i) => el("li", {}, `${i.field ?? "the lead"}: ${i.message ?? i.code}`))));
  } else if (!p.assignee) {
    out.push(el("p", { class: "place" }, `Not routed${p.disqualification ? `: ${p.disqualification.reason} (${p.disqualification.rule})` : ""}.`));
  } else {
    out.push(el("p", { class: "place" }, p.route?.summary ?? `${p.assignee.kind} ${p.assignee.id}`));
  }
  const rows = [["With", version], ["Stage", p.lifecycle ?? "–"],
    ["Score", p.score ? `${p.score.total} (fit ${p.score.fit}, engagement ${p.score.engagement}, intent ${p.score.intent})` : "–"]];
  if (p.sla) {
    rows.push(["First touch due", `${p.sla.first_touch_due ? when(Date.parse(p.sla.first_touch_due)) : "never (no working time left)"} (policy ${p.sla.policy}${p.sla.working_hours ? ", working hours" : ""})`]);
    if (p.sla.accept_due) rows.push(["Accept due", when(Date.parse(p.sla.accept_due))]);
    for (const s of p.sla.ladder) rows.push([`Escalation ${s.level}`, `${s.at ? when(Date.parse(s.at)) : "never"}: ${s.to}${s.reassign ? " (reassigned)" : ""}`]);
  } else if (p.no_sla) {
    rows.push(["First touch due", `no clock (${p.no_sla})`]);
  }
  if (p.arm) rows.push(["Experiment", `${p.arm.experiment}: arm ${p.arm.arm}`]);
  if (p.merged_into) rows.push(["Merged into", p.merged_into]);
  out.push(el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
  const passed = (p.route?.attempts ?? []).flatMap((a) => a.candidates.filter((c) => !c.chosen)
    .map((c) => [a.target ?? "", c.owner ?? "", c.message ?? c.skip ?? ""]));
  if (passed.length) out.push(scroll(table("Who was passed over, and why", ["target", "owner", "why"], passed)));
  $("where").replaceChildren(...out);
}

async function tryLead(e) {
  e.preventDefault();
  const body = { lead: tried(), ...($("try-candidate").checked ? { config: $("toml").value } : {}) };
  $("try-route").disabled = true;
  try {
    const r = await api("/v1/config/route", {
      method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, accept: [400, 404, 422],
    });
    const answer = await r.json();
    if (r.status === 422) {
      $("where").replaceChildren(el("p", {}, "The configuration in the box has problems: preview it to see them."));
    } else if (!r.ok) {
      $("where").replaceChildren(el("p", {}, `The lead could not be tried: ${answer.error.message}`));
    } else {
      where(answer);
    }
  } catch (e) {
    failed(signOut, e);
  } finally {
    $("try-route").disabled = false;
  }
}

/** A preview is of one text: once the text changes, it must be previewed again to be activated. */
function edited() {
  if (!previewed || $("result").hidden) return;
  const stale = previewed.text !== $("toml").value;
  $("activate").disabled = stale;
  $("activated").textContent = stale ? "The text changed since this preview: preview it again to activate it." : "";
}

$("candidate").addEventListener("submit", preview);
$("toml").addEventListener("input", edited);
$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  if (!file) return;
  $("toml").value = await file.text();
  edited();
});
$("problem-list").addEventListener("click", (e) => {
  const line = e.target.closest("button[data-line]")?.dataset.line;
  if (line) goTo(Number(line));
});
$("activate").addEventListener("click", activate);
$("try-form").addEventListener("change", fields);
$("try").addEventListener("submit", tryLead);
const signOut = session(load, "admin");
