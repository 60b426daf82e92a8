//! OpenTelemetry traces: a real `pinline serve` with an OTLP endpoint exports one trace per
//! post (accept → publish → claim → create → complete) to a collector on loopback, which this
//! test plays itself over OTLP/HTTP with JSON bodies.

#[expect(
    dead_code,
    reason = "this binary connects with the shared helpers but keeps no handle on the child"
)]
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use serde_json::{Value, json};

use common::{browser_like, cli, connect_with_board, sandbox, start_server};

backend_tests!(a_published_post_is_one_trace_from_accept_to_complete);

/// What the collector received: every span, as OTLP JSON.
type Spans = Arc<Mutex<Vec<Value>>>;

/// A collector on loopback that keeps the spans of every `POST /v1/traces`.
async fn collector() -> (String, Spans) {
    let spans: Spans = Arc::default();
    let kept = spans.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let export: Value = serde_json::from_slice(&body).expect("OTLP JSON");
                let mut kept = kept.lock().expect("spans");
                for resource in export["resourceSpans"].as_array().into_iter().flatten() {
                    for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                        for span in scope["spans"].as_array().into_iter().flatten() {
                            let mut span = span.clone();
                            span["service"] = resource["resource"]["attributes"].clone();
                            kept.push(span);
                        }
                    }
                }
                axum::Json(json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), spans)
}

fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|span| span["name"] == name).collect()
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|attribute| attribute["key"] == key)
        .map(|attribute| &attribute["value"])
}

async fn a_published_post_is_one_trace_from_accept_to_complete(db: TestDatabase) {
    let sandbox = sandbox().await;
    let (endpoint, spans) = collector().await;
    let master_key = "33".repeat(32);
    let (code, key, stderr) = cli(
        &["keys", "create", "--profile", "ops", "--quiet"],
        &[("PINLINE_DATABASE_URL", &db.url)],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let key = key.trim().to_owned();
    let server = start_server(
        &db.url,
        &master_key,
        &sandbox.base_url(),
        &sandbox.oauth_url(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let http = browser_like();
    let (account, board) = connect_with_board(&http, &server.base_url, &key, "Traced").await;
    let created: Value = http
        .post(format!("{}/v1/posts", server.base_url))
        .bearer_auth(&key)
        .json(&json!({
            "account_id": account,
            "board_id": board,
            "title": "Traced tart",
            "image_url": "https://example.invalid/traced.jpg",
        }))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let post_id = created["id"].as_str().expect("post id").to_owned();

    // Wait for the whole trace: the four worker spans come after the acceptance.
    let deadline = Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let seen = spans.lock().expect("spans").clone();
        let accept = named(&seen, "post.accept")
            .into_iter()
            .find(|span| attribute(span, "post.id") == Some(&json!({"stringValue": post_id})))
            .cloned();
        if let Some(accept) = accept {
            let trace_id = accept["traceId"].clone();
            let in_trace: Vec<Value> = seen
                .iter()
                .filter(|span| span["traceId"] == trace_id)
                .cloned()
                .collect();
            if ["post.publish", "post.claim", "post.create", "post.complete"]
                .iter()
                .all(|name| !named(&in_trace, name).is_empty())
            {
                break (accept, in_trace);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no complete trace for the post; spans seen: {seen:#?}\nlog: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (accept, in_trace) = trace;
    let publish = named(&in_trace, "post.publish")[0];
    assert_eq!(
        publish["parentSpanId"], accept["spanId"],
        "the worker continues the acceptance's trace"
    );
    for child in ["post.claim", "post.complete"] {
        assert_eq!(
            named(&in_trace, child)[0]["parentSpanId"],
            publish["spanId"]
        );
    }
    assert_eq!(
        named(&in_trace, "post.create")[0]["parentSpanId"],
        named(&in_trace, "post.claim")[0]["spanId"]
    );
    assert_eq!(
        attribute(publish, "post.outcome"),
        Some(&json!({"stringValue": "Published"}))
    );
    let service = accept["service"].to_string();
    assert!(service.contains("pinline"), "{service}");
    // No token, key or secret travels with the spans.
    let exported = serde_json::to_string(&in_trace).expect("json");
    for needle in ["pina_", "pinr_", key.as_str(), "sandbox-secret"] {
        assert!(!exported.contains(needle), "a secret in the spans");
    }
    // And no trace span shows up in the log.
    assert!(!server.log().contains("post.accept"), "{}", server.log());
}
