//! The `handoff` command: Handoff's rules run natively, for checking configuration, building the
//! rule bundle, evaluating leads in bulk and normalizing values. A thin adapter: it reads files and
//! streams, calls handoff-core and prints.

mod inputs;
mod route;
mod simulate;
mod time;

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use handoff_core::disposable::EmailRules;
use handoff_core::enrich::{enrich, Accounts};
use handoff_core::evaluate::{evaluate_lead, read_lead};
use handoff_core::metrics::GroupBy;
use handoff_core::{country, email, phone, title, Bundle};

const DEFAULT_CONFIG: &str = "config/demo.toml";

/// Handoff's rules, natively: check a configuration, build the rule bundle, evaluate leads,
/// normalize values, preview notifications, report metrics.
#[derive(Parser)]
#[command(
    name = "handoff",
    arg_required_else_help = true,
    args_override_self = true,
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a new random token for a role and print it with its SHA-256, and the wrangler commands
    /// that store it (the digest, so that the Worker's settings never hold the token itself).
    Token {
        /// The role: admin or reports.
        #[arg(value_parser = ["admin", "reports"])]
        role: String,
    },
    /// Check a configuration; exit 0 only when it is clean, 1 with every problem as
    /// PATH:LINE:COLUMN: message [code].
    Check {
        /// The configuration.
        #[arg(default_value = DEFAULT_CONFIG)]
        config: String,
    },
    /// Check a configuration and print the compiled rule bundle as JSON.
    Bundle {
        /// The configuration.
        #[arg(default_value = DEFAULT_CONFIG)]
        config: String,
    },
    /// Read leads as JSON lines on stdin, print one evaluation per line.
    ///
    /// A bad line prints {"line": N, "error": …} and the rest go on (exit 1 if any line was bad).
    /// A line may omit "form"; --form fills it in.
    Eval {
        /// The form the leads answered (required).
        #[arg(long, value_name = "ID")]
        form: Option<String>,
        /// The configuration.
        #[arg(long, value_name = "PATH", default_value = DEFAULT_CONFIG)]
        config: String,
        /// The time of the evaluation (default: the system clock).
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        now: Option<i64>,
    },
    /// Read leads as JSON lines on stdin and place each as the Worker would, one after another:
    /// print everything eval prints, plus "assignee", "route" (the decision as the Worker stores
    /// it), "merged_into", "previous_lead", "sla" (deadlines and ladder), "no_sla" and "arm".
    ///
    /// A line may also carry "id" (the lead's id: experiment arms hash it; default line-N), "at"
    /// (RFC 3339: when it arrived; default --now), "attribution" (its "utm" is read) and "facts"
    /// (what the CRM said: active_deal, in_sequence, last_contacted_ms) — the Worker's export of
    /// a lead reads as it is. Rotation advances line by line.
    Route {
        /// The form the leads answered (required).
        #[arg(long, value_name = "ID")]
        form: Option<String>,
        /// The configuration.
        #[arg(long, value_name = "PATH", default_value = DEFAULT_CONFIG)]
        config: String,
        /// The time of leads without "at" (default: the system clock).
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        now: Option<i64>,
        /// The rotation state to start from: what GET /v1/pools answers (default: empty).
        #[arg(long, value_name = "FILE")]
        state: Option<String>,
    },
    /// Replay exported leads (GET /v1/export/leads.jsonl, or lines route reads) through a new
    /// configuration and a baseline, each at the time it arrived, in order: per lead the two
    /// outcomes and what changed (assignee, lifecycle, score, disqualification, merge, SLA
    /// deadline, arm), then a summary (leads per owner and queue, changes by kind, lifecycle
    /// counts, leads whose recorded first touch would have breached the deadline).
    ///
    /// Without --baseline, the baseline is what the export's "outcome" says happened.
    Simulate {
        /// The configuration to try.
        #[arg(long, value_name = "PATH")]
        config: Option<String>,
        /// The configuration to compare with (default: the recorded outcomes).
        #[arg(long, value_name = "PATH")]
        baseline: Option<String>,
        /// The exported leads, JSON lines (required): a file, or a folder of them (the archive's
        /// `leads/`, read in path order); repeat for more (the archive, then a live export).
        #[arg(long, value_name = "FILE")]
        leads: Vec<String>,
        /// The form of lines without "form".
        #[arg(long, value_name = "ID", default_value = "")]
        form: String,
        /// The time of leads without "at", and of breaches not touched yet (default: now).
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        now: Option<i64>,
        /// json (a line per lead, then {"summary"}) or table (changed leads, then the summary).
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// Read one value per line on stdin, print one JSON object per line.
    #[command(arg_required_else_help = true)]
    Normalize {
        #[command(subcommand)]
        kind: Normalize,
    },
    /// Preview the messages the Worker sends.
    #[command(arg_required_else_help = true)]
    Notify {
        #[command(subcommand)]
        command: Notify,
    },
    /// The speed-to-lead report (docs/METRICS.md): time to accept and to first contact,
    /// acceptance, contact and win rates, pipeline and won revenue per currency, the funnel, over
    /// an export of the Worker's GET /v1/export/events.jsonl (one lead record per line).
    ///
    /// json prints exactly what GET /v1/metrics answers, table one line per group.
    Metrics {
        /// The export to read (required): a file, or a folder of them (the archive's `events/`);
        /// repeat for more (the archive, then a live export).
        #[arg(long, value_name = "FILE")]
        events: Vec<String>,
        /// The first creation time counted: RFC 3339 or ms since the epoch (default: all).
        #[arg(long, value_name = "TIME", value_parser = time_or_ms, allow_negative_numbers = true)]
        from: Option<i64>,
        /// The creation time where counting stops, exclusive (default: all).
        #[arg(long, value_name = "TIME", value_parser = time_or_ms, allow_negative_numbers = true)]
        to: Option<i64>,
        /// all, source, campaign, segment, owner, lifecycle, arm, day, country, region,
        /// function or seniority.
        #[arg(long = "group-by", value_name = "G", value_parser = group_by, default_value = "all")]
        group_by: GroupBy,
        /// json or table.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum Normalize {
    /// Email addresses: {"input", "valid", "value": normalized or null, "suggestion": the
    /// intended provider domain or null, "issue": issue code or null, "company_domain",
    /// "free_mail", "disposable", "role_account"}.
    ///
    /// disposable: the shipped list, with the [email] overrides of --config.
    Email {
        /// A configuration whose [email] overrides apply.
        #[arg(long, value_name = "PATH")]
        config: Option<String>,
    },
    /// Countries (a code, or a name in English, German, French, Dutch, Spanish, Italian or
    /// Polish): {"input", "valid", "code": ISO alpha-2 or null, "name": English name or null,
    /// "issue": issue code or null}.
    Country,
    /// Phone numbers: {"input", "valid", "e164": E.164 or null, "extension": digits or null,
    /// "country": ISO alpha-2 (001 for +800 and the like) or null, "issue": issue code or null}.
    Phone {
        /// The country national numbers are read in.
        #[arg(long, value_name = "CC")]
        country: Option<String>,
    },
    /// Job titles (English, German or French): {"input", "function": sales, marketing,
    /// engineering, … or other, "seniority": c_level, vp, director, manager, individual, student
    /// or unknown}.
    Title,
}

#[derive(Subcommand)]
enum Notify {
    /// Read one lead summary per line on stdin, print per line {"slack": the Block Kit message,
    /// "webhook": the lead.routed body}, as the Worker stores them.
    ///
    /// A summary is JSON: lead_id, name, email, company, source, asked, score, breakdown,
    /// lifecycle, owner, why, claim_url, lead_url. With --escalation, one SLA escalation per line
    /// instead (lead_id, name, email, company, lifecycle, score, policy, level, to, owner,
    /// reassigned_to, first_touch_due_ms, overdue_ms, message, claim_url, lead_url), the webhook
    /// body being lead.sla_escalated. A bad line prints {"line", "error"}, the rest go on, exit 1.
    Preview {
        /// Read SLA escalations instead of lead summaries.
        #[arg(long)]
        escalation: bool,
        /// The time stamped on the webhook bodies (default: the system clock).
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        now: Option<i64>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Table,
}

/// `--now`: an RFC 3339 time.
fn rfc3339(text: &str) -> Result<i64, String> {
    time::parse_rfc3339(text).ok_or(format!("not an RFC 3339 time: {text}"))
}

/// `--from`, `--to`: ms since the epoch or an RFC 3339 time.
fn time_or_ms(text: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .or_else(|| time::parse_rfc3339(text))
        .ok_or(format!(
            "not ms since the epoch nor an RFC 3339 time: {text}"
        ))
}

/// `--group-by`: one of [`GroupBy`]'s names.
fn group_by(text: &str) -> Result<GroupBy, String> {
    GroupBy::parse(text).ok_or_else(|| format!("one of {}", GroupBy::listed()))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_exit(&error),
    };
    let result = match cli.command {
        Command::Check { config } => check(&config, false),
        Command::Bundle { config } => check(&config, true),
        Command::Eval { form, config, now } => eval(form.as_deref(), &config, now),
        Command::Simulate {
            config,
            baseline,
            leads,
            form,
            now,
            format,
        } => simulate_command(
            config.as_deref(),
            baseline.as_deref(),
            &leads,
            &form,
            now,
            format,
        ),
        Command::Route {
            form,
            config,
            now,
            state,
        } => route(form.as_deref(), &config, now, state.as_deref()),
        Command::Metrics {
            events,
            from,
            to,
            group_by,
            format,
        } => metrics(
            &events,
            from.unwrap_or(i64::MIN),
            to.unwrap_or(i64::MAX),
            group_by,
            format,
        ),
        Command::Normalize { kind } => match kind {
            Normalize::Email { config: None } => normalize_email(&EmailRules::default()),
            Normalize::Email { config: Some(path) } => {
                load(&path).and_then(|loaded| match loaded {
                    Ok(bundle) => normalize_email(&bundle.rules.email),
                    Err(_) => Ok(ExitCode::from(2)),
                })
            }
            Normalize::Country => normalize_country(),
            Normalize::Phone { country } => normalize_phone(country.as_deref()),
            Normalize::Title => normalize_title(),
        },
        Command::Notify {
            command: Notify::Preview { escalation, now },
        } => notify_preview(now, escalation),
        Command::Token { role } => token(&role),
    };
    result.unwrap_or_else(|message| {
        eprintln!("handoff: {message}");
        ExitCode::from(2)
    })
}

/// `handoff token ROLE`: 24 random bytes from the system, base64url (32 characters, the least a
/// role accepts), and the digest the Worker compares it as.
fn token(role: &str) -> Result<ExitCode, String> {
    use std::io::Read;
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("no randomness from /dev/urandom: {e}"))?;
    let (token, digest) = handoff_core::client::new_token(&bytes);
    let name = format!("{}_TOKEN", role.to_uppercase());
    println!("token:  {token}");
    println!("sha256: {digest}");
    println!();
    println!("Give the token to whoever signs in as {role}; store only its digest:");
    println!("  echo {digest} | npx wrangler secret put {name}_SHA256");
    Ok(ExitCode::SUCCESS)
}

/// Prints clap's help or error and exits as clap says: help asked for is 0, a usage error (and no
/// command at all, which prints the help) is 2.
fn clap_exit(error: &clap::Error) -> ExitCode {
    // handoff has always headed its usage "usage:", which scripts look for.
    let text = error.render().to_string().replacen("Usage:", "usage:", 1);
    if error.use_stderr() {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
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

fn eval(form: Option<&str>, config: &str, now: Option<i64>) -> Result<ExitCode, String> {
    let form = form.ok_or("eval needs --form ID (see handoff eval --help)")?;
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
        let record = match read_lead(&line, form) {
            Ok((lead, issues)) => match evaluate_lead(&bundle, &lead, issues, now) {
                Ok(evaluation) => serde_json::to_value(evaluation.report()).unwrap_or_default(),
                Err(e) => error_line(n + 1, e.code, &e.message),
            },
            Err(e) => error_line(n + 1, e.code, &e.message),
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

fn route(
    form: Option<&str>,
    config: &str,
    now: Option<i64>,
    state: Option<&str>,
) -> Result<ExitCode, String> {
    let form = form.ok_or("route needs --form ID (see handoff route --help)")?;
    let now = now.unwrap_or_else(time::now_ms);
    let state = match state {
        None => handoff_core::routing::RotationState::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            route::read_state(&text).map_err(|e| format!("{path}: {e}"))?
        }
    };
    let Ok(bundle) = load(config)? else {
        return Ok(ExitCode::FAILURE);
    };
    if bundle.form(form).is_none() {
        return Err(format!("{config} has no form \"{form}\""));
    }
    let mut run = handoff_core::replay::Run::new(state);
    let out = io::BufWriter::new(io::stdout().lock());
    let bad = route::route(&bundle, form, now, &mut run, io::stdin().lock(), out)?;
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn simulate_command(
    config: Option<&str>,
    baseline: Option<&str>,
    leads: &[String],
    form: &str,
    now: Option<i64>,
    format: Format,
) -> Result<ExitCode, String> {
    let config = config.ok_or("simulate needs --config PATH (see handoff simulate --help)")?;
    if leads.is_empty() {
        return Err("simulate needs --leads FILE (see handoff simulate --help)".into());
    }
    let now = now.unwrap_or_else(time::now_ms);
    let Ok(new) = load(config)? else {
        return Ok(ExitCode::FAILURE);
    };
    let old = match baseline {
        None => None,
        Some(path) => match load(path)? {
            Ok(bundle) => Some(bundle),
            Err(_) => return Ok(ExitCode::FAILURE),
        },
    };
    let base = match &old {
        Some(bundle) => simulate::Baseline::Config(bundle, handoff_core::replay::Run::default()),
        None => simulate::Baseline::Recorded,
    };
    let input = inputs::reader(leads)?;
    let out = io::BufWriter::new(io::stdout().lock());
    let table = matches!(format, Format::Table);
    let bad = simulate::simulate(&new, base, form, now, input, out, table)?;
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
        let result = email::normalize_full(input);
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
/// escalation) on stdin: what Slack, a webhook receiver and an email alert get (a bad line prints
/// `{"line", "error"}`, the rest go on, exit 1).
fn notify_preview(now: Option<i64>, escalation: bool) -> Result<ExitCode, String> {
    use handoff_core::alert_mail::{escalation_mail, lead_mail};
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
            serde_json::from_str::<Escalation>(&line).map(|e| {
                (
                    slack_escalation(&e),
                    webhook_escalation(&e, now),
                    escalation_mail(&e),
                )
            })
        } else {
            serde_json::from_str::<LeadSummary>(&line).map(|lead| {
                (
                    slack_message(&lead),
                    webhook_payload(&lead, "lead.routed", now),
                    lead_mail(&lead),
                )
            })
        };
        let record = match messages {
            Ok((slack, webhook, email)) => {
                serde_json::json!({"slack": slack, "webhook": webhook, "email": email})
            }
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

/// `handoff metrics --format table`: one line per group (and the total), the headline numbers:
/// speed (median and p90 time to first contact, median time to accept, in SLA), rates (accepted
/// of routed, contact, meeting, opportunity, reject, win) and money per currency.
fn table(out: &mut impl Write, report: &handoff_core::metrics::Report) -> io::Result<()> {
    let minutes =
        |ms: Option<i64>| ms.map_or("-".to_owned(), |m| format!("{:.1}", m as f64 / 60_000.0));
    let pct = |r: Option<f64>| r.map_or("-".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let money = |m: &handoff_core::metrics::Money| {
        if m.is_empty() {
            return "-".to_owned();
        }
        m.iter()
            .map(|(currency, amount)| format!("{currency} {amount:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    writeln!(
        out,
        "{:<24} {:>7} {:>7} {:>9} {:>9} {:>9} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8} {:>5} {:>7}  {:<20} pipeline",
        report.group_by.as_str(),
        "leads",
        "touched",
        "median m",
        "p90 m",
        "accept m",
        "accepted",
        "in SLA",
        "contact",
        "meeting",
        "opport.",
        "reject",
        "won",
        "win",
        "won revenue",
    )?;
    for g in report
        .groups
        .iter()
        .chain(std::iter::once(&report.total).filter(|_| report.group_by != GroupBy::All))
    {
        writeln!(
            out,
            "{:<24} {:>7} {:>7} {:>9} {:>9} {:>9} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8} {:>5} {:>7}  {:<20} {}",
            g.key,
            g.leads,
            g.touched,
            minutes(g.first_touch_ms.median),
            minutes(g.first_touch_ms.p90),
            minutes(g.accept_ms.median),
            pct(g.acceptance_rate),
            pct(g.sla.share),
            pct(g.contact_rate),
            pct(g.meeting_rate),
            pct(g.opportunity_rate),
            pct(g.reject_rate),
            g.won,
            pct(g.win_rate),
            money(&g.won_revenue),
            money(&g.pipeline),
        )?;
    }
    Ok(())
}

/// `handoff metrics`: handoff-core's report over an exported event log.
fn metrics(
    files: &[String],
    from: i64,
    to: i64,
    group_by: GroupBy,
    format: Format,
) -> Result<ExitCode, String> {
    use handoff_core::metrics::{compute, read_jsonl, Query};
    if files.is_empty() {
        return Err("metrics needs --events FILE (see handoff metrics --help)".into());
    }
    let text = inputs::read_all(files)?;
    let records = match read_jsonl(&text) {
        Ok(records) => records,
        Err((line, message)) => {
            let path = files.join(" ");
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
    if format == Format::Json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        writeln!(out, "{json}").map_err(|e| e.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    table(&mut out, &report).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
