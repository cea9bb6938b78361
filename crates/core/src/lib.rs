//! handoff-core: the rules of Handoff, evaluated identically in the browser, the Worker and the CLI.
//!
//! Architecture invariant: this crate does no I/O, reads no clock and knows nothing about
//! JavaScript. Time, configuration and submissions come in as arguments; typed values with stable
//! codes come out. The adapters (`handoff-form`, `handoff-worker`, `handoff-cli`) decode, call in
//! here and encode.

pub mod alert_mail;
pub mod alerts;
pub mod answer;
pub mod attribution;
pub mod bundle;
pub mod case;
pub mod check;
pub mod client;
pub mod company;
pub mod compare;
pub mod condition;
pub mod country;
pub mod crm;
pub mod disposable;
pub mod disqualify;
pub mod duration;
pub mod email;
pub mod encode;
pub mod enrich;
pub mod erase;
pub mod evaluate;
pub mod events;
pub mod experiment;
pub mod form;
pub mod health;
pub mod hours;
pub mod issue;
pub mod lead;
pub mod mail;
pub mod mail_server;
pub mod markup;
pub mod metrics;
pub mod notify;
pub mod number;
pub mod phone;
pub mod push;
pub mod replay;
pub mod returning;
pub mod routing;
pub mod scoring;
pub mod secrets;
mod shape;
pub mod sla;
pub mod slack;
pub mod status;
pub mod submission;
mod suggest;
pub mod text;
pub mod title;
pub mod tld;
pub mod visibility;

pub use answer::{AnswerMap, AnswerValue};
pub use bundle::{Bundle, Rules};
pub use check::{ConfigCode, ConfigError};
pub use evaluate::{evaluate, Evaluation, LeadInput};
pub use form::{FieldKind, FieldSpec, FormSpec};
pub use issue::{Issue, IssueCode};
pub use submission::{check_answer, check_submission, Submission};
pub use visibility::CompiledForm;

/// The tests' shared generator (`tests/support/rng.rs`), for the unit tests in `src/`.
#[cfg(test)]
#[path = "../tests/support/rng.rs"]
mod test_rng;
