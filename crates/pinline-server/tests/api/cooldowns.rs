//! Rate cool-downs across replicas: a 429 one replica's pacer sees holds off another replica's
//! pacer on the same database (publisher and passthrough both draw on it), for that user and
//! category only, and only until the cool-down ends.

use std::sync::Arc;
use std::time::Duration;

use pinline_core::clock::{OffsetClock, SharedClock};
use pinline_pinterest::RateLimitInfo;
use pinline_pinterest::facts::RateLimitCategory;
use pinline_queue::{Pacer, PacerSettings};
use pinline_server::cooldowns::{share_cooldowns, share_cooldowns_once};
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use tokio::sync::watch;

use crate::support::eventually;

backend_tests!(a_429_on_one_replica_holds_off_the_other);

async fn a_429_on_one_replica_holds_off_the_other(db: TestDatabase) {
    let clock = OffsetClock::new();
    let shared: SharedClock = Arc::new(clock.clone());
    let first = Arc::new(Pacer::new(PacerSettings::default(), shared.clone()));
    let second = Arc::new(Pacer::new(PacerSettings::default(), shared.clone()));
    let (stop, stopped) = watch::channel(false);
    for pacer in [&first, &second] {
        tokio::spawn(share_cooldowns(
            db.store.clone(),
            pacer.clone(),
            shared.clone(),
            stopped.clone(),
        ));
    }
    assert!(
        second
            .try_acquire("u1", RateLimitCategory::OrgWrite)
            .is_ok()
    );

    let told = RateLimitInfo {
        retry_after: Some(Duration::from_secs(120)),
        ..RateLimitInfo::default()
    };
    first.observe("u1", RateLimitCategory::OrgWrite, &told);
    eventually(
        Duration::from_secs(10),
        "the other replica to hold off",
        || {
            let second = second.clone();
            async move {
                second
                    .try_acquire("u1", RateLimitCategory::OrgWrite)
                    .is_err_and(|wait| wait > Duration::from_secs(100))
            }
        },
    )
    .await;
    // Another category and another user go on.
    assert!(second.try_acquire("u1", RateLimitCategory::OrgRead).is_ok());
    assert!(
        second
            .try_acquire("u2", RateLimitCategory::OrgWrite)
            .is_ok()
    );
    // Tools through the passthrough are held off as well.
    assert!(
        second
            .try_acquire_lent("u1", RateLimitCategory::OrgWrite)
            .is_err()
    );

    // Once the cool-down is over, both send again.
    clock.advance(Duration::from_secs(121));
    share_cooldowns_once(&db.store, &second, &shared)
        .await
        .expect("share");
    assert!(
        second
            .try_acquire("u1", RateLimitCategory::OrgWrite)
            .is_ok()
    );
    assert!(first.try_acquire("u1", RateLimitCategory::OrgWrite).is_ok());
    let _ = stop.send(true);
}
