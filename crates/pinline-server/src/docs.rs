//! `GET /openapi.json` and `GET /docs`: the OpenAPI document, and a reference page for people
//! rendered from that same document on the server (no script, nothing loaded from elsewhere).
//!
//! The page is built once, when the router is built: operations grouped by tag, each with its
//! method, path, parameters, request body fields, responses and a curl example, then the
//! schemas. It walks the document as JSON rather than utoipa's types, so it shows whatever the
//! document says, in the document's own words.

use std::fmt::Write as _;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

/// The document and the page, rendered once.
#[derive(Debug, Clone)]
pub struct Reference {
    json: Arc<str>,
    html: Arc<str>,
}

impl Reference {
    /// Renders the JSON and the page for `document`.
    pub fn new(document: &utoipa::openapi::OpenApi) -> Reference {
        let value = serde_json::to_value(document).unwrap_or_default();
        let json = serde_json::to_string_pretty(&value).unwrap_or_default();
        let html = match ReferencePage::new(&value).render() {
            Ok(html) => html,
            Err(error) => {
                tracing::error!(error = %error, "the API reference page could not be rendered");
                "<!doctype html><title>pinline API</title><p>The reference could not be rendered; \
                 see <a href=\"/openapi.json\">/openapi.json</a>.</p>"
                    .to_owned()
            }
        };
        Reference {
            json: json.into(),
            html: html.into(),
        }
    }

    /// `GET /openapi.json` and `GET /docs`, neither needing an API key.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let json = self.json.clone();
        let html = self.html.clone();
        Router::new()
            .route(
                "/openapi.json",
                get(move || {
                    let json = json.clone();
                    async move { respond("application/json", &json) }
                }),
            )
            .route(
                "/docs",
                get(move || {
                    let html = html.clone();
                    async move { respond("text/html; charset=utf-8", &html) }
                }),
            )
    }
}

fn respond(content_type: &'static str, body: &str) -> Response {
    let mut response = (StatusCode::OK, body.to_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

#[derive(Template)]
#[template(path = "docs.html")]
struct ReferencePage {
    title: String,
    version: String,
    intro: String,
    security: String,
    tags: Vec<TagSection>,
    schemas: Vec<SchemaSection>,
}

struct TagSection {
    name: String,
    description: String,
    operations: Vec<OperationSection>,
}

struct OperationSection {
    id: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    needs_key: bool,
    parameters: Vec<Row>,
    body: Option<BodySection>,
    responses: Vec<ResponseRow>,
    curl: String,
}

struct BodySection {
    required: bool,
    kind: String,
    description: String,
    fields: Vec<Row>,
}

/// A parameter or a field: `kind` and `description` are HTML (escaped, with links).
struct Row {
    name: String,
    place: String,
    kind: String,
    required: bool,
    description: String,
}

struct ResponseRow {
    status: String,
    description: String,
    body: String,
}

struct SchemaSection {
    name: String,
    description: String,
    fields: Vec<Row>,
    kind: String,
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

impl ReferencePage {
    fn new(doc: &Value) -> ReferencePage {
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let mut tags: Vec<TagSection> = doc["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|tag| TagSection {
                name: text(&tag["name"]),
                description: markdown(tag["description"].as_str().unwrap_or_default()),
                operations: Vec::new(),
            })
            .collect();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let operation = &item[method];
                if !operation.is_object() {
                    continue;
                }
                let section = OperationSection::new(doc, path, method, operation);
                let tag = operation["tags"][0].as_str().unwrap_or("other").to_owned();
                match tags.iter_mut().find(|t| t.name == tag) {
                    Some(found) => found.operations.push(section),
                    None => tags.push(TagSection {
                        name: tag,
                        description: String::new(),
                        operations: vec![section],
                    }),
                }
            }
        }
        // Within a tag: by path, then in the order people read a resource.
        for tag in &mut tags {
            tag.operations.sort_by_key(|op| {
                let rank = ["GET", "POST", "PATCH", "PUT", "DELETE"]
                    .iter()
                    .position(|m| *m == op.method);
                (op.path.clone(), rank)
            });
        }
        tags.retain(|tag| !tag.operations.is_empty());
        let schemas = doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| SchemaSection {
                name: name.clone(),
                description: markdown(schema["description"].as_str().unwrap_or_default()),
                fields: fields(doc, schema),
                kind: kind(schema),
            })
            .collect();
        let security = doc["components"]["securitySchemes"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, scheme)| {
                format!(
                    "<code>{}</code>: {} <code>{}</code>. {}",
                    escape(name),
                    escape(scheme["type"].as_str().unwrap_or_default()),
                    escape(scheme["scheme"].as_str().unwrap_or_default()),
                    markdown_inline(scheme["description"].as_str().unwrap_or_default()),
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        ReferencePage {
            title: text(&doc["info"]["title"]),
            version: text(&doc["info"]["version"]),
            intro: markdown(doc["info"]["description"].as_str().unwrap_or_default()),
            security,
            tags,
            schemas,
        }
    }
}

impl OperationSection {
    fn new(doc: &Value, path: &str, method: &str, operation: &Value) -> OperationSection {
        let needs_key = operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        let parameters: Vec<Row> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| Row {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                place: p["in"].as_str().unwrap_or_default().to_owned(),
                kind: kind(&p["schema"]),
                required: p["required"].as_bool().unwrap_or(false),
                description: markdown_inline(p["description"].as_str().unwrap_or_default()),
            })
            .collect();
        let body = operation["requestBody"].as_object().map(|body| {
            let schema = &body
                .get("content")
                .and_then(|c| c.get("application/json"))
                .map(|c| &c["schema"])
                .unwrap_or(&Value::Null);
            BodySection {
                required: body
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                kind: kind(schema),
                description: markdown_inline(
                    body.get("description")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                ),
                fields: fields(doc, schema),
            }
        });
        let responses = operation["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, response)| {
                let body = response["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(content_type, content)| {
                        format!(
                            "{} <span class=\"muted\">{}</span>",
                            kind(&content["schema"]),
                            escape(content_type)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>");
                ResponseRow {
                    status: status.clone(),
                    description: markdown_inline(
                        response["description"].as_str().unwrap_or_default(),
                    ),
                    body,
                }
            })
            .collect();
        let method_upper = method.to_ascii_uppercase();
        OperationSection {
            id: operation["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            curl: curl(doc, &method_upper, path, operation, needs_key),
            method: method_upper,
            path: path.to_owned(),
            summary: operation["summary"].as_str().unwrap_or_default().to_owned(),
            description: markdown(operation["description"].as_str().unwrap_or_default()),
            needs_key,
            parameters,
            body,
            responses,
        }
    }
}

/// A curl command that calls the operation with an example body.
fn curl(doc: &Value, method: &str, path: &str, operation: &Value, needs_key: bool) -> String {
    let mut url = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        url.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e);
        url.push('$');
        url.push_str(&rest[start + 1..end].to_ascii_uppercase());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    url.push_str(rest);
    let mut lines = vec![if method == "GET" {
        format!("curl \"$PINLINE_URL{url}\"")
    } else {
        format!("curl -X {method} \"$PINLINE_URL{url}\"")
    }];
    if needs_key {
        lines.push("-H \"Authorization: Bearer $PINLINE_API_KEY\"".to_owned());
    }
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        if parameter["in"] == "header" {
            let name = parameter["name"].as_str().unwrap_or_default();
            lines.push(format!("-H \"{name}: order-1234\""));
        }
    }
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    if !schema.is_null() {
        let example = example(doc, schema, 0);
        let body = serde_json::to_string_pretty(&example).unwrap_or_default();
        lines.push("-H \"Content-Type: application/json\"".to_owned());
        lines.push(format!("-d '{}'", body.replace('\'', "'\\''")));
    }
    lines.join(" \\\n  ")
}

/// Follows a `$ref` into `components`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => reference
            .strip_prefix("#/")
            .map(|pointer| doc.pointer(&format!("/{pointer}")).unwrap_or(&Value::Null))
            .unwrap_or(&Value::Null),
        None => schema,
    }
}

/// The fields of an object schema (following `$ref`, `allOf` and a nullable `oneOf`).
fn fields(doc: &Value, schema: &Value) -> Vec<Row> {
    let schema = resolve(doc, schema);
    let mut rows = Vec::new();
    for part in schema["allOf"]
        .as_array()
        .into_iter()
        .chain(schema["oneOf"].as_array())
        .flatten()
    {
        rows.extend(fields(doc, part));
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        rows.push(Row {
            name: name.clone(),
            place: String::new(),
            kind: kind(property),
            required: required.contains(&name.as_str()),
            description: markdown_inline(property["description"].as_str().unwrap_or_default()),
        });
    }
    rows
}

/// A schema's type in a few words of HTML, linking named schemas.
fn kind(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        let name = escape(name);
        return format!("<a href=\"#schema-{name}\">{name}</a>");
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[combinator].as_array() {
            let separator = if combinator == "allOf" {
                " and "
            } else {
                " or "
            };
            return parts.iter().map(kind).collect::<Vec<_>>().join(separator);
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
            .collect();
        return format!("one of {}", values.join(", "));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.is_empty() {
        return "any".to_owned();
    }
    types
        .iter()
        .map(|t| match *t {
            "array" => format!("array of {}", kind(&schema["items"])),
            "string" => match schema["format"].as_str() {
                Some(format) => format!("string ({})", escape(format)),
                None => "string".to_owned(),
            },
            other => escape(other),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// An example value for a schema: its own example, else one built from its fields.
fn example(doc: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(doc, schema);
    if depth > 6 {
        return Value::Null;
    }
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(example) = schema["examples"].as_array().and_then(|e| e.first()) {
        return example.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[combinator].as_array() {
            if combinator == "allOf" {
                let mut merged = serde_json::Map::new();
                for part in parts {
                    if let Value::Object(object) = example(doc, part, depth + 1) {
                        merged.extend(object);
                    }
                }
                return Value::Object(merged);
            }
            return parts
                .iter()
                .find(|part| part["type"] != "null")
                .map(|part| example(doc, part, depth + 1))
                .unwrap_or(Value::Null);
        }
    }
    let kind = match &schema["type"] {
        Value::String(one) => one.as_str(),
        Value::Array(many) => many
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => "object",
    };
    match kind {
        "object" => Value::Object(
            schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, property)| (name.clone(), example(doc, property, depth + 1)))
                .collect(),
        ),
        "array" => Value::Array(vec![example(doc, &schema["items"], depth + 1)]),
        "string" => match schema["format"].as_str() {
            Some("date-time") => Value::from("2026-12-01T09:30:00+01:00"),
            _ => Value::from("string"),
        },
        "integer" | "number" => schema.get("minimum").cloned().unwrap_or(Value::from(1)),
        "boolean" => Value::Bool(true),
        _ => Value::Null,
    }
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// The little Markdown the descriptions use, as HTML: paragraphs, `code` and **bold**. The text
/// is escaped first, so nothing in it can become markup of its own.
fn markdown(text: &str) -> String {
    text.split("\n\n")
        .filter(|paragraph| !paragraph.trim().is_empty())
        .fold(String::new(), |mut html, paragraph| {
            let _ = write!(html, "<p>{}</p>", markdown_inline(paragraph));
            html
        })
}

fn markdown_inline(text: &str) -> String {
    let escaped = escape(text);
    let mut html = String::with_capacity(escaped.len());
    for (index, piece) in escaped.split('`').enumerate() {
        if index % 2 == 1 {
            let _ = write!(html, "<code>{piece}</code>");
        } else {
            for (index, piece) in piece.split("**").enumerate() {
                if index % 2 == 1 {
                    let _ = write!(html, "<strong>{piece}</strong>");
                } else {
                    html.push_str(&piece.replace('*', ""));
                }
            }
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_escaped_before_markup() {
        assert_eq!(
            markdown_inline("use `a<b>` **now**"),
            "use <code>a&lt;b&gt;</code> <strong>now</strong>"
        );
        assert_eq!(markdown("one\n\ntwo"), "<p>one</p><p>two</p>");
    }

    #[test]
    fn curl_names_path_parameters_as_variables() {
        let doc = serde_json::json!({});
        let operation = serde_json::json!({});
        assert_eq!(
            curl(&doc, "GET", "/v1/posts/{post_id}", &operation, true),
            "curl \"$PINLINE_URL/v1/posts/$POST_ID\" \\\n  -H \"Authorization: Bearer $PINLINE_API_KEY\""
        );
    }
}
