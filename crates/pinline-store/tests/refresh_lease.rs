//! The refresh lease's rules, run on SQLite and on PostgreSQL: what a second claimant sees
//! after a failure, how completion is compare-and-swap, and how a live holder keeps its lease.

use pinline_store::testing::TestDatabase;
use pinline_store::{
    ConnectedAccount, RefreshClaim, RefreshFailure, SealedTokens, StoreError, backend_tests,
};

backend_tests!(
    a_failure_after_the_caller_began_waiting_is_reported_not_retried,
    completion_after_a_lost_lease_lands_only_on_the_tokens_it_saw,
    a_renewed_lease_keeps_a_second_claimant_out,
);

const LEASE_MS: i64 = 1_000;

/// A connected account: its id and token version.
async fn account(db: &TestDatabase) -> (String, i64) {
    db.store
        .ensure_profile("profile-1", "default", 0)
        .await
        .expect("profile");
    let id = db
        .store
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
            "account-1",
            &[],
            0,
            |_| sealed("1"),
        )
        .await
        .expect("account");
    let row = db
        .store
        .account_by_id(&id)
        .await
        .expect("read")
        .expect("row");
    (id, row.token_version)
}

fn sealed(tag: &str) -> SealedTokens {
    SealedTokens {
        access: format!("v1.k.access-{tag}"),
        refresh: Some(format!("v1.k.refresh-{tag}")),
    }
}

fn transient(message: &str) -> RefreshFailure<'_> {
    RefreshFailure {
        status: "active",
        status_reason: None,
        error_class: "transient",
        error_message: message,
    }
}

async fn a_failure_after_the_caller_began_waiting_is_reported_not_retried(db: TestDatabase) {
    let (id, version) = account(&db).await;
    let claim = db
        .store
        .claim_refresh(&id, version, "a", 100, LEASE_MS, 100)
        .await
        .expect("claim");
    assert!(matches!(claim, RefreshClaim::Claimed { .. }), "{claim:?}");
    // B starts waiting at 150; A's refresh fails at 200 and releases the lease.
    db.store
        .fail_refresh(&id, "a", &transient("HTTP 503"), &[], 200)
        .await
        .expect("fail");
    let claim = db
        .store
        .claim_refresh(&id, version, "b", 250, LEASE_MS, 150)
        .await
        .expect("claim");
    assert!(
        matches!(claim, RefreshClaim::FailedMeanwhile(_)),
        "{claim:?}"
    );
    // A caller that began waiting after the failure may try again.
    let claim = db
        .store
        .claim_refresh(&id, version, "b", 300, LEASE_MS, 201)
        .await
        .expect("claim");
    assert!(matches!(claim, RefreshClaim::Claimed { .. }), "{claim:?}");
}

async fn completion_after_a_lost_lease_lands_only_on_the_tokens_it_saw(db: TestDatabase) {
    let (id, seen) = account(&db).await;
    db.store
        .claim_refresh(&id, seen, "a", 100, LEASE_MS, 100)
        .await
        .expect("claim");
    // A stalls past its lease and B takes over.
    let claim = db
        .store
        .claim_refresh(
            &id,
            seen,
            "b",
            100 + LEASE_MS + 1,
            LEASE_MS,
            100 + LEASE_MS + 1,
        )
        .await
        .expect("claim");
    assert!(
        matches!(
            claim,
            RefreshClaim::Claimed {
                interrupted: true,
                ..
            }
        ),
        "{claim:?}"
    );
    // A's answer arrives first: the tokens are still the ones it saw, so its rotation is kept.
    let version = db
        .store
        .complete_refresh(
            &id,
            "a",
            seen,
            &sealed("a"),
            "pins:write",
            50_000,
            None,
            &[],
            2_000,
        )
        .await
        .expect("A's tokens land");
    assert_eq!(version, seen + 1);
    // B's answer comes later and finds newer tokens and no lease: it must not overwrite them.
    let late = db
        .store
        .complete_refresh(
            &id,
            "b",
            seen,
            &sealed("b"),
            "pins:write",
            60_000,
            None,
            &[],
            2_100,
        )
        .await;
    assert!(matches!(late, Err(StoreError::LeaseLost)), "{late:?}");
    let row = db
        .store
        .account_by_id(&id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.access_token_sealed.as_deref(), Some("v1.k.access-a"));
    assert_eq!(row.refresh_started_at, None);
}

async fn a_renewed_lease_keeps_a_second_claimant_out(db: TestDatabase) {
    let (id, seen) = account(&db).await;
    db.store
        .claim_refresh(&id, seen, "a", 100, LEASE_MS, 100)
        .await
        .expect("claim");
    assert!(
        db.store
            .extend_refresh_lease(&id, "a", 100 + 3 * LEASE_MS)
            .await
            .expect("renew")
    );
    let claim = db
        .store
        .claim_refresh(
            &id,
            seen,
            "b",
            100 + 2 * LEASE_MS,
            LEASE_MS,
            100 + 2 * LEASE_MS,
        )
        .await
        .expect("claim");
    assert!(matches!(claim, RefreshClaim::Busy(_)), "{claim:?}");
    // Only the holder can renew.
    assert!(
        !db.store
            .extend_refresh_lease(&id, "b", 10 * LEASE_MS)
            .await
            .expect("renew")
    );
}
