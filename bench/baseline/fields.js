// The demo form (config/demo.toml, form "demo") as a plain-JS site would write it by hand: the
// definition in code, conditions as JS functions. bench/form-load.mjs checks FORM against what
// `GET /v1/forms/demo` serves before it measures, so the two forms cannot drift apart unnoticed.

export const FORM = {
  id: "demo",
  title: "Talk to Northwind Cloud",
  intro: "Tell us where to reach you and a solutions engineer will get back to you within minutes.",
  submit_label: "Request a demo",
  success_message: "Thanks! Your request is in, and the right person on our team has it.",
  fields: [
    { id: "email", label: "Work email", type: "email", required: true, placeholder: "name@company.com", autocomplete: "email" },
    { id: "company", label: "Company", type: "text", max_length: 120, autocomplete: "organization" },
    { id: "company_size", label: "Company size", type: "select", options: ["1-10", "11-50", "51-200", "201-1000", "1000+"] },
    {
      id: "role", label: "Your role", type: "select",
      options: ["Engineering", "Data", "Executive", "Marketing", "Sales", "Student", "Looking for a job", "Other"],
    },
    {
      id: "country", label: "Country", type: "select", autocomplete: "country-name",
      options: ["United States", "Canada", "United Kingdom", "Germany", "France", "Netherlands", "Other"],
    },
    { id: "phone", label: "Phone", type: "tel", help: "Optional. We call only if you ask us to.", autocomplete: "tel" },
    { id: "interest", label: "What would you like?", type: "radio", required: true, options: ["A demo", "Pricing", "Just exploring"] },
    { id: "team_size", label: "How many data engineers will use Northwind?", type: "number", visible_if: 'interest in ["A demo", "Pricing"]' },
    {
      id: "consent", label: "I agree to be contacted by Northwind Cloud about this request.", type: "consent",
      required: true, consent_version: "2026-11-01",
    },
  ],
  profiling: { max_new_questions: 2, max_age_days: 365, pool: ["company_size", "role", "country", "phone"] },
};

// `visible_if` of each conditional field, hand-translated. `answers` holds only earlier fields that
// are shown and answered, so a question whose driver is unanswered waits (as in handoff-core).
export const CONDITIONS = {
  team_size: (answers) => answers.interest === "A demo" || answers.interest === "Pricing",
};

// The country select's options as ISO 3166-1 codes: the default country for phone numbers.
export const COUNTRY_CODES = {
  "United States": "US", Canada: "CA", "United Kingdom": "GB", Germany: "DE", France: "FR", Netherlands: "NL",
};
