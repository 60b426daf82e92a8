//! Settings of a running pinline, from flags and the environment (flags win, then the
//! environment, then defaults), validated once into [`Config`]. Every error names the variable
//! or flag and how to fix it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use pinline_core::cipher::KeyRing;
use pinline_core::master_key::MasterKey;
use pinline_pinterest::{ClientId, ClientSecret, Environment};
use pinline_store::DatabaseLocation;

/// Where the data lives; shared by every subcommand that opens the database.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Directory for the embedded database and the key file.
    #[arg(long, env = "PINLINE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data dir).
    #[arg(long, env = "PINLINE_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DataArgs {
    /// The database location, parsed.
    pub fn database(&self) -> anyhow::Result<DatabaseLocation> {
        match &self.database_url {
            Some(url) => DatabaseLocation::parse(url)
                .context("PINLINE_DATABASE_URL (or --database-url) is invalid"),
            None => Ok(DatabaseLocation::default_in(&self.data_dir)),
        }
    }

    /// The master keys: `PINLINE_MASTER_KEY` (plus `PINLINE_OLD_MASTER_KEYS`, comma-separated,
    /// during a rotation), or the key file in the data dir, created on first run.
    pub fn key_ring(&self) -> anyhow::Result<Arc<KeyRing>> {
        let current = match std::env::var("PINLINE_MASTER_KEY") {
            Ok(text) if !text.trim().is_empty() => MasterKey::parse(&text)
                .context("PINLINE_MASTER_KEY is invalid (expected 32 bytes as base64 or 64 hex digits; `openssl rand -base64 32` makes one)")?,
            _ => MasterKey::load_or_create_file(&self.data_dir.join("master.key"))
                .context("while reading or creating the key file (set PINLINE_MASTER_KEY to use a key from the environment instead)")?,
        };
        let mut old = Vec::new();
        if let Ok(list) = std::env::var("PINLINE_OLD_MASTER_KEYS") {
            for (index, text) in list.split(',').filter(|s| !s.trim().is_empty()).enumerate() {
                old.push(MasterKey::parse(text).with_context(|| {
                    format!("PINLINE_OLD_MASTER_KEYS entry {} is invalid", index + 1)
                })?);
            }
        }
        Ok(Arc::new(KeyRing::new(&current, &old)))
    }
}

/// The Pinterest app pinline acts as. `Debug` shows whether the secret is set, never its value.
#[derive(Clone, Args)]
pub struct PinterestArgs {
    /// Your Pinterest app's client id.
    #[arg(long, env = "PINTEREST_CLIENT_ID")]
    pub client_id: Option<String>,

    /// Your Pinterest app's client secret.
    #[arg(long, env = "PINTEREST_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// Pinterest API base URL (the client appends /v5/…).
    #[arg(
        long,
        env = "PINTEREST_API_URL",
        default_value = "https://api.pinterest.com"
    )]
    pub api_url: String,

    /// Pinterest's consent page.
    #[arg(
        long,
        env = "PINTEREST_OAUTH_URL",
        default_value = "https://www.pinterest.com/oauth/"
    )]
    pub oauth_url: String,
}

impl std::fmt::Debug for PinterestArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinterestArgs")
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("api_url", &self.api_url)
            .field("oauth_url", &self.oauth_url)
            .finish()
    }
}

/// A secret given as an argument (a client secret, a key): parsed as any string, shown by `Debug`
/// as `[redacted]`.
#[derive(Clone)]
pub struct SecretArg(String);

impl SecretArg {
    /// The secret itself, for the one place that sends it.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::str::FromStr for SecretArg {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(SecretArg(text.to_owned()))
    }
}

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How a secret setting shows in `Debug`: whether it is set, never what it is.
fn redacted(secret: &Option<String>) -> &'static str {
    match secret {
        Some(_) => "[redacted]",
        None => "[unset]",
    }
}

/// A validated Pinterest app.
#[derive(Debug)]
pub struct PinterestApp {
    pub environment: Environment,
    pub client_id: ClientId,
    pub client_secret: ClientSecret,
}

impl PinterestArgs {
    /// Validates the app settings.
    pub fn app(&self) -> anyhow::Result<PinterestApp> {
        let Some(client_id) = self.client_id.clone().filter(|s| !s.is_empty()) else {
            bail!(
                "PINTEREST_CLIENT_ID is not set: set it (and PINTEREST_CLIENT_SECRET) to your Pinterest app's credentials, or run `pinline demo` to try pinline against the built-in sandbox"
            );
        };
        let Some(client_secret) = self.client_secret.clone().filter(|s| !s.is_empty()) else {
            bail!(
                "PINTEREST_CLIENT_SECRET is not set: set it to your Pinterest app's client secret"
            );
        };
        let environment = Environment::from_urls(&self.api_url, &self.oauth_url)
            .context("PINTEREST_API_URL or PINTEREST_OAUTH_URL is not a valid http(s) URL")?;
        Ok(PinterestApp {
            environment,
            client_id: ClientId::new(client_id),
            client_secret: ClientSecret::new(client_secret),
        })
    }
}

/// Settings of `pinline serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address of pinline's API.
    #[arg(long, env = "PINLINE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// URL people and Pinterest reach pinline at (the OAuth callback is PUBLIC_URL/oauth/callback).
    #[arg(long, env = "PINLINE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Pace outbound calls per Pinterest user: CATEGORY=N/s (repeatable; defaults
    /// org_write=10/s, org_read=20/s).
    #[arg(
        long = "pinterest-rate",
        env = "PINLINE_PINTEREST_RATES",
        value_delimiter = ','
    )]
    pub pinterest_rates: Vec<String>,

    /// Seconds a worker owns a claimed post before another replica may take it over.
    #[arg(long, env = "PINLINE_QUEUE_LEASE_SECS", default_value_t = 60)]
    pub lease_secs: u64,

    /// Creates this process keeps in flight to Pinterest at once. Pinterest answers in 100–300
    /// ms, so a process sending n posts a second needs about n × 0.3 in flight; each costs a
    /// few kilobytes while it waits.
    #[arg(
        long,
        env = "PINLINE_IN_FLIGHT",
        default_value_t = 256,
        value_parser = clap::value_parser!(u16).range(1..=4096)
    )]
    pub in_flight: u16,

    /// How many `pinline serve` replicas share the database (each takes 1/N of every rate).
    #[arg(long, env = "PINLINE_REPLICAS", default_value_t = 1)]
    pub replicas: u32,

    /// The part of each account's Pinterest budget (0 to 1) kept for scheduled posts and
    /// refreshes and never lent to tools calling Pinterest through `/pinterest/v5`.
    #[arg(
        long,
        env = "PINLINE_PASSTHROUGH_RESERVED_SHARE",
        default_value_t = 0.5
    )]
    pub passthrough_reserved_share: f64,

    /// Hand out accounts' access tokens at `POST /v1/accounts/{id}/access-token` to keys with
    /// `token:read`. Off by default: pinline cannot recall a token once handed out, and calls
    /// made with it bypass the pacer; tools should use `/pinterest/v5` instead.
    #[arg(
        long,
        env = "PINLINE_TOKEN_ENDPOINT",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub token_endpoint: bool,

    /// On PostgreSQL, hint the other replicas with a NOTIFY when a post due now is accepted,
    /// and listen for their hints on one extra connection, so a post is picked up by any
    /// replica at once rather than at its next poll. `false` leaves polling alone (e.g. behind
    /// a transaction-pooling proxy, where LISTEN does not work). Nothing changes on SQLite.
    #[arg(
        long,
        env = "PINLINE_PG_NOTIFY",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub pg_notify: bool,

    /// Seconds a connection has to send a whole request head, and the most a kept-alive
    /// connection may sit idle; slower clients are disconnected, so they cannot hold the
    /// server's connection slots.
    #[arg(
        long,
        env = "PINLINE_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub header_read_timeout_secs: u64,

    /// Connections open at once; more wait until one closes.
    #[arg(
        long,
        env = "PINLINE_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max_connections: u32,

    #[command(flatten)]
    pub data: DataArgs,

    #[command(flatten)]
    pub pinterest: PinterestArgs,

    /// Proxies in front of pinline whose `X-Forwarded-For` is believed (comma-separated IP
    /// addresses). Only then is a client's own address, not the proxy's, locked out after
    /// repeated wrong API keys; without it behind a proxy, all clients share one address.
    #[arg(long, env = "PINLINE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Where a connect may send the person back (`return_to` of `POST /v1/accounts/connect`):
    /// URLs, comma-separated; a `return_to` must have one's scheme, host and port, and a path
    /// under its path. Without it, no `return_to` is accepted.
    #[arg(
        long = "connect-return-url",
        env = "PINLINE_CONNECT_RETURN_URLS",
        value_delimiter = ','
    )]
    pub connect_return_urls: Vec<url::Url>,

    /// A token `GET /metrics` wants as `Authorization: Bearer <token>`; without it the metrics
    /// are open to anyone who reaches the port.
    #[arg(long, env = "PINLINE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    #[command(flatten)]
    pub outbound: OutboundArgs,

    #[command(flatten)]
    pub drafts: DraftArgs,

    #[command(flatten)]
    pub alerts: crate::alerts_cmd::AlertArgs,
}

/// Where pinline's own requests may go (webhook deliveries, draft fetches, the chat API and
/// Pinterest itself).
#[derive(Debug, Clone, Args)]
pub struct OutboundArgs {
    /// How far outbound requests may go: `any`, or `loopback` to refuse everything beyond this
    /// machine before any DNS query (tests, demos, benchmarks); each refusal is logged and
    /// counted, and appended to the file PINLINE_OUTBOUND_REFUSALS names, if any.
    #[arg(long, env = "PINLINE_OUTBOUND", default_value = "any", value_parser = parse_reach)]
    pub outbound: pinline_outbound::Reach,

    /// Let webhooks and drafting reach private, loopback and other non-public addresses (an
    /// intranet receiver, a local test server). Off by default: a URL from an API caller could
    /// otherwise reach inside the network pinline runs in.
    #[arg(
        long,
        env = "PINLINE_ALLOW_PRIVATE_TARGETS",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_private_targets: bool,
}

impl OutboundArgs {
    /// Puts the process-wide reach in force; call before anything makes a request.
    pub fn apply(&self) {
        if self.outbound == pinline_outbound::Reach::LoopbackOnly {
            pinline_outbound::restrict_to_loopback();
        }
    }
}

fn parse_reach(text: &str) -> Result<pinline_outbound::Reach, String> {
    pinline_outbound::Reach::parse(text)
}

/// How drafts are made: who writes the copy. `Debug` never shows the chat API's key.
#[derive(Clone, Args)]
pub struct DraftArgs {
    /// An OpenAI-compatible API (e.g. https://api.openai.com/v1) that writes draft copy; the
    /// built-in templates write it when unset, and whenever the model fails.
    #[arg(long, env = "PINLINE_CHAT_URL")]
    pub chat_url: Option<String>,

    /// The model asked for draft copy.
    #[arg(long, env = "PINLINE_CHAT_MODEL", default_value = "gpt-4o-mini")]
    pub chat_model: String,

    /// The chat API's key.
    #[arg(long, env = "PINLINE_CHAT_API_KEY", hide_env_values = true)]
    pub chat_api_key: Option<String>,

    /// Seconds a chat request may take before the built-in templates take over.
    #[arg(long, env = "PINLINE_CHAT_TIMEOUT_SECS", default_value_t = 20)]
    pub chat_timeout_secs: u64,
}

impl std::fmt::Debug for DraftArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DraftArgs")
            .field("chat_url", &self.chat_url)
            .field("chat_model", &self.chat_model)
            .field("chat_api_key", &redacted(&self.chat_api_key))
            .field("chat_timeout_secs", &self.chat_timeout_secs)
            .finish()
    }
}

impl DraftArgs {
    /// The drafter these settings describe; it fetches from private addresses only when
    /// `allow_private_targets` is set.
    pub fn drafter(&self, allow_private_targets: bool) -> anyhow::Result<pinline_drafts::Drafter> {
        let settings = pinline_drafts::DraftSettings {
            fetch: pinline_drafts::FetchPolicy {
                allow_private: allow_private_targets,
                ..pinline_drafts::FetchPolicy::default()
            },
            ..pinline_drafts::DraftSettings::default()
        };
        let generator: Arc<dyn pinline_drafts::Generator> = match &self.chat_url {
            None => Arc::new(pinline_drafts::RuleGenerator),
            Some(url) => {
                let base_url = url::Url::parse(url).map_err(|error| {
                    anyhow::anyhow!(
                        "--chat-url `{url}` is not a URL ({error}); give the API's base, e.g. https://api.openai.com/v1 (PINLINE_CHAT_URL)"
                    )
                })?;
                let api_key = self.chat_api_key.clone().with_context(
                    || "--chat-url is set but --chat-api-key is not; set PINLINE_CHAT_API_KEY",
                )?;
                Arc::new(pinline_drafts::ChatGenerator::new(
                    pinline_drafts::ChatSettings {
                        base_url,
                        model: self.chat_model.clone(),
                        api_key: api_key.into(),
                        timeout: std::time::Duration::from_secs(self.chat_timeout_secs.max(1)),
                    },
                )?)
            }
        };
        Ok(pinline_drafts::Drafter::new(settings, generator))
    }
}

impl ServeArgs {
    /// The publisher's pacing, from `--pinterest-rate` and `--replicas`.
    pub fn pacing(&self) -> anyhow::Result<pinline_queue::PacerSettings> {
        let mut settings = pinline_queue::PacerSettings::default();
        for text in self.pinterest_rates.iter().filter(|t| !t.trim().is_empty()) {
            let invalid = || {
                format!(
                    "--pinterest-rate `{text}` is invalid: use CATEGORY=N/s, e.g. org_write=10/s"
                )
            };
            let (category, rate) = text.trim().split_once('=').with_context(invalid)?;
            let category = category
                .parse::<pinline_pinterest::facts::RateLimitCategory>()
                .with_context(invalid)?;
            let (count, unit) = rate.split_once('/').with_context(invalid)?;
            let count: u32 = count
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .with_context(invalid)?;
            let per = match unit {
                "s" | "sec" => std::time::Duration::from_secs(1),
                "min" | "m" => std::time::Duration::from_secs(60),
                "h" => std::time::Duration::from_secs(3600),
                _ => bail!("{}", invalid()),
            };
            settings.rates.insert(
                category,
                pinline_queue::Rate {
                    requests: count,
                    per,
                    burst: 1,
                },
            );
        }
        if self.replicas == 0 {
            bail!("PINLINE_REPLICAS (--replicas) must be at least 1");
        }
        settings.share = 1.0 / f64::from(self.replicas);
        Ok(settings)
    }

    /// The passthrough's and the token endpoint's settings.
    pub fn credential_settings(
        &self,
    ) -> anyhow::Result<pinline_server::passthrough::CredentialSettings> {
        let reserved = self.passthrough_reserved_share;
        if !(0.0..=1.0).contains(&reserved) {
            bail!("PINLINE_PASSTHROUGH_RESERVED_SHARE must be between 0 and 1 (got {reserved})");
        }
        Ok(pinline_server::passthrough::CredentialSettings {
            token_endpoint: self.token_endpoint,
            reserved_share: reserved,
            ..Default::default()
        })
    }

    /// The public URL, defaulting to the listen address.
    pub fn public_url(&self) -> anyhow::Result<String> {
        let url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen));
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("PINLINE_PUBLIC_URL must start with http:// or https:// (got `{url}`)");
        }
        Ok(url.trim_end_matches('/').to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        pinterest: PinterestArgs,
        #[command(flatten)]
        drafts: DraftArgs,
    }

    #[test]
    fn secrets_in_arguments_never_show_in_debug() {
        let parsed = Wrapper::try_parse_from([
            "pinline",
            "--client-id",
            "1000001",
            "--client-secret",
            "app-secret-value",
            "--chat-url",
            "http://127.0.0.1:9/v1",
            "--chat-api-key",
            "chat-key-value",
        ])
        .expect("arguments parse");
        let shown = format!("{parsed:?}");
        assert!(!shown.contains("app-secret-value"), "{shown}");
        assert!(!shown.contains("chat-key-value"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(shown.contains("1000001"), "the id is not a secret: {shown}");
    }
}
