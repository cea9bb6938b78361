//! The `handoff` command: Handoff's rules run natively, for checking configuration, building the
//! rule bundle, evaluating leads in bulk and normalizing values. A thin adapter: it reads files and
//! streams, calls handoff-core and prints.

mod time;

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use handoff_core::disposable::EmailRules;
use handoff_core::enrich::{enrich, Accounts};
use handoff_core::{country, email, evaluate, phone, title, Bundle, LeadInput};

const USAGE: &str = "\
usage:
  handoff check [CONFIG]        check a configuration (default config/demo.toml); exit 0 only when clean
  handoff bundle [CONFIG]       check and print the compiled rule bundle as JSON
  handoff eval --form ID [--config PATH] [--now RFC3339]
                                read leads as JSON lines on stdin, print one evaluation per line;
                                a bad line prints {\"line\": N, \"error\": …} and the rest go on
                                (exit 1 if any line was bad)
  handoff normalize email [--config PATH]
                                read one address per line on stdin, print one JSON object per line:
                                {\"input\", \"valid\", \"value\": normalized or null, \"suggestion\":
                                the intended provider domain or null, \"issue\": issue code or null,
                                \"company_domain\", \"free_mail\", \"disposable\", \"role_account\"}
                                (disposable: the shipped list, with the [email] overrides of PATH)
  handoff normalize country     read one country per line on stdin (a code, or a name in English,
                                German, French, Dutch, Spanish, Italian or Polish), print one JSON
                                object per line: {\"input\", \"valid\", \"code\": ISO alpha-2 or
                                null, \"name\": English name or null, \"issue\": issue code or null}
  handoff normalize phone [--country CC]
                                read one phone number per line on stdin (national numbers are read
                                as numbers of CC), print one JSON object per line: {\"input\",
                                \"valid\", \"e164\": E.164 or null, \"extension\": digits or null,
                                \"country\": ISO alpha-2 (001 for +800 and the like) or null,
                                \"issue\": issue code or null}
  handoff notify preview [--escalation] [--now RFC3339]
                                read one lead summary per line on stdin (JSON: lead_id, name,
                                email, company, source, asked, score, breakdown, lifecycle, owner,
                                why, claim_url, lead_url), print per line {\"slack\": the Block Kit
                                message, \"webhook\": the lead.routed body}, as the Worker stores them;
                                --escalation: one SLA escalation per line instead (lead_id, name,
                                email, company, lifecycle, score, policy, level, to, owner,
                                reassigned_to, first_touch_due_ms, overdue_ms, message, claim_url,
                                lead_url), the webhook body being lead.sla_escalated
  handoff metrics --events FILE [--from TIME] [--to TIME] [--group-by G] [--format json|table]
                                the speed-to-lead report (docs/METRICS.md) over an export of the
                                Worker's GET /v1/export/events.jsonl (one lead record per line);
                                TIME is RFC 3339 or ms since the epoch (default: all, --to
                                exclusive); G: all, source, campaign, segment, owner, lifecycle,
                                arm, day (default all); json prints exactly what GET /v1/metrics
                                answers, table one line per group
  handoff normalize title       read one job title per line on stdin (English, German or French),
                                print one JSON object per line: {\"input\", \"function\": sales,
                                marketing, engineering, … or other, \"seniority\": c_level, vp,
                                director, manager, individual, student or unknown}
";

const DEFAULT_CONFIG: &str = "config/demo.toml";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["check", rest @ ..] => config_path(rest).and_then(|p| check(p, false)),
        ["bundle", rest @ ..] => config_path(rest).and_then(|p| check(p, true)),
        ["eval", rest @ ..] => eval(rest),
        ["metrics", rest @ ..] => metrics(rest),
        ["normalize", "email"] => normalize_email(&EmailRules::default()),
        ["normalize", "email", "--config", path] => load(path).and_then(|loaded| match loaded {
            Ok(bundle) => normalize_email(&bundle.rules.email),
            Err(_) => Ok(ExitCode::from(2)),
        }),
        ["notify", "preview"] => notify_preview(None, false),
        ["notify", "preview", "--escalation"] => notify_preview(None, true),
        ["notify", "preview", "--now", text] => time::parse_rfc3339(text)
            .ok_or(format!("--now: not an RFC 3339 time: {text}"))
            .and_then(|now| notify_preview(Some(now), false)),
        ["notify", "preview", "--escalation", "--now", text] => time::parse_rfc3339(text)
            .ok_or(format!("--now: not an RFC 3339 time: {text}"))
            .and_then(|now| notify_preview(Some(now), true)),
        ["normalize", "country"] => normalize_country(),
        ["normalize", "title"] => normalize_title(),
        ["normalize", "phone"] => normalize_phone(None),
        ["normalize", "phone", "--country", country] => normalize_phone(Some(country)),
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(format!("unknown command\n{USAGE}")),
    };
    result.unwrap_or_else(|message| {
        eprintln!("handoff: {message}");
        ExitCode::from(2)
    })
}

fn config_path<'a>(rest: &[&'a str]) -> Result<&'a str, String> {
    match rest {
        [] => Ok(DEFAULT_CONFIG),
        [path] => Ok(path),
        _ => Err(format!("expected at most one configuration path\n{USAGE}")),
    }
}

/// Reads and compiles a configuration, printing every problem as `path:line:column: message [code]`.
fn load(path: &str) -> Result<Result<Bundle, usize>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(Bundle::from_toml(&text).map_err(|errors| {
        for error in &errors {
            eprintln!("{path}:{error}");
        }
        eprintln!("{path}: {} problem(s)", errors.len());
        errors.len()
    }))
}

fn check(path: &str, print_bundle: bool) -> Result<ExitCode, String> {
    let Ok(bundle) = load(path)? else {
        return Ok(ExitCode::FAILURE);
    };
    if print_bundle {
        println!("{}", bundle.to_json());
    } else {
        let rules = &bundle.rules;
        let fields: usize = rules.forms.iter().map(|f| f.fields.len()).sum();
        let scoring = &rules.scoring;
        println!(
            "{path}: ok, {} form(s), {fields} field(s), {} scoring rule(s), {} disqualification \
             rule(s), bundle {}",
            rules.forms.len(),
            scoring.fit.len() + scoring.engagement.len() + scoring.intent.len(),
            rules.disqualify.len(),
            bundle.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn eval(args: &[&str]) -> Result<ExitCode, String> {
    let (mut form, mut config, mut now) = (None, DEFAULT_CONFIG, None);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .copied()
                .ok_or(format!("{flag} needs a value\n{USAGE}"))
        };
        match *flag {
            "--form" => form = Some(value()?),
            "--config" => config = value()?,
            "--now" => {
                let text = value()?;
                now = Some(
                    time::parse_rfc3339(text)
                        .ok_or(format!("--now: not an RFC 3339 time: {text}"))?,
                );
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let form = form.ok_or(format!("eval needs --form ID\n{USAGE}"))?;
    let now = now.unwrap_or_else(time::now_ms);
    let Ok(bundle) = load(config)? else {
        return Ok(ExitCode::FAILURE);
    };
    if bundle.form(form).is_none() {
        return Err(format!("{config} has no form \"{form}\""));
    }

    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut bad = 0usize;
    for (n, line) in io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = match lead_from_line(&line, form) {
            Ok(lead) => match evaluate(&bundle, &lead, now) {
                Ok(evaluation) => serde_json::to_value(evaluation).unwrap_or_default(),
                Err(e) => error_line(n + 1, e.code, &e.message),
            },
            Err(message) => error_line(n + 1, "bad_json", &message),
        };
        bad += usize::from(record.get("error").is_some());
        writeln!(out, "{record}").map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A lead line may omit `form`; `--form` fills it in.
fn lead_from_line(line: &str, form: &str) -> Result<LeadInput, String> {
    let mut value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let object = value
        .as_object_mut()
        .ok_or("a lead must be a JSON object")?;
    object.entry("form").or_insert_with(|| form.into());
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn error_line(line: usize, code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "line": line, "error": { "code": code, "message": message } })
}

/// `normalize email`: `value` is the normalized address, `suggestion` the corrected domain of a
/// mistyped mailbox provider, `issue` the issue code when invalid, and the enrichment flags:
/// `company_domain` (registrable, none for free mail), `free_mail`, `disposable`, `role_account`.
fn normalize_email(rules: &EmailRules) -> Result<ExitCode, String> {
    let no_accounts = Accounts::default();
    normalize_lines(|input| {
        let result = email::normalize(input);
        let domain = input.trim().rsplit_once('@').map(|(_, d)| d.to_lowercase());
        let flags = result.as_ref().ok().map(|v| enrich(v, &no_accounts, rules));
        serde_json::json!({
            "input": input,
            "valid": result.is_ok(),
            "value": result.as_ref().ok(),
            "suggestion": domain.as_deref().and_then(email::suggest_domain),
            "issue": result.as_ref().err().map(|c| c.as_str()),
            "company_domain": flags.as_ref().and_then(|f| f.company_domain.clone()),
            "free_mail": flags.as_ref().is_some_and(|f| f.flags.free_mail),
            "disposable": flags.as_ref().is_some_and(|f| f.flags.disposable),
            "role_account": flags.as_ref().is_some_and(|f| f.flags.role_account),
        })
    })
}

/// `normalize country`: `code` is the ISO 3166-1 alpha-2 code, `name` its English name, `issue`
/// the issue code when the input names no country.
fn normalize_country() -> Result<ExitCode, String> {
    normalize_lines(|input| {
        let result = country::normalize_country(input);
        serde_json::json!({
            "input": input,
            "valid": result.is_ok(),
            "code": result.ok(),
            "name": result.ok().and_then(country::country_name),
            "issue": result.err().map(|c| c.as_str()),
        })
    })
}

/// `normalize phone`: `e164` and `extension` of a valid number, its `country`, and `issue` when
/// the input is no valid number; `--country` is the default country, as a form's country field
/// gives it.
fn normalize_phone(default_country: Option<&str>) -> Result<ExitCode, String> {
    normalize_lines(|input| {
        let result = phone::parse_phone(input, default_country);
        serde_json::json!({
            "input": input,
            "valid": result.is_ok(),
            "e164": result.as_ref().ok().map(|p| p.e164.as_str()),
            "extension": result.as_ref().ok().and_then(|p| p.extension.as_deref()),
            "country": result.as_ref().ok().map(|p| p.country),
            "issue": result.as_ref().err().map(|c| c.as_str()),
        })
    })
}

/// `normalize title`: the function and seniority codes of a job title; a title without known
/// words is `other` and `unknown`, never an error.
fn normalize_title() -> Result<ExitCode, String> {
    normalize_lines(|input| {
        let title = title::classify(input);
        serde_json::json!({
            "input": input,
            "function": title.function.as_str(),
            "seniority": title.seniority.as_str(),
        })
    })
}

/// Reads one raw value per line on stdin and prints `record(value)` as one JSON line each.
fn normalize_lines(record: impl Fn(&str) -> serde_json::Value) -> Result<ExitCode, String> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in io::stdin().lock().lines() {
        let input = line.map_err(|e| format!("stdin: {e}"))?;
        writeln!(out, "{}", record(&input)).map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// The messages the Worker would store for each lead summary (or, with `escalation`, each SLA
/// escalation) on stdin: what Slack and a webhook receiver get (a bad line prints
/// `{"line", "error"}`, the rest go on, exit 1).
fn notify_preview(now: Option<i64>, escalation: bool) -> Result<ExitCode, String> {
    use handoff_core::notify::{
        slack_escalation, slack_message, webhook_escalation, webhook_payload, Escalation,
        LeadSummary,
    };
    let now = now.unwrap_or_else(time::now_ms);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut bad = 0usize;
    for (n, line) in io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let messages = if escalation {
            serde_json::from_str::<Escalation>(&line)
                .map(|e| (slack_escalation(&e), webhook_escalation(&e, now)))
        } else {
            serde_json::from_str::<LeadSummary>(&line).map(|lead| {
                (
                    slack_message(&lead),
                    webhook_payload(&lead, "lead.routed", now),
                )
            })
        };
        let record = match messages {
            Ok((slack, webhook)) => serde_json::json!({"slack": slack, "webhook": webhook}),
            Err(e) => {
                bad += 1;
                serde_json::json!({"line": n + 1, "error": {"code": "bad_json", "message": e.to_string()}})
            }
        };
        writeln!(out, "{record}").map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `handoff metrics`: handoff-core's report over an exported event log.
fn metrics(args: &[&str]) -> Result<ExitCode, String> {
    use handoff_core::metrics::{compute, read_jsonl, GroupBy, Query};
    let (mut file, mut from, mut to) = (None, i64::MIN, i64::MAX);
    let (mut group_by, mut table) = (GroupBy::All, false);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .copied()
            .ok_or(format!("{flag} needs a value\n{USAGE}"))?;
        let time = |text: &str| {
            text.parse::<i64>()
                .ok()
                .or_else(|| time::parse_rfc3339(text))
                .ok_or(format!(
                    "{flag}: not ms since the epoch nor an RFC 3339 time: {text}"
                ))
        };
        match *flag {
            "--events" => file = Some(value),
            "--from" => from = time(value)?,
            "--to" => to = time(value)?,
            "--group-by" => {
                group_by = GroupBy::parse(value).ok_or(
                    "--group-by: one of all, source, campaign, segment, owner, lifecycle, arm, day"
                        .to_owned(),
                )?
            }
            "--format" => {
                table = match value {
                    "table" => true,
                    "json" => false,
                    other => return Err(format!("--format: json or table, not {other}")),
                }
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let path = file.ok_or(format!("metrics needs --events FILE\n{USAGE}"))?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let records = match read_jsonl(&text) {
        Ok(records) => records,
        Err((line, message)) => {
            eprintln!("{path}:{line}: not a lead record: {message} [metrics.bad_record]");
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = compute(
        &records,
        &Query {
            from_ms: from,
            to_ms: to,
            group_by,
        },
    );
    let mut out = io::stdout().lock();
    if !table {
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        writeln!(out, "{json}").map_err(|e| e.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    let minutes =
        |ms: Option<i64>| ms.map_or("-".to_owned(), |m| format!("{:.1}", m as f64 / 60_000.0));
    let pct = |r: Option<f64>| r.map_or("-".to_owned(), |r| format!("{:.1}%", r * 100.0));
    writeln!(
        out,
        "{:<24} {:>7} {:>7} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8}",
        report.group_by.as_str(),
        "leads",
        "touched",
        "median m",
        "p90 m",
        "in SLA",
        "contact",
        "meeting",
        "opport.",
        "reject"
    )
    .map_err(|e| e.to_string())?;
    for g in report
        .groups
        .iter()
        .chain(std::iter::once(&report.total).filter(|_| report.group_by != GroupBy::All))
    {
        writeln!(
            out,
            "{:<24} {:>7} {:>7} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8}",
            g.key,
            g.leads,
            g.touched,
            minutes(g.first_touch_ms.median),
            minutes(g.first_touch_ms.p90),
            pct(g.sla.share),
            pct(g.contact_rate),
            pct(g.meeting_rate),
            pct(g.opportunity_rate),
            pct(g.reject_rate)
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
