//! Notifications that lose nothing: the `[notify]` configuration, the Slack and webhook messages
//! built from a routed lead and from an SLA escalation step, Standard Webhooks signing, the retry
//! policy of the outbox, and the signed one-click "I've got it" links. Pure: the Worker sends,
//! stores and reads the clock.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::answer::AnswerValue;
use crate::attribution::Attribution;
use crate::check::{duplicate, problem, valid_id, ConfigCode, FirstSeen, Found, Step};
use crate::events::RejectReason;
use crate::form::{email_answer, FieldKind, FormSpec};
use crate::lead::Evaluation;
use crate::routing::{Assignee, CompiledRouting, Decision};

/// RFC 3339 timestamps, at their old path (`handoff_core::notify::rfc3339`).
pub use crate::encode::rfc3339;

type HmacSha256 = Hmac<Sha256>;

/// The default horizon after which an undelivered message is dead-lettered.
pub const DEFAULT_DEAD_AFTER_HOURS: u32 = 24;
/// The longest horizon a configuration may set: 30 days.
pub const MAX_DEAD_AFTER_HOURS: u32 = 720;
/// The first retry waits this long; each further one twice as long as the one before.
pub const FIRST_RETRY_MS: i64 = 30_000;
/// No retry waits longer than this.
pub const MAX_RETRY_MS: i64 = 3_600_000;
/// How long a one-click claim link stays valid after the notification was built: 7 days.
pub const CLAIM_LINK_TTL_MS: i64 = 7 * 24 * 3_600_000;
/// The webhook event type of an SLA escalation step ([`webhook_escalation`]).
pub const LEAD_SLA_ESCALATED: &str = "lead.sla_escalated";

/// `[notify]`: where routed leads are announced, and how long delivery is retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyRules {
    /// Hours after a message was enqueued past which it is dead-lettered instead of retried.
    #[serde(default = "default_dead_after_hours")]
    pub dead_after_hours: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
    /// `[notify.slack]`: the Slack app that sends direct messages and takes button clicks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackApp>,
    /// `[notify.email]`: email alerts for owners who do not use Slack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAlerts>,
}

/// `[notify.slack]`: the Slack app. Both values name wrangler secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackApp {
    /// The secret holding the bot token (`xoxb-…`); default `SLACK_BOT_TOKEN`.
    #[serde(default = "default_bot_token")]
    pub bot_token: String,
    /// The secret holding the app's signing secret; default `SLACK_SIGNING_SECRET`.
    #[serde(default = "default_signing_secret")]
    pub signing_secret: String,
}

fn default_bot_token() -> String {
    "SLACK_BOT_TOKEN".to_owned()
}

fn default_signing_secret() -> String {
    "SLACK_SIGNING_SECRET".to_owned()
}

/// `[notify.email]`: the transactional email API alerts are sent through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailAlerts {
    pub provider: crate::mail::Provider,
    /// The sender, `Name <address>` or an address, on a domain the provider has verified.
    pub from: String,
    /// The secret holding the provider's API key; default `EMAIL_API_KEY`.
    #[serde(default = "default_email_key")]
    pub api_key: String,
}

fn default_email_key() -> String {
    "EMAIL_API_KEY".to_owned()
}

fn default_dead_after_hours() -> u32 {
    DEFAULT_DEAD_AFTER_HOURS
}

impl Default for NotifyRules {
    fn default() -> NotifyRules {
        NotifyRules {
            dead_after_hours: DEFAULT_DEAD_AFTER_HOURS,
            channels: Vec::new(),
            slack: None,
            email: None,
        }
    }
}

impl NotifyRules {
    /// True for the defaults: such a section is left out of the bundle, so bundles written
    /// before notifications existed keep their version.
    pub fn is_empty(&self) -> bool {
        *self == NotifyRules::default()
    }

    /// The dead-letter horizon in milliseconds.
    pub fn dead_after_ms(&self) -> i64 {
        i64::from(self.dead_after_hours) * 3_600_000
    }
}

/// One destination. The URL of a Slack incoming webhook is a credential, so the configuration
/// names the wrangler secret holding it (`url_secret`); a generic webhook's URL is not secret,
/// its signing key is (`secret`, the name of a wrangler secret holding `whsec_<base64>`). A
/// `slack_app` channel is a Slack channel id (`channel`) the app posts to with its buttons. A
/// channel with `when` hears only of the leads its condition holds for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub id: String,
    pub kind: ChannelKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url_secret: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// A `slack_app` channel's Slack id (`C…`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Which leads this channel hears of (see [`crate::alerts`]); omitted: every lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Slack,
    Webhook,
    SlackApp,
}

impl ChannelKind {
    /// The value stored in `outbox.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Webhook => "webhook",
            ChannelKind::SlackApp => "slack_app",
        }
    }
}

/// A wrangler secret's name as the configuration may give it: a letter, then letters, digits and
/// `_` (at most 64).
pub(crate) fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphabetic()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The names the Worker reads from its environment for itself: its own credentials, keys and
/// settings. No configuration field may name one as a secret to send or to check (the CRM would
/// be given the admin token, a webhook would be signed with the link key).
pub const WORKER_NAMES: &[&str] = &[
    "ADMIN_TOKEN",
    "ARCHIVE_AFTER_DAYS",
    "AUTH_FAILURES_PER_WINDOW",
    "AUTH_WINDOW_SECONDS",
    "CRM_SUBREQUESTS",
    "DOH_URL",
    "EMAIL_API_URL",
    "HUBSPOT_API_URL",
    "LINK_SECRET",
    "PEOPLE_INDEX_KEY",
    "PUBLIC_URL",
    "RATE_LIMIT_KEY",
    "RATE_LIMIT_PER_MINUTE",
    "RATE_LIMIT_WINDOW_SECONDS",
    "REPORTS_TOKEN",
    "ROLLUP_FOLD_LIMIT",
    "SLACK_API_URL",
    "SLA_TICK_LIMIT",
    "TEST_CLOCK",
    "WORKER_PLAN",
];

/// Prefixes of names kept for the Worker's own use, now and later (roles' tokens, retention
/// settings, test switches).
pub const WORKER_PREFIXES: &[&str] = &[
    "ADMIN_",
    "REPORTS_",
    "LINK_",
    "RATE_LIMIT_",
    "RETAIN_",
    "TEST_",
    "WORKER_",
];

/// The prefixes a CRM secret's name starts with (`[[crm.intakes]] secret`, `[[crm.push]]
/// secrets`): a CRM credential is then recognizably one, and never a name of another purpose.
pub const CRM_PREFIXES: &[&str] = &["CRM_", "HUBSPOT_", "SALESFORCE_"];

/// What a secret name is for: the rule on its name depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretUse {
    /// A CRM intake's token or a CRM push's credential: must start with one of [`CRM_PREFIXES`].
    Crm,
    /// A notification's credential (Slack app, Slack webhook URL, webhook signing key, email key).
    Notify,
}

/// Why `name` (a well-formed secret name) may not be given for `purpose`, if it may not: it is
/// one of the Worker's own ([`WORKER_NAMES`], [`WORKER_PREFIXES`]), or a CRM secret without a CRM
/// prefix. Reported as `config.reserved_secret`.
pub fn secret_name_problem(name: &str, purpose: SecretUse) -> Option<String> {
    if WORKER_NAMES.contains(&name) || WORKER_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return Some(format!(
            "\"{name}\" is a name the Worker reads for itself; name a secret of its own for this"
        ));
    }
    (purpose == SecretUse::Crm && !CRM_PREFIXES.iter().any(|p| name.starts_with(p))).then(|| {
        format!(
            "a CRM secret's name starts with {}: \"{name}\" does not",
            CRM_PREFIXES.join(", ")
        )
    })
}

/// A `config.reserved_secret` problem at `path` if `name` may not be given for `purpose`
/// (see [`secret_name_problem`]); nothing for a name that is not well-formed, which its own check
/// reports.
pub(crate) fn reserved_secret(
    name: &str,
    purpose: SecretUse,
    path: Vec<Step<'static>>,
) -> Option<Found> {
    if !valid_secret_name(name) {
        return None;
    }
    secret_name_problem(name, purpose).map(|m| problem(ConfigCode::ReservedSecret, m, path))
}

/// What is wrong with a webhook URL, if anything: `https://host…`, or plain http to this machine
/// (`http://127.0.0.1[:port]/…`, `http://localhost[:port]/…`) for development.
fn webhook_url_problem(url: &str) -> Option<&'static str> {
    let local = ["http://127.0.0.1", "http://localhost"]
        .iter()
        .find_map(|p| url.strip_prefix(p));
    let rest = match (url.strip_prefix("https://"), local) {
        (Some(rest), _) => {
            let host = rest.split(['/', '?', '#', ':']).next().unwrap_or_default();
            if host.is_empty() {
                return Some("has no host");
            }
            rest
        }
        (None, Some(rest)) if rest.is_empty() || rest.starts_with([':', '/']) => rest,
        _ => return Some("must start with https:// (or http://127.0.0.1, http://localhost)"),
    };
    if rest.bytes().any(|b| b <= b' ' || b == 0x7f) || url.contains('@') {
        return Some("may not contain spaces, control characters or credentials");
    }
    None
}

/// Checks `[notify]`, pushing located problems (`config.invalid_channel`, `config.invalid_id`,
/// `config.duplicate_id`, `config.invalid_number`).
pub(crate) fn check(notify: &NotifyRules, found: &mut Vec<Found>) {
    if !(1..=MAX_DEAD_AFTER_HOURS).contains(&notify.dead_after_hours) {
        found.push(problem(
            ConfigCode::InvalidNumber,
            format!("dead_after_hours must be 1 to {MAX_DEAD_AFTER_HOURS}"),
            vec![Step::Key("notify"), Step::Key("dead_after_hours")],
        ));
    }
    let mut ids = FirstSeen::default();
    for (i, channel) in notify.channels.iter().enumerate() {
        let at = |key| {
            vec![
                Step::Key("notify"),
                Step::Key("channels"),
                Step::Index(i),
                Step::Key(key),
            ]
        };
        if !valid_id(&channel.id) {
            found.push(problem(
                ConfigCode::InvalidId,
                format!(
                    "channel id \"{}\" must start with a lowercase letter and use only a-z, 0-9, \
                     _ and - (at most 64)",
                    channel.id
                ),
                at("id"),
            ));
        } else if let Some(first) = ids.seen_before(&channel.id, &at("id")) {
            let message = format!("channel id \"{}\" is used twice", channel.id);
            found.push(duplicate(message, at("id"), first));
        }
        let invalid = |message: String| (ConfigCode::InvalidChannel, message);
        let app = channel.kind == ChannelKind::SlackApp;
        let wrong = match channel.kind {
            _ if !app && !channel.channel.is_empty() => Some((
                invalid("only a slack_app channel names a Slack channel id".into()),
                at("channel"),
            )),
            ChannelKind::SlackApp if notify.slack.is_none() => Some((
                invalid("a slack_app channel is posted to by the Slack app: set up [notify.slack] first".into()),
                at("kind"),
            )),
            ChannelKind::SlackApp if !valid_slack_id(&channel.channel, b"CG") => Some((
                invalid(format!(
                    "channel \"{}\" must be a Slack channel id such as C0123ABCD (in Slack: the channel's details, at the bottom)",
                    channel.channel
                )),
                at(if channel.channel.is_empty() { "id" } else { "channel" }),
            )),
            ChannelKind::SlackApp
                if !(channel.url.is_empty() && channel.url_secret.is_empty() && channel.secret.is_empty()) =>
            {
                Some((
                    invalid("a slack_app channel is posted to with the app's bot token: it has no url, url_secret or secret".into()),
                    at("kind"),
                ))
            }
            ChannelKind::SlackApp => None,
            ChannelKind::Slack if !channel.url.is_empty() => Some((
                invalid("a slack channel's URL is a credential: put it in a wrangler secret and name that secret in url_secret".into()),
                at("url"),
            )),
            ChannelKind::Slack if !channel.secret.is_empty() => Some((
                invalid("a slack channel has no signing secret; name the secret holding its URL in url_secret".into()),
                at("secret"),
            )),
            ChannelKind::Slack if !valid_secret_name(&channel.url_secret) => Some((
                invalid(format!(
                    "url_secret \"{}\" must name a wrangler secret (a letter, then letters, digits and _)",
                    channel.url_secret
                )),
                at(if channel.url_secret.is_empty() { "id" } else { "url_secret" }),
            )),
            ChannelKind::Webhook if !channel.url_secret.is_empty() => Some((
                invalid("a webhook channel gives its url directly and names its signing key in secret".into()),
                at("url_secret"),
            )),
            ChannelKind::Webhook => match webhook_url_problem(&channel.url) {
                Some(problem) => Some((
                    invalid(format!("url \"{}\" {problem}", channel.url)),
                    at(if channel.url.is_empty() { "id" } else { "url" }),
                )),
                None if !valid_secret_name(&channel.secret) => Some((
                    invalid(format!(
                        "secret \"{}\" must name a wrangler secret holding the whsec_ signing key",
                        channel.secret
                    )),
                    at(if channel.secret.is_empty() { "id" } else { "secret" }),
                )),
                None => None,
            },
            ChannelKind::Slack => None,
        };
        if let Some(((code, message), path)) = wrong {
            found.push(problem(code, message, path));
        }
        for (key, name) in [
            ("url_secret", &channel.url_secret),
            ("secret", &channel.secret),
        ] {
            found.extend(reserved_secret(name, SecretUse::Notify, at(key)));
        }
    }
    let secret = |name: &str, key: &'static str, section: &'static str| {
        let path = vec![Step::Key("notify"), Step::Key(section), Step::Key(key)];
        if !valid_secret_name(name) {
            return Some(problem(
                ConfigCode::InvalidChannel,
                format!("{key} \"{name}\" must name a wrangler secret (a letter, then letters, digits and _)"),
                path,
            ));
        }
        reserved_secret(name, SecretUse::Notify, path)
    };
    if let Some(app) = &notify.slack {
        found.extend(secret(&app.bot_token, "bot_token", "slack"));
        found.extend(secret(&app.signing_secret, "signing_secret", "slack"));
    }
    if let Some(email) = &notify.email {
        found.extend(secret(&email.api_key, "api_key", "email"));
        if crate::mail::sender_address(&email.from).is_none() {
            found.push(problem(
                ConfigCode::InvalidEmail,
                format!(
                    "from \"{}\" must be an address or Name <address>",
                    email.from
                ),
                vec![Step::Key("notify"), Step::Key("email"), Step::Key("from")],
            ));
        }
    }
}

/// A Slack id: one of `first` (`U`/`W` for users, `C`/`G` for channels), then 2 to 20 capital
/// letters and digits.
pub(crate) fn valid_slack_id(id: &str, first: &[u8]) -> bool {
    let b = id.as_bytes();
    (3..=21).contains(&b.len())
        && first.contains(&b[0])
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Everything a notification says about a routed lead. The Worker fills it from the stored lead,
/// its evaluation and the routing decision; nothing here is looked up again. Read from JSON
/// (`handoff notify preview`), a missing field is empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LeadSummary {
    pub lead_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    /// Where they came from: see [`source_line`].
    pub source: Option<String>,
    /// What they asked: each answered question's label and the answer, in form order.
    pub asked: Vec<Asked>,
    pub score: i64,
    pub breakdown: Vec<ScoreLine>,
    /// `sql`, `mql`, `nurture` or `disqualified`.
    pub lifecycle: String,
    pub owner: Owner,
    /// Why this owner, as one readable sentence (from routing).
    pub why: String,
    /// The one-click "I've got it" link ([`claim_link`]).
    pub claim_url: String,
    /// The one-click "Not a fit" link ([`action_link`] with [`LinkPurpose::Reject`]): a page of
    /// the configured reject reasons. Empty: no button.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reject_url: String,
    /// The "Take it" link ([`action_link`] with [`LinkPurpose::Take`]), in a personal message to
    /// a member of the queue the lead waits in. Empty: no button.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub take_url: String,
    /// The lead in the admin UI, if there is one.
    pub lead_url: Option<String>,
    /// "Open in HubSpot": the lead's record in each CRM it is pushed to (`[[crm.push]]`), as a
    /// link that finds the record once it exists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub crm: Vec<CrmLink>,
}

/// A button to a lead's record in a CRM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmLink {
    /// The CRM's name: "HubSpot", "Salesforce".
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Asked {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreLine {
    pub label: String,
    pub points: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub id: String,
    pub name: String,
    pub kind: OwnerKind,
}

impl Owner {
    /// Who `assignee` is, named as the routing configuration names them (their id if it does not).
    pub fn of(routing: Option<&CompiledRouting>, assignee: &Assignee) -> Owner {
        match assignee {
            Assignee::Owner(id) => Owner {
                id: id.clone(),
                name: routing
                    .and_then(|r| r.owner_spec(id))
                    .map_or_else(|| id.clone(), |o| o.name.clone()),
                kind: OwnerKind::Person,
            },
            Assignee::Queue(id) => Owner {
                id: id.clone(),
                name: routing
                    .and_then(|r| r.queue(id))
                    .map_or_else(|| id.clone(), |q| q.name.clone()),
                kind: OwnerKind::Queue,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerKind {
    #[default]
    Person,
    Queue,
}

/// One line saying where a lead came from: the campaign (`utm source / campaign`), else the
/// referrer, else the landing page.
pub fn source_line(attribution: &Attribution) -> Option<String> {
    let utm = &attribution.utm;
    match (&utm.source, &utm.campaign) {
        (Some(s), Some(c)) => Some(format!("{s} / {c}")),
        (Some(s), None) => Some(s.clone()),
        (None, Some(c)) => Some(c.clone()),
        (None, None) => attribution
            .referrer
            .clone()
            .or_else(|| attribution.landing_page.clone()),
    }
}

/// Makes visitor-typed text inert in Slack mrkdwn: `&`, `<` and `>` are its only control
/// characters (`<https://…|text>`, `<@U123>`, `<!channel>`), and Slack asks for exactly these
/// three escapes. Formatting characters (`*`, `_`, `~`) are left alone: they cannot link or ping.
pub fn escape_mrkdwn(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes visitor-typed text inert *and* unlinkable in Slack: [`escape_mrkdwn`], then link shapes
/// defanged the way security teams write them, so that neither Slack's message parser nor a
/// client's auto-linker finds a URL or a domain to make clickable: `://` becomes `[:]//` and a dot
/// between two letters or digits becomes `[.]` (`https://evil.example/login` reads
/// `https[:]//evil[.]example/login`). A lead's company or answer is read by a person, never
/// followed; a link a visitor typed is the phishing link in the sales channel. Mentions
/// (`@channel`, `@here`) stay text because every such text object is `verbatim` (see
/// [`visitor_text`]) and `<!here>` is escaped.
pub fn visitor_mrkdwn(text: &str) -> String {
    defang(&escape_mrkdwn(text))
}

/// `text` with `://` written `[:]//` and each dot between two letters or digits written `[.]`:
/// readable, and no longer a URL or a domain to any auto-linker. For `plain_text` (headers) as
/// is, for `mrkdwn` through [`visitor_mrkdwn`].
pub fn defang(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        if c == '.' && word(prev) && word(next) {
            out.push_str("[.]");
        } else if c == ':' && next == Some('/') {
            out.push_str("[:]");
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// A `mrkdwn` text object holding visitor text: `verbatim`, so that Slack does not turn what is
/// left of a URL, a channel name or an `@here` into a link or a mention.
fn visitor_text(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text, "verbatim": true})
}

/// Who a lead is, for a header: `name (company)`, the name or else the email, or `nobody`. The
/// name and the company are defanged ([`defang`]); a checked email cannot hold a URL.
fn headline(
    name: Option<&str>,
    email: Option<&str>,
    company: Option<&str>,
    nobody: &str,
) -> String {
    let who = match (name, email) {
        (Some(name), _) => defang(name),
        (None, Some(email)) => email.to_owned(),
        (None, None) => nobody.to_owned(),
    };
    match company {
        Some(company) => format!("{who} ({})", defang(company)),
        None => who,
    }
}

/// Slack's limits: a section field at most 2,000 characters, a header 150.
fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// One labelled section field, the value (typed by a visitor, or shown beside such) escaped and
/// defanged ([`visitor_mrkdwn`]).
fn mrkdwn_field(label: &str, value: &str) -> Value {
    field_with(label, &visitor_mrkdwn(value))
}

/// The email field: escaped but not defanged, since a checked address cannot hold a URL and a
/// salesperson copies it as it is; at worst a client offers to write to it.
fn email_field(email: &str) -> Value {
    field_with("Email", &escape_mrkdwn(email))
}

fn field_with(label: &str, value: &str) -> Value {
    visitor_text(bounded(&format!("*{label}*\n{value}"), 2000))
}

/// An owner as a message names them: a queue says so.
fn owner_label(owner: &Owner) -> String {
    match owner.kind {
        OwnerKind::Person => owner.name.clone(),
        OwnerKind::Queue => format!("{} (queue)", owner.name),
    }
}

/// The Slack Block Kit message for a routed lead: header, the lead's fields, what they asked,
/// the score breakdown, why this owner, and the "I've got it" button. Every text a visitor typed
/// is escaped and defanged ([`visitor_mrkdwn`]) in `verbatim` text objects; the header is
/// `plain_text`, its name and company defanged too ([`defang`]).
pub fn slack_message(lead: &LeadSummary) -> Value {
    slack_message_with(lead, Buttons::Links)
}

/// The `action_id` of the Accept button.
pub const ACCEPT: &str = "accept";
/// The `action_id` of the "Not a fit" menu (its options' values are reject reason ids).
pub const REJECT: &str = "reject";
/// The `action_id` of the "Take it" button (a lead waiting in a queue).
pub const TAKE: &str = "take";
/// The prefix of the `block_id` that carries the lead's id (see [`crate::slack`]).
pub(crate) const BLOCK_PREFIX: &str = "handoff:";

/// The `block_id` of the buttons of lead `lead_id`.
pub fn block_id(lead_id: &str) -> String {
    format!("{BLOCK_PREFIX}{lead_id}")
}

/// Which buttons a Slack message carries.
#[derive(Debug, Clone, Copy)]
pub enum Buttons<'a> {
    /// The message's signed links ("I've got it", "Not a fit", "Open lead"): an incoming webhook's
    /// message cannot take clicks.
    Links,
    /// Buttons the Slack app answers at `POST /v1/slack/interactions` ([`crate::slack`]).
    Interactive(Actions<'a>),
}

/// The app's buttons on one message: Accept and "Not a fit" (a menu of the configured reasons)
/// for whoever holds the lead, "Take it" for a lead waiting in a queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actions<'a> {
    pub accept: bool,
    pub take: bool,
    pub reasons: &'a [RejectReason],
}

/// The message's last block: its buttons, or `None` without any.
fn actions_block(
    lead_id: &str,
    claim_url: &str,
    reject_url: &str,
    lead_url: Option<&str>,
    crm: &[CrmLink],
    buttons: Buttons<'_>,
) -> Option<Value> {
    let button = |id: &str, label: &str, style: Option<&str>| {
        let mut b = json!({"type": "button", "action_id": id, "text": {"type": "plain_text", "text": label}});
        if let Some(style) = style {
            b["style"] = style.into();
        }
        b
    };
    let mut elements = Vec::new();
    match buttons {
        // Without a link secret there is no link; Slack refuses a button with an empty URL.
        Buttons::Links => {
            if !claim_url.is_empty() {
                let mut b = button("claim", "I've got it", Some("primary"));
                b["url"] = claim_url.into();
                elements.push(b);
            }
            if !reject_url.is_empty() {
                let mut b = button("reject", "Not a fit", Some("danger"));
                b["url"] = reject_url.into();
                elements.push(b);
            }
        }
        Buttons::Interactive(actions) => {
            if actions.accept {
                let mut b = button(ACCEPT, "Accept", Some("primary"));
                b["value"] = lead_id.into();
                elements.push(b);
            }
            if actions.take {
                let mut b = button(TAKE, "Take it", Some("primary"));
                b["value"] = lead_id.into();
                elements.push(b);
            }
            if actions.accept && !actions.reasons.is_empty() {
                let options: Vec<Value> = actions
                    .reasons
                    .iter()
                    .take(100)
                    .map(|r| json!({"text": {"type": "plain_text", "text": bounded(&r.label, 75)}, "value": r.id}))
                    .collect();
                elements.push(json!({
                    "type": "static_select", "action_id": REJECT,
                    "placeholder": {"type": "plain_text", "text": "Not a fit…"}, "options": options,
                }));
            }
        }
    }
    if let Some(url) = lead_url {
        let mut b = button("open", "Open lead", None);
        b["url"] = url.into();
        elements.push(b);
    }
    for (i, link) in crm.iter().enumerate().take(3) {
        let mut b = button(&format!("crm_{i}"), &format!("Open in {}", link.name), None);
        b["url"] = link.url.as_str().into();
        elements.push(b);
    }
    if elements.is_empty() {
        return None;
    }
    let mut block = json!({"type": "actions", "elements": elements});
    if matches!(buttons, Buttons::Interactive(_)) {
        // The click names the lead through its block (at most 255 characters: a lead id is 36).
        block["block_id"] = block_id(lead_id).into();
    }
    Some(block)
}

/// [`slack_message`] with `buttons`.
pub fn slack_message_with(lead: &LeadSummary, buttons: Buttons<'_>) -> Value {
    let title = headline(
        lead.name.as_deref(),
        lead.email.as_deref(),
        lead.company.as_deref(),
        "A new lead",
    );
    let mut fields = Vec::new();
    if let Some(email) = &lead.email {
        fields.push(email_field(email));
    }
    if let Some(company) = &lead.company {
        fields.push(mrkdwn_field("Company", company));
    }
    if let Some(source) = &lead.source {
        fields.push(mrkdwn_field("Source", source));
    }
    fields.push(mrkdwn_field(
        "Score",
        &format!("{} ({})", lead.score, lead.lifecycle),
    ));
    let owner = owner_label(&lead.owner);
    fields.push(mrkdwn_field("Owner", &owner));
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": bounded(&format!("New lead: {title}"), 150), "emoji": false}}),
        json!({"type": "section", "fields": fields.into_iter().take(10).collect::<Vec<_>>()}),
    ];
    if !lead.asked.is_empty() {
        let asked: Vec<String> = lead
            .asked
            .iter()
            .map(|a| {
                format!(
                    "*{}:* {}",
                    escape_mrkdwn(&a.label),
                    visitor_mrkdwn(&a.value)
                )
            })
            .collect();
        let text = bounded(&format!("*What they asked*\n{}", asked.join("\n")), 3000);
        blocks.push(json!({"type": "section", "text": visitor_text(text)}));
    }
    if !lead.breakdown.is_empty() {
        let lines: Vec<String> = lead
            .breakdown
            .iter()
            .map(|l| format!("{:+} {}", l.points, escape_mrkdwn(&l.label)))
            .collect();
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": bounded(&format!("Score breakdown: {}", lines.join(" · ")), 3000)}]}));
    }
    if !lead.why.is_empty() {
        let why = format!(
            "Why {}: {}",
            escape_mrkdwn(&owner),
            visitor_mrkdwn(&lead.why)
        );
        blocks.push(json!({"type": "context", "elements": [visitor_text(bounded(&why, 3000))]}));
    }
    blocks.extend(actions_block(
        &lead.lead_id,
        &lead.claim_url,
        &lead.reject_url,
        lead.lead_url.as_deref(),
        &lead.crm,
        buttons,
    ));
    json!({
        // Shown in notifications and by clients that cannot draw blocks.
        "text": escape_mrkdwn(&format!("New lead: {title}")),
        "blocks": blocks,
    })
}

/// The body of a generic webhook, in the Standard Webhooks shape:
/// `{"type": event_type, "timestamp": RFC 3339 of at_ms, "data": the summary}`.
pub fn webhook_payload(lead: &LeadSummary, event_type: &str, at_ms: i64) -> Value {
    json!({
        "type": event_type,
        "timestamp": rfc3339(at_ms),
        "data": lead,
    })
}

/// Everything an SLA escalation message says: the lead, the step of the ladder, who is alerted,
/// who holds (or held) the lead and whom a reassignment gave it to, and how late it is. The
/// Worker fills it when it carries out a step; read from JSON (`handoff notify preview
/// --escalation`), a missing field is empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Escalation {
    pub lead_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    /// `sql`, `mql`, `nurture` or `disqualified`.
    pub lifecycle: String,
    pub score: i64,
    /// The SLA policy's id.
    pub policy: String,
    /// The ladder's level, from 1.
    pub level: u32,
    /// Who this message alerts (the step's recipient).
    pub to: Owner,
    /// Who holds the lead, or held it before the step moved it.
    pub owner: Owner,
    /// Whom the step gave the lead to, when it reassigned it.
    pub reassigned_to: Option<Owner>,
    /// The first-touch deadline (ms since the epoch).
    pub first_touch_due_ms: i64,
    /// How far past that deadline the lead was when the step ran, in ms.
    pub overdue_ms: i64,
    /// The step's configured `notify` text.
    pub message: Option<String>,
    /// The one-click "I've got it" link ([`claim_link`]); empty without a link secret.
    pub claim_url: String,
    /// The "Not a fit" link, in a message to whoever holds the lead; empty: none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reject_url: String,
    /// The "Take it" link, in a message to a member of the queue the lead waits in; empty: none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub take_url: String,
    /// The lead in the admin UI, if there is one.
    pub lead_url: Option<String>,
}

/// A lateness people read at a glance, rounded down: `under 1m`, `45m`, `2h 05m`, `3d 4h`.
pub fn human_duration(ms: i64) -> String {
    let minutes = ms / 60_000;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, minutes) {
        (d, h, _) if d > 0 => format!("{d}d {h}h"),
        (_, h, m) if h > 0 => format!("{h}h {m:02}m"),
        (_, _, m) if m > 0 => format!("{m}m"),
        _ => "under 1m".to_owned(),
    }
}

/// The Slack Block Kit message for an SLA escalation step: header with the level, the lead's
/// fields with how late it is, the step's configured message, the reassignment if the step moved
/// the lead, the policy and deadline, and the "I've got it" button. As in [`slack_message`], every
/// text a visitor typed, and the configured message, is escaped ([`escape_mrkdwn`]); the header is
/// `plain_text`.
pub fn slack_escalation(e: &Escalation) -> Value {
    slack_escalation_with(e, Buttons::Links)
}

/// [`slack_escalation`] with `buttons`.
pub fn slack_escalation_with(e: &Escalation, buttons: Buttons<'_>) -> Value {
    let lead = headline(
        e.name.as_deref(),
        e.email.as_deref(),
        e.company.as_deref(),
        "A lead",
    );
    // The lead's part gives way to Slack's limit, so the level always shows.
    let level = format!(" — level {}", e.level);
    let room = 150 - "SLA missed: ".len() - level.chars().count();
    let title = format!("SLA missed: {}{level}", bounded(&lead, room));
    let mut fields = Vec::new();
    if let Some(email) = &e.email {
        fields.push(email_field(email));
    }
    if let Some(company) = &e.company {
        fields.push(mrkdwn_field("Company", company));
    }
    fields.push(mrkdwn_field(
        "Score",
        &format!("{} ({})", e.score, e.lifecycle),
    ));
    fields.push(mrkdwn_field("Owner", &owner_label(&e.owner)));
    fields.push(mrkdwn_field("Escalated to", &owner_label(&e.to)));
    fields.push(mrkdwn_field("Late by", &human_duration(e.overdue_ms)));
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": false}}),
        json!({"type": "section", "fields": fields}),
    ];
    if let Some(message) = e.message.as_deref().filter(|m| !m.is_empty()) {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": bounded(&escape_mrkdwn(message), 3000)}}));
    }
    if let Some(to) = &e.reassigned_to {
        let line = format!(
            "Reassigned from {} to {}, who has the lead now.",
            owner_label(&e.owner),
            owner_label(to)
        );
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": bounded(&escape_mrkdwn(&line), 3000)}}));
    }
    // Slack shows the deadline in each reader's own time zone; the text after `|` is the
    // fallback for clients that cannot. Only digits and our own RFC 3339 text go into the token.
    let due = format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        e.first_touch_due_ms.div_euclid(1000),
        rfc3339(e.first_touch_due_ms)
    );
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": bounded(&format!("Policy {}, level {}: first touch was due {due}", escape_mrkdwn(&e.policy), e.level), 3000)}]}));
    blocks.extend(actions_block(
        &e.lead_id,
        &e.claim_url,
        &e.reject_url,
        e.lead_url.as_deref(),
        &[],
        buttons,
    ));
    json!({
        // Shown in notifications and by clients that cannot draw blocks.
        "text": escape_mrkdwn(&title),
        "blocks": blocks,
    })
}

/// The body of an escalation's generic webhook, in the Standard Webhooks shape:
/// `{"type": "lead.sla_escalated", "timestamp": RFC 3339 of at_ms, "data": the escalation}`.
pub fn webhook_escalation(e: &Escalation, at_ms: i64) -> Value {
    json!({
        "type": LEAD_SLA_ESCALATED,
        "timestamp": rfc3339(at_ms),
        "data": e,
    })
}

/// Why a message could not be signed, or a link not verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotifyError {
    /// The signing key is not `whsec_` followed by base64 (`secret_invalid`).
    SecretInvalid,
    /// The link's signature does not match its content (`link_invalid`).
    LinkInvalid,
    /// The link is authentic but past its expiry (`link_expired`).
    LinkExpired,
}

impl NotifyError {
    pub fn code(self) -> &'static str {
        match self {
            NotifyError::SecretInvalid => "secret_invalid",
            NotifyError::LinkInvalid => "link_invalid",
            NotifyError::LinkExpired => "link_expired",
        }
    }
}

/// The Standard Webhooks signature of one delivery: `v1,` and the base64 of the HMAC-SHA256 of
/// `{msg_id}.{timestamp_secs}.{body}`, keyed with the base64-decoded part of `whsec_<base64>`.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp_secs: i64,
    body: &str,
) -> Result<String, NotifyError> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| NotifyError::SecretInvalid)?;
    if key.is_empty() {
        return Err(NotifyError::SecretInvalid);
    }
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| NotifyError::SecretInvalid)?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// What to do with a message whose delivery just failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again at this time (ms since the epoch).
    At(i64),
    /// Give up: the next attempt would fall after the horizon.
    Dead,
}

/// The retry after `attempts` failed deliveries (counting the one that just failed): 30 s, then
/// twice as long each time, at most 1 h; dead once that would be later than `created_at_ms +
/// dead_after_ms`. Deterministic: the cron runs once a minute anyway, which spreads retries more
/// than any jitter would.
pub fn next_attempt(attempts: u32, created_at_ms: i64, now_ms: i64, dead_after_ms: i64) -> Retry {
    let doublings = attempts.saturating_sub(1).min(20);
    let delay = (FIRST_RETRY_MS << doublings).min(MAX_RETRY_MS);
    let at = now_ms.saturating_add(delay);
    if at > created_at_ms.saturating_add(dead_after_ms) {
        Retry::Dead
    } else {
        Retry::At(at)
    }
}

/// What a signed one-click link does. Each purpose signs its own text, so a link made for one
/// can never be used for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// "I've got it": the owner accepts the lead (`/claim`; not a first touch).
    Claim,
    /// "Not a fit": opens the reasons to reject the lead with (`/reject`).
    Reject,
    /// "Take it": a member of the queue the lead waits in takes it (`/take-link`).
    Take,
}

impl LinkPurpose {
    /// The link's last path segment.
    pub const fn path(self) -> &'static str {
        match self {
            LinkPurpose::Claim => "claim",
            LinkPurpose::Reject => "reject",
            LinkPurpose::Take => "take-link",
        }
    }
}

fn link_mac(
    purpose: LinkPurpose,
    secret: &[u8],
    lead_id: &str,
    owner_id: &str,
    expires_ms: i64,
) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    // Length-prefixed, so no two (lead, owner, expiry) triples sign the same text.
    let text = format!(
        "handoff-{}-v1:{}:{lead_id}:{}:{owner_id}:{expires_ms}",
        purpose.path(),
        lead_id.len(),
        owner_id.len()
    );
    mac.update(text.as_bytes());
    mac
}

/// The signature of a one-click link: base64url (no padding) of an HMAC-SHA256 over the purpose,
/// the lead, the owner and the expiry.
pub fn link_token(
    purpose: LinkPurpose,
    secret: &[u8],
    lead_id: &str,
    owner_id: &str,
    expires_ms: i64,
) -> String {
    URL_SAFE_NO_PAD.encode(
        link_mac(purpose, secret, lead_id, owner_id, expires_ms)
            .finalize()
            .into_bytes(),
    )
}

/// Checks a one-click link's signature (in constant time) and then its expiry against `now_ms`.
pub fn verify_link(
    purpose: LinkPurpose,
    secret: &[u8],
    lead_id: &str,
    owner_id: &str,
    expires_ms: i64,
    token: &str,
    now_ms: i64,
) -> Result<(), NotifyError> {
    let given = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| NotifyError::LinkInvalid)?;
    link_mac(purpose, secret, lead_id, owner_id, expires_ms)
        .verify_slice(&given)
        .map_err(|_| NotifyError::LinkInvalid)?;
    if now_ms > expires_ms {
        return Err(NotifyError::LinkExpired);
    }
    Ok(())
}

/// The full link: `{base}/v1/leads/{lead}/{claim|reject}?owner=…&exp=…&sig=…`.
pub fn action_link(
    purpose: LinkPurpose,
    base: &str,
    secret: &[u8],
    lead_id: &str,
    owner_id: &str,
    expires_ms: i64,
) -> String {
    format!(
        "{}/v1/leads/{}/{}?owner={}&exp={expires_ms}&sig={}",
        base.trim_end_matches('/'),
        percent_encode(lead_id),
        purpose.path(),
        percent_encode(owner_id),
        link_token(purpose, secret, lead_id, owner_id, expires_ms)
    )
}

/// [`link_token`] for a claim link.
pub fn claim_token(secret: &[u8], lead_id: &str, owner_id: &str, expires_ms: i64) -> String {
    link_token(LinkPurpose::Claim, secret, lead_id, owner_id, expires_ms)
}

/// [`verify_link`] for a claim link.
pub fn verify_claim(
    secret: &[u8],
    lead_id: &str,
    owner_id: &str,
    expires_ms: i64,
    token: &str,
    now_ms: i64,
) -> Result<(), NotifyError> {
    verify_link(
        LinkPurpose::Claim,
        secret,
        lead_id,
        owner_id,
        expires_ms,
        token,
        now_ms,
    )
}

/// The full "I've got it" link: `{base}/v1/leads/{lead}/claim?owner=…&exp=…&sig=…`.
pub fn claim_link(
    base: &str,
    secret: &[u8],
    lead_id: &str,
    owner_id: &str,
    expires_ms: i64,
) -> String {
    action_link(
        LinkPurpose::Claim,
        base,
        secret,
        lead_id,
        owner_id,
        expires_ms,
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0xf)]));
        }
    }
    out
}

/// Escapes text for an HTML text node or a quoted attribute (the claim page).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Who a lead is, as its alert names them: a `name` answer (or `first_name` and `last_name`), the
/// form's email answer and a `company` answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Person {
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
}

impl Person {
    pub fn of(forms: &[FormSpec], evaluation: &Evaluation) -> Person {
        let answers = &evaluation.answers;
        let text = |id: &str| {
            answers
                .get(id)
                .and_then(AnswerValue::as_text)
                .map(str::to_owned)
        };
        let name = text("name").or_else(|| {
            let parts: Vec<String> = ["first_name", "last_name"]
                .iter()
                .filter_map(|f| text(f))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
        let email = forms
            .iter()
            .find(|f| f.id == evaluation.form)
            .and_then(|f| email_answer(f, answers))
            .map(str::to_owned);
        Person {
            name,
            email,
            company: text("company"),
        }
    }
}

/// What a lead summary reads from the configuration: the forms (the lead's questions and email
/// field) and the routing (the owner's name). `From<&Bundle>` gives a bundle's.
#[derive(Debug, Clone, Copy, Default)]
pub struct SummaryConfig<'a> {
    pub forms: &'a [FormSpec],
    pub routing: Option<&'a CompiledRouting>,
}

/// The summary a routed lead is announced with: who (a `name` answer, or `first_name` and
/// `last_name`), email, company, source, every answer with its question (consent and hidden
/// fields left out; one from an earlier visit says so, and its day), the score breakdown, the stage, the owner or queue the decision chose with
/// their name, and the decision's sentence as the reason. `config` is the configuration's forms
/// and routing (a `&Bundle` will do).
pub fn summarize<'a>(
    config: impl Into<SummaryConfig<'a>>,
    evaluation: &Evaluation,
    decision: &Decision,
    attribution: &Attribution,
    lead_id: &str,
    claim_url: String,
) -> LeadSummary {
    let config = config.into();
    let answers = &evaluation.answers;
    let form = config.forms.iter().find(|f| f.id == evaluation.form);
    let Person {
        name,
        email,
        company,
    } = Person::of(config.forms, evaluation);
    let mut asked = Vec::new();
    for field in form.map(|f| f.fields.as_slice()).unwrap_or_default() {
        if matches!(field.kind, FieldKind::Consent | FieldKind::Hidden) {
            continue;
        }
        let value = match answers.get(&field.id) {
            // A country field's answer is its code: the alert shows its name.
            Some(AnswerValue::Text(t)) if field.kind == crate::form::FieldKind::Country => {
                crate::country::country_name(t).map_or_else(|| t.clone(), str::to_owned)
            }
            Some(AnswerValue::Text(t)) => t.clone(),
            Some(AnswerValue::Choices(c)) => c.join(", "),
            Some(AnswerValue::Flag(yes)) => (if *yes { "yes" } else { "no" }).to_owned(),
            None => continue,
        };
        // An answer from an earlier visit says so, and when.
        let value = match evaluation.learned.get(&field.id) {
            Some(source) => {
                let day = rfc3339(source.at_ms);
                format!("{value} (earlier visit, {})", day.get(..10).unwrap_or(&day))
            }
            None => value,
        };
        asked.push(Asked {
            label: field.label.clone(),
            value,
        });
    }
    let owner = Owner::of(config.routing, &decision.assignee);
    LeadSummary {
        lead_id: lead_id.to_owned(),
        name,
        email,
        company,
        source: source_line(attribution),
        asked,
        score: i64::from(evaluation.score.total),
        breakdown: evaluation
            .score
            .breakdown
            .iter()
            .map(|c| ScoreLine {
                label: c.label.clone(),
                points: i64::from(c.points),
            })
            .collect(),
        lifecycle: evaluation.lifecycle.as_str().to_owned(),
        owner,
        why: decision.summary.clone(),
        claim_url,
        reject_url: String::new(),
        take_url: String::new(),
        lead_url: None,
        crm: Vec::new(),
    }
}
