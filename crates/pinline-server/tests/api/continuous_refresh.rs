//! Continuous refresh: the code exchange asks for a continuous refresh token, so an app created
//! before 25 September 2025 gets one too; an account that holds a legacy token anyway (365 days,
//! a hard end) is recorded as such, alerted at once and again two months before the end, and
//! never renewed in vain.

use std::sync::Arc;
use std::time::Duration;

use pinline_core::cipher::KeyRing;
use pinline_core::master_key::MasterKey;
use pinline_pinterest::{ClientId, ClientSecret, Environment, PinterestClient};
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use pinline_vault::{Vault, VaultSettings};
use serde_json::json;

use crate::support::{TestApp, spawn_app};

backend_tests!(
    a_legacy_app_gets_a_continuous_token_because_pinline_asks,
    a_legacy_token_is_recorded_and_alerted_before_its_end,
);

/// A vault over the app's database and clock, for running a maintenance sweep now.
fn sweeper(app: &TestApp) -> Vault {
    let config = app.sandbox.config();
    let client = PinterestClient::new(
        Environment::custom(&app.sandbox.base_url(), &app.sandbox.oauth_url()).expect("env"),
        ClientId::new(config.client_id.clone()),
        ClientSecret::new(config.client_secret.clone()),
    )
    .expect("client");
    Vault::new(
        app.db.store.clone(),
        Arc::new(KeyRing::new(&MasterKey::generate(), &[])),
        Arc::new(app.clock.clone()),
        client,
        VaultSettings::new(&app.base_url),
    )
}

async fn a_legacy_app_gets_a_continuous_token_because_pinline_asks(db: TestDatabase) {
    let app = spawn_app(db).await;
    app.sandbox_control("/app", json!({"refresh_tokens": "legacy_app"}))
        .await;
    let account = app.connected_account(&app.key_alpha, "maker").await;
    let stats = app.sandbox_stats().await;
    assert_eq!(stats["token_requests"]["continuous_refresh"], json!(1));
    assert_eq!(stats["token_requests"]["legacy_issued"], json!(0));
    // A continuous token lives 60 days.
    let left = account["refresh_token_expires_in_secs"]
        .as_i64()
        .expect("expiry");
    assert!(left <= 60 * 86_400 && left > 59 * 86_400, "{left}");
    let id = account["id"].as_str().expect("id");
    let row = app
        .db
        .store
        .account_by_id(id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.refresh_token_kind.as_deref(), Some("continuous"));
    let events = app.db.store.account_events(id).await.expect("events");
    assert!(
        !events
            .iter()
            .any(|(kind, _, _)| kind == "account.token_expiring"),
        "{events:?}"
    );
}

async fn a_legacy_token_is_recorded_and_alerted_before_its_end(db: TestDatabase) {
    let app = spawn_app(db).await;
    // An app whose accounts get legacy tokens whatever the exchange asks.
    app.sandbox_control("/app", json!({"refresh_tokens": "legacy_only"}))
        .await;
    let account = app.connected_account(&app.key_alpha, "maker").await;
    assert_eq!(
        app.sandbox_stats().await["token_requests"]["legacy_issued"],
        json!(1)
    );
    let left = account["refresh_token_expires_in_secs"]
        .as_i64()
        .expect("expiry");
    assert!(left > 364 * 86_400, "a legacy token lives 365 days: {left}");
    let id = account["id"].as_str().expect("id").to_owned();
    let row = app
        .db
        .store
        .account_by_id(&id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.refresh_token_kind.as_deref(), Some("legacy"));

    // Alerted at the connect, with the days left.
    let alerts = |events: &[(String, String, i64)]| -> Vec<String> {
        events
            .iter()
            .filter(|(kind, _, _)| kind == "account.token_expiring")
            .map(|(_, detail, _)| detail.clone())
            .collect()
    };
    let events = app.db.store.account_events(&id).await.expect("events");
    let at_connect = alerts(&events);
    assert_eq!(at_connect.len(), 1, "{events:?}");
    assert!(
        at_connect[0].contains("legacy refresh token"),
        "{at_connect:?}"
    );
    assert!(at_connect[0].contains("365 days"), "{at_connect:?}");

    // Nothing more while the end is far off, and the renewal sweep leaves it alone: a refresh
    // would not move its end.
    let vault = sweeper(&app);
    assert_eq!(vault.alert_expiring_tokens().await.expect("sweep"), 0);
    let due = app
        .db
        .store
        .accounts_due_for_refresh(0, i64::MAX, (&row.environment, &row.client_id), 10)
        .await
        .expect("due");
    assert!(due.is_empty(), "{due:?}");

    // 65 days before the end: still quiet. Under 60 days before: the two-month alert, once.
    app.clock.advance(Duration::from_secs(300 * 86_400));
    assert_eq!(vault.alert_expiring_tokens().await.expect("sweep"), 0);
    app.clock.advance(Duration::from_secs(6 * 86_400));
    assert_eq!(vault.alert_expiring_tokens().await.expect("sweep"), 1);
    assert_eq!(vault.alert_expiring_tokens().await.expect("sweep"), 0);
    let events = app.db.store.account_events(&id).await.expect("events");
    let all = alerts(&events);
    assert_eq!(all.len(), 2, "{events:?}");
    assert!(all[1].contains("cannot be renewed"), "{all:?}");
}
