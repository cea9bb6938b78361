// The dashboard end to end: a fresh local edge with the demo history (`scripts/seed-history.mjs`,
// as `make dev` seeds it), `wrangler dev`, and Debian's Chromium. A sales leader signs in with the
// reports token once and sees every panel with the API's numbers (acceptance apart from contact,
// revenue per currency, the funnel by source, campaign, tier, owner and arm); visitor-typed text
// stays text; nothing is fetched from another origin; on a laptop no table is cut off;
// screenshots (laptop and phone) are saved as artifacts. A sales-ops manager tries a changed
// configuration on the demo history's leads, sees what it would have changed, and activates it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { ROOT, accessibilityViolations, freshState, launchChromium, randomToken, startWranglerDev } from "./support/edge.mjs";

const run = promisify(execFile);
const ARTIFACTS = join(ROOT, "test-artifacts");
let state, edge, browser, token, reports;

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  state = await freshState();
  await run("node", [join(ROOT, "scripts/seed-history.mjs"), state.dir, "--once"], { cwd: ROOT, timeout: 120_000 });
  token = randomToken();
  reports = randomToken();
  edge = await startWranglerDev(state.dir, { adminToken: token, reportsToken: reports });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
  await state?.cleanup();
});

async function open(viewport, path = "/dashboard", { bypassCSP = false } = {}) {
  const context = await browser.newContext({ viewport, bypassCSP });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [], foreign = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The expected failures: the deliberately wrong token's 401s, the broken configuration's 422.
  page.on("console", (m) => m.type() === "error" && !/status of (401|422)/.test(m.text()) && errors.push(m.text()));
  page.on("dialog", (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss(); });
  page.on("request", (r) => { if (!r.url().startsWith(edge.url) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) foreign.push(r.url()); });
  const response = await page.goto(`${edge.url}${path}`);
  assert.equal(response.status(), 200);
  assert.match(response.headers()["content-security-policy"], /script-src 'self'/);
  return { context, page, errors, foreign };
}

test("a sales leader signs in once and sees speed to lead, SLA, funnel, rejects, arms and leads at risk", async () => {
  const { context, page, errors, foreign } = await open({ width: 1280, height: 900 });
  await page.getByLabel("Reports token").fill("wrong-token");
  await page.getByRole("button", { name: "Show the dashboard" }).click();
  await page.getByText("That token was not accepted.").waitFor();
  await page.getByLabel("Reports token").fill(reports);
  await page.getByRole("button", { name: "Show the dashboard" }).click();
  await page.locator("body[data-loaded=true]").waitFor();
  assert.equal(await page.getByLabel("Reports token").isVisible(), false, "signed in");

  // The numbers are the API's, for the same 30 days.
  const status = await page.getByRole("status").textContent();
  const leads = Number(status.match(/^(\d+) leads/)[1]);
  const to = Date.now(), from = to - 30 * 86_400_000;
  const api = await (await fetch(`${edge.url}/v1/metrics?from=${from}&to=${to}`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.ok(Math.abs(api.total.leads - leads) <= 1, `${leads} vs ${api.total.leads}`);
  assert.ok(leads > 500, `the demo history is there: ${leads}`);
  const headline = page.locator("#headline");
  assert.equal(await headline.locator("dd").first().textContent(), String(leads));
  // Acceptance and first contact are two numbers, and the demo history has both.
  const tile = async (label) => headline.locator("div", { has: page.locator("dt", { hasText: label }) }).locator("dd").textContent();
  // (The page read its numbers a moment before this test did: a lead may have left the window.)
  const accepted = Number((await tile(/^Accepted \(of \d+ routed\)$/)).replace("%", ""));
  assert.ok(Math.abs(accepted - api.total.acceptance_rate * 100) <= 1, `${accepted}% vs ${api.total.acceptance_rate}`);
  assert.match(await tile("Median time to accept"), /^\d+ (s|min)$/, "accepted within minutes");
  assert.match(await tile("Median time to first contact"), /^\d/);
  assert.ok(api.total.accept_ms.median < api.total.first_touch_ms.median, "accepting comes before contact");
  assert.ok(api.total.acceptance_rate > api.total.contact_rate, "more leads accepted than reached");
  // Revenue per currency, never added: the demo's deals are mostly in EUR and USD.
  const currencies = Object.keys({ ...api.total.pipeline, ...api.total.won_revenue });
  assert.ok(currencies.includes("EUR") && currencies.includes("USD"), currencies.join());
  assert.equal(await page.locator("#revenue tbody tr").count(), currencies.length);
  assert.match(await page.locator("#revenue tbody").textContent(), /€[\d,]+.*\$[\d,]+/s);
  assert.ok(api.total.won > 0 && api.total.lost > 0, "deals won and lost");
  assert.equal(await page.locator("#stages svg rect").count(), 4, "MQL, SQL, opportunity, won");
  assert.equal(await page.locator("#tiers svg rect").count(), 6, "six tiers");
  assert.ok(await page.locator("#sla svg rect").count() >= 25, "a bar per day with SLA leads");
  // The funnel by each dimension: a row per group of the API's report.
  const groups = async (g) => (await (await fetch(`${edge.url}/v1/metrics?from=${from}&to=${to}&group_by=${g}`,
    { headers: { authorization: `Bearer ${token}` } })).json()).groups;
  assert.equal(await page.locator("#funnel tbody tr").count(), (await groups("source")).length);
  for (const [g, header] of [["owner", "owner"], ["segment", "tier (grade)"], ["campaign", "campaign"], ["arm", "experiment arm"], ["country", "country"], ["source", "source"]]) {
    await page.getByLabel("Group the funnel by").selectOption(g);
    await page.locator("#funnel th", { hasText: header }).first().waitFor();
    assert.equal(await page.locator("#funnel tbody tr").count(), (await groups(g)).length, g);
  }
  assert.ok(await page.locator("#rejects svg rect").count() >= 4, "reasons");
  assert.match(await page.locator("#arms").textContent(), /mql-first-touch\/fast|No experiment ran/);
  const risk = page.locator("#risk tbody tr");
  assert.ok(await risk.count() >= 3, "leads at risk right now");
  // A visitor typed markup as a name: it shows as text and runs nothing.
  await page.getByText("<img src=x onerror=alert(1)>").first().waitFor();
  assert.equal(await page.locator("#risk img").count(), 0);
  await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });

  // The period changes every panel; signing out forgets the token.
  await page.getByLabel("Period").selectOption("7");
  await page.waitForFunction(() => /^\d+ leads/.test(document.getElementById("status").textContent) &&
    document.getElementById("status").textContent !== "Loading…");
  const week = Number((await page.getByRole("status").textContent()).match(/^(\d+) leads/)[1]);
  assert.ok(week < leads && week > 0, `${week} of ${leads}`);
  await page.getByRole("button", { name: "Sign out" }).click();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.getByLabel("Reports token").waitFor();
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, [], "nothing from another origin");
  await context.close();
});

test("on a laptop the experiments and funnel tables are never cut off", async () => {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 1366, height: 768 }]) {
    const { context, page, errors } = await open(viewport);
    await page.getByLabel("Reports token").fill(reports);
    await page.keyboard.press("Enter");
    await page.locator("body[data-loaded=true]").waitFor();
    const boxes = await page.evaluate(() => ["arms", "funnel"].map((id) => {
      const table = document.querySelector(`#${id} table`);
      const box = table.closest(".scroll");
      return { id, table: table.getBoundingClientRect().right, box: box.getBoundingClientRect().right,
        scrolls: getComputedStyle(box).overflowX === "auto" && box.scrollWidth > box.clientWidth,
        viewport: window.innerWidth, page: document.documentElement.scrollWidth };
    }));
    const size = `${viewport.width}x${viewport.height}`;
    for (const b of boxes) {
      assert.ok(b.box <= b.viewport, `${size}: #${b.id}'s box ends within the window`);
      assert.ok(b.page <= b.viewport, `${size}: the page does not scroll sideways`);
      // Whole inside its box, or the box scrolls to show the rest.
      assert.ok(b.table <= b.box + 0.5 || b.scrolls, `${size}: #${b.id}'s table ends at ${b.table}, its box at ${b.box}`);
    }
    // The experiments table fits a laptop whole: every column readable without scrolling.
    const arms = boxes.find((b) => b.id === "arms");
    assert.ok(arms.table <= arms.box + 0.5, `${size}: the experiments table ends at ${arms.table}, its box at ${arms.box}`);
    await page.locator("#arms").screenshot({ path: join(ARTIFACTS, `dashboard-arms-${size}.png`) });
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test("the dashboard reads on a phone", async () => {
  const { context, page, errors } = await open({ width: 390, height: 844 });
  await page.getByLabel("Reports token").fill(reports);
  await page.keyboard.press("Enter");
  await page.locator("body[data-loaded=true]").waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling of the page: ${overflow}px`);
  await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test("axe-core finds no accessibility violations on the dashboard, signed out or showing data", async () => {
  // axe is injected as an inline script, which the dashboard's CSP rightly refuses: this context only.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${edge.url}/dashboard`);
  await page.getByLabel("Reports token").waitFor();
  assert.deepEqual(await accessibilityViolations(page), []);
  await page.getByLabel("Reports token").fill(reports);
  await page.keyboard.press("Enter");
  await page.locator("body[data-loaded=true]").waitFor();
  assert.deepEqual(await accessibilityViolations(page), []);
  await context.close();
});

test("a sales-ops manager tries a configuration on the last 30 days' leads, sees what it would change, and activates it", async () => {
  const { context, page, errors, foreign } = await open({ width: 1280, height: 900 }, "/dashboard/config");
  const admin = { authorization: `Bearer ${token}` };
  const config = async () => (await fetch(`${edge.url}/v1/config`, { headers: admin })).json();
  const before = await config();
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Show the configuration" }).click();
  await page.locator("body[data-loaded=true]").waitFor();
  await page.locator("#active", { hasText: before.active }).waitFor();
  // The two pages link to each other, and the session carries over.
  assert.equal(await page.getByRole("link", { name: "Configuration" }).getAttribute("aria-current"), "page");

  const demo = await readFile(join(ROOT, "config/demo.toml"), "utf8");
  const emea = 'to = "pool:emea_ae"';
  assert.ok(demo.includes(emea));
  const box = page.getByLabel("Configuration (TOML)");
  const previewButton = page.getByRole("button", { name: "Preview" });
  const activate = page.getByRole("button", { name: "Activate this configuration" });

  // A mistake is located and nothing is replayed; its place is one click away.
  const broken = demo.replace(emea, 'to = "pool:emea"');
  await box.fill(broken);
  await previewButton.click();
  const problem = page.locator("#problem-list tbody tr").first();
  await problem.waitFor();
  assert.equal(await page.locator("#result").isVisible(), false);
  const line = broken.split("\n").findIndex((l) => l.includes('to = "pool:emea"')) + 1;
  assert.match(await problem.textContent(), new RegExp(`^Line ${line}, column \\d+`));
  await problem.getByRole("button").click();
  assert.equal(await box.evaluate((t) => t.value.slice(t.selectionStart, t.selectionEnd)), 'to = "pool:emea"');

  // The active configuration itself changes nothing, and there is nothing to activate.
  await box.fill(demo);
  await previewButton.click();
  await page.locator("#verdict", { hasText: "This is the active configuration" }).waitFor();
  assert.equal(await activate.isDisabled(), true);

  // EMEA's leads to Oliver alone, from a file: the page shows the API's preview of the same text.
  const moved = demo.replace(emea, 'to = "owner:oliver"');
  await page.getByLabel("Or open a file").setInputFiles({ name: "northwind.toml", mimeType: "text/plain", buffer: Buffer.from(moved) });
  await page.waitForFunction((text) => document.getElementById("toml").value === text, moved);
  await previewButton.click();
  await page.locator("#verdict", { hasText: "would have had a different outcome" }).waitFor();
  const api = await (await fetch(`${edge.url}/v1/config/preview?days=30`, {
    method: "POST", body: moved, headers: { ...admin, "content-type": "application/toml" } })).json();
  const { summary } = api;
  assert.ok(summary.leads >= 500 && summary.changed > 0 && api.skipped === 0, JSON.stringify({ ...summary, changes: null }));
  const lena = summary.assignees["owner:lena"];
  assert.ok(lena?.before > 0 && lena.after === 0, JSON.stringify(summary.assignees));
  // (A lead may have left the 30 days between the page's preview and this one.)
  const shown = (await page.locator("#verdict").textContent()).match(/^(\d+) of (\d+) leads/).slice(1).map(Number);
  assert.ok(Math.abs(shown[0] - summary.changed) <= 1 && Math.abs(shown[1] - summary.leads) <= 1, `${shown} vs ${summary.changed} of ${summary.leads}`);
  const row = (name) => page.locator("#assignees tbody tr", { has: page.locator("td", { hasText: new RegExp(`^${name}$`) }) });
  assert.deepEqual(await row("lena").locator("td").allTextContents(),
    ["lena", String(lena.before), "0", `−${lena.before}`]);
  assert.equal(await page.locator("#assignees tbody tr").count(), Object.keys(summary.assignees).length);
  assert.equal(await page.locator("#changed tbody tr").count(), Math.min(200, summary.changed));
  // Each changed lead: who it is, and what changes from what to what.
  const first = page.locator("#changed tbody tr").first();
  const who = await first.locator("td").first().textContent();
  assert.ok(who.includes(api.changed[0].lead.email) && who.includes(api.changed[0].lead.company), who);
  for (const r of api.changed.filter((l) => l.before.assignee === "owner:lena").slice(0, 1)) {
    const cells = await page.locator("#changed tbody tr", { hasText: r.lead.email }).locator("td").allTextContents();
    assert.match(cells[2], /Owner or queue: lena/);
    assert.doesNotMatch(cells[3], /Owner or queue: lena/);
  }
  assert.ok(await page.locator("#changes tbody tr", { hasText: "Owner or queue" }).count() === 1);
  await page.screenshot({ path: join(ARTIFACTS, "dashboard-config.png"), fullPage: true });

  // Who would get a lead from Germany now: the page says what the API says, for the active
  // configuration and for the one in the box; nothing is stored.
  const leadsBefore = (await (await fetch(`${edge.url}/v1/metrics?from=${Date.now() - 300 * 86_400_000}&to=${Date.now() + 60_000}`, { headers: admin })).json()).total.leads;
  const answers = { email: "dora@northwind-prospect.example", company_size: "51-200", role: "Engineering", country: "Germany", interest: "A demo", consent: true };
  assert.deepEqual(await page.getByLabel("Form").locator("option").allTextContents(), ["Talk to Northwind Cloud (demo)"]);
  await page.getByLabel("Work email").fill(answers.email);
  await page.getByLabel("Company size").selectOption(answers.company_size);
  await page.getByLabel("Your role").selectOption(answers.role);
  await page.getByLabel("Country", { exact: true }).selectOption(answers.country);
  await page.locator("#answer-interest").selectOption(answers.interest);
  await page.locator("#answer-consent").check();
  const tryIt = async (config) => (await (await fetch(`${edge.url}/v1/config/route`, { method: "POST", headers: { ...admin, "content-type": "application/json" },
    body: JSON.stringify({ lead: { form: "demo", answers, attribution: { utm: {} }, context: { fill_ms: 60_000 } }, ...(config ? { config } : {}) }) })).json());
  const live = await tryIt();
  await page.getByRole("button", { name: "Where would it go?" }).click();
  await page.locator("#where .place", { hasText: live.place.route.summary }).waitFor();
  // (Who is free depends on the day and hour of the real clock: the page must say what the API says.)
  assert.match(await page.locator("#where").textContent(), /First touch due/);
  await page.getByLabel("With the configuration in the box above, not the active one").check();
  await page.getByRole("button", { name: "Where would it go?" }).click();
  const boxed = await tryIt(moved);
  assert.equal(boxed.version, api.version);
  await page.locator("#where .place", { hasText: boxed.place.route.summary }).waitFor();
  await page.locator("#where", { hasText: `the configuration in the box (${api.version})` }).waitFor();
  const leadsAfter = (await (await fetch(`${edge.url}/v1/metrics?from=${Date.now() - 300 * 86_400_000}&to=${Date.now() + 60_000}`, { headers: admin })).json()).total.leads;
  assert.equal(leadsAfter, leadsBefore, "trying a lead stores nothing");

  // An edit after the preview must be previewed again before it can be activated.
  await box.press("Control+End");
  await box.pressSequentially("\n# edited");
  assert.equal(await activate.isDisabled(), true);
  await page.getByText("The text changed since this preview").waitFor();
  await box.fill(moved);
  assert.equal(await activate.isDisabled(), false);
  await activate.click();
  await page.getByText(`Activated ${api.version} (it replaces ${before.active})`).waitFor();
  const after = await config();
  assert.equal(after.active, api.version);
  await page.locator("#active", { hasText: api.version }).waitFor();

  // On a phone the page does not scroll sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, [], "nothing from another origin");
  await context.close();

  // axe finds nothing on the page with problems listed or a preview shown.
  const checked = await open({ width: 1280, height: 900 }, "/dashboard/config", { bypassCSP: true });
  await checked.page.getByLabel("Admin token").fill(token);
  await checked.page.keyboard.press("Enter");
  await checked.page.locator("body[data-loaded=true]").waitFor();
  await checked.page.getByLabel("Configuration (TOML)").fill(broken);
  await checked.page.getByRole("button", { name: "Preview" }).click();
  await checked.page.locator("#problem-list tbody tr").first().waitFor();
  assert.deepEqual(await accessibilityViolations(checked.page), []);
  await checked.page.getByLabel("Configuration (TOML)").fill(demo);
  await checked.page.getByRole("button", { name: "Preview" }).click();
  await checked.page.locator("#verdict", { hasText: "would have had a different outcome" }).waitFor();
  // A lead tried with nothing answered: refused, each missing answer named.
  await checked.page.getByRole("button", { name: "Where would it go?" }).click();
  await checked.page.locator("#where", { hasText: "Not routed: the lead would be refused." }).waitFor();
  assert.match(await checked.page.locator("#where").textContent(), /email: /);
  assert.deepEqual(await accessibilityViolations(checked.page), []);
  await checked.context.close();

  // The demo configuration back, for whatever runs next.
  const restored = await fetch(`${edge.url}/v1/config`, { method: "PUT", body: demo, headers: { ...admin, "content-type": "application/toml" } });
  assert.equal(restored.status, 200);
});
