//! What a page says about itself: OpenGraph and Twitter card tags, `<title>`, the meta
//! description and keywords, the canonical link, and schema.org JSON-LD for products, articles
//! and recipes.
//!
//! Reading is forgiving on purpose: real pages carry broken JSON-LD, duplicate tags and relative
//! URLs. A block that does not parse is skipped, the first non-empty value of a tag wins, and
//! every image URL is resolved against the page URL and kept only when it is http(s).

use scraper::{Html, Selector};
use serde::Serialize;
use serde_json::Value;
use url::Url;

/// Everything read from one page (or assembled from a text-only idea).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PageMetadata {
    /// The page's URL after redirects, when the idea was a link.
    pub url: Option<Url>,
    /// `<link rel="canonical">`, resolved.
    pub canonical_url: Option<Url>,
    /// The `<title>` element's text.
    pub html_title: Option<String>,
    /// `<meta name="description">`.
    pub meta_description: Option<String>,
    /// `<meta name="keywords">`, split on commas.
    pub meta_keywords: Vec<String>,
    /// OpenGraph tags.
    pub open_graph: OpenGraph,
    /// Twitter card tags.
    pub twitter: TwitterCard,
    /// Recognised schema.org objects from JSON-LD blocks, in document order.
    pub structured: Vec<StructuredData>,
}

/// OpenGraph (`og:*`) tags.
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

/// A schema.org object this crate knows how to use.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StructuredData {
    /// `Product`.
    Product(Product),
    /// `Article`, `NewsArticle` or `BlogPosting`.
    Article(Article),
    /// `Recipe`.
    Recipe(Recipe),
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
    /// `totalTime` in minutes, when it is an ISO 8601 duration.
    pub total_minutes: Option<u32>,
    /// `keywords`.
    pub keywords: Vec<String>,
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

        if let Some(title) = select_first_text(&document, "title") {
            meta.html_title = Some(title);
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
                    .or_else(|| element.attr("itemprop"))
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                let Some(content) = element.attr("content").and_then(clean_text) else {
                    continue;
                };
                meta.apply_meta_tag(&key, content, &resolve);
            }
        }
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
                }
            }
        }
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
            "twitter:title" => set(&mut tw.title, Some(content)),
            "twitter:description" => set(&mut tw.description, Some(content)),
            "twitter:image" | "twitter:image:src" => set(&mut tw.image, resolve(&content)),
            "twitter:image:alt" => set(&mut tw.image_alt, Some(content)),
            "description" => set(&mut self.meta_description, Some(content)),
            "keywords" if self.meta_keywords.is_empty() => {
                self.meta_keywords = split_keywords(&content);
            }
            _ => {}
        }
    }

    /// The first product found, if any.
    pub fn product(&self) -> Option<&Product> {
        self.structured.iter().find_map(|item| match item {
            StructuredData::Product(product) => Some(product),
            _ => None,
        })
    }

    /// The first article found, if any.
    pub fn article(&self) -> Option<&Article> {
        self.structured.iter().find_map(|item| match item {
            StructuredData::Article(article) => Some(article),
            _ => None,
        })
    }

    /// The first recipe found, if any.
    pub fn recipe(&self) -> Option<&Recipe> {
        self.structured.iter().find_map(|item| match item {
            StructuredData::Recipe(recipe) => Some(recipe),
            _ => None,
        })
    }

    /// The best title: structured data first (it names the thing itself), then OpenGraph,
    /// Twitter, and `<title>`.
    pub fn best_title(&self) -> Option<&str> {
        let structured = self.structured.iter().find_map(|item| match item {
            StructuredData::Product(p) => p.name.as_deref(),
            StructuredData::Article(a) => a.headline.as_deref(),
            StructuredData::Recipe(r) => r.name.as_deref(),
        });
        structured
            .or(self.open_graph.title.as_deref())
            .or(self.twitter.title.as_deref())
            .or(self.html_title.as_deref())
    }

    /// The best description, in the same order as [`PageMetadata::best_title`].
    pub fn best_description(&self) -> Option<&str> {
        let structured = self.structured.iter().find_map(|item| match item {
            StructuredData::Product(p) => p.description.as_deref(),
            StructuredData::Article(a) => a.description.as_deref(),
            StructuredData::Recipe(r) => r.description.as_deref(),
        });
        structured
            .or(self.open_graph.description.as_deref())
            .or(self.twitter.description.as_deref())
            .or(self.meta_description.as_deref())
    }

    /// The site's name, from `og:site_name` or else the host.
    pub fn site_name(&self) -> Option<String> {
        self.open_graph.site_name.clone().or_else(|| {
            self.link().and_then(|url| {
                url.host_str()
                    .map(|h| h.trim_start_matches("www.").to_owned())
            })
        })
    }

    /// Image candidates, best first and without duplicates: OpenGraph, Twitter, then every
    /// structured-data image.
    pub fn image_candidates(&self) -> Vec<Url> {
        let mut images: Vec<Url> = Vec::new();
        let mut push = |url: &Url| {
            if !images.contains(url) {
                images.push(url.clone());
            }
        };
        self.open_graph.image.iter().for_each(&mut push);
        self.twitter.image.iter().for_each(&mut push);
        for item in &self.structured {
            let list = match item {
                StructuredData::Product(p) => &p.images,
                StructuredData::Article(a) => &a.images,
                StructuredData::Recipe(r) => &r.images,
            };
            list.iter().for_each(&mut push);
        }
        images
    }

    /// The alt text the page offers for its main image, if any.
    pub fn image_alt(&self) -> Option<&str> {
        self.open_graph
            .image_alt
            .as_deref()
            .or(self.twitter.image_alt.as_deref())
    }

    /// The link a pin should carry: the canonical URL, else `og:url`, else the fetched URL.
    pub fn link(&self) -> Option<&Url> {
        self.canonical_url
            .as_ref()
            .or(self.open_graph.url.as_ref())
            .or(self.url.as_ref())
    }

    /// Keywords the page declares: structured-data keywords first, then `<meta name=keywords>`.
    pub fn declared_keywords(&self) -> Vec<String> {
        let mut keywords: Vec<String> = Vec::new();
        for item in &self.structured {
            let list = match item {
                StructuredData::Article(a) => &a.keywords,
                StructuredData::Recipe(r) => &r.keywords,
                StructuredData::Product(_) => continue,
            };
            keywords.extend(list.iter().cloned());
        }
        keywords.extend(self.meta_keywords.iter().cloned());
        keywords
    }
}

/// Collapses runs of whitespace, trims, and drops empty strings.
pub(crate) fn clean_text(raw: &str) -> Option<String> {
    let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
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

/// JSON-LD nests: a top-level array, an `@graph`, or a `mainEntity` may hold the objects we
/// want. The depth bound keeps hostile input from recursing without end.
fn collect_structured(
    value: &Value,
    resolve: &dyn Fn(&str) -> Option<Url>,
    out: &mut Vec<StructuredData>,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                collect_structured(item, resolve, out, depth + 1);
            }
        }
        Value::Object(object) => {
            if let Some(graph) = object.get("@graph") {
                collect_structured(graph, resolve, out, depth + 1);
            }
            if let Some(item) = read_typed_object(value, resolve) {
                out.push(item);
            } else if let Some(main) = object.get("mainEntity") {
                collect_structured(main, resolve, out, depth + 1);
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

fn read_typed_object(
    value: &Value,
    resolve: &dyn Fn(&str) -> Option<Url>,
) -> Option<StructuredData> {
    let types = schema_types(value);
    let has = |name: &str| types.iter().any(|t| t.eq_ignore_ascii_case(name));
    if has("Recipe") {
        return Some(StructuredData::Recipe(Recipe {
            name: string_field(value, "name"),
            description: string_field(value, "description"),
            images: images_field(value.get("image"), resolve),
            ingredient_count: match value
                .get("recipeIngredient")
                .or_else(|| value.get("ingredients"))
            {
                Some(Value::Array(items)) => items.iter().filter(|v| v.is_string()).count(),
                Some(Value::String(_)) => 1,
                _ => 0,
            },
            total_minutes: string_field(value, "totalTime")
                .as_deref()
                .and_then(iso8601_minutes),
            keywords: keywords_field(value.get("keywords")),
        }));
    }
    if has("Product") {
        let offer = first_offer(value.get("offers"));
        return Some(StructuredData::Product(Product {
            name: string_field(value, "name"),
            description: string_field(value, "description"),
            images: images_field(value.get("image"), resolve),
            brand: name_of(value.get("brand")),
            price: offer.and_then(|o| {
                scalar_text(o.get("price")).or_else(|| scalar_text(o.get("lowPrice")))
            }),
            currency: offer.and_then(|o| scalar_text(o.get("priceCurrency"))),
        }));
    }
    let article_kind = ["Article", "NewsArticle", "BlogPosting"]
        .into_iter()
        .find(|kind| has(kind));
    if let Some(kind) = article_kind {
        return Some(StructuredData::Article(Article {
            kind: kind.to_owned(),
            headline: string_field(value, "headline").or_else(|| string_field(value, "name")),
            description: string_field(value, "description"),
            images: images_field(value.get("image"), resolve),
            author: name_of(value.get("author")),
            keywords: keywords_field(value.get("keywords")),
        }));
    }
    None
}

/// JSON-LD strings are often HTML-escaped twice; decode entities once and tidy whitespace.
fn decoded(text: &str) -> Option<String> {
    clean_text(&html_escape::decode_html_entities(text))
}

fn string_field(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(text) => decoded(text),
        Value::Array(items) => items.iter().find_map(|v| v.as_str().and_then(decoded)),
        _ => None,
    }
}

fn scalar_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => decoded(text),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn name_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => decoded(text),
        Value::Object(object) => object.get("name").and_then(Value::as_str).and_then(decoded),
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
    match value {
        Some(Value::String(text)) => add(Some(text)),
        Some(Value::Object(object)) => {
            add(object
                .get("url")
                .or_else(|| object.get("contentUrl"))
                .and_then(Value::as_str));
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(text) => add(Some(text)),
                    Value::Object(object) => add(object
                        .get("url")
                        .or_else(|| object.get("contentUrl"))
                        .and_then(Value::as_str)),
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
        Some(Value::String(text)) => split_keywords(&html_escape::decode_html_entities(text)),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(|text| split_keywords(&html_escape::decode_html_entities(text)))
            .collect(),
        _ => Vec::new(),
    }
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
        assert_eq!(meta.article().map(|a| a.kind.as_str()), Some("BlogPosting"));
    }
}
