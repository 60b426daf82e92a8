//! `pinline alerts test`: one message to each configured channel (a local SMTP sink and a chat
//! receiver on loopback), a clear refusal when none is configured, and no secret in the output.

#[expect(
    dead_code,
    reason = "this binary runs only `pinline alerts`, without a server"
)]
mod common;

use std::sync::{Arc, Mutex};

use common::cli;
use pinline_alerts::testing::SmtpSink;

/// A chat webhook receiver on 127.0.0.1: its URL (with a secret-looking path) and the bodies.
async fn chat_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/services/T000/B000/SECRETPART",
        axum::routing::post(move |body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/services/T000/B000/SECRETPART",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, received)
}

#[tokio::test]
async fn alerts_test_sends_one_message_to_each_channel() {
    let smtp = SmtpSink::start().await.expect("SMTP sink");
    let (chat, received) = chat_receiver().await;
    let (code, out, err) = cli(
        &["alerts", "test"],
        &[
            ("PINLINE_SMTP_URL", smtp.url.as_str()),
            (
                "PINLINE_ALERT_EMAILS",
                "ops@example.invalid, oncall@example.invalid",
            ),
            ("PINLINE_SLACK_WEBHOOK_URL", chat.as_str()),
            ("PINLINE_ALLOW_PRIVATE_TARGETS", "1"),
            ("PINLINE_PUBLIC_URL", "https://pins.example.invalid"),
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("email: sent"), "{out}");
    assert!(out.contains("slack: sent"), "{out}");
    assert!(!format!("{out}{err}").contains("SECRETPART"));
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("oncall@example.invalid"), "{}", mails[0]);
    assert!(mails[0].contains("test alert"), "{}", mails[0]);
    let chats = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(chats.len(), 1, "{chats:?}");
    assert!(
        chats[0].contains("https://pins.example.invalid/accounts/"),
        "{}",
        chats[0]
    );
}

#[tokio::test]
async fn alerts_test_refuses_without_a_channel_and_half_an_email_setting() {
    let (code, _, err) = cli(&["alerts", "test"], &[]).await;
    assert_ne!(code, 0);
    assert!(err.contains("no alert channel is configured"), "{err}");
    let (code, _, err) = cli(
        &["alerts", "test"],
        &[("PINLINE_SMTP_URL", "smtp://user:hunter2@127.0.0.1:1")],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("PINLINE_ALERT_EMAILS"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn a_private_chat_webhook_is_refused_unless_allowed() {
    let (chat, received) = chat_receiver().await;
    let (code, out, err) = cli(
        &["alerts", "test"],
        &[
            ("PINLINE_SLACK_WEBHOOK_URL", chat.as_str()),
            ("PINLINE_ALLOW_PRIVATE_TARGETS", "0"),
        ],
    )
    .await;
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(out.contains("slack: failed"), "{out}");
    assert!(!format!("{out}{err}").contains("SECRETPART"));
    assert!(
        received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    );
}
