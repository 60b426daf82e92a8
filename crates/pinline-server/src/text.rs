//! The one rule for text coming in: which characters pinline refuses, in bodies, path segments
//! and query values alike, before anything reaches the database.
//!
//! Refused everywhere: NUL, the other C0 controls, DEL and the C1 controls. A NUL cannot be
//! stored in PostgreSQL text at all, and the other controls are terminal and display commands
//! (`ESC [ 2J`, `BEL`, …) that no title or id needs. Newline, carriage return and tab are
//! refused too, except in the fields documented as multi-line ([`MultiLine`]).
//!
//! Bidirectional text and zero-width characters: the explicit embedding, override and isolate
//! controls (U+202A–U+202E, U+2066–U+2069) are refused, because an unbalanced one reorders
//! whatever is displayed after the field (the next column of a table, the rest of a terminal
//! line) and can make text read differently from what it is. The implicit marks (U+200E LRM,
//! U+200F RLM, U+061C ALM) and the zero-width characters (U+200B, U+200C ZWNJ, U+200D ZWJ,
//! U+2060, U+FEFF) are accepted and stored as sent: real text in Arabic, Hebrew, Persian and
//! Indic scripts and emoji sequences need them, and they reorder or hide nothing beyond
//! themselves.

use serde::{Deserialize, Deserializer};

/// Whether a field may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Ids, names, URLs, titles, query values: no newline, carriage return or tab.
    One,
    /// Fields documented as multi-line (descriptions): newline, carriage return and tab allowed.
    Many,
}

/// A character that text coming in may not contain, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedChar {
    /// The character.
    pub character: char,
    /// Its position in the text, counting characters from 1.
    pub position: usize,
    /// What kind of character it is, for the message.
    pub kind: &'static str,
}

impl RefusedChar {
    /// The refusal as a message about `field`.
    pub fn message(&self, field: &str) -> String {
        format!(
            "{field} contains {} (U+{:04X}) at character {}; remove it",
            self.kind, self.character as u32, self.position
        )
    }
}

/// What kind of refused character `c` is, if it is refused.
pub fn refused_kind(c: char, lines: Lines) -> Option<&'static str> {
    match c {
        '\0' => Some("a NUL character"),
        '\t' | '\n' | '\r' if lines == Lines::Many => None,
        '\t' | '\n' | '\r' => Some("a line break or tab, which this field does not allow"),
        '\u{1}'..='\u{1f}' | '\u{7f}' => Some("a control character"),
        '\u{80}'..='\u{9f}' => Some("a C1 control character"),
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            Some("a bidirectional embedding, override or isolate control")
        }
        _ => None,
    }
}

/// The first character of `text` that the rule refuses.
pub fn first_refused(text: &str, lines: Lines) -> Option<RefusedChar> {
    text.chars().enumerate().find_map(|(index, character)| {
        refused_kind(character, lines).map(|kind| RefusedChar {
            character,
            position: index + 1,
            kind,
        })
    })
}

/// Marks a body field as multi-line: the strict JSON edge (`crate::body`) lets newline, carriage
/// return and tab through for it, and nothing else the rule refuses.
/// In the OpenAPI document it is a string (`#[schema(value_type = String)]` on the field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultiLine(pub String);

/// The newtype name the strict JSON edge recognises; any other deserializer sees a plain string.
pub const MULTI_LINE: &str = "pinline::MultiLine";

impl<'de> Deserialize<'de> for MultiLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MultiLine, D::Error> {
        struct Inner;
        impl<'de> serde::de::Visitor<'de> for Inner {
            type Value = MultiLine;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<MultiLine, D::Error> {
                String::deserialize(deserializer).map(MultiLine)
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<MultiLine, E> {
                Ok(MultiLine(value.to_owned()))
            }
        }
        deserializer.deserialize_newtype_struct(MULTI_LINE, Inner)
    }
}

impl MultiLine {
    /// The text.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_refused_and_ordinary_text_is_not() {
        for text in [
            "a\0b",
            "\u{1b}[2J",
            "bell\u{7}",
            "del\u{7f}",
            "c1\u{85}",
            "\u{202e}abc",
        ] {
            assert!(first_refused(text, Lines::Many).is_some(), "{text:?}");
        }
        for text in [
            "Lemon tart",
            "Tarte au citron – 12 €",
            "שלום\u{200f} world",
            "👩\u{200d}🍳 cooking",
            "نان\u{200c}ها",
        ] {
            assert_eq!(first_refused(text, Lines::One), None, "{text:?}");
        }
    }

    #[test]
    fn line_breaks_only_where_the_field_allows_them() {
        assert_eq!(first_refused("one\ntwo\tthree\r\n", Lines::Many), None);
        let refused = first_refused("one\ntwo", Lines::One).expect("refused");
        assert_eq!((refused.character, refused.position), ('\n', 4));
        assert_eq!(
            refused.message("title"),
            "title contains a line break or tab, which this field does not allow (U+000A) at character 4; remove it"
        );
    }

    proptest::proptest! {
        #[test]
        fn nothing_refused_is_a_printable_character(text in "\\PC*") {
            // `\PC` is every character outside Unicode's "other" categories (controls, format
            // characters, …): none of those is refused but the bidi controls, which are format.
            proptest::prop_assert_eq!(first_refused(&text, Lines::One), None);
        }
    }
}
