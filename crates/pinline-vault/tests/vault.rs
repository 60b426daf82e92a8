//! The vault against the real sandbox, on SQLite and PostgreSQL: the connect flow through the
//! consent page, replayed and forged callbacks, single-flight refresh across two vault instances
//! with their own connection pools (as two processes would have), revocation, and credential
//! mismatches; the token cache behind `Vault::call_known`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pinline_core::cipher::{KeyRing, Resealed};
use pinline_core::clock::OffsetClock;
use pinline_core::master_key::MasterKey;
use pinline_pinterest::{AuthorizationCode, ClientId, ClientSecret, Environment, PinterestClient};
use pinline_sandbox::{SandboxConfig, SandboxHandle};
use pinline_store::testing::TestDatabase;
use pinline_store::{DatabaseLocation, Store, backend_tests};
use pinline_vault::{
    AccountStatus, ConnectRejection, KnownAccount, Vault, VaultError, VaultSettings,
};
use serde_json::{Value, json};

const PUBLIC_URL: &str = "http://127.0.0.1:9";

struct Harness {
    sandbox: SandboxHandle,
    db: TestDatabase,
    keys: Arc<KeyRing>,
    clock: OffsetClock,
    vault: Vault,
    http: reqwest::Client,
    profile_id: String,
}

async fn harness(db: TestDatabase) -> Harness {
    let sandbox = pinline_sandbox::spawn(
        SandboxConfig::default(),
        "127.0.0.1:0".parse().expect("address"),
    )
    .await
    .expect("sandbox starts");
    let keys = Arc::new(KeyRing::new(&MasterKey::generate(), &[]));
    let clock = OffsetClock::new();
    let vault = vault_on(&db.store, &sandbox, &keys, &clock);
    let profile = db
        .store
        .profile_by_name_or_create("default", "profile-1", 0)
        .await
        .expect("profile");
    Harness {
        vault,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        sandbox,
        db,
        keys,
        clock,
        profile_id: profile.id,
    }
}

fn sandbox_environment(sandbox: &SandboxHandle) -> Environment {
    Environment::custom(&sandbox.base_url(), &sandbox.oauth_url()).expect("sandbox URLs")
}

fn vault_on(
    store: &Store,
    sandbox: &SandboxHandle,
    keys: &Arc<KeyRing>,
    clock: &OffsetClock,
) -> Vault {
    let config = sandbox.config();
    let client = PinterestClient::new(
        sandbox_environment(sandbox),
        ClientId::new(config.client_id.clone()),
        ClientSecret::new(config.client_secret.clone()),
    )
    .expect("client");
    let mut settings = VaultSettings::new(PUBLIC_URL);
    settings.transient_backoff = Duration::from_millis(5);
    Vault::new(
        store.clone(),
        keys.clone(),
        Arc::new(clock.clone()),
        client,
        settings,
    )
}

/// A vault like the harness's on `store`, with `tune` applied to its settings and, when given,
/// another client secret than the sandbox's.
fn vault_tuned(
    h: &Harness,
    store: &Store,
    tune: impl FnOnce(&mut VaultSettings),
    client_secret: Option<&str>,
) -> Vault {
    let config = h.sandbox.config();
    let client = PinterestClient::new(
        sandbox_environment(&h.sandbox),
        ClientId::new(config.client_id.clone()),
        ClientSecret::new(client_secret.unwrap_or(&config.client_secret).to_owned()),
    )
    .expect("client");
    let mut settings = VaultSettings::new(PUBLIC_URL);
    settings.transient_backoff = Duration::from_millis(5);
    tune(&mut settings);
    Vault::new(
        store.clone(),
        h.keys.clone(),
        Arc::new(h.clock.clone()),
        client,
        settings,
    )
}

/// Waits for `check` to hold, polling, failing after ten seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl Harness {
    /// Makes the sandbox's token endpoint misbehave: `rule` is a fault rule without its
    /// operation (`{"kind": "delay", "delay_ms": 400, "count": 1}`).
    async fn token_fault(&self, mut rule: Value) {
        rule["operation"] = json!("oauth/token");
        self.control(reqwest::Method::POST, "/faults", json!({ "rules": [rule] }))
            .await;
    }

    /// The account's row as stored.
    async fn row(&self, account_id: &str) -> pinline_store::AccountRow {
        self.db
            .store
            .account_by_id(account_id)
            .await
            .expect("read")
            .expect("row")
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(
                method,
                format!("{}/_sandbox{path}", self.sandbox.base_url()),
            )
            .json(&body)
            .send()
            .await
            .expect("control call");
        assert!(
            response.status().is_success(),
            "control {path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    async fn create_user(&self, username: &str) -> String {
        let user = self
            .control(
                reqwest::Method::POST,
                "/users",
                json!({ "username": username }),
            )
            .await;
        user["id"].as_str().expect("user id").to_owned()
    }

    /// Walks the consent page like a browser: open the authorize URL, read the form, pick the
    /// user, approve, and read the redirect. Returns the callback's query parameters.
    async fn consent(&self, authorize_url: &url::Url, approve: bool) -> Vec<(String, String)> {
        let page = self
            .http
            .get(authorize_url.clone())
            .send()
            .await
            .expect("consent page")
            .text()
            .await
            .expect("consent html");
        assert!(page.contains("<form"), "a consent form: {page}");
        let mut form = hidden_fields(&page);
        let user = first_option(&page).expect("a sandbox user to choose");
        form.push(("user_id".into(), user));
        form.push((
            "decision".into(),
            if approve { "approve" } else { "deny" }.into(),
        ));
        let reply = self
            .http
            .post(format!("{}/oauth/", self.sandbox.base_url()))
            .form(&form)
            .send()
            .await
            .expect("consent decision");
        assert!(
            reply.status().is_redirection(),
            "decision redirects: {}",
            reply.status()
        );
        let location = reply
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Location");
        let location = url::Url::parse(location).expect("redirect URL");
        assert!(
            location
                .as_str()
                .starts_with(&format!("{PUBLIC_URL}/oauth/callback")),
            "redirects to pinline's callback: {location}"
        );
        location
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    async fn connect(&self, username: &str) -> pinline_vault::Account {
        self.create_user(username).await;
        let start = self
            .vault
            .begin_connect(&self.profile_id, None)
            .await
            .expect("begin");
        let params = self.consent(&start.authorize_url, true).await;
        let (state, code) = (param(&params, "state"), param(&params, "code"));
        self.vault
            .complete_connect(&state, Some(AuthorizationCode::new(code)), None)
            .await
            .expect("connect completes")
            .account
    }

    async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/_sandbox/stats", self.sandbox.base_url()))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json")
    }
}

fn param(params: &[(String, String)], name: &str) -> String {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("callback parameter {name} in {params:?}"))
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

fn hidden_fields(page: &str) -> Vec<(String, String)> {
    page.split("<input")
        .skip(1)
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| {
            let name = attribute(tag, "name")?;
            let value = attribute(tag, "value")?;
            Some((
                name.to_owned(),
                html_escape::decode_html_entities(value).into_owned(),
            ))
        })
        .collect()
}

fn first_option(page: &str) -> Option<String> {
    let tag = page.split("<option").nth(1)?;
    attribute(tag, "value").map(str::to_owned)
}

backend_tests!(
    connect_through_the_consent_page,
    replayed_forged_and_late_callbacks_are_refused,
    denied_consent_is_refused,
    reconnect_updates_the_account_in_place,
    stampede_on_an_expired_token_refreshes_once,
    stampede_survives_a_failing_first_refresh,
    revocation_turns_the_account_needs_reauth,
    a_sandbox_credential_is_refused_for_production,
    tokens_are_sealed_in_the_database,
    an_interrupted_refresh_that_reached_pinterest_is_reported,
    an_interrupted_refresh_that_never_left_is_settled,
    idle_accounts_are_renewed_before_their_refresh_token_lapses,
    expiring_refresh_tokens_alert_once_per_horizon,
    key_rotation_reseals_every_token,
    a_refresh_slower_than_its_lease_is_sent_once,
    a_caller_that_gives_up_mid_refresh_loses_nothing,
    a_failed_early_refresh_keeps_the_still_valid_token,
    refused_app_credentials_leave_the_account_alone,
    a_401_on_a_token_stored_by_another_process_is_not_a_refusal,
    a_known_version_is_served_without_reading_the_database,
    a_new_version_reloads_the_account,
    a_401_on_a_cached_token_refreshes_and_retries,
    a_cached_token_inside_the_refresh_margin_is_refreshed,
    a_needs_reauth_claim_is_refused_through_the_cache,
    a_disconnect_drops_the_cached_token,
);

async fn connect_through_the_consent_page(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    assert_eq!(account.username, "maker");
    assert_eq!(account.status, AccountStatus::Active);
    assert!(
        account.scopes.iter().any(|s| s == "pins:write_secret"),
        "{:?}",
        account.scopes
    );
    assert_eq!(
        h.stats().await["token_requests"]["authorization_code"],
        json!(1)
    );
    // The stored token works: boards can be listed through the vault.
    let boards = h
        .vault
        .call(&account.id, |client, token| async move {
            client.list_boards(&token, None, None, None).await
        })
        .await
        .expect("boards list through the vault");
    assert!(boards.value.items.is_empty());
}

async fn replayed_forged_and_late_callbacks_are_refused(db: TestDatabase) {
    let h = harness(db).await;
    h.create_user("maker").await;
    let start = h
        .vault
        .begin_connect(&h.profile_id, None)
        .await
        .expect("begin");
    let params = h.consent(&start.authorize_url, true).await;
    let (state, code) = (param(&params, "state"), param(&params, "code"));
    h.vault
        .complete_connect(&state, Some(AuthorizationCode::new(code.clone())), None)
        .await
        .expect("first callback connects");

    let replay = h
        .vault
        .complete_connect(&state, Some(AuthorizationCode::new(code.clone())), None)
        .await;
    assert!(
        matches!(
            replay,
            Err(VaultError::ConnectRejected(
                ConnectRejection::StateAlreadyUsed
            ))
        ),
        "{replay:?}"
    );
    let forged = h
        .vault
        .complete_connect("forged-state", Some(AuthorizationCode::new(code)), None)
        .await;
    assert!(
        matches!(
            forged,
            Err(VaultError::ConnectRejected(ConnectRejection::UnknownState))
        ),
        "{forged:?}"
    );
    // Neither reached the token endpoint again.
    assert_eq!(
        h.stats().await["token_requests"]["authorization_code"],
        json!(1)
    );

    let late = h
        .vault
        .begin_connect(&h.profile_id, None)
        .await
        .expect("begin");
    let params = h.consent(&late.authorize_url, true).await;
    h.clock.advance(Duration::from_secs(11 * 60));
    let expired = h
        .vault
        .complete_connect(
            &param(&params, "state"),
            Some(AuthorizationCode::new(param(&params, "code"))),
            None,
        )
        .await;
    assert!(
        matches!(
            expired,
            Err(VaultError::ConnectRejected(ConnectRejection::StateExpired))
        ),
        "{expired:?}"
    );
    assert_eq!(
        h.stats().await["token_requests"]["authorization_code"],
        json!(1)
    );
}

async fn denied_consent_is_refused(db: TestDatabase) {
    let h = harness(db).await;
    h.create_user("maker").await;
    let start = h
        .vault
        .begin_connect(&h.profile_id, None)
        .await
        .expect("begin");
    let params = h.consent(&start.authorize_url, false).await;
    assert_eq!(param(&params, "error"), "access_denied");
    let outcome = h
        .vault
        .complete_connect(&param(&params, "state"), None, Some("access_denied"))
        .await;
    assert!(
        matches!(
            outcome,
            Err(VaultError::ConnectRejected(ConnectRejection::AccessDenied))
        ),
        "{outcome:?}"
    );
    assert!(
        h.vault
            .accounts(&h.profile_id)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn reconnect_updates_the_account_in_place(db: TestDatabase) {
    let h = harness(db).await;
    let first = h.connect("maker").await;
    let start = h
        .vault
        .begin_connect(&h.profile_id, None)
        .await
        .expect("begin");
    let params = h.consent(&start.authorize_url, true).await;
    let again = h
        .vault
        .complete_connect(
            &param(&params, "state"),
            Some(AuthorizationCode::new(param(&params, "code"))),
            None,
        )
        .await
        .expect("reconnect");
    assert!(again.reconnected);
    assert_eq!(
        again.account.id, first.id,
        "same account id after reconnect"
    );
    assert_eq!(
        h.vault.accounts(&h.profile_id).await.expect("list").len(),
        1
    );
}

/// 200 callers over two vault instances (two pools, two lease owners: two processes as far as
/// the database can tell) all ask for a token that has expired.
async fn stampede(h: &Harness, account_id: &str) -> Vec<Duration> {
    let other_store = Store::open(&DatabaseLocation::parse(&h.db.url).expect("url"))
        .await
        .expect("second pool");
    let second = vault_on(&other_store, &h.sandbox, &h.keys, &h.clock);
    h.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let mut tasks = Vec::new();
    for i in 0..200 {
        let vault = if i % 2 == 0 {
            h.vault.clone()
        } else {
            second.clone()
        };
        let account_id = account_id.to_owned();
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let result = vault
                .call(&account_id, |client, token| async move {
                    client.user_account(&token).await
                })
                .await;
            (result.map(|r| r.value.username), started.elapsed())
        }));
    }
    let mut waits = Vec::new();
    for task in tasks {
        let (result, waited) = task.await.expect("task");
        assert_eq!(result.expect("every caller succeeds"), "maker");
        waits.push(waited);
    }
    waits.sort();
    let p99 = waits[waits.len() * 99 / 100 - 1];
    eprintln!(
        "stampede: 200 callers, p50 {:?}, p99 {:?}, max {:?}",
        waits[99], p99, waits[199]
    );
    other_store.close().await;
    waits
}

async fn stampede_on_an_expired_token_refreshes_once(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    stampede(&h, &account.id).await;
    let stats = h.stats().await;
    assert_eq!(
        stats["token_requests"]["refresh_token"],
        json!(1),
        "{stats}"
    );
    assert_eq!(stats["refresh_token_reuse"], json!(0), "{stats}");
}

async fn stampede_survives_a_failing_first_refresh(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    h.token_fault(json!({"kind": "error", "status": 503, "count": 1}))
        .await;
    stampede(&h, &account.id).await;
    let stats = h.stats().await;
    assert_eq!(stats["faults_injected"], json!(1), "{stats}");
    assert_eq!(
        stats["token_requests"]["refresh_token"],
        json!(1),
        "{stats}"
    );
    let account = h
        .vault
        .account(&h.profile_id, &account.id)
        .await
        .expect("account");
    assert_eq!(account.status, AccountStatus::Active);
}

async fn revocation_turns_the_account_needs_reauth(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let mut events = h.vault.subscribe();
    let user_id = account.pinterest_user_id.clone();
    h.control(
        reqwest::Method::POST,
        &format!("/users/{user_id}/revoke"),
        json!({}),
    )
    .await;
    let outcome = h
        .vault
        .call(&account.id, |client, token| async move {
            client.user_account(&token).await
        })
        .await;
    assert!(
        matches!(outcome, Err(VaultError::NeedsReauth { .. })),
        "{outcome:?}"
    );
    let stats = h.stats().await;
    assert_eq!(
        stats["token_requests"]["refresh_token"],
        json!(1),
        "one refresh attempt: {stats}"
    );
    let account = h
        .vault
        .account(&h.profile_id, &account.id)
        .await
        .expect("account");
    assert_eq!(account.status, AccountStatus::NeedsReauth);
    assert_eq!(
        account.last_error.as_ref().map(|e| e.class.as_str()),
        Some("auth")
    );
    let mut kinds = Vec::new();
    while let Ok(event) = events.try_recv() {
        kinds.push(event.kind);
    }
    assert!(kinds.contains(&"account.needs_reauth"), "{kinds:?}");
    // The webhook outbox holds the transition's events exactly once each, written with it.
    let pending: Vec<String> =
        h.db.store
            .pending_account_events(100)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|event| event.account_id == account.id)
            .map(|event| event.kind)
            .filter(|kind| kind != "account.connected")
            .collect();
    assert_eq!(pending, ["account.refresh_failed", "account.needs_reauth"]);
    // Later calls are refused without touching Pinterest.
    let before = h.stats().await["requests_total"].clone();
    let again = h.vault.access_token(&account.id).await;
    assert!(matches!(again, Err(VaultError::NeedsReauth { .. })));
    assert_eq!(h.stats().await["requests_total"], before);
}

async fn a_sandbox_credential_is_refused_for_production(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let production = Vault::new(
        h.db.store.clone(),
        h.keys.clone(),
        Arc::new(h.clock.clone()),
        PinterestClient::new(
            Environment::Production,
            ClientId::new(h.sandbox.config().client_id.clone()),
            ClientSecret::new("unused"),
        )
        .expect("client"),
        VaultSettings::new(PUBLIC_URL),
    );
    let refused = production.access_token(&account.id).await;
    match refused {
        Err(VaultError::CredentialMismatch { stored, configured }) => {
            assert!(stored.starts_with("custom:"), "{stored}");
            assert!(configured.starts_with("production"), "{configured}");
        }
        other => panic!("expected a credential mismatch, got {other:?}"),
    }
}

async fn tokens_are_sealed_in_the_database(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let grant = h.vault.access_token(&account.id).await.expect("token");
    assert!(grant.token.expose_secret().starts_with("pina_"));
    // Every text column of every account row and event: no token prefix anywhere.
    let rows = h.db.store.accounts(&h.profile_id).await.expect("rows");
    let dump = format!("{rows:?}");
    assert!(!dump.contains("pina_") && !dump.contains("pinr_"), "{dump}");
    let events =
        h.db.store
            .account_events(&account.id)
            .await
            .expect("events");
    assert!(!format!("{events:?}").contains("pin"), "{events:?}");
    assert!(
        !format!("{grant:?}").contains("pina_"),
        "Debug of a grant shows no token"
    );
}

/// Takes the refresh lease as a process that then dies: the in-flight marker stays behind.
async fn claim_as_dead_process(h: &Harness, account_id: &str) {
    let row =
        h.db.store
            .account_by_id(account_id)
            .await
            .expect("read")
            .expect("row");
    let claim =
        h.db.store
            .claim_refresh(
                account_id,
                row.token_version,
                "dead-process",
                now_ms(h),
                1_000,
                now_ms(h),
            )
            .await
            .expect("claim");
    assert!(
        matches!(claim, pinline_store::RefreshClaim::Claimed { .. }),
        "{claim:?}"
    );
}

fn now_ms(h: &Harness) -> i64 {
    use pinline_core::clock::Clock;
    h.clock.now_ms()
}

fn event_kinds(rows: &[(String, String, i64)]) -> Vec<&str> {
    rows.iter().map(|(kind, _, _)| kind.as_str()).collect()
}

async fn an_interrupted_refresh_that_reached_pinterest_is_reported(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    claim_as_dead_process(&h, &account.id).await;
    // The dead process's request reached Pinterest, which rotated the refresh token; the answer
    // was never committed.
    let row = h.row(&account.id).await;
    let sealed = row.refresh_token_sealed.expect("sealed refresh token");
    let refresh = h
        .keys
        .open(
            format!("account:{}:refresh", account.id).as_bytes(),
            &sealed,
        )
        .expect("opens");
    let stored =
        pinline_pinterest::RefreshToken::new(String::from_utf8(refresh.to_vec()).expect("utf8"));
    h.vault
        .client()
        .refresh(&stored, None)
        .await
        .expect("the lost refresh succeeded at Pinterest");
    h.clock.advance(Duration::from_secs(2));

    assert_eq!(
        h.vault
            .recover_interrupted_refreshes()
            .await
            .expect("recover"),
        1
    );
    let account = h
        .vault
        .account(&h.profile_id, &account.id)
        .await
        .expect("account");
    assert_eq!(account.status, AccountStatus::NeedsReauth);
    let reason = account.status_reason.unwrap_or_default();
    assert!(reason.contains("interrupted"), "{reason}");
    let events =
        h.db.store
            .account_events(&account.id)
            .await
            .expect("events");
    let kinds = event_kinds(&events);
    assert!(kinds.contains(&"account.refresh_interrupted"), "{kinds:?}");
    assert!(kinds.contains(&"account.needs_reauth"), "{kinds:?}");
    // Reported once, not looped over: nothing is left to recover.
    assert_eq!(
        h.vault
            .recover_interrupted_refreshes()
            .await
            .expect("recover"),
        0
    );
}

async fn an_interrupted_refresh_that_never_left_is_settled(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    claim_as_dead_process(&h, &account.id).await;
    // While the dead lease is live, nobody else may refresh: a caller with an expired token
    // waits rather than racing it. After the lease lapses the refresh is settled.
    h.clock.advance(Duration::from_secs(2));
    assert_eq!(
        h.vault
            .recover_interrupted_refreshes()
            .await
            .expect("recover"),
        1
    );
    let account = h
        .vault
        .account(&h.profile_id, &account.id)
        .await
        .expect("account");
    assert_eq!(account.status, AccountStatus::Active);
    let kinds: Vec<String> =
        h.db.store
            .account_events(&account.id)
            .await
            .expect("events")
            .into_iter()
            .map(|(kind, _, _)| kind)
            .collect();
    assert!(
        kinds.iter().any(|k| k == "account.refresh_interrupted"),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k == "account.refreshed"), "{kinds:?}");
    assert_eq!(h.stats().await["token_requests"]["refresh_token"], json!(1));
}

async fn idle_accounts_are_renewed_before_their_refresh_token_lapses(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let before = account.refresh_expires_at_ms.expect("refresh expiry");
    assert_eq!(
        h.vault.refresh_due_accounts().await.expect("sweep"),
        0,
        "nothing due yet"
    );
    // 31 days idle: the continuous refresh token (60 days) is inside the 30-day renewal margin.
    h.clock.advance(Duration::from_secs(31 * 24 * 3600));
    h.sandbox
        .clock()
        .advance(Duration::from_secs(31 * 24 * 3600));
    assert_eq!(h.vault.refresh_due_accounts().await.expect("sweep"), 1);
    let account = h
        .vault
        .account(&h.profile_id, &account.id)
        .await
        .expect("account");
    assert!(account.refresh_expires_at_ms.expect("renewed") > before);
    assert_eq!(account.status, AccountStatus::Active);
}

async fn expiring_refresh_tokens_alert_once_per_horizon(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let user = account.pinterest_user_id.clone();
    // Pinterest stops accepting the refresh token (e.g. the app was removed), so renewal fails
    // and the refresh token runs down towards its expiry.
    h.control(
        reqwest::Method::POST,
        &format!("/users/{user}/revoke"),
        json!({}),
    )
    .await;
    let mut events = h.vault.subscribe();
    h.clock.advance(Duration::from_secs(47 * 24 * 3600));
    assert_eq!(
        h.vault.alert_expiring_tokens().await.expect("sweep"),
        1,
        "14-day horizon"
    );
    assert_eq!(
        h.vault.alert_expiring_tokens().await.expect("sweep"),
        0,
        "not twice"
    );
    h.clock.advance(Duration::from_secs(7 * 24 * 3600));
    assert_eq!(
        h.vault.alert_expiring_tokens().await.expect("sweep"),
        1,
        "7-day horizon"
    );
    h.clock.advance(Duration::from_secs(6 * 24 * 3600 + 3600));
    assert_eq!(
        h.vault.alert_expiring_tokens().await.expect("sweep"),
        1,
        "1-day horizon"
    );
    let mut expiring = Vec::new();
    while let Ok(event) = events.try_recv() {
        if event.kind == "account.token_expiring" {
            expiring.push(event);
        }
    }
    assert_eq!(expiring.len(), 3);
    assert!(expiring[0].reconnect_url.contains(&account.id));
}

async fn key_rotation_reseals_every_token(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let old_key = h.keys.current_key_id().to_owned();
    // Rotate: a new current key, the old one kept readable.
    let new = MasterKey::generate();
    let rotated = Arc::new(h.keys.rotate_to(&new));
    let vault = Vault::new(
        h.db.store.clone(),
        rotated.clone(),
        Arc::new(h.clock.clone()),
        h.vault.client().clone(),
        VaultSettings::new(PUBLIC_URL),
    );
    assert!(
        vault.access_token(&account.id).await.is_ok(),
        "old tokens readable during rotation"
    );
    assert_eq!(
        vault.reseal_old_keys().await.expect("reseal"),
        Resealed {
            resealed: 1,
            unreadable: 0
        }
    );
    assert_eq!(
        vault.reseal_old_keys().await.expect("reseal"),
        Resealed::default()
    );
    let row = h.row(&account.id).await;
    for sealed in [
        row.access_token_sealed.expect("access"),
        row.refresh_token_sealed.expect("refresh"),
    ] {
        assert!(
            !sealed.contains(&format!(".{old_key}.")),
            "re-sealed under the new key"
        );
    }
    // Only the new key is needed now.
    let only_new = Vault::new(
        h.db.store.clone(),
        Arc::new(KeyRing::new(&new, &[])),
        Arc::new(h.clock.clone()),
        h.vault.client().clone(),
        VaultSettings::new(PUBLIC_URL),
    );
    assert!(only_new.access_token(&account.id).await.is_ok());
}

/// A refresh that takes longer than the lease (Pinterest slow): the holder keeps its lease alive,
/// so the other process waits instead of sending the same refresh token a second time (which
/// Pinterest would treat as reuse and answer by revoking the account's tokens).
async fn a_refresh_slower_than_its_lease_is_sent_once(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let other_store = Store::open(&DatabaseLocation::parse(&h.db.url).expect("url"))
        .await
        .expect("second pool");
    let short_lease = |settings: &mut VaultSettings| {
        settings.refresh_lease = Duration::from_millis(150);
    };
    let vaults = [
        vault_tuned(&h, &h.db.store, short_lease, None),
        vault_tuned(&h, &other_store, short_lease, None),
    ];
    h.token_fault(json!({"kind": "delay", "delay_ms": 800, "count": 1}))
        .await;
    h.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let vault = vaults[i % 2].clone();
        let account_id = account.id.clone();
        tasks.push(tokio::spawn(async move {
            vault
                .access_token(&account_id)
                .await
                .map(|grant| grant.version)
        }));
    }
    for task in tasks {
        task.await
            .expect("task")
            .expect("every caller gets a token");
    }
    let stats = h.stats().await;
    assert_eq!(
        stats["token_requests"]["refresh_token"],
        json!(1),
        "{stats}"
    );
    assert_eq!(stats["refresh_token_reuse"], json!(0), "{stats}");
    let row = h.row(&account.id).await;
    assert_eq!(row.status, "active");
    assert_eq!(row.refresh_started_at, None, "no refresh left in flight");
    other_store.close().await;
}

/// The caller that started a refresh gives up while Pinterest is answering (a client hanging
/// up drops its request's future): the refresh still finishes and its rotated tokens are kept.
async fn a_caller_that_gives_up_mid_refresh_loses_nothing(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let before = h.row(&account.id).await;
    h.token_fault(json!({"kind": "delay", "delay_ms": 400, "count": 1}))
        .await;
    h.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let caller = {
        let (vault, account_id) = (h.vault.clone(), account.id.clone());
        tokio::spawn(async move { vault.access_token(&account_id).await.is_ok() })
    };
    // Pinterest has the request (the delay rule fired) and is slow to answer: the caller goes.
    eventually("the refresh to reach the sandbox", || async {
        h.stats().await["faults_injected"] == json!(1)
    })
    .await;
    caller.abort();
    assert!(
        caller.await.is_err_and(|error| error.is_cancelled()),
        "the caller gave up before the answer"
    );
    eventually("the abandoned refresh to commit", || async {
        let row = h.row(&account.id).await;
        row.token_version > before.token_version && row.refresh_started_at.is_none()
    })
    .await;
    let grant = h
        .vault
        .access_token(&account.id)
        .await
        .expect("the new token");
    assert_eq!(grant.account.status, AccountStatus::Active);
    let stats = h.stats().await;
    assert_eq!(
        stats["token_requests"]["refresh_token"],
        json!(1),
        "{stats}"
    );
    assert_eq!(stats["refresh_token_reuse"], json!(0), "{stats}");
    // The kept token is the one Pinterest now honours.
    h.vault
        .call(&account.id, |client, token| async move {
            client.user_account(&token).await
        })
        .await
        .expect("the refreshed token works");
}

/// Inside the refresh margin but not yet expired, a refresh that fails for a passing reason
/// (Pinterest answering 503) does not fail the caller: the current token still works.
async fn a_failed_early_refresh_keeps_the_still_valid_token(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let before = h.vault.access_token(&account.id).await.expect("token");
    // 29.5 of 30 days: inside the 24-hour margin, still valid.
    h.clock
        .advance(Duration::from_secs(29 * 24 * 3600 + 12 * 3600));
    h.token_fault(json!({"kind": "error", "status": 503, "count": 4}))
        .await;
    let grant = h
        .vault
        .access_token(&account.id)
        .await
        .expect("the current token");
    assert_eq!(grant.token.expose_secret(), before.token.expose_secret());
    assert_eq!(grant.version, before.version);
    let row = h.row(&account.id).await;
    assert_eq!(row.status, "active");
    assert_eq!(row.last_error_class.as_deref(), Some("transient"));
    // Once Pinterest is back, the next call renews.
    h.clock.advance(Duration::from_secs(1));
    let renewed = h.vault.access_token(&account.id).await.expect("renewed");
    assert!(renewed.version > before.version);
}

/// The token endpoint refusing pinline's own app credentials is a configuration error: the
/// account is not marked `needs_reauth` (reconnecting would not help) and the error names the
/// settings to fix.
async fn refused_app_credentials_leave_the_account_alone(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let misconfigured = vault_tuned(&h, &h.db.store, |_| {}, Some("not-the-secret"));
    h.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let error = misconfigured
        .access_token(&account.id)
        .await
        .expect_err("the refresh is refused");
    let message = error.to_string();
    assert!(message.contains("PINTEREST_CLIENT_SECRET"), "{message}");
    assert!(!message.contains("not-the-secret"), "{message}");
    let row = h.row(&account.id).await;
    assert_eq!(row.status, "active", "{:?}", row.status_reason);
    // With the right credentials the same account refreshes. A caller that starts in the same
    // millisecond as a recorded failure is told of that failure instead (it may have waited on
    // it), so the clock moves on first, as it would between a fix and the next request.
    h.clock.advance(Duration::from_millis(10));
    h.vault.access_token(&account.id).await.expect("refreshed");
}

/// Another process refreshed between this caller's read of the token and Pinterest's 401, and
/// the token it stored is dead too (expired at Pinterest). The refresh token was never refused,
/// so the account must stay `active`: the caller refreshes past the stored token instead of
/// taking its 401 for a refusal.
async fn a_401_on_a_token_stored_by_another_process_is_not_a_refusal(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let other_process = vault_on(&h.db.store, &h.sandbox, &h.keys, &h.clock);
    let user_id = account.pinterest_user_id.clone();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let outcome = h
        .vault
        .call(&account.id, |client, token| {
            let (h, other_process, calls) = (&h, &other_process, &calls);
            let (account_id, user_id) = (account.id.clone(), user_id.clone());
            async move {
                if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    let seen = h.row(&account_id).await.token_version;
                    other_process
                        .refresh_from(&account_id, seen)
                        .await
                        .expect("the other process refreshes");
                    // Every access token of the user dies at Pinterest, the new one included.
                    h.control(
                        reqwest::Method::POST,
                        &format!("/users/{user_id}/expire"),
                        json!({}),
                    )
                    .await;
                }
                client.user_account(&token).await
            }
        })
        .await;
    assert!(outcome.is_ok(), "{outcome:?}");
    let row = h.row(&account.id).await;
    assert_eq!(row.status, "active", "{:?}", row.status_reason);
    assert_eq!(h.stats().await["refresh_token_reuse"], json!(0));
}

// ----- The token cache behind `call_known` ------------------------------------------------------

/// What a post's claim reads of the account: its token version and status, as stored now.
async fn known(h: &Harness, account_id: &str) -> KnownAccount {
    let row = h.row(account_id).await;
    KnownAccount::new(row.token_version, &row.status)
}

/// `call_known` reading the user's account; returns the token it was made with.
async fn call_known(
    vault: &Vault,
    account_id: &str,
    known: KnownAccount,
) -> Result<String, VaultError> {
    let used = std::sync::Mutex::new(String::new());
    vault
        .call_known(account_id, known, |client, token| {
            let used = &used;
            async move {
                *used.lock().expect("lock") = token.expose_secret().to_owned();
                client.user_account(&token).await
            }
        })
        .await?;
    Ok(used.into_inner().expect("lock"))
}

/// The second call at the same version reads no account row and decrypts nothing: with the
/// accounts table gone it still publishes.
async fn a_known_version_is_served_without_reading_the_database(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let known = known(&h, &account.id).await;
    let before = h.vault.stats();
    let first = call_known(&h.vault, &account.id, known)
        .await
        .expect("first call");
    let after_first = h.vault.stats();
    assert_eq!(after_first.account_loads, before.account_loads + 1);
    assert_eq!(after_first.token_cache_hits, before.token_cache_hits);
    let second = call_known(&h.vault, &account.id, known)
        .await
        .expect("second call");
    assert_eq!(second, first);
    let after_second = h.vault.stats();
    assert_eq!(after_second.account_loads, after_first.account_loads);
    assert_eq!(
        after_second.token_cache_hits,
        after_first.token_cache_hits + 1
    );
    // No statement on the accounts table is needed at all.
    h.db.break_table("accounts").await;
    call_known(&h.vault, &account.id, known)
        .await
        .expect("served from memory with the accounts table unavailable");
    assert_eq!(h.vault.stats().account_loads, after_first.account_loads);
    // `call` still reads the row, and so fails now.
    let outcome = h
        .vault
        .call(&account.id, |client, token| async move {
            client.user_account(&token).await
        })
        .await;
    assert!(matches!(outcome, Err(VaultError::Store(_))), "{outcome:?}");
}

/// Another process refreshed: the next claim reads the new version, the cache misses, the row
/// is read once, and the new token is remembered.
async fn a_new_version_reloads_the_account(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let old = known(&h, &account.id).await;
    let old_token = call_known(&h.vault, &account.id, old)
        .await
        .expect("first call");
    let other_store = Store::open(&DatabaseLocation::parse(&h.db.url).expect("url"))
        .await
        .expect("second pool");
    let other_process = vault_on(&other_store, &h.sandbox, &h.keys, &h.clock);
    let refreshed = other_process
        .refresh_from(&account.id, old.token_version)
        .await
        .expect("the other process refreshes");
    let new = known(&h, &account.id).await;
    assert_eq!(new.token_version, refreshed.version);
    assert!(new.token_version > old.token_version);

    let before = h.vault.stats();
    let new_token = call_known(&h.vault, &account.id, new)
        .await
        .expect("call at the new version");
    assert_eq!(new_token, refreshed.token.expose_secret());
    assert_ne!(new_token, old_token);
    assert_eq!(h.vault.stats().account_loads, before.account_loads + 1);
    let again = call_known(&h.vault, &account.id, new).await.expect("again");
    assert_eq!(again, new_token);
    assert_eq!(h.vault.stats().account_loads, before.account_loads + 1);
    other_store.close().await;
}

/// Pinterest stops honouring the cached token: the 401 refreshes once and retries, and the
/// refreshed token replaces the refused one in the cache.
async fn a_401_on_a_cached_token_refreshes_and_retries(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let first = known(&h, &account.id).await;
    let cached = call_known(&h.vault, &account.id, first)
        .await
        .expect("first call");
    h.control(
        reqwest::Method::POST,
        &format!("/users/{}/expire", account.pinterest_user_id),
        json!({}),
    )
    .await;
    let retried = call_known(&h.vault, &account.id, first)
        .await
        .expect("refreshed and retried");
    assert_ne!(retried, cached);
    let stats = h.stats().await;
    assert_eq!(
        stats["token_requests"]["refresh_token"],
        json!(1),
        "{stats}"
    );
    assert_eq!(h.row(&account.id).await.status, "active");
    // The next claim reads the new version, which this process already holds.
    let next = known(&h, &account.id).await;
    assert!(next.token_version > first.token_version);
    let loads = h.vault.stats().account_loads;
    let used = call_known(&h.vault, &account.id, next)
        .await
        .expect("next call");
    assert_eq!(used, retried);
    assert_eq!(h.vault.stats().account_loads, loads);
}

/// A cached token that comes inside the refresh margin is not used from memory: the call takes
/// the full path, which refreshes.
async fn a_cached_token_inside_the_refresh_margin_is_refreshed(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let known_now = known(&h, &account.id).await;
    let cached = call_known(&h.vault, &account.id, known_now)
        .await
        .expect("first call");
    // 29.5 of 30 days: inside the 24-hour margin.
    h.clock
        .advance(Duration::from_secs(29 * 24 * 3600 + 12 * 3600));
    let hits = h.vault.stats().token_cache_hits;
    let used = call_known(&h.vault, &account.id, known_now)
        .await
        .expect("refreshed");
    assert_ne!(used, cached);
    assert_eq!(h.vault.stats().token_cache_hits, hits);
    assert_eq!(h.stats().await["token_requests"]["refresh_token"], json!(1));
    assert!(h.row(&account.id).await.token_version > known_now.token_version);
}

/// A claim that read `needs_reauth` is refused whatever the cache holds (that status keeps the
/// version), and the refusal drops the entry, so a claim that read the account before the
/// change is refused too.
async fn a_needs_reauth_claim_is_refused_through_the_cache(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let active = known(&h, &account.id).await;
    call_known(&h.vault, &account.id, active)
        .await
        .expect("first call");

    // Another process marked it needs_reauth (the version stays): the claim reads the status.
    h.db.store
        .set_account_status(
            &account.id,
            "needs_reauth",
            Some("refused elsewhere"),
            None,
            now_ms(&h),
        )
        .await
        .expect("mark");
    let claimed = known(&h, &account.id).await;
    assert_eq!(claimed.token_version, active.token_version);
    assert_eq!(claimed.status, AccountStatus::NeedsReauth);
    let refused = call_known(&h.vault, &account.id, claimed).await;
    assert!(
        matches!(&refused, Err(VaultError::NeedsReauth { reason }) if reason == "refused elsewhere"),
        "{refused:?}"
    );
    // The refusal dropped the entry: a claim from before the change is refused too.
    let stale = call_known(&h.vault, &account.id, active).await;
    assert!(
        matches!(stale, Err(VaultError::NeedsReauth { .. })),
        "{stale:?}"
    );
}

/// A disconnect by this process drops the cached token: a claim that read the account before
/// it is refused like one that read it after.
async fn a_disconnect_drops_the_cached_token(db: TestDatabase) {
    let h = harness(db).await;
    let account = h.connect("maker").await;
    let active = known(&h, &account.id).await;
    call_known(&h.vault, &account.id, active)
        .await
        .expect("first call");
    h.vault
        .disconnect(&h.profile_id, &account.id)
        .await
        .expect("disconnect");
    let claimed = known(&h, &account.id).await;
    assert_eq!(claimed.status, AccountStatus::Disconnected);
    let refused = call_known(&h.vault, &account.id, claimed).await;
    assert!(
        matches!(refused, Err(VaultError::Disconnected)),
        "{refused:?}"
    );
    let stale = call_known(&h.vault, &account.id, active).await;
    assert!(matches!(stale, Err(VaultError::Disconnected)), "{stale:?}");
}
