//! Scoring and qualification: fit, engagement and intent points from configured rules, a combined
//! 0–100 score whose breakdown always adds up to it, a grade from fit, and a lifecycle stage.

use serde::{Deserialize, Serialize};

use crate::condition::{Answers, Condition, ConditionError, FieldType, ValueType};

/// The scoring model, as configured under `[scoring]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    #[serde(default)]
    pub max: DimensionMax,
    /// Who the lead is: company size, industry, role, country.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fit: Vec<PointRule>,
    /// What the visitor did: pages, downloads, visits, decaying with age.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engagement: Vec<EngagementRule>,
    /// What the visitor asked for: a demo, pricing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intent: Vec<PointRule>,
    #[serde(default)]
    pub grades: Grades,
}

/// The most points each dimension can contribute. They must add up to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionMax {
    pub fit: u32,
    pub engagement: u32,
    pub intent: u32,
}

impl Default for DimensionMax {
    fn default() -> DimensionMax {
        DimensionMax {
            fit: 50,
            engagement: 25,
            intent: 25,
        }
    }
}

/// Points when a condition on the answers holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointRule {
    pub id: String,
    /// What a person reads in the breakdown, e.g. "Company of 200+ people".
    pub label: String,
    pub when: String,
    /// May be negative, e.g. for a poor-fit industry.
    pub points: i32,
}

/// Points per recorded activity of one kind, halving every `half_life_days`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngagementRule {
    pub id: String,
    pub label: String,
    /// The activity kind counted, e.g. `page_view`, `download`, `visit`, `webinar`.
    pub activity: String,
    /// Only activities whose detail (e.g. the page path) contains this text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail_contains: String,
    /// Points for one fresh activity.
    pub points: u32,
    /// The most this rule contributes, whatever the count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// Age at which an activity counts half. No decay when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life_days: Option<f64>,
}

/// Grade thresholds, as percentages of the fit maximum: fit ≥ `a`% is grade A, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grades {
    pub a: u32,
    pub b: u32,
    pub c: u32,
}

impl Default for Grades {
    fn default() -> Grades {
        Grades {
            a: 75,
            b: 50,
            c: 25,
        }
    }
}

/// Score thresholds for the lifecycle stages, as configured under `[lifecycle]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub mql: u32,
    pub sql: u32,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds { mql: 40, sql: 70 }
    }
}

/// Something the visitor did, recorded by the browser or the Worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub kind: String,
    /// When, in ms since the epoch.
    pub at_ms: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Fit,
    Engagement,
    Intent,
}

/// One line of the breakdown: which rule gave how many points, and why in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contribution {
    pub dimension: Dimension,
    /// The rule's id, or `cap` / `floor` for the adjustments that keep a dimension in range.
    pub rule: String,
    pub label: String,
    pub points: i32,
}

/// A lead's score: each dimension within its maximum, the total within 0–100, and every line that
/// made it. The breakdown's points always add up to `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    pub fit: i32,
    pub engagement: i32,
    pub intent: i32,
    pub total: i32,
    pub breakdown: Vec<Contribution>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Grade {
    A,
    B,
    C,
    D,
}

impl Grade {
    pub const fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Disqualified,
    Nurture,
    Mql,
    Sql,
}

impl Stage {
    /// The stable code, as serialized.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Disqualified => "disqualified",
            Stage::Nurture => "nurture",
            Stage::Mql => "mql",
            Stage::Sql => "sql",
        }
    }

    /// Every stage, lowest first.
    pub const ALL: [Stage; 4] = [Stage::Disqualified, Stage::Nurture, Stage::Mql, Stage::Sql];

    /// The stage whose code is `code` (as [`Stage::as_str`] writes it), e.g. a report's filter.
    pub fn parse(code: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == code)
    }
}

/// The scoring model with its conditions compiled, one per fit and intent rule, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompiledScoring {
    pub model: Scoring,
    pub fit: Vec<Condition>,
    pub intent: Vec<Condition>,
}

const DAY_MS: f64 = 86_400_000.0;

impl CompiledScoring {
    /// Scores `answers` and `activity` at `now_ms`.
    pub fn score(&self, answers: &dyn Answers, activity: &[Activity], now_ms: i64) -> Score {
        let mut breakdown = Vec::new();
        let max = self.model.max;
        let fit = point_rules(
            Dimension::Fit,
            &self.model.fit,
            &self.fit,
            answers,
            &mut breakdown,
        );
        let fit = clamp(Dimension::Fit, fit, max.fit, &mut breakdown);
        let mut engagement = 0i64;
        for rule in &self.model.engagement {
            let points = engagement_points(rule, activity, now_ms);
            if points != 0 {
                breakdown.push(line(Dimension::Engagement, &rule.id, &rule.label, points));
                engagement += i64::from(points);
            }
        }
        let engagement = clamp(
            Dimension::Engagement,
            engagement,
            max.engagement,
            &mut breakdown,
        );
        let intent = point_rules(
            Dimension::Intent,
            &self.model.intent,
            &self.intent,
            answers,
            &mut breakdown,
        );
        let intent = clamp(Dimension::Intent, intent, max.intent, &mut breakdown);
        Score {
            fit,
            engagement,
            intent,
            total: fit + engagement + intent,
            breakdown,
        }
    }

    /// The grade from the fit score, as a share of the fit maximum.
    pub fn grade(&self, score: &Score) -> Grade {
        let grades = self.model.grades;
        let max = i64::from(self.model.max.fit.max(1));
        let percent = i64::from(score.fit) * 100 / max;
        if percent >= i64::from(grades.a) {
            Grade::A
        } else if percent >= i64::from(grades.b) {
            Grade::B
        } else if percent >= i64::from(grades.c) {
            Grade::C
        } else {
            Grade::D
        }
    }
}

/// The lifecycle stage: disqualified overrides everything, then the score thresholds.
pub fn stage(score: &Score, thresholds: Thresholds, disqualified: bool) -> Stage {
    stage_of(score.total, thresholds, disqualified)
}

fn stage_of(total: i32, thresholds: Thresholds, disqualified: bool) -> Stage {
    let total = i64::from(total);
    if disqualified {
        Stage::Disqualified
    } else if total >= i64::from(thresholds.sql) {
        Stage::Sql
    } else if total >= i64::from(thresholds.mql) {
        Stage::Mql
    } else {
        Stage::Nurture
    }
}

/// What the browser scores with as the visitor answers (`qualify` in `GET /v1/forms/:id`): the
/// fit and intent rules that can give points, each as its dimension, points and compiled condition
/// ([`Condition::to_compact`]), the two maxima and the lifecycle thresholds. Labels, engagement
/// rules and disqualification rules stay with the Worker: a disqualification rule may name
/// competitors or blocked domains, which a page must never reveal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrowserScoring {
    pub fit_max: u32,
    pub intent_max: u32,
    pub mql: u32,
    pub sql: u32,
    pub rules: Vec<BrowserRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrowserRule {
    /// True for a fit rule, false for an intent rule.
    pub fit: bool,
    pub points: i32,
    pub when: String,
}

/// The answers-only part of scoring, as the browser evaluates it on every change: fit and intent,
/// each kept within its maximum exactly as [`CompiledScoring::score`] keeps it, and the lifecycle
/// stage their sum reaches. Engagement (pages viewed, downloads) is the Worker's to add and only
/// ever adds, so the Worker's stage is never below this one unless it disqualifies the lead.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveScoring {
    pub fit_max: u32,
    pub intent_max: u32,
    pub thresholds: Thresholds,
    /// Each rule: fit (else intent), points, condition.
    pub rules: Vec<(bool, i32, Condition)>,
}

impl CompiledScoring {
    /// The rules the browser needs, compiled, with `thresholds` (the bundle's `[lifecycle]`).
    pub fn for_browser(&self, thresholds: Thresholds) -> BrowserScoring {
        let fit = self.model.fit.iter().zip(&self.fit).map(|r| (true, r));
        let intent = self.model.intent.iter().zip(&self.intent);
        let rules = fit
            .chain(intent.map(|r| (false, r)))
            .filter(|(_, (rule, _))| rule.points != 0)
            .map(|(fit, (rule, condition))| BrowserRule {
                fit,
                points: rule.points,
                when: condition.to_compact(),
            })
            .collect();
        BrowserScoring {
            fit_max: self.model.max.fit,
            intent_max: self.model.max.intent,
            mql: thresholds.mql,
            sql: thresholds.sql,
            rules,
        }
    }

    /// The same rules as the browser reads them back, for checking that both sides agree.
    pub fn live(&self, thresholds: Thresholds) -> LiveScoring {
        let fit = self.model.fit.iter().zip(&self.fit).map(|r| (true, r));
        let intent = self.model.intent.iter().zip(&self.intent);
        LiveScoring {
            fit_max: self.model.max.fit,
            intent_max: self.model.max.intent,
            thresholds,
            rules: fit
                .chain(intent.map(|r| (false, r)))
                .map(|(fit, (rule, condition))| (fit, rule.points, condition.clone()))
                .collect(),
        }
    }
}

impl LiveScoring {
    /// Reads one served rule's condition for a form whose fields `fields` types. A field the form
    /// does not have is never answered here (nor in the Worker, which keeps only the form's own
    /// answers), so its type does not matter: it reads as text.
    pub fn read_rule<'a>(
        compact: &str,
        fields: &dyn Fn(&str) -> Option<FieldType<'a>>,
    ) -> Result<Condition, ConditionError> {
        let any = |id: &str| {
            fields(id).or(Some(FieldType {
                ty: ValueType::Text,
                options: None,
            }))
        };
        Condition::from_compact(compact, "", &any)
    }

    /// Fit plus intent for `answers`, and the stage it reaches.
    pub fn assess(&self, answers: &dyn Answers) -> (i32, Stage) {
        let (mut fit, mut intent) = (0i64, 0i64);
        for (is_fit, points, condition) in &self.rules {
            if condition.eval(answers) {
                *if *is_fit { &mut fit } else { &mut intent } += i64::from(*points);
            }
        }
        let total =
            fit.clamp(0, i64::from(self.fit_max)) + intent.clamp(0, i64::from(self.intent_max));
        // Each part is within a u32 maximum of at most 100 (the checks), so the sum fits.
        let total = i32::try_from(total).unwrap_or(0);
        (total, stage_of(total, self.thresholds, false))
    }
}

fn line(dimension: Dimension, rule: &str, label: &str, points: i32) -> Contribution {
    Contribution {
        dimension,
        rule: rule.to_owned(),
        label: label.to_owned(),
        points,
    }
}

fn point_rules(
    dimension: Dimension,
    rules: &[PointRule],
    conditions: &[Condition],
    answers: &dyn Answers,
    breakdown: &mut Vec<Contribution>,
) -> i64 {
    let mut sum = 0i64;
    for (rule, condition) in rules.iter().zip(conditions) {
        if rule.points != 0 && condition.eval(answers) {
            breakdown.push(line(dimension, &rule.id, &rule.label, rule.points));
            sum += i64::from(rule.points);
        }
    }
    sum
}

/// Keeps a dimension within 0..=max, recording the adjustment as its own breakdown line so the
/// lines still add up to the total.
fn clamp(dimension: Dimension, sum: i64, max: u32, breakdown: &mut Vec<Contribution>) -> i32 {
    let max = i64::from(max);
    let name = match dimension {
        Dimension::Fit => "fit",
        Dimension::Engagement => "engagement",
        Dimension::Intent => "intent",
    };
    let kept = sum.clamp(0, max);
    // Both values are within i32: the sum of at most a few thousand i32 rule points is clamped to
    // a u32 maximum of at most 100 by the checks; the fallbacks are unreachable.
    let adjustment = i32::try_from(kept - sum).unwrap_or(0);
    if sum > max {
        breakdown.push(line(
            dimension,
            "cap",
            &format!("{name} is capped at {max}"),
            adjustment,
        ));
    } else if sum < 0 {
        breakdown.push(line(
            dimension,
            "floor",
            &format!("{name} cannot go below 0"),
            adjustment,
        ));
    }
    i32::try_from(kept).unwrap_or(0)
}

fn engagement_points(rule: &EngagementRule, activity: &[Activity], now_ms: i64) -> i32 {
    let mut points = 0.0f64;
    for event in activity {
        if event.kind != rule.activity || !event.detail.contains(rule.detail_contains.as_str()) {
            continue;
        }
        let weight = match rule.half_life_days {
            Some(half_life) if half_life > 0.0 => {
                // Activity stamped in the future (clock skew) counts as fresh, never as more.
                let age_days = (now_ms.saturating_sub(event.at_ms)).max(0) as f64 / DAY_MS;
                0.5f64.powf(age_days / half_life)
            }
            _ => 1.0,
        };
        points += f64::from(rule.points) * weight;
    }
    if let Some(max) = rule.max {
        points = points.min(f64::from(max));
    }
    // Bounded by `max` or by the activity count times u32 points; saturates rather than wraps.
    points.round().min(f64::from(i32::MAX)) as i32
}
