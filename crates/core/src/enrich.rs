//! Enrichment from the email domain, offline: the company's registrable domain, whether the
//! address is personal (free mail) or a shared inbox (role account), and the known account the
//! domain belongs to, so that routing never fails on a lead that left the company field empty.

use serde::{Deserialize, Serialize};

use crate::company::registrable_domain;
use crate::condition::{Answers, Value, ValueType};
use crate::disposable::EmailRules;
use crate::email;

/// What conditions read about a lead besides the form's fields, derived from its answers: the
/// email address's attributes, and the country and region as codes (`country_code`: ISO 3166-1
/// alpha-2 from the country answer, whatever its language; `region_code`: a US state's or
/// Canadian province's code). The same in scoring and disqualification as in routing, SLA
/// policies, experiments and channels.
pub const DERIVED_ATTRIBUTES: [(&str, ValueType); 10] = [
    ("email_domain", ValueType::Text),
    ("free_email", ValueType::Bool),
    ("disposable_email", ValueType::Bool),
    ("role_account", ValueType::Bool),
    ("country_code", ValueType::Text),
    ("region_code", ValueType::Text),
    ("company_key", ValueType::Text),
    ("company_domain", ValueType::Text),
    ("function", ValueType::Text),
    ("seniority", ValueType::Text),
];

/// A lead's answers with its derived attributes ([`DERIVED_ATTRIBUTES`]): what scoring and
/// disqualification conditions read. An attribute that cannot be derived (no address, no
/// country answer) is unknown: a condition on it is false.
pub(crate) struct Derived<'a> {
    pub answers: &'a dyn Answers,
    /// The registrable domain of the address.
    pub domain: Option<&'a str>,
    pub flags: Option<&'a EmailFlags>,
    pub place: &'a Place,
}

impl Answers for Derived<'_> {
    fn get(&self, field: &str) -> Option<Value<'_>> {
        let flag = |f: fn(&EmailFlags) -> bool| self.flags.map(|x| Value::Bool(f(x)));
        match field {
            "email_domain" => self.domain.map(Value::Text),
            "free_email" => flag(|x| x.free_mail),
            "disposable_email" => flag(|x| x.disposable),
            "role_account" => flag(|x| x.role_account),
            "country_code" => self.place.country_code.map(Value::Text),
            "region_code" => self.place.region_code.map(Value::Text),
            "company_key" => self.place.company_key.as_deref().map(Value::Text),
            // The company's domain: the address's, unless that is a mailbox provider's.
            "company_domain" => self
                .domain
                .filter(|_| self.flags.is_some_and(|f| !f.free_mail))
                .map(Value::Text),
            "function" => self.place.function.map(Value::Text),
            "seniority" => self.place.seniority.map(Value::Text),
            _ => self.answers.get(field),
        }
    }
}

/// What the answers say, read by handoff-core's normalizers. Where a lead is, as codes: read from
/// the form's country field (one of type `country`, else `country`, or one whose
/// autocomplete hint starts with `country`) and region field (`region` or `state`, or the hint
/// `address-level1`) through handoff-core's normalizers, so "Deutschland", "DE" and "Germany" are
/// all `DE`.
/// The company and the job title are read the same way: `company_key` from the `company` field (or
/// one whose hint is `organization`), the match key that makes "ACME Inc." and "Acme" one company;
/// `function` and `seniority` from a `title` or `job_title` field (or the hint
/// `organization-title`), in English, German or French; unknown words give none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Place {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seniority: Option<&'static str>,
}

impl Place {
    /// The place `answers` to `form` say.
    pub fn of(form: &crate::form::FormSpec, answers: &crate::answer::AnswerMap) -> Place {
        let text = |pick: &dyn Fn(&crate::form::FieldSpec) -> bool| {
            form.fields
                .iter()
                .filter(|f| pick(f))
                .find_map(|f| answers.get(&f.id)?.as_text())
        };
        let country = text(&|f| f.kind == crate::form::FieldKind::Country)
            .or_else(|| text(&|f| f.id == "country" || f.autocomplete.starts_with("country")));
        let region =
            text(&|f| f.id == "region" || f.id == "state" || f.autocomplete == "address-level1");
        let country_code = country.and_then(|c| crate::country::normalize_country(c).ok());
        let region_code = match (country, region) {
            (Some(c), Some(r)) => crate::country::normalize_region(c, r).ok(),
            _ => None,
        };
        let company = text(&|f| f.id == "company" || f.autocomplete == "organization")
            .and_then(|c| crate::company::normalize_company(c).ok())
            .map(|c| c.match_key)
            .filter(|k| !k.is_empty());
        let title = text(&|f| {
            f.id == "title" || f.id == "job_title" || f.autocomplete == "organization-title"
        })
        .map(crate::title::classify);
        Place {
            country_code,
            region_code,
            company_key: company,
            function: title
                .map(|t| t.function)
                .filter(|f| *f != crate::title::Function::Other)
                .map(crate::title::Function::as_str),
            seniority: title
                .map(|t| t.seniority)
                .filter(|s| *s != crate::title::Seniority::Unknown)
                .map(crate::title::Seniority::as_str),
        }
    }
}

/// The registrable domain of an address (`eu.acme.com` → `acme.com`), if it has one.
pub fn email_domain(address: &str) -> Option<String> {
    host(address).as_deref().and_then(registrable_domain)
}

/// One known account, as supplied by the CRM export or the configuration: a domain and who owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The account's website or email domain, in any form `registrable_domain` reads.
    pub domain: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
}

/// Known accounts indexed by registrable domain. Built once; looked up per lead.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// Sorted by domain; one entry per domain (the last one supplied wins).
    by_domain: Vec<(String, Account)>,
}

impl Accounts {
    /// Indexes `accounts` by registrable domain. Accounts whose domain is not a registrable domain
    /// (a typo, a bare suffix, an IP) are returned as rejected, so nothing is silently dropped.
    pub fn new(accounts: Vec<Account>) -> (Accounts, Vec<Account>) {
        let mut rejected = Vec::new();
        let mut by_domain: Vec<(String, Account)> = Vec::with_capacity(accounts.len());
        for account in accounts {
            match registrable_domain(&account.domain) {
                Some(domain) => by_domain.push((domain, account)),
                None => rejected.push(account),
            }
        }
        // A stable sort keeps supply order within a domain, so the last one supplied wins below.
        by_domain.sort_by(|a, b| a.0.cmp(&b.0));
        by_domain.reverse();
        by_domain.dedup_by(|a, b| a.0 == b.0);
        by_domain.reverse();
        (Accounts { by_domain }, rejected)
    }

    /// The account of a registrable domain.
    pub fn get(&self, domain: &str) -> Option<&Account> {
        let i = self
            .by_domain
            .binary_search_by(|(d, _)| d.as_str().cmp(domain))
            .ok()?;
        Some(&self.by_domain[i].1)
    }

    pub fn len(&self) -> usize {
        self.by_domain.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_domain.is_empty()
    }
}

/// What an email address says about the person behind it, for scoring, routing and sales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct EmailFlags {
    /// A free mailbox provider (gmail.com, web.de, …): a personal address.
    pub free_mail: bool,
    /// A throwaway mailbox (the shipped list with the configuration's `[email]` overrides).
    pub disposable: bool,
    /// A shared inbox (info@, sales@, …) rather than a person.
    pub role_account: bool,
}

/// What the email address says about the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrichment<'a> {
    /// The registrable domain of the address (`eu.acme.com` → `acme.com`), if it has one.
    pub email_domain: Option<String>,
    /// The company's domain: the email domain unless that is a free mailbox provider.
    pub company_domain: Option<String>,
    #[serde(flatten)]
    pub flags: EmailFlags,
    /// The known account of the company domain.
    pub account: Option<&'a Account>,
}

/// The flags of a (normalized) email address.
pub fn email_flags(address: &str, rules: &EmailRules) -> EmailFlags {
    let host = host(address);
    let domain = host.as_deref().and_then(registrable_domain);
    flags(address, host.as_deref(), domain.as_deref(), rules)
}

/// Enriches a (normalized) email address against the known accounts.
pub fn enrich<'a>(address: &str, accounts: &'a Accounts, rules: &EmailRules) -> Enrichment<'a> {
    let host = host(address);
    let email_domain = host.as_deref().and_then(registrable_domain);
    let flags = flags(address, host.as_deref(), email_domain.as_deref(), rules);
    let company_domain = email_domain.clone().filter(|_| !flags.free_mail);
    let account = company_domain.as_deref().and_then(|d| accounts.get(d));
    Enrichment {
        email_domain,
        company_domain,
        flags,
        account,
    }
}

fn host(address: &str) -> Option<String> {
    address.rsplit_once('@').map(|(_, d)| d.to_lowercase())
}

fn flags(
    address: &str,
    host: Option<&str>,
    domain: Option<&str>,
    rules: &EmailRules,
) -> EmailFlags {
    EmailFlags {
        // A free-mail provider is matched on the full host: `yahoo.co.uk`, `hotmail.co.uk`.
        free_mail: host.is_some_and(email::is_free_mail) || domain.is_some_and(email::is_free_mail),
        disposable: host.is_some_and(|h| rules.is_disposable(h)),
        role_account: email::is_role_account(address),
    }
}
