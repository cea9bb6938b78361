//! `[email] check_mail_server`: whether a lead's email domain has a mail server, asked of DNS over
//! HTTPS (the JSON API, `application/dns-json`, on `DOH_URL` or a public resolver: MX, then A and
//! AAAA when there is no MX) and cached in KV (`mx/<domain>`, a day when it has one, an hour when
//! not). handoff-core's `mail_server` says what each answer means; this module asks and keeps.
//! The check fails open: a resolver that times out, fails or answers nonsense, and a KV that does
//! not answer, let the lead through, and the log says why (our code and the HTTP status, never the
//! resolver's URL or the address).

use handoff_core::mail_server::{next, Cached, Question, Step, Verdict};
use worker::{Env, Method, Url};

use crate::fetch::{call_within, Failure};
use crate::store::KV_BINDING;

/// The `[vars]` entry naming the resolver's JSON API endpoint (a loopback fake in tests).
pub const DOH_URL: &str = "DOH_URL";
/// Cloudflare's public resolver, which serves the JSON API on the same path as RFC 8484.
const DEFAULT_DOH_URL: &str = "https://cloudflare-dns.com/dns-query";
/// How long one DNS question may take while a visitor waits for their submission's answer.
const DOH_TIMEOUT_MS: u32 = 3_000;

/// Whether the domain of `address` (normalized) has a mail server, as far as DNS says at
/// `now_ms`: `false` only when it said so; `true` also when it could not be asked.
pub async fn receives_mail(env: &Env, address: &str, now_ms: u64) -> bool {
    let Some(domain) = address.rsplit_once('@').and_then(|(_, d)| ascii_domain(d)) else {
        return true;
    };
    let now_ms = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let key = format!("mx/{domain}");
    let kv = env.kv(KV_BINDING).ok();
    if let Some(kv) = &kv {
        match kv.get(&key).text().await {
            Ok(Some(text)) => {
                if let Some(receives) = Cached::read(&text, now_ms) {
                    return receives;
                }
            }
            Ok(None) => {}
            Err(_) => worker::console_warn!("mail server cache not read: kv_unavailable"),
        }
    }
    let verdict = match ask(env, &domain).await {
        Ok(Verdict::Unknown(code)) => Err(code.to_owned()),
        Ok(verdict) => Ok(verdict),
        Err(failure) => Err(failure.text()),
    };
    let verdict = match verdict {
        Ok(verdict) => verdict,
        Err(why) => {
            worker::console_warn!("mail server check skipped, lead accepted: {why}");
            return true;
        }
    };
    if let (Some(kv), Some((cached, ttl))) = (&kv, Cached::of(verdict, now_ms)) {
        let put = match kv.put(&key, cached.to_text()) {
            Ok(put) => put.expiration_ttl(ttl).execute().await.is_ok(),
            Err(_) => false,
        };
        if !put {
            worker::console_warn!("mail server answer not cached: kv_unavailable");
        }
    }
    verdict == Verdict::Receives
}

/// The questions handoff-core asks for, one after the other, until it has a verdict.
async fn ask(env: &Env, domain: &str) -> Result<Verdict, Failure> {
    let resolver = env
        .var(DOH_URL)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| DEFAULT_DOH_URL.to_owned());
    let mut question = Question::FIRST;
    loop {
        let mut url = Url::parse(&resolver).map_err(|_| Failure::code("url_invalid"))?;
        url.query_pairs_mut()
            .append_pair("name", domain)
            .append_pair("type", question.as_str());
        let headers = [("accept", "application/dns-json")];
        let mut response =
            call_within(DOH_TIMEOUT_MS, Method::Get, url.as_str(), &headers, None).await?;
        let text = response
            .text()
            .await
            .map_err(|_| Failure::code("doh_answer_invalid"))?;
        match next(question, &text) {
            Step::Ask(then) => question = then,
            Step::Done(verdict) => return Ok(verdict),
        }
    }
}

/// The domain as DNS names it: an international one in its ASCII form (`münchen.de` is
/// `xn--mnchen-3ya.de`), by the URL parser's IDNA; `None` if it has none.
fn ascii_domain(domain: &str) -> Option<String> {
    let url = Url::parse(&format!("http://{domain}/")).ok()?;
    match url.host()? {
        worker::url::Host::Domain(ascii) => Some(ascii.to_owned()),
        _ => None,
    }
}
