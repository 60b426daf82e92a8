//! The tool table: each tool names an operation of pinline's OpenAPI document, and its input
//! schema is that operation's path and query parameters and request body, taken from the
//! document with every `$ref` inlined (an MCP input schema stands alone). Arguments are turned
//! back into the operation's request: path parameters into the path, query parameters into the
//! query, `idempotency_key` into the `Idempotency-Key` header, the rest into the JSON body.

use std::collections::BTreeSet;
use std::sync::Arc;

use http::Method;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use crate::McpError;
use crate::api::ApiRequest;

/// One tool: its name, the operation it sends, and what it is for.
struct Spec {
    name: &'static str,
    operation_id: &'static str,
    description: &'static str,
    read_only: bool,
}

const SPECS: [Spec; 8] = [
    Spec {
        name: "list_accounts",
        operation_id: "list_accounts",
        description: "The profile's connected Pinterest accounts with their health: status (active, refreshing, needs_reauth, disconnected), token expiry, scopes and last error. Use an account's `id` as `account_id` elsewhere.",
        read_only: true,
    },
    Spec {
        name: "list_boards",
        operation_id: "list_boards",
        description: "The boards of one account (a page of them; pass `bookmark` for the next). Use a board's `id` as `board_id` when posting.",
        read_only: true,
    },
    Spec {
        name: "create_post",
        operation_id: "create_post",
        description: "Queue a pin: `account_id`, `board_id` (or `board` by name), an image (`image_url`, or `media_source`), and optionally title, description, link, alt text and `publish_at` (RFC 3339; absent means now). pinline publishes it at its time, paced and exactly once. Pass `idempotency_key` to make retries of this call safe.",
        read_only: false,
    },
    Spec {
        name: "get_post",
        operation_id: "get_post",
        description: "One post with its status, pin once published, last error and every attempt.",
        read_only: true,
    },
    Spec {
        name: "list_posts",
        operation_id: "list_posts",
        description: "The profile's posts, newest first, filtered by `status`, `account_id` or a time window; `cursor` reads the next page.",
        read_only: true,
    },
    Spec {
        name: "cancel_post",
        operation_id: "delete_post",
        description: "Cancel a post that has not published yet; for a published post, delete its pin from Pinterest.",
        read_only: false,
    },
    Spec {
        name: "draft_from_url",
        operation_id: "create_drafts",
        description: "Turn an idea (a page `url`, a line of `text`, an image) into pin drafts: title, description, alt text and a cropped image each, in the page's language. Publish one with `publish_draft`.",
        read_only: false,
    },
    Spec {
        name: "publish_draft",
        operation_id: "publish_draft",
        description: "Publish or schedule a draft on an account's board, through the same checks as `create_post`.",
        read_only: false,
    },
];

/// The argument that becomes the `Idempotency-Key` header.
const IDEMPOTENCY_ARGUMENT: &str = "idempotency_key";

/// How a tool's arguments become its request.
#[derive(Debug, Clone)]
struct Route {
    method: Method,
    path: String,
    path_params: Vec<String>,
    query_params: Vec<String>,
    idempotency: bool,
    has_body: bool,
}

/// The tools, as listed to clients and as sent to the API.
#[derive(Debug, Clone)]
pub struct Tools {
    tools: Vec<Tool>,
    routes: Vec<(String, Route)>,
}

impl Tools {
    /// Builds every tool from `document` (pinline's `/openapi.json`).
    pub fn from_document(document: &Value) -> Result<Tools, McpError> {
        let mut tools = Vec::new();
        let mut routes = Vec::new();
        for spec in &SPECS {
            let (method, path, operation) = find_operation(document, spec.operation_id)?;
            let mut properties = Map::new();
            let mut required = BTreeSet::new();
            let mut route = Route {
                method,
                path: path.clone(),
                path_params: Vec::new(),
                query_params: Vec::new(),
                idempotency: false,
                has_body: false,
            };
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let parameter = inline(document, parameter, 0);
                let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                let mut schema = parameter["schema"].clone();
                if let (Some(object), Some(description)) =
                    (schema.as_object_mut(), parameter["description"].as_str())
                {
                    object
                        .entry("description")
                        .or_insert_with(|| json!(description));
                }
                match parameter["in"].as_str() {
                    Some("path") => {
                        required.insert(name.clone());
                        properties.insert(name.clone(), schema);
                        route.path_params.push(name);
                    }
                    Some("query") => {
                        properties.insert(name.clone(), schema);
                        route.query_params.push(name);
                    }
                    Some("header") if name.eq_ignore_ascii_case("Idempotency-Key") => {
                        properties.insert(
                            IDEMPOTENCY_ARGUMENT.to_owned(),
                            json!({
                                "type": "string",
                                "description": "A key of your choosing: the same call with the same key creates the post once.",
                            }),
                        );
                        route.idempotency = true;
                    }
                    _ => {}
                }
            }
            let body = &operation["requestBody"]["content"]["application/json"]["schema"];
            if !body.is_null() {
                let body = inline(document, body, 0);
                let Some(fields) = body["properties"].as_object() else {
                    return Err(McpError::Document(format!(
                        "{}: its request body is not an object with properties",
                        spec.operation_id
                    )));
                };
                for (name, schema) in fields {
                    if properties.contains_key(name) {
                        return Err(McpError::Document(format!(
                            "{}: `{name}` is both a parameter and a body field",
                            spec.operation_id
                        )));
                    }
                    properties.insert(name.clone(), schema.clone());
                }
                for name in body["required"].as_array().into_iter().flatten() {
                    if let Some(name) = name.as_str() {
                        required.insert(name.to_owned());
                    }
                }
                route.has_body = true;
            }
            let mut schema = JsonObject::new();
            schema.insert("type".into(), json!("object"));
            schema.insert("properties".into(), Value::Object(properties));
            schema.insert("required".into(), json!(required));
            schema.insert("additionalProperties".into(), json!(false));
            let mut annotations = ToolAnnotations::new();
            annotations.read_only_hint = Some(spec.read_only);
            annotations.open_world_hint = Some(!spec.read_only);
            let mut tool = Tool::new(spec.name, spec.description, Arc::new(schema));
            tool.annotations = Some(annotations);
            tools.push(tool);
            routes.push((spec.name.to_owned(), route));
        }
        Ok(Tools { tools, routes })
    }

    /// Every tool, for `tools/list`.
    pub fn list(&self) -> Vec<Tool> {
        self.tools.clone()
    }

    /// The request `name` with `arguments` stands for; `Err` says what is wrong with them.
    pub fn request(&self, name: &str, arguments: &JsonObject) -> Result<ApiRequest, String> {
        let route = self
            .routes
            .iter()
            .find(|(tool, _)| tool == name)
            .map(|(_, route)| route)
            .ok_or_else(|| format!("no tool named `{name}`"))?;
        let mut path = route.path.clone();
        for param in &route.path_params {
            let value = arguments
                .get(param)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{param}` is required (a string)"))?;
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            path = path.replace(&format!("{{{param}}}"), &encoded);
        }
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let mut any_query = false;
        for param in &route.query_params {
            match arguments.get(param) {
                None | Some(Value::Null) => {}
                Some(Value::String(text)) => {
                    query.append_pair(param, text);
                    any_query = true;
                }
                Some(other) => {
                    query.append_pair(param, &other.to_string());
                    any_query = true;
                }
            }
        }
        if any_query {
            path = format!("{path}?{}", query.finish());
        }
        let mut headers = Vec::new();
        if route.idempotency
            && let Some(key) = arguments.get(IDEMPOTENCY_ARGUMENT)
        {
            let key = key
                .as_str()
                .ok_or_else(|| format!("`{IDEMPOTENCY_ARGUMENT}` must be a string"))?;
            headers.push(("idempotency-key", key.to_owned()));
        }
        let body = route.has_body.then(|| {
            let fields: Map<String, Value> = arguments
                .iter()
                .filter(|(name, _)| {
                    !route.path_params.contains(name)
                        && !route.query_params.contains(name)
                        && name.as_str() != IDEMPOTENCY_ARGUMENT
                })
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            Value::Object(fields)
        });
        Ok(ApiRequest {
            method: route.method.clone(),
            path_and_query: path,
            body,
            headers,
        })
    }
}

/// The operation with `operation_id`: its method, its path and itself.
fn find_operation<'a>(
    document: &'a Value,
    operation_id: &str,
) -> Result<(Method, String, &'a Value), McpError> {
    let paths = document["paths"]
        .as_object()
        .ok_or_else(|| McpError::Document("no paths".into()))?;
    for (path, item) in paths {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if operation["operationId"].as_str() == Some(operation_id) {
                let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                    .map_err(|_| McpError::Document(format!("{operation_id}: method {method}")))?;
                return Ok((method, path.clone(), operation));
            }
        }
    }
    Err(McpError::Document(format!("no operation `{operation_id}`")))
}

/// `value` with every `$ref` into the document's components replaced by what it points at.
/// Deep chains stop at a fixed depth (the document has no cycles; this keeps it so).
fn inline(document: &Value, value: &Value, depth: usize) -> Value {
    if depth > 16 {
        return json!({});
    }
    match value {
        Value::Object(object) => {
            if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
                let target = reference
                    .strip_prefix('#')
                    .and_then(|pointer| document.pointer(pointer))
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                return inline(document, &target, depth + 1);
            }
            Value::Object(
                object
                    .iter()
                    .map(|(key, value)| (key.clone(), inline(document, value, depth + 1)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| inline(document, item, depth + 1))
                .collect(),
        ),
        other => other.clone(),
    }
}
