//! `pinline mcp`: an MCP server on stdin/stdout for agents, talking to a running pinline like
//! the rest of the CLI (`PINLINE_URL`, `PINLINE_API_KEY`). Its tools are the API's operations
//! (see `pinline_mcp`); stdout carries the protocol only, logs go to stderr.

use anyhow::{Context, bail};
use clap::Args;

use crate::api_client::ApiArgs;

/// Settings of `pinline mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub api: ApiArgs,
}

pub const MCP_EXAMPLES: &str = "\
Examples:
  PINLINE_URL=http://127.0.0.1:8080 PINLINE_API_KEY=pl_… pinline mcp
  # in an MCP client's configuration:
  {\"command\": \"pinline\", \"args\": [\"mcp\"], \"env\": {\"PINLINE_URL\": \"…\", \"PINLINE_API_KEY\": \"pl_…\"}}
  # or, without this command, the Streamable HTTP transport of a running pinline:
  POST http://127.0.0.1:8080/mcp with Authorization: Bearer pl_…";

pub async fn run(args: McpArgs) -> anyhow::Result<()> {
    let Some(key) = args.api.api_key.as_deref() else {
        bail!("PINLINE_API_KEY is not set: create a key with `pinline keys create` and export it");
    };
    pinline_mcp::serve_stdio(&args.api.url, key)
        .await
        .context("while serving MCP on stdin/stdout")
}
