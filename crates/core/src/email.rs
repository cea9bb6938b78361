//! Email syntax and normalization: what a mail server would accept, lowercased domain.
//!
//! Limits follow RFC 5321 (local part at most 64 octets, whole address at most 254) and RFC 6531
//! (international characters allowed in both parts). Quoted local parts and IP-literal domains
//! are refused: no lead form needs them, and accepting them lets junk through.

use crate::case;
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
    let domain = case::to_lowercase(domain);
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
    // The symbols are matched as bytes: a `str` pattern would bring the standard library's string
    // searcher, and its panic messages, into the browser module.
    let atext = |c: char| {
        c.is_ascii_alphanumeric()
            || (c.is_ascii() && b"!#$%&'*+-/=?^_`{|}~".contains(&(c as u8)))
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
/// address, and a domain one typo away from one of these is probably that typo. Sorted, for
/// binary search; `tests::free_mail_is_sorted_and_unique` keeps it so.
const FREE_MAIL: &[&str] = &[
    "126.com",
    "163.com",
    "aol.com",
    "att.net",
    "bigpond.com",
    "bluewin.ch",
    "bol.com.br",
    "btinternet.com",
    "comcast.net",
    "daum.net",
    "free.fr",
    "gmail.com",
    "gmx.at",
    "gmx.ch",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.de",
    "hotmail.es",
    "hotmail.fr",
    "hotmail.it",
    "icloud.com",
    "interia.pl",
    "laposte.net",
    "libero.it",
    "live.com",
    "live.fr",
    "live.nl",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "naver.com",
    "o2.pl",
    "onet.pl",
    "orange.fr",
    "outlook.com",
    "outlook.de",
    "outlook.es",
    "outlook.fr",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "rediffmail.com",
    "rocketmail.com",
    "seznam.cz",
    "sfr.fr",
    "shaw.ca",
    "sky.com",
    "sympatico.ca",
    "t-online.de",
    "telenet.be",
    "terra.com.br",
    "uol.com.br",
    "verizon.net",
    "virgilio.it",
    "wanadoo.fr",
    "web.de",
    "wp.pl",
    "yahoo.ca",
    "yahoo.co.jp",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.com.au",
    "yahoo.com.br",
    "yahoo.de",
    "yahoo.es",
    "yahoo.fr",
    "yahoo.it",
    "yandex.ru",
    "ymail.com",
    "ziggo.nl",
    "zoho.com",
];

/// Whether `domain` (lowercase) belongs to a free mailbox provider.
pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.binary_search(&domain).is_ok()
}

/// Top-level domains people type for `com`, `net`, `de`, … and what they meant.
const TLD_TYPOS: &[(&str, &str)] = &[
    ("cim", "com"),
    ("cm", "com"),
    ("cmo", "com"),
    ("co", "com"),
    ("coim", "com"),
    ("comm", "com"),
    ("con", "com"),
    ("coom", "com"),
    ("cpm", "com"),
    ("ocm", "com"),
    ("om", "com"),
    ("vom", "com"),
    ("xom", "com"),
    ("ne", "net"),
    ("nte", "net"),
    ("nett", "net"),
    ("ent", "net"),
    ("dee", "de"),
    ("d", "de"),
    ("fe", "fr"),
    ("frr", "fr"),
];

/// Typos above that are also real country domains (Cameroon, Oman, Colombia, Niger): `me.co` may
/// well be a business, so these are corrected only for provider names of five or more letters.
const REAL_TLDS: &[&str] = &["cm", "co", "ne", "om"];

/// A likely intended mailbox domain for a mistyped one, e.g. `gmal.com` → `gmail.com`. Only the
/// popular providers are corrected: a business domain that merely looks like one (`aon.com`,
/// `gmx-tech.com`) is never "corrected", because a wrong suggestion costs a real lead.
///
/// A suggestion needs either the provider's exact name with a mistyped top-level domain
/// (`gmail.con`; a typo that is itself a real country domain only for names of five or more
/// letters), or the provider's top-level domain with a name one edit away (insert, delete,
/// replace or swap two neighbours), and then only for names of five or more letters, where one
/// edit cannot turn one real name into another.
pub fn suggest_domain(domain: &str) -> Option<&'static str> {
    let domain = domain.trim().trim_end_matches('.');
    if domain.len() > 64 || is_free_mail(domain) {
        return None;
    }
    let (name, tld) = domain.split_once('.')?;
    let mut best: Option<&'static str> = None;
    for provider in FREE_MAIL {
        let Some((p_name, p_tld)) = provider.split_once('.') else {
            continue;
        };
        let tld_fixed = name == p_name
            && (p_name.len() >= 5 || !REAL_TLDS.contains(&tld))
            && TLD_TYPOS
                .iter()
                .any(|(typo, meant)| *typo == tld && *meant == p_tld);
        let name_fixed = tld == p_tld
            && p_name.len() >= 5
            && name.len() + 1 >= p_name.len()
            && within_one_edit(name, p_name);
        if tld_fixed || name_fixed {
            if best.is_some() {
                // Two providers fit equally well: guessing would be wrong half the time.
                return None;
            }
            best = Some(provider);
        }
    }
    best
}

/// The full address with its domain corrected, if [`suggest_domain`] has a suggestion.
pub fn suggest(address: &str) -> Option<String> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    let fixed = suggest_domain(&case::to_lowercase(domain))?;
    Some(format!("{local}@{fixed}"))
}

/// Whether `a` becomes `b` with at most one insertion, deletion, substitution or transposition of
/// neighbours (optimal string alignment distance ≤ 1), on bytes; no allocation.
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match (a.len(), b.len()) {
        (la, lb) if la == lb => {
            a[1..] == b[1..] || (la >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..])
        }
        (la, lb) if la + 1 == lb => a == &b[1..],
        (la, lb) if lb + 1 == la => &a[1..] == b,
        _ => false,
    }
}

/// Local parts that name a function, not a person: a lead from `info@` reaches a shared inbox.
const ROLE_ACCOUNTS: &[&str] = &[
    "admin",
    "billing",
    "contact",
    "enquiries",
    "hello",
    "help",
    "hr",
    "info",
    "inquiries",
    "jobs",
    "kontakt",
    "marketing",
    "mail",
    "news",
    "noreply",
    "no-reply",
    "office",
    "postmaster",
    "sales",
    "service",
    "support",
    "team",
    "webmaster",
];

/// Whether the address's local part is a role account such as `info` or `sales`.
pub fn is_role_account(address: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(local, _)| ROLE_ACCOUNTS.iter().any(|r| local.eq_ignore_ascii_case(r)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn free_mail_is_sorted_and_unique() {
        assert!(super::FREE_MAIL.windows(2).all(|w| w[0] < w[1]));
    }
}
