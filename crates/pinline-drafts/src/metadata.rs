//! What a page says about itself, read the way a person would read it.
//!
//! Sources, all folded into one [`PageMetadata`]: OpenGraph (including its product and article
//! tags) and Twitter card tags, `<title>`, the meta description and keywords, the canonical link,
//! the document's language, schema.org entities from JSON-LD *and* microdata, the pictures in
//! the page's content with what the page says about them (alt text, caption), and the first
//! paragraphs of the main text.
//!
//! Reading is forgiving on purpose: real pages carry broken JSON-LD, duplicate tags and relative
//! URLs. A block that does not parse is skipped, the first non-empty value of a tag wins, and
//! every image URL is resolved against the page URL and kept only when it is http(s).
//!
//! Text is decoded once, here, at the edge: every string read from a page passes through
//! [`clean_text`], which decodes HTML entities (repeatedly, as far as three levels, because
//! pages and their JSON-LD often escape twice: `&amp;aacute;`), drops stray tags and collapses
//! whitespace. Nothing after this module sees an entity.

mod microdata;
mod title;

use scraper::{ElementRef, Html, Selector};
use serde::Serialize;
use serde_json::Value;
use url::Url;

pub use title::strip_site_decoration;

/// Everything read from one page (or assembled from a text-only idea).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PageMetadata {
    /// The page's URL after redirects, when the idea was a link.
    pub url: Option<Url>,
    /// `<link rel="canonical">`, resolved.
    pub canonical_url: Option<Url>,
    /// The language the document declares (`<html lang>`, `og:locale`, `content-language`),
    /// as written.
    pub declared_language: Option<String>,
    /// The `<title>` element's text.
    pub html_title: Option<String>,
    /// The first `<h1>`'s text.
    pub heading: Option<String>,
    /// `<meta name="description">`.
    pub meta_description: Option<String>,
    /// `<meta name="keywords">`, split on commas.
    pub meta_keywords: Vec<String>,
    /// OpenGraph tags.
    pub open_graph: OpenGraph,
    /// Twitter card tags.
    pub twitter: TwitterCard,
    /// Recognised schema.org entities from JSON-LD and microdata, in document order.
    pub structured: Vec<StructuredData>,
    /// Names the site gives itself: `og:site_name`, `application-name`, the JSON-LD publisher
    /// and `WebSite` names. Used to take the site's decoration off titles.
    pub site_names: Vec<String>,
    /// Pictures in the page's content, most likely the main one first.
    pub content_images: Vec<PageImage>,
    /// The first paragraphs of the page's main text.
    pub paragraphs: Vec<String>,
}

/// A picture in the page's content and what the page says about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageImage {
    /// Where it is, resolved.
    pub url: Url,
    /// Its `alt` text.
    pub alt: Option<String>,
    /// The caption of the figure it is in.
    pub caption: Option<String>,
}

/// OpenGraph (`og:*`, `product:*`, `article:*`) tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpenGraph {
    /// `og:title`.
    pub title: Option<String>,
    /// `og:description`.
    pub description: Option<String>,
    /// `og:image` (or `og:image:url` / `og:image:secure_url`), resolved.
    pub image: Option<Url>,
    /// `og:image:alt`.
    pub image_alt: Option<String>,
    /// `og:url`, resolved.
    pub url: Option<Url>,
    /// `og:site_name`.
    pub site_name: Option<String>,
    /// `og:type`.
    pub kind: Option<String>,
    /// `og:locale`.
    pub locale: Option<String>,
    /// `product:price:amount` (or `og:price:amount`).
    pub price_amount: Option<String>,
    /// `product:price:currency` (or `og:price:currency`).
    pub price_currency: Option<String>,
    /// `product:brand` (or `og:brand`).
    pub brand: Option<String>,
    /// `product:material`.
    pub material: Option<String>,
    /// `product:color`.
    pub color: Option<String>,
    /// `product:category`.
    pub category: Option<String>,
    /// `article:section`.
    pub section: Option<String>,
    /// `article:tag`, every one.
    pub tags: Vec<String>,
    /// `article:author`, when it is a name rather than a link.
    pub author: Option<String>,
    /// `article:published_time`.
    pub published: Option<String>,
}

/// Twitter card (`twitter:*`) tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TwitterCard {
    /// `twitter:title`.
    pub title: Option<String>,
    /// `twitter:description`.
    pub description: Option<String>,
    /// `twitter:image` (or `twitter:image:src`), resolved.
    pub image: Option<Url>,
    /// `twitter:image:alt`.
    pub image_alt: Option<String>,
}

/// A schema.org entity this crate knows how to use.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StructuredData {
    /// `Product` (and its kinds: `Book`'s offers make it one too when it has a price).
    Product(Product),
    /// `Article`, `NewsArticle`, `BlogPosting` and their kin.
    Article(Article),
    /// `Recipe`.
    Recipe(Recipe),
    /// `Event` and its kinds (`MusicEvent`, `Festival`, …).
    Event(Event),
    /// A creative work that is not an article: `MusicAlbum`, `Book`, `Movie`, `Course`, ….
    Work(Work),
}

/// A schema.org `Product`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Product {
    /// `name`.
    pub name: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `image`, resolved.
    pub images: Vec<Url>,
    /// `brand` (a string or a `Brand`/`Organization` with a name).
    pub brand: Option<String>,
    /// The first offer's `price` (or an aggregate offer's `lowPrice`), as written.
    pub price: Option<String>,
    /// The first offer's `priceCurrency`.
    pub currency: Option<String>,
    /// `material`.
    pub material: Option<String>,
    /// `color`.
    pub color: Option<String>,
    /// `category`.
    pub category: Option<String>,
}

/// A schema.org `Article`, `NewsArticle` or `BlogPosting`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Article {
    /// The `@type` as written (`Article`, `NewsArticle`, `BlogPosting`).
    pub kind: String,
    /// `headline` (or `name`).
    pub headline: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `image`, resolved.
    pub images: Vec<Url>,
    /// The first `author`'s name.
    pub author: Option<String>,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// `articleSection`.
    pub section: Option<String>,
    /// `datePublished`, as written.
    pub published: Option<String>,
    /// `contentLocation` (or `locationCreated`) by name.
    pub place: Option<String>,
}

/// A schema.org `Recipe`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Recipe {
    /// `name`.
    pub name: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `image`, resolved.
    pub images: Vec<Url>,
    /// How many `recipeIngredient` entries there are.
    pub ingredient_count: usize,
    /// The `recipeIngredient` entries as written.
    pub ingredients: Vec<String>,
    /// `totalTime` in minutes, when it is an ISO 8601 duration (else prep + cook).
    pub total_minutes: Option<u32>,
    /// `prepTime` in minutes.
    pub prep_minutes: Option<u32>,
    /// `recipeYield`, as written.
    pub servings: Option<String>,
    /// `recipeCategory`.
    pub category: Option<String>,
    /// `recipeCuisine`.
    pub cuisine: Option<String>,
    /// `keywords`.
    pub keywords: Vec<String>,
}

/// A schema.org `Event`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Event {
    /// `name`.
    pub name: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `image`, resolved.
    pub images: Vec<Url>,
    /// `startDate`, as written.
    pub start: Option<String>,
    /// `location`'s name.
    pub venue: Option<String>,
    /// `location.address`'s locality.
    pub locality: Option<String>,
    /// `performer` names.
    pub performers: Vec<String>,
}

/// A schema.org creative work other than an article.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Work {
    /// The `@type` as written (`MusicAlbum`, `Book`, …).
    pub kind: String,
    /// `name`.
    pub name: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `image`, resolved.
    pub images: Vec<Url>,
    /// `byArtist`, `author` or `creator` by name.
    pub creator: Option<String>,
    /// `genre`.
    pub genre: Option<String>,
    /// `datePublished`, as written.
    pub published: Option<String>,
}

impl StructuredData {
    /// The entity's own name (a headline for an article).
    pub fn name(&self) -> Option<&str> {
        match self {
            StructuredData::Product(p) => p.name.as_deref(),
            StructuredData::Article(a) => a.headline.as_deref(),
            StructuredData::Recipe(r) => r.name.as_deref(),
            StructuredData::Event(e) => e.name.as_deref(),
            StructuredData::Work(w) => w.name.as_deref(),
        }
    }

    /// The entity's own description.
    pub fn description(&self) -> Option<&str> {
        match self {
            StructuredData::Product(p) => p.description.as_deref(),
            StructuredData::Article(a) => a.description.as_deref(),
            StructuredData::Recipe(r) => r.description.as_deref(),
            StructuredData::Event(e) => e.description.as_deref(),
            StructuredData::Work(w) => w.description.as_deref(),
        }
    }

    /// The entity's images.
    pub fn images(&self) -> &[Url] {
        match self {
            StructuredData::Product(p) => &p.images,
            StructuredData::Article(a) => &a.images,
            StructuredData::Recipe(r) => &r.images,
            StructuredData::Event(e) => &e.images,
            StructuredData::Work(w) => &w.images,
        }
    }

    /// `product`, `article`, `recipe`, `event` or `work`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            StructuredData::Product(_) => "product",
            StructuredData::Article(_) => "article",
            StructuredData::Recipe(_) => "recipe",
            StructuredData::Event(_) => "event",
            StructuredData::Work(_) => "work",
        }
    }

    /// How much an entity says about what the page is for: a recipe, product or event is the
    /// page's subject wherever it stands; an article is often only the wrapper around one.
    fn specificity(&self) -> u8 {
        match self {
            StructuredData::Recipe(_) | StructuredData::Product(_) | StructuredData::Event(_) => 3,
            StructuredData::Work(_) => 2,
            StructuredData::Article(_) => 1,
        }
    }
}

impl PageMetadata {
    /// Reads a page. `page_url` is where the page came from (after redirects); relative URLs are
    /// resolved against it.
    pub fn from_html(html: &str, page_url: Option<&Url>) -> Self {
        let document = Html::parse_document(html);
        let mut meta = PageMetadata {
            url: page_url.cloned(),
            ..PageMetadata::default()
        };
        let resolve = |raw: &str| resolve_url(page_url, raw);

        meta.html_title = select_first_text(&document, "title");
        meta.heading = select_first_text(&document, "h1");
        if let Ok(selector) = Selector::parse("html[lang], html[xml\\:lang]") {
            meta.declared_language = document.select(&selector).find_map(|html| {
                let value = html.value();
                value
                    .attr("lang")
                    .or_else(|| value.attr("xml:lang"))
                    .and_then(clean_text)
            });
        }
        if let Ok(selector) = Selector::parse("link[rel][href]") {
            for element in document.select(&selector) {
                let rel = element.value().attr("rel").unwrap_or_default();
                let is_canonical = rel
                    .split_ascii_whitespace()
                    .any(|token| token.eq_ignore_ascii_case("canonical"));
                if is_canonical && meta.canonical_url.is_none() {
                    meta.canonical_url = element.value().attr("href").and_then(resolve);
                }
            }
        }
        if let Ok(selector) = Selector::parse("meta[content]") {
            for element in document.select(&selector) {
                let element = element.value();
                let key = element
                    .attr("property")
                    .or_else(|| element.attr("name"))
                    .or_else(|| element.attr("http-equiv"))
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                let Some(content) = element.attr("content").and_then(clean_text) else {
                    continue;
                };
                meta.apply_meta_tag(&key, content, &resolve);
            }
        }
        let mut site_names = Vec::new();
        if let Ok(selector) = Selector::parse("script[type]") {
            for element in document.select(&selector) {
                let kind = element.value().attr("type").unwrap_or_default();
                if !kind.trim().eq_ignore_ascii_case("application/ld+json") {
                    continue;
                }
                let text: String = element.text().collect();
                // A broken block is common in the wild and must not spoil the rest of the page.
                if let Ok(value) = serde_json::from_str::<Value>(text.trim()) {
                    collect_structured(&value, &resolve, &mut meta.structured, 0);
                    collect_site_names(&value, &mut site_names, 0);
                }
            }
        }
        for item in microdata::items(&document) {
            collect_structured(&item, &resolve, &mut meta.structured, 0);
            collect_site_names(&item, &mut site_names, 0);
        }
        let declared = meta.open_graph.site_name.iter().cloned();
        let mut names: Vec<String> = declared.chain(meta.site_names.drain(..)).collect();
        names.extend(site_names);
        for name in names {
            if !meta.site_names.contains(&name) {
                meta.site_names.push(name);
            }
        }
        meta.content_images = content_images(&document, &resolve, meta.best_title());
        meta.paragraphs = main_paragraphs(&document);
        meta
    }

    /// Metadata for an idea that is only a title and/or a line of text (no page).
    pub fn from_text(title: Option<&str>, text: Option<&str>) -> Self {
        PageMetadata {
            html_title: title.and_then(clean_text),
            meta_description: text.and_then(clean_text),
            ..PageMetadata::default()
        }
    }

    fn apply_meta_tag(
        &mut self,
        key: &str,
        content: String,
        resolve: &dyn Fn(&str) -> Option<Url>,
    ) {
        fn set<T>(slot: &mut Option<T>, value: Option<T>) {
            if slot.is_none() {
                *slot = value;
            }
        }
        let og = &mut self.open_graph;
        let tw = &mut self.twitter;
        match key {
            "og:title" => set(&mut og.title, Some(content)),
            "og:description" => set(&mut og.description, Some(content)),
            "og:image" | "og:image:url" | "og:image:secure_url" => {
                set(&mut og.image, resolve(&content))
            }
            "og:image:alt" => set(&mut og.image_alt, Some(content)),
            "og:url" => set(&mut og.url, resolve(&content)),
            "og:site_name" => set(&mut og.site_name, Some(content)),
            "og:type" => set(&mut og.kind, Some(content)),
            "og:locale" => set(&mut og.locale, Some(content)),
            "product:price:amount" | "og:price:amount" | "product:sale_price:amount" => {
                set(&mut og.price_amount, Some(content))
            }
            "product:price:currency" | "og:price:currency" | "product:sale_price:currency" => {
                set(&mut og.price_currency, Some(content))
            }
            "product:brand" | "og:brand" => set(&mut og.brand, Some(content)),
            "product:material" => set(&mut og.material, Some(content)),
            "product:color" => set(&mut og.color, Some(content)),
            "product:category" => set(&mut og.category, Some(content)),
            "article:section" => set(&mut og.section, Some(content)),
            "article:tag" if !og.tags.contains(&content) => og.tags.push(content),
            "article:author" if !content.contains("://") => set(&mut og.author, Some(content)),
            "article:published_time" => set(&mut og.published, Some(content)),
            "twitter:title" => set(&mut tw.title, Some(content)),
            "twitter:description" => set(&mut tw.description, Some(content)),
            "twitter:image" | "twitter:image:src" => set(&mut tw.image, resolve(&content)),
            "twitter:image:alt" => set(&mut tw.image_alt, Some(content)),
            "description" => set(&mut self.meta_description, Some(content)),
            "application-name" | "apple-mobile-web-app-title"
                if !self.site_names.contains(&content) =>
            {
                self.site_names.push(content)
            }
            "content-language" => set(&mut self.declared_language, Some(content)),
            "keywords" if self.meta_keywords.is_empty() => {
                self.meta_keywords = split_keywords(&content);
            }
            _ => {}
        }
    }

    /// The entity the page is about: the most specific one (a recipe, product or event before
    /// a creative work, and those before an article), wherever it stands in the document.
    /// Among equally specific ones, the one whose name is closest to the page's title wins,
    /// then the first.
    pub fn main_entity(&self) -> Option<&StructuredData> {
        let top = self.structured.iter().map(|s| s.specificity()).max()?;
        let title = self
            .open_graph
            .title
            .as_deref()
            .or(self.html_title.as_deref())
            .unwrap_or_default()
            .to_lowercase();
        let closeness = |item: &StructuredData| -> usize {
            item.name().map_or(0, |name| {
                name.to_lowercase()
                    .split_whitespace()
                    .filter(|word| title.contains(word))
                    .count()
            })
        };
        let mut best: Option<&StructuredData> = None;
        for item in self.structured.iter().filter(|s| s.specificity() == top) {
            match best {
                Some(current) if closeness(item) <= closeness(current) => {}
                _ => best = Some(item),
            }
        }
        best
    }

    /// The product the page is about, if it is about one.
    pub fn product(&self) -> Option<&Product> {
        match self.main_entity()? {
            StructuredData::Product(product) => Some(product),
            _ => None,
        }
    }

    /// The article the page is, if it is one.
    pub fn article(&self) -> Option<&Article> {
        match self.main_entity()? {
            StructuredData::Article(article) => Some(article),
            _ => None,
        }
    }

    /// The recipe the page is about, if it is about one.
    pub fn recipe(&self) -> Option<&Recipe> {
        match self.main_entity()? {
            StructuredData::Recipe(recipe) => Some(recipe),
            _ => None,
        }
    }

    /// The event the page is about, if it is about one.
    pub fn event(&self) -> Option<&Event> {
        match self.main_entity()? {
            StructuredData::Event(event) => Some(event),
            _ => None,
        }
    }

    /// The best title, as the page writes it: the main entity's name first (it names the
    /// thing itself), then OpenGraph, Twitter, `<title>` and the first heading. An article's
    /// headline comes after `og:title`: both are titles, and the one for sharing is the one
    /// the page chose for people who have not opened it yet.
    pub fn best_title(&self) -> Option<&str> {
        let entity = self.main_entity();
        let shared_first = matches!(entity, Some(StructuredData::Article(_)));
        let entity_name = entity.and_then(StructuredData::name);
        let first = if shared_first {
            self.open_graph.title.as_deref().or(entity_name)
        } else {
            entity_name.or(self.open_graph.title.as_deref())
        };
        first
            .or(self.twitter.title.as_deref())
            .or(self.html_title.as_deref())
            .or(self.heading.as_deref())
    }

    /// The best title without the site's decoration (" | Site", ":: Site ::", "Site: …").
    pub fn clean_title(&self) -> Option<String> {
        let names = self.site_name_candidates();
        let title = self.best_title()?;
        Some(strip_site_decoration(title, &names))
    }

    /// Every name the site may go by: the declared ones, then the host's own label.
    pub fn site_name_candidates(&self) -> Vec<String> {
        let mut names = self.site_names.clone();
        if let Some(host) = self.link().and_then(Url::host_str) {
            let host = host.trim_start_matches("www.");
            names.push(host.to_owned());
            if let Some(label) = host.split('.').next()
                && label.chars().count() >= 4
            {
                names.push(label.to_owned());
            }
        }
        names
    }

    /// The best description: the main entity's own first, then OpenGraph, Twitter and the
    /// meta description.
    pub fn best_description(&self) -> Option<&str> {
        self.main_entity()
            .and_then(StructuredData::description)
            .or(self.open_graph.description.as_deref())
            .or(self.twitter.description.as_deref())
            .or(self.meta_description.as_deref())
    }

    /// The site's name, from `og:site_name`, a declared name, or else the host.
    pub fn site_name(&self) -> Option<String> {
        self.site_names.first().cloned().or_else(|| {
            self.link().and_then(|url| {
                url.host_str()
                    .map(|h| h.trim_start_matches("www.").to_owned())
            })
        })
    }

    /// Image candidates, best first and without duplicates: OpenGraph, Twitter, the main
    /// entity's images, every other entity's, then the pictures in the page's content.
    pub fn image_candidates(&self) -> Vec<Url> {
        let mut images: Vec<Url> = Vec::new();
        let mut push = |url: &Url| {
            if !images.contains(url) {
                images.push(url.clone());
            }
        };
        self.open_graph.image.iter().for_each(&mut push);
        self.twitter.image.iter().for_each(&mut push);
        if let Some(main) = self.main_entity() {
            main.images().iter().for_each(&mut push);
        }
        for item in &self.structured {
            item.images().iter().for_each(&mut push);
        }
        for image in &self.content_images {
            push(&image.url);
        }
        images
    }

    /// What the page says about its main picture: `og:image:alt`, `twitter:image:alt`, or
    /// the alt text or caption of the same picture in the content.
    pub fn image_alt(&self) -> Option<&str> {
        if let Some(alt) = self
            .open_graph
            .image_alt
            .as_deref()
            .or(self.twitter.image_alt.as_deref())
        {
            return Some(alt);
        }
        let main = self.image_candidates().into_iter().next()?;
        let file = |url: &Url| {
            url.path_segments()
                .and_then(|mut segments| segments.next_back().map(str::to_owned))
        };
        let main_file = file(&main);
        self.content_images
            .iter()
            .find(|image| {
                image.url == main || (main_file.is_some() && file(&image.url) == main_file)
            })
            .and_then(|image| image.caption.as_deref().or(image.alt.as_deref()))
    }

    /// The link a pin should carry: the canonical URL, else `og:url`, else the fetched URL.
    pub fn link(&self) -> Option<&Url> {
        self.canonical_url
            .as_ref()
            .or(self.open_graph.url.as_ref())
            .or(self.url.as_ref())
    }

    /// Keywords the page declares: the main entity's keywords first, then `article:tag`, then
    /// `<meta name=keywords>`.
    pub fn declared_keywords(&self) -> Vec<String> {
        let mut keywords: Vec<String> = Vec::new();
        match self.main_entity() {
            Some(StructuredData::Article(a)) => keywords.extend(a.keywords.iter().cloned()),
            Some(StructuredData::Recipe(r)) => keywords.extend(r.keywords.iter().cloned()),
            _ => {}
        }
        keywords.extend(self.open_graph.tags.iter().cloned());
        keywords.extend(self.meta_keywords.iter().cloned());
        keywords
    }
}

/// Decodes HTML entities, as many levels as a page escaped them (at most three), drops
/// stray tags, collapses runs of whitespace, trims, and drops empty strings.
pub fn clean_text(raw: &str) -> Option<String> {
    let decoded = decode_entities(raw);
    let without_tags = strip_tags(&decoded);
    let text = without_tags
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!text.is_empty()).then_some(text)
}

/// Decodes HTML entities until none is left, at most three levels deep (`&amp;aacute;` → `á`).
pub fn decode_entities(raw: &str) -> String {
    let mut text = raw.to_owned();
    for _ in 0..3 {
        if !text.contains('&') {
            break;
        }
        let next = html_escape::decode_html_entities(&text).into_owned();
        if next == text {
            break;
        }
        text = next;
    }
    text
}

/// Drops `<tag …>` markup that descriptions in JSON-LD sometimes carry. A `<` not followed by
/// a letter, `/` or `!` is text and stays.
fn strip_tags(text: &str) -> String {
    if !text.contains('<') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let is_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        match (is_tag, after.find('>')) {
            (true, Some(end)) => {
                out.push(' ');
                rest = &after[end + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn select_first_text(document: &Html, selector: &str) -> Option<String> {
    let selector = Selector::parse(selector).ok()?;
    document
        .select(&selector)
        .find_map(|element| clean_text(&element.text().collect::<String>()))
}

fn resolve_url(base: Option<&Url>, raw: &str) -> Option<Url> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let url = match base {
        Some(base) => base.join(raw).ok()?,
        None => Url::parse(raw).ok()?,
    };
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn split_keywords(raw: &str) -> Vec<String> {
    raw.split([',', ';']).filter_map(clean_text).collect()
}

/// The depth bound keeps hostile input from recursing without end.
const MAX_DEPTH: usize = 8;

/// Every typed object anywhere in the JSON-LD tree is a candidate: at the top, in an array,
/// in an `@graph`, as a `mainEntity`, or nested in another entity's property.
fn collect_structured(
    value: &Value,
    resolve: &dyn Fn(&str) -> Option<Url>,
    out: &mut Vec<StructuredData>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                collect_structured(item, resolve, out, depth + 1);
            }
        }
        Value::Object(object) => {
            if let Some(item) = read_typed_object(value, resolve) {
                out.push(item);
            }
            for (key, nested) in object {
                // Related and similar things are other pages' subjects, not this page's.
                let elsewhere = matches!(
                    key.as_str(),
                    "isSimilarTo"
                        | "isRelatedTo"
                        | "isAccessoryOrSparePartFor"
                        | "review"
                        | "subjectOf"
                        | "itemListElement"
                );
                if !elsewhere && (nested.is_object() || nested.is_array()) {
                    collect_structured(nested, resolve, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// Names of the site: a `WebSite`'s name, and any entity's `publisher` name.
fn collect_site_names(value: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                collect_site_names(item, out, depth + 1);
            }
        }
        Value::Object(object) => {
            let types = schema_types(value);
            let mut add = |name: Option<String>| {
                if let Some(name) = name
                    && !out.contains(&name)
                {
                    out.push(name);
                }
            };
            if types.iter().any(|t| t.eq_ignore_ascii_case("WebSite")) {
                add(string_field(value, "name"));
            }
            add(name_of(object.get("publisher")));
            for nested in object.values() {
                if nested.is_object() || nested.is_array() {
                    collect_site_names(nested, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn schema_types(value: &Value) -> Vec<String> {
    let bare = |text: &str| {
        text.rsplit(['/', ':', '#'])
            .next()
            .unwrap_or(text)
            .trim()
            .to_owned()
    };
    match value.get("@type") {
        Some(Value::String(text)) => vec![bare(text)],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(bare).collect(),
        _ => Vec::new(),
    }
}

const ARTICLE_TYPES: [&str; 9] = [
    "Article",
    "NewsArticle",
    "BlogPosting",
    "Report",
    "ScholarlyArticle",
    "TechArticle",
    "OpinionNewsArticle",
    "AnalysisNewsArticle",
    "LiveBlogPosting",
];

const WORK_TYPES: [&str; 10] = [
    "MusicAlbum",
    "MusicRecording",
    "MusicPlaylist",
    "Book",
    "Movie",
    "TVSeries",
    "Course",
    "Game",
    "VideoGame",
    "SoftwareApplication",
];

fn read_typed_object(
    value: &Value,
    resolve: &dyn Fn(&str) -> Option<Url>,
) -> Option<StructuredData> {
    let types = schema_types(value);
    let has = |name: &str| types.iter().any(|t| t.eq_ignore_ascii_case(name));
    if has("Recipe") {
        let ingredients: Vec<String> = match value
            .get("recipeIngredient")
            .or_else(|| value.get("ingredients"))
        {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(clean_text)
                .collect(),
            Some(Value::String(text)) => clean_text(text).into_iter().collect(),
            _ => Vec::new(),
        };
        let minutes = |key: &str| {
            string_field(value, key)
                .as_deref()
                .and_then(iso8601_minutes)
        };
        let total = minutes("totalTime").or_else(|| {
            let parts = [minutes("prepTime"), minutes("cookTime")];
            parts
                .iter()
                .any(Option::is_some)
                .then(|| parts.iter().flatten().sum())
        });
        return Some(StructuredData::Recipe(Recipe {
            name: string_field(value, "name"),
            description: string_field(value, "description"),
            images: images_field(value.get("image"), resolve),
            ingredient_count: ingredients.len(),
            ingredients,
            total_minutes: total,
            prep_minutes: minutes("prepTime"),
            servings: scalar_text(first_of(value.get("recipeYield"))),
            category: string_field(value, "recipeCategory"),
            cuisine: string_field(value, "recipeCuisine"),
            keywords: keywords_field(value.get("keywords")),
        }));
    }
    if has("Product") || has("ProductModel") || has("IndividualProduct") {
        let offer = first_offer(value.get("offers"));
        return Some(StructuredData::Product(Product {
            name: string_field(value, "name"),
            description: string_field(value, "description"),
            images: images_field(value.get("image"), resolve),
            brand: name_of(value.get("brand")).or_else(|| name_of(value.get("manufacturer"))),
            price: offer.and_then(|o| {
                scalar_text(o.get("price")).or_else(|| scalar_text(o.get("lowPrice")))
            }),
            currency: offer.and_then(|o| scalar_text(o.get("priceCurrency"))),
            material: string_field(value, "material"),
            color: string_field(value, "color"),
            category: name_of(value.get("category")),
        }));
    }
    if types.iter().any(|t| t.ends_with("Event")) {
        let location = first_of(value.get("location"));
        let address = location.and_then(|l| first_of(l.get("address")));
        let performers = match value.get("performer") {
            Some(Value::Array(items)) => items.iter().filter_map(|i| name_of(Some(i))).collect(),
            other => name_of(other).into_iter().collect(),
        };
        return Some(StructuredData::Event(Event {
            name: string_field(value, "name"),
            description: string_field(value, "description"),
            images: images_field(value.get("image"), resolve),
            start: string_field(value, "startDate"),
            venue: location.and_then(|l| name_of(Some(l))),
            locality: address.and_then(|a| string_field(a, "addressLocality")),
            performers,
        }));
    }
    if let Some(kind) = ARTICLE_TYPES.into_iter().find(|kind| has(kind)) {
        return Some(StructuredData::Article(Article {
            kind: kind.to_owned(),
            headline: string_field(value, "headline").or_else(|| string_field(value, "name")),
            description: string_field(value, "description"),
            images: images_field(value.get("image"), resolve),
            author: name_of(value.get("author")),
            keywords: keywords_field(value.get("keywords")),
            section: string_field(value, "articleSection"),
            published: string_field(value, "datePublished"),
            place: name_of(
                value
                    .get("contentLocation")
                    .or_else(|| value.get("locationCreated")),
            ),
        }));
    }
    if let Some(kind) = WORK_TYPES.into_iter().find(|kind| has(kind)) {
        return Some(StructuredData::Work(Work {
            kind: kind.to_owned(),
            name: string_field(value, "name"),
            description: string_field(value, "description"),
            images: images_field(value.get("image"), resolve),
            creator: name_of(value.get("byArtist"))
                .or_else(|| name_of(value.get("author")))
                .or_else(|| name_of(value.get("creator"))),
            genre: string_field(value, "genre"),
            published: string_field(value, "datePublished"),
        }));
    }
    None
}

fn first_of(value: Option<&Value>) -> Option<&Value> {
    match value? {
        Value::Array(items) => items.first(),
        other => Some(other),
    }
}

fn string_field(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(text) => clean_text(text),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().and_then(clean_text))
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Object(object) => object
            .get("name")
            .and_then(Value::as_str)
            .and_then(clean_text),
        _ => None,
    }
}

fn scalar_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => clean_text(text),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn name_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => clean_text(text).filter(|name| !name.contains("://")),
        Value::Object(object) => object.get("name").and_then(|name| match name {
            Value::String(text) => clean_text(text),
            Value::Array(items) => items.iter().find_map(|v| v.as_str().and_then(clean_text)),
            _ => None,
        }),
        Value::Array(items) => items.iter().find_map(|item| name_of(Some(item))),
        _ => None,
    }
}

fn first_offer(value: Option<&Value>) -> Option<&Value> {
    match value? {
        Value::Array(items) => items.iter().find(|item| item.is_object()),
        object @ Value::Object(_) => Some(object),
        _ => None,
    }
}

fn images_field(value: Option<&Value>, resolve: &dyn Fn(&str) -> Option<Url>) -> Vec<Url> {
    let mut images = Vec::new();
    let mut add = |raw: Option<&str>| {
        if let Some(url) = raw.and_then(resolve)
            && !images.contains(&url)
        {
            images.push(url);
        }
    };
    let of_object = |item: &Value| -> Option<String> {
        item.get("url")
            .or_else(|| item.get("contentUrl"))
            .and_then(|v| match v {
                Value::String(text) => Some(text.clone()),
                Value::Array(items) => items.iter().find_map(Value::as_str).map(str::to_owned),
                _ => None,
            })
    };
    match value {
        Some(Value::String(text)) => add(Some(text)),
        Some(object @ Value::Object(_)) => add(of_object(object).as_deref()),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(text) => add(Some(text)),
                    Value::Object(_) => add(of_object(item).as_deref()),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    images
}

fn keywords_field(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => split_keywords(&decode_entities(text)),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(|text| split_keywords(&decode_entities(text)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Words in an element's `id` or `class` that mark page furniture rather than content.
const FURNITURE: [&str; 25] = [
    "nav",
    "menu",
    "footer",
    "header",
    "sidebar",
    "aside",
    "cookie",
    "consent",
    "newsletter",
    "comment",
    "related",
    "share",
    "social",
    "advert",
    "promo",
    "breadcrumb",
    "banner",
    "login",
    "modal",
    "popup",
    "popover",
    "widget",
    "recommend",
    // Posts of other sites embedded in an article.
    "instagram",
    "tweet",
];

/// Words that mark furniture for text only: a product's own pictures often sit in a slider,
/// but the sentences of a row of other pages' teasers ("More recipes like this"), a shop's
/// delivery terms and a nutrition label's fine print say nothing of the thing.
const TEXT_FURNITURE: [&str; 7] = [
    "carousel",
    "slick",
    "delivery",
    "shipping",
    "disclaimer",
    "nutrition",
    "teaser",
];

/// Furniture words that also count inside a longer run of letters ("bottombannercontainer",
/// "kcpAppModal"), where sites glue words together without a separator; the second list for
/// text only.
const FURNITURE_INSIDE: [&str; 5] = ["banner", "newsletter", "breadcrumb", "popover", "modal"];
const TEXT_FURNITURE_INSIDE: [&str; 3] = ["carousel", "delivery", "disclaimer"];

/// Whether an element is furniture for the pictures of a page or, with `text`, for its
/// sentences.
fn is_furniture(element: &ElementRef<'_>, text: bool) -> bool {
    let value = element.value();
    if matches!(
        value.name(),
        "nav" | "footer" | "header" | "aside" | "form" | "noscript" | "script" | "style"
    ) {
        return true;
    }
    // Whole-page containers carry every feature flag of a site in their classes.
    if matches!(value.name(), "html" | "body" | "main" | "article") {
        return false;
    }
    let marks = format!(
        "{} {}",
        value.attr("id").unwrap_or_default(),
        value.attr("class").unwrap_or_default()
    )
    .to_ascii_lowercase();
    marks
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|token| {
            let starts = |word: &&str| token == *word || token.starts_with(word);
            let inside = |word: &&str| token.contains(word);
            FURNITURE.iter().any(starts)
                || FURNITURE_INSIDE.iter().any(inside)
                || (text
                    && (TEXT_FURNITURE.iter().any(starts)
                        || TEXT_FURNITURE_INSIDE.iter().any(inside)))
        })
}

/// How far up the tree an element's containers are looked at; hostile nesting stops here.
const MAX_ANCESTORS: usize = 48;

fn in_furniture(element: &ElementRef<'_>, text: bool) -> bool {
    std::iter::once(*element)
        .chain(element.ancestors().filter_map(ElementRef::wrap))
        .take(MAX_ANCESTORS)
        .any(|e| is_furniture(&e, text))
}

fn in_main_content(element: &ElementRef<'_>) -> bool {
    element
        .ancestors()
        .filter_map(ElementRef::wrap)
        .take(MAX_ANCESTORS)
        .any(|e| {
            let value = e.value();
            matches!(value.name(), "main" | "article")
                || value
                    .attr("itemprop")
                    .is_some_and(|p| p.contains("articleBody") || p.contains("recipeInstructions"))
                || value.attr("role") == Some("main")
        })
}

/// The first paragraphs of the main text: `<p>`s outside navigation, headers, footers and
/// comment sections, long enough to say something; those inside `<main>`/`<article>` first.
fn main_paragraphs(document: &Html) -> Vec<String> {
    let Ok(selector) = Selector::parse("p") else {
        return Vec::new();
    };
    let mut main = Vec::new();
    let mut other = Vec::new();
    // Enough paragraphs to find a dozen in the main text; a page of a million paragraphs is
    // not read to its end.
    let mut looked_at = 0;
    for element in document.select(&selector) {
        if main.len() >= 12 || looked_at >= 400 {
            break;
        }
        let Some(text) = clean_text(&element.text().collect::<String>()) else {
            continue;
        };
        let wide = text.chars().filter(|c| is_wide(*c)).count();
        let long_enough = text.chars().count() >= 60 || wide >= 20;
        if !long_enough {
            continue;
        }
        looked_at += 1;
        if in_furniture(&element, true) {
            continue;
        }
        if in_main_content(&element) {
            main.push(text);
        } else if other.len() < 12 {
            other.push(text);
        }
    }
    if main.is_empty() { other } else { main }
}

/// Characters of scripts written without spaces between words (CJK, kana, Thai).
pub(crate) fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF
        | 0x0E00..=0x0E7F)
}

/// Pictures in the page's content, most likely the page's own picture first: one inside the
/// main content, marked as the main or product image, or whose alt text repeats the page's
/// title. Icons, logos, tracking pixels, avatars and pictures in page furniture are left out.
fn content_images(
    document: &Html,
    resolve: &dyn Fn(&str) -> Option<Url>,
    title: Option<&str>,
) -> Vec<PageImage> {
    let Ok(selector) = Selector::parse("img") else {
        return Vec::new();
    };
    let title_words: Vec<String> = title
        .unwrap_or_default()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_owned)
        .collect();
    let mut scored: Vec<(i32, usize, PageImage)> = Vec::new();
    for (index, element) in document.select(&selector).enumerate() {
        if scored.len() >= 40 || index >= 1000 {
            break;
        }
        let value = element.value();
        let raw = [
            "data-old-hires",
            "data-src",
            "data-lazy-src",
            "data-original",
            "src",
        ]
        .into_iter()
        .filter_map(|attr| value.attr(attr))
        .map(str::trim)
        .find(|src| !src.is_empty() && !src.starts_with("data:"))
        .map(str::to_owned)
        .or_else(|| value.attr("srcset").and_then(largest_in_srcset));
        let Some(url) = raw.as_deref().and_then(resolve) else {
            continue;
        };
        let path = url.path().to_ascii_lowercase();
        if path.ends_with(".svg") || path.ends_with(".gif") || path.ends_with(".ico") {
            continue;
        }
        let marks = format!(
            "{} {} {} {}",
            value.attr("id").unwrap_or_default(),
            value.attr("class").unwrap_or_default(),
            value.attr("itemprop").unwrap_or_default(),
            path
        )
        .to_ascii_lowercase();
        if [
            "logo", "icon", "sprite", "pixel", "avatar", "badge", "spacer", "blank", "tracking",
        ]
        .iter()
        .any(|word| marks.contains(word))
        {
            continue;
        }
        let size = |attr: &str| {
            value
                .attr(attr)
                .and_then(|v| v.trim().trim_end_matches("px").parse::<u32>().ok())
        };
        if size("width").is_some_and(|w| w < 100) || size("height").is_some_and(|h| h < 100) {
            continue;
        }
        if in_furniture(&element, false) {
            continue;
        }
        let alt = value.attr("alt").and_then(clean_text);
        let caption = element
            .ancestors()
            .filter_map(ElementRef::wrap)
            .take(4)
            .find(|e| e.value().name() == "figure")
            .and_then(|figure| {
                let caption = Selector::parse("figcaption").ok()?;
                figure
                    .select(&caption)
                    .find_map(|c| clean_text(&c.text().collect::<String>()))
            });
        let mut score = 0;
        if in_main_content(&element) {
            score += 2;
        }
        if [
            "main", "hero", "landing", "primary", "product", "featured", "image",
        ]
        .iter()
        .any(|word| marks.contains(word))
        {
            score += 2;
        }
        if let Some(alt) = &alt {
            let alt = alt.to_lowercase();
            let shared = title_words
                .iter()
                .filter(|w| alt.contains(w.as_str()))
                .count();
            if !title_words.is_empty() && shared * 2 >= title_words.len() {
                score += 4;
            }
        }
        if size("width").is_some_and(|w| w >= 300) {
            score += 1;
        }
        scored.push((score, index, PageImage { url, alt, caption }));
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut images: Vec<PageImage> = Vec::new();
    for (_, _, image) in scored {
        if images.len() >= 8 {
            break;
        }
        if !images.iter().any(|i| i.url == image.url) {
            images.push(image);
        }
    }
    images
}

/// The widest candidate of a `srcset` (`a.jpg 320w, b.jpg 1200w`).
fn largest_in_srcset(srcset: &str) -> Option<String> {
    srcset
        .split(',')
        .filter_map(|candidate| {
            let mut parts = candidate.split_whitespace();
            let url = parts.next()?;
            let width = parts
                .next()
                .and_then(|w| w.trim_end_matches(['w', 'x']).parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((width, url.to_owned()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, url)| url)
}

/// Minutes in an ISO 8601 duration such as `PT1H30M` or `P1DT2H`; seconds round up to a
/// minute. Anything else (including years and months, which have no fixed length) is `None`.
pub fn iso8601_minutes(text: &str) -> Option<u32> {
    let text = text.trim().to_ascii_uppercase();
    let rest = text.strip_prefix('P')?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut total_seconds: u64 = 0;
    let mut any = false;
    let mut read = |part: &str, units: &[(char, u64)]| -> Option<()> {
        let mut number = String::new();
        for ch in part.chars() {
            if ch.is_ascii_digit() || ch == '.' {
                number.push(ch);
                continue;
            }
            let &(_, seconds) = units.iter().find(|(unit, _)| *unit == ch)?;
            let value: f64 = number.parse().ok()?;
            if !value.is_finite() || value < 0.0 {
                return None;
            }
            total_seconds = total_seconds.checked_add((value * seconds as f64).round() as u64)?;
            number.clear();
            any = true;
        }
        number.is_empty().then_some(())
    };
    read(date_part, &[('W', 7 * 86_400), ('D', 86_400)])?;
    if let Some(time) = time_part {
        if time.is_empty() {
            return None;
        }
        read(time, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    if !any {
        return None;
    }
    u32::try_from(total_seconds.div_ceil(60)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_iso8601_durations() {
        assert_eq!(iso8601_minutes("PT45M"), Some(45));
        assert_eq!(iso8601_minutes("PT1H30M"), Some(90));
        assert_eq!(iso8601_minutes("P1DT2H"), Some(26 * 60));
        assert_eq!(iso8601_minutes("PT90S"), Some(2));
        assert_eq!(iso8601_minutes("pt0.5h"), Some(30));
        assert_eq!(iso8601_minutes("P1M"), None);
        assert_eq!(iso8601_minutes("45 minutes"), None);
        assert_eq!(iso8601_minutes("PT"), None);
        assert_eq!(iso8601_minutes("P"), None);
        assert_eq!(iso8601_minutes(""), None);
    }

    #[test]
    fn broken_json_ld_does_not_spoil_the_page() {
        let html = r#"<html><head><title>Hi</title>
            <script type="application/ld+json">{"@type": "Product", "name": </script>
            <script type="application/ld+json">{"@type": "Product", "name": "Lamp"}</script>
            </head></html>"#;
        let meta = PageMetadata::from_html(html, None);
        assert_eq!(meta.html_title.as_deref(), Some("Hi"));
        assert_eq!(meta.product().and_then(|p| p.name.as_deref()), Some("Lamp"));
    }

    #[test]
    fn deeply_nested_json_ld_is_bounded() {
        let mut json = String::new();
        for _ in 0..20 {
            json.push('[');
        }
        json.push_str(r#"{"@type":"Product","name":"Deep"}"#);
        for _ in 0..20 {
            json.push(']');
        }
        let html = format!(r#"<script type="application/ld+json">{json}</script>"#);
        let meta = PageMetadata::from_html(&html, None);
        assert!(meta.structured.is_empty());
    }

    #[test]
    fn schema_types_accept_prefixes_and_arrays() {
        let html = r#"<script type="application/ld+json">
            [{"@type": "http://schema.org/Recipe", "name": "Soup"},
             {"@type": ["Thing", "schema:BlogPosting"], "headline": "Post"}]</script>"#;
        let meta = PageMetadata::from_html(html, None);
        assert_eq!(meta.recipe().and_then(|r| r.name.as_deref()), Some("Soup"));
        let posting = meta.structured.iter().find_map(|s| match s {
            StructuredData::Article(a) => Some(a.kind.as_str()),
            _ => None,
        });
        assert_eq!(posting, Some("BlogPosting"));
    }

    #[test]
    fn entities_are_decoded_however_deeply_escaped() {
        assert_eq!(
            clean_text("caf&amp;eacute; &amp;amp; t&#039;as").as_deref(),
            Some("café & t'as")
        );
        assert_eq!(
            clean_text("Ikigai &#034;Methode&#034;").as_deref(),
            Some("Ikigai \"Methode\"")
        );
        assert_eq!(
            clean_text("<p>Bold <b>move</b></p>").as_deref(),
            Some("Bold move")
        );
        assert_eq!(clean_text("1 < 2").as_deref(), Some("1 < 2"));
    }

    #[test]
    fn the_recipe_wins_over_the_article_around_it() {
        let html = r#"<script type="application/ld+json">{"@graph": [
            {"@type": "Article", "headline": "Our week of soups"},
            {"@type": "WebPage", "name": "Soup"},
            {"@type": "Recipe", "name": "Leek soup", "recipeIngredient": ["leeks", "butter"]}
        ]}</script>"#;
        let meta = PageMetadata::from_html(html, None);
        assert_eq!(
            meta.main_entity().map(StructuredData::kind_name),
            Some("recipe")
        );
        assert_eq!(meta.best_title(), Some("Leek soup"));
    }

    /// An entity, escaped `levels` more times (`&aacute;` → `&amp;aacute;`).
    fn escaped(entity: &str, levels: usize) -> String {
        let mut text = entity.to_owned();
        for _ in 0..levels {
            text = text.replacen('&', "&amp;", 1);
        }
        text
    }

    proptest::proptest! {
        #[test]
        fn no_entity_survives_reading(
            parts in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "&aacute;", "&eacute;", "&#039;", "&#x27;", "&quot;", "&amp;", "&lt;",
                        "&ntilde;", "&iexcl;", "&#8217;", "&nbsp;", "word", " ", "caf",
                    ]),
                    0usize..3,
                ),
                0..24,
            )
        ) {
            let raw: String = parts.iter().map(|(entity, levels)| escaped(entity, *levels)).collect();
            let text = clean_text(&raw).unwrap_or_default();
            for entity in ["&aacute;", "&eacute;", "&#039;", "&#x27;", "&quot;", "&amp;", "&ntilde;", "&iexcl;", "&#8217;", "&nbsp;"] {
                proptest::prop_assert!(!text.contains(entity), "{entity} in {text:?} from {raw:?}");
            }
        }
    }

    #[test]
    fn deep_pages_with_many_paragraphs_are_read_in_bounded_work() {
        let sentence = "A paragraph long enough to be read as part of the page's main text. ";
        let html = format!(
            "<title>Deep</title>{}{}",
            "<div class=x>".repeat(3000),
            format!("<p>{sentence}</p><img src=/a.jpg alt='a picture of the deep page'>")
                .repeat(20_000)
        );
        let started = std::time::Instant::now();
        let meta = PageMetadata::from_html(&html, None);
        assert!(meta.paragraphs.len() <= 12);
        // Reading is linear in the page: far under what quadratic work would take.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn srcset_gives_its_widest_picture() {
        assert_eq!(
            largest_in_srcset("a.jpg 320w, b.jpg 1200w, c.jpg 640w").as_deref(),
            Some("b.jpg")
        );
    }
}
