//! What the binary's process tests share: running `pinline` to completion, starting a real
//! `pinline serve` against the sandbox, and connecting an account through the real OAuth redirect.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pinline_sandbox::{SandboxConfig, SandboxHandle};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `pinline serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base_url: String,
    /// Everything it has written to stderr (its log), for tests that look for leaked secrets.
    log: Arc<Mutex<String>>,
}

impl Server {
    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Runs the `pinline` binary to completion; returns (exit code, stdout, stderr).
pub async fn cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pinline"))
        .args(args)
        .env_clear()
        .env("RUST_LOG", "warn")
        .envs(pinline_outbound::loopback_child_env())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run pinline");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Starts `pinline serve` on a free loopback port against the sandbox's app, with `extra_env`
/// on top, and waits until it says it is serving.
pub async fn start_server(
    db_url: &str,
    master_key: &str,
    sandbox_url: &str,
    sandbox_oauth: &str,
    extra_env: &[(&str, &str)],
) -> Server {
    let port = free_port();
    let base_url = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pinline"))
        .arg("serve")
        .env_clear()
        .env("PINLINE_DATABASE_URL", db_url)
        .env("PINLINE_MASTER_KEY", master_key)
        .env("PINLINE_LISTEN", format!("127.0.0.1:{port}"))
        .env("PINLINE_PUBLIC_URL", &base_url)
        .env("PINTEREST_CLIENT_ID", "1000001")
        .env("PINTEREST_CLIENT_SECRET", "sandbox-secret")
        .env("PINTEREST_API_URL", sandbox_url)
        .env("PINTEREST_OAUTH_URL", sandbox_oauth)
        .env("RUST_LOG", "warn")
        .envs(pinline_outbound::loopback_child_env())
        .envs(extra_env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start pinline serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let log = Arc::new(Mutex::new(String::new()));
    let keep = |log: &Arc<Mutex<String>>, line: &str| {
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        log.push_str(line);
        log.push('\n');
    };
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            keep(&log, &line);
            if line.contains("pinline is serving on") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "pinline serve did not start");
    // Keep draining stderr so the child never blocks on a full pipe.
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            keep(&sink, &line);
        }
    });
    Server {
        child,
        base_url,
        log,
    }
}

/// A sandbox on a free loopback port that approves consent at once, as its first user.
pub async fn sandbox() -> SandboxHandle {
    pinline_sandbox::spawn(
        SandboxConfig {
            auto_approve: true,
            ..SandboxConfig::default()
        },
        "127.0.0.1:0".parse().expect("address"),
    )
    .await
    .expect("sandbox")
}

/// An HTTP client that, like a person's browser seen from a test, does not follow redirects.
pub fn browser_like() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http")
}

/// Creates the sandbox user `username`; returns the sandbox's view of it (its `id`).
pub async fn sandbox_user(
    http: &reqwest::Client,
    sandbox: &SandboxHandle,
    username: &str,
) -> Value {
    http.post(format!("{}/_sandbox/users", sandbox.base_url()))
        .json(&json!({ "username": username }))
        .send()
        .await
        .expect("user")
        .json()
        .await
        .expect("json")
}

/// Connects the sandbox's auto-approved user through pinline at `base_url` (connect, consent
/// redirect, callback) and creates a board named `board`; returns (account id, board id).
pub async fn connect_with_board(
    http: &reqwest::Client,
    base_url: &str,
    key: &str,
    board: &str,
) -> (String, String) {
    let account_id = connect(http, base_url, key).await;
    let created: Value = http
        .post(format!("{base_url}/v1/accounts/{account_id}/boards"))
        .bearer_auth(key)
        .json(&json!({ "name": board }))
        .send()
        .await
        .expect("board")
        .json()
        .await
        .expect("json");
    let board_id = created["id"].as_str().expect("board id").to_owned();
    (account_id, board_id)
}

/// Connects the sandbox's auto-approved user through pinline at `base_url`; returns the account id.
pub async fn connect(http: &reqwest::Client, base_url: &str, key: &str) -> String {
    let started: Value = http
        .post(format!("{base_url}/v1/accounts/connect"))
        .bearer_auth(key)
        .send()
        .await
        .expect("connect")
        .json()
        .await
        .expect("json");
    let consent = http
        .get(started["authorize_url"].as_str().expect("authorize_url"))
        .send()
        .await
        .expect("consent");
    let callback = consent.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let landed = http.get(&callback).send().await.expect("callback");
    assert_eq!(landed.status().as_u16(), 200);
    let accounts: Value = http
        .get(format!("{base_url}/v1/accounts"))
        .bearer_auth(key)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    accounts["items"][0]["id"]
        .as_str()
        .expect("account id")
        .to_owned()
}
