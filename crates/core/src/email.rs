//! Email syntax and normalization: what a mail server would accept, lowercased domain.
//!
//! Limits follow RFC 5321 (local part at most 64 octets, whole address at most 254) and RFC 6531
//! (international characters allowed in both parts). Quoted local parts and IP-literal domains
//! are refused: no lead form needs them, and accepting them lets junk through.

use crate::issue::IssueCode;

/// The longest address, in UTF-8 bytes, that can appear in an SMTP path.
pub const MAX_ADDRESS: usize = 254;
/// The longest local part (before `@`), in UTF-8 bytes.
pub const MAX_LOCAL: usize = 64;
/// The longest single DNS label, in bytes.
const MAX_LABEL: usize = 63;

/// Checks `raw` as an email address and returns it normalized: surrounding whitespace trimmed,
/// domain lowercased, local part kept as typed (mailbox names may be case-sensitive).
pub fn normalize(raw: &str) -> Result<String, IssueCode> {
    let address = raw.trim();
    // Refuse oversized input before any per-character work, so hostile input costs nothing.
    if address.len() > MAX_ADDRESS {
        return Err(IssueCode::EmailTooLong);
    }
    let (local, domain) = address.rsplit_once('@').ok_or(IssueCode::EmailSyntax)?;
    if local.is_empty() || domain.is_empty() {
        return Err(IssueCode::EmailSyntax);
    }
    if local.len() > MAX_LOCAL {
        return Err(IssueCode::EmailTooLong);
    }
    if !is_local_part(local) {
        return Err(IssueCode::EmailSyntax);
    }
    let domain = domain.to_lowercase();
    if !is_mail_domain(&domain) {
        return Err(IssueCode::EmailDomain);
    }
    let mut out = String::with_capacity(local.len() + 1 + domain.len());
    out.push_str(local);
    out.push('@');
    out.push_str(&domain);
    Ok(out)
}

/// A dot-atom local part: atext characters (or international letters and digits), dots only
/// between them.
fn is_local_part(local: &str) -> bool {
    let atext = |c: char| {
        c.is_ascii_alphanumeric()
            || "!#$%&'*+-/=?^_`{|}~".contains(c)
            || (!c.is_ascii() && c.is_alphanumeric())
    };
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

/// A domain that can receive mail on the public internet: at least two labels, letters, digits
/// and inner hyphens, and a top-level domain made of letters (or an IDNA `xn--` label).
fn is_mail_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= MAX_LABEL
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c == '-' || c.is_alphanumeric())
    };
    if !labels.iter().all(|l| label_ok(l)) {
        return false;
    }
    let tld = labels[labels.len() - 1];
    tld.starts_with("xn--") || (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
}

/// Mailbox providers anyone can sign up to, worldwide. A lead from one of these gave a personal
/// address. Sorted, for binary search.
const FREE_MAIL: &[&str] = &[
    "aol.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.de",
    "hotmail.fr",
    "icloud.com",
    "live.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "naver.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "rediffmail.com",
    "t-online.de",
    "web.de",
    "yahoo.co.jp",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.fr",
    "yandex.ru",
    "zoho.com",
];

/// Whether `domain` (lowercase) belongs to a free mailbox provider.
pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.binary_search(&domain).is_ok()
}
