//! Command-line arguments, parsed once into typed values; the rest of the binary never looks at
//! raw strings again.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use pinline_pinterest::facts::{self, RateLimitCategory};
use pinline_sandbox::Rate;

/// A self-hosted publishing gateway for Pinterest.
#[derive(Debug, Parser)]
#[command(
    name = "pinline",
    version,
    about,
    propagate_version = true,
    after_help = TOP_HELP
)]
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
    Serve(Box<crate::config::ServeArgs>),
    /// Pinterest accounts: list, show, connect, refresh, disconnect (through a running pinline).
    #[command(subcommand, after_help = ACCOUNTS_EXAMPLES)]
    Accounts(crate::accounts_cmd::AccountsCommand),
    /// Manage API keys (stored hashed; a key is shown once).
    #[command(subcommand)]
    Keys(crate::keys_cmd::KeysCommand),
    /// Run a Pinterest API v5 stand-in on loopback, for tests, demos and trying things out.
    #[command(after_help = SANDBOX_EXAMPLES)]
    Sandbox(SandboxArgs),
    /// Benchmarks (throughput, pacing, api) against baselines measured in the same run.
    Bench(pinline_bench::BenchArgs),
    /// Try pinline now: a local Pinterest sandbox, a connected demo account, a published pin.
    #[command(after_help = DEMO_EXAMPLES)]
    Demo(crate::demo_cmd::DemoArgs),
    /// Run the troubleshooting sequence on an account and print the fix for what is wrong.
    #[command(after_help = DOCTOR_EXAMPLES)]
    Doctor(crate::doctor_cmd::DoctorArgs),
    /// Publish (or schedule) one pin (through a running pinline).
    #[command(after_help = POST_EXAMPLES)]
    Post(crate::posts_cmd::PostArgs),
    /// Posts: list, show, cancel (through a running pinline).
    #[command(subcommand, after_help = POSTS_EXAMPLES)]
    Posts(crate::posts_cmd::PostsCommand),
    /// Draft pins from one idea: a page link, a line of text or an image (through a running
    /// pinline).
    #[command(after_help = crate::drafts_cmd::DRAFT_EXAMPLES)]
    Draft(crate::drafts_cmd::DraftArgs),
    /// Drafts: list, show, publish, delete (through a running pinline).
    #[command(subcommand)]
    Drafts(crate::drafts_cmd::DraftsCommand),
    /// One idea turned into pins over boards and days, into the account's free slots; show or
    /// cancel a campaign (through a running pinline).
    #[command(after_help = crate::campaign_cmd::CAMPAIGN_EXAMPLES)]
    Campaign(crate::campaign_cmd::CampaignArgs),
    /// Serve MCP on stdin/stdout: pinline's tools for agents (through a running pinline).
    #[command(after_help = crate::mcp_cmd::MCP_EXAMPLES)]
    Mcp(crate::mcp_cmd::McpArgs),
    /// Schedule many pins from a CSV file, all or none (through a running pinline).
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(crate::import_cmd::ImportArgs),
    /// Email and chat alerts: `pinline alerts test` sends one message to each configured channel.
    #[command(subcommand)]
    Alerts(crate::alerts_cmd::AlertsCommand),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(crate::completions_cmd::CompletionsArgs),
}

const TOP_HELP: &str = "\
Start here:
  pinline demo                      everything local, nothing to configure

Commands that talk to a running pinline (accounts, post, posts, draft, drafts, campaign, import) take its
URL and an API key from --url/--api-key or PINLINE_URL/PINLINE_API_KEY. keys and doctor open the
database directly, with the same settings as `pinline serve`.

Exit codes:
  0  success
  1  failure: the command ran and something is wrong (the message says why and what to do;
     for doctor, a check failed; for import, a row is invalid)
  2  bad usage: unknown flag, missing or malformed argument";

const DEMO_EXAMPLES: &str = "\
Examples:
  pinline demo
  pinline demo --listen 127.0.0.1:8080 --sandbox-listen 127.0.0.1:8090
  PINLINE_DATA_DIR=/tmp/pinline pinline demo --exit-after-setup";

const DOCTOR_EXAMPLES: &str = "\
Checks, in order: account (status), last_failure (true 401 or 403/429/other, with Pinterest's
code and message), app_and_environment, access_token (expiry), refresh (refreshes when the
access token expired, or with --refresh), pinterest_user (whose token it is), scopes (enough to
publish, and to secret boards), boards (can be listed), test_publish (with --test-publish).
Exit code 0 when no check fails, 1 when one does.

Examples:
  pinline doctor 0192…
  pinline doctor 0192… --refresh --json
  pinline doctor 0192… --test-publish 549755885175 --image-url https://example.com/pin.jpg";

const POST_EXAMPLES: &str = "\
Examples:
  pinline post --account 0192… --board-id 549755885175 --title 'Summer sale' \\
      --image-url https://example.com/sale.jpg --link https://example.com/sale
  pinline post --account 0192… --board Recipes --image-url https://example.com/soup.jpg \\
      --publish-at 2026-12-01T09:30:00+01:00 --json";

const POSTS_EXAMPLES: &str = "\
Examples:
  pinline posts list --status queued
  pinline posts show 0193…
  pinline posts cancel 0193…";

const IMPORT_EXAMPLES: &str = "\
The CSV has a header row; columns: account_id, board or board_id, title, description, link,
alt_text, image_url, publish_at (RFC 3339 with an offset; empty means now). Every row is checked
first; if any is invalid, each is reported as `line N: reason` and nothing is submitted. Rows go
in batches of up to 500 with an Idempotency-Key, so running the same import again after a
failure does not post twice.

Examples:
  pinline import pins.csv --dry-run
  pinline import pins.csv
  pinline import pins.csv --json";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  pinline completions bash > /etc/bash_completion.d/pinline
  pinline completions zsh > \"${fpath[1]}/_pinline\"
  pinline completions fish > ~/.config/fish/completions/pinline.fish";

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
Redirect URIs: the consent page redirects only to a registered URI, compared exactly, as
Pinterest does. Without --redirect-uri, pinline's own callback at its default address is
registered (http://127.0.0.1:8080/oauth/callback and http://localhost:8080/oauth/callback);
a pinline elsewhere needs --redirect-uri PUBLIC_URL/oauth/callback.

Lifetimes are whole seconds; the defaults are Pinterest's. An uploaded video is `processing` for
--media-processing-secs (5 by default) before it is `succeeded`.

Rate limits: Pinterest's universal limit is on unless --no-universal-limit: every request of a
user counts against 100/s (Standard access), or 1000/day with --trial. --rate adds a limit per
category on top. A request over either gets 429 code 8 with Retry-After.

Examples:
  pinline sandbox
  pinline sandbox --listen 127.0.0.1:9090 --auto-approve
  pinline sandbox --redirect-uri https://pins.example.com/oauth/callback
  pinline sandbox --rate org_write=10/s --rate org_read=100/s --state sandbox.json
  pinline sandbox --trial
  pinline sandbox --no-universal-limit
  pinline sandbox --access-token-ttl 60 --refresh-token-ttl 3600 --refresh-reuse-grace 5
  pinline sandbox --media-processing-secs 0
  pinline sandbox --latency-ms 150 --latency-jitter-ms 50";

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
    pub client_secret: Option<crate::config::SecretArg>,

    /// Redirect URI registered for the app (repeatable); an absolute http(s) URL. Without it,
    /// pinline's default callback is registered.
    #[arg(long = "redirect-uri", value_name = "URI", value_parser = parse_redirect_uri)]
    pub redirect_uris: Vec<String>,

    /// Approve consent requests at once, as the first sandbox user, without showing the page.
    #[arg(long)]
    pub auto_approve: bool,

    /// Rate limit per user and category, e.g. org_write=50/s (repeatable). Counted on top of
    /// the universal limit.
    #[arg(long = "rate", value_parser = parse_rate)]
    pub rates: Vec<(RateLimitCategory, Rate)>,

    /// Turn off Pinterest's universal limit per user across all requests (100/s, or 1000/day
    /// with --trial), which is on by default.
    #[arg(long)]
    pub no_universal_limit: bool,

    /// Seed for injected faults, so a run repeats.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Keep the sandbox's state in this file across restarts.
    #[arg(long)]
    pub state: Option<PathBuf>,

    /// Behave like a Trial-tier app: creating pins is refused with code 29, and the universal
    /// limit is Trial's 1000 requests per day per user.
    #[arg(long)]
    pub trial: bool,

    /// Lifetime of issued access tokens, in seconds (Pinterest: 30 days).
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = parse_lifetime_secs,
        allow_negative_numbers = true,
        default_value_t = facts::ACCESS_TOKEN_LIFETIME_SECS
    )]
    pub access_token_ttl: i64,

    /// Lifetime of refresh tokens, in seconds, renewed by every refresh (Pinterest: 60 days).
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = parse_lifetime_secs,
        allow_negative_numbers = true,
        default_value_t = facts::REFRESH_TOKEN_LIFETIME_SECS
    )]
    pub refresh_token_ttl: i64,

    /// Lifetime of authorization codes, in seconds (Pinterest: 10 minutes).
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = parse_lifetime_secs,
        allow_negative_numbers = true,
        default_value_t = facts::AUTHORIZATION_CODE_LIFETIME_SECS
    )]
    pub code_ttl: i64,

    /// How long a rotated refresh token still works, in seconds. Pinterest gives none: 0 makes
    /// any reuse count as replay and revoke the token family.
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = parse_grace_secs,
        allow_negative_numbers = true,
        default_value_t = 0
    )]
    pub refresh_reuse_grace: i64,

    /// How long an uploaded video stays `processing` before it is `succeeded`, in seconds of the
    /// sandbox clock. Pinterest takes a while too, so clients must poll; 0 makes uploads succeed
    /// at once.
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = parse_processing_secs,
        allow_negative_numbers = true,
        default_value_t = 5
    )]
    pub media_processing_secs: i64,

    /// Delay every API request (the token endpoint's included) by this many milliseconds, as a
    /// round trip to Pinterest would (it answers in 100-300 ms); 0 answers at once.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Spread the delay uniformly by up to this many milliseconds either way (at most
    /// --latency-ms): --latency-ms 150 --latency-jitter-ms 50 answers in 100-200 ms.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_jitter_ms: u64,
}

/// Parses a lifetime: a whole number of seconds, at least 1.
fn parse_lifetime_secs(value: &str) -> Result<i64, String> {
    let secs = parse_whole_seconds(value)?;
    pinline_sandbox::config::check_lifetime_secs(secs)?;
    Ok(secs)
}

/// Parses the reuse grace: a whole number of seconds, 0 or more.
fn parse_grace_secs(value: &str) -> Result<i64, String> {
    let secs = parse_whole_seconds(value)?;
    pinline_sandbox::config::check_grace_secs(secs)?;
    Ok(secs)
}

/// Parses the media processing time: a whole number of seconds, 0 or more.
fn parse_processing_secs(value: &str) -> Result<i64, String> {
    let secs = parse_whole_seconds(value)?;
    pinline_sandbox::config::check_processing_secs(secs)?;
    Ok(secs)
}

fn parse_whole_seconds(value: &str) -> Result<i64, String> {
    value.trim().parse::<i64>().map_err(|_| {
        format!(
            "expected a whole number of seconds such as 600 (10 minutes) or 2592000 (30 days), \
             got `{value}`; units like 30d are not accepted"
        )
    })
}

/// Parses a redirect URI to register: an absolute http(s) URL without a fragment.
fn parse_redirect_uri(value: &str) -> Result<String, String> {
    pinline_sandbox::config::check_redirect_uri(value)?;
    Ok(value.to_owned())
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
