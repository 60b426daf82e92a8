//! The post queue's storage, run on SQLite and on PostgreSQL.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use pinline_core::clock::OffsetClock;
use pinline_pinterest::ErrorClass;
use pinline_queue::{Decision, Queue, QueueSettings};
use pinline_store::testing::TestDatabase;
use pinline_store::{
    ClaimRequest, ClaimedPost, Completion, ConnectedAccount, DatabaseLocation, InsertOutcome,
    NewPost, PostAttemptRow, PostChange, PostChanges, PostFilter, PostRow, PublishedPost,
    SealedTokens, Store, backend_tests,
};

backend_tests!(
    an_idempotency_key_returns_the_same_post_or_a_conflict,
    racing_claimers_never_claim_a_post_twice,
    an_expired_lease_is_taken_over_and_the_old_owner_is_fenced_out,
    one_busy_account_cannot_starve_another,
    held_posts_resume_after_their_canary,
    cursor_pages_return_every_post_once_in_order,
    retries_wait_and_only_unstarted_posts_change,
    an_unknown_outcome_is_recorded_and_retried_later,
    each_account_offers_only_its_oldest_due_posts_to_a_claim,
    published_posts_written_in_one_batch_are_fenced_one_by_one,
    concurrent_published_completions_all_land,
    a_claim_for_one_slot_goes_to_an_account_with_nothing_in_flight,
    the_next_claim_is_due_at_the_soonest_queued_post_or_lease,
    the_ready_queue_stays_true_through_every_change,
    posts_queued_while_claims_run_are_never_lost,
    a_deferred_account_is_not_claimed_until_its_budget_returns,
    spacing_keeps_an_account_back_for_each_post_taken,
    accounts_with_only_later_posts_cost_a_claim_nothing,
);

const T0: i64 = 1_750_000_000_000;
const LEASE: i64 = 60_000;

async fn profile(store: &Store) -> String {
    store
        .profile_by_name_or_create("default", &uuid::Uuid::now_v7().to_string(), T0)
        .await
        .expect("profile")
        .id
}

async fn account(store: &Store, profile_id: &str, user: &str) -> String {
    let connected = ConnectedAccount {
        profile_id,
        environment: "sandbox",
        client_id: "app",
        pinterest_user_id: user,
        username: user,
        scopes: "pins:write",
        access_expires_at: T0 + 3_600_000,
        refresh_expires_at: None,
    };
    store
        .upsert_connected_account(
            &connected,
            &uuid::Uuid::now_v7().to_string(),
            &[],
            T0,
            |_| SealedTokens {
                access: "v1.test.sealed-access".into(),
                refresh: Some("v1.test.sealed-refresh".into()),
            },
        )
        .await
        .expect("account")
}

fn new_post(profile_id: &str, account_id: &str, title: &str) -> NewPost {
    NewPost {
        profile_id: profile_id.into(),
        account_id: account_id.into(),
        board_id: "111".into(),
        title: Some(title.into()),
        link: Some("https://shop.example/item".into()),
        media: r#"{"source_type":"image_url","url":"https://cdn.example/a.jpg"}"#.into(),
        ..NewPost::default()
    }
}

async fn queue(store: &Store, post: &NewPost, now: i64) -> PostRow {
    match store.insert_post(post, now).await.expect("insert") {
        InsertOutcome::Created(row) => row,
        other => panic!("expected a new post, got {other:?}"),
    }
}

async fn claim(
    store: &Store,
    owner: &str,
    now: i64,
    limit: i64,
    per_account: i64,
) -> Vec<ClaimedPost> {
    store
        .claim_due_posts(owner, now, LEASE, limit, per_account)
        .await
        .expect("claim")
}

fn outcomes(attempts: &[PostAttemptRow]) -> Vec<Option<&str>> {
    attempts.iter().map(|a| a.outcome.as_deref()).collect()
}

async fn an_idempotency_key_returns_the_same_post_or_a_conflict(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let account = account(store, &profile, "1001").await;
    let mut post = new_post(&profile, &account, "Tart");
    post.idempotency_key = Some("key-1".into());
    post.request_hash = Some("hash-a".into());

    let created = queue(store, &post, T0).await;
    assert_eq!(created.status, PostRow::QUEUED);
    assert_eq!(created.next_attempt_at, T0);
    let again = store.insert_post(&post, T0 + 5).await.expect("replay");
    assert_eq!(again, InsertOutcome::Existing(created.clone()));

    post.request_hash = Some("hash-b".into());
    assert_eq!(
        store.insert_post(&post, T0 + 6).await.expect("conflict"),
        InsertOutcome::Conflict
    );

    // Another key, or no key at all, is a new post.
    post.idempotency_key = Some("key-2".into());
    queue(store, &post, T0).await;
    post.idempotency_key = None;
    queue(store, &post, T0).await;
    queue(store, &post, T0).await;
    assert_eq!(
        store.post_counts_by_status().await.expect("counts")["queued"],
        4
    );

    // Concurrent replays of one key agree on one post.
    let mut post = new_post(&profile, &account, "Race");
    post.idempotency_key = Some("key-race".into());
    post.request_hash = Some("h".into());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, post) = (store.clone(), post.clone());
        tasks.push(tokio::spawn(async move {
            store.insert_post(&post, T0).await.expect("insert")
        }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for task in tasks {
        match task.await.expect("task") {
            InsertOutcome::Created(row) => {
                created += 1;
                ids.insert(row.id);
            }
            InsertOutcome::Existing(row) => {
                ids.insert(row.id);
            }
            InsertOutcome::Conflict => panic!("same hash must not conflict"),
        }
    }
    assert_eq!((created, ids.len()), (1, 1));
}

async fn racing_claimers_never_claim_a_post_twice(db: TestDatabase) {
    let profile = profile(&db.store).await;
    let mut accounts = Vec::new();
    for user in ["1", "2", "3", "4", "5"] {
        accounts.push(account(&db.store, &profile, user).await);
    }
    for n in 0..500 {
        let post = new_post(&profile, &accounts[n % 5], &format!("post {n}"));
        queue(&db.store, &post, T0 + n as i64).await;
    }
    // A second pool on the same database stands in for a second process.
    let other = Store::open(&DatabaseLocation::parse(&db.url).expect("test URL"))
        .await
        .expect("second handle");
    let mut tasks = Vec::new();
    for (owner, store) in [("worker-a", db.store.clone()), ("worker-b", other.clone())] {
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = claim(&store, owner, T0 + 10_000, 25, 10).await;
                if batch.is_empty() {
                    let counts = store.post_counts_by_status().await.expect("counts");
                    if !counts.contains_key("queued") {
                        return mine;
                    }
                    tokio::task::yield_now().await;
                }
                for claimed in batch {
                    assert_eq!(claimed.fence, 1);
                    assert_eq!(claimed.post.lease_owner.as_deref(), Some(owner));
                    mine.push(claimed.post.id);
                }
            }
        }));
    }
    let mut all = Vec::new();
    let mut per_worker = Vec::new();
    for task in tasks {
        let mine = task.await.expect("claimer");
        per_worker.push(mine.len());
        all.extend(mine);
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 500, "claimed {per_worker:?}");
    assert_eq!(unique.len(), 500, "a post was claimed twice");
    let counts = db.store.post_counts_by_status().await.expect("counts");
    assert_eq!(counts.get("publishing"), Some(&500));
    other.close().await;
}

async fn an_expired_lease_is_taken_over_and_the_old_owner_is_fenced_out(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let account = account(store, &profile, "1001").await;
    let post = queue(store, &new_post(&profile, &account, "Tart"), T0).await;

    let first = claim(store, "old", T0, 10, 10).await;
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].fence, first[0].taken_over), (1, false));
    // A live lease is not taken.
    assert!(claim(store, "new", T0 + LEASE - 1, 10, 10).await.is_empty());

    let second = claim(store, "new", T0 + LEASE + 1, 10, 10).await;
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].fence, second[0].taken_over), (2, true));
    assert_eq!(second[0].post.attempts, 2);
    assert_eq!(second[0].post.first_attempt_at, Some(T0));

    let now = T0 + LEASE + 2;
    let stale = store
        .complete_published(&post.id, "old", 1, "900", None, false, now)
        .await
        .expect("stale completion");
    assert_eq!(stale, Completion::Fenced);
    // The right fence with the wrong owner is refused too, and so are the other completions.
    assert_eq!(
        store
            .complete_published(&post.id, "old", 2, "900", None, false, now)
            .await
            .expect("c"),
        Completion::Fenced
    );
    assert_eq!(
        store
            .fail_post(&post.id, "old", 1, "validation", "x", now)
            .await
            .expect("f"),
        Completion::Fenced
    );
    assert_eq!(
        store
            .extend_lease(&post.id, "old", 1, now + LEASE)
            .await
            .expect("e"),
        Completion::Fenced
    );
    assert_eq!(
        store
            .mark_outcome_unknown(&post.id, "old", 1, now)
            .await
            .expect("m"),
        Completion::Fenced
    );

    assert_eq!(
        store
            .extend_lease(&post.id, "new", 2, now + LEASE)
            .await
            .expect("e"),
        Completion::Applied
    );
    let done = store
        .complete_published(
            &post.id,
            "new",
            2,
            "901",
            Some("https://pin/901"),
            false,
            now,
        )
        .await
        .expect("completion");
    assert_eq!(done, Completion::Applied);
    // Once done, a repeat is refused rather than applied twice.
    assert_eq!(
        store
            .complete_published(&post.id, "new", 2, "902", None, false, now)
            .await
            .expect("c"),
        Completion::Fenced
    );

    let row = store
        .post(&profile, &post.id)
        .await
        .expect("read")
        .expect("post");
    assert_eq!(row.status, PostRow::PUBLISHED);
    assert_eq!(row.pin_id.as_deref(), Some("901"));
    assert_eq!(row.published_at, Some(now));
    assert_eq!(row.lease_owner, None);
    let attempts = store.post_attempts(&post.id).await.expect("attempts");
    assert_eq!(outcomes(&attempts), [Some("fenced_out"), Some("published")]);
    assert_eq!(attempts[0].lease_owner, "old");
    assert_eq!((attempts[1].attempt, attempts[1].fence), (2, 2));
    // Another profile cannot see it.
    assert_eq!(
        store.post("someone-else", &post.id).await.expect("read"),
        None
    );
}

async fn one_busy_account_cannot_starve_another(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let busy = account(store, &profile, "1").await;
    let quiet = account(store, &profile, "2").await;
    for n in 0..1_000 {
        queue(
            store,
            &new_post(&profile, &busy, &format!("busy {n}")),
            T0 + n,
        )
        .await;
    }
    // The quiet account's one post is the newest of all.
    let lonely = queue(store, &new_post(&profile, &quiet, "lonely"), T0 + 5_000).await;

    let batch = claim(store, "w", T0 + 10_000, 10, 4).await;
    let ids: Vec<&str> = batch.iter().map(|c| c.post.id.as_str()).collect();
    assert!(
        ids.contains(&lonely.id.as_str()),
        "the quiet account's post waits behind 1,000"
    );
    let from_busy: Vec<&ClaimedPost> = batch.iter().filter(|c| c.post.account_id == busy).collect();
    assert_eq!(
        from_busy.len(),
        4,
        "at most per_account_limit from one account"
    );
    // Within the busy account, oldest first.
    let titles: Vec<&str> = from_busy
        .iter()
        .filter_map(|c| c.post.title.as_deref())
        .collect();
    assert_eq!(titles, ["busy 0", "busy 1", "busy 2", "busy 3"]);
}

async fn held_posts_resume_after_their_canary(db: TestDatabase) {
    let clock = OffsetClock::new();
    let store = &db.store;
    let settings = QueueSettings {
        per_account_batch: 10,
        ..QueueSettings::new("w")
    };
    let q = Queue::new(store.clone(), Arc::new(clock.clone()), settings);
    let profile = profile(store).await;
    let other = account(store, &profile, "2").await;
    let account = account(store, &profile, "1").await;
    let now = q.now_ms();
    let mut posts = Vec::new();
    for n in 0..5 {
        posts.push(
            queue(
                store,
                &new_post(&profile, &account, &format!("p{n}")),
                now - 100 + n,
            )
            .await,
        );
    }
    let bystander = queue(store, &new_post(&profile, &other, "other"), now).await;

    // The first attempt meets a revoked token: that post and the account's others are held.
    let mut claimed = q.claim().await.expect("claim");
    assert_eq!(claimed.len(), 6);
    claimed.sort_by_key(|c| c.post.next_attempt_at);
    let first = &claimed[0];
    assert_eq!(first.post.id, posts[0].id);
    let hold = Decision::Hold {
        class: ErrorClass::Auth,
        message: "refresh token revoked".into(),
    };
    assert_eq!(
        q.apply(first, &hold).await.expect("hold"),
        Completion::Applied
    );
    for c in &claimed[1..5] {
        // The other in-flight posts of the account meet the same error.
        assert_eq!(q.apply(c, &hold).await.expect("hold"), Completion::Applied);
    }
    let bystander_claim = claimed
        .iter()
        .find(|c| c.post.id == bystander.id)
        .expect("bystander");
    assert_eq!(
        q.published(bystander_claim, "77", None, false)
            .await
            .expect("pub"),
        Completion::Applied
    );
    let row = store
        .post(&profile, &posts[2].id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (row.status.as_str(), row.held_reason.as_deref()),
        ("held", Some("refresh token revoked"))
    );
    // A held post says why, as a failed one does: its class and message.
    assert_eq!(
        (
            row.last_error_class.as_deref(),
            row.last_error_message.as_deref()
        ),
        (Some("auth"), Some("refresh token revoked"))
    );
    assert_eq!(
        outcomes(&store.post_attempts(&posts[0].id).await.expect("a")),
        [Some("held")]
    );

    // Queued posts are held by the account-wide hold as well.
    let late = queue(store, &new_post(&profile, &account, "late"), q.now_ms()).await;
    assert_eq!(
        q.hold_account(&account, ErrorClass::Auth, "needs reauth")
            .await
            .expect("hold"),
        1
    );
    assert!(q.claim().await.expect("claim").is_empty());
    assert_eq!(store.post_counts_by_status().await.expect("c")["held"], 6);

    // Reconnected: one canary, the oldest; asking again returns the same canary.
    let canary = q
        .release_canary(&account)
        .await
        .expect("canary")
        .expect("a held post");
    assert_eq!(canary, posts[0].id);
    assert_eq!(
        q.release_canary(&account).await.expect("canary"),
        Some(canary.clone())
    );
    assert_eq!(q.release_canary(&other).await.expect("none held"), None);
    let claimed = q.claim().await.expect("claim");
    assert_eq!(claimed.len(), 1, "only the canary goes");
    assert!(claimed[0].post.canary);
    assert_eq!(claimed[0].post.id, canary);
    // While it is publishing it is still the canary.
    assert_eq!(
        q.release_canary(&account).await.expect("canary"),
        Some(canary.clone())
    );
    assert_eq!(
        q.published(&claimed[0], "88", None, false)
            .await
            .expect("pub"),
        Completion::Applied
    );

    // The canary published. A sweep (or a second reconnect event) that asks for a canary before
    // the worker releases the account sends no second canary: the rest resume at once.
    assert_eq!(
        q.release_canary(&account).await.expect("after the canary"),
        None
    );
    assert_eq!(store.post_counts_by_status().await.expect("c")["queued"], 5);
    assert_eq!(q.release_account(&account).await.expect("release"), 0);
    let resumed = q.claim().await.expect("claim");
    let ids: BTreeSet<&str> = resumed.iter().map(|c| c.post.id.as_str()).collect();
    let expected: BTreeSet<&str> = posts[1..]
        .iter()
        .map(|p| p.id.as_str())
        .chain([late.id.as_str()])
        .collect();
    assert_eq!(ids, expected);
    assert!(
        resumed
            .iter()
            .all(|c| !c.post.canary && c.post.held_reason.is_none())
    );
}

async fn cursor_pages_return_every_post_once_in_order(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let a = account(store, &profile, "1").await;
    let b = account(store, &profile, "2").await;
    // Three posts share each `created_at`, so the id breaks ties.
    for n in 0..120 {
        let account = if n % 2 == 0 { &a } else { &b };
        queue(
            store,
            &new_post(&profile, account, &format!("p{n}")),
            T0 + n / 3,
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_posts(&profile, &PostFilter::default(), cursor.as_ref(), 7)
            .await
            .expect("page");
        pages += 1;
        // A post added mid-way (a later created_at) shows up at the end, never twice.
        if pages == 3 {
            queue(store, &new_post(&profile, &a, "added"), T0 + 1_000).await;
        }
        seen.extend(page.posts.into_iter().map(|p| (p.created_at, p.id)));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 121);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        seen, sorted,
        "pages are in (created_at, id) order with no repeats"
    );
    assert_eq!(pages, 18);

    let only_b = PostFilter {
        account_id: Some(b.clone()),
        ..PostFilter::default()
    };
    let page = store
        .list_posts(&profile, &only_b, None, 500)
        .await
        .expect("filtered");
    assert_eq!(page.posts.len(), 60);
    assert!(page.next.is_none());
    let window = PostFilter {
        from: Some(T0 + 10),
        to: Some(T0 + 20),
        ..PostFilter::default()
    };
    let page = store
        .list_posts(&profile, &window, None, 500)
        .await
        .expect("window");
    assert_eq!(page.posts.len(), 30);
    let published = PostFilter {
        status: Some("published".into()),
        ..PostFilter::default()
    };
    assert!(
        store
            .list_posts(&profile, &published, None, 10)
            .await
            .expect("none")
            .posts
            .is_empty()
    );
    assert!(
        store
            .list_posts("nobody", &PostFilter::default(), None, 10)
            .await
            .expect("x")
            .posts
            .is_empty()
    );
}

async fn retries_wait_and_only_unstarted_posts_change(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let account = account(store, &profile, "1").await;
    let mut scheduled = new_post(&profile, &account, "later");
    scheduled.publish_at = Some(T0 + 3_600_000);
    let later = queue(store, &scheduled, T0).await;
    assert_eq!(later.next_attempt_at, T0 + 3_600_000);
    let post = queue(store, &new_post(&profile, &account, "now"), T0).await;

    let claimed = claim(store, "w", T0, 10, 10).await;
    assert_eq!(claimed.len(), 1, "a scheduled post waits for its time");
    // Neither edits nor cancels touch a post being published.
    let edit = PostChanges {
        title: Some("edited".into()),
        ..PostChanges::default()
    };
    assert!(matches!(
        store
            .update_post(&profile, &post.id, &edit, T0)
            .await
            .expect("u"),
        PostChange::NotAllowed(_)
    ));
    assert!(matches!(
        store.cancel_post(&profile, &post.id, T0).await.expect("c"),
        PostChange::NotAllowed(_)
    ));

    let retry = store
        .schedule_retry(
            &post.id,
            "w",
            1,
            T0 + 30_000,
            "transient",
            "HTTP 503",
            T0 + 1,
        )
        .await
        .expect("retry");
    assert_eq!(retry, Completion::Applied);
    assert!(claim(store, "w", T0 + 29_999, 10, 10).await.is_empty());
    let row = store
        .post(&profile, &post.id)
        .await
        .expect("r")
        .expect("row");
    assert_eq!(
        (row.status.as_str(), row.last_error_class.as_deref()),
        ("queued", Some("transient"))
    );

    // Queued again: editable; a new schedule moves the next attempt.
    let edit = PostChanges {
        title: Some("edited".into()),
        publish_at: Some(T0 + 60_000),
        ..PostChanges::default()
    };
    let PostChange::Changed(row) = store
        .update_post(&profile, &post.id, &edit, T0 + 2)
        .await
        .expect("u")
    else {
        panic!("a queued post is editable");
    };
    assert_eq!(
        (row.title.as_deref(), row.next_attempt_at),
        (Some("edited"), T0 + 60_000)
    );
    assert_eq!(
        row.link.as_deref(),
        Some("https://shop.example/item"),
        "untouched fields stay"
    );
    let claimed = claim(store, "w", T0 + 60_000, 10, 10).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].fence, 2);
    assert_eq!(
        store
            .fail_post(
                &post.id,
                "w",
                2,
                "validation",
                "title too long",
                T0 + 60_001
            )
            .await
            .expect("f"),
        Completion::Applied
    );
    assert_eq!(
        outcomes(&store.post_attempts(&post.id).await.expect("a")),
        [Some("retry"), Some("failed")]
    );

    // Failed and queued posts can be canceled; canceling twice is fine; unknown ids are not found.
    assert!(
        matches!(store.cancel_post(&profile, &post.id, T0).await.expect("c"), PostChange::Changed(p) if p.status == "canceled")
    );
    assert!(matches!(
        store.cancel_post(&profile, &post.id, T0).await.expect("c"),
        PostChange::Changed(_)
    ));
    assert!(matches!(
        store.cancel_post(&profile, &later.id, T0).await.expect("c"),
        PostChange::Changed(_)
    ));
    assert_eq!(
        store.cancel_post(&profile, "missing", T0).await.expect("c"),
        PostChange::NotFound
    );
    assert!(claim(store, "w", T0 + 7_200_000, 10, 10).await.is_empty());
}

async fn an_unknown_outcome_is_recorded_and_retried_later(db: TestDatabase) {
    let clock = OffsetClock::new();
    let store = &db.store;
    let q = Queue::new(
        store.clone(),
        Arc::new(clock.clone()),
        QueueSettings::new("w"),
    );
    let profile = profile(store).await;
    let account = account(store, &profile, "1").await;
    let post = queue(store, &new_post(&profile, &account, "maybe"), q.now_ms()).await;
    let claimed = q.claim().await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let unknown = Decision::Unknown {
        message: "HTTP 502 on pins/create".into(),
    };
    assert_eq!(
        q.apply(&claimed[0], &unknown).await.expect("apply"),
        Completion::Applied
    );
    let row = store
        .post(&profile, &post.id)
        .await
        .expect("r")
        .expect("row");
    assert_eq!(row.status, PostRow::QUEUED);
    assert!(row.outcome_unknown_since.is_some());
    assert_eq!(row.last_error_class.as_deref(), Some("unknown"));
    // The same claim cannot act twice.
    assert_eq!(
        q.apply(&claimed[0], &unknown).await.expect("apply"),
        Completion::Fenced
    );

    // Later the reconciling attempt finds the pin and adopts it.
    clock.advance(std::time::Duration::from_secs(3600));
    let claimed = q.claim().await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert!(claimed[0].post.outcome_unknown_since.is_some());
    assert_eq!(
        q.published(&claimed[0], "555", None, true)
            .await
            .expect("adopt"),
        Completion::Applied
    );
    assert_eq!(
        outcomes(&store.post_attempts(&post.id).await.expect("a")),
        [Some("retry"), Some("adopted")]
    );
}

/// The claim reads each account's first few due posts instead of ranking the whole backlog: a
/// backlog of 2,000, scheduled posts and an expired lease do not change what it takes.
async fn each_account_offers_only_its_oldest_due_posts_to_a_claim(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let busy = account(store, &profile, "1").await;
    let scheduled = account(store, &profile, "2").await;
    let quiet = account(store, &profile, "3").await;
    let stalled = queue(store, &new_post(&profile, &busy, "stalled"), T0 - 1).await;
    assert_eq!(claim(store, "dead", T0, 1, 1).await.len(), 1);
    for n in 0..2_000 {
        queue(
            store,
            &new_post(&profile, &busy, &format!("busy {n}")),
            T0 + n,
        )
        .await;
    }
    for n in 0..3 {
        let mut later = new_post(&profile, &scheduled, &format!("later {n}"));
        later.publish_at = Some(T0 + 3_600_000);
        queue(store, &later, T0).await;
    }
    let due = queue(store, &new_post(&profile, &scheduled, "due"), T0 + 100).await;
    let lonely = queue(store, &new_post(&profile, &quiet, "lonely"), T0 + 5_000).await;

    // The lease of the stalled post has expired by now.
    let now = T0 + LEASE + 10_000;
    let batch = claim(store, "w", now, 6, 2).await;
    let titles: Vec<&str> = batch
        .iter()
        .filter_map(|c| c.post.title.as_deref())
        .collect();
    // The takeover first; then every account's first post, the account with the oldest due
    // post first; then the busy account's second (two per account).
    assert_eq!(titles, ["stalled", "busy 0", "due", "lonely", "busy 1"]);
    assert!(batch[0].taken_over && batch[0].post.id == stalled.id);
    assert!(batch[1..].iter().all(|c| !c.taken_over));
    assert_eq!(batch[2].post.id, due.id);
    assert_eq!(batch[3].post.id, lonely.id);
    let account = batch[3]
        .account
        .as_ref()
        .expect("the claim reads the account");
    assert_eq!(
        (account.pinterest_user_id.as_str(), account.status.as_str()),
        ("3", "active")
    );
    assert_eq!(
        outcomes(&store.post_attempts(&stalled.id).await.expect("a")),
        [Some("fenced_out"), None]
    );

    // The next claim goes on with the busy account; the scheduled posts still wait.
    let next = claim(store, "w", now, 6, 2).await;
    let titles: Vec<&str> = next
        .iter()
        .filter_map(|c| c.post.title.as_deref())
        .collect();
    assert_eq!(titles, ["busy 2", "busy 3"]);
}

/// A batch of published completions is one transaction, but each post is fenced on its own:
/// a stale fence, a wrong owner and a repeat are refused while the rest land.
async fn published_posts_written_in_one_batch_are_fenced_one_by_one(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let account = account(store, &profile, "1").await;
    for n in 0..5 {
        queue(
            store,
            &new_post(&profile, &account, &format!("p{n}")),
            T0 + n,
        )
        .await;
    }
    let claimed = claim(store, "w", T0 + 10, 10, 10).await;
    assert_eq!(claimed.len(), 5);
    // Another worker takes the last post over after the lease expired.
    let late = T0 + LEASE + 100;
    let taken = claim(store, "other", late, 10, 10).await;
    assert_eq!(taken.len(), 5);
    let published = |c: &ClaimedPost, pin: &str, adopted: bool| PublishedPost {
        id: c.post.id.clone(),
        fence: c.fence,
        pin_id: pin.into(),
        pin_url: Some(format!("https://pin/{pin}")),
        adopted,
        published_at: late + 1,
    };
    let batch = [
        published(&taken[0], "1", false),
        published(&taken[1], "2", true),
        // The first owner's fence is stale.
        published(&claimed[2], "3", false),
        published(&taken[0], "1-again", false),
    ];
    let completions = store
        .complete_published_many("other", &batch)
        .await
        .expect("batch");
    assert_eq!(
        completions,
        [
            Completion::Applied,
            Completion::Applied,
            Completion::Fenced,
            Completion::Fenced
        ]
    );
    // The right fence with the wrong owner is refused too.
    assert_eq!(
        store
            .complete_published_many("w", &[published(&taken[3], "4", false)])
            .await
            .expect("batch"),
        [Completion::Fenced]
    );
    let first = store
        .post(&profile, &taken[0].post.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (
            first.status.as_str(),
            first.pin_id.as_deref(),
            first.published_at,
            first.lease_owner.as_deref()
        ),
        ("published", Some("1"), Some(late + 1), None)
    );
    assert_eq!(
        outcomes(&store.post_attempts(&taken[1].post.id).await.expect("a")),
        [Some("fenced_out"), Some("adopted")]
    );
    let untouched = store
        .post(&profile, &taken[2].post.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(untouched.status, PostRow::PUBLISHING);
    assert_eq!(
        store
            .complete_published_many("w", &[])
            .await
            .expect("empty"),
        []
    );
}

/// Many workers' completions at once go through the queue's batches: every one lands once.
async fn concurrent_published_completions_all_land(db: TestDatabase) {
    let clock = OffsetClock::new();
    let store = &db.store;
    let q = Queue::new(
        store.clone(),
        Arc::new(clock.clone()),
        QueueSettings {
            batch: 64,
            per_account_batch: 64,
            ..QueueSettings::new("w")
        },
    );
    let profile = profile(store).await;
    let account = account(store, &profile, "1").await;
    for n in 0..60 {
        queue(
            store,
            &new_post(&profile, &account, &format!("p{n}")),
            q.now_ms() - 100 + n,
        )
        .await;
    }
    let claimed = q.claim().await.expect("claim");
    assert_eq!(claimed.len(), 60);
    let mut tasks = Vec::new();
    for (n, claim) in claimed.into_iter().enumerate() {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            let first = q
                .published(&claim, &format!("pin-{n}"), None, false)
                .await
                .expect("published");
            let again = q
                .published(&claim, &format!("pin-{n}"), None, false)
                .await
                .expect("repeat");
            (first, again)
        }));
    }
    for task in tasks {
        assert_eq!(
            task.await.expect("task"),
            (Completion::Applied, Completion::Fenced)
        );
    }
    let counts = store.post_counts_by_status().await.expect("counts");
    assert_eq!(counts.get("published"), Some(&60));
    let page = store
        .list_posts(&profile, &PostFilter::default(), None, 100)
        .await
        .expect("posts");
    let pins: HashSet<Option<String>> = page.posts.into_iter().map(|p| p.pin_id).collect();
    assert_eq!(pins.len(), 60);
}

/// A worker whose slots free up one at a time claims one post at a time; the older backlog of a
/// busy account must not win every such claim over a quiet account's newer post: an account a
/// claim took posts of goes behind every account due by then, so the quiet post waits for at
/// most the one turn the busy account was already given.
async fn a_claim_for_one_slot_goes_to_an_account_with_nothing_in_flight(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let busy = account(store, &profile, "1").await;
    let quiet = account(store, &profile, "2").await;
    for n in 0..20 {
        queue(
            store,
            &new_post(&profile, &busy, &format!("busy {n}")),
            T0 + n,
        )
        .await;
    }
    assert_eq!(claim(store, "w", T0 + 100, 4, 4).await.len(), 4);
    let lonely = queue(store, &new_post(&profile, &quiet, "lonely"), T0 + 200).await;
    // The busy account's turn was given before the quiet post came; the turn after it is the
    // quiet account's, however old the busy backlog.
    let one = claim(store, "w", T0 + 300, 1, 4).await;
    assert_eq!(one[0].post.title.as_deref(), Some("busy 4"));
    let one = claim(store, "w", T0 + 301, 1, 4).await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].post.id, lonely.id, "the quiet account's post waits");
    // With the quiet account served, the busy one goes on in order.
    let next = claim(store, "w", T0 + 302, 1, 4).await;
    assert_eq!(next[0].post.title.as_deref(), Some("busy 5"));
    // Expired leases are taken over first, the oldest lease first.
    let later = claim(store, "x", T0 + 301 + LEASE, 3, 4).await;
    let titles: Vec<&str> = later
        .iter()
        .filter_map(|c| c.post.title.as_deref())
        .collect();
    assert_eq!(titles, ["busy 0", "busy 1", "busy 2"]);
    assert!(later.iter().all(|c| c.taken_over));
    assert!(
        store
            .claim_index_breaches()
            .await
            .expect("breaches")
            .is_empty()
    );
}

async fn the_next_claim_is_due_at_the_soonest_queued_post_or_lease(db: TestDatabase) {
    let store = &db.store;
    assert_eq!(store.next_claim_due().await.expect("due"), None, "empty");
    let profile = profile(store).await;
    let account = account(store, &profile, "1").await;
    let scheduled = |title: &str, at: i64| NewPost {
        publish_at: Some(at),
        ..new_post(&profile, &account, title)
    };

    // Queued posts: the soonest `publish_at`, whatever the order they came in.
    queue(store, &scheduled("later", T0 + 50_000), T0).await;
    queue(store, &scheduled("sooner", T0 + 20_000), T0).await;
    assert_eq!(
        store.next_claim_due().await.expect("due"),
        Some(T0 + 20_000)
    );

    // Held posts are not due until released.
    let held = NewPost {
        held_reason: Some("reconnect".into()),
        ..scheduled("held", T0 + 1_000)
    };
    queue(store, &held, T0).await;
    assert_eq!(
        store.next_claim_due().await.expect("due"),
        Some(T0 + 20_000)
    );

    // Once claimed, a post is due again when its lease runs out (a takeover): here at
    // T0 + 80 s, after the other queued post.
    let claimed = claim(store, "w", T0 + 20_000, 10, 10).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        store.next_claim_due().await.expect("due"),
        Some(T0 + 50_000)
    );
    let claimed = claim(store, "w", T0 + 50_000, 10, 10).await;
    assert_eq!(claimed.len(), 1);
    // Both in flight: the first lease to run out.
    assert_eq!(
        store.next_claim_due().await.expect("due"),
        Some(T0 + 20_000 + LEASE)
    );
}

/// Every change that queues a post, moves it or takes it keeps the ready queue's invariant: each
/// account with a queued post has a `next_at` no later than that post. A deterministic
/// pseudo-random walk over inserts (now and later), claims, retries, holds, releases, canaries,
/// reschedules, cancels and publishes, checked after every step; then everything due is claimed.
async fn the_ready_queue_stays_true_through_every_change(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let mut accounts = Vec::new();
    for user in ["1", "2", "3", "4"] {
        accounts.push(account(store, &profile, user).await);
    }
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut now = T0;
    let mut claimed: Vec<ClaimedPost> = Vec::new();
    let mut queued_ids: Vec<String> = Vec::new();
    for step in 0..300 {
        now += 1 + next(50) as i64;
        let account = &accounts[next(4) as usize];
        match next(9) {
            0 | 1 => {
                let mut post = new_post(&profile, account, &format!("p{step}"));
                if next(2) == 0 {
                    post.publish_at = Some(now + next(5_000) as i64);
                }
                queued_ids.push(queue(store, &post, now).await.id);
            }
            2 => claimed.extend(claim(store, "w", now, 1 + next(6) as i64, 2).await),
            3 if !claimed.is_empty() => {
                let c = claimed.remove(next(claimed.len() as u64) as usize);
                let at = now + next(3_000) as i64;
                let _ = store
                    .schedule_retry(&c.post.id, "w", c.fence, at, "server", "again", now)
                    .await
                    .expect("retry");
            }
            4 if !claimed.is_empty() => {
                let c = claimed.remove(next(claimed.len() as u64) as usize);
                let _ = store
                    .complete_published(&c.post.id, "w", c.fence, "pin", None, false, now)
                    .await
                    .expect("publish");
            }
            5 => {
                store
                    .hold_account_posts(account, "auth", "reconnect", now)
                    .await
                    .expect("hold");
            }
            6 => {
                if next(2) == 0 {
                    store
                        .release_account_posts_with_canary(account, now)
                        .await
                        .expect("canary");
                } else {
                    store
                        .release_account_posts(account, now)
                        .await
                        .expect("release");
                }
            }
            7 if !queued_ids.is_empty() => {
                let id = &queued_ids[next(queued_ids.len() as u64) as usize];
                let changes = PostChanges {
                    publish_at: Some(now - 1_000 + next(4_000) as i64),
                    ..PostChanges::default()
                };
                store
                    .update_post(&profile, id, &changes, now)
                    .await
                    .expect("reschedule");
            }
            8 if !queued_ids.is_empty() => {
                let id = queued_ids[next(queued_ids.len() as u64) as usize].clone();
                store.cancel_post(&profile, &id, now).await.expect("cancel");
            }
            _ => {}
        }
        let breaches = store.claim_index_breaches().await.expect("breaches");
        assert!(breaches.is_empty(), "step {step}: {breaches:?}");
    }
    // Everything queued is claimable once due.
    let queued = store
        .post_counts_by_status()
        .await
        .expect("counts")
        .get("queued")
        .copied()
        .unwrap_or(0);
    let mut drained = 0;
    let far = now + 10 * LEASE;
    loop {
        let batch = claim(store, "drain", far, 32, 4).await;
        let fresh = batch.iter().filter(|c| !c.taken_over).count();
        drained += fresh;
        if batch.is_empty() {
            break;
        }
    }
    assert_eq!(drained as i64, queued, "every queued post was claimable");
}

/// Posts queued by other connections while claims run (the insert and the claim racing for the
/// account's ready row) are all claimed in the end: none is left queued with its account out of
/// the ready queue.
async fn posts_queued_while_claims_run_are_never_lost(db: TestDatabase) {
    let profile = profile(&db.store).await;
    let mut accounts = Vec::new();
    for user in ["1", "2", "3"] {
        accounts.push(account(&db.store, &profile, user).await);
    }
    let other = Store::open(&DatabaseLocation::parse(&db.url).expect("test URL"))
        .await
        .expect("second handle");
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for (w, store) in [db.store.clone(), other.clone()].into_iter().enumerate() {
        let (profile, accounts) = (profile.clone(), accounts.clone());
        writers.push(tokio::spawn(async move {
            for n in 0..150 {
                let post = new_post(&profile, &accounts[n % 3], &format!("w{w} {n}"));
                queue(&store, &post, T0).await;
            }
        }));
    }
    let mut claimers = Vec::new();
    for (owner, store) in [("a", db.store.clone()), ("b", other.clone())] {
        let done = done.clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let batch = claim(&store, owner, T0 + 1, 8, 2).await;
                if batch.is_empty() && finished {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|c| c.post.id));
                tokio::task::yield_now().await;
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.expect("claimer"));
    }
    // A claim that ran after the last insert committed found everything.
    all.extend(
        claim(&db.store, "c", T0 + 1, 1_000, 1_000)
            .await
            .into_iter()
            .map(|c| c.post.id),
    );
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a post was claimed twice");
    assert_eq!(all.len(), 300, "every post was claimed");
    assert!(
        db.store
            .claim_index_breaches()
            .await
            .expect("breaches")
            .is_empty()
    );
    other.close().await;
}

/// An account whose Pinterest budget is spent is left alone until it returns, even when new
/// posts arrive for it; other accounts are claimed meanwhile.
async fn a_deferred_account_is_not_claimed_until_its_budget_returns(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let limited = account(store, &profile, "1").await;
    let free = account(store, &profile, "2").await;
    queue(store, &new_post(&profile, &limited, "a"), T0).await;
    store
        .defer_account(&limited, T0 + 5_000)
        .await
        .expect("defer");
    queue(store, &new_post(&profile, &limited, "b"), T0 + 10).await;
    queue(store, &new_post(&profile, &free, "c"), T0 + 10).await;
    let now = claim(store, "w", T0 + 100, 10, 10).await;
    let titles: Vec<&str> = now.iter().filter_map(|c| c.post.title.as_deref()).collect();
    assert_eq!(titles, ["c"]);
    assert_eq!(store.next_claim_due().await.expect("due"), Some(T0 + 5_000));
    let later = claim(store, "w", T0 + 5_000, 10, 10).await;
    let titles: Vec<&str> = later
        .iter()
        .filter_map(|c| c.post.title.as_deref())
        .collect();
    assert_eq!(titles, ["a", "b"]);
}

/// With a spacing (the account's budget interval), an account whose claim took n posts is not
/// claimed again for about n intervals, so its posts wait in the queue, not in a worker.
async fn spacing_keeps_an_account_back_for_each_post_taken(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let account = account(store, &profile, "1").await;
    for n in 0..10 {
        queue(store, &new_post(&profile, &account, &format!("p{n}")), T0).await;
    }
    let spaced = |now: i64| ClaimRequest {
        owner: "w",
        now,
        lease_ms: LEASE,
        limit: 32,
        per_account_limit: 4,
        account_spacing_ms: 100,
    };
    assert_eq!(store.claim(&spaced(T0)).await.expect("claim").len(), 4);
    // Four posts at 100 ms each: back half an interval before the fourth is allowed to go.
    assert!(
        store
            .claim(&spaced(T0 + 300))
            .await
            .expect("claim")
            .is_empty()
    );
    assert_eq!(store.next_claim_due().await.expect("due"), Some(T0 + 350));
    assert_eq!(
        store.claim(&spaced(T0 + 350)).await.expect("claim").len(),
        4
    );
}

/// Accounts whose posts are all scheduled for later are not in a claim's way: the claim finds
/// the one due post among thousands of later ones, and the later ones' accounts keep their time.
async fn accounts_with_only_later_posts_cost_a_claim_nothing(db: TestDatabase) {
    let store = &db.store;
    let profile = profile(store).await;
    let mut later = Vec::new();
    for user in 0..40 {
        let account = account(store, &profile, &format!("later-{user}")).await;
        for n in 0..5 {
            let post = NewPost {
                publish_at: Some(T0 + 3_600_000 + n),
                ..new_post(&profile, &account, "later")
            };
            queue(store, &post, T0).await;
        }
        later.push(account);
    }
    let due_account = account(store, &profile, "due").await;
    let due = queue(store, &new_post(&profile, &due_account, "now"), T0).await;
    let claimed = claim(store, "w", T0 + 1, 32, 4).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].post.id, due.id);
    // Next: the claimed post's lease, long before the later posts.
    assert_eq!(
        store.next_claim_due().await.expect("due"),
        Some(T0 + 1 + LEASE)
    );
    assert!(
        store
            .claim_index_breaches()
            .await
            .expect("breaches")
            .is_empty()
    );
}
