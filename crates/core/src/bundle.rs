//! The rule bundle: the marketer's TOML configuration, checked and compiled into the canonical JSON
//! that the browser and the Worker both evaluate. Its version is a hash of its content, so two
//! sides holding the same version hold the same rules.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};

use crate::check::{
    compile_condition, condition_problem, duplicate, field_path, invalid_id, line_column, problem,
    suggest_country, valid_id, ConfigCode, FirstSeen, Found, Step, Types,
};
use crate::condition::{Condition, FieldType};
use crate::crm::CrmConfig;
use crate::disposable::{override_problem, EmailRules};
use crate::disqualify::{CompiledRules, DisqualifyRule};
use crate::encode::hex;
use crate::events::FeedbackConfig;
use crate::experiment::{Experiment, ExperimentSpec};
use crate::form::FormSpec;
use crate::notify::{NotifyRules, SummaryConfig};
use crate::routing::{AttributeEnv, CompiledRouting, RoutingConfig};
use crate::scoring::{CompiledScoring, PointRule, Scoring, Thresholds};
use crate::shape::Seg;
use crate::sla::{CompiledSla, SlaConfig};
use crate::suggest::did_you_mean;
use crate::visibility::CompiledForm;

/// The located problem type, kept at its old path: `handoff_core::bundle::ConfigError`.
pub use crate::check::ConfigError;

/// Everything a configuration says, as written and as carried in the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub forms: Vec<FormSpec>,
    #[serde(default)]
    pub scoring: Scoring,
    #[serde(default)]
    pub lifecycle: Thresholds,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disqualify: Vec<DisqualifyRule>,
    /// `[email]`: local overrides of the shipped disposable-domain list.
    #[serde(default, skip_serializing_if = "EmailRules::is_empty")]
    pub email: EmailRules,
    /// `[routing]`: owners, pools, queues, rules and accounts. Omitted from the bundle when empty,
    /// so configurations without routing keep their versions.
    #[serde(default, skip_serializing_if = "RoutingConfig::is_empty")]
    pub routing: RoutingConfig,
    /// `[notify]`: where routed leads are announced (Slack, signed webhooks).
    #[serde(default, skip_serializing_if = "NotifyRules::is_empty")]
    pub notify: NotifyRules,
    /// `[sla]`: first-touch targets, escalation ladders, suppression. Omitted when empty.
    #[serde(default, skip_serializing_if = "SlaConfig::is_empty")]
    pub sla: SlaConfig,
    /// `[crm]`: intakes that map a CRM's webhooks to suppression facts. Omitted when empty.
    #[serde(default, skip_serializing_if = "CrmConfig::is_empty")]
    pub crm: CrmConfig,
    /// `[feedback]`: the reasons sales may reject a lead with. Omitted when empty.
    #[serde(default, skip_serializing_if = "FeedbackConfig::is_empty")]
    pub feedback: FeedbackConfig,
    /// `[[experiments]]`: routing and first-touch settings split into arms. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<ExperimentSpec>,
}

/// The compiled configuration. `version` is `sha256:` and the first 16 hex digits of the SHA-256
/// of the canonical JSON of `rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub version: String,
    pub rules: Rules,
    #[serde(skip)]
    compiled: Compiled,
}

/// The rules with every condition compiled: built once per bundle, evaluated per keystroke/lead.
#[derive(Debug, Clone, PartialEq, Default)]
struct Compiled {
    forms: Vec<CompiledForm>,
    scoring: CompiledScoring,
    disqualify: CompiledRules,
    routing: Option<CompiledRouting>,
    sla: CompiledSla,
    experiments: Vec<Experiment>,
    /// Each `[[notify.channels]]` entry's `when`, compiled (`None`: every lead).
    channels: Vec<Option<Condition>>,
}

impl Bundle {
    /// Checks a TOML configuration and compiles it. Reports every problem found, not only the
    /// first: problems of shape (a value of the wrong kind, an unknown or missing key) with the
    /// problems the checks then find in everything else. Only a syntax error stops the reading.
    pub fn from_toml(text: &str) -> Result<Bundle, Vec<ConfigError>> {
        let tree = DeTable::parse(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_column(text, s.start));
            vec![ConfigError {
                code: ConfigCode::Syntax.as_str(),
                message: e.message().trim().to_owned(),
                line,
                column,
            }]
        })?;
        let read = crate::shape::read::<Rules>(text, &tree);
        let mut problems = read.problems;
        let Some(rules) = read.value else {
            return Err(problems);
        };
        match Bundle::build(rules) {
            Ok(bundle) if problems.is_empty() => return Ok(bundle),
            Ok(_) => {}
            Err(found) => problems.extend(
                found
                    .into_iter()
                    .filter(|f| !from_repair(f, &read.repaired))
                    .map(|f| locate(text, tree.get_ref(), f)),
            ),
        }
        Err(problems)
    }

    /// Reads a compiled bundle, verifies that its version matches its content, and compiles it.
    pub fn from_json(text: &str) -> Result<Bundle, ConfigError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            version: String,
            rules: Rules,
        }
        let stored: Stored = serde_json::from_str(text).map_err(|e| ConfigError {
            code: "bundle.syntax",
            message: e.to_string(),
            line: u32::try_from(e.line()).unwrap_or(u32::MAX),
            column: u32::try_from(e.column()).unwrap_or(u32::MAX),
        })?;
        let bundle = Bundle::build(stored.rules).map_err(|found| {
            let first = found.into_iter().next();
            ConfigError {
                code: first.as_ref().map_or("bundle.invalid", |f| f.code),
                message: first.map_or_else(String::new, |f| f.message),
                line: 0,
                column: 0,
            }
        })?;
        if bundle.version != stored.version {
            return Err(ConfigError {
                code: "bundle.version_mismatch",
                message: format!(
                    "the bundle says version {} but its content hashes to {}",
                    stored.version, bundle.version
                ),
                line: 0,
                column: 0,
            });
        }
        Ok(bundle)
    }

    /// The canonical JSON form: what is stored at the edge.
    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers, vectors and structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn form(&self, id: &str) -> Option<&CompiledForm> {
        self.compiled.forms.iter().find(|f| f.spec.id == id)
    }

    pub fn scoring(&self) -> &CompiledScoring {
        &self.compiled.scoring
    }

    /// Whether a page of `origin` may call the API for `form`, or for any form when `form` is
    /// `None` (a CORS preflight does not say which form it is for).
    pub fn allows_origin(&self, form: Option<&str>, origin: &str) -> bool {
        self.rules
            .forms
            .iter()
            .filter(|f| form.is_none_or(|id| f.id == id))
            .any(|f| f.allowed_origins.iter().any(|o| o == origin))
    }

    pub fn disqualify(&self) -> &CompiledRules {
        &self.compiled.disqualify
    }

    /// The routing, compiled; `None` when the configuration has no `[routing]`.
    pub fn routing(&self) -> Option<&CompiledRouting> {
        self.compiled.routing.as_ref()
    }

    /// The experiments, compiled, in configuration order.
    pub fn experiments(&self) -> &[Experiment] {
        &self.compiled.experiments
    }

    /// The channels that hear of `lead`, placed by `decision` (see [`crate::alerts::hearing`]).
    pub fn hearing(
        &self,
        lead: &crate::routing::RouteInput,
        decision: &crate::routing::Decision,
    ) -> Vec<&crate::notify::Channel> {
        crate::alerts::hearing(
            &self.rules.notify.channels,
            &self.compiled.channels,
            self.routing(),
            lead,
            decision,
        )
    }

    /// The SLA policies, compiled (none when the configuration has no `[sla]`).
    pub fn sla(&self) -> &CompiledSla {
        &self.compiled.sla
    }

    /// Checks `rules` and compiles every condition; stamps the content version.
    fn build(mut rules: Rules) -> Result<Bundle, Vec<Found>> {
        let mut found = Vec::new();
        country_options(&mut rules.forms, &mut found);
        check_sections(&rules, &mut found);
        let types = field_types(&rules, &mut found);
        let attributes = AttributeEnv::new(&types);
        let routing = crate::routing::check(&rules.routing, &rules.forms, &attributes, &mut found);
        let sla = crate::sla::check(&rules.sla, &rules.routing, &attributes, &mut found);
        let experiments =
            crate::experiment::check(&rules.experiments, &rules.routing, &attributes, &mut found);
        crate::alerts::check(&rules.notify, &rules.routing.owners, &mut found);
        crate::push::check(&rules.crm.push, &rules.routing, &attributes, &mut found);
        // A channel's `when` reads the routing attributes, the form fields, and who got the lead.
        let channel_env = |id: &str| {
            if crate::alerts::CHANNEL_ATTRIBUTES.contains(&id) {
                return Some(FieldType {
                    ty: crate::condition::ValueType::Text,
                    options: None,
                });
            }
            attributes.get(id)
        };
        let mut channels = Vec::new();
        for (i, channel) in rules.notify.channels.iter().enumerate() {
            let path = || {
                let at = [Step::Key("notify"), Step::Key("channels"), Step::Index(i)];
                [&at[..], &[Step::Key("when")]].concat()
            };
            let names = || {
                let mut names = crate::alerts::CHANNEL_ATTRIBUTES.to_vec();
                names.extend(attributes.names());
                names
            };
            channels.push(
                (channel.when.as_deref())
                    .and_then(|w| compile_condition(w, &channel_env, &names, path(), &mut found)),
            );
        }
        // Scoring and disqualification read the derived attributes, then the fields: a country
        // code, function or seniority must be one (a typo is caught here, not missed on every
        // lead).
        let env = |id: &str| attributes.derived_or_field(id);
        let field_names = || types.keys().copied().collect();
        let mut compile = |source: &str, path: Vec<Step<'static>>| -> Option<Condition> {
            compile_condition(source, &env, &field_names, path, &mut found)
        };
        let fit = compile_rules(&rules.scoring.fit, "fit", &mut compile);
        let intent = compile_rules(&rules.scoring.intent, "intent", &mut compile);
        let mut dq_conditions = Vec::new();
        for (i, rule) in rules.disqualify.iter().enumerate() {
            let path = || vec![Step::Key("disqualify"), Step::Index(i), Step::Key("when")];
            dq_conditions.push(rule.when.as_deref().and_then(|w| compile(w, path())));
        }
        let mut forms = Vec::new();
        for (fi, form) in rules.forms.iter().enumerate() {
            match CompiledForm::compile(form.clone()) {
                Ok(compiled) => forms.push(compiled),
                Err(errors) => found.extend(errors.into_iter().map(|e| {
                    let path = field_path(fi, e.field, "visible_if");
                    let source = form
                        .fields
                        .get(e.field)
                        .and_then(|f| f.visible_if.as_deref());
                    let ids = form.fields.iter().map(|f| f.id.as_str());
                    let source = source.unwrap_or("");
                    let fields = |id: &str| {
                        let field = form.fields.iter().find(|f| f.id == id)?;
                        Some(FieldType {
                            ty: field.kind.value_type(),
                            options: Some(&field.options[..]),
                        })
                    };
                    let e = suggest_country(e.error.suggest_field(source, ids), source, &fields);
                    condition_problem(e, path)
                })),
            }
        }
        if !found.is_empty() {
            return Err(found);
        }
        let version = content_version(&rules);
        let compiled = Compiled {
            forms,
            scoring: CompiledScoring {
                model: rules.scoring.clone(),
                fit,
                intent,
            },
            disqualify: CompiledRules {
                rules: rules.disqualify.clone(),
                conditions: dq_conditions,
                email: rules.email.clone(),
            },
            routing,
            sla,
            experiments,
            channels,
        };
        Ok(Bundle {
            version,
            rules,
            compiled,
        })
    }
}

/// A lead summary reads the bundle's forms and routing.
impl<'a> From<&'a Bundle> for SummaryConfig<'a> {
    fn from(bundle: &'a Bundle) -> SummaryConfig<'a> {
        SummaryConfig {
            forms: &bundle.rules.forms,
            routing: bundle.routing(),
        }
    }
}

/// The conditions of one scoring dimension's rules (`fit` or `intent`), in order.
fn compile_rules(
    rules: &[PointRule],
    dimension: &'static str,
    compile: &mut impl FnMut(&str, Vec<Step<'static>>) -> Option<Condition>,
) -> Vec<Condition> {
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let path = vec![
            Step::Key("scoring"),
            Step::Key(dimension),
            Step::Index(i),
            Step::Key("when"),
        ];
        if let Some(condition) = compile(&rule.when, path) {
            out.push(condition);
        }
    }
    out
}

fn content_version(rules: &Rules) -> String {
    let canonical = serde_json::to_vec(rules).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    format!("sha256:{}", hex(&digest[..8]))
}

/// The checks of the sections that own no module of their own (forms, scoring, lifecycle,
/// disqualification, `[email]`), then each module's own section, in that order.
fn check_sections(rules: &Rules, found: &mut Vec<Found>) {
    check_forms(&rules.forms, found);
    check_scoring_and_lifecycle(&rules.scoring, rules.lifecycle, found);
    check_rule_ids(rules, found);
    check_email_overrides(&rules.email, found);
    crate::notify::check(&rules.notify, found);
    crate::crm::check(&rules.crm, found);
    crate::events::check(&rules.feedback, found);
}

/// `[[forms]]`: at least one; ids, allowed origins, outcomes, fields and profiling pools.
fn check_forms(forms: &[FormSpec], found: &mut Vec<Found>) {
    if forms.is_empty() {
        found.push(problem(
            ConfigCode::NoForms,
            "the configuration defines no form".to_owned(),
            vec![],
        ));
    }
    let mut form_ids = FirstSeen::default();
    for (fi, form) in forms.iter().enumerate() {
        let at = |rest: &[Step<'static>]| {
            let mut p = vec![Step::Key("forms"), Step::Index(fi)];
            p.extend_from_slice(rest);
            p
        };
        if !valid_id(&form.id) {
            found.push(invalid_id("form", &form.id, at(&[Step::Key("id")])));
        }
        for (i, origin) in form.allowed_origins.iter().enumerate() {
            if let Some(why) = crate::form::origin_problem(origin) {
                let path = at(&[Step::Key("allowed_origins"), Step::Index(i)]);
                let message = format!("\"{origin}\" {why}");
                found.push(problem(ConfigCode::InvalidOrigin, message, path));
            }
        }
        for (oi, outcome) in form.outcomes.iter().enumerate() {
            if let Some(why) = outcome.problem() {
                let path = at(&[Step::Key("outcomes"), Step::Index(oi)]);
                found.push(problem(ConfigCode::InvalidOutcome, why.to_owned(), path));
            }
        }
        let id_at = at(&[Step::Key("id")]);
        if let Some(first) = form_ids.seen_before(&form.id, &id_at) {
            let message = format!("form id \"{}\" is used twice", form.id);
            found.push(duplicate(message, id_at, first));
        }
        if form.fields.is_empty() {
            let message = format!("form \"{}\" has no fields", form.id);
            found.push(problem(
                ConfigCode::EmptyForm,
                message,
                at(&[Step::Key("id")]),
            ));
        }
        check_fields(form, &at, found);
        check_profiling(form, &at, found);
    }
}

/// Fills in the options of every `country` field: the codes it lists, in upper case and in the
/// given order, or (none listed) every country of the shipped list, by code. An option that is
/// no code is `config.unknown_country`, with the code when it is a country's name ("Germany":
/// "DE"). Runs before the checks, so that the options conditions are checked against, and the
/// ones the browser offers, are the codes.
fn country_options(forms: &mut [FormSpec], found: &mut Vec<Found>) {
    for (fi, form) in forms.iter_mut().enumerate() {
        for (i, field) in form.fields.iter_mut().enumerate() {
            if field.kind != crate::form::FieldKind::Country {
                continue;
            }
            if field.options.is_empty() {
                field.options = crate::country::countries()
                    .map(|(code, _)| code.to_owned())
                    .collect();
                continue;
            }
            for (oi, option) in field.options.iter_mut().enumerate() {
                let code = option.trim().to_ascii_uppercase();
                if code.len() == 2 && crate::country::country_name(&code).is_some() {
                    *option = code;
                    continue;
                }
                let hint = match crate::country::normalize_country(option) {
                    Ok(code) => format!("did you mean \"{code}\"?"),
                    Err(_) => "a country field lists ISO 3166-1 alpha-2 codes, such as \"DE\" or \
                               \"US\""
                        .to_owned(),
                };
                let message = format!("\"{option}\" is not a country code; {hint}");
                let path = vec![
                    Step::Key("forms"),
                    Step::Index(fi),
                    Step::Key("fields"),
                    Step::Index(i),
                    Step::Key("options"),
                    Step::Index(oi),
                ];
                found.push(problem(ConfigCode::UnknownCountry, message, path));
            }
        }
    }
}

/// One form's fields: ids (valid, once per form) and options (a choice field has some, each once;
/// no other field has any). `at` makes a path inside the form.
fn check_fields(
    form: &FormSpec,
    at: &dyn Fn(&[Step<'static>]) -> Vec<Step<'static>>,
    found: &mut Vec<Found>,
) {
    let mut field_ids = FirstSeen::default();
    for (i, field) in form.fields.iter().enumerate() {
        let id_at = at(&[Step::Key("fields"), Step::Index(i), Step::Key("id")]);
        if !valid_id(&field.id) {
            found.push(invalid_id("field", &field.id, id_at.clone()));
        }
        if let Some(first) = field_ids.seen_before(&field.id, &id_at) {
            let message = format!(
                "field id \"{}\" is used twice in form \"{}\"",
                field.id, form.id
            );
            found.push(duplicate(message, id_at.clone(), first));
        }
        let opts_at = at(&[Step::Key("fields"), Step::Index(i), Step::Key("options")]);
        if field.kind.has_options() && field.options.is_empty() {
            let message = format!("field \"{}\" is a choice but lists no options", field.id);
            found.push(problem(ConfigCode::NoOptions, message, id_at.clone()));
        }
        if !field.kind.has_options() && !field.options.is_empty() {
            let message = format!(
                "field \"{}\" has options but is not a choice field",
                field.id
            );
            found.push(problem(
                ConfigCode::UnexpectedOptions,
                message,
                opts_at.clone(),
            ));
        }
        let mut seen = HashSet::new();
        if let Some(dup) = field.options.iter().find(|o| !seen.insert(o.as_str())) {
            let message = format!("option \"{dup}\" is listed twice in field \"{}\"", field.id);
            found.push(problem(ConfigCode::DuplicateOption, message, opts_at));
        }
    }
}

/// One form's profiling pool: fields of the form, none of them required.
fn check_profiling(
    form: &FormSpec,
    at: &dyn Fn(&[Step<'static>]) -> Vec<Step<'static>>,
    found: &mut Vec<Found>,
) {
    let Some(profiling) = &form.profiling else {
        return;
    };
    for (pi, id) in profiling.pool.iter().enumerate() {
        let path = at(&[Step::Key("profiling"), Step::Key("pool"), Step::Index(pi)]);
        match form.field(id) {
            None => found.push(problem(
                ConfigCode::UnknownField,
                format!(
                    "the profiling pool names \"{id}\", which form \"{}\" does not have{}",
                    form.id,
                    did_you_mean(id, form.fields.iter().map(|f| f.id.as_str()), '"')
                ),
                path,
            )),
            Some(f) if f.required => found.push(problem(
                ConfigCode::RequiredInPool,
                format!("\"{id}\" is required, so it is always asked and cannot be in the pool"),
                path,
            )),
            Some(_) => {}
        }
    }
}

/// `[scoring.max]` adds up to 100; grade and lifecycle thresholds are in order.
fn check_scoring_and_lifecycle(scoring: &Scoring, lifecycle: Thresholds, found: &mut Vec<Found>) {
    let max = scoring.max;
    if max.fit + max.engagement + max.intent != 100 {
        let message = format!(
            "the dimension maxima must add up to 100 (fit {} + engagement {} + intent {} = {})",
            max.fit,
            max.engagement,
            max.intent,
            max.fit + max.engagement + max.intent
        );
        let path = vec![Step::Key("scoring"), Step::Key("max")];
        found.push(problem(ConfigCode::ScoringMax, message, path));
    }
    let g = scoring.grades;
    if !(g.a > g.b && g.b > g.c && g.a <= 100) {
        let message = format!(
            "grade thresholds must satisfy 100 >= a > b > c (a {}, b {}, c {})",
            g.a, g.b, g.c
        );
        let path = vec![Step::Key("scoring"), Step::Key("grades")];
        found.push(problem(ConfigCode::ThresholdsOrder, message, path));
    }
    let l = lifecycle;
    if !(l.mql < l.sql && l.sql <= 100) {
        let message = format!(
            "lifecycle thresholds must satisfy mql < sql <= 100 (mql {}, sql {})",
            l.mql, l.sql
        );
        let path = vec![Step::Key("lifecycle")];
        found.push(problem(ConfigCode::ThresholdsOrder, message, path));
    }
}

/// Scoring and disqualification rules: ids (valid, each once across all of them), engagement
/// half-lives, and exactly one test per disqualification rule.
fn check_rule_ids(rules: &Rules, found: &mut Vec<Found>) {
    let mut rule_ids = FirstSeen::default();
    let dims = [
        ("fit", &rules.scoring.fit),
        ("intent", &rules.scoring.intent),
    ];
    for (dim, list) in dims {
        for (i, rule) in list.iter().enumerate() {
            let path = vec![
                Step::Key("scoring"),
                Step::Key(dim),
                Step::Index(i),
                Step::Key("id"),
            ];
            check_rule_id(&rule.id, &mut rule_ids, path, found);
        }
    }
    for (i, rule) in rules.scoring.engagement.iter().enumerate() {
        let at = |key| {
            vec![
                Step::Key("scoring"),
                Step::Key("engagement"),
                Step::Index(i),
                Step::Key(key),
            ]
        };
        check_rule_id(&rule.id, &mut rule_ids, at("id"), found);
        if rule
            .half_life_days
            .is_some_and(|h| !(h.is_finite() && h > 0.0))
        {
            found.push(problem(
                ConfigCode::InvalidNumber,
                "half_life_days must be a positive number".to_owned(),
                at("half_life_days"),
            ));
        }
    }
    for (i, rule) in rules.disqualify.iter().enumerate() {
        let path = vec![Step::Key("disqualify"), Step::Index(i), Step::Key("id")];
        check_rule_id(&rule.id, &mut rule_ids, path.clone(), found);
        let at = |key| vec![Step::Key("disqualify"), Step::Index(i), Step::Key(key)];
        if !rule.reason.is_valid() {
            let message = format!(
                "reason \"{}\" must be a code: lowercase letters, digits and _, such as \
                 \"already_customer\" (the usual ones: {})",
                rule.reason.as_str(),
                crate::disqualify::Reason::SHIPPED.join(", ")
            );
            found.push(problem(ConfigCode::InvalidReason, message, at("reason")));
        }
        // The same domain check as every other domain list: a slip never matches silently.
        for (d, domain) in rule.email_domains.iter().enumerate() {
            if let Some(why) = override_problem(domain) {
                let path = vec![
                    Step::Key("disqualify"),
                    Step::Index(i),
                    Step::Key("email_domains"),
                    Step::Index(d),
                ];
                found.push(problem(
                    ConfigCode::InvalidDomain,
                    format!("\"{domain}\" {why}"),
                    path,
                ));
            }
        }
        if rule.missing != crate::disqualify::Missing::Refuse && rule.min_fill_seconds.is_none() {
            found.push(problem(
                ConfigCode::RuleTests,
                "missing applies only to a min_fill_seconds rule".to_owned(),
                at("missing"),
            ));
        }
        if rule.test_count() != 1 {
            let message = format!(
                "disqualification rule \"{}\" must set exactly one of when, email_domains, \
                 free_email, disposable_email, honeypot, min_fill_seconds (it sets {})",
                rule.id,
                rule.test_count()
            );
            found.push(problem(ConfigCode::RuleTests, message, path));
        }
    }
}

/// `[email]` overrides: host names, each in at most one of the two lists.
fn check_email_overrides(email: &EmailRules, found: &mut Vec<Found>) {
    let lists = [
        ("disposable_block", &email.disposable_block),
        ("disposable_allow", &email.disposable_allow),
    ];
    for (key, list) in lists {
        for (i, domain) in list.iter().enumerate() {
            let path = vec![Step::Key("email"), Step::Key(key), Step::Index(i)];
            if let Some(why) = override_problem(domain) {
                let message = format!("\"{domain}\" in {key} {why}");
                found.push(problem(ConfigCode::InvalidDomain, message, path));
            } else if key == "disposable_allow" && email.disposable_block.contains(domain) {
                found.push(problem(
                    ConfigCode::DomainConflict,
                    format!("\"{domain}\" is in both disposable_block and disposable_allow"),
                    path,
                ));
            }
        }
    }
}

fn check_rule_id<'a>(
    id: &'a str,
    seen: &mut FirstSeen<'a>,
    path: Vec<Step<'static>>,
    found: &mut Vec<Found>,
) {
    if !valid_id(id) {
        found.push(invalid_id("rule", id, path));
    } else if let Some(first) = seen.seen_before(id, &path) {
        let message = format!("rule id \"{id}\" is used twice");
        found.push(duplicate(message, path, first));
    }
}

/// The type of every field id across all forms, for conditions in scoring and disqualification
/// rules. A field id used by two forms must mean the same thing in both.
fn field_types<'a>(rules: &'a Rules, found: &mut Vec<Found>) -> Types<'a> {
    let mut types: Types<'a> = BTreeMap::new();
    for (fi, form) in rules.forms.iter().enumerate() {
        for (i, field) in form.fields.iter().enumerate() {
            let ty = field.kind.value_type();
            let options = field.kind.has_options().then_some(&field.options);
            match types.get(field.id.as_str()) {
                Some(&(t, o)) if t != ty || o != options => found.push(problem(
                    ConfigCode::FieldConflict,
                    format!(
                        "field \"{}\" has a different type or options than in an earlier form; \
                         rules could not tell which is meant",
                        field.id
                    ),
                    field_path(fi, i, "id"),
                )),
                Some(_) => {}
                None => {
                    types.insert(&field.id, (ty, options));
                }
            }
        }
    }
    types
}

/// Whether the problem `found` may come from repairing what was written rather than from it: it
/// is at or under a value that was dropped or replaced, at the table that held it, or at another
/// key of that table from a check that reads several keys together (such as "lists no options",
/// which reads the default that replaced a bad `options`). Such a problem shows once the value is
/// fixed; the checks of other values do not wait.
fn from_repair(found: &Found, repaired: &[Vec<Seg>]) -> bool {
    let path = &found.path;
    let same = |a: &Step<'_>, b: &Seg| match (a, b) {
        (Step::Key(x), Seg::Key(y)) => *x == y,
        (Step::Index(x), Seg::Index(y)) => x == y,
        _ => false,
    };
    let starts = |prefix: &[Seg]| {
        path.len() >= prefix.len() && prefix.iter().zip(path).all(|(b, a)| same(a, b))
    };
    let several = ConfigCode::ALL
        .iter()
        .any(|c| c.as_str() == found.code && c.reads_several_keys());
    repaired.iter().any(|r| {
        let holder = &r[..r.len().saturating_sub(1)];
        let sibling = several && path.len() == r.len() && matches!(path.last(), Some(Step::Key(_)));
        starts(r) || (starts(holder) && (path.len() == holder.len() || sibling))
    })
}

/// Turns a problem's path into a line and column using the parsed TOML's spans. For a string
/// value with an offset (a condition), the position points inside the string. A duplicate's
/// message gains where the first one is.
fn locate(text: &str, tree: &DeTable<'_>, found: Found) -> ConfigError {
    let (span, value) = find(tree, &found.path);
    let (line, column) = match (span, found.offset, value) {
        // Inside a basic string: one byte for the opening quote, then the offset.
        (Some(s), Some(offset), Some(DeValue::String(_))) => {
            line_column(text, (s.start + 1 + offset).min(s.end))
        }
        (Some(s), _, _) => line_column(text, s.start),
        (None, _, _) => (1, 1),
    };
    let mut message = found.message;
    if let Some((Some(first), _)) = found.first.as_deref().map(|p| find(tree, p)) {
        let (first_line, first_column) = line_column(text, first.start);
        message.push_str(&if first_line == line {
            format!(": first at line {first_line}, column {first_column}")
        } else {
            format!(": first at line {first_line}")
        });
    }
    ConfigError {
        code: found.code,
        message,
        line,
        column,
    }
}

/// The span of the value at `path`, or of the deepest part of it that exists, and the value.
fn find<'t>(
    tree: &'t DeTable<'_>,
    path: &[Step<'_>],
) -> (Option<std::ops::Range<usize>>, Option<&'t DeValue<'t>>) {
    let mut span: Option<std::ops::Range<usize>> = None;
    let mut value: Option<&DeValue<'_>> = None;
    let mut table = Some(tree);
    for step in path {
        let next = match (step, table, value) {
            (Step::Key(k), Some(t), _) => t.get(*k).map(|v| {
                span = Some(v.span());
                v.get_ref()
            }),
            (Step::Index(i), _, Some(DeValue::Array(items))) => items.get(*i).map(|v| {
                span = Some(v.span());
                v.get_ref()
            }),
            _ => None,
        };
        let Some(next) = next else { break };
        value = Some(next);
        table = match next {
            DeValue::Table(t) => Some(t),
            _ => None,
        };
    }
    (span, value)
}
