// The consent record the demo form (config/demo.toml) sends with a lead: its consent field's id,
// label as shown and version. The Worker refuses a lead of a form with a consent field that has
// no such record (`422 consent_missing`), so suites that post demo leads by hand send this one.

export const DEMO_CONSENT = Object.freeze({
  field: "consent",
  text: "I agree to be contacted by Northwind Cloud about this request.",
  version: "2026-11-01",
  given: true,
});

/** `body` (a lead) with the demo form's consent record added to its attribution. */
export const consented = (body) => ({ ...body, attribution: { ...(body.attribution ?? {}), consent: DEMO_CONSENT } });
