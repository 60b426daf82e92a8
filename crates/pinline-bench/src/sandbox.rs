//! `sandbox`: how fast the sandbox itself creates pins, since every other scenario's figures are
//! bounded by it. The sandbox runs in process on 127.0.0.1:0, unthrottled and without faults;
//! 16 users, each with a token minted through the control API and one public board, and one
//! closed loop of `POST /v5/pins` per user for a fixed time. Baseline: the same loops for the
//! same time on `GET /v5/user_account`, the cheapest authenticated call, on the same sandbox.
//!
//! The sandbox keeps everything in memory, so this is one row whatever `--backend` says. Every
//! create must answer 201 and `/_sandbox/stats` must count exactly the pins the loops saw
//! created; anything else is a failure (`pinline bench` exits 1). The speed goal (5,000
//! creates/s in a release build) is read from the table, like the other scenarios' goals.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::env::pin_media;
use crate::stats::{ms, per_sec, quantile, ratio};
use crate::{BenchOptions, Ran, Size, Table};

/// Sizes of one run.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Sandbox users, and as many concurrent loops (one per user).
    pub users: usize,
    /// How long each of the two measurements lasts.
    pub duration: Duration,
}

impl Params {
    pub fn for_size(size: Size) -> Params {
        match size {
            Size::Full => Params {
                users: 16,
                duration: Duration::from_secs(5),
            },
            Size::Quick => Params {
                users: 16,
                duration: Duration::from_secs(1),
            },
            Size::Tiny => Params {
                users: 16,
                duration: Duration::from_millis(300),
            },
        }
    }
}

/// The creation rate the sandbox must reach in a release build (no hard failure below it; the
/// table says so).
pub const GOAL_CREATES_PER_SEC: f64 = 5_000.0;

pub const TITLE: &str = "sandbox (POST /v5/pins, one closed loop per user, unthrottled; goal: ≥ 5,000 \
     creates/s in release)";

/// The scopes of the minted tokens: the board, the pins, and the baseline's account read.
const SCOPES: &[&str] = &[
    "boards:read",
    "boards:write",
    "pins:read",
    "pins:write",
    "user_accounts:read",
];

/// Longest wait for any one request; bounds the run if the sandbox stalls.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "loops",
            "seconds",
            "creates",
            "creates/s",
            "GET /v5/user_account/s",
            "ratio creates/user_account",
            "create p50 ms",
            "create p99 ms",
            "goal",
            "notes",
        ],
    )
}

/// Runs the scenario (no database: the `--backend` choice does not apply).
pub async fn run(options: &BenchOptions) -> Result<Ran> {
    let params = Params::for_size(options.size);
    let config = pinline_sandbox::SandboxConfig::default();
    let sandbox = pinline_sandbox::spawn(config, crate::env::loopback()).await?;
    let base = sandbox.base_url();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()?;

    let mut users = Vec::with_capacity(params.users);
    for index in 0..params.users {
        users.push(
            User::create(&http, &base, &format!("bench{index}"))
                .await
                .with_context(|| format!("while creating sandbox user bench{index}"))?,
        );
    }

    // Baseline first (it also opens the loops' connections), then the creates.
    let baseline = closed_loops(&http, &base, &users, Call::UserAccount, params.duration).await?;
    let creates = closed_loops(&http, &base, &users, Call::CreatePin, params.duration).await?;
    let counted = pins_created(&http, &base).await?;
    sandbox.shutdown().await;

    let mut failures = Vec::new();
    if creates.errors > 0 {
        failures.push(format!(
            "{} of {} creates did not answer 201 (first: {})",
            creates.errors,
            creates.ok + creates.errors,
            creates.first_error.as_deref().unwrap_or("?")
        ));
    }
    if counted != creates.ok {
        failures.push(format!(
            "/_sandbox/stats counts {counted} pins created, the loops saw {} answered 201",
            creates.ok
        ));
    }

    let create_rate = per_sec(creates.ok as f64, creates.elapsed);
    let baseline_rate = per_sec(baseline.ok as f64, baseline.elapsed);
    let mut notes = Vec::new();
    if baseline.errors > 0 {
        notes.push(format!(
            "{} baseline calls did not answer 200 (first: {})",
            baseline.errors,
            baseline.first_error.as_deref().unwrap_or("?")
        ));
    }
    if cfg!(debug_assertions) {
        notes.push("debug build: the goal is for release".to_owned());
    } else if create_rate < GOAL_CREATES_PER_SEC {
        notes.push("below the goal".to_owned());
    }

    let mut latencies = creates.latencies;
    latencies.sort_unstable();
    let mut table = table();
    table.row(vec![
        "in memory".to_owned(),
        params.users.to_string(),
        format!("{:.1}", params.duration.as_secs_f64()),
        creates.ok.to_string(),
        format!("{create_rate:.0}"),
        format!("{baseline_rate:.0}"),
        ratio(create_rate, baseline_rate),
        ms(quantile(&latencies, 0.5)),
        ms(quantile(&latencies, 0.99)),
        "≥ 5,000 creates/s (release)".to_owned(),
        if notes.is_empty() {
            "–".to_owned()
        } else {
            notes.join("; ")
        },
    ]);
    Ok(Ran::Tables {
        tables: vec![table],
        failures,
    })
}

/// A sandbox user with a token and a public board.
#[derive(Debug, Clone)]
struct User {
    access_token: String,
    board_id: String,
}

impl User {
    /// `POST /_sandbox/users`, `POST /_sandbox/users/{id}/tokens`, then `POST /v5/boards`.
    async fn create(http: &reqwest::Client, base: &str, username: &str) -> Result<User> {
        let user = expect_json(
            http.post(format!("{base}/_sandbox/users"))
                .json(&json!({ "username": username })),
            StatusCode::CREATED,
        )
        .await?;
        let user_id = text_field(&user, "id")?;
        let tokens = expect_json(
            http.post(format!("{base}/_sandbox/users/{user_id}/tokens"))
                .json(&json!({ "scopes": SCOPES })),
            StatusCode::CREATED,
        )
        .await?;
        let access_token = text_field(&tokens, "access_token")?;
        let board = expect_json(
            http.post(format!("{base}/v5/boards"))
                .bearer_auth(&access_token)
                .json(&json!({ "name": format!("Bench {username}"), "privacy": "PUBLIC" })),
            StatusCode::CREATED,
        )
        .await?;
        Ok(User {
            access_token,
            board_id: text_field(&board, "id")?,
        })
    }
}

/// Sends `request` and reads its JSON body, which must come with `status`.
async fn expect_json(request: reqwest::RequestBuilder, status: StatusCode) -> Result<Value> {
    let response = request.send().await?;
    let got = response.status();
    let text = response.text().await?;
    if got != status {
        bail!("expected {status}, got {got}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))
}

fn text_field(value: &Value, name: &str) -> Result<String> {
    value[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no `{name}` in {value}"))
}

/// `pins_created` from `GET /_sandbox/stats`.
async fn pins_created(http: &reqwest::Client, base: &str) -> Result<u64> {
    let stats = expect_json(http.get(format!("{base}/_sandbox/stats")), StatusCode::OK).await?;
    stats["pins_created"]
        .as_u64()
        .with_context(|| format!("no `pins_created` in {stats}"))
}

/// What the loops call.
#[derive(Debug, Clone, Copy)]
enum Call {
    /// `POST /v5/pins` on the user's board, expecting 201.
    CreatePin,
    /// `GET /v5/user_account`, expecting 200.
    UserAccount,
}

impl Call {
    fn request(self, http: &reqwest::Client, base: &str, user: &User) -> reqwest::RequestBuilder {
        match self {
            Call::CreatePin => {
                let slug = format!("sandbox-{}", user.board_id);
                http.post(format!("{base}/v5/pins"))
                    .bearer_auth(&user.access_token)
                    .json(&json!({
                        "board_id": user.board_id,
                        "title": "A pin",
                        "link": format!("https://shop.example/item/{slug}"),
                        "media_source": pin_media(&slug),
                    }))
            }
            Call::UserAccount => http
                .get(format!("{base}/v5/user_account"))
                .bearer_auth(&user.access_token),
        }
    }

    fn expected(self) -> StatusCode {
        match self {
            Call::CreatePin => StatusCode::CREATED,
            Call::UserAccount => StatusCode::OK,
        }
    }
}

/// What the loops of one measurement came back with.
#[derive(Debug, Default)]
struct LoopRun {
    /// Answers with the expected status and a complete body.
    ok: u64,
    /// Anything else: another status, a transport error, a timeout.
    errors: u64,
    first_error: Option<String>,
    /// The latency of each `ok` answer, from send to the end of its body.
    latencies: Vec<Duration>,
    /// From the start to the end of the last loop (its last request included).
    elapsed: Duration,
}

/// One loop per user, each sending `call` and waiting for the whole answer before the next, until
/// `duration` has passed.
async fn closed_loops(
    http: &reqwest::Client,
    base: &str,
    users: &[User],
    call: Call,
    duration: Duration,
) -> Result<LoopRun> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for user in users {
        let (http, base, user) = (http.clone(), base.to_owned(), user.clone());
        tasks.spawn(async move {
            let mut run = LoopRun::default();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let outcome = match call.request(&http, &base, &user).send().await {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(_) if status == call.expected() => Ok(()),
                            Ok(body) => Err(format!(
                                "{status}: {}",
                                String::from_utf8_lossy(&body[..body.len().min(200)])
                            )),
                            Err(error) => Err(format!("{status}, body unread: {error}")),
                        }
                    }
                    Err(error) => Err(error.to_string()),
                };
                match outcome {
                    Ok(()) => {
                        run.ok += 1;
                        run.latencies.push(sent.elapsed());
                    }
                    Err(error) => {
                        run.errors += 1;
                        run.first_error.get_or_insert(error);
                    }
                }
            }
            run
        });
    }
    let mut total = LoopRun::default();
    while let Some(joined) = tasks.join_next().await {
        let run = joined.context("a sandbox bench loop failed")?;
        total.ok += run.ok;
        total.errors += run.errors;
        if total.first_error.is_none() {
            total.first_error = run.first_error;
        }
        total.latencies.extend(run.latencies);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}
