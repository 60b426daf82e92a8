//! The store's own suite, run on SQLite and on PostgreSQL.

use pinline_store::testing::TestDatabase;
use pinline_store::{
    Backend, ConnectedAccount, DatabaseLocation, SealedTokens, Store, backend_tests,
};

backend_tests!(
    migrations_are_idempotent,
    meta_round_trips,
    concurrent_first_writers_agree,
    concurrent_writers_never_see_busy,
    a_second_process_handle_sees_the_same_data,
    concurrent_connects_of_one_person_end_in_one_account,
);

async fn migrations_are_idempotent(db: TestDatabase) {
    db.store
        .migrate()
        .await
        .expect("second migration run is a no-op");
    db.store.ping().await.expect("ping after migrating twice");
}

async fn meta_round_trips(db: TestDatabase) {
    assert_eq!(db.store.meta_get("colour").await.expect("read"), None);
    db.store.meta_set("colour", "red").await.expect("insert");
    db.store.meta_set("colour", "blue").await.expect("update");
    assert_eq!(
        db.store.meta_get("colour").await.expect("read").as_deref(),
        Some("blue")
    );
}

async fn concurrent_first_writers_agree(db: TestDatabase) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .meta_get_or_insert("instance_id", || format!("candidate-{i}"))
                .await
                .expect("get or insert")
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        winners.push(task.await.expect("task"));
    }
    winners.dedup();
    assert_eq!(
        winners.len(),
        1,
        "all callers must see one winner: {winners:?}"
    );
}

async fn concurrent_writers_never_see_busy(db: TestDatabase) {
    // 200 writes from 20 tasks at once: on SQLite every one must queue for the write lock
    // rather than fail with SQLITE_BUSY.
    let mut tasks = Vec::new();
    for task in 0..20 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..10 {
                store
                    .meta_set(&format!("k{task}-{n}"), "v")
                    .await
                    .expect("a concurrent write must not fail");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    assert_eq!(
        db.store.meta_get("k19-9").await.expect("read").as_deref(),
        Some("v")
    );
}

async fn a_second_process_handle_sees_the_same_data(db: TestDatabase) {
    // A second pool opened from the URL stands in for another `pinline` process.
    db.store.meta_set("shared", "yes").await.expect("write");
    let other = Store::open(&DatabaseLocation::parse(&db.url).expect("test URL parses"))
        .await
        .expect("open the same database again");
    assert_eq!(
        other.meta_get("shared").await.expect("read").as_deref(),
        Some("yes")
    );
    let expected = if db.url.starts_with("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(other.backend(), expected);
    other.close().await;
}

async fn concurrent_connects_of_one_person_end_in_one_account(db: TestDatabase) {
    // A double click on Pinterest's consent page: two callbacks for the same person at once,
    // through two pools (two processes). Both must succeed and agree on one account.
    db.store
        .ensure_profile("profile-1", "default", 0)
        .await
        .expect("profile");
    let second = Store::open(&DatabaseLocation::parse(&db.url).expect("url"))
        .await
        .expect("second pool");
    let mut tasks = Vec::new();
    for (index, store) in [
        db.store.clone(),
        second.clone(),
        db.store.clone(),
        second.clone(),
    ]
    .into_iter()
    .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            store
                .upsert_connected_account(
                    &ConnectedAccount {
                        profile_id: "profile-1",
                        environment: "sandbox",
                        client_id: "1000001",
                        pinterest_user_id: "42",
                        username: "maker",
                        scopes: "pins:write",
                        access_expires_at: 10_000,
                        refresh_expires_at: Some(20_000),
                    },
                    &format!("account-{index}"),
                    &[],
                    0,
                    |id| SealedTokens {
                        access: format!("v1.k.access-for-{id}"),
                        refresh: None,
                    },
                )
                .await
                .expect("every callback stores the account")
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("task"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let row = db
        .store
        .account_by_id(&ids[0])
        .await
        .expect("read")
        .expect("row");
    // The tokens were sealed for the row they ended up in.
    assert_eq!(
        row.access_token_sealed.as_deref(),
        Some(format!("v1.k.access-for-{}", ids[0]).as_str())
    );
    second.close().await;
}
