//! `pinline demo`: pinline and a local Pinterest sandbox in one process, with a connected demo
//! account, a board, a published pin and three scheduled ones; then it runs until Ctrl-C.
//!
//! Everything lives in `PINLINE_DATA_DIR/demo`: the SQLite database, the key file, the
//! sandbox's state (so the demo account's tokens stay valid across runs) and the addresses used
//! last time (the sandbox's URL is part of every credential's environment, so the demo reuses it
//! when it can). A second run reconnects the demo account and reuses its board.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use pinline_core::clock::{Clock, SystemClock};
use pinline_pinterest::{ClientId, ClientSecret, Environment};
use pinline_sandbox::SandboxConfig;
use pinline_store::DatabaseLocation;
use reqwest::Method;
use serde_json::{Value, json};

use crate::config::{DataArgs, PinterestApp};
use crate::serve_cmd::{self, ServerSetup};

const PROFILE: &str = "demo";
const BOARD_NAME: &str = "pinline demo";
const DEMO_USER: &str = "demo";
const ADDRESSES_FILE: &str = "demo-addresses.json";

/// Settings of `pinline demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of pinline's API and dashboard (default: the one used last time, else a free port).
    #[arg(long)]
    pub listen: Option<SocketAddr>,

    /// Address of the sandbox (default: the one used last time, else a free port).
    #[arg(long)]
    pub sandbox_listen: Option<SocketAddr>,

    /// Do everything, print it, and exit (for tests and scripts).
    #[arg(long)]
    pub exit_after_setup: bool,

    /// Data directory; the demo uses its `demo` subfolder.
    #[arg(long, env = "PINLINE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

/// Binds `wanted`, else the address used last time, else a free loopback port. An explicitly
/// wanted address that cannot be bound is an error.
async fn bind(
    wanted: Option<SocketAddr>,
    remembered: Option<SocketAddr>,
    what: &str,
) -> anyhow::Result<tokio::net::TcpListener> {
    if let Some(addr) = wanted {
        return tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} ({what}); pick another address"));
    }
    if let Some(addr) = remembered
        && let Ok(listener) = tokio::net::TcpListener::bind(addr).await
    {
        return Ok(listener);
    }
    tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .with_context(|| format!("cannot listen on a loopback port ({what})"))
}

fn remembered(dir: &Path) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let Ok(text) = std::fs::read_to_string(dir.join(ADDRESSES_FILE)) else {
        return (None, None);
    };
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let addr = |key: &str| value[key].as_str().and_then(|s| s.parse().ok());
    (addr("listen"), addr("sandbox_listen"))
}

/// pinline's API, as the demo calls it.
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "{method} {path} answered HTTP {}: {}",
                status.as_u16(),
                json["error"]["message"].as_str().unwrap_or(&text)
            );
        }
        Ok(json)
    }
}

fn rfc3339_in(ms_from_now: i64) -> anyhow::Result<String> {
    let at_ms = SystemClock.now_ms() + ms_from_now;
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .context("time out of range")?;
    at.format(&time::format_description::well_known::Rfc3339)
        .context("formatting a time")
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    // The demo talks to its own sandbox and to receivers on this machine only: nothing it does,
    // and nothing a visitor registers in it, leaves the machine.
    pinline_outbound::restrict_to_loopback();
    let dir = args.data_dir.join("demo");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let (last_listen, last_sandbox) = remembered(&dir);

    // pinline's address first: the sandbox registers its callback, as a Pinterest app would.
    let listener = bind(args.listen, last_listen, "pinline").await?;
    let bound = listener.local_addr()?;
    let public_url = format!("http://{bound}");

    // The sandbox: a stand-in for Pinterest that approves consent at once.
    let sandbox_listener = bind(args.sandbox_listen, last_sandbox, "sandbox").await?;
    let sandbox_addr = sandbox_listener.local_addr()?;
    drop(sandbox_listener);
    let sandbox_config = SandboxConfig {
        auto_approve: true,
        redirect_uris: vec![format!("{public_url}/oauth/callback")],
        state_file: Some(dir.join("sandbox-state.json")),
        ..SandboxConfig::default()
    };
    let sandbox = pinline_sandbox::spawn(sandbox_config.clone(), sandbox_addr)
        .await
        .with_context(|| format!("while starting the sandbox on {sandbox_addr}"))?;
    let _ = std::fs::write(
        dir.join(ADDRESSES_FILE),
        json!({"listen": bound.to_string(), "sandbox_listen": sandbox.addr().to_string()})
            .to_string(),
    );

    let data = DataArgs {
        data_dir: dir.clone(),
        database_url: None,
    };
    let setup = ServerSetup {
        app: PinterestApp {
            environment: Environment::from_urls(&sandbox.base_url(), &sandbox.oauth_url())
                .context("the sandbox's URL")?,
            client_id: ClientId::new(sandbox_config.client_id.clone()),
            client_secret: ClientSecret::new(sandbox_config.client_secret.clone()),
        },
        public_url: public_url.clone(),
        location: DatabaseLocation::default_in(&dir),
        keys: data.key_ring()?,
        pacing: pinline_queue::PacerSettings::default(),
        lease: Duration::from_secs(60),
        in_flight: 64,
        drafter: pinline_drafts::Drafter::new(
            pinline_drafts::DraftSettings {
                fetch: pinline_drafts::FetchPolicy {
                    allow_private: true,
                    ..pinline_drafts::FetchPolicy::default()
                },
                ..pinline_drafts::DraftSettings::default()
            },
            std::sync::Arc::new(pinline_drafts::RuleGenerator),
        ),
        allow_private_targets: true,
        trusted_proxies: Vec::new(),
        limits: pinline_server::ConnectionLimits::default(),
        credential: pinline_server::passthrough::CredentialSettings::default(),
        metrics_token: None,
        connect_return_urls: Vec::new(),
        alerts: pinline_alerts::AlertSettings::new(&public_url),
    };
    let running = serve_cmd::start(setup, listener).await?;

    let result = set_up(&running.store, &public_url, &sandbox.base_url()).await;
    let outcome = match result {
        Ok(summary) => {
            println!("{summary}");
            if !args.exit_after_setup {
                println!("pinline demo is running. Press Ctrl-C to stop.");
                serve_cmd::shutdown_signal().await;
                eprintln!("stopping the demo…");
            }
            Ok(())
        }
        Err(error) => Err(error),
    };
    running.shutdown().await?;
    sandbox.shutdown().await;
    outcome
}

/// Connects the demo account, makes a board, publishes one pin and schedules three; returns
/// what to print.
async fn set_up(
    store: &pinline_store::Store,
    public_url: &str,
    sandbox_url: &str,
) -> anyhow::Result<String> {
    let created =
        pinline_server::api_keys::create_api_key(store, PROFILE, "demo", SystemClock.now_ms())
            .await
            .context("while creating the demo API key")?;
    let api = Api {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .context("HTTP client")?,
        base: public_url.to_owned(),
        key: created.key.clone(),
    };

    // Connect through the real OAuth flow: pinline's connect link, the sandbox's consent page
    // (which approves at once), pinline's callback.
    let started = api
        .send(Method::POST, "/v1/accounts/connect", None)
        .await
        .context("while starting the connect")?;
    let authorize = started["authorize_url"]
        .as_str()
        .context("the connect answer has no authorize_url")?;
    let consent = api
        .http
        .get(format!("{authorize}&sandbox_user={DEMO_USER}"))
        .send()
        .await
        .context("while opening the sandbox's consent page")?;
    let callback = consent
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "the sandbox's consent page did not redirect back (HTTP {})",
                consent.status().as_u16()
            )
        })?;
    let landed = api
        .http
        .get(&callback)
        .send()
        .await
        .context("while calling pinline's OAuth callback")?;
    if !landed.status().is_success() {
        let status = landed.status().as_u16();
        let body = landed.text().await.unwrap_or_default();
        bail!("pinline's OAuth callback answered HTTP {status}: {body}");
    }
    let accounts = api.send(Method::GET, "/v1/accounts", None).await?;
    let account = accounts["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["username"] == DEMO_USER && a["status"] == "active")
        .max_by_key(|a| a["updated_at"].as_str().unwrap_or("").to_owned())
        .cloned()
        .context("the demo account did not show up after connecting")?;
    let account_id = account["id"].as_str().unwrap_or_default().to_owned();

    // A board, reused on later runs.
    let boards = api
        .send(
            Method::GET,
            &format!("/v1/accounts/{account_id}/boards?page_size=250"),
            None,
        )
        .await?;
    let existing = boards["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["name"] == BOARD_NAME)
        .cloned();
    let board = match existing {
        Some(board) => board,
        None => {
            api.send(
                Method::POST,
                &format!("/v1/accounts/{account_id}/boards"),
                Some(
                    json!({"name": BOARD_NAME, "description": "Pins published by `pinline demo`."}),
                ),
            )
            .await?
        }
    };
    let board_id = board["id"].as_str().unwrap_or_default().to_owned();

    // One pin now, waited for.
    let post = api
        .send(
            Method::POST,
            "/v1/posts",
            Some(json!({
                "account_id": account_id,
                "board_id": board_id,
                "title": "Hello from pinline",
                "description": "Published by `pinline demo` through the local Pinterest sandbox.",
                "link": "https://example.invalid/pinline",
                "alt_text": "A placeholder image",
                "image_url": "https://images.example.invalid/pinline-demo-0.jpg",
            })),
        )
        .await
        .context("while posting the first pin")?;
    let post_id = post["id"].as_str().unwrap_or_default().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let published = loop {
        let now = api
            .send(Method::GET, &format!("/v1/posts/{post_id}"), None)
            .await?;
        match now["status"].as_str() {
            Some("published") => break now,
            Some("failed" | "canceled" | "held") => bail!(
                "the first pin did not publish: {} ({})",
                now["status"],
                now["last_error"]["message"]
                    .as_str()
                    .unwrap_or("no error recorded")
            ),
            _ if tokio::time::Instant::now() > deadline => {
                bail!("the first pin was not published within 60 seconds")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let pin_url = published["pin"]["url"]
        .as_str()
        .or(published["pin"]["id"].as_str())
        .unwrap_or("")
        .to_owned();

    // Three more, a minute apart.
    let mut scheduled = Vec::new();
    for minute in 1..=3_i64 {
        let at = rfc3339_in(minute * 60_000)?;
        let post = api
            .send(
                Method::POST,
                "/v1/posts",
                Some(json!({
                    "account_id": account_id,
                    "board_id": board_id,
                    "title": format!("Scheduled pin #{minute}"),
                    "description": "Scheduled by `pinline demo`.",
                    "link": "https://example.invalid/pinline",
                    "image_url": format!("https://images.example.invalid/pinline-demo-{minute}.jpg"),
                    "publish_at": at,
                })),
            )
            .await
            .context("while scheduling a pin")?;
        scheduled.push(format!(
            "    {}  at {}",
            post["id"].as_str().unwrap_or(""),
            post["publish_at"].as_str().unwrap_or(&at)
        ));
    }

    Ok(format!(
        "\
pinline demo is ready.

  Account:     @{username} ({account_id}), connected through the sandbox's OAuth flow
  Board:       {BOARD_NAME} ({board_id})
  Published:   {pin_url}  (post {post_id})
  Scheduled:
{scheduled}
  Dashboard:   {public_url}/dashboard
  API base:    {public_url}/v1
  API key:     {key}
  Sandbox:     {sandbox_url} (a local stand-in for Pinterest)

Try:
  export PINLINE_URL={public_url} PINLINE_API_KEY={key}
  pinline posts list
  pinline post --account {account_id} --board-id {board_id} --title Hi --image-url https://images.example.invalid/a.jpg
",
        username = account["username"].as_str().unwrap_or(DEMO_USER),
        scheduled = scheduled.join("\n"),
        key = created.key,
    ))
}
