//! Pin copy: titles, descriptions, alt texts, keywords and the link, within Pinterest's limits.
//!
//! A [`Generator`] turns page metadata and the person's own hints into `count` pieces of
//! [`PinCopy`] that differ from each other. [`RuleGenerator`] is built in and needs nothing: it
//! writes in the page's language from what the page says (ingredients, cooking time, price,
//! brand, author, venue), each variant from its own angle.
//! [`ChatGenerator`] asks an OpenAI-compatible chat endpoint and falls back to the rules on any
//! failure, recording that it did.
//!
//! Whatever a generator writes, [`finish_copy`] is the last step: it tidies whitespace and cuts
//! every field to its limit at a word boundary ([`cut_at_word_boundary`]), counting characters,
//! not bytes, so a title in Japanese or with emoji is cut as safely as one in English.

mod chat;
pub(crate) mod rules;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use url::Url;

pub use chat::{ChatGenerator, ChatSettings};

use pinline_pinterest::facts::pin_limits;

use crate::DraftError;
use crate::metadata::{PageMetadata, StructuredData};

/// Pinterest's limit on a pin title, in characters (from the fact tables, like every intake's).
pub const TITLE_MAX_CHARS: usize = pin_limits::TITLE_MAX;
/// Pinterest's limit on a pin description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = pin_limits::DESCRIPTION_MAX;
/// Pinterest's limit on a pin's alt text, in characters.
pub const ALT_TEXT_MAX_CHARS: usize = pin_limits::ALT_TEXT_MAX;
/// Pinterest's limit on a pin's link, in characters.
pub const LINK_MAX_CHARS: usize = pin_limits::LINK_MAX;
/// How many keywords a piece of copy carries at most.
pub const MAX_KEYWORDS: usize = 10;

/// What the person said about the idea, beside what the page says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hints {
    /// A title the person chose; it wins over the page's.
    pub title: Option<String>,
    /// A line of text describing the idea.
    pub text: Option<String>,
}

/// Which generator wrote a piece of copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeneratorUsed {
    /// The built-in templates.
    Rules,
    /// A chat model.
    Chat {
        /// The model's name as configured.
        model: String,
    },
    /// The built-in templates, because the chat model failed.
    RulesAfterChatFailed {
        /// Why the chat model's answer was not used (never contains the API key).
        reason: String,
    },
}

/// One piece of pin copy, already within Pinterest's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinCopy {
    /// At most [`TITLE_MAX_CHARS`] characters.
    pub title: String,
    /// At most [`DESCRIPTION_MAX_CHARS`] characters.
    pub description: String,
    /// At most [`ALT_TEXT_MAX_CHARS`] characters.
    pub alt_text: String,
    /// At most [`MAX_KEYWORDS`] keywords, most relevant first.
    pub keywords: Vec<String>,
    /// The link the pin points to, if the idea has one (at most [`LINK_MAX_CHARS`]).
    pub link: Option<Url>,
    /// Who wrote it.
    pub generator: GeneratorUsed,
}

/// The future a [`Generator`] returns; boxed so that generators work behind `dyn`.
pub type GenerateFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<PinCopy>, DraftError>> + Send + 'a>>;

/// Writes pin copy. Implementations must return exactly `count` pieces that differ from each
/// other, each within the limits (pass them through [`finish_copy`]).
pub trait Generator: Send + Sync + std::fmt::Debug {
    /// Writes `count` pieces of copy for one idea.
    fn generate<'a>(
        &'a self,
        meta: &'a PageMetadata,
        hints: &'a Hints,
        count: usize,
    ) -> GenerateFuture<'a>;
}

/// Cuts `text` to at most `max_chars` characters at a word boundary.
///
/// Text within the limit comes back unchanged. Longer text is cut at the last whitespace that
/// leaves room for a trailing `…`, trailing whitespace and dangling punctuation (`,;:-–—`) are
/// dropped, and the ellipsis is added. A word is split only when no word boundary leaves any
/// text (one enormous word); characters, not bytes, are counted, so multi-byte text is never
/// cut inside a character.
pub fn cut_at_word_boundary(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    if max_chars == 0 {
        return String::new();
    }
    let budget = max_chars - 1; // one character for the ellipsis
    let end = text
        .char_indices()
        .nth(budget)
        .map_or(text.len(), |(index, _)| index);
    let head = &text[..end];
    let next_is_space = text[end..].chars().next().is_some_and(char::is_whitespace);
    let trim = |s: &'_ str| -> usize {
        s.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c))
            .len()
    };
    let at_boundary = if next_is_space {
        head
    } else {
        match head.rfind(char::is_whitespace) {
            Some(index) => &head[..index],
            None => "",
        }
    };
    let mut kept = &at_boundary[..trim(at_boundary)];
    if kept.trim_start().is_empty() {
        // No word boundary leaves any text: split the one long word rather than return nothing.
        kept = &head[..trim(head)];
    }
    if kept.is_empty() {
        return String::new();
    }
    format!("{kept}…")
}

/// Collapses runs of spaces inside each line, keeps at most one empty line between
/// paragraphs, and trims the ends.
pub fn tidy_text(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut blank = false;
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank = !lines.is_empty();
            continue;
        }
        if blank {
            lines.push(String::new());
            blank = false;
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// Turns raw generator output into copy within every limit.
pub fn finish_copy(
    title: &str,
    description: &str,
    alt_text: &str,
    keywords: Vec<String>,
    link: Option<&Url>,
    generator: GeneratorUsed,
) -> PinCopy {
    let single_line = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut seen: Vec<String> = Vec::new();
    let keywords = keywords
        .into_iter()
        .filter_map(|keyword| {
            let keyword = cut_at_word_boundary(&single_line(&keyword), 50);
            let key = keyword.to_lowercase();
            (!keyword.is_empty() && !seen.contains(&key)).then(|| {
                seen.push(key);
                keyword
            })
        })
        .take(MAX_KEYWORDS)
        .collect();
    PinCopy {
        title: cut_at_word_boundary(&single_line(title), TITLE_MAX_CHARS),
        description: cut_at_word_boundary(&tidy_text(description), DESCRIPTION_MAX_CHARS),
        alt_text: cut_at_word_boundary(&single_line(alt_text), ALT_TEXT_MAX_CHARS),
        keywords,
        link: pin_link(link),
        generator,
    }
}

/// The link a pin may carry: http(s) and within [`LINK_MAX_CHARS`], else none.
pub fn pin_link(link: Option<&Url>) -> Option<Url> {
    link.filter(|url| {
        matches!(url.scheme(), "http" | "https") && url.as_str().chars().count() <= LINK_MAX_CHARS
    })
    .cloned()
}

const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "because",
    "been", "before", "best", "but", "by", "can", "could", "did", "do", "does", "each", "easy",
    "every", "for", "from", "get", "had", "has", "have", "her", "here", "his", "how", "into", "is",
    "it", "its", "just", "like", "make", "more", "most", "much", "new", "not", "now", "of", "on",
    "one", "only", "or", "our", "out", "over", "per", "read", "so", "some", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too",
    "under", "up", "use", "very", "was", "way", "we", "were", "what", "when", "where", "which",
    "while", "who", "why", "will", "with", "without", "you", "your", "yours",
];

/// Keywords for an idea: those the page declares (JSON-LD, then `<meta name=keywords>`), then
/// the most frequent words of the title, the descriptions (the page's and its main entity's)
/// and the person's text, stopwords and short words left out; case-insensitively unique, at
/// most `max`.
pub fn extract_keywords(meta: &PageMetadata, hints: &Hints, max: usize) -> Vec<String> {
    let mut keywords: Vec<String> = Vec::new();
    let push = |keyword: &str, keywords: &mut Vec<String>| {
        let keyword = keyword.trim();
        let lower = keyword.to_lowercase();
        if !keyword.is_empty()
            && keywords.len() < max
            && !keywords.iter().any(|k| k.to_lowercase() == lower)
        {
            keywords.push(keyword.to_owned());
        }
    };
    for keyword in meta.declared_keywords() {
        push(&keyword, &mut keywords);
    }
    // Every description the page gives, once each: a shop's OpenGraph description may only
    // repeat the title while its meta description lists what the thing is.
    let mut corpus: Vec<&str> = Vec::new();
    for text in [
        hints.title.as_deref(),
        meta.best_title(),
        hints.text.as_deref(),
        meta.best_description(),
        meta.main_entity().and_then(StructuredData::description),
        meta.open_graph.description.as_deref(),
        meta.twitter.description.as_deref(),
        meta.meta_description.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if !corpus.contains(&text) {
            corpus.push(text);
        }
    }
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    let mut order = 0;
    for text in corpus {
        for word in text.split(|c: char| !c.is_alphanumeric() && c != '\'') {
            let word = word.trim_matches('\'').to_lowercase();
            if word.chars().count() < 3
                || word.chars().all(|c| c.is_ascii_digit())
                || STOPWORDS.contains(&word.as_str())
            {
                continue;
            }
            let entry = counts.entry(word).or_insert((0, order));
            entry.0 += 1;
            order += 1;
        }
    }
    let mut frequent: Vec<(String, (usize, usize))> = counts.into_iter().collect();
    frequent.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
    for (word, _) in frequent {
        push(&word, &mut keywords);
    }
    keywords
}

/// The built-in generator: templates over the page's facts in the page's language, one angle
/// per variant (see [`rules`](self) for the angles).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleGenerator;

impl Generator for RuleGenerator {
    fn generate<'a>(
        &'a self,
        meta: &'a PageMetadata,
        hints: &'a Hints,
        count: usize,
    ) -> GenerateFuture<'a> {
        let copies = self.write(meta, hints, count, GeneratorUsed::Rules);
        Box::pin(std::future::ready(Ok(copies)))
    }
}

impl RuleGenerator {
    /// Writes `count` pieces of copy synchronously, each labelled with `generator`.
    pub fn write(
        &self,
        meta: &PageMetadata,
        hints: &Hints,
        count: usize,
        generator: GeneratorUsed,
    ) -> Vec<PinCopy> {
        rules::write(meta, hints, count, generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(cut_at_word_boundary("Lemon tart", 100), "Lemon tart");
        assert_eq!(cut_at_word_boundary("", 10), "");
    }

    #[test]
    fn cuts_at_the_last_word_that_fits() {
        assert_eq!(
            cut_at_word_boundary("The quick brown fox", 12),
            "The quick…"
        );
        assert_eq!(
            cut_at_word_boundary("The quick brown fox", 10),
            "The quick…"
        );
        assert_eq!(cut_at_word_boundary("The quick brown fox", 9), "The…");
        assert_eq!(cut_at_word_boundary("Salt, pepper and oil", 8), "Salt…");
    }

    #[test]
    fn counts_characters_not_bytes() {
        let text = "日本の 家庭料理 レシピ集 とても おいしい";
        let cut = cut_at_word_boundary(text, 10);
        assert!(cut.chars().count() <= 10);
        assert_eq!(cut, "日本の 家庭料理…");
        let emoji = "🍋🍋🍋 🍰🍰🍰 🍓🍓🍓";
        assert_eq!(cut_at_word_boundary(emoji, 9), "🍋🍋🍋 🍰🍰🍰…");
    }

    #[test]
    fn a_single_long_word_is_split_only_because_nothing_else_fits() {
        assert_eq!(cut_at_word_boundary("Supercalifragilistic", 6), "Super…");
        assert_eq!(cut_at_word_boundary("Supercalifragilistic", 1), "");
        assert_eq!(cut_at_word_boundary("Supercalifragilistic", 0), "");
    }

    #[test]
    fn tidy_keeps_paragraphs_and_collapses_spaces() {
        assert_eq!(tidy_text("  a   b \n\n\n  c\t d  "), "a b\n\nc d");
    }

    #[test]
    fn keywords_prefer_declared_then_frequent_words() {
        let meta = PageMetadata {
            html_title: Some("Lemon tart with lemon curd".to_owned()),
            meta_description: Some("A lemon tart that is tangy and bright.".to_owned()),
            meta_keywords: vec!["Dessert".to_owned(), "baking".to_owned()],
            ..PageMetadata::default()
        };
        let keywords = extract_keywords(&meta, &Hints::default(), 5);
        assert_eq!(keywords, ["Dessert", "baking", "lemon", "tart", "curd"]);
    }

    fn words() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                "[a-zA-Z]{1,12}",
                "[éøßñ日本語🍋]{1,6}",
                Just(",".to_owned()),
                Just(" ".to_owned()),
                Just("  ".to_owned()),
                Just("\n".to_owned()),
                Just("—".to_owned()),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn cut_respects_the_limit_and_word_boundaries(text in words(), limit in 0usize..120) {
            let cut = cut_at_word_boundary(&text, limit);
            prop_assert!(cut.chars().count() <= limit);
            if text.chars().count() <= limit {
                prop_assert_eq!(&cut, &text);
                return Ok(());
            }
            let kept = cut.strip_suffix('…').unwrap_or(&cut);
            prop_assert!(text.starts_with(kept), "{kept:?} is not a prefix of {text:?}");
            prop_assert!(kept == kept.trim_end(), "trailing whitespace kept in {kept:?}");
            let next = text[kept.len()..].chars().next();
            let last = kept.chars().last();
            let splits_word = matches!((last, next), (Some(a), Some(b)) if a.is_alphanumeric() && b.is_alphanumeric());
            if splits_word {
                // Splitting a word is allowed only when no earlier word boundary leaves any
                // word: everything before the last space is spaces and punctuation.
                let before_last_space = kept.rfind(char::is_whitespace).map_or("", |i| &kept[..i]);
                prop_assert!(
                    !before_last_space.chars().any(char::is_alphanumeric),
                    "split a word in {kept:?} though a word boundary exists"
                );
            }
        }
    }
}
