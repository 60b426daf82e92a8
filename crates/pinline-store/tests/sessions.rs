//! Dashboard sessions in the database, on SQLite and on PostgreSQL: a session is seen only while
//! it is live and its API key is not revoked.

use pinline_store::testing::TestDatabase;
use pinline_store::{ApiKeyRow, SessionRow, backend_tests};

backend_tests!(
    a_session_lives_until_it_expires_or_ends,
    revoking_the_key_ends_its_sessions,
);

async fn key(db: &TestDatabase) -> ApiKeyRow {
    let profile = db
        .store
        .profile_by_name_or_create("default", "profile-1", 0)
        .await
        .expect("profile");
    let key = ApiKeyRow {
        id: "key-1".into(),
        profile_id: profile.id,
        name: "laptop".into(),
        key_prefix: "pl_abc".into(),
        created_at: 0,
        last_used_at: None,
        revoked_at: None,
        scopes: None,
    };
    db.store
        .insert_api_key(&key, "hash-1")
        .await
        .expect("api key");
    key
}

fn session(key: &ApiKeyRow, id: &str, now: i64) -> SessionRow {
    SessionRow {
        id: id.into(),
        profile_id: key.profile_id.clone(),
        api_key_id: key.id.clone(),
        csrf_token: format!("csrf-{id}"),
        created_at: now,
        expires_at: now + 1_000,
    }
}

async fn a_session_lives_until_it_expires_or_ends(db: TestDatabase) {
    let key = key(&db).await;
    let first = session(&key, "s1", 10);
    db.store.insert_session(&first).await.expect("insert");
    assert_eq!(
        db.store.session("s1", 500).await.expect("read"),
        Some(first)
    );
    assert_eq!(db.store.session("s1", 1_010).await.expect("read"), None);
    assert_eq!(db.store.session("other", 500).await.expect("read"), None);

    db.store
        .insert_session(&session(&key, "s2", 20))
        .await
        .expect("insert");
    db.store.delete_session("s2").await.expect("delete");
    db.store.delete_session("s2").await.expect("deleting twice");
    assert_eq!(db.store.session("s2", 30).await.expect("read"), None);
}

async fn revoking_the_key_ends_its_sessions(db: TestDatabase) {
    let key = key(&db).await;
    db.store
        .insert_session(&session(&key, "s1", 10))
        .await
        .expect("insert");
    assert!(db.store.session("s1", 20).await.expect("read").is_some());
    assert!(
        db.store
            .revoke_api_key(&key.profile_id, &key.id, 30)
            .await
            .expect("revoke")
    );
    assert_eq!(db.store.session("s1", 40).await.expect("read"), None);
}
