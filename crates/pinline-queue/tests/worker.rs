//! The publishing worker against the real sandbox, on SQLite and PostgreSQL: bulk publishing
//! exactly once, pacing to a rate limit, dropped connections after a create (adopted, never
//! duplicated), a revoked account held and resumed canary first, scheduled posts on time, and
//! a post that can never succeed failed without retries.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinline_core::cipher::KeyRing;
use pinline_core::clock::{Clock, OffsetClock};
use pinline_core::master_key::MasterKey;
use pinline_pinterest::PinterestClient;
use pinline_pinterest::facts::RateLimitCategory;
use pinline_pinterest::{AuthorizationCode, BoardCreate, ClientId, ClientSecret, Environment};
use pinline_queue::{
    Pacer, PacerSettings, PostEvent, Publisher, PublisherSettings, PublisherStats, Queue,
    QueueSettings, Rate, RetryPolicy, post_kind,
};
use pinline_sandbox::{SandboxConfig, SandboxHandle};
use pinline_store::testing::TestDatabase;
use pinline_store::{InsertOutcome, NewPost, PostAttemptRow, PostFilter, PostRow, backend_tests};
use pinline_vault::{Account, Vault, VaultSettings};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

backend_tests!(
    two_hundred_posts_for_four_accounts_publish_exactly_once,
    a_rate_limited_backlog_publishes_at_the_allowed_rate,
    dropped_connections_after_create_never_duplicate_a_pin,
    a_revoked_account_is_held_then_resumes_canary_first,
    held_posts_of_a_usable_account_are_released_without_an_event,
    scheduled_posts_publish_within_a_second_of_their_time,
    a_deleted_board_fails_the_post_without_retries,
    a_long_retry_after_requeues_posts_instead_of_holding_slots,
    two_thousand_posts_for_twenty_accounts_publish_at_the_allowed_rate,
    an_unknown_outcome_is_adopted_deep_in_a_busy_board,
    a_board_too_busy_to_search_fails_the_post_instead_of_resending,
    a_create_is_not_sent_once_the_lease_ran_out_waiting_for_a_token,
    an_idle_publisher_does_not_claim_in_a_loop,
    a_post_accepted_for_now_starts_promptly_after_wake,
    an_idle_publisher_claims_a_scheduled_post_once_it_falls_due,
);

const PUBLIC_URL: &str = "http://127.0.0.1:9";

struct Harness {
    sandbox: SandboxHandle,
    db: TestDatabase,
    clock: Arc<OffsetClock>,
    vault: Vault,
    http: reqwest::Client,
    profile_id: String,
}

async fn harness(db: TestDatabase, mut config: SandboxConfig) -> Harness {
    config.auto_approve = true;
    let sandbox = pinline_sandbox::spawn(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("sandbox starts");
    let keys = Arc::new(KeyRing::new(&MasterKey::generate(), &[]));
    let clock = Arc::new(OffsetClock::new());
    let sandbox_config = sandbox.config();
    let client = PinterestClient::new(
        Environment::custom(&sandbox.base_url(), &sandbox.oauth_url()).expect("sandbox URLs"),
        ClientId::new(sandbox_config.client_id.clone()),
        ClientSecret::new(sandbox_config.client_secret.clone()),
    )
    .expect("client");
    let mut settings = VaultSettings::new(PUBLIC_URL);
    settings.transient_backoff = Duration::from_millis(5);
    let vault = Vault::new(db.store.clone(), keys, clock.clone(), client, settings);
    let profile = db
        .store
        .profile_by_name_or_create("default", "profile-1", 0)
        .await
        .expect("profile");
    Harness {
        sandbox,
        db,
        clock,
        vault,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        profile_id: profile.id,
    }
}

impl Harness {
    /// A worker pacing `org_write` at `writes_per_sec` per user, retrying quickly.
    fn publisher(&self, writes_per_sec: u32, settings: PublisherSettings) -> Publisher {
        let lease = QueueSettings::new("default").lease;
        self.publisher_with_lease(writes_per_sec, settings, lease)
    }

    /// The same worker with a lease of `lease`.
    fn publisher_with_lease(
        &self,
        writes_per_sec: u32,
        settings: PublisherSettings,
        lease: Duration,
    ) -> Publisher {
        let mut queue_settings = QueueSettings::new(uuid::Uuid::new_v4().to_string());
        queue_settings.lease = lease;
        queue_settings.retry = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            max_attempts: 8,
        };
        let pacer = PacerSettings {
            rates: HashMap::from([
                (
                    RateLimitCategory::OrgWrite,
                    Rate::per_second(writes_per_sec),
                ),
                (RateLimitCategory::OrgRead, Rate::per_second(100)),
            ]),
            default_rate: Rate::per_second(100),
            share: 1.0,
        };
        // As `pinline serve` sets it: an account is claimed no faster than its budget.
        queue_settings.account_spacing = pacer.spacing(RateLimitCategory::OrgWrite);
        let queue = Queue::new(self.db.store.clone(), self.clock.clone(), queue_settings);
        Publisher::new(
            queue,
            self.vault.clone(),
            Arc::new(Pacer::new(pacer, self.clock.clone())),
            self.db.store.clone(),
            settings,
        )
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_sandbox{path}", self.sandbox.base_url()))
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

    /// Connects (or reconnects) the sandbox user `username`: the sandbox approves at once and
    /// redirects to the callback, whose parameters complete the connect.
    async fn connect(&self, username: &str) -> Account {
        let start = self
            .vault
            .begin_connect(&self.profile_id, None)
            .await
            .expect("begin connect");
        let mut url = start.authorize_url.clone();
        url.query_pairs_mut().append_pair("sandbox_user", username);
        let reply = self.http.get(url).send().await.expect("authorize");
        assert!(
            reply.status().is_redirection(),
            "auto-approve redirects: {}",
            reply.status()
        );
        let location = reply
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Location");
        let location = url::Url::parse(location).expect("redirect URL");
        let param = |name: &str| {
            location
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("callback parameter {name} in {location}"))
        };
        self.vault
            .complete_connect(
                &param("state"),
                Some(AuthorizationCode::new(param("code"))),
                None,
            )
            .await
            .expect("connect completes")
            .account
    }

    async fn board(&self, account_id: &str, name: &str) -> String {
        let board = BoardCreate::new(name);
        let board = &board;
        self.vault
            .call(account_id, move |client, token| async move {
                client.create_board(&token, board).await
            })
            .await
            .expect("board created")
            .value
            .id
    }

    async fn submit(
        &self,
        account_id: &str,
        board_id: &str,
        title: &str,
        publish_at: Option<i64>,
    ) -> PostRow {
        let post = NewPost {
            profile_id: self.profile_id.clone(),
            account_id: account_id.to_owned(),
            board_id: board_id.to_owned(),
            title: Some(title.to_owned()),
            description: Some(format!("About {title}")),
            link: Some(format!(
                "https://shop.example/item/{}",
                title.replace(' ', "-")
            )),
            media: json!({
                "source_type": "image_url",
                "url": format!("https://cdn.example/{}.jpg", title.replace(' ', "-")),
            })
            .to_string(),
            publish_at,
            ..NewPost::default()
        };
        match self
            .db
            .store
            .insert_post(&post, self.clock.now_ms())
            .await
            .expect("insert")
        {
            InsertOutcome::Created(row) => row,
            other => panic!("expected a new post, got {other:?}"),
        }
    }

    /// Every post of an account (or all), oldest first.
    async fn posts(&self, account_id: Option<&str>) -> Vec<PostRow> {
        let filter = PostFilter {
            account_id: account_id.map(str::to_owned),
            ..PostFilter::default()
        };
        self.db
            .store
            .list_posts(&self.profile_id, &filter, None, 100_000)
            .await
            .expect("posts")
            .posts
    }

    async fn counts(&self) -> BTreeMap<String, i64> {
        self.db.store.post_counts_by_status().await.expect("counts")
    }

    /// Waits until `condition` holds for the post counts, failing after `timeout`.
    async fn wait_counts(
        &self,
        timeout: Duration,
        condition: impl Fn(&BTreeMap<String, i64>) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            let counts = self.counts().await;
            if condition(&counts) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?}; posts by status: {counts:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn count(counts: &BTreeMap<String, i64>, status: &str) -> i64 {
    counts.get(status).copied().unwrap_or(0)
}

/// The worker's `run` loop in a task.
struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start(publisher: &Publisher) -> Running {
    let (stop, shutdown) = watch::channel(false);
    let publisher = publisher.clone();
    let task = tokio::spawn(async move { publisher.run(shutdown).await });
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the worker stops")
            .expect("the worker does not panic");
    }
}

async fn next_event(events: &mut broadcast::Receiver<PostEvent>, timeout: Duration) -> PostEvent {
    tokio::time::timeout(timeout, events.recv())
        .await
        .expect("a post event in time")
        .expect("event stream open")
}

fn fast() -> PublisherSettings {
    PublisherSettings {
        idle_poll: Duration::from_millis(50),
        ..PublisherSettings::default()
    }
}

/// Four accounts with a board each and `per_account` posts each.
async fn four_accounts(h: &Harness, per_account: usize) -> Vec<(Account, String)> {
    let mut accounts = Vec::new();
    for n in 0..4 {
        let account = h.connect(&format!("maker{n}")).await;
        let board = h.board(&account.id, &format!("Board {n}")).await;
        for i in 0..per_account {
            h.submit(&account.id, &board, &format!("Pin {n} {i}"), None)
                .await;
        }
        accounts.push((account, board));
    }
    accounts
}

fn assert_distinct_pins(posts: &[PostRow]) {
    let pins: HashSet<&str> = posts
        .iter()
        .map(|post| {
            post.pin_id
                .as_deref()
                .expect("a published post has a pin id")
        })
        .collect();
    assert_eq!(pins.len(), posts.len(), "every post has its own pin");
    for post in posts {
        assert_eq!(post.status, PostRow::PUBLISHED, "{post:?}");
        let pin_id = post.pin_id.as_deref().expect("pin id");
        assert_eq!(
            post.pin_url.as_deref(),
            Some(format!("https://www.pinterest.com/pin/{pin_id}/").as_str())
        );
    }
}

async fn two_hundred_posts_for_four_accounts_publish_exactly_once(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let accounts = four_accounts(&h, 50).await;
    let publisher = h.publisher(100, fast());
    let mut events = publisher.subscribe();
    let started = Instant::now();
    let running = start(&publisher);
    h.wait_counts(Duration::from_secs(60), |c| {
        count(c, PostRow::PUBLISHED) == 200
    })
    .await;
    let elapsed = started.elapsed();
    running.stop().await;

    let stats = h.sandbox.stats();
    assert_eq!(stats.pins_created, 200, "each post created exactly once");
    for (account, _) in &accounts {
        assert_eq!(
            stats.pins_by_user.get(&account.pinterest_user_id),
            Some(&50)
        );
    }
    let posts = h.posts(None).await;
    assert_eq!(posts.len(), 200);
    assert_distinct_pins(&posts);
    assert!(posts.iter().all(|post| post.attempts == 1));
    let mut published = 0;
    while let Ok(event) = events.try_recv() {
        assert_eq!(event.kind, post_kind::PUBLISHED);
        published += 1;
    }
    assert_eq!(published, 200, "one post.published event per post");
    eprintln!("200 posts, 4 accounts: {elapsed:?}");
}

async fn a_rate_limited_backlog_publishes_at_the_allowed_rate(db: TestDatabase) {
    let config = SandboxConfig {
        rates: vec![(
            RateLimitCategory::OrgWrite,
            pinline_sandbox::Rate {
                count: 20,
                per: Duration::from_secs(1),
            },
        )],
        ..SandboxConfig::default()
    };
    let h = harness(db, config).await;
    let account = h.connect("busy").await;
    let board = h.board(&account.id, "Backlog").await;
    for i in 0..100 {
        h.submit(&account.id, &board, &format!("Backlog {i}"), None)
            .await;
    }
    let publisher = h.publisher(20, fast());
    let started = Instant::now();
    let running = start(&publisher);
    h.wait_counts(Duration::from_secs(20), |c| {
        count(c, PostRow::PUBLISHED) == 100
    })
    .await;
    let elapsed = started.elapsed();
    running.stop().await;

    let stats = h.sandbox.stats();
    assert_eq!(stats.pins_created, 100);
    assert!(
        stats.responses_429 <= 2,
        "429s: {} (pacing should avoid them)",
        stats.responses_429
    );
    let posts = h.posts(None).await;
    assert_distinct_pins(&posts);
    let times: Vec<i64> = posts
        .iter()
        .map(|post| post.published_at.expect("published_at"))
        .collect();
    let span_ms = times.iter().max().expect("times") - times.iter().min().expect("times");
    // 100 pins at 20/s: 99 intervals of 50 ms between the first and the last.
    let achieved = 99.0 * 1000.0 / span_ms.max(1) as f64;
    let overall = 100.0 / elapsed.as_secs_f64();
    eprintln!(
        "rate: achieved {achieved:.2}/s between first and last pin ({:.3} of 20/s), \
         {overall:.2}/s wall clock incl. start-up; 429s: {}",
        achieved / 20.0,
        stats.responses_429
    );
    // Faster than allowed is a pacing bug; slower is also a loaded machine (see the 2,000-post
    // test below), so only a gross shortfall fails.
    assert!(
        achieved / 20.0 <= 1.10,
        "achieved {achieved:.2}/s, allowed 20/s: faster than Pinterest allows"
    );
    assert!(
        achieved / 20.0 >= 0.75,
        "achieved {achieved:.2}/s, allowed 20/s: far below what the budget allows"
    );
}

async fn dropped_connections_after_create_never_duplicate_a_pin(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    four_accounts(&h, 50).await;
    h.control(
        "/faults",
        json!({ "seed": 42, "rules": [
            { "operation": "pins/create", "kind": "drop_after_create", "share": 0.05 }
        ]}),
    )
    .await;
    let publisher = h.publisher(100, fast());
    let running = start(&publisher);
    h.wait_counts(Duration::from_secs(90), |c| {
        count(c, PostRow::PUBLISHED) == 200
    })
    .await;
    running.stop().await;

    let stats = h.sandbox.stats();
    assert!(stats.faults_injected > 0, "some connections were dropped");
    assert_eq!(
        stats.pins_created, 200,
        "zero duplicates: a dropped create is adopted, not sent again"
    );
    let posts = h.posts(None).await;
    assert_distinct_pins(&posts);
    let mut adopted = 0;
    for post in posts.iter().filter(|p| p.outcome_unknown_since.is_some()) {
        let attempts = h.db.store.post_attempts(&post.id).await.expect("attempts");
        let last = attempts.last().expect("an attempt");
        assert_eq!(
            last.outcome.as_deref(),
            Some(PostAttemptRow::ADOPTED),
            "{attempts:?}"
        );
        adopted += 1;
    }
    assert_eq!(
        adopted as u64, stats.faults_injected,
        "every dropped create was adopted"
    );
    eprintln!(
        "dropped connections: {} faults, {adopted} adopted",
        stats.faults_injected
    );
}

async fn a_revoked_account_is_held_then_resumes_canary_first(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let revoked = h.connect("revoked").await;
    let healthy = h.connect("healthy").await;
    let revoked_board = h.board(&revoked.id, "Revoked board").await;
    let healthy_board = h.board(&healthy.id, "Healthy board").await;
    for i in 0..10 {
        h.submit(&revoked.id, &revoked_board, &format!("R {i}"), None)
            .await;
        h.submit(&healthy.id, &healthy_board, &format!("H {i}"), None)
            .await;
    }
    h.control(
        &format!("/users/{}/revoke", revoked.pinterest_user_id),
        json!({}),
    )
    .await;

    let publisher = h.publisher(100, fast());
    let running = start(&publisher);
    h.wait_counts(Duration::from_secs(30), |c| {
        count(c, PostRow::PUBLISHED) == 10 && count(c, PostRow::HELD) == 10
    })
    .await;
    let held = h.posts(Some(&revoked.id)).await;
    assert!(held.iter().all(|post| post.status == PostRow::HELD));
    assert!(held.iter().all(|post| post.held_reason.is_some()));
    let account = h
        .vault
        .account(&h.profile_id, &revoked.id)
        .await
        .expect("account");
    assert_eq!(account.status, pinline_vault::AccountStatus::NeedsReauth);
    assert!(
        h.posts(Some(&healthy.id))
            .await
            .iter()
            .all(|p| p.status == PostRow::PUBLISHED)
    );

    // Reconnect: the worker hears `account.connected`, a canary goes first, then the rest.
    let reconnected = h.connect("revoked").await;
    assert_eq!(reconnected.id, revoked.id, "reconnected in place");
    h.wait_counts(Duration::from_secs(30), |c| {
        count(c, PostRow::PUBLISHED) == 20
    })
    .await;
    running.stop().await;

    let posts = h.posts(Some(&revoked.id)).await;
    let canaries: Vec<&PostRow> = posts.iter().filter(|post| post.canary).collect();
    assert_eq!(canaries.len(), 1, "one canary");
    let canary_at = canaries[0].published_at.expect("canary published");
    for post in &posts {
        let at = post.published_at.expect("published");
        if !post.canary {
            assert!(
                at >= canary_at,
                "the canary publishes first: canary at {canary_at}, post at {at}"
            );
        }
    }
    assert_distinct_pins(&posts);
    assert_eq!(h.sandbox.stats().pins_created, 20);
}

async fn scheduled_posts_publish_within_a_second_of_their_time(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let account = h.connect("scheduler").await;
    let board = h.board(&account.id, "Later").await;
    let publisher = h.publisher(100, PublisherSettings::default());
    let mut events = publisher.subscribe();
    let running = start(&publisher);
    let publish_at = h.clock.now_ms() + 1_500;
    for i in 0..5 {
        h.submit(&account.id, &board, &format!("Later {i}"), Some(publish_at))
            .await;
    }
    // As the API does after accepting a post: the worker learns the new due time at once
    // instead of at its next idle look (seconds away with the default settings).
    publisher.wake();
    for _ in 0..5 {
        let event = next_event(&mut events, Duration::from_secs(5)).await;
        assert_eq!(event.kind, post_kind::PUBLISHED);
    }
    running.stop().await;
    let mut worst = 0;
    for post in h.posts(None).await {
        let at = post.published_at.expect("published");
        let lag = at - publish_at;
        assert!(lag >= 0, "not before its time: {lag} ms");
        assert!(lag < 1_000, "within a second of publish_at: {lag} ms");
        worst = worst.max(lag);
    }
    eprintln!("scheduled: worst lag {worst} ms after publish_at");
}

async fn a_deleted_board_fails_the_post_without_retries(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let account = h.connect("tidy").await;
    let board = h.board(&account.id, "Gone soon").await;
    let post = h.submit(&account.id, &board, "Orphan", None).await;
    let board_ref = board.as_str();
    h.vault
        .call(&account.id, move |client, token| async move {
            client.delete_board(&token, board_ref).await
        })
        .await
        .expect("board deleted");

    let publisher = h.publisher(100, fast());
    let mut events = publisher.subscribe();
    assert_eq!(publisher.run_once().await, 1);
    let event = next_event(&mut events, Duration::from_secs(5)).await;
    assert_eq!(event.kind, post_kind::FAILED);
    assert_eq!(event.post_id, post.id);
    assert_eq!(event.error_class.as_deref(), Some("not_found"));

    let failed =
        h.db.store
            .post_by_id(&post.id)
            .await
            .expect("read")
            .expect("post");
    assert_eq!(failed.status, PostRow::FAILED);
    assert_eq!(failed.last_error_class.as_deref(), Some("not_found"));
    assert_eq!(failed.attempts, 1);
    // Not retried: nothing is due any more.
    assert_eq!(publisher.run_once().await, 0);
    assert_eq!(h.sandbox.stats().pins_created, 0);
}

async fn a_long_retry_after_requeues_posts_instead_of_holding_slots(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let account = h.connect("throttled").await;
    let board = h.board(&account.id, "Throttled").await;
    for i in 0..4 {
        h.submit(&account.id, &board, &format!("Throttled {i}"), None)
            .await;
    }
    h.control(
        "/faults",
        json!({ "rules": [
            { "operation": "pins/create", "kind": "rate_limit", "retry_after_secs": 30, "count": 1 }
        ]}),
    )
    .await;
    let publisher = h.publisher(20, fast());
    let t0 = h.clock.now_ms();
    let started = Instant::now();
    assert_eq!(publisher.run_once().await, 4);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "nobody slept through the 30 s Retry-After: {:?}",
        started.elapsed()
    );
    let stats = h.sandbox.stats();
    assert_eq!(stats.responses_429, 1);
    let waiting: Vec<PostRow> = h
        .posts(None)
        .await
        .into_iter()
        .filter(|post| post.status == PostRow::QUEUED)
        .collect();
    assert!(!waiting.is_empty(), "at least the refused post waits");
    assert_eq!(waiting.len() as u64 + stats.pins_created, 4);
    for post in &waiting {
        assert_eq!(post.last_error_class.as_deref(), Some("rate_limited"));
        assert!(
            post.next_attempt_at >= t0 + 25_000,
            "waits for Retry-After: {} ms",
            post.next_attempt_at - t0
        );
    }
}

/// The load case: 2,000 posts over 20 accounts with the sandbox limiting `org_write`
/// per user; all publish, 429s stay near zero and each account runs within 5% of its rate.
async fn two_thousand_posts_for_twenty_accounts_publish_at_the_allowed_rate(db: TestDatabase) {
    const ACCOUNTS: usize = 20;
    const PER_ACCOUNT: usize = 100;
    const RATE: u32 = 5;
    let config = SandboxConfig {
        rates: vec![(
            RateLimitCategory::OrgWrite,
            pinline_sandbox::Rate {
                count: RATE,
                per: Duration::from_secs(1),
            },
        )],
        ..SandboxConfig::default()
    };
    let h = harness(db, config).await;
    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        let account = h.connect(&format!("load{n}")).await;
        let board = h.board(&account.id, &format!("Load {n}")).await;
        accounts.push((account, board));
    }
    for i in 0..PER_ACCOUNT {
        for (account, board) in &accounts {
            h.submit(&account.id, board, &format!("Load {i}"), None)
                .await;
        }
    }
    let publisher = h.publisher(
        RATE,
        PublisherSettings {
            concurrency: 64,
            ..fast()
        },
    );
    let running = start(&publisher);
    h.wait_counts(Duration::from_secs(90), |c| {
        count(c, PostRow::PUBLISHED) == (ACCOUNTS * PER_ACCOUNT) as i64
    })
    .await;
    running.stop().await;

    let stats = h.sandbox.stats();
    assert_eq!(stats.pins_created, (ACCOUNTS * PER_ACCOUNT) as u64);
    let posts = h.posts(None).await;
    assert_distinct_pins(&posts);
    let mut worst: f64 = 1.0;
    let mut sum = 0.0;
    for (account, _) in &accounts {
        let times: Vec<i64> = posts
            .iter()
            .filter(|post| post.account_id == account.id)
            .map(|post| post.published_at.expect("published_at"))
            .collect();
        let span = times.iter().max().expect("times") - times.iter().min().expect("times");
        let achieved = (times.len() - 1) as f64 * 1000.0 / span.max(1) as f64;
        let ratio = achieved / f64::from(RATE);
        sum += ratio;
        worst = if (ratio - 1.0).abs() > (worst - 1.0).abs() {
            ratio
        } else {
            worst
        };
    }
    let share_429 = stats.responses_429 as f64 / stats.requests_total.max(1) as f64;
    eprintln!(
        "2,000 posts / 20 accounts at {RATE}/s each: mean achieved/allowed {:.3}, worst {worst:.3}, \
         429s {} ({:.3}% of requests)",
        sum / ACCOUNTS as f64,
        stats.responses_429,
        share_429 * 100.0
    );
    // Faster than allowed is a pacing bug, whatever the machine; slower is also what a loaded
    // machine does (throughput is measured by `pinline bench`, not here), so only a gross
    // shortfall fails.
    assert!(
        worst <= 1.05,
        "an account ran at {worst:.3} of its allowed rate: faster than Pinterest allows"
    );
    assert!(
        worst >= 0.80,
        "an account ran at {worst:.3} of its allowed rate: far below what the budget allows"
    );
    assert!(stats.responses_429 <= 10, "429s: {}", stats.responses_429);
}

/// One post whose create is dropped, then `others` pins land on the board before the retry.
async fn unknown_outcome_then_busy_board(
    h: &Harness,
    publisher: &Publisher,
    others: usize,
) -> PostRow {
    let account = h.connect("busy").await;
    let board = h.board(&account.id, "Busy").await;
    let post = h.submit(&account.id, &board, "Deep pin", None).await;
    h.control(
        "/faults",
        json!({ "rules": [
            { "operation": "pins/create", "kind": "drop_after_create", "count": 1 }
        ]}),
    )
    .await;
    assert_eq!(publisher.run_once().await, 1);
    let unknown = h.posts(None).await.remove(0);
    assert!(unknown.outcome_unknown_since.is_some(), "{unknown:?}");
    // Other pins (another tool, another post) land on the board before the retry.
    for i in 0..others {
        let pin = pinline_pinterest::PinCreate::new(
            board.clone(),
            serde_json::from_value(json!({
                "source_type": "image_url", "url": format!("https://cdn.example/other-{i}.jpg")
            }))
            .expect("media"),
        );
        let pin = &pin;
        h.vault
            .call(&account.id, move |client, token| async move {
                client.create_pin(&token, pin).await
            })
            .await
            .expect("another pin");
    }
    // Past the retry backoff.
    h.clock.advance(Duration::from_secs(5));
    post
}

async fn an_unknown_outcome_is_adopted_deep_in_a_busy_board(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let publisher = h.publisher(10_000, fast());
    let post = unknown_outcome_then_busy_board(&h, &publisher, 600).await;
    assert_eq!(publisher.run_once().await, 1);
    let done = h.posts(None).await.remove(0);
    assert_eq!(done.id, post.id);
    assert_eq!(done.status, PostRow::PUBLISHED, "{done:?}");
    assert_eq!(
        h.sandbox.stats().pins_created,
        601,
        "the dropped create was found behind 600 newer pins, not sent again"
    );
    let attempts = h.db.store.post_attempts(&post.id).await.expect("attempts");
    assert_eq!(
        attempts.last().and_then(|a| a.outcome.as_deref()),
        Some(PostAttemptRow::ADOPTED)
    );
}

async fn a_board_too_busy_to_search_fails_the_post_instead_of_resending(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let publisher = h.publisher(
        10_000,
        PublisherSettings {
            adopt_pages: 2,
            adopt_page_size: 10,
            ..fast()
        },
    );
    unknown_outcome_then_busy_board(&h, &publisher, 30).await;
    assert_eq!(publisher.run_once().await, 1);
    let done = h.posts(None).await.remove(0);
    assert_eq!(done.status, PostRow::FAILED, "{done:?}");
    assert_eq!(
        done.last_error_class.as_deref(),
        Some("unknown"),
        "{done:?}"
    );
    assert!(
        done.last_error_message
            .as_deref()
            .is_some_and(|m| m.contains("check the board")),
        "{done:?}"
    );
    assert_eq!(h.sandbox.stats().pins_created, 31, "nothing sent twice");
}

async fn a_create_is_not_sent_once_the_lease_ran_out_waiting_for_a_token(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let account = h.connect("slow").await;
    let board = h.board(&account.id, "Slow").await;
    h.submit(&account.id, &board, "Late pin", None).await;
    // By the time the post is claimed its access token has expired, and the refresh takes
    // longer than the whole lease.
    h.clock.advance(Duration::from_secs(40 * 86_400));
    h.control(
        "/faults",
        json!({ "rules": [
            { "operation": "oauth/token", "kind": "delay", "delay_ms": 1500, "count": 1 }
        ]}),
    )
    .await;
    let publisher = h.publisher_with_lease(10_000, fast(), Duration::from_millis(900));
    assert_eq!(publisher.run_once().await, 1);
    assert_eq!(
        h.sandbox.stats().pins_created,
        0,
        "the lease ran out while the token was refreshed: nothing may be sent"
    );
    let post = h.posts(None).await.remove(0);
    assert_ne!(post.status, PostRow::PUBLISHED, "{post:?}");
    assert_ne!(post.status, PostRow::FAILED, "{post:?}");
    assert!(
        post.last_error_message
            .as_deref()
            .is_some_and(|m| m.contains("deadline")),
        "{post:?}"
    );

    // The next attempt, with the fresh token, publishes it once.
    h.clock.advance(Duration::from_secs(5));
    assert_eq!(publisher.run_once().await, 1);
    let post = h.posts(None).await.remove(0);
    assert_eq!(post.status, PostRow::PUBLISHED, "{post:?}");
    assert_eq!(h.sandbox.stats().pins_created, 1);
}

/// Posts held while their account is usable and no reconnect event will come (it went to a
/// replica that stopped): the worker's sweep releases a canary within seconds anyway.
async fn held_posts_of_a_usable_account_are_released_without_an_event(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let account = h.connect("maker").await;
    let board = h.board(&account.id, "Board").await;
    let publisher = h.publisher(100, fast());
    let running = start(&publisher);
    // One post published first: the worker is past its start-up release when the hold lands.
    h.submit(&account.id, &board, "Warm-up", None).await;
    h.wait_counts(Duration::from_secs(15), |c| {
        count(c, PostRow::PUBLISHED) == 1
    })
    .await;
    // Scheduled an hour out, so nothing publishes until the posts are released.
    let later = h.clock.now_ms() + 3_600_000;
    for i in 0..3 {
        h.submit(&account.id, &board, &format!("Held {i}"), Some(later))
            .await;
    }
    let held =
        h.db.store
            .hold_account_posts(
                &account.id,
                "auth",
                "held by a replica that then stopped",
                h.clock.now_ms(),
            )
            .await
            .expect("hold");
    assert_eq!(held, 3);
    // The canary goes at once (a release makes it due now); the others keep their time.
    h.wait_counts(Duration::from_secs(15), |c| {
        count(c, PostRow::PUBLISHED) == 2 && count(c, PostRow::QUEUED) == 2
    })
    .await;
    running.stop().await;
    let posts = h.posts(Some(&account.id)).await;
    let released: Vec<&PostRow> = posts
        .iter()
        .filter(|post| {
            post.status == PostRow::PUBLISHED && post.title.as_deref() != Some("Warm-up")
        })
        .collect();
    assert_eq!(released.len(), 1);
    assert!(released[0].canary, "the released post went as a canary");
}

/// Waits until the worker's counters satisfy `condition`, failing after `timeout`.
async fn wait_stats(
    publisher: &Publisher,
    timeout: Duration,
    condition: impl Fn(&PublisherStats) -> bool,
) -> PublisherStats {
    let deadline = Instant::now() + timeout;
    loop {
        let stats = publisher.stats();
        if condition(&stats) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}; worker stats: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The idle poll of the tests below: a minute of the default 5 s poll is twelve looks, which
/// these tests play at this pace.
const SCALED_IDLE_POLL: Duration = Duration::from_millis(100);
const LOOKS_PER_MINUTE: u64 = 12;

async fn an_idle_publisher_does_not_claim_in_a_loop(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let account = h.connect("idler").await;
    let board = h.board(&account.id, "Quiet").await;
    // Something queued, but not due for an hour: the queue is not empty, and nothing is due.
    let later = h.clock.now_ms() + 3_600_000;
    h.submit(&account.id, &board, "Much later", Some(later))
        .await;
    let publisher = h.publisher(
        100,
        PublisherSettings {
            idle_poll: SCALED_IDLE_POLL,
            ..PublisherSettings::default()
        },
    );
    let running = start(&publisher);
    let started = Instant::now();
    // A simulated minute: as many idle looks as the default poll makes in one.
    // (A spinning loop ends the wait early, with its claims counted, to fail below.)
    let stats = wait_stats(&publisher, Duration::from_secs(20), |stats| {
        stats.due_checks > LOOKS_PER_MINUTE || stats.claims > 100
    })
    .await;
    let elapsed = started.elapsed();
    eprintln!("idle for {elapsed:?} ({LOOKS_PER_MINUTE} looks): {stats:?}");
    // The start-up claim; a spinning loop makes thousands.
    assert!(
        stats.claims <= 2,
        "an idle worker claims at most a handful of times a minute: {stats:?}"
    );
    assert_eq!(
        stats.claims, stats.empty_claims,
        "nothing was due: {stats:?}"
    );
    // The looks are paced by the idle poll (less the first one, right after the start-up
    // claim), not run back to back.
    let paced = SCALED_IDLE_POLL * u32::try_from(LOOKS_PER_MINUTE - 1).expect("small");
    assert!(
        elapsed >= paced,
        "{LOOKS_PER_MINUTE} looks took only {elapsed:?}: the idle loop does not wait"
    );
    assert_eq!(count(&h.counts().await, PostRow::QUEUED), 1);
    assert_eq!(h.sandbox.stats().pins_created, 0);

    // An hour later by the worker's clock, the next look finds the post due and claims it.
    let mut events = publisher.subscribe();
    h.clock.advance(Duration::from_secs(3_600));
    let event = next_event(&mut events, Duration::from_secs(10)).await;
    assert_eq!(event.kind, post_kind::PUBLISHED);
    let after = publisher.stats();
    running.stop().await;
    // The claim that found it and the one after it that found nothing.
    assert!(after.claims - stats.claims <= 2, "{stats:?} → {after:?}");
}

async fn a_post_accepted_for_now_starts_promptly_after_wake(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let account = h.connect("prompt").await;
    let board = h.board(&account.id, "Now").await;
    // An idle poll far longer than the bound below: only the wake-up can explain a prompt start.
    let publisher = h.publisher(
        100,
        PublisherSettings {
            idle_poll: Duration::from_secs(60),
            ..PublisherSettings::default()
        },
    );
    let mut events = publisher.subscribe();
    let running = start(&publisher);
    // Settled: the start-up claim found nothing and the worker looked up the next due time.
    wait_stats(&publisher, Duration::from_secs(10), |stats| {
        stats.empty_claims >= 1 && stats.due_checks >= 1
    })
    .await;
    let mut worst = Duration::ZERO;
    for i in 0..3 {
        let accepted = Instant::now();
        let post = h
            .submit(&account.id, &board, &format!("Right now {i}"), None)
            .await;
        publisher.wake();
        let event = next_event(&mut events, Duration::from_secs(10)).await;
        let latency = accepted.elapsed();
        assert_eq!(
            (event.kind, event.post_id.as_str()),
            (post_kind::PUBLISHED, post.id.as_str())
        );
        eprintln!("accepted for now → published in {latency:?}");
        worst = worst.max(latency);
    }
    let stats = publisher.stats();
    running.stop().await;
    // Generous for a shared CI machine; the idle poll is a minute.
    assert!(
        worst < Duration::from_secs(2),
        "a woken worker starts at once: {worst:?}"
    );
    // Each wake-up is one claim that finds the post and one that finds nothing after it, plus
    // one when the post came within the account's budget interval of its previous claim (the
    // claim then finds the account not yet due, and the worker sleeps until it is).
    assert!(stats.claims <= 1 + 3 * 3, "{stats:?}");
}

async fn an_idle_publisher_claims_a_scheduled_post_once_it_falls_due(db: TestDatabase) {
    let h = harness(db, SandboxConfig::default()).await;
    let account = h.connect("punctual").await;
    let board = h.board(&account.id, "Soon").await;
    let publisher = h.publisher(
        100,
        PublisherSettings {
            idle_poll: Duration::from_secs(60),
            ..PublisherSettings::default()
        },
    );
    let mut events = publisher.subscribe();
    let running = start(&publisher);
    wait_stats(&publisher, Duration::from_secs(10), |stats| {
        stats.due_checks >= 1
    })
    .await;
    // Scheduled, and the worker told: it sleeps until the post's time, not the idle poll.
    let publish_at = h.clock.now_ms() + 700;
    let post = h
        .submit(&account.id, &board, "On the dot", Some(publish_at))
        .await;
    publisher.wake();
    let event = next_event(&mut events, Duration::from_secs(10)).await;
    assert_eq!(event.post_id, post.id);
    let stats = publisher.stats();
    running.stop().await;
    let published =
        h.db.store
            .post_by_id(&post.id)
            .await
            .expect("read")
            .expect("post");
    let lag = published.published_at.expect("published") - publish_at;
    eprintln!("scheduled post published {lag} ms after its time; {stats:?}");
    assert!((0..1_000).contains(&lag), "on time: {lag} ms");
    // Start-up claim, the wake-up's empty claim, the claim at the due time and the empty one
    // after it; nothing in between.
    assert!(stats.claims <= 5, "{stats:?}");
}
