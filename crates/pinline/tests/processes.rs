//! Real `pinline serve` processes on one database: a stampede of API calls on an expired token,
//! spread over two processes, makes exactly one refresh at Pinterest (the sandbox).

mod common;

use std::time::{Duration, Instant};

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use serde_json::{Value, json};

use common::{browser_like, cli, connect, connect_with_board, sandbox, sandbox_user, start_server};

backend_tests!(
    two_processes_refresh_an_expired_token_once,
    two_processes_survive_a_failing_first_refresh,
    two_processes_refresh_once_for_tools_through_the_passthrough,
    the_cli_creates_keys_and_lists_accounts,
);

async fn the_cli_creates_keys_and_lists_accounts(db: TestDatabase) {
    let sandbox = sandbox().await;
    let master_key = "22".repeat(32);
    let (code, key, stderr) = cli(
        &["keys", "create", "--profile", "ops", "--quiet"],
        &[("PINLINE_DATABASE_URL", &db.url)],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let key = key.trim().to_owned();
    assert!(key.starts_with("pl_"), "{key}");
    let server = start_server(
        &db.url,
        &master_key,
        &sandbox.base_url(),
        &sandbox.oauth_url(),
        &[],
    )
    .await;
    let env = [
        ("PINLINE_URL", server.base_url.as_str()),
        ("PINLINE_API_KEY", key.as_str()),
    ];

    let (code, out, _) = cli(&["accounts", "list"], &env).await;
    assert_eq!(code, 0);
    assert!(out.contains("No accounts yet"), "{out}");

    // Connect: the CLI prints the link; the sandbox approves at once.
    let http = browser_like();
    sandbox_user(&http, &sandbox, "maker").await;
    let (code, out, _) = cli(&["accounts", "connect", "--json"], &env).await;
    assert_eq!(code, 0);
    let started: Value = serde_json::from_str(&out).expect("JSON output");
    let consent = http
        .get(started["authorize_url"].as_str().expect("authorize_url"))
        .send()
        .await
        .expect("consent");
    let callback = consent.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    http.get(&callback).send().await.expect("callback");

    let (code, out, _) = cli(&["accounts", "list", "--json"], &env).await;
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(listed[0]["username"], json!("maker"));
    assert_eq!(listed[0]["status"], json!("active"));

    let (code, _, stderr) = cli(&["accounts", "show", "no-such-account"], &env).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("not_found"), "{stderr}");
    let (code, _, stderr) = cli(
        &["accounts", "list"],
        &[("PINLINE_URL", server.base_url.as_str())],
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("PINLINE_API_KEY"),
        "names the fix: {stderr}"
    );

    // A key limited to reading: it lists, and a write is refused naming the scope.
    let db_env = [("PINLINE_DATABASE_URL", db.url.as_str())];
    let (code, reader, stderr) = cli(
        &[
            "keys",
            "create",
            "--profile",
            "ops",
            "--name",
            "reader",
            "--quiet",
            "--scope",
            "accounts:read",
            "--scope",
            "posts:read",
        ],
        &db_env,
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let reader_env = [
        ("PINLINE_URL", server.base_url.as_str()),
        ("PINLINE_API_KEY", reader.trim()),
    ];
    let (code, out, _) = cli(&["accounts", "list", "--json"], &reader_env).await;
    assert_eq!(code, 0, "{out}");
    let (code, _, stderr) = cli(&["accounts", "connect"], &reader_env).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("accounts:write"), "{stderr}");
    let (code, out, _) = cli(&["keys", "list", "--profile", "ops"], &db_env).await;
    assert_eq!(code, 0);
    assert!(out.contains("accounts:read, posts:read"), "{out}");
    assert!(out.contains("every scope"), "{out}");
    let (code, _, stderr) = cli(
        &[
            "keys",
            "create",
            "--profile",
            "ops",
            "--scope",
            "posts:delete",
        ],
        &db_env,
    )
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("posts:delete") && stderr.contains("posts:write"),
        "names the scopes there are: {stderr}"
    );
    drop(server);
}

/// Which door the stampede's calls come through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    /// pinline's own API (`GET /v1/accounts/{id}/boards`), 200 calls.
    Api,
    /// The Pinterest passthrough (`GET /pinterest/v5/boards`), 20 calls, as a tool would.
    Passthrough,
}

async fn stampede(db: TestDatabase, fail_first_refresh: bool) {
    stampede_through(db, fail_first_refresh, Door::Api).await;
}

async fn stampede_through(db: TestDatabase, fail_first_refresh: bool, door: Door) {
    let sandbox = sandbox().await;
    let master_key = "11".repeat(32);
    let key = pinline_server::api_keys::create_api_key(&db.store, "default", "test", 0)
        .await
        .expect("api key")
        .key;
    // Logging at debug level, so the leak check at the end reads as much as pinline can say.
    let mut env = vec![("RUST_LOG", "debug")];
    if door == Door::Passthrough {
        // This stampede is about refreshing once, not about the tools' share of the budget:
        // a read rate the 20 calls stay within.
        env.push(("PINLINE_PINTEREST_RATES", "org_read=1000/s"));
    }
    let mut a = start_server(
        &db.url,
        &master_key,
        &sandbox.base_url(),
        &sandbox.oauth_url(),
        &env,
    )
    .await;
    let mut b = start_server(
        &db.url,
        &master_key,
        &sandbox.base_url(),
        &sandbox.oauth_url(),
        &env,
    )
    .await;
    let http = browser_like();

    // Connect through process A (the sandbox approves at once and redirects to A's callback).
    let user = sandbox_user(&http, &sandbox, "maker").await;
    let account_id = connect(&http, &a.base_url, &key).await;

    // Pinterest expires the access token; pinline does not know yet.
    let user_id = user["id"].as_str().expect("user id");
    http.post(format!(
        "{}/_sandbox/users/{user_id}/expire",
        sandbox.base_url()
    ))
    .send()
    .await
    .expect("expire");
    if fail_first_refresh {
        http.post(format!("{}/_sandbox/faults", sandbox.base_url()))
            .json(&json!({"rules": [{"operation": "oauth/token", "kind": "error", "status": 503, "count": 1}]}))
            .send()
            .await
            .expect("fault");
    }

    let calls = match door {
        Door::Api => 200,
        Door::Passthrough => 20,
    };
    let mut tasks = Vec::new();
    for i in 0..calls {
        let base = if i % 2 == 0 { &a.base_url } else { &b.base_url };
        let url = match door {
            Door::Api => format!("{base}/v1/accounts/{account_id}/boards"),
            Door::Passthrough => format!("{base}/pinterest/v5/boards"),
        };
        let (http, key, account_id) = (http.clone(), key.clone(), account_id.clone());
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut request = http.get(url).bearer_auth(key);
            if door == Door::Passthrough {
                request = request.header("x-pinline-account", account_id);
            }
            let status = request.send().await.map(|r| r.status().as_u16());
            (status, started.elapsed())
        }));
    }
    let mut waits = Vec::new();
    for task in tasks {
        let (status, waited) = task.await.expect("task");
        assert_eq!(status.ok(), Some(200), "every call succeeds");
        waits.push(waited);
    }
    waits.sort();
    eprintln!(
        "two-process stampede through {door:?} ({}): {calls} calls, p50 {:?}, max {:?}",
        if fail_first_refresh {
            "first refresh 503"
        } else {
            "clean"
        },
        waits[calls / 2],
        waits[calls - 1]
    );
    let stats: Value = http
        .get(format!("{}/_sandbox/stats", sandbox.base_url()))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(
        stats["token_requests"]["refresh_token"],
        json!(1),
        "{stats}"
    );
    assert_eq!(stats["refresh_token_reuse"], json!(0), "{stats}");
    let _ = a.child.kill().await;
    let _ = b.child.kill().await;
    // Neither process logged a token, the app secret, the master key or the API key.
    for server in [&a, &b] {
        let log = server.log();
        assert!(
            log.contains("pinline is serving on"),
            "the log was captured"
        );
        for needle in [
            "pina_",
            "pinr_",
            "sandbox-secret",
            master_key.as_str(),
            key.as_str(),
        ] {
            if let Some(line) = log.lines().find(|line| line.contains(needle)) {
                panic!(
                    "a log line holds a secret: {}",
                    line.replace(needle, "<SECRET>")
                );
            }
        }
    }
}

async fn two_processes_refresh_an_expired_token_once(db: TestDatabase) {
    stampede(db, false).await;
}

async fn two_processes_survive_a_failing_first_refresh(db: TestDatabase) {
    stampede(db, true).await;
}

/// The passthrough on the same expired token: 20 tool calls across two processes, one refresh.
async fn two_processes_refresh_once_for_tools_through_the_passthrough(db: TestDatabase) {
    stampede_through(db, false, Door::Passthrough).await;
}

/// Three replicas on PostgreSQL publish 1,000 posts while one of them is SIGKILLed mid-run:
/// every post is published exactly once (counted at the sandbox) and none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_publish_exactly_once_when_one_is_killed() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let sandbox = sandbox().await;
    let master_key = "33".repeat(32);
    let key = pinline_server::api_keys::create_api_key(&db.store, "default", "test", 0)
        .await
        .expect("api key")
        .key;
    let env = [
        ("PINLINE_QUEUE_LEASE_SECS", "2"),
        (
            "PINLINE_PINTEREST_RATES",
            "org_write=2000/s,org_read=2000/s",
        ),
    ];
    let (api, oauth) = (sandbox.base_url(), sandbox.oauth_url());
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(start_server(&db.url, &master_key, &api, &oauth, &env).await);
    }
    let first = replicas[0].base_url.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http");
    http.post(format!("{api}/_sandbox/users"))
        .json(&json!({"username": "maker"}))
        .send()
        .await
        .expect("user");
    let (account, board) = connect_with_board(&http, &first, &key, "Chaos").await;

    let pins_created = |http: reqwest::Client, api: String| async move {
        let stats: Value = http
            .get(format!("{api}/_sandbox/stats"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        stats["pins_created"].as_i64().unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    // SIGKILL one replica in the middle of the run, while posts are still arriving.
    let mut victim = replicas.remove(1);
    let killer = {
        let (http, api) = (http.clone(), api.clone());
        tokio::spawn(async move {
            while pins_created(http.clone(), api.clone()).await < 200 {
                assert!(Instant::now() < deadline, "publishing did not start");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            victim.child.kill().await.expect("SIGKILL a replica");
            pins_created(http, api).await
        })
    };
    for chunk in 0..2 {
        let posts: Vec<Value> = (0..500)
            .map(|i| {
                json!({
                    "account_id": account, "board_id": board,
                    "title": format!("Post {}", chunk * 500 + i),
                    "image_url": format!("https://example.invalid/{}.jpg", chunk * 500 + i),
                })
            })
            .collect();
        let reply: Value = http
            .post(format!("{first}/v1/posts/batch"))
            .bearer_auth(&key)
            .json(&json!({ "posts": posts }))
            .send()
            .await
            .expect("batch")
            .json()
            .await
            .expect("json");
        assert_eq!(reply["accepted"], json!(500), "{reply}");
    }

    let killed_at = killer.await.expect("killer");

    loop {
        let counts = db.store.post_counts_by_status().await.expect("counts");
        if counts.get("published").copied().unwrap_or(0) == 1000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all posts published: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let created = pins_created(http.clone(), api.clone()).await;
    eprintln!("three replicas: killed one at {killed_at} pins; {created} pins for 1000 posts");
    assert_eq!(created, 1000, "exactly one pin per post at the sandbox");
    // Every post carries its own pin.
    let mut pins = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{first}/v1/posts?status=published&limit=500");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = http
            .get(url)
            .bearer_auth(&key)
            .send()
            .await
            .expect("posts")
            .json()
            .await
            .expect("json");
        for post in page["items"].as_array().expect("items") {
            pins.insert(post["pin"]["id"].as_str().expect("pin id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pins.len(), 1000, "1000 distinct pins");
    for mut replica in replicas {
        let _ = replica.child.kill().await;
    }
}
