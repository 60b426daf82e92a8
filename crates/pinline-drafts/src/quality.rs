//! What makes a draft one a marketer would publish, as rules a program can check.
//!
//! The same rules serve three purposes: the built-in copy avoids what they forbid, a chat
//! model's answer is used only when it passes [`check_copies`], and the scorer
//! (`pinline bench drafts`, see `docs/DRAFTS.md`) grades drafts with them.
//!
//! - **Filler**: none of [`BANNED_PHRASES`] (calls to action and stock phrases that say nothing
//!   about the idea), compared case-insensitively.
//! - **Variety**: the [`word_overlap`] of any two descriptions is under [`MAX_OVERLAP`].
//! - **Alt text**: not empty, not a placeholder ([`generic_alt`]), and its own per variant.
//! - **Language**: the copy reads as the page's language ([`reads_as`]).

use std::collections::HashSet;

use crate::language::{Language, detect_text};
use crate::metadata::is_wide;
use crate::text::{ALT_TEXT_MAX_CHARS, DESCRIPTION_MAX_CHARS, PinCopy, TITLE_MAX_CHARS};

/// The highest word overlap two descriptions of one idea may have.
pub const MAX_OVERLAP: f64 = 0.7;

/// Phrases that fill space without saying anything about the idea, lowercase.
pub const BANNED_PHRASES: &[&str] = &[
    // English
    "save it for",
    "save for later",
    "pin it now",
    "pin it for later",
    "tap to",
    "click here",
    "click to",
    "check it out",
    "here is what to know",
    "here's what to know",
    "looking for fresh inspiration",
    "looking for something good",
    "still searching for the right pick",
    "want the short version",
    "what you will find",
    "ideas to save",
    "ideas for:",
    "image for",
    "you won't believe",
    "must-see",
    "must-try",
    "game changer",
    "read the whole story",
    "read more",
    "learn more",
    "next cooking day",
    "don't miss",
    "link in bio",
    // French
    "cliquez ici",
    "à découvrir absolument",
    "épinglez",
    "en savoir plus",
    "lire la suite",
    // German
    "hier klicken",
    "jetzt entdecken",
    "mehr erfahren",
    "weiterlesen",
    "jetzt merken",
    // Spanish, Portuguese, Italian, Dutch
    "haz clic",
    "leer más",
    "clique aqui",
    "saiba mais",
    "leia mais",
    "clicca qui",
    "scopri di più",
    "klik hier",
    "lees meer",
];

/// The first banned phrase in `text`, if any.
pub fn filler_in(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    BANNED_PHRASES
        .iter()
        .copied()
        .find(|phrase| lower.contains(phrase))
}

/// The words of `text`, lowercased: runs of letters and digits, and for scripts written
/// without spaces (Chinese, Japanese, Thai) every pair of neighbouring characters.
pub fn word_set(text: &str) -> HashSet<String> {
    let mut words = HashSet::new();
    let mut current = String::new();
    let mut previous_wide: Option<char> = None;
    for c in text.chars().flat_map(char::to_lowercase) {
        if is_wide(c) {
            if !current.is_empty() {
                words.insert(std::mem::take(&mut current));
            }
            if let Some(previous) = previous_wide {
                words.insert(format!("{previous}{c}"));
            }
            previous_wide = Some(c);
            continue;
        }
        previous_wide = None;
        if c.is_alphanumeric() {
            current.push(c);
        } else if !current.is_empty() {
            words.insert(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.insert(current);
    }
    words
}

/// Jaccard similarity of the two texts' [`word_set`]s: shared words over all words, from 0
/// (nothing shared) to 1 (the same words). Two empty texts overlap fully.
pub fn word_overlap(a: &str, b: &str) -> f64 {
    let a = word_set(a);
    let b = word_set(b);
    let union = a.union(&b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

/// Placeholder alt text: empty, an "image for …" label, or one word of Latin script.
pub fn generic_alt(alt: &str) -> bool {
    let lower = alt.trim().to_lowercase();
    let placeholders = [
        "image for",
        "image of the article",
        "pin image",
        "bild für",
        "image pour",
        "imagen para",
        "imagem para",
        "immagine per",
        "afbeelding voor",
    ];
    let wide = lower.chars().filter(|c| is_wide(*c)).count();
    lower.is_empty()
        || placeholders.iter().any(|p| lower.starts_with(p))
        || (wide < 2 && lower.split_whitespace().count() < 2)
}

/// Whether `text` reads as `language`: `whatlang` agrees, or is not sure and the text is
/// short (a name and a number read as any language).
pub fn reads_as(text: &str, language: &Language) -> bool {
    if detect_text(text).is_some_and(|(detected, _)| detected.code == language.code) {
        return true;
    }
    // Names (capitalised words) read as any language; what is left is what tells.
    let cased = text.chars().any(|c| c.is_uppercase());
    let telling: String = if cased {
        text.split_whitespace()
            .filter(|word| !word.chars().next().is_some_and(char::is_uppercase))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text.to_owned()
    };
    let wide = telling.chars().filter(|c| is_wide(*c)).count();
    if telling.split_whitespace().count() < 4 && wide < 4 {
        return true;
    }
    let text = telling.as_str();
    match detect_text(text) {
        Some((detected, reliable)) => {
            detected.code == language.code || (!reliable && text.chars().count() < 80)
        }
        None => true,
    }
}

/// Checks copy against the rules: Pinterest's limits, the language, no filler, real alt text,
/// and variety between descriptions. The first broken rule is named.
pub fn check_copies(copies: &[PinCopy], language: &Language) -> Result<(), String> {
    for (index, copy) in copies.iter().enumerate() {
        let number = index + 1;
        if copy.title.trim().is_empty() || copy.description.trim().is_empty() {
            return Err(format!("draft {number} has an empty title or description"));
        }
        if copy.title.chars().count() > TITLE_MAX_CHARS
            || copy.description.chars().count() > DESCRIPTION_MAX_CHARS
            || copy.alt_text.chars().count() > ALT_TEXT_MAX_CHARS
        {
            return Err(format!("draft {number} is over Pinterest's limits"));
        }
        for (field, text) in [
            ("title", &copy.title),
            ("description", &copy.description),
            ("alt text", &copy.alt_text),
        ] {
            if let Some(phrase) = filler_in(text) {
                return Err(format!(
                    "draft {number}'s {field} has filler (\"{phrase}\")"
                ));
            }
        }
        if generic_alt(&copy.alt_text) {
            return Err(format!(
                "draft {number}'s alt text says nothing about the picture"
            ));
        }
        let whole = format!("{} {}", copy.title, copy.description);
        if !reads_as(&whole, language) {
            return Err(format!(
                "draft {number} is not written in {}",
                language.english_name()
            ));
        }
    }
    for (i, a) in copies.iter().enumerate() {
        for (j, b) in copies.iter().enumerate().skip(i + 1) {
            // Each variant shows its own crop, so each has its own alt text.
            if a.alt_text.trim() == b.alt_text.trim() {
                return Err(format!(
                    "drafts {} and {} have the same alt text",
                    i + 1,
                    j + 1
                ));
            }
            let overlap = word_overlap(&a.description, &b.description);
            if overlap >= MAX_OVERLAP {
                return Err(format!(
                    "drafts {} and {} say nearly the same (word overlap {overlap:.2})",
                    i + 1,
                    j + 1
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_jaccard_on_lowercased_words() {
        assert!((word_overlap("A b c", "a B d") - 0.5).abs() < 1e-9);
        assert!((word_overlap("same words", "Same, words!") - 1.0).abs() < 1e-9);
        assert!(word_overlap("温泉たまご", "温泉卵") > 0.0);
    }

    #[test]
    fn filler_and_placeholders_are_found() {
        assert_eq!(filler_in("Great. Tap to see more on X."), Some("tap to"));
        assert_eq!(filler_in("Ratatouille with aubergine."), None);
        assert!(generic_alt("Image for the article “Goats”"));
        assert!(generic_alt("  "));
        assert!(!generic_alt("Photo of ratatouille"));
        assert!(!generic_alt("温泉たまごの写真"));
    }
}
