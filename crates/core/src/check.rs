//! The configuration checks' shared vocabulary: the stable `config.*` codes (`ConfigCode`), a
//! problem found and the path to where it is (`Found`, `Step`), the located problem a user reads
//! (`ConfigError`), and the id check. A leaf: it imports none of the modules whose configuration
//! it helps check, so each of them can check its own section and the bundle only calls down.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::condition::{ConditionError, ValueType};

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
        /// TOML errors, unknown keys, wrong types.
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
}

/// A configuration problem at `path`.
pub(crate) fn problem(code: ConfigCode, message: String, path: Vec<Step<'static>>) -> Found {
    Found {
        code: code.as_str(),
        message,
        path,
        offset: None,
    }
}

/// A condition that did not compile, at `offset` bytes into the expression at `path`.
pub(crate) fn condition_problem(error: ConditionError, path: Vec<Step<'static>>) -> Found {
    Found {
        code: error.code,
        message: error.message,
        path,
        offset: Some(error.start),
    }
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
