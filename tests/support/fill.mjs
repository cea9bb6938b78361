// Many leads at once, inside local D1 (recursive-CTE SQL, no Worker request per lead): leads and
// event logs shaped as the Worker writes them (notified, sla_started with an accept target,
// accepted, status_changed, first_touch, touch, outcome with deal amounts in EUR and USD, rejected
// with a reason). The D1 triggers mark each lead for the rollups as any write does. Used by
// tests/rollups.test.mjs and bench/metrics-load.mjs.

/** Inserts `leads` leads created evenly over `[from, from + span)`, ids `${prefix}-1`…, and their
 * logs; durations spread from seconds to hours so that the rollups' sketches leave exact mode. */
export async function fillLeads(db, { leads, from, span, prefix = "bench" }) {
  const gen = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)`;
  const created = `(?2 + (i - 1) * (?3 / ?1))`;
  const id = `'${prefix}-' || i`;
  const binds = [leads, from, span];
  await db.prepare(`${gen} INSERT INTO leads (id, form_id, email, answers, bundle_version, created_at, score, grade,
      lifecycle, evaluation, attribution, owner_kind, owner_id, status, updated_at)
    SELECT ${id}, 'demo', '${prefix}' || i || '@example.com', '{}', 'bench', ${created}, 50,
      CASE i % 4 WHEN 0 THEN 'A' WHEN 1 THEN 'B' WHEN 2 THEN 'C' ELSE 'D' END,
      CASE i % 3 WHEN 0 THEN 'mql' ELSE 'sql' END,
      '{"country_code":"' || CASE i % 3 WHEN 0 THEN 'US' WHEN 1 THEN 'DE' ELSE 'FR' END || '","score":{"breakdown":[{"rule":"size-midmarket","points":25},{"rule":"wants-demo","points":30}]}}',
      '{"utm":{"source":"' || CASE i % 5 WHEN 0 THEN 'google' WHEN 1 THEN 'linkedin' WHEN 2 THEN 'newsletter' WHEN 3 THEN 'partner' ELSE 'events' END || '"}}',
      'owner', 'owner' || (i % 8), CASE WHEN i % 13 = 0 THEN 'rejected' ELSE 'open' END, ${created} FROM n`).bind(...binds).run();
  const event = (kind, at, detail, where = "1") => db.prepare(`${gen} INSERT INTO lead_events (lead_id, at, kind, actor, detail)
    SELECT ${id}, ${at}, '${kind}', 'system', ${detail} FROM n WHERE ${where}`).bind(...binds).run();
  await event("created", created, "'{}'");
  await event("routed", created, "'{\"summary\":\"bench\"}'");
  await event("notified", `${created} + 1500 + (i * 37 % 9000)`, "'{\"channel\":\"sales\"}'");
  await event("sla_started", created,
    `'{"first_touch_due_ms":' || (${created} + 1800000) || ',"accept_due_ms":' || (${created} + 300000) || '}'`, "i % 2 = 0");
  // Six in seven accepted within 20 minutes; two in three of those contacted later.
  const accepted = `${created} + (i * 7919 % 1200000)`, contact = `${created} + 1200000 + (i * 7919 % 20000000)`;
  await event("accepted", accepted, "'{\"type\":\"accept\",\"actor\":\"owner\",\"via\":\"link\"}'", "i % 7 <> 0");
  await event("status_changed", accepted, "'{\"from\":\"new\",\"to\":\"accepted\",\"via\":\"link\"}'", "i % 7 <> 0");
  await event("first_touch", contact, "'{\"via\":\"events\"}'", "i % 7 <> 0 AND i % 3 <> 0");
  await event("touch", contact, "'{\"channel\":\"call\"}'", "i % 7 <> 0 AND i % 3 <> 0");
  await event("status_changed", contact, "'{\"from\":\"accepted\",\"to\":\"working\",\"via\":\"events\"}'", "i % 7 <> 0 AND i % 3 <> 0");
  await event("touch", `${contact} + 1`, "'{\"channel\":\"meeting_booked\"}'", "i % 7 <> 0 AND i % 3 <> 0 AND i % 5 = 0");
  const deal = (outcome) => `'{"outcome":"${outcome}","amount":' || (1000 + i % 50 * 500) || '.25,"currency":"' || CASE i % 3 WHEN 1 THEN 'USD' ELSE 'EUR' END || '"}'`;
  await event("outcome", `${contact} + 2`, deal("opportunity"), "i % 7 <> 0 AND i % 3 <> 0 AND i % 11 = 0");
  await event("outcome", `${contact} + 3`, deal("won"), "i % 7 <> 0 AND i % 3 <> 0 AND i % 11 = 0 AND i % 2 = 0");
  await event("outcome", `${contact} + 3`, deal("lost").replace('"lost",', '"lost","reason":"price",'), "i % 7 <> 0 AND i % 3 <> 0 AND i % 11 = 0 AND i % 4 = 1");
  await event("outcome", `${created} + 9000000`, "'{\"outcome\":\"rejected\",\"reason\":\"not_a_fit\"}'", "i % 13 = 0");
}
