//! The email of an alert: the same alert as the Slack message (who, from where, what they asked, the
//! score breakdown, why this owner, and the signed action links), as a subject, a plain-text part
//! and an HTML part in which everything is escaped. Pure.

use crate::mail::Mail;
use crate::notify::{escape_html, human_duration, rfc3339, Escalation, LeadSummary, OwnerKind};

/// A labelled line of an email.
struct Line<'a>(&'a str, String);

/// The text and HTML parts of an email: a title, labelled lines, paragraphs, and links (label and
/// URL) as buttons, the first one primary.
fn body(
    title: &str,
    lines: &[Line<'_>],
    paragraphs: &[String],
    links: &[(&str, &str)],
) -> (String, String) {
    let mut text = format!("{title}\n\n");
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;color:#1a1a1a\">\
         <h2 style=\"margin:0 0 12px\">{}</h2><table cellpadding=\"4\" style=\"border-collapse:collapse\">",
        escape_html(title)
    );
    for Line(label, value) in lines {
        text.push_str(&format!("{label}: {value}\n"));
        html.push_str(&format!(
            "<tr><th align=\"left\" valign=\"top\">{}</th><td>{}</td></tr>",
            escape_html(label),
            escape_html(value)
        ));
    }
    html.push_str("</table>");
    for p in paragraphs {
        text.push_str(&format!("\n{p}\n"));
        html.push_str(&format!(
            "<p style=\"white-space:pre-line\">{}</p>",
            escape_html(p)
        ));
    }
    if !links.is_empty() {
        text.push('\n');
        html.push_str("<p>");
    }
    for (i, (label, url)) in links.iter().enumerate() {
        text.push_str(&format!("{label}: {url}\n"));
        let style = if i == 0 {
            "background:#0b6bcb;color:#fff;padding:8px 14px;border-radius:4px;text-decoration:none"
        } else {
            "color:#0b6bcb;padding:8px 14px"
        };
        html.push_str(&format!(
            "<a href=\"{}\" style=\"{style}\">{}</a> ",
            escape_html(url),
            escape_html(label)
        ));
    }
    if !links.is_empty() {
        html.push_str("</p>");
    }
    html.push_str("</body></html>");
    (text, html)
}

/// An alert's email: its title (the subject too), lines, paragraphs, and the action links that
/// exist (a link is empty without a link secret): Accept, Take it, Not a fit, Open lead.
fn compose(title: &str, lines: &[Line<'_>], paragraphs: &[String], urls: [&str; 4]) -> Mail {
    let labels = ["Accept", "Take it", "Not a fit", "Open lead"];
    let links: Vec<(&str, &str)> = labels
        .into_iter()
        .zip(urls)
        .filter(|(_, url)| !url.is_empty())
        .collect();
    let (text, html) = body(title, lines, paragraphs, &links);
    Mail {
        subject: one_line(title),
        text,
        html,
    }
}

fn owner_label(kind: OwnerKind, name: &str) -> String {
    match kind {
        OwnerKind::Person => name.to_owned(),
        OwnerKind::Queue => format!("{name} (queue)"),
    }
}

/// The email for a routed lead: the content of `notify::slack_message`, with the summary's links
/// ("Accept", "Not a fit", "Take it", "Open lead") as buttons.
pub fn lead_mail(lead: &LeadSummary) -> Mail {
    let who = lead
        .name
        .as_deref()
        .or(lead.email.as_deref())
        .unwrap_or("A new lead");
    let title = match &lead.company {
        Some(company) => format!("New lead: {who} ({company})"),
        None => format!("New lead: {who}"),
    };
    let mut lines = Vec::new();
    for (label, value) in [
        ("Email", &lead.email),
        ("Company", &lead.company),
        ("Source", &lead.source),
    ] {
        if let Some(value) = value {
            lines.push(Line(label, value.clone()));
        }
    }
    lines.push(Line(
        "Score",
        format!("{} ({})", lead.score, lead.lifecycle),
    ));
    lines.push(Line(
        "Owner",
        owner_label(lead.owner.kind, &lead.owner.name),
    ));
    let mut paragraphs = Vec::new();
    if !lead.asked.is_empty() {
        let asked: Vec<String> = lead
            .asked
            .iter()
            .map(|a| format!("{}: {}", a.label, a.value))
            .collect();
        paragraphs.push(format!("What they asked\n{}", asked.join("\n")));
    }
    if !lead.breakdown.is_empty() {
        let lines: Vec<String> = lead
            .breakdown
            .iter()
            .map(|l| format!("{:+} {}", l.points, l.label))
            .collect();
        paragraphs.push(format!("Score breakdown: {}", lines.join(" · ")));
    }
    if !lead.why.is_empty() {
        paragraphs.push(format!("Why {}: {}", lead.owner.name, lead.why));
    }
    let open = lead.lead_url.as_deref().unwrap_or_default();
    let urls = [&lead.claim_url[..], &lead.take_url, &lead.reject_url, open];
    compose(&title, &lines, &paragraphs, urls)
}

/// The email for an SLA escalation step: the content of `notify::slack_escalation`.
pub fn escalation_mail(e: &Escalation) -> Mail {
    let who = e.name.as_deref().or(e.email.as_deref()).unwrap_or("A lead");
    let lead = match &e.company {
        Some(company) => format!("{who} ({company})"),
        None => who.to_owned(),
    };
    let title = format!("SLA missed: {lead} — level {}", e.level);
    let mut lines = Vec::new();
    for (label, value) in [("Email", &e.email), ("Company", &e.company)] {
        if let Some(value) = value {
            lines.push(Line(label, value.clone()));
        }
    }
    lines.push(Line("Score", format!("{} ({})", e.score, e.lifecycle)));
    lines.push(Line("Owner", owner_label(e.owner.kind, &e.owner.name)));
    lines.push(Line("Escalated to", owner_label(e.to.kind, &e.to.name)));
    lines.push(Line("Late by", human_duration(e.overdue_ms)));
    let mut paragraphs = Vec::new();
    if let Some(message) = e.message.as_deref().filter(|m| !m.is_empty()) {
        paragraphs.push(message.to_owned());
    }
    if let Some(to) = &e.reassigned_to {
        paragraphs.push(format!(
            "Reassigned from {} to {}, who has the lead now.",
            owner_label(e.owner.kind, &e.owner.name),
            owner_label(to.kind, &to.name)
        ));
    }
    paragraphs.push(format!(
        "Policy {}, level {}: first touch was due {}",
        e.policy,
        e.level,
        rfc3339(e.first_touch_due_ms)
    ));
    let open = e.lead_url.as_deref().unwrap_or_default();
    let urls = [&e.claim_url[..], &e.take_url, &e.reject_url, open];
    compose(&title, &lines, &paragraphs, urls)
}

/// A subject: one line (a visitor's name could hold a line break), at most 200 characters.
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= 200 {
        return flat;
    }
    let mut out: String = flat.chars().take(199).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{Asked, Owner};

    fn lead() -> LeadSummary {
        LeadSummary {
            lead_id: "L1".into(),
            name: Some("<script>alert(1)</script>\nBcc: x@y.z".into()),
            email: Some("ada@example.com".into()),
            company: Some("A&B \"Co\"".into()),
            asked: vec![Asked {
                label: "Need".into(),
                value: "<b>now</b>".into(),
            }],
            score: 80,
            lifecycle: "sql".into(),
            owner: Owner {
                id: "dana".into(),
                name: "Dana".into(),
                kind: OwnerKind::Person,
            },
            why: "rule enterprise".into(),
            claim_url: "https://h.example/v1/leads/L1/claim?owner=dana&exp=1&sig=a\"b".into(),
            ..LeadSummary::default()
        }
    }

    #[test]
    fn nothing_a_visitor_typed_becomes_html() {
        let mail = lead_mail(&lead());
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(!mail.html.contains("<b>now"), "{}", mail.html);
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(mail.html.contains("A&amp;B &quot;Co&quot;"));
        assert!(mail.html.contains("sig=a&quot;b"));
        assert!(!mail.subject.contains('\n'), "{}", mail.subject);
        assert!(mail
            .text
            .contains("Accept: https://h.example/v1/leads/L1/claim"));
        assert!(
            !mail.text.contains("Not a fit"),
            "no reject link, no button"
        );
    }
}
