//! The built-in copy: each variant takes its own angle from its own facts, in the page's
//! language.
//!
//! What the page is about decides the angles ([`Kind`]): a recipe's dish and key ingredients,
//! its time and effort, its occasion; a product's identity, its use, its price and material; an
//! article's finding, its people and date, its place and topics; an event's venue and date, its
//! line-up. Each variant gets the facts of its angle, written with the language's [`Phrases`],
//! and its own share of the page's sentences (the entity's description first, then the
//! OpenGraph and meta descriptions, then the main text's paragraphs), so that no two
//! descriptions repeat each other. For a language without phrases, labels and templates are
//! left out and the copy is the page's own words and facts.

use crate::language::{Language, Phrases, detect_language, detect_text};
use crate::metadata::{PageMetadata, StructuredData, is_wide};
use crate::quality::{filler_in, word_overlap};

use super::{
    DESCRIPTION_MAX_CHARS, GeneratorUsed, Hints, MAX_KEYWORDS, PinCopy, TITLE_MAX_CHARS,
    cut_at_word_boundary, extract_keywords, finish_copy,
};

/// What kind of thing the page is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Recipe,
    Product,
    Article,
    Event,
    Work,
    Other,
}

/// Everything the copy is written from, read once.
#[derive(Debug)]
pub(crate) struct Facts {
    kind: Kind,
    pub(crate) language: Language,
    phrases: Option<&'static Phrases>,
    pub(crate) subject: String,
    pub(crate) sentences: Vec<String>,
    pub(crate) ingredients: Vec<String>,
    pub(crate) minutes: Option<u32>,
    prep_minutes: Option<u32>,
    servings: Option<String>,
    pub(crate) category: Option<String>,
    cuisine: Option<String>,
    pub(crate) brand: Option<String>,
    pub(crate) price: Option<(String, Option<String>)>,
    pub(crate) material: Option<String>,
    color: Option<String>,
    pub(crate) author: Option<String>,
    pub(crate) date: Option<String>,
    pub(crate) place: Option<String>,
    pub(crate) venue: Option<String>,
    pub(crate) performers: Vec<String>,
    pub(crate) topics: Vec<String>,
    pub(crate) image_alt: Option<String>,
    keywords: Vec<String>,
}

impl Facts {
    pub(crate) fn read(meta: &PageMetadata, hints: &Hints) -> Facts {
        let entity = meta.main_entity();
        let kind = match entity {
            Some(StructuredData::Recipe(_)) => Kind::Recipe,
            Some(StructuredData::Product(_)) => Kind::Product,
            Some(StructuredData::Article(_)) => Kind::Article,
            Some(StructuredData::Event(_)) => Kind::Event,
            Some(StructuredData::Work(_)) => Kind::Work,
            None => match meta.open_graph.kind.as_deref() {
                Some(kind) if kind.contains("product") => Kind::Product,
                _ if meta.open_graph.price_amount.is_some() => Kind::Product,
                Some("article") => Kind::Article,
                _ => Kind::Other,
            },
        };
        let language = detect_language(meta, hints.text.as_deref());
        let phrases = language.phrases();
        let subject = hints
            .title
            .clone()
            .or_else(|| meta.clean_title())
            .or_else(|| {
                hints
                    .text
                    .as_deref()
                    .map(|text| cut_at_word_boundary(text, 90))
            })
            .unwrap_or_default();
        let subject = cut_at_word_boundary(&subject, TITLE_MAX_CHARS);
        let mut facts = Facts {
            kind,
            language,
            phrases,
            sentences: Vec::new(),
            ingredients: Vec::new(),
            minutes: None,
            prep_minutes: None,
            servings: None,
            category: None,
            cuisine: None,
            brand: meta.open_graph.brand.clone(),
            price: None,
            material: meta.open_graph.material.clone(),
            color: meta.open_graph.color.clone(),
            author: meta.open_graph.author.clone(),
            date: None,
            place: None,
            venue: None,
            performers: Vec::new(),
            topics: Vec::new(),
            image_alt: None,
            keywords: extract_keywords(meta, hints, MAX_KEYWORDS),
            subject,
        };
        let mut published = meta.open_graph.published.clone();
        let mut section = meta.open_graph.section.clone();
        let mut declared_topics: Vec<String> = meta.declared_keywords();
        match entity {
            Some(StructuredData::Recipe(recipe)) => {
                let mut names: Vec<String> = Vec::new();
                for raw in &recipe.ingredients {
                    if let Some(name) = ingredient_name(raw)
                        && !names.iter().any(|n| n.eq_ignore_ascii_case(&name))
                    {
                        names.push(name);
                    }
                }
                facts.ingredients = names;
                facts.minutes = recipe.total_minutes.filter(|m| *m > 0);
                facts.prep_minutes = recipe.prep_minutes.filter(|m| *m > 0);
                facts.servings = recipe.servings.as_deref().and_then(first_number);
                facts.category = recipe.category.clone();
                facts.cuisine = recipe.cuisine.clone();
            }
            Some(StructuredData::Product(product)) => {
                facts.brand = product.brand.clone().or(facts.brand);
                facts.material = product.material.clone().or(facts.material);
                facts.color = product.color.clone().or(facts.color);
                facts.category = product
                    .category
                    .clone()
                    .or(meta.open_graph.category.clone());
                let price = product
                    .price
                    .clone()
                    .map(|p| (p, product.currency.clone()))
                    .or_else(|| {
                        meta.open_graph
                            .price_amount
                            .clone()
                            .map(|p| (p, meta.open_graph.price_currency.clone()))
                    });
                facts.price = price;
            }
            Some(StructuredData::Article(article)) => {
                facts.author = article.author.clone().or(facts.author);
                published = article.published.clone().or(published);
                section = article.section.clone().or(section);
                facts.place = article.place.clone();
            }
            Some(StructuredData::Event(event)) => {
                published = event.start.clone();
                facts.venue = match (&event.venue, &event.locality) {
                    (Some(venue), Some(city)) if !venue.contains(city.as_str()) => {
                        Some(format!("{venue}, {city}"))
                    }
                    (Some(venue), _) => Some(venue.clone()),
                    (None, city) => city.clone(),
                };
                facts.place = event.locality.clone();
                facts.performers = event.performers.clone();
            }
            Some(StructuredData::Work(work)) => {
                facts.author = work.creator.clone();
                facts.category = work.genre.clone();
                published = work.published.clone();
            }
            None => {
                if let Some(amount) = &meta.open_graph.price_amount {
                    facts.price = Some((amount.clone(), meta.open_graph.price_currency.clone()));
                }
                facts.category = meta.open_graph.category.clone();
            }
        }
        if let Some(section) = section {
            declared_topics.insert(0, section);
        }
        facts.author = facts.author.take().map(|author| {
            let lower = author.to_lowercase();
            ["by ", "par ", "von ", "por ", "di ", "door "]
                .iter()
                .find(|prefix| lower.starts_with(*prefix))
                .and_then(|prefix| author.get(prefix.len()..))
                .map_or(author.clone(), |rest| rest.trim().to_owned())
        });
        // A page that names its publisher as its author has no author to tell.
        let sites = meta.site_name_candidates();
        if let Some(author) = &facts.author {
            let author = author.to_lowercase();
            if sites.iter().any(|site| {
                let site = site.to_lowercase();
                site.contains(&author) || author.contains(&site)
            }) {
                facts.author = None;
            }
        }
        facts.date = published
            .as_deref()
            .and_then(|date| phrases.and_then(|p| p.date(date)));
        let subject_lower = facts.subject.to_lowercase();
        // The site's own name and the author are not what the idea is about.
        let not_topics: Vec<String> = meta
            .site_name_candidates()
            .iter()
            .chain(facts.author.iter())
            .map(|name| name.to_lowercase())
            .collect();
        let mut topics: Vec<String> = Vec::new();
        for topic in declared_topics {
            let lower = topic.to_lowercase();
            let names_site_or_author = not_topics.iter().any(|name| {
                (lower.chars().count() >= 4 && name.contains(&lower))
                    || (name.chars().count() >= 4 && lower.contains(name.as_str()))
            });
            if topic.chars().count() <= 40
                && names_a_topic(&topic, &facts.language)
                && !names_site_or_author
                && word_overlap(&topic, &facts.subject) < 0.5
                && !subject_lower.contains(&lower)
                && !topics.iter().any(|t| t.to_lowercase() == lower)
            {
                topics.push(topic);
            }
        }
        topics.truncate(5);
        facts.topics = topics;
        facts.image_alt = meta
            .image_alt()
            .filter(|alt| describes_a_picture(alt, &meta.site_names))
            .map(str::to_owned);
        facts.sentences = page_sentences(meta, hints, &facts.subject, &facts.language);
        facts
    }

    fn price_text(&self) -> Option<String> {
        let (amount, currency) = self.price_parts()?;
        Some(match self.phrases {
            Some(p) => p.price(&amount, currency.as_deref()),
            None => match currency {
                Some(currency) => format!("{amount} {currency}"),
                None => amount,
            },
        })
    }

    fn price_parts(&self) -> Option<(String, Option<String>)> {
        self.price.clone()
    }

    fn time_text(&self, minutes: Option<u32>) -> Option<String> {
        let minutes = minutes?;
        Some(match self.phrases {
            Some(p) => p.minutes(minutes),
            None => format!("{minutes}′"),
        })
    }

    /// `subject` joined with `extra` into a title, or `subject` alone when they do not fit.
    fn title_with(&self, template: Option<&str>, extra: Option<String>) -> String {
        let subject = &self.subject;
        let Some(extra) = extra.filter(|e| !e.is_empty()) else {
            return subject.clone();
        };
        let title = match (self.phrases, template) {
            (Some(p), Some(template)) => p.fill(template, subject, &extra),
            _ => format!("{subject} – {extra}"),
        };
        if title.chars().count() <= TITLE_MAX_CHARS {
            title
        } else {
            subject.clone()
        }
    }

    fn dash(&self, extra: Option<String>) -> String {
        let extra = extra.filter(|e| {
            !self.subject.to_lowercase().contains(&e.to_lowercase()) && self.written_here(e)
        });
        let subject = &self.subject;
        match extra {
            Some(extra) if self.language.is_unspaced() => {
                let title = format!("{subject}｜{extra}");
                if title.chars().count() <= TITLE_MAX_CHARS {
                    title
                } else {
                    subject.clone()
                }
            }
            extra => self.title_with(None, extra),
        }
    }

    fn labelled(
        &self,
        label: impl Fn(&Phrases) -> &'static str,
        value: Option<String>,
    ) -> Option<String> {
        let value = value.filter(|v| !v.is_empty() && self.written_here(v))?;
        Some(match self.phrases {
            Some(p) => p.labelled(label(p), &value),
            None => value,
        })
    }

    fn sentence(
        &self,
        template: impl Fn(&Phrases) -> &'static str,
        value: Option<String>,
    ) -> Option<String> {
        let value = value.filter(|v| !v.is_empty())?;
        Some(match self.phrases {
            Some(p) => p.fill(template(p), &value, ""),
            None => value,
        })
    }

    fn list(&self, items: &[String]) -> Option<String> {
        if items.is_empty() {
            return None;
        }
        Some(match self.phrases {
            Some(p) => p.list(items),
            None => items.join(", "),
        })
    }

    fn photo(&self, what: &str, close: bool) -> String {
        match self.phrases {
            Some(p) => p.fill(if close { p.close_up } else { p.photo_of }, what, ""),
            None => what.to_owned(),
        }
    }

    fn joined(
        &self,
        template: impl Fn(&Phrases) -> &'static str,
        x: &str,
        y: Option<String>,
    ) -> String {
        match (self.phrases, y) {
            (Some(p), Some(y)) => p.fill(template(p), x, &y),
            (None, Some(y)) => format!("{x} – {y}"),
            (_, None) => x.to_owned(),
        }
    }

    /// One variant's title, the facts of its angle, and its alt text.
    fn angle(&self, index: usize) -> (String, Vec<Option<String>>, String) {
        let subject = self.subject.clone();
        let ingredients = |range: std::ops::Range<usize>| -> Vec<String> {
            self.ingredients
                .iter()
                .skip(range.start)
                .take(range.end - range.start)
                .cloned()
                .collect()
        };
        let topics = self.list(&self.topics.iter().take(4).cloned().collect::<Vec<_>>());
        let alt_base = self
            .image_alt
            .clone()
            .unwrap_or_else(|| self.photo(&subject, false));
        match (self.kind, index % 5) {
            (Kind::Recipe, 0) => (
                self.title_with(self.phrases.map(|p| p.with), self.list(&ingredients(0..2))),
                vec![self.sentence(|p| p.made_with, self.list(&ingredients(0..5)))],
                alt_base,
            ),
            (Kind::Recipe, 1) => (
                // A title that already says the time ("Pasta in 20 min", "簡単15分！…")
                // is not given it twice.
                match self
                    .time_text(self.minutes)
                    .filter(|time| !subject.contains(time.as_str()))
                {
                    Some(time) => self.title_with(self.phrases.map(|p| p.in_time), Some(time)),
                    None => self.dash(
                        self.phrases
                            .map(|p| p.fill(p.ingredients, &self.ingredients.len().to_string(), ""))
                            .filter(|_| !self.ingredients.is_empty()),
                    ),
                },
                vec![
                    self.sentence(|p| p.ready_in, self.time_text(self.minutes)),
                    self.labelled(|p| p.prep, self.time_text(self.prep_minutes)),
                    self.phrases
                        .filter(|_| !self.ingredients.is_empty())
                        .map(|p| {
                            format!(
                                "{}{}",
                                p.fill(p.ingredients, &self.ingredients.len().to_string(), ""),
                                p.stop
                            )
                        }),
                    self.labelled(|p| p.serves, self.servings.clone()),
                ],
                self.photo(&subject, true),
            ),
            (Kind::Recipe, 2) => (
                self.dash(
                    self.category
                        .clone()
                        .or(self.cuisine.clone())
                        .or(self.topics.first().cloned()),
                ),
                vec![
                    self.labelled(|p| p.course, self.category.clone()),
                    self.labelled(|p| p.cuisine, self.cuisine.clone()),
                    self.labelled(|p| p.topics, topics),
                ],
                self.photo(
                    &self.joined(|p| p.with, &subject, self.list(&ingredients(0..3))),
                    false,
                ),
            ),
            (Kind::Recipe, 3) => (
                self.title_with(self.phrases.map(|p| p.with), self.list(&ingredients(2..4))),
                vec![self.sentence(|p| p.made_with, self.list(&ingredients(5..10)))],
                self.photo(
                    &self.joined(|p| p.with, &subject, self.list(&ingredients(2..4))),
                    true,
                ),
            ),
            (Kind::Product, 0) => (
                match &self.brand {
                    Some(brand) if !subject.to_lowercase().contains(&brand.to_lowercase()) => {
                        self.title_with(self.phrases.map(|p| p.by), Some(brand.clone()))
                    }
                    _ => subject.clone(),
                },
                vec![self.brand.as_ref().map(|brand| {
                    let by = self.joined(|p| p.by, &subject, Some(brand.clone()));
                    format!("{by}{}", self.phrases.map_or(".", |p| p.stop))
                })],
                alt_base,
            ),
            (Kind::Product, 1) => (
                self.dash(self.category.clone().or(self.topics.first().cloned())),
                vec![
                    self.labelled(|p| p.category, self.category.clone()),
                    self.labelled(|p| p.topics, topics),
                ],
                self.photo(&subject, true),
            ),
            (Kind::Product, 2) => (
                self.dash(self.price_text().or(self.material.clone())),
                vec![
                    self.labelled(|p| p.price_label, self.price_text()),
                    self.labelled(|p| p.material, self.material.clone()),
                    self.labelled(|p| p.color, self.color.clone()),
                ],
                self.photo(&self.joined(|p| p.by, &subject, self.brand.clone()), false),
            ),
            (Kind::Article, 0) => (subject.clone(), vec![], alt_base),
            (Kind::Article, 1) => (
                self.dash(self.author.clone().or(self.date.clone()).or(self.extra(1))),
                vec![
                    self.sentence(|p| p.written_by, self.author.clone()),
                    self.labelled(|p| p.published, self.date.clone()),
                ],
                self.photo(&subject, true),
            ),
            (Kind::Article, 2) => (
                self.dash(
                    self.place
                        .clone()
                        .or(self.topics.first().cloned())
                        .or(self.extra(2)),
                ),
                vec![
                    self.labelled(|p| p.place, self.place.clone()),
                    self.labelled(|p| p.topics, topics),
                ],
                self.photo(
                    &self
                        .place
                        .clone()
                        .or(self.topics.first().cloned())
                        .map_or(subject.clone(), |place| format!("{place} – {subject}")),
                    false,
                ),
            ),
            (Kind::Event, 0) => (
                self.dash(self.venue.clone()),
                vec![
                    self.labelled(|p| p.venue, self.venue.clone()),
                    self.labelled(|p| p.date_label, self.date.clone()),
                ],
                alt_base,
            ),
            (Kind::Event, 1) => (
                self.dash(match (&self.venue_name(), &self.date) {
                    (Some(venue), Some(date)) => Some(format!("{venue}, {date}")),
                    (venue, date) => venue.clone().or(date.clone()),
                }),
                vec![self.labelled(|p| p.line_up, self.list(&self.performers))],
                self.photo(self.performers.first().unwrap_or(&subject), true),
            ),
            (Kind::Event, 2) => (
                match (&self.place, self.performers.first()) {
                    (Some(city), Some(performer)) => {
                        let live = self.joined(|p| p.live_in, performer, Some(city.clone()));
                        let title = match self.venue_name() {
                            Some(venue) => format!("{live} – {venue}"),
                            None => live,
                        };
                        if title.chars().count() <= TITLE_MAX_CHARS {
                            title
                        } else {
                            subject.clone()
                        }
                    }
                    _ => self.dash(self.date.clone()),
                },
                vec![
                    match (&self.place, self.performers.first()) {
                        (Some(city), Some(performer)) => Some(format!(
                            "{}{}",
                            self.joined(|p| p.live_in, performer, Some(city.clone())),
                            self.phrases.map_or(".", |p| p.stop)
                        )),
                        _ => None,
                    },
                    self.labelled(|p| p.topics, topics),
                ],
                self.photo(
                    &self.joined(|_| "{x} – {y}", &subject, self.venue.clone()),
                    false,
                ),
            ),
            (Kind::Work, 0) => (
                self.title_with(self.phrases.map(|p| p.by), self.author.clone()),
                vec![],
                alt_base,
            ),
            (Kind::Work, 1) => (
                self.dash(self.category.clone()),
                vec![self.labelled(|p| p.genre, self.category.clone())],
                self.photo(&subject, true),
            ),
            (Kind::Work, 2) => (
                self.dash(self.date.clone()),
                vec![
                    self.labelled(|p| p.published, self.date.clone()),
                    self.labelled(|p| p.topics, topics),
                ],
                self.photo(&self.joined(|p| p.by, &subject, self.author.clone()), false),
            ),
            (Kind::Other, 0) => (subject.clone(), vec![], alt_base),
            (Kind::Other, 1) => (
                self.dash(self.extra(0)),
                vec![self.labelled(|p| p.topics, topics)],
                self.photo(&subject, true),
            ),
            (_, n) => (
                self.dash(self.extra(n)),
                vec![
                    self.labelled(
                        |p| p.topics,
                        self.list(
                            &self
                                .keywords
                                .iter()
                                .skip(n)
                                .take(4)
                                .cloned()
                                .collect::<Vec<_>>(),
                        ),
                    ),
                ],
                self.photo(
                    &self.joined(
                        |_| "{x} – {y}",
                        &subject,
                        self.topics.get(n).cloned().or(self.keyword(n)),
                    ),
                    n % 2 == 1,
                ),
            ),
        }
    }

    /// Whether a value can stand in this language's copy: pages in Chinese or Japanese often
    /// keep English category names in their data, which do not belong in their copy.
    fn written_here(&self, value: &str) -> bool {
        !self.language.is_unspaced()
            || !value
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c.is_ascii_whitespace() || c == '-')
    }

    /// The venue without its city.
    fn venue_name(&self) -> Option<String> {
        self.venue
            .as_deref()
            .map(|venue| venue.split(", ").next().unwrap_or(venue).to_owned())
    }

    /// The `n`th fact that can follow the subject in a title: topics, then the author, the
    /// date, the place, the category and the brand, none already in the subject.
    fn extra(&self, n: usize) -> Option<String> {
        let subject = self.subject.to_lowercase();
        self.topics
            .iter()
            .cloned()
            .chain(
                [
                    &self.author,
                    &self.date,
                    &self.place,
                    &self.category,
                    &self.brand,
                ]
                .into_iter()
                .flatten()
                .cloned(),
            )
            .filter(|extra| !subject.contains(&extra.to_lowercase()))
            .nth(n)
    }

    /// The `skip`th name the page's sentences mention most (a capitalised word that does not
    /// open its sentence), not already in the subject; for scripts without capitals, the
    /// page's most frequent keywords.
    fn keyword(&self, skip: usize) -> Option<String> {
        let subject = self.subject.to_lowercase();
        if self.language.is_unspaced() {
            return self
                .keywords
                .iter()
                .filter(|k| !subject.contains(&k.to_lowercase()))
                .nth(skip)
                .cloned();
        }
        let mut counts: Vec<(String, usize)> = Vec::new();
        let mut count = |name: &mut Vec<&str>| {
            if name.is_empty() {
                return;
            }
            let name = std::mem::take(name).join(" ");
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => counts.push((name, 1)),
            }
        };
        for sentence in &self.sentences {
            // Capitalised words in a row are one name ("Great Taste Awards"), not three.
            let mut name: Vec<&str> = Vec::new();
            for raw in sentence.split_whitespace().skip(1) {
                let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
                let is_name = word.chars().next().is_some_and(char::is_uppercase)
                    && word.chars().count() >= 4
                    && !word.chars().all(|c| c.is_uppercase())
                    && !subject.contains(&word.to_lowercase());
                if is_name {
                    name.push(word);
                }
                // A name ends at a word that is not one, and at punctuation after it.
                if !is_name || word.len() != raw.len() {
                    count(&mut name);
                }
            }
            count(&mut name);
        }
        // Most mentioned first; ties in the order the page mentions them.
        counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        counts.into_iter().nth(skip).map(|(word, _)| word)
    }
}

/// What a chat model is told about an idea: its language, what it is, the facts read from the
/// page (written the language's way), the page's own sentences, and the angles to take.
pub(crate) fn brief(
    meta: &PageMetadata,
    hints: &Hints,
    count: usize,
) -> (serde_json::Value, Language) {
    let facts = Facts::read(meta, hints);
    let kind = match facts.kind {
        Kind::Recipe => "recipe",
        Kind::Product => "product",
        Kind::Article => "article",
        Kind::Event => "event",
        Kind::Work => "creative work",
        Kind::Other => "page",
    };
    let angles: &[&str] = match facts.kind {
        Kind::Recipe => &[
            "the dish and its key ingredients",
            "the time and effort",
            "the occasion",
        ],
        Kind::Product => &["what it is", "what it is for", "its price or material"],
        Kind::Article => &[
            "its finding",
            "the question it answers",
            "its place or topic",
        ],
        Kind::Event => &["who and where", "the line-up", "when"],
        Kind::Work | Kind::Other => &["what it is", "its details", "its topic"],
    };
    let angles: Vec<&str> = angles.iter().copied().cycle().take(count).collect();
    let brief = serde_json::json!({
        "language": {"code": facts.language.code, "name": facts.language.english_name()},
        "kind": kind,
        "name": facts.subject,
        "page_title": meta
            .open_graph
            .title
            .as_deref()
            .or(meta.html_title.as_deref())
            .map(|title| crate::metadata::strip_site_decoration(title, &meta.site_name_candidates())),
        "facts": {
            "ingredients": facts.ingredients,
            "total_time": facts.time_text(facts.minutes),
            "prep_time": facts.time_text(facts.prep_minutes),
            "servings": facts.servings,
            "category": facts.category,
            "cuisine": facts.cuisine,
            "brand": facts.brand,
            "price": facts.price_text(),
            "material": facts.material,
            "colour": facts.color,
            "author": facts.author,
            "date": facts.date,
            "place": facts.place,
            "venue": facts.venue,
            "performers": facts.performers,
            "topics": facts.topics,
        },
        "picture": facts.image_alt,
        "page_sentences": facts.sentences,
        "angles": angles,
        "person": {"title": hints.title, "text": hints.text},
    });
    (brief, facts.language)
}

/// Writes `count` pieces of copy from the page, each from its own angle.
pub(crate) fn write(
    meta: &PageMetadata,
    hints: &Hints,
    count: usize,
    generator: GeneratorUsed,
) -> Vec<PinCopy> {
    let facts = Facts::read(meta, hints);
    let mut titles: Vec<String> = Vec::new();
    let mut alts: Vec<String> = Vec::new();
    let mut copies = Vec::with_capacity(count);
    for index in 0..count {
        let (mut title, fact_sentences, mut alt) = facts.angle(index);
        let fact_sentences: Vec<String> = fact_sentences.into_iter().flatten().collect();
        // Titles and alt texts differ between variants, even when an angle has no facts.
        if titles.contains(&title) {
            title = (0..5)
                .filter_map(|n| facts.extra(n))
                .chain(
                    (0..5)
                        .filter_map(|n| facts.keyword(n))
                        .filter(|k| k.chars().count() >= 4),
                )
                .map(|extra| facts.dash(Some(extra)))
                .find(|t| !titles.contains(t))
                .filter(|t| !titles.contains(t))
                .unwrap_or(title);
        }
        if alts.contains(&alt) {
            alt = facts.photo(&facts.subject, index % 2 == 1);
            if alts.contains(&alt) {
                // The subject alone still says what the picture shows.
                alt = facts.subject.clone();
            }
            if alts.contains(&alt) {
                alt = facts.photo(
                    &facts.joined(|_| "{x} – {y}", &facts.subject, facts.keyword(index)),
                    false,
                );
            }
        }
        titles.push(title.clone());
        alts.push(alt.clone());
        let description = description(&facts, index, count, &fact_sentences);
        copies.push(finish_copy(
            &title,
            &description,
            &alt,
            facts.keywords.clone(),
            meta.link(),
            generator.clone(),
        ));
    }
    copies
}

/// The facts of the angle, then this variant's share of the page's sentences.
fn description(facts: &Facts, index: usize, count: usize, fact_sentences: &[String]) -> String {
    const TARGET: usize = 420;
    let spaced = !facts.language.is_unspaced();
    let join = |parts: &[String]| {
        if spaced {
            parts.join(" ")
        } else {
            parts.concat()
        }
    };
    let mut parts: Vec<String> = Vec::new();
    let own: Vec<&String> = facts
        .sentences
        .iter()
        .enumerate()
        .filter(|(i, _)| i % count == index)
        .map(|(_, s)| s)
        .collect();
    // The lead variant opens with the page's own words; the others open with their facts.
    let mut sentences = own.into_iter();
    if index == 0
        && let Some(first) = sentences.next()
    {
        parts.push(first.clone());
    }
    parts.extend(fact_sentences.iter().cloned());
    for sentence in sentences {
        if join(&parts).chars().count() + sentence.chars().count() > TARGET && !parts.is_empty() {
            break;
        }
        parts.push(sentence.clone());
    }
    if parts.is_empty() {
        // An angle without facts on a page with few sentences: the words the page uses most
        // say more than the title said again.
        let subject = facts.subject.to_lowercase();
        let words: Vec<String> = facts
            .keywords
            .iter()
            .filter(|k| !subject.contains(&k.to_lowercase()))
            .take(4)
            .cloned()
            .collect();
        let topics = facts.labelled(|p| p.topics, facts.list(&words));
        parts.push(topics.unwrap_or_else(|| facts.subject.clone()));
    }
    let text = collapse_double_stops(&join(&parts));
    cut_at_word_boundary(&text, DESCRIPTION_MAX_CHARS)
}

/// "Min.." (an abbreviation ending a sentence) becomes "Min."; an ellipsis stays.
fn collapse_double_stops(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (index, c) in chars.iter().enumerate() {
        let doubled = *c == '.'
            && index > 0
            && chars[index - 1] == '.'
            && chars.get(index + 1) != Some(&'.')
            && (index < 2 || chars[index - 2] != '.');
        if !doubled {
            out.push(*c);
        }
    }
    out
}

/// Whether alt text the page gives says something about a picture (not a site's name, not a
/// file name, not a placeholder).
fn describes_a_picture(alt: &str, site_names: &[String]) -> bool {
    let lower = alt.to_lowercase();
    let words = alt.split_whitespace().count();
    let wide = alt.chars().filter(|c| is_wide(*c)).count();
    (words >= 2 || wide >= 4)
        && !site_names.iter().any(|n| lower.contains(&n.to_lowercase()))
        && !lower.contains('©')
        && !lower.ends_with(".jpg")
        && !lower.ends_with(".png")
        && filler_in(alt).is_none()
}

/// The page's sentences worth repeating, in order of trust: the main entity's description,
/// the OpenGraph, Twitter and meta descriptions, the person's text, then the main text.
/// Sentences in another language, with links or boilerplate, too short to say anything, or
/// repeating one already taken are left out.
fn page_sentences(
    meta: &PageMetadata,
    hints: &Hints,
    subject: &str,
    language: &Language,
) -> Vec<String> {
    // (text, said by the page about itself rather than about the thing)
    let mut sources: Vec<(&str, bool)> = Vec::new();
    if let Some(text) = hints.text.as_deref() {
        sources.push((text, false));
    }
    let entity_description = meta.main_entity().and_then(StructuredData::description);
    if let Some(description) = entity_description {
        sources.push((description, false));
    }
    for description in [
        meta.open_graph.description.as_deref(),
        meta.twitter.description.as_deref(),
        meta.meta_description.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        sources.push((description, true));
    }
    sources.extend(meta.paragraphs.iter().map(|p| (p.as_str(), false)));
    let site_names: Vec<String> = meta.site_names.iter().map(|n| n.to_lowercase()).collect();
    let subject_words = crate::quality::word_set(subject);
    let subject_lower = subject.to_lowercase();
    let mut taken: Vec<String> = Vec::new();
    for (source, page_level) in sources {
        for sentence in split_sentences(source) {
            if taken.len() >= 15 {
                return taken;
            }
            let bare = sentence
                .trim_end_matches(['.', '。', '!', '?'])
                .to_lowercase();
            if !worth_repeating(&sentence, language)
                || bare == subject_lower
                || word_overlap(&sentence, subject) >= 0.8
            {
                continue;
            }
            // A store's or a paper's tagline ("Shop kitchenware at X") is about the site: it
            // names the site, or, beside the thing's own description, says nothing of it.
            if page_level {
                let names_site = site_names.iter().any(|name| bare.contains(name.as_str()));
                let about_subject = crate::quality::word_set(&sentence)
                    .iter()
                    .any(|word| word.chars().count() >= 3 && subject_words.contains(word));
                if !about_subject && (names_site || entity_description.is_some()) {
                    continue;
                }
            }
            if taken.iter().any(|t| word_overlap(t, &sentence) >= 0.5) {
                continue;
            }
            taken.push(sentence);
        }
    }
    taken
}

/// Whether a declared keyword can stand as a topic. Shops often declare the words of their
/// text as keywords ("Heimat, sehr, deutschen, Die"); in German, where every noun is written
/// with a capital, a single word in small letters or an article is no topic.
fn names_a_topic(topic: &str, language: &Language) -> bool {
    if language.code != "de" || topic.contains(char::is_whitespace) {
        return true;
    }
    let lower = topic.to_lowercase();
    let article = [
        "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer",
    ]
    .contains(&lower.as_str());
    topic.chars().next().is_some_and(char::is_uppercase) && !article
}

fn worth_repeating(sentence: &str, language: &Language) -> bool {
    let chars = sentence.chars().count();
    let wide = sentence.chars().filter(|c| is_wide(*c)).count();
    let words = sentence.split_whitespace().count();
    let long_enough = words >= 5 || wide >= 8;
    let lower = sentence.to_lowercase();
    let boilerplate = [
        "http",
        "www.",
        "©",
        "cookie",
        "javascript",
        "@",
        "newsletter",
        "copyright",
    ]
    .iter()
    .any(|mark| lower.contains(mark));
    // Breadcrumbs, menus and footnotes: "Home > Recipes > Soup", "► Video", "* Percent…".
    let furniture = sentence.matches(" > ").count() >= 2
        || sentence.contains(['►', '•', '|', '»'])
        || sentence.starts_with('*')
        || sentence.contains("**");
    if !long_enough || chars > 320 || boilerplate || furniture || filler_in(sentence).is_some() {
        return false;
    }
    if sentence.ends_with(':')
        || sentence.ends_with('：')
        || sentence.ends_with("...")
        || sentence.ends_with('…')
    {
        return false;
    }
    // A sentence that is reliably in another language (a cookie notice in English on a
    // German page) is not the page's own voice.
    if chars >= 40
        && let Some((detected, true)) = detect_text(sentence)
        && detected.code != language.code
    {
        return false;
    }
    true
}

/// Splits text after `.`, `!`, `?` (followed by a space) and their full-width forms.
fn split_sentences(text: &str) -> Vec<String> {
    let mut sentences = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        let ends = match c {
            '。' | '！' | '？' => true,
            '.' | '!' | '?' => chars.peek().is_none_or(|next| next.is_whitespace()),
            _ => false,
        };
        if ends {
            let sentence = current.trim().to_owned();
            if !sentence.is_empty() {
                sentences.push(sentence);
            }
            current.clear();
        }
    }
    let rest = current.trim();
    if !rest.is_empty() {
        // Text without a final stop still reads as a sentence once it has one.
        let stop = if rest.chars().last().is_some_and(is_wide) {
            "。"
        } else {
            "."
        };
        sentences.push(format!("{rest}{stop}"));
    }
    sentences
}

/// Words that measure or count rather than name an ingredient, in the corpus's languages.
const MEASURES: &[&str] = &[
    "cup",
    "cups",
    "c",
    "tbsp",
    "tbs",
    "tablespoon",
    "tablespoons",
    "tsp",
    "teaspoon",
    "teaspoons",
    "oz",
    "ounce",
    "ounces",
    "lb",
    "lbs",
    "pound",
    "pounds",
    "g",
    "gr",
    "gram",
    "grams",
    "gramm",
    "gramos",
    "grammes",
    "kg",
    "ml",
    "cl",
    "dl",
    "l",
    "liter",
    "litre",
    "liters",
    "litres",
    "pinch",
    "pinches",
    "dash",
    "clove",
    "cloves",
    "can",
    "cans",
    "package",
    "packages",
    "pkg",
    "slice",
    "slices",
    "stick",
    "sticks",
    "piece",
    "pieces",
    "handful",
    "large",
    "medium",
    "small",
    "whole",
    "bunch",
    "sprig",
    "sprigs",
    "quart",
    "quarts",
    "pint",
    "pints",
    "el",
    "tl",
    "prise",
    "prisen",
    "msp",
    "bund",
    "stück",
    "stk",
    "dose",
    "becher",
    "pck",
    "pkt",
    "päckchen",
    "zehe",
    "zehen",
    "cuillère",
    "cuillères",
    "càs",
    "càc",
    "cs",
    "cc",
    "pincée",
    "pincées",
    "gousse",
    "gousses",
    "boîte",
    "tranche",
    "tranches",
    "sachet",
    "botte",
    "verre",
    "cucharada",
    "cucharadas",
    "cucharadita",
    "cucharaditas",
    "taza",
    "tazas",
    "diente",
    "dientes",
    "pizca",
    "lata",
    "colher",
    "colheres",
    "xícara",
    "xícaras",
    "copo",
    "copos",
    "pitada",
    "dente",
    "dentes",
    "eetlepel",
    "eetlepels",
    "theelepel",
    "theelepels",
    "teen",
    "tenen",
    "blik",
    "snufje",
    "stuks",
    "zak",
    "cucchiaio",
    "cucchiai",
    "cucchiaino",
    "cucchiaini",
    "spicchio",
    "spicchi",
    "pizzico",
    "bicchiere",
    "unidad",
    "unidades",
    "unidade",
    "unidades",
    "à",
    "soupe",
    "café",
    "sopa",
    "chá",
    "of",
    "de",
    "d",
    "du",
    "des",
    "von",
    "vom",
    "di",
    "del",
    "della",
    "da",
    "do",
    "van",
    "het",
    "a",
    "an",
    "about",
    "environ",
    "ca",
    "etwa",
];

/// "0.25 cup olive oil" → "olive oil"; "8 Roma tomatoes, sliced" → "Roma tomatoes";
/// "2 cuillères à soupe d'huile d'olive" → "huile d'olive".
pub(crate) fn ingredient_name(raw: &str) -> Option<String> {
    let mut text = String::new();
    let mut depth = 0usize;
    for c in raw.chars() {
        match c {
            '(' | '（' | '[' => depth += 1,
            ')' | '）' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => text.push(c),
            _ => {}
        }
    }
    let head = text
        .split([',', ';', '/', '，', '、'])
        .next()
        .unwrap_or_default()
        .split(" - ")
        .next()
        .unwrap_or_default();
    let words: Vec<&str> = head.split_whitespace().collect();
    let mut start = 0;
    while start < words.len() {
        let word = words[start].trim_matches(|c: char| c == '.' || c == ':');
        let bare = word
            .strip_prefix("d'")
            .or_else(|| word.strip_prefix("d’"))
            .map(|rest| (true, rest))
            .unwrap_or((false, word));
        let lower = bare.1.to_lowercase();
        let measure = lower
            .chars()
            .any(|c| c.is_ascii_digit() || "½¼¾⅓⅔⅛".contains(c))
            || MEASURES.contains(&lower.as_str());
        if bare.0 && !measure {
            break;
        }
        if !measure {
            break;
        }
        start += 1;
    }
    // A quantity after the name ("Hackfleisch 500 g", "卵 2個", "水 適量") ends it.
    let mut kept: Vec<String> = words[start..]
        .iter()
        .take_while(|w| {
            !w.chars().any(|c| c.is_ascii_digit()) && !MEASURES.contains(&w.to_lowercase().as_str())
        })
        .take(4)
        .map(|w| (*w).to_owned())
        .collect();
    if let Some(first) = kept.first_mut()
        && let Some(rest) = first
            .strip_prefix("d'")
            .or_else(|| first.strip_prefix("d’"))
    {
        *first = rest.to_owned();
    }
    let name = kept.join(" ");
    let name = name.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
    let letters = name.chars().filter(|c| c.is_alphabetic()).count();
    let wide = name.chars().filter(|c| is_wide(*c)).count();
    ((letters >= 2 || wide >= 1) && name.chars().count() <= 40).then_some(name)
}

fn first_number(text: &str) -> Option<String> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty() && digits != "0").then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingredient_names_lose_their_measures() {
        assert_eq!(
            ingredient_name("0.25 cup olive oil").as_deref(),
            Some("olive oil")
        );
        assert_eq!(
            ingredient_name("8 Roma tomatoes, sliced").as_deref(),
            Some("Roma tomatoes")
        );
        assert_eq!(
            ingredient_name("2 (12 inch) pre-baked pizza crusts").as_deref(),
            Some("pre-baked pizza crusts")
        );
        assert_eq!(
            ingredient_name("2 cuillères à soupe d'huile d'olive").as_deref(),
            Some("huile d'olive")
        );
        assert_eq!(
            ingredient_name("500 g Hackfleisch, gemischtes").as_deref(),
            Some("Hackfleisch")
        );
        assert_eq!(
            ingredient_name("1 colher (sopa) de açúcar").as_deref(),
            Some("açúcar")
        );
        assert_eq!(ingredient_name("3").as_deref(), None);
    }

    #[test]
    fn german_topics_are_nouns() {
        let german = Language::from_tag("de").expect("German is known");
        assert!(names_a_topic("Rosé", &german));
        assert!(names_a_topic("lieblich / süß", &german));
        assert!(!names_a_topic("sehr", &german));
        assert!(!names_a_topic("Die", &german));
        let english = Language::english();
        assert!(names_a_topic("baking", &english));
    }

    #[test]
    fn sentences_split_on_stops_followed_by_space() {
        assert_eq!(
            split_sentences("Bake 1.5 hours. Serve warm! Enjoy"),
            ["Bake 1.5 hours.", "Serve warm!", "Enjoy."]
        );
        assert_eq!(
            split_sentences("簡単です。おいしい！"),
            ["簡単です。", "おいしい！"]
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_gives_copy_within_the_limits(
            title in "\\PC{0,160}",
            text in "\\PC{0,900}",
            count in 1usize..=5,
        ) {
            let meta = PageMetadata::from_text(Some(&title), Some(&text));
            let copies = write(&meta, &Hints::default(), count, GeneratorUsed::Rules);
            prop_assert_eq!(copies.len(), count);
            for copy in copies {
                prop_assert!(copy.title.chars().count() <= TITLE_MAX_CHARS);
                prop_assert!(copy.description.chars().count() <= DESCRIPTION_MAX_CHARS);
                prop_assert!(copy.alt_text.chars().count() <= crate::text::ALT_TEXT_MAX_CHARS);
            }
        }
    }
}
