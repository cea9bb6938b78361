//! The wrangler secrets a configuration names, and what each is for, so that the Worker's health
//! can say which of them are missing before a notification or a CRM call fails for want of one.

use crate::bundle::Rules;

/// One secret the configuration names: its name and the setting that names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Named {
    pub name: String,
    /// Where the configuration names it, e.g. `notify.channels[sales].url_secret`.
    pub named_by: String,
}

/// Every secret `rules` names, in the order of the configuration, each once per setting.
pub fn named(rules: &Rules) -> Vec<Named> {
    let mut out = Vec::new();
    let mut add = |name: &str, named_by: String| {
        if !name.is_empty() {
            out.push(Named {
                name: name.to_owned(),
                named_by,
            });
        }
    };
    for channel in &rules.notify.channels {
        add(
            &channel.url_secret,
            format!("notify.channels[{}].url_secret", channel.id),
        );
        add(
            &channel.secret,
            format!("notify.channels[{}].secret", channel.id),
        );
    }
    if let Some(slack) = &rules.notify.slack {
        add(&slack.bot_token, "notify.slack.bot_token".to_owned());
        add(
            &slack.signing_secret,
            "notify.slack.signing_secret".to_owned(),
        );
    }
    if let Some(email) = &rules.notify.email {
        add(&email.api_key, "notify.email.api_key".to_owned());
    }
    for push in &rules.crm.push {
        let s = &push.secrets;
        for (field, name) in [
            ("token", &s.token),
            ("instance_url", &s.instance_url),
            ("client_id", &s.client_id),
            ("client_secret", &s.client_secret),
        ] {
            if let Some(name) = name {
                add(name, format!("crm.push[{}].secrets.{field}", push.id));
            }
        }
    }
    for intake in &rules.crm.intakes {
        add(&intake.secret, format!("crm.intakes[{}].secret", intake.id));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bundle;

    #[test]
    fn every_setting_that_names_a_secret_is_listed() {
        let text = include_str!("../../../tests/fixtures/crm.toml");
        let bundle = Bundle::from_toml(text).expect("the CRM fixture compiles");
        let named: Vec<(String, String)> = named(&bundle.rules)
            .into_iter()
            .map(|n| (n.name, n.named_by))
            .collect();
        for expected in [
            ("HUBSPOT_TOKEN", "crm.push[hubspot].secrets.token"),
            (
                "SALESFORCE_CLIENT_SECRET",
                "crm.push[salesforce].secrets.client_secret",
            ),
            ("HUBSPOT_CLIENT_SECRET", "crm.intakes[hubspot-back].secret"),
        ] {
            let expected = (expected.0.to_owned(), expected.1.to_owned());
            assert!(named.contains(&expected), "{expected:?} in {named:?}");
        }
    }
}
