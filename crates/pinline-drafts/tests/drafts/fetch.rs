//! Bounded, SSRF-safe fetching.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use pinline_drafts::{DraftError, Expect, FetchPolicy, FetchedKind, Fetcher};
use pinline_outbound::Guard;
use pinline_outbound::testing::CountingLookup;

use crate::support::{TestSite, loopback_policy};

fn html(body: impl Into<String>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

async fn site() -> TestSite {
    let router = Router::new()
        .route("/page", get(|| async { html("<title>Hello</title>") }))
        .route("/old", get(|| async { Redirect::permanent("/page") }))
        .route("/loop-a", get(|| async { Redirect::temporary("/loop-b") }))
        .route(
            "/loop-b",
            get(|| async { Redirect::temporary("/loop-a#again") }),
        )
        .route(
            "/chain/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    Redirect::temporary(&format!("/chain/{}", n + 1))
                },
            ),
        )
        .route(
            "/to-file",
            get(|| async { Redirect::temporary("file:///etc/passwd") }),
        )
        .route(
            "/json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{}") }),
        )
        .route("/big", get(|| async { html("x".repeat(4096)) }))
        .route(
            "/big-stream",
            get(|| async {
                let chunks = (0..8).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024]));
                Response::builder()
                    .header(header::CONTENT_TYPE, "text/html")
                    .body(Body::from_stream(futures_util::stream::iter(chunks)))
                    .expect("the response builds")
            }),
        )
        .route(
            "/to-public",
            get(|| async { Redirect::temporary("https://example.com/lemon-tart") }),
        )
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route(
            "/never",
            get(|| async {
                std::future::pending::<()>().await;
                "unreachable"
            }),
        );
    TestSite::start(router).await
}

fn small_caps() -> FetchPolicy {
    FetchPolicy {
        max_html_bytes: 1024,
        ..loopback_policy()
    }
}

#[tokio::test]
async fn fetches_a_page_and_follows_a_redirect() {
    let site = site().await;
    let fetcher = Fetcher::new(loopback_policy());
    let fetched = fetcher
        .fetch(&site.url("/old"), Expect::Page)
        .await
        .expect("the redirect is followed");
    assert_eq!(fetched.kind, FetchedKind::Html);
    assert_eq!(fetched.final_url.as_str(), site.url("/page"));
    assert_eq!(fetched.redirects.len(), 1);
    assert_eq!(fetched.body, b"<title>Hello</title>");
}

#[tokio::test]
async fn loopback_is_refused_unless_allowed() {
    let site = site().await;
    let fetcher = Fetcher::new(FetchPolicy::default());
    let error = fetcher
        .fetch(&site.url("/page"), Expect::Page)
        .await
        .expect_err("127.0.0.1 is private");
    match &error {
        DraftError::PrivateAddress { host, address } => {
            assert_eq!(host, "127.0.0.1");
            assert!(address.is_loopback());
        }
        other => panic!("expected PrivateAddress, got {other:?}"),
    }
    assert!(error.to_string().contains("not a public address"));

    let by_name = format!("http://localhost:{}/page", site.address.port());
    let error = fetcher
        .fetch(&by_name, Expect::Page)
        .await
        .expect_err("localhost resolves to loopback");
    assert!(
        matches!(error, DraftError::PrivateAddress { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_non_html_answer_is_not_a_page() {
    let site = site().await;
    let error = Fetcher::new(loopback_policy())
        .fetch(&site.url("/json"), Expect::Page)
        .await
        .expect_err("JSON is not HTML");
    match error {
        DraftError::NotHtml { content_type, .. } => assert_eq!(content_type, "application/json"),
        other => panic!("expected NotHtml, got {other:?}"),
    }
    let error = Fetcher::new(loopback_policy())
        .fetch(&site.url("/page"), Expect::Image)
        .await
        .expect_err("HTML is not an image");
    assert!(matches!(error, DraftError::NotImage { .. }), "{error:?}");
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let site = site().await;
    let fetcher = Fetcher::new(small_caps());
    for path in ["/big", "/big-stream"] {
        let error = fetcher
            .fetch(&site.url(path), Expect::Page)
            .await
            .expect_err("4 KiB and 8 KiB are over a 1 KiB cap");
        match error {
            DraftError::TooBig { limit, .. } => assert_eq!(limit, 1024, "{path}"),
            other => panic!("expected TooBig for {path}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn redirect_loops_and_chains_are_stopped() {
    let site = site().await;
    let fetcher = Fetcher::new(loopback_policy());
    let error = fetcher
        .fetch(&site.url("/loop-a"), Expect::Page)
        .await
        .expect_err("a loop never ends");
    assert!(
        matches!(error, DraftError::RedirectLoop { .. }),
        "{error:?}"
    );

    let error = fetcher
        .fetch(&site.url("/chain/0"), Expect::Page)
        .await
        .expect_err("an endless chain is cut");
    match error {
        DraftError::TooManyRedirects { limit, .. } => assert_eq!(limit, 5),
        other => panic!("expected TooManyRedirects, got {other:?}"),
    }
}

#[tokio::test]
async fn redirects_to_other_schemes_are_refused() {
    let site = site().await;
    let error = Fetcher::new(loopback_policy())
        .fetch(&site.url("/to-file"), Expect::Page)
        .await
        .expect_err("file: is never fetched");
    match error {
        DraftError::BadScheme { scheme, .. } => assert_eq!(scheme, "file"),
        other => panic!("expected BadScheme, got {other:?}"),
    }
}

#[tokio::test]
async fn error_statuses_say_whether_a_retry_can_help() {
    let site = site().await;
    let fetcher = Fetcher::new(loopback_policy());
    let missing = fetcher
        .fetch(&site.url("/missing"), Expect::Page)
        .await
        .expect_err("404");
    assert!(
        matches!(missing, DraftError::HttpStatus { status: 404, .. }),
        "{missing:?}"
    );
    assert!(!missing.is_transient());
    let down = fetcher
        .fetch(&site.url("/down"), Expect::Page)
        .await
        .expect_err("503");
    assert!(down.is_transient());
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let site = site().await;
    let fetcher = Fetcher::new(FetchPolicy {
        total_timeout: Duration::from_millis(300),
        ..loopback_policy()
    });
    let error = fetcher
        .fetch(&site.url("/never"), Expect::Page)
        .await
        .expect_err("the server never answers");
    assert!(matches!(error, DraftError::Timeout { .. }), "{error:?}");
    assert!(error.is_transient());
}

#[tokio::test]
async fn only_web_schemes_are_fetched() {
    let error = Fetcher::new(loopback_policy())
        .fetch("ftp://127.0.0.1/file", Expect::Page)
        .await
        .expect_err("ftp is refused");
    assert!(matches!(error, DraftError::BadScheme { .. }), "{error:?}");
}

#[tokio::test]
async fn a_public_link_is_refused_under_a_loopback_reach_without_a_dns_query() {
    let site = site().await;
    let lookup = Arc::new(CountingLookup::default());
    let refused = Arc::new(AtomicU64::new(0));
    let guard = Guard::new("draft fetch", true)
        .with_lookup(lookup.clone())
        .loopback_only_counting_in(refused.clone());
    let fetcher = Fetcher::with_guard(loopback_policy(), guard);

    let error = fetcher
        .fetch("https://example.com/lemon-tart", Expect::PageOrImage)
        .await
        .expect_err("beyond loopback");
    match &error {
        DraftError::BeyondLoopback { host } => assert_eq!(host, "example.com"),
        other => panic!("expected BeyondLoopback, got {other:?}"),
    }
    assert!(
        error.to_string().contains("PINLINE_OUTBOUND=loopback"),
        "{error}"
    );

    // A loopback page that redirects outward is refused at the hop, too.
    let error = fetcher
        .fetch(&site.url("/to-public"), Expect::Page)
        .await
        .expect_err("the redirect leaves the machine");
    assert!(
        matches!(error, DraftError::BeyondLoopback { .. }),
        "{error:?}"
    );
    // The loopback page itself is still fetched.
    fetcher
        .fetch(&site.url("/page"), Expect::Page)
        .await
        .expect("loopback is within reach");

    assert_eq!(lookup.calls(), 0, "no DNS query was made");
    assert_eq!(refused.load(Ordering::SeqCst), 2);
}
