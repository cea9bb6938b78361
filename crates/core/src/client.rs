//! Who a request comes from, as rate limits and the throttle on failed sign-ins count it, and what
//! a role's token must be. Pure: the secret, the day and the address come in as arguments.
//!
//! A client is its network, not its address: an IPv4 address, or the /64 of an IPv6 address (one
//! subscriber's allocation, in which a client may pick any of 2^64 addresses). Its key is a keyed
//! hash, HMAC-SHA-256 under a key derived from the Worker's secret and the UTC day, so that what D1
//! stores cannot be reversed to an address without the secret (an unkeyed hash of every IPv4
//! address is a table anyone can build), and keys of different days cannot be linked: the key
//! rotates by itself at midnight UTC, and the operator may rotate the secret at any time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

type HmacSha256 = Hmac<Sha256>;

/// The shortest token a role accepts. Tokens are compared as SHA-256 digests, so their length
/// leaks nothing, but a short one can be guessed: 32 characters is what `handoff token` makes
/// (24 random bytes, base64url), and what `openssl rand -hex 16` prints.
pub const MIN_TOKEN_LEN: usize = 32;

/// The network a client address belongs to: the IPv4 address itself (also when written as an
/// IPv4-mapped IPv6 address), the first 64 bits of an IPv6 address as `prefix::/64`, or `None` for
/// text that is not an address.
pub fn network(address: &str) -> Option<String> {
    match address.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(v4.to_string()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => Some(v4.to_string()),
            None => {
                let s = v6.segments();
                Some(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
            }
        },
    }
}

/// The day a key is derived for: whole UTC days since the epoch.
pub fn day_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(86_400_000)
}

/// The client's key on `day` under `secret`: the hex HMAC-SHA-256 of its network under a key for
/// the day (itself the HMAC of the day under the secret). `None` (no address, or one that does not
/// parse) is the client "unknown", keyed the same way.
pub fn client_key(secret: &[u8], day: i64, address: Option<&str>) -> String {
    let day_key = hmac(secret, format!("handoff client day {day}").as_bytes());
    let network = address
        .and_then(network)
        .unwrap_or_else(|| "unknown".to_owned());
    crate::encode::hex(&hmac(&day_key, network.as_bytes()))
}

/// HMAC-SHA-256 of `message` under `key`.
pub(crate) fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts a key of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// A role's token as the operator stored it: the token itself (a wrangler secret), or its
/// SHA-256 as 64 hex digits (the `…_SHA256` secret, so that even the Worker's settings do not hold
/// the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored<'a> {
    Plain(&'a str),
    Sha256Hex(&'a str),
}

/// Why a stored token cannot be used; the role then refuses every request (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Shorter than [`MIN_TOKEN_LEN`].
    TooShort,
    /// A `…_SHA256` secret that is not 64 hex digits.
    NotADigest,
}

impl TokenProblem {
    pub fn code(self) -> &'static str {
        match self {
            TokenProblem::TooShort => "token_too_short",
            TokenProblem::NotADigest => "token_digest_invalid",
        }
    }
}

/// The SHA-256 digest a presented token must have, from the stored token.
pub fn expected_digest(stored: Stored<'_>) -> Result<[u8; 32], TokenProblem> {
    match stored {
        Stored::Plain(token) if token.chars().count() < MIN_TOKEN_LEN => {
            Err(TokenProblem::TooShort)
        }
        Stored::Plain(token) => Ok(Sha256::digest(token.as_bytes()).into()),
        Stored::Sha256Hex(hex) => crate::encode::unhex(hex.trim())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or(TokenProblem::NotADigest),
    }
}

/// A new token from 24 random bytes: base64url, [`MIN_TOKEN_LEN`] characters, and the hex SHA-256
/// a role's `…_SHA256` secret holds (`handoff token`).
pub fn new_token(random: &[u8; 24]) -> (String, String) {
    use base64::Engine;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
    let digest = crate::encode::hex(&Sha256::digest(token.as_bytes()));
    (token, digest)
}

/// Whether `presented` is the token whose digest is `expected`: both compared as SHA-256 digests,
/// without an early exit, so that neither the time taken nor the token's length tells a guesser
/// how close it came.
pub fn token_matches(presented: &str, expected: &[u8; 32]) -> bool {
    let given: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_group_ipv6_by_64_and_unwrap_mapped_ipv4() {
        let cases = [
            ("203.0.113.7", Some("203.0.113.7")),
            (" 203.0.113.7 ", Some("203.0.113.7")),
            ("::ffff:203.0.113.7", Some("203.0.113.7")),
            ("2001:db8:aa:bb:1:2:3:4", Some("2001:db8:aa:bb::/64")),
            (
                "2001:db8:aa:bb:ffff:ffff:ffff:ffff",
                Some("2001:db8:aa:bb::/64"),
            ),
            ("2001:0DB8:00AA:00BB::1", Some("2001:db8:aa:bb::/64")),
            ("2001:db8:aa:bc::1", Some("2001:db8:aa:bc::/64")),
            ("::1", Some("0:0:0:0::/64")),
            ("not an address", None),
            ("", None),
        ];
        for (address, expected) in cases {
            assert_eq!(network(address).as_deref(), expected, "{address}");
        }
    }

    #[test]
    fn client_keys_are_keyed_grouped_and_rotate_daily() {
        let secret = b"a secret of the worker";
        let day = day_of(1_796_601_600_000);
        let key = |s: &[u8], d, a| client_key(s, d, a);
        let a = key(secret, day, Some("2001:db8:aa:bb::1"));
        assert_eq!(a.len(), 64);
        // One /64 is one client; the next /64 is another.
        assert_eq!(a, key(secret, day, Some("2001:db8:aa:bb:9:9:9:9")));
        assert_ne!(a, key(secret, day, Some("2001:db8:aa:bc::1")));
        // Another day or another secret: another key for the same client.
        assert_ne!(a, key(secret, day + 1, Some("2001:db8:aa:bb::1")));
        assert_ne!(a, key(b"another secret", day, Some("2001:db8:aa:bb::1")));
        // Never the unkeyed hash of the address.
        let plain = crate::encode::hex(&Sha256::digest(b"203.0.113.7"));
        assert_ne!(key(secret, day, Some("203.0.113.7")), plain);
        // No address and an unreadable one are the same client, "unknown".
        assert_eq!(key(secret, day, None), key(secret, day, Some("garbage")));
    }

    #[test]
    fn days_are_utc_days() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(86_399_999), 0);
        assert_eq!(day_of(86_400_000), 1);
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn stored_tokens_give_the_digest_to_match() {
        let token = "0123456789abcdef0123456789abcdef";
        let digest = expected_digest(Stored::Plain(token)).expect("long enough");
        assert!(token_matches(token, &digest));
        assert!(!token_matches("0123456789abcdef0123456789abcdeF", &digest));
        assert!(!token_matches("", &digest));
        let hex = crate::encode::hex(&digest);
        assert_eq!(expected_digest(Stored::Sha256Hex(&hex)), Ok(digest));
        assert_eq!(
            expected_digest(Stored::Sha256Hex(&hex.to_uppercase())),
            Ok(digest)
        );
        let cases = [
            (Stored::Plain("short"), TokenProblem::TooShort),
            (Stored::Plain(&token[..31]), TokenProblem::TooShort),
            (Stored::Sha256Hex("abc"), TokenProblem::NotADigest),
            (Stored::Sha256Hex(&"g".repeat(64)), TokenProblem::NotADigest),
        ];
        for (stored, problem) in cases {
            assert_eq!(expected_digest(stored), Err(problem), "{stored:?}");
        }
        let (made, hex) = new_token(&[7; 24]);
        assert_eq!(made.len(), MIN_TOKEN_LEN);
        let digest = expected_digest(Stored::Sha256Hex(&hex)).expect("a digest");
        assert_eq!(expected_digest(Stored::Plain(&made)), Ok(digest));
    }
}
