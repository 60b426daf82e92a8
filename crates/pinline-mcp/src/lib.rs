//! pinline's MCP server: the API's publishing operations as tools an agent can call.
//!
//! The tools are the API itself, not a second implementation of it. Each one names an operation
//! of pinline's OpenAPI document (`list_accounts`, `create_post`, …); its input schema is made
//! from that operation's parameters and request body as the document states them, and calling
//! it sends that request to the API with the caller's API key. So validation, scopes, errors
//! and idempotency are the API's, unchanged: a refusal comes back as an MCP tool error whose
//! text is the API's error body, with its code (`insufficient_scope`, `invalid_field`, …).
//!
//! * [`tools`]: the tool table and the schemas built from the document.
//! * [`api`]: where a tool's request goes: a running pinline over HTTP (`pinline mcp` on stdio,
//!   with `PINLINE_URL` and `PINLINE_API_KEY`), or the server's own router in process (the
//!   Streamable HTTP transport at `/mcp`, where each request's `Authorization` is the key).
//! * [`server`]: the MCP server handler over both.

pub mod api;
pub mod server;
pub mod tools;

pub use api::Api;
pub use server::{PinlineMcp, http_service, serve_stdio};
pub use tools::Tools;

/// What can go wrong setting the MCP server up (a tool's failure is a tool result, not this).
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The OpenAPI document lacks an operation a tool names, or describes it unexpectedly.
    #[error("the API description does not fit the MCP tools: {0}")]
    Document(String),
    /// The running pinline could not be reached or answered unexpectedly.
    #[error("pinline at {url}: {reason}")]
    Api { url: String, reason: String },
    /// The MCP session failed.
    #[error("the MCP session failed: {0}")]
    Session(String),
}
