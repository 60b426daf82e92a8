//! Text from the API made safe to print on a terminal.
//!
//! Titles, descriptions, account names and error messages come from apps, from Pinterest and
//! from web pages. Printed raw, a title like `ESC ] 0 ; … BEL ESC [ 2J` retitles and clears the
//! operator's terminal, and a bidi override makes the rest of a line read backwards. Every
//! string the CLI prints from the API goes through [`clean`] (tables) or [`json`] (`--json`):
//! controls and bidi controls are shown as escapes (`\u{1b}`), everything else as it is.

use std::borrow::Cow;

use serde_json::Value;

/// Whether `c` must not reach the terminal as itself.
fn is_unsafe(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control and bidi control replaced by a visible escape.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A copy of `value` with every string (keys included) [`clean`]ed, for tables.
pub fn clean_value(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(clean(text).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(clean_value).collect()),
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| (clean(key).into_owned(), clean_value(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `value` as pretty JSON that is safe to print: serde_json escapes C0 controls already; DEL,
/// C1 and bidi controls (which it writes raw) become `\uXXXX` escapes too, so the output is
/// still the same JSON document.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    if !text.chars().any(is_unsafe_in_json) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe_in_json(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Unsafe characters that can only be inside a JSON string (pretty JSON's own newlines and
/// indentation are not).
fn is_unsafe_in_json(c: char) -> bool {
    is_unsafe(c) && c != '\n'
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn controls_are_escaped_and_text_is_kept() {
        assert_eq!(clean("Lemon tart – 12 €"), "Lemon tart – 12 €");
        assert_eq!(
            clean("\u{1b}]0;owned\u{7}\u{1b}[2J"),
            "\\u{1b}]0;owned\\u{7}\\u{1b}[2J"
        );
        assert_eq!(
            clean("a\nb\u{7f}\u{9b}\u{202e}"),
            "a\\nb\\u{7f}\\u{9b}\\u{202e}"
        );
        assert_eq!(clean("👩\u{200d}🍳"), "👩\u{200d}🍳");
    }

    #[test]
    fn json_output_stays_json_without_raw_controls() {
        let value = json!({"title": "\u{1b}[2J\u{9b}31m\u{202e}x", "n": 1});
        let text = json(&value);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
        assert!(!text.contains('\u{202e}'), "{text}");
        let back: Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, value);
    }
}
