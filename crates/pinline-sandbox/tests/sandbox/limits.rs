//! Per-user rate limits: per category, and Pinterest's universal limit across categories.

use std::time::Duration;

use pinline_pinterest::facts::RateLimitCategory;
use pinline_sandbox::SandboxConfig;
use reqwest::StatusCode;

use crate::support::TestSandbox;

fn limited(rates: &[(RateLimitCategory, &str)]) -> SandboxConfig {
    SandboxConfig {
        rates: rates
            .iter()
            .map(|(category, rate)| (*category, rate.parse().unwrap()))
            .collect(),
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn bursting_past_the_limit_gets_429_with_retry_after() {
    let sandbox = TestSandbox::with(limited(&[(RateLimitCategory::OrgWrite, "5/s")])).await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    let (_, bob) = sandbox.user_with_token("bob").await;
    // Board creation is org_write too: give alice a board on a generous budget first.
    let board = sandbox
        .create_board(&alice.access, "Recipes", "PUBLIC")
        .await;
    let mut remaining = Vec::new();
    let mut limited_reply = None;
    for _ in 0..5 {
        let reply = sandbox.create_pin(&alice.access, &board).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited_reply = Some(reply);
            break;
        }
        assert_eq!(reply.header("x-ratelimit-limit"), Some("5"));
        remaining.push(
            reply
                .header("x-ratelimit-remaining")
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    // The board took one of the five; the fifth pin is the sixth quick write.
    assert_eq!(remaining, vec![3, 2, 1, 0]);
    let reply = limited_reply.expect("the sixth write was limited");
    reply.assert_error(429, 8);
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(reply.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(reply.header("x-ratelimit-remaining"), Some("0"));
    assert!(reply.header("x-ratelimit-reset").is_some());
    assert_eq!(reply.header("x-ratelimit-category"), Some("org_write"));

    // Reads are another category; other users have their own budget.
    assert_eq!(
        sandbox.get(&alice.access, "/pins").await.status,
        StatusCode::OK
    );
    // create_board asserts 201 itself.
    sandbox.create_board(&bob.access, "Bob's", "PUBLIC").await;
    let stats = sandbox.stats().await;
    assert_eq!(stats["responses_429"], 1);
    assert_eq!(stats["pins_created"], 4);
}

#[tokio::test]
async fn pacing_at_the_allowed_rate_is_never_limited() {
    let sandbox = TestSandbox::with(limited(&[(RateLimitCategory::OrgRead, "50/s")])).await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..100 {
        ticks.tick().await;
        let reply = sandbox.get(&alice.access, "/pins").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    assert_eq!(sandbox.stats().await["responses_429"], 0);
}

/// Pinterest's universal limit: one budget per user across every category, answered like a
/// category limit when it runs out.
#[tokio::test]
async fn the_universal_limit_spans_every_category() {
    let sandbox = TestSandbox::with(SandboxConfig {
        universal_rate: Some("4/min".parse().unwrap()),
        ..limited(&[(RateLimitCategory::OrgRead, "100/min")])
    })
    .await;
    let (_, alice) = sandbox.user_with_token("alice").await;
    let (_, bob) = sandbox.user_with_token("bob").await;

    // A write (its category unlimited) and reads (theirs generous) share one budget of four;
    // the headers report that budget, the tighter one.
    let board = sandbox
        .create_board(&alice.access, "Recipes", "PUBLIC")
        .await;
    let mut remaining = Vec::new();
    for path in ["/boards", "/pins", "/user_account"] {
        let reply = sandbox.get(&alice.access, path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        assert_eq!(reply.header("x-ratelimit-limit"), Some("4"), "{path}");
        remaining.push(reply.header("x-ratelimit-remaining").unwrap().to_owned());
    }
    assert_eq!(remaining, ["2", "1", "0"]);

    let reply = sandbox.create_pin(&alice.access, &board).await;
    reply.assert_error(429, 8);
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(reply.header("x-ratelimit-limit"), Some("4"));
    assert_eq!(reply.header("x-ratelimit-remaining"), Some("0"));
    assert!(reply.header("x-ratelimit-reset").is_some());
    assert_eq!(reply.header("x-ratelimit-category"), Some("org_write"));
    sandbox
        .get(&alice.access, "/boards")
        .await
        .assert_error(429, 8);

    // Bob's budget is his own.
    assert_eq!(
        sandbox.get(&bob.access, "/boards").await.status,
        StatusCode::OK
    );
    let stats = sandbox.stats().await;
    assert_eq!(stats["responses_429"], 2);
    assert_eq!(stats["pins_created"], 0);
}

#[tokio::test]
async fn without_a_universal_limit_only_categories_count() {
    let sandbox = TestSandbox::start().await;
    assert_eq!(sandbox.config.universal_rate, None);
    let (_, alice) = sandbox.user_with_token("alice").await;
    for _ in 0..150 {
        let reply = sandbox.get(&alice.access, "/boards").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.header("x-ratelimit-limit"), None);
    }
}
