//! `claim`: what one claim costs as the number of accounts with queued posts grows. For each N,
//! a fresh database gets N accounts bulk-loaded, each with a few posts due now and a few
//! scheduled an hour ahead, and then `Store::claim_due_posts` (a batch of 32, at most 4 per
//! account, as the publisher claims) is timed over a series of claims. Claimed posts are not
//! completed: they stay `publishing`, as they would while their creates are in flight, and
//! enough posts are due for every claim to fill its batch.
//!
//! Figures: claim p50/p99 per N, and each N's p50 over the smallest N's (goal at the largest N:
//! ≤ 2, a claim's cost must not follow the number of accounts).

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::bulk::{self, BulkAccount, BulkPost};
use crate::env::{BenchDatabase, pin_media};
use crate::stats::{ms, quantile};
use crate::{BackendKind, BenchOptions, Ran, Size, Table};

/// The publisher's claim: a batch of 32, at most 4 posts of one account.
pub const BATCH: i64 = 32;
pub const PER_ACCOUNT: i64 = 4;

/// Sizes of one run.
#[derive(Debug, Clone)]
pub struct Params {
    /// The numbers of accounts with queued posts, smallest first.
    pub accounts: Vec<usize>,
    /// Posts due now per account (at least; more for small N so that every claim is full).
    pub due_per_account: usize,
    /// Posts scheduled an hour ahead per account.
    pub later_per_account: usize,
    /// Claims timed per N, after `warmup` claims not timed.
    pub claims: usize,
    pub warmup: usize,
}

impl Params {
    pub fn for_size(size: Size) -> Params {
        // Quick stays small: a claim that visits every account takes over a second at 10,000
        // accounts in a debug build, and CI runs quick in one.
        let (accounts, claims) = match size {
            Size::Full => (vec![100, 10_000, 100_000], 50),
            Size::Quick => (vec![100, 1_000, 3_000], 20),
            Size::Tiny => (vec![10, 100], 10),
        };
        Params {
            accounts,
            due_per_account: 2,
            later_per_account: 3,
            claims,
            warmup: 2,
        }
    }

    /// Due posts per account with `accounts` accounts: enough for every claim to take a full
    /// batch, with a quarter to spare.
    pub fn due_for(&self, accounts: usize) -> usize {
        let needed = (self.claims + self.warmup) * BATCH as usize;
        self.due_per_account
            .max((needed + needed / 4).div_ceil(accounts.max(1)))
    }
}

pub const TITLE: &str = "claim (`claim_due_posts` of 32, at most 4 per account, with N accounts \
     having queued posts: a few due now, 3 an hour ahead; goal: p50 at the largest N ≤ 2 × p50 at \
     the smallest)";

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "accounts",
            "queued posts",
            "due posts",
            "load s",
            "claims",
            "claim p50 ms",
            "claim p99 ms",
            "p50 / p50 at smallest N",
            "notes",
        ],
    )
}

pub async fn run(options: &BenchOptions, backend: BackendKind) -> Result<Ran> {
    let p = Params::for_size(options.size);
    let mut table = table();
    let mut smallest_p50: Option<Duration> = None;
    for &accounts in &p.accounts {
        let Some(db) = BenchDatabase::fresh(backend, options.postgres_url.as_deref()).await? else {
            return Ok(Ran::Skipped("skipped, PostgreSQL not reachable".to_owned()));
        };
        let measured = measure(&db, backend, &p, accounts).await?;
        let p50 = quantile(&measured.times, 0.5);
        if smallest_p50.is_none() {
            smallest_p50 = p50;
        }
        let relative = match (p50, smallest_p50) {
            (Some(p50), Some(base)) if !base.is_zero() => {
                format!("{:.2}", p50.as_secs_f64() / base.as_secs_f64())
            }
            _ => "–".to_owned(),
        };
        table.row(vec![
            backend.name().to_owned(),
            accounts.to_string(),
            measured.queued.to_string(),
            measured.due.to_string(),
            format!("{:.1}", measured.load.as_secs_f64()),
            measured.times.len().to_string(),
            ms(p50),
            ms(quantile(&measured.times, 0.99)),
            relative,
            if measured.notes.is_empty() {
                "–".to_owned()
            } else {
                measured.notes.join("; ")
            },
        ]);
    }
    Ok(Ran::tables(vec![table]))
}

/// What one N came back with.
struct Measured {
    queued: usize,
    due: usize,
    load: Duration,
    /// Each timed claim, ascending.
    times: Vec<Duration>,
    notes: Vec<String>,
}

async fn measure(
    db: &BenchDatabase,
    backend: BackendKind,
    p: &Params,
    accounts: usize,
) -> Result<Measured> {
    let store = db.store();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let profile = store
        .profile_by_name_or_create("bench", &uuid::Uuid::now_v7().to_string(), now)
        .await?;
    let due = p.due_for(accounts);
    let per_account = due + p.later_per_account;
    let started = Instant::now();
    let loaded = load(db, &profile.id, accounts, due, per_account, now).await?;
    let load = started.elapsed();

    let owner = format!("bench-claim-{}", uuid::Uuid::new_v4().simple());
    let lease_ms = 600_000;
    let mut notes = Vec::new();
    let mut short = 0;
    let mut times = Vec::with_capacity(p.claims);
    for i in 0..p.warmup + p.claims {
        let at = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        let started = Instant::now();
        let claimed = store
            .claim_due_posts(&owner, at, lease_ms, BATCH, PER_ACCOUNT)
            .await?;
        let took = started.elapsed();
        if claimed.len() < BATCH as usize {
            short += 1;
        }
        if i >= p.warmup {
            times.push(took);
        }
    }
    times.sort_unstable();
    if short > 0 {
        notes.push(format!(
            "{short} claims took fewer than {BATCH} posts (are the bulk-loaded posts visible to \
             the claim?)"
        ));
    }
    if backend == BackendKind::Postgres {
        notes.push("ANALYZE after the load".to_owned());
    }
    notes.push(format!(
        "{:.0} rows/s loaded",
        (loaded as f64 + accounts as f64) / load.as_secs_f64().max(0.001)
    ));
    Ok(Measured {
        queued: loaded,
        due: due * accounts,
        load,
        times,
        notes,
    })
}

/// Bulk-loads `accounts` accounts with `per_account` queued posts each, the first `due` of them
/// due a second ago and the rest an hour ahead, then rebuilds what the store derives from them.
/// Returns how many posts were written.
async fn load(
    db: &BenchDatabase,
    profile_id: &str,
    accounts: usize,
    due: usize,
    per_account: usize,
    now: i64,
) -> Result<usize> {
    let loaded: Vec<BulkAccount> =
        bulk::insert_accounts(db.url(), profile_id, "claim", accounts, now).await?;
    let posts = accounts * per_account;
    bulk::insert_posts(db.url(), profile_id, posts, now, |i| {
        // Account-major: each account's posts are written together, due ones first.
        let (account, k) = (&loaded[i / per_account], i % per_account);
        let slug = format!("claim-{i}");
        BulkPost {
            id: uuid::Uuid::now_v7().to_string(),
            account_id: account.id.clone(),
            board_id: account.board_id.clone(),
            title: format!("Claim {i}"),
            link: format!("https://shop.example/c/{slug}"),
            media: pin_media(&slug).to_string(),
            due_at: if k < due {
                now - 1_000
            } else {
                now + 3_600_000
            },
        }
    })
    .await?;
    // After a bulk load the store's claim bookkeeping must be rebuilt.
    bulk::rebuild_claim_bookkeeping(db.store(), db.url()).await?;
    Ok(posts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_finds_a_full_batch() {
        for size in [Size::Full, Size::Quick, Size::Tiny] {
            let p = Params::for_size(size);
            for &accounts in &p.accounts {
                let due = p.due_for(accounts) * accounts;
                assert!(due >= (p.claims + p.warmup) * BATCH as usize, "{accounts}");
            }
        }
        let p = Params::for_size(Size::Full);
        assert_eq!(p.due_for(100_000), 2);
        assert!(p.due_for(100) >= 17);
    }
}
