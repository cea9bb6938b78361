//! Validation issues: a stable code a program can match on, and a plain message a person can read.
//!
//! The codes are part of the public contract: the form shows them, the Worker returns them in
//! `422` answers and tests name them. Never rename one; add a new one instead.

use serde::{Serialize, Serializer};

/// What is wrong with one value. `as_str` is the stable, documented code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueCode {
    /// A required field was empty or missing. Example: no email on a form that needs one.
    Required,
    /// The value is not an email address: no `@`, an empty side, or characters that are not allowed.
    /// Example: `maria.gmail.com`.
    EmailSyntax,
    /// The address is longer than 254 characters, or its local part longer than 64 (RFC 5321).
    EmailTooLong,
    /// The part after `@` is not a domain name that can receive mail: not a domain at all, or one
    /// whose top-level domain does not exist. Example: `maria@localhost`, `maria@comcast.ten`.
    EmailDomain,
    /// A text answer is longer than the field allows.
    TooLong,
    /// A phone number with characters or a digit count no phone number has. Example: `call me`.
    PhoneSyntax,
    /// A number field whose answer is not a finite number. Example: `about fifty`.
    NotANumber,
    /// A choice that is not one of the field's options. Example: `Enterprise+` for a company size.
    UnknownChoice,
    /// An answer of the wrong shape: a list for a text field, text for a checkbox.
    WrongType,
    /// A country that is neither an ISO 3166-1 code nor a name or alias the data knows, or a name
    /// two countries share. Example: `Germ`, `Congo`.
    CountryUnknown,
    /// A region that is not a US state or territory, nor a Canadian province or territory, of the
    /// country given. Example: `Bavaria` for the US.
    RegionUnknown,
    /// An answer to a field the form does not have. The Worker drops such answers; `handoff
    /// eval`, which reads leads written by hand, reports them, since a misspelt field id would
    /// otherwise go unnoticed. Example: `compnay` for `company`.
    UnknownField,
    /// The domain after `@` has no mail server: DNS names no MX record for it and no address to
    /// deliver to (or it says, with a null MX, that it takes no mail). Only where the
    /// configuration turns the Worker's check on (`[email] check_mail_server`). Example:
    /// `maria@no-mail.example`.
    EmailNoMailServer,
    /// The form shows a consent field, and the submission carries no consent record (the form
    /// always sends one; a client that leaves it out stores nothing).
    ConsentMissing,
    /// The consent record is not the text and version the form shows now, nor those of the
    /// configuration the form was loaded with: the consent text changed since the page was
    /// loaded. Example: a lead sent from a tab left open over a change of the privacy text.
    ConsentMismatch,
}

impl IssueCode {
    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [IssueCode; 15] = [
        IssueCode::Required,
        IssueCode::EmailSyntax,
        IssueCode::EmailTooLong,
        IssueCode::EmailDomain,
        IssueCode::TooLong,
        IssueCode::PhoneSyntax,
        IssueCode::NotANumber,
        IssueCode::UnknownChoice,
        IssueCode::WrongType,
        IssueCode::CountryUnknown,
        IssueCode::RegionUnknown,
        IssueCode::UnknownField,
        IssueCode::EmailNoMailServer,
        IssueCode::ConsentMissing,
        IssueCode::ConsentMismatch,
    ];

    /// The stable machine-readable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            IssueCode::Required => "required",
            IssueCode::EmailSyntax => "email.syntax",
            IssueCode::EmailTooLong => "email.too_long",
            IssueCode::EmailDomain => "email.domain",
            IssueCode::TooLong => "text.too_long",
            IssueCode::PhoneSyntax => "phone.syntax",
            IssueCode::NotANumber => "number.syntax",
            IssueCode::UnknownChoice => "choice.unknown",
            IssueCode::WrongType => "answer.wrong_type",
            IssueCode::CountryUnknown => "country.unknown",
            IssueCode::RegionUnknown => "region.unknown",
            IssueCode::UnknownField => "answer.unknown_field",
            IssueCode::EmailNoMailServer => "email.no_mail_server",
            IssueCode::ConsentMissing => "consent.missing",
            IssueCode::ConsentMismatch => "consent.mismatch",
        }
    }

    /// A plain-language message suitable to show next to the field.
    pub const fn message(self) -> &'static str {
        match self {
            IssueCode::Required => "This field is required.",
            IssueCode::EmailSyntax => "Enter an email address like name@company.com.",
            IssueCode::EmailTooLong => "This email address is too long.",
            IssueCode::EmailDomain => "The part after @ must be a domain like company.com.",
            IssueCode::TooLong => "This answer is too long.",
            IssueCode::PhoneSyntax => "Enter a phone number, like +1 415 555 0100.",
            IssueCode::NotANumber => "Enter a number.",
            IssueCode::UnknownChoice => "Choose one of the options.",
            IssueCode::WrongType => "This answer has the wrong form for this question.",
            IssueCode::CountryUnknown => "Choose or type a country, like Germany or DE.",
            IssueCode::RegionUnknown => "Enter a state or province, like CA or Ontario.",
            IssueCode::UnknownField => "The form has no question with this id.",
            IssueCode::EmailNoMailServer => {
                "This domain does not receive email. Check the part after @."
            }
            IssueCode::ConsentMissing => "Please read and confirm the consent text.",
            IssueCode::ConsentMismatch => {
                "This text has changed since the page was loaded. Please reload the page and \
                 confirm the current text."
            }
        }
    }
}

impl Serialize for IssueCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One problem with one field of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// The field id from the form spec.
    pub field: String,
    pub code: IssueCode,
    pub message: &'static str,
}

impl Issue {
    pub fn new(field: &str, code: IssueCode) -> Issue {
        Issue {
            field: field.to_owned(),
            code,
            message: code.message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IssueCode;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_messages_are_sentences() {
        let mut seen = HashSet::new();
        for code in IssueCode::ALL {
            assert!(
                seen.insert(code.as_str()),
                "duplicate code {}",
                code.as_str()
            );
            assert!(code.message().ends_with('.'), "{:?}", code);
        }
    }
}
