//! The MCP server handler: `tools/list` from [`Tools`], `tools/call` sent to the [`Api`]. A 2xx
//! answer is the tool's result (the API's JSON, as text and as structured content); any other
//! is a tool error whose text is the API's error body, so an agent reads pinline's own code and
//! message (`insufficient_scope`, `invalid_field` naming the field, …).

use std::sync::Arc;

use http::HeaderValue;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, ServiceExt as _};
use serde_json::{Value, json};

use crate::McpError;
use crate::api::Api;
use crate::tools::Tools;

const INSTRUCTIONS: &str = "pinline publishes pins to Pinterest for this API key's profile. \
    Start with list_accounts (an account must be `active` to publish), list_boards for a \
    board, then create_post (with publish_at to schedule, idempotency_key to retry safely) \
    and get_post to follow it. Errors carry pinline's code and the field at fault.";

/// The MCP server: pinline's publishing operations as tools.
#[derive(Debug, Clone)]
pub struct PinlineMcp {
    api: Api,
    tools: Arc<Tools>,
}

impl PinlineMcp {
    /// A server sending its tools' requests to `api`, with tools made from `document`.
    pub fn new(api: Api, document: &Value) -> Result<PinlineMcp, McpError> {
        Ok(PinlineMcp {
            api,
            tools: Arc::new(Tools::from_document(document)?),
        })
    }
}

impl ServerHandler for PinlineMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("pinline", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        let api_request = match self.tools.request(&request.name, &arguments) {
            Ok(api_request) => api_request,
            Err(message) => {
                return Ok(tool_error(&json!({
                    "error": {"code": "invalid_arguments", "message": message}
                }))
                .into());
            }
        };
        // Over HTTP, the caller's own key: the API checks it (and its scopes) as for any call.
        let authorization: Option<HeaderValue> = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.headers.get(http::header::AUTHORIZATION).cloned());
        let reply = self
            .api
            .send(api_request, authorization.as_ref())
            .await
            .map_err(|reason| ErrorData::internal_error(reason, None))?;
        let result = if (200..300).contains(&reply.status) {
            let text = serde_json::to_string_pretty(&reply.body).unwrap_or_default();
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            if reply.body.is_object() {
                result.structured_content = Some(reply.body);
            }
            result
        } else {
            tool_error(&reply.body)
        };
        Ok(result.into())
    }
}

fn tool_error(body: &Value) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(body.to_string())])
}

/// Serves MCP on stdin/stdout against the pinline at `base_url` with `api_key`, until the
/// client closes the session.
pub async fn serve_stdio(base_url: &str, api_key: &str) -> Result<(), McpError> {
    let api = Api::http(base_url, api_key)?;
    let document = api.document().await?;
    let server = PinlineMcp::new(api, &document)?;
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| McpError::Session(error.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|error| McpError::Session(error.to_string()))?;
    Ok(())
}

/// The Streamable HTTP transport for `/mcp`: each session's server sends its tools' requests
/// to `router` (the API, without `/mcp`) with the MCP request's `Authorization`. `hosts` are
/// the `Host` values it answers (loopback names and the public URL's host), against DNS
/// rebinding.
pub fn http_service(
    router: axum::Router,
    document: &Value,
    hosts: Vec<String>,
) -> Result<StreamableHttpService<PinlineMcp, LocalSessionManager>, McpError> {
    let server = PinlineMcp::new(Api::InProcess { router }, document)?;
    Ok(StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default()
            .with_allowed_hosts(hosts)
            .with_sse_keep_alive(None),
    ))
}
