//! The rule bundle: the marketer's TOML configuration, checked and compiled into the canonical JSON
//! that the browser and the Worker both evaluate. Its version is a hash of its content, so two
//! sides holding the same version hold the same rules.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};

use crate::condition::{Condition, FieldType, ValueType};
use crate::crm::CrmConfig;
use crate::disposable::{override_problem, EmailRules};
use crate::disqualify::{CompiledRules, DisqualifyRule};
use crate::events::FeedbackConfig;
use crate::experiment::{Experiment, ExperimentSpec};
use crate::form::FormSpec;
use crate::hours::{timezone_problem, Hours, Week};
use crate::notify::NotifyRules;
use crate::routing::{
    CompiledOwner, CompiledRouting, CompiledRule, RoutingConfig, Target, ATTRIBUTES, GRADES,
    LIFECYCLES,
};
use crate::scoring::{CompiledScoring, Scoring, Thresholds};
use crate::sla::{CompiledSla, SlaConfig};
use crate::visibility::CompiledForm;

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
}

/// A problem in a configuration or a bundle, with where it is (1-based line and column; 0 when the
/// problem has no single place) and the configuration path it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigError {
    pub code: &'static str,
    pub message: String,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} [{}]",
            self.line, self.column, self.message, self.code
        )
    }
}

/// One step of a path into the configuration, for locating a problem in the text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// A problem found by the checks, located later.
pub(crate) struct Found {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) path: Vec<Step<'static>>,
    /// Byte offset within the located value (for conditions, where in the expression), if any.
    pub(crate) offset: Option<usize>,
}

impl Bundle {
    /// Checks a TOML configuration and compiles it. Reports every problem found, not only the first.
    pub fn from_toml(text: &str) -> Result<Bundle, Vec<ConfigError>> {
        let rules: Rules = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_column(text, s.start));
            vec![ConfigError {
                code: "config.syntax",
                message: e.message().trim().to_owned(),
                line,
                column,
            }]
        })?;
        let tree = DeTable::parse(text).ok();
        Bundle::build(rules).map_err(|found| {
            found
                .into_iter()
                .map(|f| locate(text, tree.as_ref().map(|t| t.get_ref()), f))
                .collect()
        })
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

    /// The SLA policies, compiled (none when the configuration has no `[sla]`).
    pub fn sla(&self) -> &CompiledSla {
        &self.compiled.sla
    }

    /// Checks `rules` and compiles every condition; stamps the content version.
    fn build(rules: Rules) -> Result<Bundle, Vec<Found>> {
        let mut found = Vec::new();
        check_ids_and_thresholds(&rules, &mut found);
        let types = field_types(&rules, &mut found);
        let env = |id: &str| {
            types.get(id).map(|(ty, options)| FieldType {
                ty: *ty,
                options: options.map(|o| &o[..]),
            })
        };
        let routing = check_routing(&rules, &types, &mut found);
        let sla = crate::sla::check(&rules, &AttributeEnv::new(&types), &mut found);
        let experiments = crate::experiment::check(
            &rules.experiments,
            &rules.routing,
            &AttributeEnv::new(&types),
            &mut found,
        );
        let mut compile = |source: &str, path: Vec<Step<'static>>| -> Option<Condition> {
            Condition::compile(source, &env)
                .map_err(|e| {
                    found.push(Found {
                        code: e.code,
                        message: e.message,
                        path,
                        offset: Some(e.start),
                    })
                })
                .ok()
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
                Err(errors) => found.extend(errors.into_iter().map(|e| Found {
                    code: e.error.code,
                    message: e.error.message,
                    path: vec![
                        Step::Key("forms"),
                        Step::Index(fi),
                        Step::Key("fields"),
                        Step::Index(e.field),
                        Step::Key("visible_if"),
                    ],
                    offset: Some(e.error.start),
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
        };
        Ok(Bundle {
            version,
            rules,
            compiled,
        })
    }
}

fn compile_rules(
    rules: &[crate::scoring::PointRule],
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
    let mut version = String::from("sha256:");
    for byte in &digest[..8] {
        version.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        version.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    version
}

/// Ids appear in URLs, DOM ids, JSON keys and SQL values: keep them to a safe alphabet.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && id.as_bytes()[0].is_ascii_lowercase()
}

pub(crate) fn invalid_id(what: &str, id: &str, path: Vec<Step<'static>>) -> Found {
    Found {
        code: "config.invalid_id",
        message: format!(
            "{what} id \"{id}\" must start with a lowercase letter and use only a-z, 0-9, _ and - \
             (at most 64)"
        ),
        path,
        offset: None,
    }
}

fn check_ids_and_thresholds(rules: &Rules, found: &mut Vec<Found>) {
    let push = |found: &mut Vec<Found>, code, message: String, path: Vec<Step<'static>>| {
        found.push(Found {
            code,
            message,
            path,
            offset: None,
        });
    };
    if rules.forms.is_empty() {
        push(
            found,
            "config.no_forms",
            "the configuration defines no form".to_owned(),
            vec![],
        );
    }
    let mut form_ids = HashSet::new();
    for (fi, form) in rules.forms.iter().enumerate() {
        let at = |rest: &[Step<'static>]| {
            let mut p = vec![Step::Key("forms"), Step::Index(fi)];
            p.extend_from_slice(rest);
            p
        };
        if !valid_id(&form.id) {
            found.push(invalid_id("form", &form.id, at(&[Step::Key("id")])));
        }
        for (i, origin) in form.allowed_origins.iter().enumerate() {
            if let Some(problem) = crate::form::origin_problem(origin) {
                let path = at(&[Step::Key("allowed_origins"), Step::Index(i)]);
                push(
                    found,
                    "config.invalid_origin",
                    format!("\"{origin}\" {problem}"),
                    path,
                );
            }
        }
        for (oi, outcome) in form.outcomes.iter().enumerate() {
            if let Some(problem) = outcome.problem() {
                let path = at(&[Step::Key("outcomes"), Step::Index(oi)]);
                push(found, "config.invalid_outcome", problem.to_owned(), path);
            }
        }
        if !form_ids.insert(form.id.as_str()) {
            let message = format!("form id \"{}\" is used twice", form.id);
            push(
                found,
                "config.duplicate_id",
                message,
                at(&[Step::Key("id")]),
            );
        }
        if form.fields.is_empty() {
            let message = format!("form \"{}\" has no fields", form.id);
            push(found, "config.empty_form", message, at(&[Step::Key("id")]));
        }
        let mut field_ids = HashSet::new();
        for (i, field) in form.fields.iter().enumerate() {
            let id_at = at(&[Step::Key("fields"), Step::Index(i), Step::Key("id")]);
            if !valid_id(&field.id) {
                found.push(invalid_id("field", &field.id, id_at.clone()));
            }
            if !field_ids.insert(field.id.as_str()) {
                let message = format!(
                    "field id \"{}\" is used twice in form \"{}\"",
                    field.id, form.id
                );
                push(found, "config.duplicate_id", message, id_at.clone());
            }
            let opts_at = at(&[Step::Key("fields"), Step::Index(i), Step::Key("options")]);
            if field.kind.has_options() && field.options.is_empty() {
                let message = format!("field \"{}\" is a choice but lists no options", field.id);
                push(found, "config.no_options", message, id_at.clone());
            }
            if !field.kind.has_options() && !field.options.is_empty() {
                let message = format!(
                    "field \"{}\" has options but is not a choice field",
                    field.id
                );
                push(found, "config.unexpected_options", message, opts_at.clone());
            }
            let mut seen = HashSet::new();
            if let Some(dup) = field.options.iter().find(|o| !seen.insert(o.as_str())) {
                let message = format!("option \"{dup}\" is listed twice in field \"{}\"", field.id);
                push(found, "config.duplicate_option", message, opts_at);
            }
        }
        if let Some(profiling) = &form.profiling {
            for (pi, id) in profiling.pool.iter().enumerate() {
                let path = at(&[Step::Key("profiling"), Step::Key("pool"), Step::Index(pi)]);
                match form.field(id) {
                    None => push(
                        found,
                        "config.unknown_field",
                        format!(
                            "the profiling pool names \"{id}\", which form \"{}\" does not have",
                            form.id
                        ),
                        path,
                    ),
                    Some(f) if f.required => push(
                        found,
                        "config.required_in_pool",
                        format!(
                            "\"{id}\" is required, so it is always asked and cannot be in the pool"
                        ),
                        path,
                    ),
                    Some(_) => {}
                }
            }
        }
    }

    let max = rules.scoring.max;
    if max.fit + max.engagement + max.intent != 100 {
        let message = format!(
            "the dimension maxima must add up to 100 (fit {} + engagement {} + intent {} = {})",
            max.fit,
            max.engagement,
            max.intent,
            max.fit + max.engagement + max.intent
        );
        push(
            found,
            "config.scoring_max",
            message,
            vec![Step::Key("scoring"), Step::Key("max")],
        );
    }
    let g = rules.scoring.grades;
    if !(g.a > g.b && g.b > g.c && g.a <= 100) {
        let message = format!(
            "grade thresholds must satisfy 100 >= a > b > c (a {}, b {}, c {})",
            g.a, g.b, g.c
        );
        push(
            found,
            "config.thresholds_order",
            message,
            vec![Step::Key("scoring"), Step::Key("grades")],
        );
    }
    let l = rules.lifecycle;
    if !(l.mql < l.sql && l.sql <= 100) {
        let message = format!(
            "lifecycle thresholds must satisfy mql < sql <= 100 (mql {}, sql {})",
            l.mql, l.sql
        );
        push(
            found,
            "config.thresholds_order",
            message,
            vec![Step::Key("lifecycle")],
        );
    }

    let mut rule_ids = HashSet::new();
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
        let path = vec![
            Step::Key("scoring"),
            Step::Key("engagement"),
            Step::Index(i),
            Step::Key("id"),
        ];
        check_rule_id(&rule.id, &mut rule_ids, path, found);
        if rule
            .half_life_days
            .is_some_and(|h| !(h.is_finite() && h > 0.0))
        {
            let path = vec![
                Step::Key("scoring"),
                Step::Key("engagement"),
                Step::Index(i),
                Step::Key("half_life_days"),
            ];
            push(
                found,
                "config.invalid_number",
                "half_life_days must be a positive number".to_owned(),
                path,
            );
        }
    }
    for (i, rule) in rules.disqualify.iter().enumerate() {
        let path = vec![Step::Key("disqualify"), Step::Index(i), Step::Key("id")];
        check_rule_id(&rule.id, &mut rule_ids, path.clone(), found);
        if rule.test_count() != 1 {
            let message = format!(
                "disqualification rule \"{}\" must set exactly one of when, email_domains, \
                 free_email, disposable_email, honeypot, min_fill_seconds (it sets {})",
                rule.id,
                rule.test_count()
            );
            push(found, "config.rule_tests", message, path);
        }
    }
    check_email_overrides(&rules.email, found);
    crate::notify::check(&rules.notify, found);
    crate::crm::check(&rules.crm, found);
    crate::events::check(&rules.feedback, found);
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
            if let Some(problem) = override_problem(domain) {
                found.push(Found {
                    code: "config.invalid_domain",
                    message: format!("\"{domain}\" in {key} {problem}"),
                    path,
                    offset: None,
                });
            } else if key == "disposable_allow" && email.disposable_block.contains(domain) {
                found.push(Found {
                    code: "config.domain_conflict",
                    message: format!(
                        "\"{domain}\" is in both disposable_block and disposable_allow"
                    ),
                    path,
                    offset: None,
                });
            }
        }
    }
}

fn check_rule_id(
    id: &str,
    seen: &mut HashSet<String>,
    path: Vec<Step<'static>>,
    found: &mut Vec<Found>,
) {
    if !valid_id(id) {
        found.push(invalid_id("rule", id, path));
    } else if !seen.insert(id.to_owned()) {
        found.push(Found {
            code: "config.duplicate_id",
            message: format!("rule id \"{id}\" is used twice"),
            path,
            offset: None,
        });
    }
}

pub(crate) type Types<'a> = BTreeMap<&'a str, (ValueType, Option<&'a Vec<String>>)>;

/// The type of every field id across all forms, for conditions in scoring and disqualification
/// rules. A field id used by two forms must mean the same thing in both.
fn field_types<'a>(rules: &'a Rules, found: &mut Vec<Found>) -> Types<'a> {
    let mut types: Types<'a> = BTreeMap::new();
    for (fi, form) in rules.forms.iter().enumerate() {
        for (i, field) in form.fields.iter().enumerate() {
            let ty = field.kind.value_type();
            let options = field.kind.has_options().then_some(&field.options);
            match types.get(field.id.as_str()) {
                Some(&(t, o)) if t != ty || o != options => found.push(Found {
                    code: "config.field_conflict",
                    message: format!(
                        "field \"{}\" has a different type or options than in an earlier form; \
                         rules could not tell which is meant",
                        field.id
                    ),
                    path: vec![
                        Step::Key("forms"),
                        Step::Index(fi),
                        Step::Key("fields"),
                        Step::Index(i),
                        Step::Key("id"),
                    ],
                    offset: None,
                }),
                Some(_) => {}
                None => {
                    types.insert(&field.id, (ty, options));
                }
            }
        }
    }
    types
}

/// Where a routing problem is: `routing.<rest>`.
fn routing_at(rest: &[Step<'static>]) -> Vec<Step<'static>> {
    let mut path = vec![Step::Key("routing")];
    path.extend_from_slice(rest);
    path
}

/// A routing target (`owner:ID`, `pool:ID`, `queue:ID`) that names a configured owner, pool or
/// queue; otherwise `config.invalid_target` or `config.unknown_owner` / `_pool` / `_queue`.
pub(crate) fn check_target(
    r: &RoutingConfig,
    text: &str,
    path: Vec<Step<'static>>,
    found: &mut Vec<Found>,
) -> Option<Target> {
    let Some(target) = Target::parse(text) else {
        found.push(problem(
            "config.invalid_target",
            format!("\"{text}\" is not a target; write owner:ID, pool:ID or queue:ID"),
            path,
        ));
        return None;
    };
    let (known, code, table) = match &target {
        Target::Owner(id) => (
            r.owners.iter().any(|o| &o.id == id),
            "config.unknown_owner",
            "owners",
        ),
        Target::Pool(id) => (
            r.pools.iter().any(|p| &p.id == id),
            "config.unknown_pool",
            "pools",
        ),
        Target::Queue(id) => (
            r.queues.iter().any(|q| &q.id == id),
            "config.unknown_queue",
            "queues",
        ),
    };
    if !known {
        let id = text.split_once(':').map_or(text, |(_, id)| id);
        found.push(problem(
            code,
            format!("\"{id}\" is not a [[routing.{table}]] id"),
            path,
        ));
        return None;
    }
    Some(target)
}

pub(crate) fn problem(code: &'static str, message: String, path: Vec<Step<'static>>) -> Found {
    Found {
        code,
        message,
        path,
        offset: None,
    }
}

/// Checks `[routing]` and compiles it: ids, references between owners, pools, queues, rules and
/// accounts, time zones, working hours, dates, weights, account domains and rule conditions (which
/// read the form fields and the routing attributes). `None` when there is no routing or it has a
/// problem.
fn check_routing(
    rules: &Rules,
    types: &Types<'_>,
    found: &mut Vec<Found>,
) -> Option<CompiledRouting> {
    let r = &rules.routing;
    if r.is_empty() {
        return None;
    }
    let before = found.len();
    let ids = |what: &str, kind: &'static str, list: Vec<&str>, found: &mut Vec<Found>| {
        let mut seen = HashSet::new();
        for (i, id) in list.into_iter().enumerate() {
            let path = routing_at(&[Step::Key(kind), Step::Index(i), Step::Key("id")]);
            if !valid_id(id) {
                found.push(invalid_id(what, id, path));
            } else if !seen.insert(id) {
                found.push(problem(
                    "config.duplicate_id",
                    format!("{what} id \"{id}\" is used twice"),
                    path,
                ));
            }
        }
    };
    ids(
        "owner",
        "owners",
        r.owners.iter().map(|o| o.id.as_str()).collect(),
        found,
    );
    ids(
        "calendar",
        "calendars",
        r.calendars.iter().map(|c| c.id.as_str()).collect(),
        found,
    );
    ids(
        "pool",
        "pools",
        r.pools.iter().map(|p| p.id.as_str()).collect(),
        found,
    );
    ids(
        "queue",
        "queues",
        r.queues.iter().map(|q| q.id.as_str()).collect(),
        found,
    );
    ids(
        "account",
        "accounts",
        r.accounts.iter().map(|a| a.id.as_str()).collect(),
        found,
    );
    ids(
        "routing rule",
        "rules",
        r.rules.iter().map(|x| x.id.as_str()).collect(),
        found,
    );

    let is_owner = |id: &str| r.owners.iter().any(|o| o.id == id);
    let unknown_owner = |id: &str, path: Vec<Step<'static>>| {
        problem(
            "config.unknown_owner",
            format!("\"{id}\" is not a [[routing.owners]] id"),
            path,
        )
    };

    // Calendars: shared holidays.
    for (ci, calendar) in r.calendars.iter().enumerate() {
        for (i, date) in calendar.holidays.iter().enumerate() {
            if let Err(message) = crate::hours::parse_date(date) {
                let path = routing_at(&[
                    Step::Key("calendars"),
                    Step::Index(ci),
                    Step::Key("holidays"),
                    Step::Index(i),
                ]);
                found.push(problem("config.invalid_date", message, path));
            }
        }
    }

    // Owners: time zone, hours, holidays, absences.
    let mut owners = Vec::new();
    for (oi, owner) in r.owners.iter().enumerate() {
        let at = |rest: &[Step<'static>]| {
            let mut p = vec![Step::Key("owners"), Step::Index(oi)];
            p.extend_from_slice(rest);
            routing_at(&p)
        };
        if let Some(address) = &owner.email {
            if crate::email::normalize(address).as_deref() != Ok(address.as_str()) {
                found.push(problem(
                    "config.invalid_email",
                    format!("\"{address}\" is not a normalized email address"),
                    at(&[Step::Key("email")]),
                ));
            }
        }
        let week = match owner.hours.as_deref().map(Week::parse) {
            None => Some(Week::always()),
            Some(Ok(week)) => Some(week),
            Some(Err(message)) => {
                found.push(problem(
                    "config.invalid_hours",
                    message,
                    at(&[Step::Key("hours")]),
                ));
                None
            }
        };
        if let Some(message) = timezone_problem(&owner.timezone) {
            found.push(problem(
                "config.invalid_timezone",
                message,
                at(&[Step::Key("timezone")]),
            ));
            continue;
        }
        let Some(week) = week else { continue };
        let Ok(mut hours) = Hours::new(&owner.timezone, week) else {
            continue;
        };
        let mut holidays: Vec<(&String, Vec<Step<'static>>)> = Vec::new();
        if let Some(calendar) = &owner.calendar {
            match r.calendars.iter().find(|c| &c.id == calendar) {
                Some(c) => holidays.extend(c.holidays.iter().map(|d| (d, Vec::new()))),
                None => found.push(problem(
                    "config.unknown_calendar",
                    format!("\"{calendar}\" is not a [[routing.calendars]] id"),
                    at(&[Step::Key("calendar")]),
                )),
            }
        }
        for (i, date) in owner.holidays.iter().enumerate() {
            holidays.push((date, at(&[Step::Key("holidays"), Step::Index(i)])));
        }
        for (date, path) in holidays {
            if let Err(message) = hours.add_holiday(date) {
                // A calendar's bad date is reported once, at the calendar.
                if !path.is_empty() {
                    found.push(problem("config.invalid_date", message, path));
                }
            }
        }
        for (i, away) in owner.away.iter().enumerate() {
            if let Err(message) = hours.add_away(&away.from, &away.to) {
                let code = if message.contains("before it starts") {
                    "config.invalid_period"
                } else {
                    "config.invalid_date"
                };
                found.push(problem(
                    code,
                    message,
                    at(&[Step::Key("away"), Step::Index(i)]),
                ));
            }
        }
        owners.push(CompiledOwner {
            spec: owner.clone(),
            hours,
        });
    }

    // Pools: members, weights, team lead.
    for (pi, pool) in r.pools.iter().enumerate() {
        let at = |rest: &[Step<'static>]| {
            let mut p = vec![Step::Key("pools"), Step::Index(pi)];
            p.extend_from_slice(rest);
            routing_at(&p)
        };
        if pool.members.is_empty() {
            found.push(problem(
                "config.empty_pool",
                format!("pool \"{}\" has no members", pool.id),
                at(&[Step::Key("members")]),
            ));
        }
        if let Some(lead) = &pool.lead {
            if !is_owner(lead) {
                found.push(unknown_owner(lead, at(&[Step::Key("lead")])));
            }
        }
        let mut seen = HashSet::new();
        for (mi, member) in pool.members.iter().enumerate() {
            let m_at = |key| at(&[Step::Key("members"), Step::Index(mi), Step::Key(key)]);
            if !is_owner(&member.owner) {
                found.push(unknown_owner(&member.owner, m_at("owner")));
            } else if !seen.insert(member.owner.as_str()) {
                found.push(problem(
                    "config.duplicate_id",
                    format!(
                        "\"{}\" is a member of pool \"{}\" twice",
                        member.owner, pool.id
                    ),
                    m_at("owner"),
                ));
            }
            if !(1..=1000).contains(&member.weight) {
                found.push(problem(
                    "config.invalid_weight",
                    format!("a weight must be 1 to 1000 (it is {})", member.weight),
                    m_at("weight"),
                ));
            }
        }
    }

    // Targets: rules, their fallbacks, and the global fallback (a queue).
    let check_target = |text: &str, path: Vec<Step<'static>>, found: &mut Vec<Found>| {
        check_target(r, text, path, found)
    };
    let fallback = match &r.fallback {
        None => {
            found.push(problem(
                "config.no_fallback",
                "routing needs a global fallback queue, such as fallback = \"queue:unassigned\", so \
                 that no lead is ever unowned"
                    .to_owned(),
                routing_at(&[]),
            ));
            None
        }
        Some(text) => match check_target(text, routing_at(&[Step::Key("fallback")]), found) {
            Some(Target::Queue(id)) => Some(id),
            Some(other) => {
                found.push(problem(
                    "config.fallback_not_queue",
                    format!(
                        "the global fallback must be a queue, which always takes a lead; {other} \
                         might not"
                    ),
                    routing_at(&[Step::Key("fallback")]),
                ));
                None
            }
            None => None,
        },
    };

    // Routing conditions read the routing attributes, then the form fields.
    let attributes = AttributeEnv::new(types);
    let env = |id: &str| attributes.get(id);
    for (fi, form) in rules.forms.iter().enumerate() {
        for (i, field) in form.fields.iter().enumerate() {
            // A text field may carry a UTM value (a hidden `utm_source` field): routing reads the
            // attribution first and the answer in its absence. Any other clash is ambiguous.
            let utm = field.id.starts_with("utm_") && field.kind.value_type() == ValueType::Text;
            if !utm && ATTRIBUTES.iter().any(|(name, _)| *name == field.id) {
                found.push(problem(
                    "config.field_conflict",
                    format!(
                        "field \"{}\" has the name of a routing attribute of another kind; \
                         routing rules could not tell which is meant, so rename the field",
                        field.id
                    ),
                    vec![
                        Step::Key("forms"),
                        Step::Index(fi),
                        Step::Key("fields"),
                        Step::Index(i),
                        Step::Key("id"),
                    ],
                ));
            }
        }
    }
    let mut compiled_rules = Vec::new();
    for (ri, rule) in r.rules.iter().enumerate() {
        let at = |key| routing_at(&[Step::Key("rules"), Step::Index(ri), Step::Key(key)]);
        let when = match &rule.when {
            None => None,
            Some(source) => match Condition::compile(source, &env) {
                Ok(c) => Some(c),
                Err(e) => {
                    found.push(Found {
                        code: e.code,
                        message: e.message,
                        path: at("when"),
                        offset: Some(e.start),
                    });
                    None
                }
            },
        };
        let to = check_target(&rule.to, at("to"), found);
        let fallback = match rule.fallback.as_deref() {
            None => Ok(None),
            Some(f) => check_target(f, at("fallback"), found).map(Some).ok_or(()),
        };
        if let (Some(to), Ok(fallback)) = (to, fallback) {
            compiled_rules.push(CompiledRule {
                id: rule.id.clone(),
                when,
                to,
                fallback,
            });
        }
    }

    // Accounts: domains (each claimed once, no mailbox providers) and owners.
    let mut domains = BTreeMap::new();
    for (ai, account) in r.accounts.iter().enumerate() {
        let at = |rest: &[Step<'static>]| {
            let mut p = vec![Step::Key("accounts"), Step::Index(ai)];
            p.extend_from_slice(rest);
            routing_at(&p)
        };
        if !is_owner(&account.owner) {
            found.push(unknown_owner(&account.owner, at(&[Step::Key("owner")])));
        }
        if account.domains.is_empty() {
            found.push(problem(
                "config.invalid_domain",
                format!("account \"{}\" lists no domain", account.id),
                at(&[Step::Key("domains")]),
            ));
        }
        for (i, domain) in account.domains.iter().enumerate() {
            let path = at(&[Step::Key("domains"), Step::Index(i)]);
            if let Some(why) = override_problem(domain) {
                found.push(problem(
                    "config.invalid_domain",
                    format!("\"{domain}\" {why}"),
                    path,
                ));
            } else if crate::email::is_free_mail(domain) {
                found.push(problem(
                    "config.invalid_domain",
                    format!("\"{domain}\" is a mailbox provider, not a company's domain"),
                    path,
                ));
            } else if let Some(&other) = domains.get(domain.as_str()) {
                let other: &crate::routing::AccountSpec = &r.accounts[other];
                found.push(problem(
                    "config.domain_conflict",
                    format!(
                        "\"{domain}\" is already a domain of account \"{}\"",
                        other.id
                    ),
                    path,
                ));
            } else {
                domains.insert(domain.as_str(), ai);
            }
        }
    }

    if found.len() > before {
        return None;
    }
    Some(CompiledRouting {
        owners,
        pools: r.pools.clone(),
        queues: r.queues.clone(),
        accounts: r.accounts.clone(),
        domains: domains
            .into_iter()
            .map(|(d, i)| (d.to_owned(), i))
            .collect(),
        rules: compiled_rules,
        fallback: fallback?,
    })
}

/// What routing (and SLA) conditions read: the routing attributes, then the form fields.
pub(crate) struct AttributeEnv<'t> {
    types: &'t Types<'t>,
    grades: Vec<String>,
    stages: Vec<String>,
}

impl<'t> AttributeEnv<'t> {
    pub(crate) fn new(types: &'t Types<'t>) -> AttributeEnv<'t> {
        AttributeEnv {
            types,
            grades: GRADES.iter().map(|g| (*g).to_owned()).collect(),
            stages: LIFECYCLES.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<FieldType<'_>> {
        if let Some(&(name, ty)) = ATTRIBUTES.iter().find(|(name, _)| *name == id) {
            let options = match name {
                "grade" => Some(&self.grades[..]),
                "lifecycle" => Some(&self.stages[..]),
                _ => None,
            };
            return Some(FieldType { ty, options });
        }
        self.types.get(id).map(|(ty, options)| FieldType {
            ty: *ty,
            options: options.map(|o| &o[..]),
        })
    }
}

/// Turns a problem's path into a line and column using the parsed TOML's spans. For a string
/// value with an offset (a condition), the position points inside the string.
fn locate(text: &str, tree: Option<&DeTable<'_>>, found: Found) -> ConfigError {
    let mut span: Option<std::ops::Range<usize>> = None;
    let mut value: Option<&DeValue<'_>> = None;
    let mut table = tree;
    for step in &found.path {
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
    let (line, column) = match (span, found.offset, value) {
        // Inside a basic string: one byte for the opening quote, then the offset.
        (Some(s), Some(offset), Some(DeValue::String(_))) => {
            line_column(text, (s.start + 1 + offset).min(s.end))
        }
        (Some(s), _, _) => line_column(text, s.start),
        (None, _, _) => (1, 1),
    };
    ConfigError {
        code: found.code,
        message: found.message,
        line,
        column,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}
