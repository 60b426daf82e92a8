//! pinline's MCP server driven by the official MCP Python SDK as an agent would: over stdio
//! (`pinline mcp` as a child process of the client) and over Streamable HTTP (`/mcp` of a running
//! `pinline serve`), against a real server process and the sandbox. Each transport lists the
//! tools, publishes a pin that goes live at the sandbox, and meets an API refusal as a tool
//! error with pinline's code; a read-only key is refused a write with `insufficient_scope`.
//!
//! The client needs Python with the `mcp` package: `PINLINE_TEST_MCP_PYTHON` names that
//! interpreter (CI makes a virtualenv for it). Without it the test is skipped, unless
//! `PINLINE_TEST_REQUIRE_MCP=1` makes that a failure.

#[expect(
    dead_code,
    reason = "this binary drives the server through MCP, not through the CLI"
)]
mod common;

use pinline_server::key_scopes::{KeyScope, KeyScopes};
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use serde_json::{Value, json};

use common::{browser_like, connect_with_board, sandbox, sandbox_user, start_server};

backend_tests!(the_official_python_client_publishes_over_stdio_and_http);

fn python() -> Option<String> {
    match std::env::var("PINLINE_TEST_MCP_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            assert!(
                std::env::var("PINLINE_TEST_REQUIRE_MCP").as_deref() != Ok("1"),
                "PINLINE_TEST_REQUIRE_MCP=1 but PINLINE_TEST_MCP_PYTHON is not set"
            );
            eprintln!("skipped: PINLINE_TEST_MCP_PYTHON is not set");
            None
        }
    }
}

async fn run_client(python: &str, which: &str, env: &[(&str, String)]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp_client/client.py");
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        tokio::process::Command::new(python)
            .arg(script)
            .arg(which)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output(),
    )
    .await
    .expect("the MCP client finished in time")
    .expect("the MCP client ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the MCP client ({which}) failed:\n{stdout}\n{stderr}"
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| panic!("{which}: {error}: {stdout}\n{stderr}"))
}

async fn the_official_python_client_publishes_over_stdio_and_http(db: TestDatabase) {
    let Some(python) = python() else {
        return;
    };
    let sandbox = sandbox().await;
    let key = pinline_server::api_keys::create_api_key(&db.store, "default", "agent", 0)
        .await
        .expect("key")
        .key;
    let read_only = pinline_server::api_keys::create_scoped_api_key(
        &db.store,
        "default",
        "reader",
        &KeyScopes::Only(vec![KeyScope::PostsRead, KeyScope::AccountsRead]),
        0,
    )
    .await
    .expect("key")
    .key;
    let server = start_server(
        &db.url,
        &"44".repeat(32),
        &sandbox.base_url(),
        &sandbox.oauth_url(),
        &[],
    )
    .await;
    let http = browser_like();
    sandbox_user(&http, &sandbox, "agent").await;
    let (account, board) = connect_with_board(&http, &server.base_url, &key, "Agents").await;
    let env = vec![
        (
            "PINLINE_TEST_BINARY",
            env!("CARGO_BIN_EXE_pinline").to_owned(),
        ),
        ("PINLINE_TEST_URL", server.base_url.clone()),
        ("PINLINE_TEST_KEY", key.clone()),
        ("PINLINE_TEST_READ_ONLY_KEY", read_only.clone()),
        ("PINLINE_TEST_ACCOUNT", account.clone()),
        ("PINLINE_TEST_BOARD", board.clone()),
    ];

    for transport in ["stdio", "http"] {
        let seen = run_client(&python, transport, &env).await;
        let tools: Vec<&str> = seen["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for tool in [
            "cancel_post",
            "create_post",
            "draft_from_url",
            "get_post",
            "list_accounts",
            "list_boards",
            "list_posts",
            "publish_draft",
        ] {
            assert!(tools.contains(&tool), "{transport}: {tool} in {tools:?}");
        }
        assert_eq!(seen["accounts"], json!([account]), "{transport}: {seen}");
        assert_eq!(seen["created_error"], json!(false), "{transport}: {seen}");
        assert_eq!(
            seen["post_status"],
            json!("published"),
            "{transport}: {seen}"
        );
        // The API's refusal, as a tool error carrying pinline's code and the field.
        assert_eq!(seen["refused_error"], json!(true), "{transport}: {seen}");
        assert_eq!(
            seen["refused"]["error"]["code"],
            json!("invalid_field"),
            "{seen}"
        );
        assert_eq!(seen["refused"]["error"]["field"], json!("title"), "{seen}");
    }
    let stats: Value = http
        .get(format!("{}/_sandbox/stats", sandbox.base_url()))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(
        stats["pins_created"],
        json!(2),
        "one pin per transport: {stats}"
    );

    let seen = run_client(&python, "read-only", &env).await;
    assert_eq!(seen["refused_error"], json!(true), "{seen}");
    assert_eq!(
        seen["refused"]["error"]["code"],
        json!("insufficient_scope"),
        "{seen}"
    );
    assert_eq!(
        seen["list_error"],
        json!(false),
        "reading is allowed: {seen}"
    );

    // Without a key, /mcp opens no session.
    let refused = http
        .post(format!("{}/mcp", server.base_url))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#)
        .send()
        .await
        .expect("mcp");
    assert_eq!(refused.status().as_u16(), 401);
    drop(server);
}
