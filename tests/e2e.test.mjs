// End to end in real headless Chromium against `wrangler dev` (workerd, local D1 and KV), the same
// stack `make dev` serves: the demo page loads embed.js, which loads the wasm form; a person types,
// submits, and the lead is read back through the Worker's admin API.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { EPOCH, HOUR, MINUTE, ROOT, accessibilityViolations, freshState, launchChromium, randomToken, startWranglerDev } from "./support/edge.mjs";

const ARTIFACTS = join(ROOT, "test-artifacts");
let state, edge, browser, token;

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  state = await freshState();
  token = randomToken();
  // TEST_CLOCK lets a test set the Worker's clock per request (X-Test-Now-Ms): the escalation test
  // submits on a chosen Tuesday morning, and the cron runs at chosen times (`/__scheduled?cron=now=…`).
  edge = await startWranglerDev(state.dir, { adminToken: token, vars: { TEST_CLOCK: "enabled" } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
  await state?.cleanup();
});

/** Opens the demo page and waits for the form; records every POST the page makes. */
async function openDemo() {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  const posts = [];
  const errors = [];
  page.on("request", (r) => r.method() === "POST" && posts.push(r.url()));
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${edge.url}/`);
  // The fields show before the form module has attached to them: these tests start once it has.
  await page.getByLabel("Work email").waitFor();
  await page.waitForFunction(() => performance.getEntriesByName("handoff:interactive").length > 0);
  return { page, posts, errors };
}

test("a visitor submits the demo form and the lead is stored", async () => {
  const { page, posts, errors } = await openDemo();
  // What the host page hears: the stage the form's live qualification reaches, as it changes.
  await page.evaluate(() => {
    window.__stages = [];
    for (const name of ["change", "submit"])
      document.addEventListener(`handoff:${name}`, (e) => window.__stages.push(`${name}:${e.detail.lifecycle}`));
  });
  await page.getByLabel("Work email").click();
  await page.keyboard.type("Maria.Lopez@Northwind-Example.COM");
  await page.keyboard.press("Tab");
  // Normalized as soon as the visitor leaves the field.
  assert.equal(await page.getByLabel("Work email").inputValue(), "Maria.Lopez@northwind-example.com");
  await page.keyboard.type("Acme   Analytics");
  await page.getByLabel("Company size").selectOption("201-1000");
  await page.getByLabel("Your role").selectOption("Data");
  // The conditional question appears only once the visitor asks for a demo or pricing.
  const teamSize = page.getByLabel("How many data engineers will use Northwind?");
  assert.equal(await teamSize.isVisible(), false);
  await page.getByLabel("A demo").check();
  await teamSize.waitFor({ state: "visible" });
  await teamSize.fill("8");
  await page.getByLabel("I agree to be contacted by Northwind Cloud about this request.").check();
  // The demo configuration treats a form filled in under 3 s as a bot; a person takes longer.
  await page.waitForTimeout(3_000);
  // Enter in a text field submits the form, as in any HTML form.
  await teamSize.press("Enter");
  const form = page.locator("form.handoff-form[data-lead-id]");
  await form.waitFor();
  const id = await form.getAttribute("data-lead-id");
  assert.match(id, /^[0-9a-f-]{36}$/);
  // The Worker's verdict decides the next step: a sales-ready lead is offered a meeting at once.
  assert.match(await page.getByRole("status").textContent(), /You're a great fit/);
  const meeting = page.getByRole("link", { name: "Book a meeting" });
  assert.equal(await meeting.getAttribute("href"), "https://northwind.example/meet/solutions");
  assert.equal(await meeting.getAttribute("rel"), "noopener noreferrer");
  assert.equal(await form.getAttribute("data-lifecycle"), "sql", "the form shows the Worker's verdict");
  // Live: nurture until the size and role fit (mql), sales-ready once a demo is asked for; the
  // Worker agrees.
  const stages = await page.evaluate(() => window.__stages);
  assert.equal(stages.at(-1), "submit:sql", stages.join(" "));
  assert.ok(stages.includes("change:nurture") && stages.includes("change:mql"), stages.join(" "));
  await page.screenshot({ path: join(ARTIFACTS, "e2e-submitted.png"), fullPage: true });
  assert.equal(posts.length, 1);

  const r = await fetch(`${edge.url}/v1/leads/${id}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  const lead = await r.json();
  assert.equal(lead.email, "Maria.Lopez@northwind-example.com");
  assert.deepEqual(lead.answers, {
    company: "Acme Analytics", email: "Maria.Lopez@northwind-example.com", company_size: "201-1000",
    role: "Data", interest: "A demo", team_size: "8", consent: true,
  });
  // 70 from the answers (as the form scored them live) and 1 for the page viewed: the form sends
  // the pages the visitor saw, and the Worker counts them as engagement.
  assert.deepEqual([lead.score, lead.grade, lead.lifecycle], [71, "A", "sql"]);
  assert.equal(lead.client_bundle_version, lead.bundle_version, "browser and Worker evaluated one bundle");
  // What the page observed came along: the visitor token, where they landed, the consent given.
  assert.match(lead.visitor, /^[0-9a-f-]{32,36}$/);
  assert.equal(lead.attribution.consent.version, "2026-11-01");
  assert.equal(lead.attribution.consent.text, "I agree to be contacted by Northwind Cloud about this request.");
  assert.equal(new URL(lead.attribution.landing_page).pathname, "/");

  // Back again: progressive profiling asks the next pool questions instead of the answered ones.
  assert.equal(await page.getByLabel("Country").isVisible(), false, "a first visit is not asked");
  await page.reload();
  await page.getByLabel("Work email").waitFor();
  await page.waitForFunction(() => performance.getEntriesByName("handoff:interactive").length > 0);
  await page.getByLabel("Country").waitFor({ state: "visible" });
  assert.equal(await page.getByLabel("Company size").isVisible(), false, "answered last time");
  assert.equal(await page.getByLabel("Your role").isVisible(), false, "answered last time");
  assert.equal(await page.getByLabel("Phone").isVisible(), true);
  await page.screenshot({ path: join(ARTIFACTS, "e2e-returning-visitor.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a sales-ready lead left untouched escalates to the team lead, then the head of sales", async () => {
  // Tuesday 15:00 UTC, 10:00 in New York: the North America AEs are at work.
  const submitted = EPOCH + 5 * HOUR;
  const { page, errors } = await openDemo();
  await page.setExtraHTTPHeaders({ "x-test-now-ms": String(submitted) });
  await page.getByLabel("Work email").fill("ines.ortega@fabrikam-labs.example");
  await page.getByLabel("Company", { exact: true }).fill("Fabrikam Labs");
  await page.getByLabel("Company size").selectOption("201-1000");
  await page.getByLabel("Your role").selectOption("Data");
  await page.getByLabel("A demo").check();
  await page.getByLabel("How many data engineers will use Northwind?").fill("8");
  await page.getByLabel("I agree to be contacted by Northwind Cloud about this request.").check();
  await page.waitForTimeout(3_000);
  await page.getByRole("button", { name: "Request a demo" }).click();
  const form = page.locator("form.handoff-form[data-lead-id]");
  await form.waitFor();
  const id = await form.getAttribute("data-lead-id");
  assert.equal(await form.getAttribute("data-lifecycle"), "sql");
  assert.deepEqual(errors, []);
  await page.close();

  const admin = (path, now) =>
    fetch(`${edge.url}${path}`, { headers: { authorization: `Bearer ${token}`, "x-test-now-ms": String(now) } }).then((r) => r.json());
  const events = async (kind) => (await admin(`/v1/leads/${id}`, submitted)).events.filter((e) => e.kind === kind);
  const lead = await admin(`/v1/leads/${id}`, submitted);
  assert.ok(["maya", "priya"].includes(lead.owner_id), lead.owner_id);
  const [started] = await events("sla_started");
  // 5 working minutes, then 2 and 4 working hours past that, on the owner's New York clock.
  assert.equal(started.detail.first_touch_due_ms, submitted + 5 * 60_000);
  const [teamLead, head] = started.detail.steps;
  assert.deepEqual([teamLead.due_ms, teamLead.to], [EPOCH + 7 * HOUR + 5 * MINUTE, "team_lead"]);
  assert.deepEqual([head.due_ms, head.to], [EPOCH + 9 * HOUR + 5 * MINUTE, "owner:morgan"]);

  // `wrangler dev --test-scheduled` runs the scheduled handler on `/__scheduled`, passing the cron
  // expression but no time: with TEST_CLOCK, the expression `now=<ms>` is the tick's time.
  const tick = async (ms) => assert.equal((await fetch(`${edge.url}/__scheduled?cron=now%3D${ms}`)).status, 200);
  await tick(teamLead.due_ms - 60_000);
  assert.deepEqual(await events("escalated"), []);
  const risk = await admin("/v1/sla/leads", teamLead.due_ms - 60_000);
  const listed = risk.leads.find((l) => l.lead_id === id);
  assert.equal(listed.standing, "breached");
  assert.deepEqual([listed.ladder.level, listed.ladder.next.to], [0, "team_lead"]);

  await tick(teamLead.due_ms);
  await tick(teamLead.due_ms);
  assert.deepEqual((await events("escalated")).map((e) => [e.detail.level, e.detail.to.id, e.detail.to.name]),
    [[1, "jordan", "Jordan Blake"]]);
  await tick(head.due_ms);
  assert.deepEqual((await events("escalated")).map((e) => [e.detail.level, e.detail.to.id]), [[1, "jordan"], [2, "morgan"]]);
  const after = (await admin("/v1/sla/leads", head.due_ms)).leads.find((l) => l.lead_id === id);
  assert.deepEqual([after.ladder.level, after.ladder.levels, after.ladder.next], [2, 2, undefined]);
});

test("an invalid email is refused in the browser and by the Worker", async () => {
  const { page, posts, errors } = await openDemo();
  const email = page.getByLabel("Work email");
  await email.fill("maria@gmail");
  await page.getByRole("button", { name: "Request a demo" }).click();
  // The browser blocks the submission, says why next to the field, and moves focus there.
  assert.equal(await email.getAttribute("aria-invalid"), "true");
  const errorId = (await email.getAttribute("aria-describedby")).split(" ").pop();
  assert.equal(await page.locator(`#${errorId}`).textContent(), "The part after @ must be a domain like company.com.");
  assert.equal(await page.evaluate(() => {
    let active = document.activeElement;
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
    return active.name;
  }), "email");
  await page.screenshot({ path: join(ARTIFACTS, "e2e-invalid-email.png"), fullPage: true });
  assert.deepEqual(posts, [], "nothing was sent");

  // A client that skips the browser check is refused by the Worker with the same code.
  const answer = await page.evaluate(async () => {
    const r = await fetch("/v1/leads", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ form: "demo", answers: { email: "maria@gmail", interest: "Pricing", consent: true } }),
    });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(answer.status, 422);
  assert.deepEqual(answer.body.error.issues.map((i) => `${i.field}:${i.code}`), ["email:email.domain"]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a visitor who types before the form module is ready keeps every answer, checked once it attaches", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const posts = [];
  page.on("request", (r) => r.method() === "POST" && posts.push(r.url()));
  // A slow phone on a slow network: the module's wasm arrives only once the visitor has typed.
  let release;
  const held = new Promise((ok) => (release = ok));
  await page.route((url) => url.pathname === "/form/handoff_form_bg.wasm", async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(`${edge.url}/`);
  const email = page.getByLabel("Work email");
  await email.waitFor();
  const marks = () => page.evaluate(() => ["handoff:input", "handoff:interactive"].map((n) => performance.getEntriesByName(n).length));
  assert.deepEqual(await marks(), [1, 0], "the fields take keystrokes; the module is not there yet");
  assert.equal(await page.locator("section.card > div").getAttribute("aria-busy"), "true");
  await email.click();
  await page.keyboard.type("Ines.Early@Northwind-Example.COM");
  await page.keyboard.press("Tab");
  await page.keyboard.type("Acme Analytics");
  await page.getByLabel("Company size").selectOption("201-1000");
  await page.getByLabel("Your role").selectOption("Data");
  await page.getByLabel("A demo").check();
  await page.getByLabel("I agree to be contacted by Northwind Cloud about this request.").check();
  // The demo configuration treats a form filled in under 3 s as a bot: the visitor has spent
  // longer than that on the form before the module attaches, and sends it right after.
  await page.waitForTimeout(3_000);
  // Sent before the module is there: the browser's own submit would leave the page; it waits.
  await page.getByRole("button", { name: "Request a demo" }).click();
  assert.equal(new URL(page.url()).search, "", "the page was not left");
  assert.deepEqual(posts, []);
  release();
  await page.waitForFunction(() => performance.getEntriesByName("handoff:interactive").length > 0);
  // Checked as if the visitor had just left each field: the address shows as it will be stored.
  assert.equal(await email.inputValue(), "Ines.Early@northwind-example.com");
  assert.equal(await page.getByLabel("Company", { exact: true }).inputValue(), "Acme Analytics");
  // The submit that waited is sent once the module has checked every answer.
  const form = page.locator("form.handoff-form[data-lead-id]");
  await form.waitFor();
  assert.equal(posts.length, 1);
  assert.notEqual(await form.getAttribute("data-lifecycle"), "disqualified",
    "not taken for a bot: the fill time counts from when the fields showed, not from the module");
  const r = await fetch(`${edge.url}/v1/leads/${await form.getAttribute("data-lead-id")}`, { headers: { authorization: `Bearer ${token}` } });
  const lead = await r.json();
  assert.deepEqual(lead.answers, {
    company: "Acme Analytics", email: "Ines.Early@northwind-example.com", company_size: "201-1000",
    role: "Data", interest: "A demo", consent: true,
  });
  assert.notEqual(lead.lifecycle, "disqualified");
  assert.deepEqual(await accessibilityViolations(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a mistyped mailbox domain is corrected with one click", async () => {
  const { page, errors } = await openDemo();
  const email = page.getByLabel("Work email");
  const submitY = async () => (await page.getByRole("button", { name: "Request a demo" }).boundingBox()).y;
  const before = await submitY();
  await email.click();
  await page.keyboard.type("maria@gmial.com");
  await page.keyboard.press("Tab");
  const offer = page.getByRole("button", { name: "maria@gmail.com" });
  await offer.waitFor();
  // Regression: a line appearing on blur must not move the submit button from under a click.
  assert.equal(await submitY(), before);
  assert.match(await page.locator(".handoff-suggestion").textContent(), /^Did you mean maria@gmail\.com\?$/);
  await page.screenshot({ path: join(ARTIFACTS, "e2e-email-suggestion.png"), fullPage: true });
  await offer.click();
  assert.equal(await email.inputValue(), "maria@gmail.com");
  assert.equal(await page.locator(".handoff-suggestion").isVisible(), false);
  assert.deepEqual(errors, []);
  await page.close();
});


test("axe-core finds no accessibility violations in the form, blank or showing errors", async () => {
  const { page, errors } = await openDemo();
  assert.deepEqual(await accessibilityViolations(page), [], "blank form");
  await page.getByLabel("A demo").check();
  await page.getByLabel("Work email").fill("maria@gmial.com");
  await page.getByRole("button", { name: "Request a demo" }).click();
  await page.getByLabel("Work email").press("Tab");
  assert.deepEqual(await accessibilityViolations(page), [], "errors and a suggestion showing");
  await page.screenshot({ path: join(ARTIFACTS, "e2e-errors.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the loader and the form module may be loaded by other sites' pages; the API may not", async () => {
  for (const path of ["/embed.js", "/form/handoff_form.js", "/form/handoff_form_bg.wasm"]) {
    const r = await fetch(`${edge.url}${path}`, { headers: { origin: "https://www.northwind.example" } });
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get("access-control-allow-origin"), "*", path);
    await r.arrayBuffer();
  }
  // The module is asked for by the hash of its content, so browsers may keep it for good; the
  // loader is revalidated after a few minutes.
  const module = await fetch(`${edge.url}/form/handoff_form_bg.wasm?v=0123456789abcdef`);
  assert.equal(module.headers.get("cache-control"), "public, max-age=31536000, immutable");
  await module.arrayBuffer();
  const loader = await fetch(`${edge.url}/embed.js`);
  assert.equal(loader.headers.get("cache-control"), "public, max-age=300");
  assert.match(await loader.text(), /"form\/handoff_form_bg\.wasm\?v=[0-9a-f]{16}"/, "the loader names the module by its hash");
  const headersFile = await fetch(`${edge.url}/_headers`);
  assert.notEqual(headersFile.status, 200, "the headers file itself is not served");
  await headersFile.arrayBuffer();
  const api = await fetch(`${edge.url}/v1/forms/demo`, { headers: { origin: "https://other.example" } });
  assert.equal(api.status, 403);
  assert.equal(api.headers.get("access-control-allow-origin"), null);
  await api.arrayBuffer();
});
