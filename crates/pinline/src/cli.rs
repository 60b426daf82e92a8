//! Command-line arguments, parsed once into typed values; the rest of the binary never looks at
//! raw strings again.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use pinline_pinterest::facts::RateLimitCategory;
use pinline_sandbox::Rate;

/// A self-hosted publishing gateway for Pinterest.
#[derive(Debug, Parser)]
#[command(name = "pinline", version, about, propagate_version = true)]
pub struct Cli {
    /// More log output (-v debug, -vv trace). RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run pinline's API server (and its background work) until Ctrl-C.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(crate::config::ServeArgs),
    /// Pinterest accounts: list, show, connect, refresh, disconnect (through a running pinline).
    #[command(subcommand, after_help = ACCOUNTS_EXAMPLES)]
    Accounts(crate::accounts_cmd::AccountsCommand),
    /// Manage API keys (stored hashed; a key is shown once).
    #[command(subcommand)]
    Keys(crate::keys_cmd::KeysCommand),
    /// Run a Pinterest API v5 stand-in on loopback, for tests, demos and trying things out.
    #[command(after_help = SANDBOX_EXAMPLES)]
    Sandbox(SandboxArgs),
}

const SERVE_EXAMPLES: &str = "\
Examples:
  PINTEREST_CLIENT_ID=… PINTEREST_CLIENT_SECRET=… pinline serve
  pinline serve --listen 0.0.0.0:8080 --public-url https://pins.example.com
  PINLINE_DATABASE_URL=postgres://pinline@db/pinline pinline serve";

const ACCOUNTS_EXAMPLES: &str = "\
Examples:
  export PINLINE_API_KEY=$(pinline keys create --quiet)
  pinline accounts connect --wait
  pinline accounts list
  pinline accounts refresh 0192…";

const SANDBOX_EXAMPLES: &str = "\
Examples:
  pinline sandbox
  pinline sandbox --listen 127.0.0.1:9090 --auto-approve
  pinline sandbox --rate org_write=10/s --rate org_read=100/s --state sandbox.json";

/// Settings of `pinline sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090", env = "PINLINE_SANDBOX_LISTEN")]
    pub listen: SocketAddr,

    /// The app client id the sandbox accepts.
    #[arg(long)]
    pub client_id: Option<String>,

    /// The app client secret the sandbox accepts.
    #[arg(long)]
    pub client_secret: Option<String>,

    /// Redirect URI registered for the app (repeatable); none means any http(s) URI.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,

    /// Approve consent requests at once, as the first sandbox user, without showing the page.
    #[arg(long)]
    pub auto_approve: bool,

    /// Rate limit per user and category, e.g. org_write=50/s (repeatable).
    #[arg(long = "rate", value_parser = parse_rate)]
    pub rates: Vec<(RateLimitCategory, Rate)>,

    /// Seed for injected faults, so a run repeats.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Keep the sandbox's state in this file across restarts.
    #[arg(long)]
    pub state: Option<PathBuf>,

    /// Behave like a Trial-tier app: creating pins is refused with code 29.
    #[arg(long)]
    pub trial: bool,
}

/// Parses `CATEGORY=COUNT/UNIT`.
fn parse_rate(value: &str) -> Result<(RateLimitCategory, Rate), String> {
    let (category, rate) = value.split_once('=').ok_or_else(|| {
        format!("expected CATEGORY=COUNT/UNIT (e.g. org_write=50/s), got `{value}`")
    })?;
    let category = category
        .parse::<RateLimitCategory>()
        .map_err(|e| format!("{e}; known: org_read, org_write, org_analytics, …"))?;
    let rate = rate.parse::<Rate>().map_err(|e| e.to_string())?;
    Ok((category, rate))
}
