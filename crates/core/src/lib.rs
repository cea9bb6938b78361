//! handoff-core: the rules of Handoff, evaluated identically in the browser, the Worker and the CLI.
//!
//! Architecture invariant: this crate does no I/O, reads no clock and knows nothing about
//! JavaScript. Time, configuration and submissions come in as arguments; typed values with stable
//! codes come out. The adapters (`handoff-form`, `handoff-worker`, `handoff-cli`) decode, call in
//! here and encode.

pub mod bundle;
pub mod condition;
pub mod email;
pub mod form;
pub mod issue;
pub mod submission;
pub mod text;

pub use bundle::{Bundle, ConfigError};
pub use form::{FieldKind, FieldSpec, FormSpec};
pub use issue::{Issue, IssueCode};
pub use submission::{check_submission, Submission};
