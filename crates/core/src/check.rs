//! The configuration checks' shared vocabulary: the stable `config.*` codes (`ConfigCode`), a
//! problem found and the path to where it is (`Found`, `Step`), the located problem a user reads
//! (`ConfigError`), the id check, duplicate ids with both places (`FirstSeen`), references to ids
//! with a suggestion (`unknown_ref`), and conditions compiled with one (`compile_condition`). A
//! leaf: it imports none of the modules whose configuration it helps check, so each of them can
//! check its own section and the bundle only calls down.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use crate::condition::{Condition, ConditionError, FieldType, ValueType};
use crate::suggest::did_you_mean;

/// Declares a `#[non_exhaustive]` enum of stable codes with `ALL` (every code) and `as_str`,
/// from one table, so that no code can be missing from either.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[doc = $doc:literal])* $variant:ident => $code:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[doc = $doc])* $variant,)*
        }

        impl $name {
            /// Every code, in the order the table declares them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The code as it is written in configurations' reports, logs, APIs and docs.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use code_enum;

code_enum! {
    /// The stable code of a configuration problem, as `handoff check`, the admin API and the logs
    /// name it (`config.duplicate_id`). Codes are a contract (docs/CONFIG.md lists every one): a
    /// code is never renamed or reused, new ones are added.
    pub enum ConfigCode {
        /// TOML that cannot be read at all (an unclosed bracket, a key twice, text without quotes).
        Syntax => "config.syntax",
        InvalidId => "config.invalid_id",
        DuplicateId => "config.duplicate_id",
        NoForms => "config.no_forms",
        EmptyForm => "config.empty_form",
        NoOptions => "config.no_options",
        UnexpectedOptions => "config.unexpected_options",
        DuplicateOption => "config.duplicate_option",
        UnknownField => "config.unknown_field",
        RequiredInPool => "config.required_in_pool",
        FieldConflict => "config.field_conflict",
        ScoringMax => "config.scoring_max",
        ThresholdsOrder => "config.thresholds_order",
        InvalidNumber => "config.invalid_number",
        RuleTests => "config.rule_tests",
        InvalidDomain => "config.invalid_domain",
        DomainConflict => "config.domain_conflict",
        InvalidOrigin => "config.invalid_origin",
        InvalidOutcome => "config.invalid_outcome",
        NoFallback => "config.no_fallback",
        FallbackNotQueue => "config.fallback_not_queue",
        InvalidTarget => "config.invalid_target",
        UnknownOwner => "config.unknown_owner",
        UnknownPool => "config.unknown_pool",
        UnknownQueue => "config.unknown_queue",
        UnknownCalendar => "config.unknown_calendar",
        InvalidTimezone => "config.invalid_timezone",
        InvalidHours => "config.invalid_hours",
        InvalidDate => "config.invalid_date",
        InvalidPeriod => "config.invalid_period",
        InvalidEmail => "config.invalid_email",
        InvalidWeight => "config.invalid_weight",
        EmptyPool => "config.empty_pool",
        InvalidChannel => "config.invalid_channel",
        InvalidDuration => "config.invalid_duration",
        LadderOrder => "config.ladder_order",
        NoTeamLead => "config.no_team_lead",
        InvalidIntake => "config.invalid_intake",
        InvalidReason => "config.invalid_reason",
        InvalidExperiment => "config.invalid_experiment",
        /// `routing.capacity_counts` names something that is not an open lead status.
        InvalidStatus => "config.invalid_status",
        /// An owner's Slack user id, or alerts that cannot reach them.
        InvalidAlerts => "config.invalid_alerts",
        /// A value of the wrong kind: text where a whole number goes (`weight = "2"`), a date
        /// without quotes, a table where a list goes.
        InvalidType => "config.invalid_type",
        /// A key the table does not have (`colour` in `[[forms]]`).
        UnknownKey => "config.unknown_key",
        /// A key the table needs is not there (`[[routing.owners]]` without `timezone`).
        MissingKey => "config.missing_key",
        /// A word that is not one of the few a key allows (`type = "date"`, `clock = "business"`).
        UnknownValue => "config.unknown_value",
        /// A `country` field's option that is not an ISO 3166-1 alpha-2 code of the shipped list.
        UnknownCountry => "config.unknown_country",
        /// A `[[crm.push]]` that cannot work: secrets for another target, a property name the
        /// CRM cannot have, a value map of an unmapped property, Salesforce's required fields.
        InvalidPush => "config.invalid_push",
        /// An owner or queue routing can give a lead to, with no CRM owner in a push's `owners`.
        UnmappedOwner => "config.unmapped_owner",
        /// A CRM intake's `push` that names no `[[crm.push]]`.
        UnknownPush => "config.unknown_push",
        /// A secret name the configuration may not give: one the Worker reads for itself
        /// (`ADMIN_TOKEN`, `LINK_SECRET`, …), or a CRM secret without a CRM prefix. Naming
        /// `ADMIN_TOKEN` as an intake's secret would hand the admin token to the CRM vendor.
        ReservedSecret => "config.reserved_secret",
    }
}

impl ConfigCode {
    /// Whether the check reads several keys of one table together and puts its problem at one
    /// of them (a disqualification rule's tests at its `id`, a channel's kind and secrets): a
    /// key of that table that could not be read makes such a problem unreliable.
    pub(crate) const fn reads_several_keys(self) -> bool {
        matches!(
            self,
            ConfigCode::RuleTests
                | ConfigCode::NoOptions
                | ConfigCode::UnexpectedOptions
                | ConfigCode::EmptyForm
                | ConfigCode::InvalidExperiment
                | ConfigCode::InvalidChannel
                | ConfigCode::InvalidAlerts
                | ConfigCode::InvalidIntake
                | ConfigCode::InvalidPush
        )
    }
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

/// The path of `key` of field `field` of form `form`: `forms[form].fields[field].key`.
pub(crate) fn field_path(form: usize, field: usize, key: &'static str) -> Vec<Step<'static>> {
    vec![
        Step::Key("forms"),
        Step::Index(form),
        Step::Key("fields"),
        Step::Index(field),
        Step::Key(key),
    ]
}

/// A problem found by the checks, located later.
pub(crate) struct Found {
    /// A `config.*` code ([`ConfigCode::as_str`]) or a condition's `condition.*` code.
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) path: Vec<Step<'static>>,
    /// Byte offset within the located value (for conditions, where in the expression), if any.
    pub(crate) offset: Option<usize>,
    /// The other place the problem concerns: the first use of an id used twice. Located, the
    /// message says where it is.
    pub(crate) first: Option<Vec<Step<'static>>>,
}

/// A configuration problem at `path`.
pub(crate) fn problem(code: ConfigCode, message: String, path: Vec<Step<'static>>) -> Found {
    Found {
        code: code.as_str(),
        message,
        path,
        offset: None,
        first: None,
    }
}

/// A condition that did not compile, at `offset` bytes into the expression at `path`.
pub(crate) fn condition_problem(error: ConditionError, path: Vec<Step<'static>>) -> Found {
    Found {
        code: error.code,
        message: error.message,
        path,
        offset: Some(error.start),
        first: None,
    }
}

/// Compiles the condition `source` against `env`; a problem is pushed at `path`, and a field
/// `env` does not know is told the closest of `names` (called only then).
pub(crate) fn compile_condition<'a, 'n>(
    source: &str,
    env: &dyn Fn(&str) -> Option<FieldType<'a>>,
    names: &dyn Fn() -> Vec<&'n str>,
    path: Vec<Step<'static>>,
    found: &mut Vec<Found>,
) -> Option<Condition> {
    Condition::compile(source, env)
        .map_err(|e| {
            let e = suggest_country(e.suggest_field(source, names()), source, env);
            found.push(condition_problem(e, path));
        })
        .ok()
}

/// A country's name where its code goes (`country == "Germany"` on a country field or
/// `country_code`): the message names the code. Here rather than in the condition compiler, which
/// the browser runs, so that the country names stay out of the form's module.
pub(crate) fn suggest_country<'a>(
    mut e: ConditionError,
    source: &str,
    env: &dyn Fn(&str) -> Option<FieldType<'a>>,
) -> ConditionError {
    if e.code != "condition.unknown_option" || e.message.contains("did you mean") {
        return e;
    }
    let literal = source.get(e.start..e.end).map(|t| t.trim_matches('"'));
    let Some(code) = literal.and_then(|t| crate::country::normalize_country(t).ok()) else {
        return e;
    };
    // The message names the field between backticks.
    let name = e.message.split('`').nth(1).unwrap_or_default();
    let offered = env(name)
        .and_then(|f| f.options)
        .is_some_and(|options| options.iter().any(|o| o == code));
    if let (true, Some((head, _))) = (offered, e.message.split_once("; ")) {
        e.message = format!("{head}; countries are written as codes: did you mean \"{code}\"?");
    }
    e
}

/// `config.duplicate_id`: `message` (such as `form id "demo" is used twice`) at `path`; located,
/// it says where the first one is (`: first at line 3`).
pub(crate) fn duplicate(
    message: String,
    path: Vec<Step<'static>>,
    first: Vec<Step<'static>>,
) -> Found {
    Found {
        first: Some(first),
        ..problem(ConfigCode::DuplicateId, message, path)
    }
}

/// The ids of one table seen so far, each with where it was first seen.
#[derive(Debug, Default)]
pub(crate) struct FirstSeen<'a>(HashMap<&'a str, Vec<Step<'static>>>);

impl<'a> FirstSeen<'a> {
    /// Records `id` at `path`; if it was seen before, where it was first.
    pub(crate) fn seen_before(
        &mut self,
        id: &'a str,
        path: &[Step<'static>],
    ) -> Option<Vec<Step<'static>>> {
        match self.0.get(id) {
            Some(first) => Some(first.clone()),
            None => {
                self.0.insert(id, path.to_vec());
                None
            }
        }
    }
}

/// A reference to `id` that no `[[table]]` entry has (`code`, such as `config.unknown_owner`), with
/// the closest of the `known` ids suggested.
pub(crate) fn unknown_ref<'k>(
    code: ConfigCode,
    table: &str,
    id: &str,
    known: impl IntoIterator<Item = &'k str>,
    path: Vec<Step<'static>>,
) -> Found {
    let suggestion = did_you_mean(id, known, '"');
    problem(
        code,
        format!("\"{id}\" is not a [[{table}]] id{suggestion}"),
        path,
    )
}

/// `^[a-z][a-z0-9_-]{0,63}$`: the shape of every configured id (forms, fields, owners, queues,
/// pools, …). Ids appear in URLs, DOM ids, JSON keys and SQL values: keep them to a safe alphabet.
/// The one check: the configuration's, and the Worker's for ids in requests.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && id.as_bytes()[0].is_ascii_lowercase()
}

/// `config.invalid_id` for the `what` (form, field, owner, …) whose id is `id`.
pub(crate) fn invalid_id(what: &str, id: &str, path: Vec<Step<'static>>) -> Found {
    problem(
        ConfigCode::InvalidId,
        format!(
            "{what} id \"{id}\" must start with a lowercase letter and use only a-z, 0-9, _ and - \
             (at most 64)"
        ),
        path,
    )
}

/// The type (and options, for choice fields) of every field id across all forms, which
/// conditions in scoring, disqualification, routing and SLA rules are checked against.
pub(crate) type Types<'a> = BTreeMap<&'a str, (ValueType, Option<&'a Vec<String>>)>;

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}
