//! schema.org microdata (`itemscope`, `itemtype`, `itemprop`) read into the same JSON shape as
//! JSON-LD, so that one reader serves both.
//!
//! Each top-level item (an `itemscope` that is not itself some item's property) becomes one
//! JSON object: `@type` from the last path segment of its `itemtype`, and one key per property
//! name. A property that is itself an item nests as an object; a property seen more than once
//! becomes an array of its distinct values.

use scraper::{ElementRef, Html, Selector};
use serde_json::{Map, Value};

/// How deep the element tree is walked inside one item; hostile nesting stops here.
const MAX_DEPTH: usize = 96;

/// Every top-level microdata item in the document, in document order.
pub(crate) fn items(document: &Html) -> Vec<Value> {
    let Ok(selector) = Selector::parse("[itemscope]") else {
        return Vec::new();
    };
    document
        .select(&selector)
        .filter(|element| element.value().attr("itemprop").is_none())
        .take(64)
        .map(|element| item(element, 0))
        .collect()
}

fn item(element: ElementRef<'_>, depth: usize) -> Value {
    let mut object = Map::new();
    if let Some(kind) = element
        .value()
        .attr("itemtype")
        .and_then(|types| types.split_whitespace().next())
    {
        object.insert("@type".to_owned(), Value::String(kind.to_owned()));
    }
    properties(element, &mut object, depth);
    Value::Object(object)
}

fn properties(parent: ElementRef<'_>, object: &mut Map<String, Value>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for child in parent.children().filter_map(ElementRef::wrap) {
        let value = child.value();
        let scoped = value.attr("itemscope").is_some();
        if let Some(names) = value.attr("itemprop") {
            let property = if scoped {
                item(child, depth + 1)
            } else {
                match property_value(child) {
                    Some(text) => Value::String(text),
                    None => continue,
                }
            };
            for name in names.split_whitespace() {
                add(object, name, property.clone());
            }
        }
        // A nested item's properties are its own, not this item's.
        if !scoped {
            properties(child, object, depth + 1);
        }
    }
}

fn add(object: &mut Map<String, Value>, name: &str, value: Value) {
    match object.get_mut(name) {
        None => {
            object.insert(name.to_owned(), value);
        }
        Some(Value::Array(values)) => {
            if !values.contains(&value) {
                values.push(value);
            }
        }
        Some(existing) => {
            if *existing != value {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
}

/// A property's value by the element that carries it, as the microdata rules say.
fn property_value(element: ElementRef<'_>) -> Option<String> {
    let value = element.value();
    let attribute = match value.name() {
        "meta" => value.attr("content"),
        "img" | "audio" | "video" | "source" | "embed" | "iframe" | "track" => {
            value.attr("data-src").or_else(|| value.attr("src"))
        }
        "a" | "link" | "area" => value.attr("href"),
        "time" => value.attr("datetime"),
        "data" | "meter" => value.attr("value"),
        _ => value.attr("content"),
    };
    let text = match attribute {
        Some(text) => text.to_owned(),
        None => element.text().collect::<String>(),
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_items_and_repeated_properties() {
        let html = Html::parse_document(
            r#"<div itemscope itemtype="http://schema.org/Product">
                 <h1 itemprop="name">Flea tablets</h1>
                 <img itemprop="image" src="/a.jpg">
                 <div itemprop="offers" itemscope itemtype="http://schema.org/Offer">
                   <meta itemprop="price" content="5.29"><span itemprop="priceCurrency">GBP</span>
                 </div>
                 <div itemprop="isSimilarTo" itemscope itemtype="http://schema.org/Product">
                   <span itemprop="name">Other tablets</span>
                 </div>
               </div>"#,
        );
        let found = items(&html);
        assert_eq!(found.len(), 1);
        let product = &found[0];
        assert_eq!(product["@type"], "http://schema.org/Product");
        assert_eq!(product["name"], "Flea tablets");
        assert_eq!(product["offers"]["price"], "5.29");
        assert_eq!(product["offers"]["priceCurrency"], "GBP");
        assert_eq!(product["isSimilarTo"]["name"], "Other tablets");
    }
}
