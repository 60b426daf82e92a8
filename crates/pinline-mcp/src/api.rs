//! Where a tool's request goes. Over stdio, `pinline mcp` talks to a running pinline like the
//! rest of the CLI; at `/mcp`, the server hands the request to its own router in process, with
//! the MCP request's `Authorization` header, so nothing crosses the network twice.

use axum::body::Body;
use http::{HeaderValue, Method, Request};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::McpError;

/// The API's answer to one tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    /// The JSON body (`null` when there was none).
    pub body: Value,
}

/// One request for the API: method, path with query, JSON body, extra headers.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub path_and_query: String,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

/// Where requests go.
#[derive(Debug, Clone)]
pub enum Api {
    /// A running pinline at `base`, with one API key for every call.
    Http {
        base: url::Url,
        key: String,
        http: reqwest::Client,
    },
    /// This process's own router; each call carries its MCP request's `Authorization`.
    InProcess { router: axum::Router },
}

impl Api {
    /// A running pinline at `base_url` (`PINLINE_URL`) with `key` (`PINLINE_API_KEY`).
    pub fn http(base_url: &str, key: &str) -> Result<Api, McpError> {
        let base = url::Url::parse(base_url).map_err(|error| McpError::Api {
            url: base_url.to_owned(),
            reason: format!("not a URL: {error}"),
        })?;
        Ok(Api::Http {
            base,
            key: key.to_owned(),
            http: reqwest::Client::new(),
        })
    }

    /// Sends `request`; `authorization` is used in process (the MCP caller's header).
    pub async fn send(
        &self,
        request: ApiRequest,
        authorization: Option<&HeaderValue>,
    ) -> Result<Reply, String> {
        match self {
            Api::Http { base, key, http } => {
                let url = base
                    .join(&request.path_and_query)
                    .map_err(|error| format!("cannot build the URL: {error}"))?;
                let mut builder = http.request(request.method, url).bearer_auth(key);
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                if let Some(body) = &request.body {
                    builder = builder.json(body);
                }
                let response = builder
                    .send()
                    .await
                    .map_err(|error| format!("pinline did not answer: {error}"))?;
                let status = response.status().as_u16();
                let text = response
                    .text()
                    .await
                    .map_err(|error| format!("reading pinline's answer: {error}"))?;
                Ok(Reply {
                    status,
                    body: serde_json::from_str(&text).unwrap_or(Value::Null),
                })
            }
            Api::InProcess { router } => {
                let mut builder = Request::builder()
                    .method(request.method)
                    .uri(&request.path_and_query);
                if let Some(authorization) = authorization {
                    builder = builder.header(http::header::AUTHORIZATION, authorization);
                }
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                let body = match &request.body {
                    Some(body) => {
                        builder = builder.header(http::header::CONTENT_TYPE, "application/json");
                        Body::from(body.to_string())
                    }
                    None => Body::empty(),
                };
                let http_request = builder
                    .body(body)
                    .map_err(|error| format!("cannot build the request: {error}"))?;
                let response = router
                    .clone()
                    .oneshot(http_request)
                    .await
                    .map_err(|error| format!("the API failed: {error}"))?;
                let status = response.status().as_u16();
                let bytes = axum::body::to_bytes(response.into_body(), API_ANSWER_LIMIT)
                    .await
                    .map_err(|error| format!("reading the API's answer: {error}"))?;
                Ok(Reply {
                    status,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                })
            }
        }
    }

    /// The API's OpenAPI document (the tools are made from it).
    pub async fn document(&self) -> Result<Value, McpError> {
        let request = ApiRequest {
            method: Method::GET,
            path_and_query: "/openapi.json".to_owned(),
            body: None,
            headers: Vec::new(),
        };
        let url = match self {
            Api::Http { base, .. } => base.to_string(),
            Api::InProcess { .. } => "this process".to_owned(),
        };
        let reply = self
            .send(request, None)
            .await
            .map_err(|reason| McpError::Api {
                url: url.clone(),
                reason,
            })?;
        if reply.status != 200 || !reply.body.is_object() {
            return Err(McpError::Api {
                url,
                reason: format!(
                    "GET /openapi.json answered {}; is PINLINE_URL a pinline?",
                    reply.status
                ),
            });
        }
        Ok(reply.body)
    }
}

/// The largest API answer a tool passes on (a page of posts is well under it).
const API_ANSWER_LIMIT: usize = 16 * 1024 * 1024;
