//! Experiments over routing and first-touch settings: `[[experiments]]` splits the leads its
//! `when` selects into arms by weight, by a stable hash of each lead's id, so the Worker, the CLI
//! and any later recount put a lead in the same arm. An `sla` experiment's arms change the first-
//! touch target of the SLA policy that applies; a `routing` experiment's arms send the leads the
//! matching routing rule would place to another target. Reports compare arms (`metrics`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::check::{
    compile_condition, duplicate, invalid_id, problem, valid_id, ConfigCode, FirstSeen, Found, Step,
};
use crate::condition::Condition;
use crate::duration::{parse_span, Span};
use crate::routing::{
    check_target, AttributeEnv, CompiledRouting, LeadView, RouteInput, RoutingConfig, Target,
};

/// One `[[experiments]]` as the configuration writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    pub id: String,
    /// Which leads take part (the routing rules' language); omitted: every lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    pub kind: ExperimentKind,
    pub arms: Vec<ArmSpec>,
}

/// What an experiment's arms change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentKind {
    /// `first_touch`: the target of the SLA policy that applies.
    Sla,
    /// `to`: where the routing rule that matches sends the lead.
    Routing,
}

/// One `[[experiments.arms]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSpec {
    pub id: String,
    #[serde(default = "one")]
    pub weight: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_touch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

fn one() -> u32 {
    1
}

/// A checked experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub id: String,
    when: Option<Condition>,
    pub kind: ExperimentKind,
    pub arms: Vec<Arm>,
}

/// A checked arm: its weight and what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arm {
    pub id: String,
    pub weight: u32,
    pub first_touch: Option<Span>,
    pub to: Option<Target>,
}

/// The arm a lead takes in an experiment, as stored on the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub experiment: String,
    pub arm: String,
}

impl Experiment {
    /// Whether `lead` takes part.
    pub fn selects(&self, lead: &RouteInput, routing: Option<&CompiledRouting>) -> bool {
        let account =
            routing.and_then(|r| lead.email.as_deref().and_then(|e| r.account_for_email(e)));
        self.when
            .as_ref()
            .is_none_or(|c| c.eval(&LeadView::new(lead, account)))
    }

    /// The arm of `lead_id`: the first 8 bytes of SHA-256(`experiment id:lead id`), as a number,
    /// modulo the total weight, walked through the arms in order. Stable across runtimes and time.
    pub fn assign(&self, lead_id: &str) -> &Arm {
        let digest = Sha256::digest(format!("{}:{lead_id}", self.id).as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        let total: u64 = self.arms.iter().map(|a| u64::from(a.weight)).sum();
        let mut point = u64::from_be_bytes(bytes) % total.max(1);
        for arm in &self.arms {
            if point < u64::from(arm.weight) {
                return arm;
            }
            point -= u64::from(arm.weight);
        }
        &self.arms[self.arms.len() - 1]
    }
}

/// The first experiment that selects `lead` (one per lead: arms of two experiments would not be
/// comparable), and the arm `lead_id` takes in it.
pub fn assign<'a>(
    experiments: &'a [Experiment],
    lead: &RouteInput,
    routing: Option<&CompiledRouting>,
    lead_id: &str,
) -> Option<(&'a Experiment, &'a Arm)> {
    let experiment = experiments.iter().find(|e| e.selects(lead, routing))?;
    Some((experiment, experiment.assign(lead_id)))
}

/// Checks `[[experiments]]` (`config.invalid_experiment`: fewer than two arms, an arm without
/// what its kind changes or with what it does not, a weight of 0 or over 1000;
/// `config.invalid_id`, `config.duplicate_id`, duration and target codes as elsewhere) and
/// compiles them.
pub(crate) fn check(
    experiments: &[ExperimentSpec],
    routing: &RoutingConfig,
    env: &AttributeEnv<'_>,
    found: &mut Vec<Found>,
) -> Vec<Experiment> {
    let mut out = Vec::new();
    let mut ids = FirstSeen::default();
    for (ei, spec) in experiments.iter().enumerate() {
        let at = |rest: &[Step<'static>]| {
            let mut p = vec![Step::Key("experiments"), Step::Index(ei)];
            p.extend_from_slice(rest);
            p
        };
        if !valid_id(&spec.id) {
            found.push(invalid_id("experiment", &spec.id, at(&[Step::Key("id")])));
        } else if let Some(first) = ids.seen_before(&spec.id, &at(&[Step::Key("id")])) {
            let message = format!("experiment id \"{}\" is used twice", spec.id);
            found.push(duplicate(message, at(&[Step::Key("id")]), first));
        }
        let when = spec.when.as_deref().and_then(|source| {
            let (names, path) = (|| env.names(), at(&[Step::Key("when")]));
            compile_condition(source, &|id| env.get(id), &names, path, found)
        });
        if spec.arms.len() < 2 {
            found.push(problem(
                ConfigCode::InvalidExperiment,
                "an experiment needs at least two [[experiments.arms]]".to_owned(),
                at(&[Step::Key("id")]),
            ));
        }
        let mut arm_ids = FirstSeen::default();
        let mut arms = Vec::new();
        for (ai, arm) in spec.arms.iter().enumerate() {
            let a_at = |key| at(&[Step::Key("arms"), Step::Index(ai), Step::Key(key)]);
            if !valid_id(&arm.id) {
                found.push(invalid_id("arm", &arm.id, a_at("id")));
            } else if let Some(first) = arm_ids.seen_before(&arm.id, &a_at("id")) {
                let message = format!("arm id \"{}\" is used twice", arm.id);
                found.push(duplicate(message, a_at("id"), first));
            }
            if !(1..=1000).contains(&arm.weight) {
                found.push(problem(
                    ConfigCode::InvalidExperiment,
                    format!("an arm's weight must be 1 to 1000 (it is {})", arm.weight),
                    a_at("weight"),
                ));
            }
            let (first_touch, to) = check_arm_setting(spec.kind, arm, &a_at, routing, found);
            arms.push(Arm {
                id: arm.id.clone(),
                weight: arm.weight.max(1),
                first_touch,
                to,
            });
        }
        out.push(Experiment {
            id: spec.id.clone(),
            when,
            kind: spec.kind,
            arms,
        });
    }
    out
}

/// What an arm sets for its experiment's kind: an sla arm's `first_touch` (a duration longer than
/// zero), a routing arm's `to` (a configured target), and never the other. `a_at` makes a path
/// inside the arm.
fn check_arm_setting(
    kind: ExperimentKind,
    arm: &ArmSpec,
    a_at: &dyn Fn(&'static str) -> Vec<Step<'static>>,
    routing: &RoutingConfig,
    found: &mut Vec<Found>,
) -> (Option<Span>, Option<Target>) {
    let mut first_touch = None;
    let mut to = None;
    match kind {
        ExperimentKind::Sla => {
            if arm.to.is_some() {
                found.push(problem(
                    ConfigCode::InvalidExperiment,
                    "an sla experiment's arms set first_touch, not to".to_owned(),
                    a_at("to"),
                ));
            }
            match arm.first_touch.as_deref() {
                None => found.push(problem(
                    ConfigCode::InvalidExperiment,
                    "each arm of an sla experiment sets first_touch, such as \"15m\"".to_owned(),
                    a_at("id"),
                )),
                Some(text) => match parse_span(text) {
                    Ok(Span::Time(0)) => found.push(problem(
                        ConfigCode::InvalidDuration,
                        "the first-touch target must be longer than zero".to_owned(),
                        a_at("first_touch"),
                    )),
                    Ok(span) => first_touch = Some(span),
                    Err(message) => found.push(problem(
                        ConfigCode::InvalidDuration,
                        message,
                        a_at("first_touch"),
                    )),
                },
            }
        }
        ExperimentKind::Routing => {
            if arm.first_touch.is_some() {
                found.push(problem(
                    ConfigCode::InvalidExperiment,
                    "a routing experiment's arms set to, not first_touch".to_owned(),
                    a_at("first_touch"),
                ));
            }
            match arm.to.as_deref() {
                None => found.push(problem(
                    ConfigCode::InvalidExperiment,
                    "each arm of a routing experiment sets to, such as \"pool:na\"".to_owned(),
                    a_at("id"),
                )),
                Some(text) => to = check_target(routing, text, a_at("to"), found),
            }
        }
    }
    (first_touch, to)
}
