//! One check for a pin's text fields, shared by every way a post comes in (the API's create,
//! batch and edit, the CSV import, a draft's publish): trimmed, empty meaning absent, within
//! Pinterest's limits from [`facts::pin_limits`](crate::facts::pin_limits), links http(s).

use crate::facts::pin_limits;

/// A pin's text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinText {
    Title,
    Description,
    AltText,
    Link,
}

/// Why a field was refused: its name and what to do, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The field's name in the API (`title`, `link`, …).
    pub field: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl PinText {
    /// Every text field, in the order forms show them.
    pub const ALL: [PinText; 4] = [
        PinText::Title,
        PinText::Description,
        PinText::AltText,
        PinText::Link,
    ];

    /// The field's name in the API and in CSV headers.
    pub fn field(self) -> &'static str {
        match self {
            PinText::Title => "title",
            PinText::Description => "description",
            PinText::AltText => "alt_text",
            PinText::Link => "link",
        }
    }

    /// Pinterest's limit, in characters.
    pub fn max_chars(self) -> usize {
        match self {
            PinText::Title => pin_limits::TITLE_MAX,
            PinText::Description => pin_limits::DESCRIPTION_MAX,
            PinText::AltText => pin_limits::ALT_TEXT_MAX,
            PinText::Link => pin_limits::LINK_MAX,
        }
    }

    /// The value as it is stored: trimmed, `None` when empty; refused when too long, or for a
    /// link, when it is not an http(s) URL.
    pub fn check(self, value: Option<&str>) -> Result<Option<String>, FieldError> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let field = self.field();
        let (length, max) = (value.chars().count(), self.max_chars());
        if length > max {
            return Err(FieldError {
                field,
                message: format!(
                    "{field} is {length} characters; Pinterest allows at most {max}: shorten it"
                ),
            });
        }
        if self == PinText::Link && !is_http_url(value) {
            return Err(FieldError {
                field,
                message: format!("{field} must be an http(s) URL"),
            });
        }
        Ok(Some(value.to_owned()))
    }
}

/// Whether `value` is an `http://` or `https://` URL with something after the scheme.
pub fn is_http_url(value: &str) -> bool {
    ["https://", "http://"]
        .iter()
        .any(|scheme| value.len() > scheme.len() && value.starts_with(scheme))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_empty_is_absent_and_limits_come_from_the_facts() {
        assert_eq!(
            PinText::Title.check(Some("  Tart ")),
            Ok(Some("Tart".into()))
        );
        assert_eq!(PinText::Title.check(Some("   ")), Ok(None));
        assert_eq!(PinText::Title.check(None), Ok(None));
        let at_limit = "é".repeat(pin_limits::TITLE_MAX);
        assert!(PinText::Title.check(Some(&at_limit)).is_ok());
        let over = PinText::Title
            .check(Some(&format!("{at_limit}é")))
            .expect_err("over");
        assert_eq!(over.field, "title");
        assert!(over.message.contains("at most 100"), "{}", over.message);
    }

    #[test]
    fn links_are_http_or_https() {
        assert!(PinText::Link.check(Some("https://shop.invalid/a")).is_ok());
        assert!(PinText::Link.check(Some("http://shop.invalid")).is_ok());
        for bad in [
            "ftp://shop.invalid/",
            "javascript:alert(1)",
            "https://",
            "shop.invalid",
        ] {
            let error = PinText::Link.check(Some(bad)).expect_err(bad);
            assert_eq!(error.field, "link");
        }
    }
}
