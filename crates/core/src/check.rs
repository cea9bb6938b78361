//! The configuration checks' shared vocabulary: the stable `config.*` codes (`ConfigCode`), a
//! problem found and the path to where it is (`Found`, `Step`), the located problem a user reads
//! (`ConfigError`), and the id check. A leaf: it imports none of the modules whose configuration
//! it helps check, so each of them can check its own section and the bundle only calls down.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::condition::{ConditionError, ValueType};

/// The stable code of a configuration problem. Codes are a contract (docs/CONFIG.md lists every
/// one): a code is never renamed or reused, new ones are added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigCode {
    /// TOML errors, unknown keys, wrong types.
    Syntax,
    InvalidId,
    DuplicateId,
    NoForms,
    EmptyForm,
    NoOptions,
    UnexpectedOptions,
    DuplicateOption,
    UnknownField,
    RequiredInPool,
    FieldConflict,
    ScoringMax,
    ThresholdsOrder,
    InvalidNumber,
    RuleTests,
    InvalidDomain,
    DomainConflict,
    InvalidOrigin,
    InvalidOutcome,
    NoFallback,
    FallbackNotQueue,
    InvalidTarget,
    UnknownOwner,
    UnknownPool,
    UnknownQueue,
    UnknownCalendar,
    InvalidTimezone,
    InvalidHours,
    InvalidDate,
    InvalidPeriod,
    InvalidEmail,
    InvalidWeight,
    EmptyPool,
    InvalidChannel,
    InvalidDuration,
    LadderOrder,
    NoTeamLead,
    InvalidIntake,
    InvalidReason,
    InvalidExperiment,
}

impl ConfigCode {
    /// Every code, in the order docs/CONFIG.md introduces them.
    pub const ALL: [ConfigCode; 40] = [
        ConfigCode::Syntax,
        ConfigCode::InvalidId,
        ConfigCode::DuplicateId,
        ConfigCode::NoForms,
        ConfigCode::EmptyForm,
        ConfigCode::NoOptions,
        ConfigCode::UnexpectedOptions,
        ConfigCode::DuplicateOption,
        ConfigCode::UnknownField,
        ConfigCode::RequiredInPool,
        ConfigCode::FieldConflict,
        ConfigCode::ScoringMax,
        ConfigCode::ThresholdsOrder,
        ConfigCode::InvalidNumber,
        ConfigCode::RuleTests,
        ConfigCode::InvalidDomain,
        ConfigCode::DomainConflict,
        ConfigCode::InvalidOrigin,
        ConfigCode::InvalidOutcome,
        ConfigCode::NoFallback,
        ConfigCode::FallbackNotQueue,
        ConfigCode::InvalidTarget,
        ConfigCode::UnknownOwner,
        ConfigCode::UnknownPool,
        ConfigCode::UnknownQueue,
        ConfigCode::UnknownCalendar,
        ConfigCode::InvalidTimezone,
        ConfigCode::InvalidHours,
        ConfigCode::InvalidDate,
        ConfigCode::InvalidPeriod,
        ConfigCode::InvalidEmail,
        ConfigCode::InvalidWeight,
        ConfigCode::EmptyPool,
        ConfigCode::InvalidChannel,
        ConfigCode::InvalidDuration,
        ConfigCode::LadderOrder,
        ConfigCode::NoTeamLead,
        ConfigCode::InvalidIntake,
        ConfigCode::InvalidReason,
        ConfigCode::InvalidExperiment,
    ];

    /// The code as `handoff check`, the admin API and the logs name it (`config.duplicate_id`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ConfigCode::Syntax => "config.syntax",
            ConfigCode::InvalidId => "config.invalid_id",
            ConfigCode::DuplicateId => "config.duplicate_id",
            ConfigCode::NoForms => "config.no_forms",
            ConfigCode::EmptyForm => "config.empty_form",
            ConfigCode::NoOptions => "config.no_options",
            ConfigCode::UnexpectedOptions => "config.unexpected_options",
            ConfigCode::DuplicateOption => "config.duplicate_option",
            ConfigCode::UnknownField => "config.unknown_field",
            ConfigCode::RequiredInPool => "config.required_in_pool",
            ConfigCode::FieldConflict => "config.field_conflict",
            ConfigCode::ScoringMax => "config.scoring_max",
            ConfigCode::ThresholdsOrder => "config.thresholds_order",
            ConfigCode::InvalidNumber => "config.invalid_number",
            ConfigCode::RuleTests => "config.rule_tests",
            ConfigCode::InvalidDomain => "config.invalid_domain",
            ConfigCode::DomainConflict => "config.domain_conflict",
            ConfigCode::InvalidOrigin => "config.invalid_origin",
            ConfigCode::InvalidOutcome => "config.invalid_outcome",
            ConfigCode::NoFallback => "config.no_fallback",
            ConfigCode::FallbackNotQueue => "config.fallback_not_queue",
            ConfigCode::InvalidTarget => "config.invalid_target",
            ConfigCode::UnknownOwner => "config.unknown_owner",
            ConfigCode::UnknownPool => "config.unknown_pool",
            ConfigCode::UnknownQueue => "config.unknown_queue",
            ConfigCode::UnknownCalendar => "config.unknown_calendar",
            ConfigCode::InvalidTimezone => "config.invalid_timezone",
            ConfigCode::InvalidHours => "config.invalid_hours",
            ConfigCode::InvalidDate => "config.invalid_date",
            ConfigCode::InvalidPeriod => "config.invalid_period",
            ConfigCode::InvalidEmail => "config.invalid_email",
            ConfigCode::InvalidWeight => "config.invalid_weight",
            ConfigCode::EmptyPool => "config.empty_pool",
            ConfigCode::InvalidChannel => "config.invalid_channel",
            ConfigCode::InvalidDuration => "config.invalid_duration",
            ConfigCode::LadderOrder => "config.ladder_order",
            ConfigCode::NoTeamLead => "config.no_team_lead",
            ConfigCode::InvalidIntake => "config.invalid_intake",
            ConfigCode::InvalidReason => "config.invalid_reason",
            ConfigCode::InvalidExperiment => "config.invalid_experiment",
        }
    }
}

impl fmt::Display for ConfigCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// Ids appear in URLs, DOM ids, JSON keys and SQL values: keep them to a safe alphabet.
pub(crate) fn valid_id(id: &str) -> bool {
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
