//! The CLI as people and scripts use it: the real `pinline` binary, against a real `pinline
//! serve` process and an in-process sandbox. `demo`, `doctor` (healthy and revoked), `import`
//! (a bad row sends nothing; a good file sends everything), `post`, `posts list`, `draft` and
//! `drafts publish`.

mod common;

use std::time::Duration;

use common::{Server, browser_like, cli, connect_with_board, sandbox, sandbox_user, start_server};
use pinline_sandbox::SandboxHandle;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use serde_json::{Value, json};

#[tokio::test]
async fn demo_sets_up_twice_in_the_same_data_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    for run in 1..=2 {
        let (code, out, err) = tokio::time::timeout(
            Duration::from_secs(120),
            cli(
                &["demo", "--exit-after-setup"],
                &[("PINLINE_DATA_DIR", data)],
            ),
        )
        .await
        .expect("demo finishes");
        assert_eq!(code, 0, "run {run}: {out}\n{err}");
        assert!(out.contains("/pin/"), "run {run} prints the pin URL: {out}");
        assert!(out.contains("API key:     pl_"), "run {run}: {out}");
        assert!(out.contains("/dashboard"), "run {run}: {out}");
        assert_eq!(out.matches("  at ").count(), 3, "three scheduled: {out}");
    }
    assert!(dir.path().join("data/demo/pinline.db").exists());
}

#[tokio::test]
async fn help_documents_exit_codes_and_bad_usage_exits_2() {
    let (code, out, _) = cli(&["--help"], &[]).await;
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"), "{out}");
    let (code, _, _) = cli(&["posts", "list", "--no-such-flag"], &[]).await;
    assert_eq!(code, 2);
    let (code, out, _) = cli(&["completions", "bash"], &[]).await;
    assert_eq!(code, 0);
    assert!(out.contains("pinline"), "{out}");
}

/// A sandbox, a `pinline serve` on `db`, an API key and one connected account with a board.
struct World {
    sandbox: SandboxHandle,
    server: Server,
    base_url: String,
    key: String,
    db_url: String,
    master_key: String,
    sandbox_user: String,
    account_id: String,
    board_id: String,
}

impl World {
    fn api_env(&self) -> Vec<(&str, &str)> {
        vec![
            ("PINLINE_URL", self.base_url.as_str()),
            ("PINLINE_API_KEY", self.key.as_str()),
        ]
    }

    fn serve_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PINLINE_DATABASE_URL", self.db_url.clone()),
            ("PINLINE_MASTER_KEY", self.master_key.clone()),
            ("PINLINE_PUBLIC_URL", self.base_url.clone()),
            ("PINTEREST_CLIENT_ID", "1000001".into()),
            ("PINTEREST_CLIENT_SECRET", "sandbox-secret".into()),
            ("PINTEREST_API_URL", self.sandbox.base_url()),
            ("PINTEREST_OAUTH_URL", self.sandbox.oauth_url()),
        ]
    }

    async fn doctor(&self, args: &[&str]) -> (i32, String, String) {
        let env = self.serve_env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut full = vec!["doctor", self.account_id.as_str()];
        full.extend_from_slice(args);
        cli(&full, &env).await
    }
}

async fn world(db: &TestDatabase) -> World {
    let sandbox = sandbox().await;
    let master_key = "33".repeat(32);
    let key = pinline_server::api_keys::create_api_key(&db.store, "default", "test", 0)
        .await
        .expect("api key")
        .key;
    let server = start_server(
        &db.url,
        &master_key,
        &sandbox.base_url(),
        &sandbox.oauth_url(),
        &[],
    )
    .await;
    let base_url = server.base_url.clone();

    let http = browser_like();
    let user = sandbox_user(&http, &sandbox, "maker").await;
    let (account_id, board_id) = connect_with_board(&http, &base_url, &key, "Recipes").await;
    World {
        sandbox,
        server,
        base_url,
        key,
        db_url: db.url.clone(),
        master_key,
        sandbox_user: user["id"].as_str().expect("user id").to_owned(),
        account_id,
        board_id,
    }
}

backend_tests!(
    the_cli_prints_controls_from_the_api_as_escapes,
    doctor_passes_on_a_healthy_account_and_names_the_fix_for_a_revoked_one,
    import_is_all_or_nothing_and_post_and_posts_list_work,
    a_draft_from_text_and_a_local_image_is_published_from_the_cli,
);

/// `pinline draft --text … --image FILE` makes drafts with a 1000×1500 JPEG saved locally, and
/// `pinline drafts publish` queues one to the board; bad usage names the fix.
async fn a_draft_from_text_and_a_local_image_is_published_from_the_cli(db: TestDatabase) {
    let world = world(&db).await;
    let env = world.api_env();
    let dir = tempfile::tempdir().expect("temp dir");
    let picture = image::RgbImage::from_fn(900, 900, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    });
    let image_path = dir.path().join("tart.png");
    picture.save(&image_path).expect("save png");
    let saved = dir.path().join("drafts");
    let (code, out, err) = cli(
        &[
            "draft",
            "--text",
            "Lemon tart for a spring brunch, bright and sharp",
            "--image",
            image_path.to_str().expect("utf-8"),
            "--count",
            "2",
            "--save-images",
            saved.to_str().expect("utf-8"),
            "--json",
        ],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    let made: Value = serde_json::from_str(&out).expect("JSON");
    let drafts = made["items"].as_array().expect("items");
    assert_eq!(drafts.len(), 2);
    let id = drafts[0]["id"].as_str().expect("id").to_owned();
    let jpeg = image::open(saved.join(format!("{id}.jpg"))).expect("a saved JPEG");
    assert_eq!((jpeg.width(), jpeg.height()), (1000, 1500));

    let (code, out, err) = cli(
        &[
            "drafts",
            "publish",
            &id,
            "--account",
            &world.account_id,
            "--board",
            "Recipes",
            "--json",
        ],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    let post: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(post["board_id"], json!(world.board_id));
    let (code, out, _) = cli(&["drafts", "show", &id], &env).await;
    assert_eq!(code, 0);
    assert!(out.contains("published"), "{out}");

    let (code, _, err) = cli(&["draft"], &env).await;
    assert_eq!(code, 1);
    assert!(err.contains("nothing to draft from"), "{err}");

    // `pinline campaign`: usage errors name the fix; an account without slots is refused by
    // the API with its code; an unknown campaign is not found.
    let (code, _, err) = cli(&["campaign", "--text", "tarts", "--board", "Recipes"], &env).await;
    assert_eq!(code, 1);
    assert!(err.contains("--account is required"), "{err}");
    let (code, _, err) = cli(
        &[
            "campaign",
            "--text",
            "Lemon tart for a spring brunch",
            "--account",
            &world.account_id,
            "--board",
            "Recipes",
        ],
        &env,
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("no_slots"), "{err}");
    let (code, _, err) = cli(
        &["campaign", "show", "0193a5b2-7c1e-7f00-8000-000000000009"],
        &env,
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("not_found"), "{err}");
    let (code, _, err) = cli(
        &["draft", "--text", "x", "--image", "/no/such/file.png"],
        &env,
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("--image"), "{err}");
}

async fn doctor_passes_on_a_healthy_account_and_names_the_fix_for_a_revoked_one(db: TestDatabase) {
    let mut world = world(&db).await;

    let (code, out, err) = world
        .doctor(&["--refresh", "--test-publish", &world.board_id.clone()])
        .await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("[PASS] refresh"), "{out}");
    assert!(out.contains("[PASS] test_publish"), "{out}");
    assert!(out.contains("All checks passed"), "{out}");

    let (code, out, err) = world.doctor(&["--json"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).expect("JSON report");
    let checks = report["checks"].as_array().expect("checks");
    for name in [
        "account",
        "access_token",
        "pinterest_user",
        "scopes",
        "boards",
    ] {
        let check = checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("check {name} in {report}"));
        assert_eq!(check["status"], json!("pass"), "{check}");
    }

    // Revoked at Pinterest: pinline does not know yet; the doctor finds out and names the fix.
    reqwest::Client::new()
        .post(format!(
            "{}/_sandbox/users/{}/revoke",
            world.sandbox.base_url(),
            world.sandbox_user
        ))
        .send()
        .await
        .expect("revoke");
    let (code, out, err) = world.doctor(&[]).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("[FAIL]"), "{out}");
    // One account state in the whole report: the header's, found by the refresh step, and no
    // earlier check still passing the account as it was read before that step.
    assert!(out.contains("needs_reauth)"), "the header: {out}");
    for contradiction in ["[PASS] account", "[PASS] last_failure"] {
        assert!(!out.contains(contradiction), "{contradiction} in: {out}");
    }
    assert!(out.contains("read again after the steps below"), "{out}");
    // A failure seconds old says so exactly.
    assert!(
        out.lines()
            .any(|line| line.contains("[FAIL] last_failure") && line.contains(" s ago")),
        "{out}"
    );
    // stderr has the one-line verdict, no info logs and no colour codes.
    assert!(!err.contains('\u{1b}'), "colour codes on stderr: {err:?}");
    assert!(!err.contains(" INFO "), "info logs on stderr: {err}");
    let reconnect = format!("{}/accounts/{}/reconnect", world.base_url, world.account_id);
    assert!(out.contains(&reconnect), "names the reconnect link: {out}");
    assert!(out.contains("pinline accounts connect"), "{out}");
    assert!(err.contains("failed"), "{err}");

    // Now the account is known to need reauth: the JSON report says so at once.
    let (code, out, _) = world.doctor(&["--json"]).await;
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(
        report["account"]["status"],
        json!("needs_reauth"),
        "{report}"
    );
    assert_eq!(report["checks"][0]["status"], json!("fail"), "{report}");
    assert!(
        report["checks"][0]["fix"]
            .as_str()
            .is_some_and(|f| f.contains("reconnect")),
        "{report}"
    );

    let (code, _, err) = cli(
        &["doctor", "no-such-account"],
        &world
            .serve_env()
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(code, 1, "{err}");
    let _ = world.server.child.kill().await;
    // The server logged the revocation, but no token, key or secret with it.
    let log = world.server.log();
    for needle in [
        "pina_",
        "pinr_",
        "sandbox-secret",
        &world.master_key,
        &world.key,
    ] {
        assert!(!log.contains(needle), "the server's log holds a secret");
    }
}

async fn import_is_all_or_nothing_and_post_and_posts_list_work(db: TestDatabase) {
    let mut world = world(&db).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let env = world.api_env();
    let account = world.account_id.clone();
    let board = world.board_id.clone();

    // One bad row (line 3: title too long): reported, and nothing is sent.
    let long = "x".repeat(101);
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "account_id,board_id,title,description,link,alt_text,image_url,publish_at\n\
             {account},{board},Fine,,https://example.invalid,,https://example.invalid/1.jpg,2030-01-01T00:00:00Z\n\
             {account},{board},{long},,,,https://example.invalid/2.jpg,\n"
        ),
    )
    .expect("write csv");
    let bad = bad.to_str().expect("utf-8").to_owned();
    let (code, out, err) = cli(&["import", &bad], &env).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("line 3:"), "{err}");
    assert!(err.contains("nothing was submitted"), "{err}");
    let (code, out, _) = cli(&["posts", "list", "--json"], &env).await;
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");

    // An unknown board is caught before anything is sent, too.
    let unknown = dir.path().join("unknown.csv");
    std::fs::write(
        &unknown,
        format!(
            "account_id,board,image_url\n{account},Recipes,https://example.invalid/1.jpg\n{account},Nope,https://example.invalid/2.jpg\n"
        ),
    )
    .expect("write csv");
    let (code, _, err) = cli(&["import", unknown.to_str().expect("utf-8")], &env).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("line 3:") && err.contains("Nope"), "{err}");

    // A valid file: every row is imported; running it again duplicates nothing.
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        format!(
            "account_id,board_id,title,description,link,alt_text,image_url,publish_at\n\
             {account},{board},One,,https://example.invalid,,https://example.invalid/1.jpg,2030-01-01T00:00:00Z\n\
             {account},{board},Two,A description,,Alt,https://example.invalid/2.jpg,2030-01-02T00:00:00+01:00\n\
             {account},{board},Three,,,,https://example.invalid/3.jpg,2030-01-03T00:00:00Z\n"
        ),
    )
    .expect("write csv");
    let good = good.to_str().expect("utf-8").to_owned();
    let (code, out, err) = cli(&["import", &good, "--dry-run"], &env).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("All 3 rows are valid"), "{out}");
    let (code, out, err) = cli(&["import", &good, "--json"], &env).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let imported: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(imported["created"], json!(3), "{imported}");
    let (code, out, err) = cli(&["import", &good, "--json"], &env).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let again: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(again["created"], json!(0), "{again}");
    assert_eq!(again["already_imported"], json!(3), "{again}");

    // One pin from flags, published now.
    let (code, out, err) = cli(
        &[
            "post",
            "--account",
            &account,
            "--board",
            "Recipes",
            "--title",
            "Soup",
            "--image-url",
            "https://example.invalid/soup.jpg",
            "--wait",
            "--json",
        ],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    let post: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(post["status"], json!("published"), "{post}");
    let post_id = post["id"].as_str().expect("id").to_owned();

    let (code, out, _) = cli(&["posts", "list", "--json"], &env).await;
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(4), "{listed}");
    let (code, out, _) = cli(&["posts", "list", "--status", "queued"], &env).await;
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 4, "header and three queued: {out}");

    let (code, out, _) = cli(&["posts", "show", &post_id], &env).await;
    assert_eq!(code, 0);
    assert!(out.contains("published"), "{out}");
    let queued = listed
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["status"] == "queued")
        .and_then(|p| p["id"].as_str())
        .expect("a queued post")
        .to_owned();
    let (code, out, _) = cli(&["posts", "cancel", &queued, "--json"], &env).await;
    assert_eq!(code, 0);
    let canceled: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(canceled["status"], json!("canceled"), "{canceled}");
    let _ = world.server.child.kill().await;
}

/// A title with terminal commands in it (stored before pinline refused them, or sent back by a
/// changed Pinterest) is printed as escapes, in tables and in `--json`; the JSON still holds the
/// title itself.
async fn the_cli_prints_controls_from_the_api_as_escapes(db: TestDatabase) {
    let mut world = world(&db).await;
    let env = world.api_env();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{}/v1/posts", world.base_url))
        .bearer_auth(&world.key)
        .json(&json!({
            "account_id": world.account_id,
            "board_id": world.board_id,
            "title": "Lemon tart",
            "image_url": "https://example.invalid/tart.jpg",
            "publish_at": "2099-01-01T09:00:00Z",
        }))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("JSON");
    let post_id = created["id"].as_str().expect("id").to_owned();
    let hostile = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}trat";
    db.execute(&format!(
        "UPDATE posts SET title = '{hostile}' WHERE id = '{post_id}'"
    ))
    .await;
    let raw = |text: &str| {
        text.chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}')
    };

    let (code, out, err) = cli(&["posts", "list"], &env).await;
    assert_eq!(code, 0, "{err}");
    assert!(!raw(&out), "raw controls in the table: {out:?}");
    assert!(out.contains("\\u{1b}]0;owned\\u{7}"), "{out}");
    let (code, out, err) = cli(&["posts", "show", &post_id], &env).await;
    assert_eq!(code, 0, "{err}");
    assert!(!raw(&out), "raw controls in the post: {out:?}");
    let (code, out, err) = cli(&["posts", "list", "--json"], &env).await;
    assert_eq!(code, 0, "{err}");
    assert!(!raw(&out), "raw controls in the JSON: {out:?}");
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(listed[0]["title"], json!(hostile));
    let _ = world.server.child.kill().await;
}
