// The speed-to-lead and revenue dashboard: reads the admin API with the session's token (ui.js) and
// draws every chart with DOM and SVG elements. Nothing the API returns is ever parsed as HTML:
// every text goes through textContent. Definitions: docs/METRICS.md.
import { $, api, duration, el, failed, pct, scroll, session, signedIn, table } from "./ui.js";

const DAY = 86_400_000;

/** One amount in its currency: `€12,000`. */
function amount(currency, value) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency, maximumFractionDigits: 0 }).format(value);
  } catch {
    return `${currency} ${Math.round(value)}`;
  }
}
/** Amounts per currency (`{EUR: 1200, USD: 300}`), never added: one line per currency. */
function money(byCurrency) {
  const parts = Object.entries(byCurrency ?? {}).map(([c, v]) => el("span", {}, amount(c, v)));
  return parts.length ? el("span", { class: "amounts" }, ...parts) : "–";
}
/** `n (rate)`, the way every count with its rate is shown. */
const share = (n, r) => `${n} (${pct(r)})`;

/** Horizontal bars: [{label, value, text}], with the data as a hidden table; `labelW` and `room`
 * are the SVG units kept for the labels and for the value after the longest bar. */
function bars(target, caption, items, { max, labelW = 120, room = 60 } = {}) {
  target.replaceChildren();
  if (!items.length) return target.append(el("p", { class: "hint" }, "Nothing in this period."));
  const top = max ?? Math.max(1, ...items.map((i) => i.value));
  const row = 22, width = 320;
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${items.length * row}`, role: "img", "aria-label": caption });
  items.forEach((item, i) => {
    const w = Math.max(0, ((width - labelW - room) * item.value) / top);
    svg.append(el("svg:text", { x: 0, y: i * row + 15 }, item.label));
    svg.append(el("svg:rect", { x: labelW, y: i * row + 4, width: w, height: 14, class: "bar", rx: 2 }));
    svg.append(el("svg:text", { x: labelW + w + 4, y: i * row + 15, class: "value" }, item.text ?? String(item.value)));
  });
  target.append(svg, table(caption, ["", "value"], items.map((i) => [i.label, i.text ?? String(i.value)]), { hidden: true }));
}

function headline(m) {
  const t = m.total;
  const items = [
    ["Leads", t.leads],
    [`Accepted (of ${t.routed} routed)`, pct(t.acceptance_rate)],
    ["Median time to accept", duration(t.accept_ms.median)],
    [`Accepted within target (of ${t.accept_sla.with_sla})`, pct(t.accept_sla.share)],
    ["Median time to first contact", duration(t.first_touch_ms.median)],
    ["90% contacted within", duration(t.first_touch_ms.p90)],
    [`Contacted within SLA (of ${t.sla.with_sla})`, pct(t.sla.share)],
    ["System delay (to notified)", duration(t.system_delay_ms.median)],
    ["Human delay (notified to contact)", duration(t.human_delay_ms.median)],
    ["Contacted", pct(t.contact_rate)],
    ["Meetings", pct(t.meeting_rate)],
    ["Opportunities", pct(t.opportunity_rate)],
    [`Won (win rate ${pct(t.win_rate)})`, t.won],
    ["Rejected", pct(t.reject_rate)],
  ];
  $("headline").replaceChildren(...items.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, String(v)))));
}

function stages(m) {
  const f = m.total.funnel;
  bars($("stages"), "Leads that reached each stage, MQL to won, and the share of the stage before (of all leads for MQL)", [
    { label: "MQL", value: f.mql, text: `${f.mql} (${pct(f.lead_to_mql)})` },
    { label: "SQL", value: f.sql, text: `${f.sql} (${pct(f.mql_to_sql)})` },
    { label: "Opportunity", value: f.opportunity, text: `${f.opportunity} (${pct(f.sql_to_opportunity)})` },
    { label: "Won", value: f.won, text: `${f.won} (${pct(f.opportunity_to_won)})` },
  ], { labelW: 80, room: 110 });
}

function revenue(m) {
  const t = m.total;
  const currencies = [...new Set([...Object.keys(t.pipeline), ...Object.keys(t.won_revenue)])].sort();
  const one = (byCurrency, c) => (c in byCurrency ? amount(c, byCurrency[c]) : "–");
  const summary = el("p", {}, `${t.won} won, ${t.lost} lost: win rate ${pct(t.win_rate)}.`);
  $("revenue").replaceChildren(summary, currencies.length
    ? table("Pipeline and won revenue per currency", ["currency", "pipeline", "won"],
      currencies.map((c) => [c, one(t.pipeline, c), one(t.won_revenue, c)]), { numeric: [1, 2] })
    : el("p", { class: "hint" }, "No deal has a value in this period."));
}

function tiers(m) {
  const target = $("tiers");
  target.replaceChildren();
  const data = m.total.tiers;
  const W = 340, H = 170, base = 140, bw = 40, gap = 14, left = 10;
  const top = Math.max(1, ...data.map((t) => t.leads));
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "Leads per tier of time to first contact, with each tier's meeting rate" });
  const points = [];
  data.forEach((t, i) => {
    const x = left + i * (bw + gap), h = ((base - 20) * t.leads) / top;
    svg.append(el("svg:rect", { x, y: base - h, width: bw, height: h, rx: 2, class: t.tier === "untouched" ? "bar2" : "bar" }));
    svg.append(el("svg:text", { x: x + bw / 2, y: base - h - 4, "text-anchor": "middle", class: "value" }, String(t.leads)));
    svg.append(el("svg:text", { x: x + bw / 2, y: base + 14, "text-anchor": "middle" }, t.tier));
    svg.append(el("svg:text", { x: x + bw / 2, y: base + 28, "text-anchor": "middle" }, pct(t.meeting_rate)));
    if (t.meeting_rate != null) points.push(`${x + bw / 2},${base - 20 - (base - 40) * t.meeting_rate}`);
  });
  if (points.length > 1) svg.append(el("svg:polyline", { points: points.join(" "), class: "trend" }));
  target.append(svg, table("Leads and meeting rate per tier", ["tier", "leads", "meetings", "meeting rate", "opportunities"],
    data.map((t) => [t.tier, String(t.leads), String(t.meetings), pct(t.meeting_rate), String(t.opportunities)]), { hidden: true }));
}

function slaOverTime(byDay) {
  const target = $("sla");
  target.replaceChildren();
  const days = [...byDay.groups].filter((g) => g.sla.with_sla > 0).sort((a, b) => a.key.localeCompare(b.key));
  if (!days.length) return target.append(el("p", { class: "hint" }, "No lead had an SLA in this period."));
  const W = 340, H = 150, base = 120, step = (W - 20) / days.length;
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Share of leads contacted within SLA, per day" });
  svg.append(el("svg:line", { x1: 10, x2: W - 10, y1: base - 100 * 0.9, y2: base - 100 * 0.9, class: "target" }));
  svg.append(el("svg:text", { x: W - 10, y: base - 92, "text-anchor": "end" }, "90%"));
  days.forEach((d, i) => {
    const h = 100 * (d.sla.share ?? 0);
    svg.append(el("svg:rect", { x: 10 + i * step + 1, y: base - h, width: Math.max(1, step - 2), height: h,
      class: (d.sla.share ?? 0) >= 0.9 ? "good" : "bar" }));
  });
  svg.append(el("svg:text", { x: 10, y: base + 16 }, days[0].key));
  svg.append(el("svg:text", { x: W - 10, y: base + 16, "text-anchor": "end" }, days.at(-1).key));
  target.append(svg, table("Contacted within SLA per day", ["day", "within SLA", "leads with SLA"],
    days.map((d) => [d.key, pct(d.sla.share), String(d.sla.with_sla)]), { hidden: true }));
}

/** The funnel by a dimension: acceptance, contact, the stages reached and the money, per group. */
function funnel(grouped) {
  const by = $("funnel-by").selectedOptions[0].textContent;
  const rows = grouped.groups.map((g) => [g.key, String(g.leads), share(g.accepted, g.acceptance_rate), duration(g.accept_ms.median),
    share(g.contacted, g.contact_rate), duration(g.first_touch_ms.median), share(g.funnel.mql, g.funnel.lead_to_mql),
    share(g.funnel.sql, g.funnel.mql_to_sql), share(g.funnel.opportunity, g.funnel.sql_to_opportunity),
    share(g.won, g.funnel.opportunity_to_won), pct(g.win_rate), money(g.pipeline), money(g.won_revenue), share(g.rejected, g.reject_rate)]);
  $("funnel").replaceChildren(scroll(table(`Acceptance, contact, MQL to won and revenue by ${by}; each stage with its share of the stage before`,
    [by, "leads", "accepted", "median accept", "contacted", "median first contact", "MQL", "SQL", "opportunities", "won",
      "win rate", "pipeline", "won revenue", "rejected"], rows, { numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] })));
}

function rejects(m) {
  bars($("rejects"), "Rejected leads by reason", m.total.rejects_by_reason.map((c) => ({ label: c.key, value: c.n })));
  bars($("rules"), "Rejected leads by scoring rule", m.rejects_by_rule.slice(0, 8).map((c) => ({ label: c.key, value: c.n })));
}

function arms(byArm) {
  const target = $("arms");
  const groups = byArm.groups.filter((g) => g.key !== "(none)");
  if (!groups.length) return target.replaceChildren(el("p", { class: "hint" }, "No experiment ran in this period."));
  const rows = groups.map((g) => [g.key, String(g.leads), pct(g.acceptance_rate), duration(g.accept_ms.median), pct(g.contact_rate),
    pct(g.meeting_rate), duration(g.first_touch_ms.median), pct(g.sla.share), share(g.won, g.win_rate), money(g.won_revenue)]);
  const parts = [scroll(table("Experiment arms side by side",
    ["arm", "leads", "accepted", "median accept", "contacted", "meetings", "median first contact", "within SLA", "won (win rate)", "won revenue"],
    rows, { numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9] }))];
  for (const c of byArm.significance?.comparisons ?? []) {
    const verdict = c.p_value == null ? "not enough data to compare" :
      c.significant ? `a real difference (p = ${c.p_value.toFixed(3)})` : `no clear difference yet (p = ${c.p_value.toFixed(2)})`;
    parts.push(el("p", { class: c.significant ? "significant" : "hint" },
      `${c.metric.replace("_", " ")}: ${c.arm} ${pct(c.arm_rate)} (n = ${c.arm_n}) vs ${byArm.significance.baseline} ${pct(c.baseline_rate)} (n = ${c.baseline_n}): ${verdict}`));
  }
  target.replaceChildren(...parts);
}

function risk(list) {
  const rows = list.leads.map((l) => [
    el("span", { class: l.standing }, l.standing === "breached" ? "Breached" : "At risk"),
    l.name ?? l.lead_id, l.company ?? "", l.owner ?? "", l.lifecycle,
    l.overdue_ms >= 0 ? `${duration(l.overdue_ms)} late` : `due in ${duration(-l.overdue_ms)}`,
    `${l.ladder.level} of ${l.ladder.levels}${l.ladder.next ? `, next: ${l.ladder.next.to}` : ""}`,
  ]);
  $("risk").replaceChildren(rows.length
    ? scroll(table(`Untouched leads past or within ${list.within_minutes} minutes of their first-touch deadline`,
      ["", "lead", "company", "owner", "stage", "deadline", "escalation"], rows))
    : el("p", { class: "hint" }, "Nobody is waiting: every lead is touched or on track."));
}

/** The chosen period, ending now. */
function period() {
  const to = Date.now();
  return { from: to - Number($("days").value) * DAY, to };
}

/** The report over `range` (default: the chosen period), grouped by `g`. */
function metrics(g, { from, to } = period()) {
  return api(`/v1/metrics?from=${from}&to=${to}&group_by=${g}`).then((r) => r.json());
}

async function regroup() {
  try {
    funnel(await metrics($("funnel-by").value));
  } catch (e) {
    failed(signOut, e);
  }
}

async function load() {
  const range = period(), { from, to } = range;
  $("status").textContent = "Loading…";
  try {
    const [all, byDay, bySource, byArm, atRisk] = await Promise.all([
      metrics("all", range), metrics("day", range), metrics("source", range), metrics("arm", range),
      api("/v1/sla/leads?within_minutes=60").then((r) => r.json()),
    ]);
    headline(all);
    tiers(all);
    slaOverTime(byDay);
    stages(all);
    revenue(all);
    funnel($("funnel-by").value === "source" ? bySource : await metrics($("funnel-by").value, range));
    rejects(all);
    arms(byArm);
    risk(atRisk);
    signedIn(true);
    $("status").textContent = `${all.total.leads} leads, ${new Date(from).toISOString().slice(0, 10)} to ${new Date(to).toISOString().slice(0, 10)}`;
    document.body.dataset.loaded = "true";
  } catch (e) {
    failed(signOut, e);
  }
}

async function downloadCsv() {
  const { from, to } = period();
  const blob = await (await api(`/v1/export/leads.csv?from=${from}&to=${to}`)).blob();
  const a = el("a", { href: URL.createObjectURL(blob), download: "handoff-leads.csv" });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

$("days").addEventListener("change", load);
$("funnel-by").addEventListener("change", regroup);
$("csv").addEventListener("click", downloadCsv);
const signOut = session(load, "reports");
