//! Enrichment from the email domain, offline: the company's registrable domain, whether the
//! address is personal (free mail) or a shared inbox (role account), and the known account the
//! domain belongs to, so that routing never fails on a lead that left the company field empty.

use serde::{Deserialize, Serialize};

use crate::company::registrable_domain;
use crate::email;

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

/// What the email address says about the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrichment<'a> {
    /// The registrable domain of the address (`eu.acme.com` → `acme.com`), if it has one.
    pub email_domain: Option<String>,
    /// The company's domain: the email domain unless that is a free mailbox provider.
    pub company_domain: Option<String>,
    pub free_mail: bool,
    pub role_account: bool,
    /// The known account of the company domain.
    pub account: Option<&'a Account>,
}

/// Enriches a (normalized) email address against the known accounts.
pub fn enrich<'a>(address: &str, accounts: &'a Accounts) -> Enrichment<'a> {
    let host = address.rsplit_once('@').map(|(_, d)| d.to_lowercase());
    let email_domain = host.as_deref().and_then(registrable_domain);
    // A free-mail provider is matched on the full host: `yahoo.co.uk`, `hotmail.co.uk`.
    let free_mail = host.as_deref().is_some_and(email::is_free_mail)
        || email_domain.as_deref().is_some_and(email::is_free_mail);
    let company_domain = email_domain.clone().filter(|_| !free_mail);
    let account = company_domain.as_deref().and_then(|d| accounts.get(d));
    Enrichment {
        email_domain,
        company_domain,
        free_mail,
        role_account: email::is_role_account(address),
        account,
    }
}
