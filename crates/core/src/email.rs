//! Email syntax and normalization: what a mail server would accept, lowercased domain.
//!
//! Limits follow RFC 5321 (local part at most 64 octets, whole address at most 254) and RFC 6531
//! (international characters allowed in both parts). Quoted local parts and IP-literal domains
//! are refused: no lead form needs them, and accepting them lets junk through.
//!
//! The top-level domain must exist (`tld.rs`): [`normalize`], which the browser runs as the
//! visitor types, knows every two- and three-letter one and the common typos of longer ones;
//! [`normalize_full`] (the Worker's `evaluate` and the CLI) checks against every one.

use crate::case;
use crate::issue::IssueCode;
use crate::text;
use crate::tld;

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
    let (local, domain) = text::split_last(address, b'@').ok_or(IssueCode::EmailSyntax)?;
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

/// [`normalize`], and the top-level domain checked against every one that exists
/// ([`tld::exists`]), where [`normalize`] knows only the short ones: `maria@acme.xyzw` and
/// `maria@printer.local` are `email.domain` here. The Worker (through `evaluate`) and the CLI.
pub fn normalize_full(raw: &str) -> Result<String, IssueCode> {
    let address = normalize(raw)?;
    if top_level_exists(&address) {
        Ok(address)
    } else {
        Err(IssueCode::EmailDomain)
    }
}

/// Whether the top-level domain of `address` (normalized: lowercase domain) exists, by the whole
/// list.
pub fn top_level_exists(address: &str) -> bool {
    address
        .rsplit_once('.')
        .is_some_and(|(_, label)| tld::exists(label))
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
    text::split_all(local, b'.').all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

/// A domain that can receive mail on the public internet: at least two labels, letters, digits
/// and inner hyphens, and a top-level domain made of letters (or an IDNA `xn--` label) that is
/// not known to be missing (as far as the browser's tables know, see `tld.rs`).
fn is_mail_domain(domain: &str) -> bool {
    let labels: Vec<&str> = text::split_all(domain, b'.').collect();
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
    (tld.starts_with("xn--")
        || (text::char_count(tld) >= 2 && tld.chars().all(char::is_alphabetic)))
        && !tld::known_missing(tld)
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

/// Mistyped top-level domains that are real ones (Cameroon, Colombia, Niger, Oman), and what they
/// mean after a provider's name: `gmail.co` is `gmail.com`, but only for names of five or more
/// letters (`me.co` may well be a business). And `fe`, which is one letter from both `fr` and
/// `de`: after a provider that has both, people mean `fr`. Every other mistyped top-level domain
/// does not exist, and is corrected from the list (see [`suggest_domain`]).
const TLD_TYPOS: &[(&str, &str)] = &[
    ("cm", "com"),
    ("co", "com"),
    ("om", "com"),
    ("ne", "net"),
    ("fe", "fr"),
];

/// A likely intended domain for a mistyped one, e.g. `gmal.com` → `gmail.com`, `comcast.ten` →
/// `comcast.net`, `acme.cmo` → `acme.com`. Only what is surely a typo is corrected: a business
/// domain that merely looks like a provider (`aon.com`, `gmx-tech.com`) never is, because a wrong
/// suggestion costs a real lead.
///
/// In order, the first that fits exactly one way wins (two ways: no suggestion, since guessing
/// would be wrong half the time):
/// 1. a provider's exact name with a mistyped top-level domain from [`TLD_TYPOS`] (a real country
///    domain only after a name of five or more letters), or the provider's top-level domain with
///    a name one edit away (insert, delete, replace or swap two neighbours), for names of five or
///    more letters, where one edit cannot turn one real name into another;
/// 2. a top-level domain that does not exist (`tld::known_missing`) after a provider's exact name,
///    one edit or a reordering away from that provider's (`web.ed`, `comcast.ten`, `gmx.dee`);
/// 3. a top-level domain of three or more letters that does not exist, one edit or a reordering
///    away from a common one (`tld::COMMON`): the domain with that one (`acme.cmo`), or the
///    provider that is then one name edit away (`gmial.cmo` → `gmail.com`).
pub fn suggest_domain(domain: &str) -> Option<String> {
    let domain = domain.trim().trim_end_matches('.');
    if domain.len() > 64 || is_free_mail(domain) {
        return None;
    }
    let (name, suffix) = text::split_first(domain, b'.')?;
    let (rest, tld) = text::split_last(domain, b'.')?;
    let missing = tld::known_missing(tld);
    // Rules 1 and 2 in one pass over the providers: `None` while nothing fits, `Some(None)` once
    // two do.
    let (mut typo_of_provider, mut tld_of_provider) = (None, None);
    for provider in FREE_MAIL {
        let (p_name, p_tld) = text::split_first(provider, b'.').unwrap_or_default();
        let tld_fixed = name == p_name
            && (p_name.len() >= 5 || tld::known_missing(suffix))
            && TLD_TYPOS.contains(&(suffix, p_tld));
        let name_fixed = suffix == p_tld
            && p_name.len() >= 5
            && name.len() + 1 >= p_name.len()
            && within_one_edit(name, p_name);
        if tld_fixed || name_fixed {
            note(&mut typo_of_provider, provider);
        }
        if missing && name == p_name && near(suffix, p_tld) {
            note(&mut tld_of_provider, provider);
        }
    }
    if typo_of_provider.is_some() || !missing {
        return typo_of_provider?.map(str::to_owned);
    }
    if tld_of_provider.is_some() || tld.len() < 3 {
        return tld_of_provider?.map(str::to_owned);
    }
    let mut common = None;
    for c in tld::COMMON {
        if near(tld, c) {
            note(&mut common, c);
        }
    }
    let common = common??;
    let mut fixed = String::with_capacity(rest.len() + 1 + common.len());
    fixed.push_str(rest);
    fixed.push('.');
    fixed.push_str(common);
    // A name typo too (`gmial.cmo`): the provider (only rule 1 can fit, the domain now exists),
    // else the domain with its top-level domain fixed.
    Some(suggest_domain(&fixed).unwrap_or(fixed))
}

/// One more candidate that fits: the first is kept, a second makes it a tie (`Some(None)`).
fn note(found: &mut Option<Option<&'static str>>, candidate: &'static str) {
    *found = Some(if found.is_some() {
        None
    } else {
        Some(candidate)
    });
}

/// The full address with its domain corrected, if [`suggest_domain`] has a suggestion.
pub fn suggest(address: &str) -> Option<String> {
    let (local, domain) = text::split_last(address.trim(), b'@')?;
    let fixed = suggest_domain(&case::to_lowercase(domain))?;
    Some(format!("{local}@{fixed}"))
}

/// Whether `typed` is `meant` mistyped by one edit ([`within_one_edit`]) or with its letters
/// reordered (`ten` for `net`).
fn near(typed: &str, meant: &str) -> bool {
    within_one_edit(typed, meant) || is_reordering(typed.as_bytes(), meant.as_bytes())
}

/// Whether `a` is `b`'s bytes in another order.
fn is_reordering(a: &[u8], b: &[u8]) -> bool {
    let count = |s: &[u8], c: u8| s.iter().filter(|&&x| x == c).count();
    a != b && a.len() == b.len() && a.iter().all(|&c| count(a, c) == count(b, c))
}

/// Whether `a` becomes `b` with exactly one insertion, deletion, substitution or transposition of
/// neighbours (optimal string alignment distance 1), on bytes; no allocation, no slicing.
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (la, lb) = (a.len(), b.len());
    if a == b || la.abs_diff(lb) > 1 {
        return false;
    }
    // What is left between the longest common prefix and the longest common suffix after it.
    let short = la.min(lb);
    let mut prefix = 0;
    while prefix < short && a[prefix] == b[prefix] {
        prefix += 1;
    }
    let mut suffix = 0;
    while prefix + suffix < short && a[la - 1 - suffix] == b[lb - 1 - suffix] {
        suffix += 1;
    }
    let (ma, mb) = (la - prefix - suffix, lb - prefix - suffix);
    ma.max(mb) <= 1
        || (ma == 2 && mb == 2 && a[prefix] == b[prefix + 1] && a[prefix + 1] == b[prefix])
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
    use super::*;

    #[test]
    fn free_mail_is_sorted_and_unique() {
        assert!(FREE_MAIL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn every_provider_top_level_domain_is_common_and_exists() {
        for provider in FREE_MAIL {
            let (_, label) = provider.rsplit_once('.').unwrap_or_default();
            assert!(tld::COMMON.contains(&label), "{provider}");
        }
        for common in tld::COMMON {
            assert!(tld::exists(common), "{common}");
        }
    }

    /// Optimal string alignment distance, the plain dynamic programme.
    fn osa(a: &[u8], b: &[u8]) -> usize {
        let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn one_edit_is_distance_one_on_every_short_pair() {
        let mut words = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = words
                .iter()
                .filter(|w| w.len() == words.last().map_or(0, String::len))
                .flat_map(|w| ["a", "b", "c"].map(|c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
        }
        for a in &words {
            for b in &words {
                let want = osa(a.as_bytes(), b.as_bytes()) == 1;
                assert_eq!(within_one_edit(a, b), want, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn tld_typos_are_real_domains_or_ties() {
        // What is not in the table is corrected from the list: only real domains (which the
        // list cannot call typos) and ties (one edit from two of a provider's) need a row.
        for (typo, meant) in TLD_TYPOS {
            assert!(tld::exists(meant));
            let tie = ["fr", "de"].iter().all(|d| within_one_edit(typo, d));
            assert!(tld::exists(typo) || tie, "{typo}");
        }
    }
}
