//! Top-level domains: which exist, so that `maria@comcast.ten` is an `email.domain` issue and not
//! an address. Pure data, no I/O.
//!
//! The list is data, not code: `data/tlds.txt`, every top-level domain of the Public Suffix List's
//! ICANN section (1,456, and the ASCII forms of the 160 internationalized ones), generated with
//! `data/public_suffixes.txt` by `scripts/gen-public-suffixes.mjs` from the pinned npm package psl.
//! It is read two ways:
//!
//! - [`exists`], the whole list, bisected: the authoritative check, which the Worker and the CLI
//!   run (`email::normalize_full`, `evaluate`). The list is 11.6 KB (6.2 KB gzip), more than
//!   the browser module's budget has room for, so nothing in the browser module refers to it.
//! - [`known_missing`], what the browser module holds instead: tables derived from the same text
//!   at compile time, 318 bytes. Every two-letter top-level domain (a 26×26 bitmap, 85 bytes) and
//!   every three-letter one (the gaps between their numbers in base 26, one byte each, 233 bytes)
//!   are known, so every mistyped `com`, `net`, `org`, `de`, `fr`, … that is two or three letters
//!   long (`cmo`, `ten`, `ed`, `nte`) is caught as it is typed; of longer labels only a common
//!   three-letter domain with one letter more (`comm`, `nett`, `ocom`) is known to be missing
//!   (the real ones of that shape, `next`, are derived from the list too). Anything else (`.local`,
//!   `.xyzzy`) the browser lets through and the Worker refuses with the same issue.
//!
//! [`known_missing`] never calls an existing domain missing (a test checks it against every line
//! of the list), so the browser never refuses what the Worker would take.

use std::sync::OnceLock;

const DATA: &str = include_str!("../data/tlds.txt");

/// The top-level domains a suggestion may correct a missing one to (`acme.cmo` → `acme.com`):
/// the generic ones people type most, and those of the mailbox providers in `email.rs` (a test
/// keeps every provider's here). Hand-written: which domains are common is judgement, not data.
pub const COMMON: &[&str] = &[
    "com", "net", "org", "edu", "gov", "at", "au", "be", "br", "ca", "ch", "cz", "de", "es", "fr",
    "it", "jp", "me", "nl", "pl", "ru", "uk",
];

/// Names the Public Suffix List carries that no mailbox can be at (the IANA special-use registry:
/// `arpa` is infrastructure, `onion` Tor's), and the one reserved name accepted although it has
/// no registry: `example` (RFC 2606), the documentation's and the test suites' addresses
/// (`maria@acme.example`). A lead at `example` never reaches a person; the mail-server check
/// (`[email] check_mail_server`) refuses it where it is on.
const SPECIAL_REFUSED: &[&str] = &["arpa", "onion"];
const RESERVED_ACCEPTED: &str = "example";

/// The list's lines in byte order (the generator sorts them), split once.
fn all() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        DATA.lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect()
    })
}

/// How many lines the list has: every top-level domain, and the ASCII form of each
/// internationalized one.
pub fn list_len() -> usize {
    all().len()
}

/// Whether `label` (lowercase, as `email::normalize` leaves a domain) is a top-level domain that
/// exists: `com`, `de`, `dev`, `berlin`, `рф` and `xn--p1ai`, but not `local`, `invalid`, `ten`.
/// The whole list: the Worker and the CLI.
pub fn exists(label: &str) -> bool {
    label == RESERVED_ACCEPTED
        || (!SPECIAL_REFUSED.contains(&label) && all().binary_search(&label).is_ok())
}

/// Whether `label` (lowercase) is certainly not a top-level domain, by the tables the browser
/// module holds: two- and three-letter labels exactly, four-letter ones only when they are a
/// common three-letter domain with a letter added. `false` means "exists, or not known here".
pub fn known_missing(label: &str) -> bool {
    let b = label.as_bytes();
    if b.len() > 4 || !b.iter().all(u8::is_ascii_lowercase) {
        // Longer labels, digits, hyphens (`xn--…`) and international labels: for the full list.
        return false;
    }
    let n = number(b);
    match b.len() {
        0 | 1 => true,
        2 => TWO[n as usize / 8] & (1 << (n % 8)) == 0,
        3 => !in_gaps(&THREE, n),
        _ => !NEAR4.contains(&n) && is_common_plus_one(b),
    }
}

/// Whether the four letters `b` are a three-letter [`COMMON`] domain with one letter added.
const fn is_common_plus_one(b: &[u8]) -> bool {
    let mut skip = 0;
    while skip < 4 {
        let mut n = 0;
        let mut i = 0;
        while i < 4 {
            if i != skip {
                n = n * 26 + (b[i] - b'a') as u32;
            }
            i += 1;
        }
        let mut c = 0;
        while c < COMMON3.len() {
            if COMMON3[c] == n {
                return true;
            }
            c += 1;
        }
        skip += 1;
    }
    false
}

/// A label of lowercase ASCII letters as a number in base 26 (`aa` is 0, `zz` 675).
const fn number(b: &[u8]) -> u32 {
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        n = n * 26 + (b[i] - b'a') as u32;
        i += 1;
    }
    n
}

/// Whether `value` is one of the sorted numbers whose gaps `gaps` holds: each byte below 255 is
/// the distance from the number after the previous one; 255 adds 255 and goes on.
fn in_gaps(gaps: &[u8], value: u32) -> bool {
    let mut at = 0u32;
    for &gap in gaps {
        at += u32::from(gap);
        if gap < 255 {
            if at >= value {
                return at == value;
            }
            at += 1;
        }
    }
    false
}

/// The list's next line from byte `start`: its end (the newline or the text's end).
const fn line_end(b: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < b.len() && b[end] != b'\n' {
        end += 1;
    }
    end
}

/// Whether bytes `start..end` of `b` are `len` lowercase ASCII letters.
const fn is_letters(b: &[u8], start: usize, end: usize, len: usize) -> bool {
    if end - start != len {
        return false;
    }
    let mut i = start;
    while i < end {
        if !b[i].is_ascii_lowercase() {
            return false;
        }
        i += 1;
    }
    true
}

const fn slice(b: &[u8], start: usize, end: usize) -> &[u8] {
    b.split_at(end).0.split_at(start).1
}

/// Every two-letter top-level domain: bit `number(label)`.
const TWO: [u8; 85] = {
    let b = DATA.as_bytes();
    let mut out = [0u8; 85];
    let mut start = 0;
    while start < b.len() {
        let end = line_end(b, start);
        if is_letters(b, start, end, 2) {
            let n = number(slice(b, start, end)) as usize;
            out[n / 8] |= 1 << (n % 8);
        }
        start = end + 1;
    }
    out
};

/// The three-letter top-level domains as gaps (see [`in_gaps`]); with `N` too small, only the
/// length is right, which is how [`THREE_LEN`] is found.
const fn three_letter_gaps<const N: usize>() -> ([u8; N], usize) {
    let b = DATA.as_bytes();
    let mut out = [0u8; N];
    let (mut len, mut next, mut start) = (0, 0, 0);
    while start < b.len() {
        let end = line_end(b, start);
        if is_letters(b, start, end, 3) {
            let value = number(slice(b, start, end));
            assert!(value >= next, "data/tlds.txt is not sorted");
            let mut gap = value - next;
            loop {
                let byte = if gap >= 255 { 255 } else { gap as u8 };
                if len < N {
                    out[len] = byte;
                }
                len += 1;
                if byte < 255 {
                    break;
                }
                gap -= 255;
            }
            next = value + 1;
        }
        start = end + 1;
    }
    (out, len)
}

const THREE_LEN: usize = three_letter_gaps::<0>().1;
const THREE: [u8; THREE_LEN] = three_letter_gaps::<THREE_LEN>().0;

/// The numbers of the three-letter [`COMMON`] domains; with `N` too small, only the count is right.
const fn common_three<const N: usize>() -> ([u32; N], usize) {
    let mut out = [0u32; N];
    let (mut len, mut c) = (0, 0);
    while c < COMMON.len() {
        let label = COMMON[c].as_bytes();
        if label.len() == 3 {
            if len < N {
                out[len] = number(label);
            }
            len += 1;
        }
        c += 1;
    }
    (out, len)
}

const COMMON3_LEN: usize = common_three::<0>().1;
const COMMON3: [u32; COMMON3_LEN] = common_three::<COMMON3_LEN>().0;

/// The four-letter top-level domains that are a three-letter [`COMMON`] domain with one letter
/// added (`next`), as numbers; with `N` too small, only the count is right.
const fn near_common<const N: usize>() -> ([u32; N], usize) {
    let b = DATA.as_bytes();
    let mut out = [0u32; N];
    let (mut len, mut start) = (0, 0);
    while start < b.len() {
        let end = line_end(b, start);
        if is_letters(b, start, end, 4) && is_common_plus_one(slice(b, start, end)) {
            if len < N {
                out[len] = number(slice(b, start, end));
            }
            len += 1;
        }
        start = end + 1;
    }
    (out, len)
}

const NEAR4_LEN: usize = near_common::<0>().1;
const NEAR4: [u32; NEAR4_LEN] = near_common::<NEAR4_LEN>().0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_tables_never_call_a_real_domain_missing() {
        for label in all() {
            assert!(!known_missing(label), "{label}");
        }
    }

    #[test]
    fn the_browser_tables_know_every_two_and_three_letter_domain() {
        let letters = |n: usize| {
            (0..26u32.pow(n as u32)).map(move |mut v| {
                let mut s = vec![0u8; n];
                for i in (0..n).rev() {
                    s[i] = b'a' + (v % 26) as u8;
                    v /= 26;
                }
                String::from_utf8(s).unwrap_or_default()
            })
        };
        for label in letters(2).chain(letters(3)) {
            assert_eq!(known_missing(&label), !exists(&label), "{label}");
        }
        for label in letters(4) {
            if known_missing(&label) {
                assert!(!exists(&label), "{label}");
            }
        }
    }

    #[test]
    fn table_sizes() {
        assert_eq!(THREE_LEN, 233, "three-letter gaps");
        assert_eq!(COMMON3_LEN, 5);
        assert_eq!(NEAR4, [number(b"next")]);
        assert!(list_len() > 1_500);
    }
}
