//! The webhooks suite, run on SQLite and on PostgreSQL: real deliveries to a real HTTP receiver
//! on loopback, with time moved by an `OffsetClock` instead of sleeping.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use pinline_core::cipher::{KeyRing, Resealed};
use pinline_core::clock::{Clock, OffsetClock};
use pinline_core::master_key::MasterKey;
use pinline_outbound::Guard;
use pinline_outbound::testing::CountingLookup;
use pinline_store::testing::TestDatabase;
use pinline_store::{
    Completion, ConnectedAccount, InsertOutcome, NewPost, SealedTokens, WebhookDeliveryRow,
    WebhookRow, backend_tests,
};
use pinline_webhooks::signature::{self, DEFAULT_TOLERANCE_SECS, SignatureError};
use pinline_webhooks::{RetryPolicy, WebhookError, WebhookSecret, Webhooks, events};
use serde_json::json;
use tokio::sync::watch;

backend_tests!(
    deliveries_are_signed_with_the_secret_shown_at_creation,
    a_failed_attempt_is_retried_and_both_attempts_are_logged,
    deliveries_fail_after_max_attempts,
    unreachable_receivers_are_retried_with_the_error_logged,
    events_never_cross_profiles,
    event_filters_are_respected,
    secrets_are_sealed_at_rest,
    deleting_a_webhook_drops_its_deliveries,
    concurrent_claims_never_share_a_delivery,
    the_run_loop_delivers_as_soon_as_an_event_is_emitted,
    invalid_webhooks_and_events_are_refused,
    a_key_rotation_reseals_secrets_so_the_old_key_can_go,
    internal_targets_are_refused_at_creation_and_at_delivery,
    targets_beyond_loopback_are_refused_without_a_dns_query,
    outbox_events_are_fanned_out_once_by_racing_dispatchers,
    a_large_outbox_is_fanned_out_in_batches_with_every_delivery_right,
    a_run_of_given_up_deliveries_disables_a_webhook_until_it_is_enabled,
    a_rotated_secret_signs_beside_the_new_one_for_the_grace_period,
    a_delivery_can_be_sent_again,
    a_profile_has_at_most_the_webhook_cap,
    one_profiles_backlog_does_not_hold_back_another,
);

const PROFILE_A: &str = "profile-a";
const PROFILE_B: &str = "profile-b";
/// How long a test waits for something that should take milliseconds.
const DEADLINE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// A receiver on loopback that records every request and answers 500 to the first N.

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("the delivery has no {name} header"))
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

#[derive(Debug)]
struct ReceiverState {
    requests: Mutex<Vec<Received>>,
    failures_left: AtomicUsize,
    count: watch::Sender<usize>,
}

#[derive(Debug)]
struct Receiver {
    base_url: String,
    state: Arc<ReceiverState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let count = {
        let mut requests = state.requests.lock().expect("receiver lock");
        requests.push(Received {
            path: uri.path().to_owned(),
            headers,
            body,
        });
        requests.len()
    };
    state.count.send_replace(count);
    let fail = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok();
    if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

impl Receiver {
    async fn start() -> Receiver {
        let state = Arc::new(ReceiverState {
            requests: Mutex::new(Vec::new()),
            failures_left: AtomicUsize::new(0),
            count: watch::channel(0).0,
        });
        let app = Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let address = listener.local_addr().expect("receiver address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver serves");
        });
        Receiver {
            base_url: format!("http://{address}"),
            state,
            server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Answers 500 to the next `n` requests.
    fn fail_next(&self, n: usize) {
        self.state.failures_left.store(n, Ordering::SeqCst);
    }

    fn requests(&self) -> Vec<Received> {
        self.state.requests.lock().expect("receiver lock").clone()
    }

    /// Waits until at least `n` requests arrived, or fails the test at the deadline.
    async fn wait_for(&self, n: usize) {
        let mut count = self.state.count.subscribe();
        tokio::time::timeout(DEADLINE, count.wait_for(|seen| *seen >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} deliveries did not arrive within {DEADLINE:?}"))
            .expect("receiver alive");
    }
}

// ---------------------------------------------------------------------------------------------
// The service under test, over a fresh database with two profiles.

struct TestApp {
    webhooks: Webhooks,
    clock: OffsetClock,
    key_ring: Arc<KeyRing>,
    receiver: Receiver,
    db: TestDatabase,
}

async fn app(db: TestDatabase, policy: RetryPolicy) -> TestApp {
    // The receiver listens on loopback, a private target; nothing may go further.
    pinline_outbound::restrict_to_loopback();
    app_with_guard(db, policy, Guard::new("webhook delivery", true)).await
}

async fn app_with_guard(db: TestDatabase, policy: RetryPolicy, guard: Guard) -> TestApp {
    let clock = OffsetClock::new();
    let now = clock.now_ms();
    for (id, name) in [(PROFILE_A, "a"), (PROFILE_B, "b")] {
        db.store
            .ensure_profile(id, name, now)
            .await
            .expect("create a profile");
    }
    let key_ring = Arc::new(KeyRing::new(&MasterKey::generate(), &[]));
    let webhooks = Webhooks::new(
        db.store.clone(),
        Arc::clone(&key_ring),
        Arc::new(clock.clone()),
        guard,
        policy,
    )
    .expect("webhooks");
    TestApp {
        webhooks,
        clock,
        key_ring,
        receiver: Receiver::start().await,
        db,
    }
}

impl TestApp {
    async fn create(
        &self,
        profile_id: &str,
        path: &str,
        events: &[&str],
    ) -> (String, WebhookSecret) {
        let (row, secret) = self
            .webhooks
            .create(profile_id, &self.receiver.url(path), events)
            .await
            .expect("create a webhook");
        (row.id, secret)
    }

    async fn emit(&self, profile_id: &str, event: &str) -> Vec<String> {
        self.webhooks
            .emit(
                profile_id,
                event,
                json!({"post_id": "post-1", "link": "https://pin.it/x"}),
            )
            .await
            .expect("emit")
            .delivery_ids
    }

    async fn deliver(&self) -> usize {
        self.webhooks.deliver_due().await.expect("deliver due")
    }

    async fn delivery(&self, profile_id: &str, id: &str) -> WebhookDeliveryRow {
        self.db
            .store
            .get_webhook_delivery(profile_id, id)
            .await
            .expect("read a delivery")
            .expect("the delivery exists")
    }

    /// Moves time past any retry the policy could schedule.
    fn skip_past_retries(&self) {
        self.clock
            .advance(self.webhooks.policy().max_delay + Duration::from_millis(1));
    }

    fn now_secs(&self) -> i64 {
        self.clock.now_ms().div_euclid(1000)
    }
}

// ---------------------------------------------------------------------------------------------

async fn deliveries_are_signed_with_the_secret_shown_at_creation(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let (webhook_id, secret) = app.create(PROFILE_A, "/hook", &["*"]).await;
    let deliveries = app.emit(PROFILE_A, events::POST_PUBLISHED).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(app.deliver().await, 1);

    let requests = app.receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("pinline-event"), "post.published");
    assert_eq!(request.header("pinline-delivery"), deliveries[0]);
    let header = request.header("pinline-signature");
    let now = app.now_secs();
    let check = |secret: &str, body: &[u8], now: i64| {
        signature::verify(secret, header, body, now, DEFAULT_TOLERANCE_SECS)
    };
    assert_eq!(check(secret.expose_secret(), &request.body, now), Ok(()));
    // Tampered body, wrong secret, and a replay after the tolerance all fail.
    let mut tampered = request.body.to_vec();
    tampered.extend_from_slice(b" ");
    assert_eq!(
        check(secret.expose_secret(), &tampered, now),
        Err(SignatureError::Mismatch)
    );
    let other = WebhookSecret::generate();
    assert_eq!(
        check(other.expose_secret(), &request.body, now),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        check(
            secret.expose_secret(),
            &request.body,
            now + DEFAULT_TOLERANCE_SECS + 1
        ),
        Err(SignatureError::Stale { .. })
    ));

    let payload = request.json();
    assert_eq!(payload["type"], "post.published");
    assert_eq!(payload["data"]["post_id"], "post-1");
    let event_id = payload["id"].as_str().expect("event id");
    assert!(uuid::Uuid::parse_str(event_id).is_ok(), "{event_id}");
    let created_at = payload["created_at"].as_str().expect("created_at");
    time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
        .expect("created_at is RFC 3339");

    let delivery = app.delivery(PROFILE_A, &deliveries[0]).await;
    assert_eq!(delivery.status, WebhookDeliveryRow::DELIVERED);
    assert_eq!(delivery.webhook_id, webhook_id);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.last_status_code, Some(200));
    assert!(delivery.delivered_at.is_some());
    assert_eq!(delivery.lease_until, None);
    let log = app
        .db
        .store
        .list_webhook_attempts(PROFILE_A, &deliveries[0])
        .await
        .expect("attempt log");
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].attempt, log[0].status_code), (1, Some(200)));
    assert_eq!(log[0].error, None);
    // Nothing is left to deliver.
    assert_eq!(app.deliver().await, 0);
}

async fn a_failed_attempt_is_retried_and_both_attempts_are_logged(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    app.create(PROFILE_A, "/hook", &["*"]).await;
    app.receiver.fail_next(1);
    let deliveries = app.emit(PROFILE_A, events::POST_FAILED).await;
    let emitted_at = app.clock.now_ms();
    assert_eq!(app.deliver().await, 1);

    let after_first = app.delivery(PROFILE_A, &deliveries[0]).await;
    assert_eq!(after_first.status, WebhookDeliveryRow::PENDING);
    assert_eq!(after_first.attempts, 1);
    assert_eq!(after_first.last_status_code, Some(500));
    assert_eq!(after_first.lease_until, None);
    let first_cap = app.webhooks.policy().delay_cap(1);
    let first_cap = i64::try_from(first_cap.as_millis()).expect("small");
    assert!(after_first.next_attempt_at >= emitted_at);
    assert!(after_first.next_attempt_at <= app.clock.now_ms() + first_cap);

    app.skip_past_retries();
    assert_eq!(app.deliver().await, 1);
    let done = app.delivery(PROFILE_A, &deliveries[0]).await;
    assert_eq!(done.status, WebhookDeliveryRow::DELIVERED);
    assert_eq!(done.attempts, 2);
    assert_eq!(done.last_status_code, Some(200));

    let log = app
        .db
        .store
        .list_webhook_attempts(PROFILE_A, &deliveries[0])
        .await
        .expect("attempt log");
    let summary: Vec<_> = log
        .iter()
        .map(|a| (a.attempt, a.status_code, a.error.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, Some(500), Some("receiver answered HTTP 500")),
            (2, Some(200), None)
        ]
    );
    // Both attempts carried the same delivery id and the same body.
    let requests = app.receiver.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(
        requests[0].header("pinline-delivery"),
        requests[1].header("pinline-delivery")
    );
}

async fn deliveries_fail_after_max_attempts(db: TestDatabase) {
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let app = app(db, policy).await;
    app.create(PROFILE_A, "/hook", &["*"]).await;
    app.receiver.fail_next(usize::MAX);
    let deliveries = app.emit(PROFILE_A, events::ACCOUNT_NEEDS_REAUTH).await;
    for _ in 0..3 {
        assert_eq!(app.deliver().await, 1);
        app.skip_past_retries();
    }
    let delivery = app.delivery(PROFILE_A, &deliveries[0]).await;
    assert_eq!(delivery.status, WebhookDeliveryRow::FAILED);
    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.delivered_at, None);
    // A failed delivery is never tried again.
    assert_eq!(app.deliver().await, 0);
    assert_eq!(app.receiver.requests().len(), 3);
    let log = app
        .db
        .store
        .list_webhook_attempts(PROFILE_A, &deliveries[0])
        .await
        .expect("attempt log");
    assert_eq!(log.iter().map(|a| a.attempt).collect::<Vec<_>>(), [1, 2, 3]);
}

async fn unreachable_receivers_are_retried_with_the_error_logged(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    // A port that was just free: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = closed.local_addr().expect("address");
    drop(closed);
    app.webhooks
        .create(
            PROFILE_A,
            &format!("http://{address}/hook?token=receiver-own"),
            &["*"],
        )
        .await
        .expect("create");
    let deliveries = app.emit(PROFILE_A, events::ACCOUNT_REFRESHED).await;
    assert_eq!(app.deliver().await, 1);
    let delivery = app.delivery(PROFILE_A, &deliveries[0]).await;
    assert_eq!(delivery.status, WebhookDeliveryRow::PENDING);
    assert_eq!(delivery.last_status_code, None);
    let error = delivery.last_error.expect("an error is logged");
    assert!(!error.is_empty());
    assert!(
        !error.contains("receiver-own"),
        "the URL stays out of the log: {error}"
    );
}

async fn events_never_cross_profiles(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let (a_id, _) = app.create(PROFILE_A, "/a", &["*"]).await;
    let (b_id, _) = app.create(PROFILE_B, "/b", &["*"]).await;

    let deliveries = app.emit(PROFILE_A, events::ACCOUNT_CONNECTED).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(app.deliver().await, 1);
    let paths: Vec<String> = app
        .receiver
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(paths, ["/a"]);

    let store = &app.db.store;
    let of_b = store
        .list_webhook_deliveries(PROFILE_B, None, 100)
        .await
        .expect("list");
    assert!(of_b.is_empty());
    let of_a = store
        .list_webhook_deliveries(PROFILE_A, Some(&a_id), 100)
        .await
        .expect("list");
    assert_eq!(of_a.len(), 1);
    // Every lookup is scoped: B cannot see, read the log of, or delete A's things.
    assert_eq!(app.webhooks.get(PROFILE_B, &a_id).await.expect("get"), None);
    assert!(
        app.webhooks
            .get(PROFILE_B, &b_id)
            .await
            .expect("get")
            .is_some()
    );
    let listed: Vec<String> = app
        .webhooks
        .list(PROFILE_B)
        .await
        .expect("list")
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(listed, [b_id]);
    assert!(
        store
            .get_webhook_delivery(PROFILE_B, &deliveries[0])
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        store
            .list_webhook_attempts(PROFILE_B, &deliveries[0])
            .await
            .expect("log")
            .is_empty()
    );
    assert!(!app.webhooks.delete(PROFILE_B, &a_id).await.expect("delete"));
    assert!(
        app.webhooks
            .get(PROFILE_A, &a_id)
            .await
            .expect("get")
            .is_some()
    );
}

async fn event_filters_are_respected(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    app.create(
        PROFILE_A,
        "/posts",
        &[events::POST_PUBLISHED, events::POST_FAILED],
    )
    .await;
    app.create(PROFILE_A, "/all", &["*"]).await;

    assert_eq!(
        app.emit(PROFILE_A, events::ACCOUNT_CONNECTED).await.len(),
        1
    );
    assert_eq!(app.emit(PROFILE_A, events::POST_PUBLISHED).await.len(), 2);
    assert_eq!(app.emit(PROFILE_A, events::POST_HELD).await.len(), 1);
    assert_eq!(app.deliver().await, 4);

    let mut seen: Vec<(String, String)> = app
        .receiver
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.header("pinline-event").to_owned()))
        .collect();
    seen.sort();
    let expected = [
        ("/all", "account.connected"),
        ("/all", "post.held"),
        ("/all", "post.published"),
        ("/posts", "post.published"),
    ]
    .map(|(path, event)| (path.to_owned(), event.to_owned()));
    assert_eq!(seen, expected);
    // Every delivery of one event carries the same event id.
    let ids: HashSet<String> = app
        .receiver
        .requests()
        .iter()
        .filter(|r| r.header("pinline-event") == "post.published")
        .map(|r| r.json()["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
}

async fn secrets_are_sealed_at_rest(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let (first, secret) = app.create(PROFILE_A, "/one", &["*"]).await;
    let (second, _) = app.create(PROFILE_A, "/two", &["*"]).await;
    assert!(format!("{secret:?}").contains("redacted"));
    let plaintext = secret.expose_secret();
    let random_part = plaintext.trim_start_matches("whsec_");

    let row = app
        .db
        .store
        .get_webhook(PROFILE_A, &first)
        .await
        .expect("read")
        .expect("exists");
    assert!(!row.secret_sealed.contains(random_part));
    assert!(!row.secret_sealed.contains(plaintext));
    // The sealed secret opens for its own row only.
    let opened = app
        .key_ring
        .open(
            format!("webhook:{first}:secret").as_bytes(),
            &row.secret_sealed,
        )
        .expect("opens for its own webhook");
    assert_eq!(opened.as_slice(), plaintext.as_bytes());
    assert!(
        app.key_ring
            .open(
                format!("webhook:{second}:secret").as_bytes(),
                &row.secret_sealed
            )
            .is_err(),
        "a sealed secret copied to another webhook must not open"
    );
}

async fn deleting_a_webhook_drops_its_deliveries(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let (id, _) = app.create(PROFILE_A, "/hook", &["*"]).await;
    app.receiver.fail_next(1);
    let deliveries = app.emit(PROFILE_A, events::POST_PUBLISHED).await;
    assert_eq!(app.deliver().await, 1);
    assert!(app.webhooks.delete(PROFILE_A, &id).await.expect("delete"));
    assert!(
        !app.webhooks
            .delete(PROFILE_A, &id)
            .await
            .expect("delete twice")
    );
    let gone = app
        .db
        .store
        .get_webhook_delivery(PROFILE_A, &deliveries[0])
        .await
        .expect("read");
    assert_eq!(gone, None);
    app.skip_past_retries();
    assert_eq!(app.deliver().await, 0);
    assert!(app.emit(PROFILE_A, events::POST_PUBLISHED).await.is_empty());
}

async fn concurrent_claims_never_share_a_delivery(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    app.create(PROFILE_A, "/hook", &["*"]).await;
    let mut all = HashSet::new();
    for _ in 0..10 {
        all.extend(app.emit(PROFILE_A, events::POST_PUBLISHED).await);
    }
    let now = app.clock.now_ms();
    let mut claims = Vec::new();
    for _ in 0..4 {
        let store = app.db.store.clone();
        claims.push(tokio::spawn(async move {
            store
                .claim_due_webhook_deliveries(now, 60_000, 3)
                .await
                .expect("claim")
        }));
    }
    let mut claimed = Vec::new();
    for claim in claims {
        claimed.extend(claim.await.expect("claim task").into_iter().map(|d| d.id));
    }
    let unique: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!(unique.len(), claimed.len(), "a delivery was claimed twice");
    // Leased deliveries are not claimable again until the lease expires…
    let rest = app
        .db
        .store
        .claim_due_webhook_deliveries(now, 60_000, 100)
        .await
        .expect("claim the rest");
    let rest: HashSet<String> = rest.into_iter().map(|d| d.id).collect();
    assert!(rest.is_disjoint(&unique));
    assert_eq!(unique.union(&rest).cloned().collect::<HashSet<_>>(), all);
    // …and are once it has.
    let later = app
        .db
        .store
        .claim_due_webhook_deliveries(now + 60_000, 60_000, 100)
        .await
        .expect("claim after the leases expired");
    assert_eq!(later.len(), 10);
}

async fn the_run_loop_delivers_as_soon_as_an_event_is_emitted(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let (_, secret) = app.create(PROFILE_A, "/hook", &["*"]).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = app.webhooks.clone();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    app.emit(PROFILE_A, events::ACCOUNT_TOKEN_EXPIRING).await;
    app.receiver.wait_for(1).await;
    let request = &app.receiver.requests()[0];
    signature::verify(
        secret.expose_secret(),
        request.header("pinline-signature"),
        &request.body,
        app.now_secs(),
        DEFAULT_TOLERANCE_SECS,
    )
    .expect("a valid signature");
    stop.send(()).expect("the worker is running");
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the worker stops on shutdown")
        .expect("the worker did not panic");
}

async fn invalid_webhooks_and_events_are_refused(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let create = |url: &'static str, events: &'static [&'static str]| {
        let webhooks = app.webhooks.clone();
        async move { webhooks.create(PROFILE_A, url, events).await }
    };
    assert!(matches!(
        create("ftp://example.invalid/hook", &["*"]).await,
        Err(WebhookError::InvalidUrl { .. })
    ));
    assert!(matches!(
        create("not a url", &["*"]).await,
        Err(WebhookError::InvalidUrl { .. })
    ));
    assert!(matches!(
        create("https://example.invalid/hook", &["post.publish"]).await,
        Err(WebhookError::UnknownEvent(_))
    ));
    assert!(matches!(
        create("https://example.invalid/hook", &[]).await,
        Err(WebhookError::NoEvents)
    ));
    assert!(matches!(
        app.webhooks.emit(PROFILE_A, "post.typo", json!({})).await,
        Err(WebhookError::UnknownEvent(_))
    ));
    assert!(app.webhooks.list(PROFILE_A).await.expect("list").is_empty());
}

async fn a_key_rotation_reseals_secrets_so_the_old_key_can_go(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let mut secrets = Vec::new();
    // More than one page of the re-sealing pass, spread over profiles (one may have at most
    // 25 webhooks): 20 in PROFILE_A, 20 in PROFILE_B, the rest in others.
    for index in 0..205 {
        let profile = match index / 20 {
            0 => PROFILE_A.to_owned(),
            1 => PROFILE_B.to_owned(),
            n => format!("profile-{n}"),
        };
        app.db
            .store
            .ensure_profile(&profile, &profile, app.clock.now_ms())
            .await
            .expect("profile");
        secrets.push(app.create(&profile, "/hook", &["*"]).await);
    }
    let service = |key_ring: KeyRing| {
        Webhooks::new(
            app.db.store.clone(),
            Arc::new(key_ring),
            Arc::new(app.clock.clone()),
            Guard::new("webhook delivery", true),
            RetryPolicy::default(),
        )
        .expect("webhooks")
    };
    let new_key = MasterKey::generate();
    let rotated = service(app.key_ring.rotate_to(&new_key));
    assert_eq!(
        rotated.reseal_old_keys().await.expect("reseal"),
        Resealed {
            resealed: 205,
            unreadable: 0
        }
    );
    assert_eq!(
        rotated.reseal_old_keys().await.expect("a second pass"),
        Resealed::default(),
        "nothing is left under the old key"
    );

    // With the old key gone, deliveries are still signed with the secret shown at creation.
    let only_new = service(KeyRing::new(&new_key, &[]));
    let deliveries = only_new
        .emit(
            PROFILE_A,
            events::POST_PUBLISHED,
            json!({"post_id": "post-1"}),
        )
        .await
        .expect("emit")
        .delivery_ids;
    assert_eq!(deliveries.len(), 20);
    let mut delivered = 0;
    while delivered < deliveries.len() {
        let sent = only_new.deliver_due().await.expect("deliver");
        assert!(sent > 0, "deliveries stalled at {delivered}");
        delivered += sent;
    }
    let now = app.now_secs();
    let requests = app.receiver.requests();
    assert_eq!(requests.len(), 20);
    for request in &requests {
        let header = request.header("pinline-signature");
        let signed_by_one = secrets.iter().any(|(_, secret)| {
            signature::verify(
                secret.expose_secret(),
                header,
                &request.body,
                now,
                DEFAULT_TOLERANCE_SECS,
            )
            .is_ok()
        });
        assert!(signed_by_one, "a delivery signed with an unknown secret");
    }
    for ((id, _), profile) in [&secrets[0], &secrets[20]]
        .into_iter()
        .zip([PROFILE_A, PROFILE_B])
    {
        let row = app
            .webhooks
            .get(profile, id)
            .await
            .expect("read")
            .expect("webhook");
        assert!(
            !KeyRing::new(&new_key, &[]).needs_reseal(&row.secret_sealed),
            "sealed under the new key"
        );
    }

    // A secret sealed under a key the ring no longer holds is reported, not fatal.
    let lost = service(KeyRing::new(&MasterKey::generate(), &[]));
    assert_eq!(
        lost.reseal_old_keys()
            .await
            .expect("a pass over unreadable rows"),
        Resealed {
            resealed: 0,
            unreadable: 205
        }
    );
}

async fn internal_targets_are_refused_at_creation_and_at_delivery(db: TestDatabase) {
    pinline_outbound::restrict_to_loopback();
    let strict = app_with_guard(
        db,
        RetryPolicy::default(),
        Guard::new("webhook delivery", false),
    )
    .await;
    for target in [
        strict.receiver.url("/hook"),
        "http://10.0.0.1/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::1]:9000/hook".to_owned(),
        "http://[::ffff:127.0.0.1]:9000/hook".to_owned(),
        "http://localhost:9000/hook".to_owned(),
    ] {
        let error = strict
            .webhooks
            .create(PROFILE_A, &target, &["*"])
            .await
            .expect_err(&target);
        match error {
            WebhookError::RefusedTarget { reason } => assert!(
                reason.contains("PINLINE_ALLOW_PRIVATE_TARGETS"),
                "the refusal names the switch: {reason}"
            ),
            other => panic!("{target}: expected RefusedTarget, got {other:?}"),
        }
    }
    assert!(
        strict
            .webhooks
            .list(PROFILE_A)
            .await
            .expect("list")
            .is_empty()
    );

    // A webhook registered while private targets were allowed is refused at delivery once they
    // are not: the check is made again on every attempt, not only at registration.
    let lenient = Webhooks::new(
        strict.db.store.clone(),
        Arc::clone(&strict.key_ring),
        Arc::new(strict.clock.clone()),
        Guard::new("webhook delivery", true),
        RetryPolicy::default(),
    )
    .expect("webhooks");
    lenient
        .create(PROFILE_A, &strict.receiver.url("/hook"), &["*"])
        .await
        .expect("allowed with the switch");
    let deliveries = strict.emit(PROFILE_A, events::POST_PUBLISHED).await;
    assert_eq!(strict.deliver().await, 1);
    assert!(strict.receiver.requests().is_empty(), "nothing was sent");
    let delivery = strict.delivery(PROFILE_A, &deliveries[0]).await;
    assert_eq!(delivery.status, WebhookDeliveryRow::PENDING);
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("refused: not a public address"),
        "the caller sees the rule, not the address or the socket's words"
    );
}

async fn targets_beyond_loopback_are_refused_without_a_dns_query(db: TestDatabase) {
    let lookup = Arc::new(CountingLookup::default());
    let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let guard = Guard::new("webhook delivery", true)
        .with_lookup(lookup.clone())
        .loopback_only_counting_in(refused.clone());
    let app = app_with_guard(db, RetryPolicy::default(), guard).await;

    // Registration refuses it (a validation answer, not an attempt: nothing is counted)...
    let error = app
        .webhooks
        .create(PROFILE_A, "https://example.com/hooks/pinline", &["*"])
        .await
        .expect_err("beyond loopback");
    assert!(
        matches!(&error, WebhookError::RefusedTarget { reason } if reason.contains("PINLINE_OUTBOUND=loopback")),
        "{error:?}"
    );
    // ...while a reserved name that never resolves is how a test says "nobody listens".
    app.webhooks
        .create(PROFILE_A, "https://hook.invalid/pinline", &["post.failed"])
        .await
        .expect("reserved names are accepted");

    // A webhook stored before the process was restricted is refused at delivery, counted, and
    // never resolved.
    let id = uuid::Uuid::now_v7().to_string();
    let secret = WebhookSecret::generate();
    let row = WebhookRow {
        secret_sealed: app.key_ring.seal(
            &WebhookSecret::associated_data(&id),
            secret.expose_secret().as_bytes(),
        ),
        id,
        profile_id: PROFILE_A.to_owned(),
        url: "https://example.com/hooks/pinline".to_owned(),
        events: "post.published".to_owned(),
        created_at: app.clock.now_ms(),
        disabled_at: None,
        disabled_reason: None,
        failed_in_a_row: 0,
        previous_secret_sealed: None,
        previous_secret_until: None,
    };
    app.db
        .store
        .create_webhook(&row, 25)
        .await
        .expect("store a webhook");
    let deliveries = app.emit(PROFILE_A, events::POST_PUBLISHED).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(app.deliver().await, 1);
    let delivery = app.delivery(PROFILE_A, &deliveries[0]).await;
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("refused: this pinline reaches loopback only")
    );
    assert_eq!(lookup.calls(), 0, "no DNS query was made");
    assert_eq!(refused.load(Ordering::SeqCst), 1, "the attempt was counted");
    assert_eq!(
        pinline_outbound::refused_beyond_loopback(),
        0,
        "not in the process's count"
    );
}

/// A connected account of `profile_id`, written by the store alone.
async fn connect_account(
    store: &pinline_store::Store,
    profile_id: &str,
    pinterest_user_id: &str,
    now: i64,
) -> String {
    store
        .upsert_connected_account(
            &ConnectedAccount {
                profile_id,
                environment: "sandbox",
                client_id: "app",
                pinterest_user_id,
                username: "maker",
                scopes: "pins:write",
                access_expires_at: now + 3_600_000,
                refresh_expires_at: None,
            },
            &uuid::Uuid::now_v7().to_string(),
            &[],
            now,
            |_| SealedTokens {
                access: "v1.test.sealed-access".into(),
                refresh: None,
            },
        )
        .await
        .expect("account")
}

/// Queues a post due now; returns its id.
async fn queue_post(
    store: &pinline_store::Store,
    profile_id: &str,
    account_id: &str,
    title: &str,
    now: i64,
) -> String {
    let post = NewPost {
        profile_id: profile_id.into(),
        account_id: account_id.into(),
        board_id: "111".into(),
        title: Some(title.into()),
        media: r#"{"source_type":"image_url","url":"https://cdn.example.invalid/a.jpg"}"#.into(),
        ..NewPost::default()
    };
    match store.insert_post(&post, now).await.expect("insert") {
        InsertOutcome::Created(row) => row.id,
        other => panic!("expected a new post, got {other:?}"),
    }
}

/// Hundreds of events over two profiles go out in batches (more than one dispatch): every event
/// becomes exactly the deliveries its profile's webhooks want, no more, none lost, and each
/// delivery carries its own event.
async fn a_large_outbox_is_fanned_out_in_batches_with_every_delivery_right(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let (published_only, _) = app
        .create(PROFILE_A, "/a-published", &[events::POST_PUBLISHED])
        .await;
    let (everything, _) = app.create(PROFILE_A, "/a-all", &["*"]).await;
    let (failed_only, _) = app
        .create(PROFILE_B, "/b-failed", &[events::POST_FAILED])
        .await;
    let store = &app.db.store;
    let now = app.clock.now_ms();
    let (a_posts, b_posts) = (260usize, 190usize);
    let account_a = connect_account(store, PROFILE_A, "3001", now).await;
    let account_b = connect_account(store, PROFILE_B, "3002", now).await;
    for n in 0..a_posts {
        queue_post(store, PROFILE_A, &account_a, &format!("a{n}"), now).await;
    }
    for n in 0..b_posts {
        queue_post(store, PROFILE_B, &account_b, &format!("b{n}"), now).await;
    }
    let mut claimed = Vec::new();
    loop {
        let batch = store
            .claim_due_posts("worker-1", now, 60_000, 100, 100)
            .await
            .expect("claim");
        if batch.is_empty() {
            break;
        }
        claimed.extend(batch);
    }
    assert_eq!(claimed.len(), a_posts + b_posts);
    let mut published = Vec::new();
    for claim in &claimed {
        if claim.post.profile_id == PROFILE_A {
            published.push(pinline_store::PublishedPost {
                id: claim.post.id.clone(),
                fence: claim.fence,
                pin_id: format!("pin-{}", claim.post.id),
                pin_url: None,
                adopted: false,
                published_at: now,
            });
        } else {
            let done = store
                .fail_post(
                    &claim.post.id,
                    "worker-1",
                    claim.fence,
                    "validation",
                    "no",
                    now,
                )
                .await
                .expect("failed");
            assert_eq!(done, Completion::Applied);
        }
    }
    let done = store
        .complete_published_many("worker-1", &published)
        .await
        .expect("published");
    assert!(done.iter().all(|d| *d == Completion::Applied));

    let reconnect = |id: &str| format!("https://pinline.invalid/accounts/{id}/reconnect");
    let mut taken = 0;
    let mut dispatches = 0;
    loop {
        let n = app
            .webhooks
            .dispatch_outbox(&reconnect)
            .await
            .expect("dispatch");
        if n == 0 {
            break;
        }
        taken += n;
        dispatches += 1;
    }
    assert_eq!(taken, a_posts + b_posts, "every event once");
    assert!(
        dispatches > 1,
        "a batch is bounded: {dispatches} dispatches"
    );

    let deliveries = |profile: &'static str, webhook: String| async move {
        store
            .list_webhook_deliveries(profile, Some(&webhook), 10_000)
            .await
            .expect("deliveries")
    };
    let only_published = deliveries(PROFILE_A, published_only).await;
    let all = deliveries(PROFILE_A, everything).await;
    let only_failed = deliveries(PROFILE_B, failed_only).await;
    assert_eq!(only_published.len(), a_posts);
    assert_eq!(all.len(), a_posts);
    assert_eq!(only_failed.len(), b_posts);
    let post_ids = |rows: &[WebhookDeliveryRow]| -> HashSet<String> {
        rows.iter()
            .filter_map(|row| {
                let payload: serde_json::Value =
                    serde_json::from_str(&row.payload).expect("a JSON payload");
                payload["data"]["post_id"].as_str().map(str::to_owned)
            })
            .collect()
    };
    let a_ids: HashSet<String> = claimed
        .iter()
        .filter(|claim| claim.post.profile_id == PROFILE_A)
        .map(|claim| claim.post.id.clone())
        .collect();
    assert_eq!(
        post_ids(&only_published),
        a_ids,
        "each post once, its own payload"
    );
    assert_eq!(post_ids(&all), a_ids);
    assert_eq!(post_ids(&only_failed).len(), b_posts);
    assert!(
        only_failed
            .iter()
            .all(|row| row.event == events::POST_FAILED)
    );
}

/// Posts published, failed and held, and account events, all written by the store alone (as a
/// process that died before anything else happened would leave them), become deliveries once,
/// however many dispatchers race for them.
async fn outbox_events_are_fanned_out_once_by_racing_dispatchers(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    app.create(PROFILE_A, "/hook", &["*"]).await;
    let store = &app.db.store;
    let now = app.clock.now_ms();
    let account = connect_account(store, PROFILE_A, "2001", now).await;
    let mut ids = Vec::new();
    for title in ["published", "failed", "held"] {
        ids.push(queue_post(store, PROFILE_A, &account, title, now).await);
    }
    let claimed = store
        .claim_due_posts("worker-1", now, 60_000, 10, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 3);
    let fence = |id: &str| {
        claimed
            .iter()
            .find(|claim| claim.post.id == id)
            .expect("claimed")
            .fence
    };
    let done = store
        .complete_published(
            &ids[0],
            "worker-1",
            fence(&ids[0]),
            "9001",
            Some("https://www.pinterest.com/pin/9001/"),
            false,
            now,
        )
        .await
        .expect("published");
    assert_eq!(done, Completion::Applied);
    let done = store
        .fail_post(
            &ids[1],
            "worker-1",
            fence(&ids[1]),
            "validation",
            "the image is too small",
            now,
        )
        .await
        .expect("failed");
    assert_eq!(done, Completion::Applied);
    let done = store
        .hold_post(
            &ids[2],
            "worker-1",
            fence(&ids[2]),
            "auth",
            "Pinterest refused the token",
            now,
        )
        .await
        .expect("held");
    assert_eq!(done, Completion::Applied);
    store
        .record_account_event(
            &account,
            events::ACCOUNT_NEEDS_REAUTH,
            "reconnect needed",
            Some("auth"),
            true,
            now,
        )
        .await
        .expect("event");
    // An event no webhook carries (a kind another version of pinline recorded) is taken from
    // the outbox without a delivery.
    store
        .record_account_event(
            &account,
            "account.kind_of_another_version",
            "a stopped refresh",
            None,
            true,
            now,
        )
        .await
        .expect("event");
    assert_eq!(
        store.pending_post_events(10).await.expect("pending").len(),
        3
    );
    assert_eq!(
        store
            .pending_account_events(10)
            .await
            .expect("pending")
            .len(),
        2
    );

    let replica = Webhooks::new(
        store.clone(),
        Arc::clone(&app.key_ring),
        Arc::new(app.clock.clone()),
        Guard::new("webhook delivery", true),
        RetryPolicy::default(),
    )
    .expect("webhooks");
    let reconnect = |id: &str| format!("https://pinline.invalid/accounts/{id}/reconnect");
    let (one, two) = tokio::join!(
        app.webhooks.dispatch_outbox(&reconnect),
        replica.dispatch_outbox(&reconnect)
    );
    assert_eq!(
        one.expect("dispatch") + two.expect("dispatch"),
        5,
        "each event taken once"
    );
    assert_eq!(
        app.webhooks
            .dispatch_outbox(&reconnect)
            .await
            .expect("again"),
        0
    );
    assert!(
        store
            .pending_post_events(10)
            .await
            .expect("pending")
            .is_empty()
    );
    assert!(
        store
            .pending_account_events(10)
            .await
            .expect("pending")
            .is_empty()
    );

    assert_eq!(app.deliver().await, 4);
    let mut payloads: Vec<serde_json::Value> =
        app.receiver.requests().iter().map(Received::json).collect();
    payloads.sort_by_key(|p| p["type"].as_str().unwrap_or_default().to_owned());
    let types: Vec<&str> = payloads
        .iter()
        .map(|p| p["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        types,
        [
            "account.needs_reauth",
            "post.failed",
            "post.held",
            "post.published"
        ]
    );
    let account_event = &payloads[0]["data"];
    assert_eq!(account_event["username"], "maker");
    assert_eq!(account_event["error_class"], "auth");
    assert_eq!(account_event["reconnect_url"], json!(reconnect(&account)));
    let failed = &payloads[1]["data"];
    assert_eq!(failed["post_id"], json!(ids[1]));
    assert_eq!(failed["error_class"], "validation");
    assert_eq!(failed["message"], "the image is too small");
    let held = &payloads[2]["data"];
    assert_eq!(held["error_class"], "auth");
    assert_eq!(held["message"], "Pinterest refused the token");
    let published = &payloads[3]["data"];
    assert_eq!(published["post_id"], json!(ids[0]));
    assert_eq!(published["pin_id"], "9001");
    assert_eq!(published["adopted"], false);
    assert_eq!(published["message"], serde_json::Value::Null);
}

/// A loopback URL where nothing listens.
async fn closed_url() -> String {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = closed.local_addr().expect("address");
    drop(closed);
    format!("http://{address}/hook")
}

async fn a_run_of_given_up_deliveries_disables_a_webhook_until_it_is_enabled(db: TestDatabase) {
    let policy = RetryPolicy {
        max_attempts: 1,
        disable_after: 2,
        ..RetryPolicy::default()
    };
    let app = app(db, policy).await;
    let (broken, _) = app
        .webhooks
        .create(PROFILE_A, &closed_url().await, &[events::POST_PUBLISHED])
        .await
        .expect("create");
    app.create(PROFILE_A, "/watcher", &["*"]).await;

    for round in 1..=2 {
        app.emit(PROFILE_A, events::POST_PUBLISHED).await;
        assert_eq!(app.deliver().await, 2, "round {round}");
    }
    let row = app
        .webhooks
        .get(PROFILE_A, &broken.id)
        .await
        .expect("get")
        .expect("row");
    assert!(
        row.disabled_at.is_some(),
        "two given-up deliveries disable it"
    );
    assert_eq!(row.failed_in_a_row, 2);
    assert!(
        row.disabled_reason
            .as_deref()
            .unwrap_or_default()
            .contains("2 deliveries in a row")
    );
    // The profile's other webhook hears of it, in the same transaction as the change.
    assert_eq!(app.deliver().await, 1);
    let requests = app.receiver.requests();
    let disabled = requests.last().expect("a request").json();
    assert_eq!(disabled["type"], "webhook.disabled");
    assert_eq!(disabled["data"]["webhook_id"], json!(broken.id));

    // While disabled, its deliveries are queued and wait instead of failing.
    let waiting = app.emit(PROFILE_A, events::POST_PUBLISHED).await;
    assert_eq!(waiting.len(), 2);
    assert_eq!(
        app.deliver().await,
        1,
        "only the watcher's delivery is attempted"
    );
    let requests = app.receiver.requests();
    let parked = waiting
        .iter()
        .find(|id| {
            !requests
                .iter()
                .any(|r| r.header("pinline-delivery") == id.as_str())
        })
        .expect("the broken webhook's delivery");
    assert_eq!(
        app.delivery(PROFILE_A, parked).await.status,
        WebhookDeliveryRow::PENDING
    );
    // Enabled again at a working URL: what waited is sent, and the run of failures is forgotten.
    let (row, secret) = app
        .webhooks
        .update(
            PROFILE_A,
            &broken.id,
            pinline_webhooks::WebhookUpdate {
                url: Some(&app.receiver.url("/fixed")),
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("update")
        .expect("found");
    assert!(secret.is_none());
    assert_eq!((row.disabled_at, row.failed_in_a_row), (None, 0));
    assert_eq!(app.deliver().await, 1);
    let last = app.receiver.requests().last().cloned().expect("request");
    assert_eq!(last.path, "/fixed");
    assert_eq!(last.header("pinline-delivery"), parked.as_str());
}

async fn a_rotated_secret_signs_beside_the_new_one_for_the_grace_period(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let (id, old) = app.create(PROFILE_A, "/hook", &["*"]).await;
    let (row, new) = app
        .webhooks
        .update(
            PROFILE_A,
            &id,
            pinline_webhooks::WebhookUpdate {
                rotate_secret: true,
                ..Default::default()
            },
        )
        .await
        .expect("update")
        .expect("found");
    let new = new.expect("a new secret is answered once");
    assert_ne!(new.expose_secret(), old.expose_secret());
    assert!(row.previous_secret_until.is_some());
    let verifies = |secret: &WebhookSecret, request: &Received, now: i64| {
        signature::verify(
            secret.expose_secret(),
            request.header("pinline-signature"),
            &request.body,
            now,
            DEFAULT_TOLERANCE_SECS,
        )
        .is_ok()
    };
    app.emit(PROFILE_A, events::POST_PUBLISHED).await;
    app.deliver().await;
    let first = app.receiver.requests().pop().expect("delivered");
    assert!(verifies(&new, &first, app.now_secs()));
    assert!(
        verifies(&old, &first, app.now_secs()),
        "the old secret still signs"
    );

    app.clock
        .advance(pinline_webhooks::SECRET_GRACE + Duration::from_secs(1));
    app.emit(PROFILE_A, events::POST_PUBLISHED).await;
    app.deliver().await;
    let second = app.receiver.requests().pop().expect("delivered");
    assert!(verifies(&new, &second, app.now_secs()));
    assert!(
        !verifies(&old, &second, app.now_secs()),
        "the grace period is over"
    );
}

async fn a_delivery_can_be_sent_again(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let (id, _) = app.create(PROFILE_A, "/hook", &["*"]).await;
    let deliveries = app.emit(PROFILE_A, events::POST_FAILED).await;
    assert_eq!(app.deliver().await, 1);
    let again = app
        .webhooks
        .redeliver(PROFILE_A, &id, &deliveries[0])
        .await
        .expect("redeliver")
        .expect("found");
    assert_eq!((again.status.as_str(), again.attempts), ("pending", 0));
    assert_eq!(app.deliver().await, 1);
    let requests = app.receiver.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body, "the same payload");
    assert_eq!(
        requests[1].header("pinline-delivery"),
        requests[0].header("pinline-delivery")
    );
    // Another profile cannot reach it.
    assert!(
        app.webhooks
            .redeliver(PROFILE_B, &id, &deliveries[0])
            .await
            .expect("redeliver")
            .is_none()
    );
}

async fn a_profile_has_at_most_the_webhook_cap(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    let cap = pinline_webhooks::MAX_WEBHOOKS_PER_PROFILE;
    for _ in 0..cap {
        app.create(PROFILE_A, "/hook", &["*"]).await;
    }
    let refused = app
        .webhooks
        .create(PROFILE_A, &app.receiver.url("/one-more"), &["*"])
        .await
        .expect_err("over the cap");
    assert!(matches!(refused, WebhookError::TooMany { limit } if limit == cap));
    app.create(PROFILE_B, "/hook", &["*"]).await;
}

async fn one_profiles_backlog_does_not_hold_back_another(db: TestDatabase) {
    let app = app(db, RetryPolicy::default()).await;
    app.create(PROFILE_A, "/a", &["*"]).await;
    app.create(PROFILE_B, "/b", &["*"]).await;
    for _ in 0..10 {
        app.emit(PROFILE_A, events::POST_PUBLISHED).await;
    }
    app.clock.advance(Duration::from_millis(5));
    let late = app.emit(PROFILE_B, events::POST_PUBLISHED).await;
    let claimed = app
        .db
        .store
        .claim_due_webhook_deliveries(app.clock.now_ms(), 60_000, 3)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 3);
    assert!(
        claimed.iter().any(|d| d.id == late[0]),
        "the other profile's newer delivery takes a turn before the backlog's fourth"
    );
}
