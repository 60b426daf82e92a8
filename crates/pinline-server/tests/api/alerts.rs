//! Alerts by email and chat: a revoked account whose posts fail in a burst yields exactly one
//! email (to a local SMTP sink) and one chat message (to a loopback receiver), with the
//! reconnect link and no token; a reminder follows a day later while the state lasts; the test
//! message reaches every channel.

use std::sync::Arc;
use std::time::Duration;

use pinline_alerts::testing::SmtpSink;
use pinline_alerts::{AlertSettings, Alerts, Channels, EmailSettings, SlackWebhook};
use pinline_core::clock::SharedClock;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::support::{Received, TestApp, eventually, receiver, spawn_app};

backend_tests!(
    a_needs_reauth_burst_sends_one_email_and_one_chat_message,
    the_test_alert_reaches_every_channel
);

/// Alert settings for `app` with both channels.
fn settings(app: &TestApp, smtp: &str, chat: &str) -> AlertSettings {
    let mut settings = AlertSettings::new(&app.base_url);
    settings.email = Some(
        EmailSettings::parse(
            smtp,
            "pinline <alerts@example.invalid>",
            "ops@example.invalid",
        )
        .expect("email settings"),
    );
    settings.slack = Some(SlackWebhook::parse(chat).expect("chat webhook"));
    settings
}

/// An alert worker over the app's database and clock, as `pinline serve` runs one.
fn worker(app: &TestApp, settings: AlertSettings) -> Alerts {
    let channels = Channels::new(
        &settings,
        // Receivers in tests listen on loopback; nothing may go further.
        pinline_outbound::Guard::new("alerts", true),
    )
    .expect("channels");
    let clock: SharedClock = Arc::new(app.clock.clone());
    Alerts::new(app.db.store.clone(), clock, settings, channels)
}

fn count(mailbox: &SmtpSink) -> usize {
    mailbox.messages().len()
}

fn chat_texts(received: &Received) -> Vec<String> {
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(_, body)| {
            let payload: Value = serde_json::from_slice(body).expect("JSON");
            payload["text"].as_str().expect("text").to_owned()
        })
        .collect()
}

fn post_body(account: &str, board: &str, title: &str) -> Value {
    json!({
        "account_id": account,
        "board_id": board,
        "title": title,
        "description": "Sharp and sweet.",
        "link": "https://example.invalid/tart",
        "alt_text": "A lemon tart on a plate",
        "image_url": "https://example.invalid/tart.jpg",
    })
}

/// Asserts that `text` holds no token pinline or the sandbox minted.
fn assert_no_token(text: &str) {
    for prefix in [
        pinline_pinterest::facts::ACCESS_TOKEN_PREFIX,
        pinline_pinterest::facts::REFRESH_TOKEN_PREFIX,
    ] {
        assert!(!text.contains(prefix), "a token in an alert: {text}");
    }
}

async fn a_needs_reauth_burst_sends_one_email_and_one_chat_message(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mailbox = SmtpSink::start().await.expect("SMTP sink");
    let smtp = mailbox.url.clone();
    let (chat, received) = receiver().await;
    let (account, board) = app.account_with_board("maker").await;
    // Two workers on one database: two replicas.
    let (stop, stopped) = watch::channel(false);
    let replicas = [
        worker(&app, settings(&app, &smtp, &chat)),
        worker(&app, settings(&app, &smtp, &chat)),
    ];
    for replica in &replicas {
        let replica = replica.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move { replica.run(stopped).await });
    }

    app.revoke_at_pinterest(&account).await;
    let mut posts = Vec::new();
    for n in 0..4 {
        let created = app
            .api(
                Method::POST,
                "/v1/posts",
                Some(&app.key_alpha),
                Some(post_body(&account, &board, &format!("Tart {n}"))),
            )
            .await;
        assert_eq!(created.status, 202, "{}", created.text);
        posts.push(created.json["id"].as_str().expect("id").to_owned());
    }
    // The burst: every post ends up held behind the revoked credential.
    for post in &posts {
        let path = format!("/v1/posts/{post}");
        eventually(Duration::from_secs(20), "the post held", || {
            let path = path.clone();
            let app = &app;
            async move {
                let shown = app
                    .api(Method::GET, &path, Some(&app.key_alpha), None)
                    .await;
                matches!(shown.json["status"].as_str(), Some("held" | "failed"))
            }
        })
        .await;
    }
    let shown = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{account}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(shown.json["status"], json!("needs_reauth"));
    for replica in &replicas {
        replica.wake();
    }
    eventually(
        Duration::from_secs(20),
        "the email and the chat message",
        || {
            let (mailbox, received) = (mailbox.clone(), received.clone());
            async move { count(&mailbox) >= 1 && !chat_texts(&received).is_empty() }
        },
    )
    .await;
    // Every event taken and every queued message settled: nothing more is on its way.
    eventually(Duration::from_secs(20), "the alert outbox drained", || {
        let store = app.db.store.clone();
        let account = account.clone();
        async move {
            store
                .pending_alert_events(10)
                .await
                .expect("pending")
                .is_empty()
                && store
                    .alert_deliveries_of(&account)
                    .await
                    .expect("deliveries")
                    .iter()
                    .all(|d| d.sent_at.is_some())
        }
    })
    .await;
    for replica in &replicas {
        replica.sweep().await.expect("sweep");
    }
    let emails = mailbox.messages();
    assert_eq!(emails.len(), 1, "one email per burst: {emails:?}");
    let chats = chat_texts(&received);
    assert_eq!(chats.len(), 1, "one chat message per burst: {chats:?}");
    let link = format!("{}/accounts/{account}/reconnect", app.base_url);
    // Lines of a plain-text body may be folded (quoted-printable): read it unfolded.
    let email = emails[0].replace("=\n", "");
    assert!(email.contains(&link), "the reconnect link: {email}");
    assert!(email.contains("@maker"), "{email}");
    assert!(email.contains("needs_reauth"), "{email}");
    assert!(email.contains("To: ops@example.invalid"), "{email}");
    assert!(chats[0].contains(&link), "{}", chats[0]);
    assert_no_token(&email);
    assert_no_token(&chats[0]);

    // While the state lasts, one reminder a day, from one replica.
    app.clock.advance(Duration::from_secs(25 * 3600));
    for replica in &replicas {
        replica.sweep().await.expect("sweep");
    }
    eventually(Duration::from_secs(20), "the reminder", || {
        let (mailbox, received) = (mailbox.clone(), received.clone());
        async move { count(&mailbox) >= 2 && chat_texts(&received).len() >= 2 }
    })
    .await;
    for replica in &replicas {
        replica.sweep().await.expect("sweep");
    }
    assert_eq!(count(&mailbox), 2);
    assert_eq!(chat_texts(&received).len(), 2);
    let reminder = mailbox.messages()[1].clone();
    assert!(reminder.contains("reminder"), "{reminder}");
    let _ = stop.send(true);
}

async fn the_test_alert_reaches_every_channel(db: TestDatabase) {
    let app = spawn_app(db).await;
    let mailbox = SmtpSink::start().await.expect("SMTP sink");
    let smtp = mailbox.url.clone();
    let (chat, received) = receiver().await;
    let alerts = worker(&app, settings(&app, &smtp, &chat));
    let outcomes = alerts.send_test().await;
    assert_eq!(outcomes.len(), 2);
    for (channel, outcome) in &outcomes {
        assert!(outcome.is_ok(), "{channel}: {outcome:?}");
    }
    assert_eq!(count(&mailbox), 1);
    assert_eq!(chat_texts(&received).len(), 1);

    // A channel that does not answer is reported, with neither its URL nor its secret.
    let mut broken = settings(&app, &smtp, &chat);
    broken.slack =
        Some(SlackWebhook::parse("http://127.0.0.1:9/hook/T000/SECRETPART").expect("url"));
    let outcomes = worker(&app, broken).send_test().await;
    let (_, slack) = outcomes.iter().find(|(c, _)| *c == "slack").expect("slack");
    let error = slack
        .as_ref()
        .expect_err("nothing listens on port 9")
        .to_string();
    assert!(!error.contains("SECRETPART"), "{error}");
    assert!(
        !format!(
            "{:?}",
            SlackWebhook::parse("http://127.0.0.1:9/x/SECRETPART")
        )
        .contains("SECRETPART")
    );
}
