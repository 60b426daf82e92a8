//! Rate cool-downs across replicas. A 429 or an exhausted window seen by one replica blocks
//! its own pacer at once ([`Pacer::observe`]); this task writes such blocks to the database and
//! reads back the ones other replicas wrote, every [`COOLDOWN_SYNC`], so that every replica's
//! publisher and passthrough (which share the pacer) hold off too. Reading costs one indexed
//! query a second; a replica learns of another's 429 within that second.

use std::sync::Arc;
use std::time::Duration;

use pinline_core::clock::SharedClock;
use pinline_queue::Pacer;
use pinline_store::Store;
use tokio::sync::watch;

/// How often cool-downs are shared: the most a replica lags behind another's 429.
pub const COOLDOWN_SYNC: Duration = Duration::from_secs(1);

/// Cool-downs that ended longer ago than this are deleted.
const FORGET_AFTER_MS: i64 = 3_600_000;

/// One exchange: writes this process's new cool-downs, then applies every running one.
pub async fn share_cooldowns_once(
    store: &Store,
    pacer: &Pacer,
    clock: &SharedClock,
) -> Result<(), pinline_store::StoreError> {
    for cooldown in pacer.take_new_cooldowns() {
        store
            .record_rate_cooldown(
                &cooldown.user,
                cooldown.category.as_str(),
                cooldown.until_ms,
            )
            .await?;
    }
    let now = clock.now_ms();
    for row in store.active_rate_cooldowns(now).await? {
        if let Ok(category) = row.category.parse() {
            pacer.apply_cooldown(&row.pinterest_user_id, category, row.until_ms);
        }
    }
    Ok(())
}

/// Shares cool-downs every [`COOLDOWN_SYNC`] until `shutdown` turns true.
pub async fn share_cooldowns(
    store: Store,
    pacer: Arc<Pacer>,
    clock: SharedClock,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut rounds: u64 = 0;
    loop {
        if let Err(error) = share_cooldowns_once(&store, &pacer, &clock).await {
            tracing::warn!(%error, "sharing rate cool-downs failed; retrying");
        }
        rounds += 1;
        if rounds.is_multiple_of(600)
            && let Err(error) = store
                .forget_rate_cooldowns(clock.now_ms() - FORGET_AFTER_MS)
                .await
        {
            tracing::warn!(%error, "forgetting old rate cool-downs failed");
        }
        tokio::select! {
            _ = shutdown.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(COOLDOWN_SYNC) => {}
        }
    }
}
