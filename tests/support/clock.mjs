// The tests' one base date. Every instant a test gives the Worker (the test clock's X-Test-Now-Ms,
// a cron tick's scheduledTime, the CLI's --now) is EPOCH plus an offset, never a date written in a
// test, so no suite can expire: a test that pinned 2026-11-22 turned main red a week later.
//
// EPOCH is a Tuesday at 10:00 UTC, computed from the day the tests run (the first such Tuesday
// from today on), or from HANDOFF_TEST_EPOCH (any RFC 3339 instant, moved forward the same way),
// so that `HANDOFF_TEST_EPOCH=2025-12-02T10:00:00Z make test-worker test-e2e` runs the suites a
// year back. The Tuesday is taken where the fixtures' working hours read simply:
// - between 8 November and 7 March, when New York, Los Angeles, London and Berlin all keep standard
//   time (the tests say "10:30 in Berlin, 04:30 in New York"); daylight saving time itself is
//   handoff-core's subject (`crates/core/test_data/hours.tsv` crosses both changes);
// - not from 18 December to 6 January, where configurations list holidays and three weeks of test
//   days (tests/sla.test.mjs) would run into them.

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Whether `ms` (a day at 10:00 UTC) is a Tuesday in the window described above. */
function usable(ms) {
  const d = new Date(ms);
  const [month, day] = [d.getUTCMonth() + 1, d.getUTCDate()];
  const standardTime = month === 12 || month <= 2 || (month === 11 && day >= 8) || (month === 3 && day <= 7);
  const holidays = (month === 12 && day >= 18) || (month === 1 && day <= 6);
  return d.getUTCDay() === 2 && standardTime && !holidays;
}

/** The first usable Tuesday 10:00 UTC at or after `fromMs`. */
export function tuesdayFrom(fromMs) {
  const start = new Date(fromMs);
  let ms = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate(), 10, 0);
  if (ms < fromMs) ms += DAY;
  while (!usable(ms)) ms += DAY;
  return ms;
}

function epoch() {
  const given = process.env.HANDOFF_TEST_EPOCH;
  if (!given) return tuesdayFrom(Date.now());
  const ms = Date.parse(given);
  if (!Number.isFinite(ms)) throw new Error(`HANDOFF_TEST_EPOCH is not an RFC 3339 instant: ${given}`);
  return tuesdayFrom(ms);
}

/** The base date, in ms since the epoch: a Tuesday, 10:00 UTC. */
export const EPOCH = epoch();

/** EPOCH as RFC 3339, for the CLI's --now. */
export const iso = (ms) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");
