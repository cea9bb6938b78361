//! Enrichment from the email domain: company domain, free-mail and role flags, account matching.

#![allow(clippy::unwrap_used)]

use handoff_core::disposable::EmailRules;
use handoff_core::enrich::{enrich, Account, Accounts};

fn account(domain: &str, name: &str, owner: &str) -> Account {
    Account {
        domain: domain.to_owned(),
        name: name.to_owned(),
        owner: Some(owner.to_owned()),
        segment: Some("enterprise".to_owned()),
    }
}

#[test]
fn enrichment_table() {
    let (accounts, rejected) = Accounts::new(vec![
        account("https://www.acme.com/", "Acme", "dana"),
        account("globex.co.uk", "Globex", "lee"),
        account("maria@initech.de", "Initech", "kim"),
        account("acme.com", "Acme Corp", "sam"),
        account("co.uk", "Not a company", "nobody"),
    ]);
    assert_eq!(accounts.len(), 3, "one per domain, the last supplied wins");
    assert_eq!(
        rejected.len(),
        1,
        "a bare public suffix is refused, not dropped silently"
    );
    // (address, email domain, company domain, free mail, role account, account name)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        bool,
        bool,
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        (
            "maria@acme.com",
            Some("acme.com"),
            Some("acme.com"),
            false,
            false,
            Some("Acme Corp"),
        ),
        (
            "maria@eu.acme.com",
            Some("acme.com"),
            Some("acme.com"),
            false,
            false,
            Some("Acme Corp"),
        ),
        (
            "info@globex.co.uk",
            Some("globex.co.uk"),
            Some("globex.co.uk"),
            false,
            true,
            Some("Globex"),
        ),
        (
            "jo@Sales.Initech.DE",
            Some("initech.de"),
            Some("initech.de"),
            false,
            false,
            Some("Initech"),
        ),
        (
            "maria@gmail.com",
            Some("gmail.com"),
            None,
            true,
            false,
            None,
        ),
        (
            "sam@yahoo.co.uk",
            Some("yahoo.co.uk"),
            None,
            true,
            false,
            None,
        ),
        (
            "sales@hooli.com",
            Some("hooli.com"),
            Some("hooli.com"),
            false,
            true,
            None,
        ),
        ("maria@localhost", None, None, false, false, None),
        ("not an address", None, None, false, false, None),
    ];
    for (address, email_domain, company_domain, free, role, name) in cases {
        let e = enrich(address, &accounts, &EmailRules::default());
        assert_eq!(e.email_domain.as_deref(), *email_domain, "{address}");
        assert_eq!(e.company_domain.as_deref(), *company_domain, "{address}");
        assert_eq!(
            (e.flags.free_mail, e.flags.role_account),
            (*free, *role),
            "{address}"
        );
        assert_eq!(e.account.map(|a| a.name.as_str()), *name, "{address}");
    }
    assert_eq!(
        enrich("maria@acme.com", &accounts, &EmailRules::default())
            .account
            .unwrap()
            .owner
            .as_deref(),
        Some("sam")
    );
}
