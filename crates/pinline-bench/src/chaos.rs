//! `chaos`: does anything accepted get lost or published twice, does an account Pinterest never
//! refused end up `needs_reauth`, and does any published post's webhook go missing, when
//! everything goes wrong at once? Three `pinline serve` replicas share one database (PostgreSQL)
//! and publish to a sandbox that fails on purpose: 5 % of creates answer 503, 5 % answer 429, 1 %
//! create the pin and then drop the connection, 2 % of all calls stall (a latency spike, shorter
//! than the lease). Posts arrive through the replicas' `POST /v1/posts/batch` (with an
//! `Idempotency-Key`, retried on another replica when one dies under it) while a random replica
//! is SIGKILLed every few seconds and a new one started in its place. Mid-run one account's
//! tokens are revoked at Pinterest (its posts are `held` until it is reconnected, which the run
//! then does through the OAuth flow of a replica) and another account's access token is expired.
//!
//! Where tokens are made (module `tokens`): every few kills, in the full run, the sandbox holds
//! the next token request, every access token is expired at Pinterest so the replicas have to
//! refresh, and the replica whose request is held (found by the request's peer port) is the one
//! SIGKILLed, inside its refresh. Then the token endpoint is armed to answer 500 a few times,
//! to lose one rotation (rotate, then drop the connection) and, once in the full run, to stall
//! past the client's timeout, and every account's access token is expired at once. An account
//! that ends up `needs_reauth` is reconnected through a replica's OAuth flow, as a person would.
//!
//! A webhook for `post.published` points at a receiver in this process (module `receiver`),
//! which checks every signature.
//!
//! Afterwards every board is listed at the sandbox and compared with the posts table. Each post
//! carries a unique marker, its `link` (the run's nonce and the post's number), and pins are
//! matched to posts by it:
//!
//! * **lost**: acknowledged posts missing from the database, posts neither published nor
//!   failed nor held with a reason when the run ends, and published posts whose pin is not at
//!   the sandbox;
//! * **duplicated**: pins beyond the first for one post, plus pins that belong to no post;
//! * **wrongly needs_reauth**: `account.needs_reauth` events (or sightings of the status)
//!   beyond the refresh grants the sandbox refused for that account's user;
//! * **webhooks missing**: published posts whose `post.published` never reached the receiver.
//!
//! Then a **fencing** run: a replica with a slow pace holds claims when it is SIGSTOPped past
//! its lease; another replica takes the posts over and publishes them; after SIGCONT the frozen
//! one must complete nothing (it logs `post.fenced_out`) and create no pin.
//!
//! `pinline bench` exits non-zero unless lost, duplicated, wrongly needs_reauth and webhooks
//! missing are all 0 (and the fencing run created nothing after SIGCONT).

mod receiver;
mod tokens;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pinline_store::PostRow;
use rand::Rng as _;
use serde_json::{Value, json};

use self::receiver::Receiver;
use self::tokens::{SandboxFaults, TokenFault};
use crate::env::{BenchAccount, BenchDatabase, Env, master_key_pair};
use crate::replicas::{LogTally, NO_EXE, Replica, ReplicaSpec, api_key, pinline_exe};
use crate::{BackendKind, BenchOptions, Ran, Size, Table};

#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub replicas: usize,
    pub accounts: usize,
    pub posts: usize,
    /// Posts per `POST /v1/posts/batch`.
    pub batch: usize,
    pub kills: usize,
    pub kill_every: Duration,
    /// Every this many kills, one is made inside a refresh and the token endpoint is faulted.
    pub token_every: usize,
    /// How long the sandbox holds the token request whose sender is killed; `None`: no kill
    /// inside a refresh. Each such kill stalls one account until the dead holder's refresh
    /// lease (30 s) runs out, which `--quick` cannot afford.
    pub hold: Option<Duration>,
    /// Whether one token request stalls past the client's timeout (30 s: full run only).
    pub token_timeout: bool,
    /// `PINLINE_QUEUE_LEASE_SECS` of the replicas.
    pub lease_secs: u64,
    /// Longest wait, after the last kill, for every post to settle. Even where no kill is aimed
    /// at a refresh, a random one can land inside one (every access token is expired mid-run):
    /// that account then waits out the dead holder's refresh lease (30 s) and may be reconnected
    /// after a refused reuse, so the wait must be well beyond the lease.
    pub drain: Duration,
    /// Longest wait, once settled, for every `post.published` to reach the receiver. A replica
    /// killed mid-delivery leaves its deliveries leased for 50 s (twice the 10 s request timeout
    /// plus 30 s), so this is longer.
    pub webhook_wait: Duration,
    /// Posts of the fencing run.
    pub fencing_posts: usize,
}

impl Params {
    pub fn for_size(size: Size) -> Params {
        match size {
            Size::Full => Params {
                replicas: 3,
                accounts: 20,
                posts: 10_000,
                batch: 100,
                kills: 50,
                kill_every: Duration::from_secs(2),
                token_every: 3,
                hold: Some(Duration::from_millis(1_500)),
                token_timeout: true,
                lease_secs: 3,
                drain: Duration::from_secs(180),
                webhook_wait: Duration::from_secs(120),
                fencing_posts: 40,
            },
            Size::Quick => Params {
                replicas: 3,
                accounts: 4,
                posts: 500,
                batch: 50,
                kills: 5,
                kill_every: Duration::from_millis(1_500),
                token_every: 2,
                hold: None,
                token_timeout: false,
                lease_secs: 2,
                drain: Duration::from_secs(60),
                webhook_wait: Duration::from_secs(75),
                fencing_posts: 20,
            },
            Size::Tiny => Params {
                replicas: 2,
                accounts: 3,
                posts: 60,
                batch: 20,
                kills: 3,
                kill_every: Duration::from_secs(1),
                token_every: 2,
                hold: None,
                token_timeout: false,
                lease_secs: 2,
                drain: Duration::from_secs(50),
                webhook_wait: Duration::from_secs(75),
                fencing_posts: 10,
            },
        }
    }
}

pub const TITLE: &str = "chaos (replicas SIGKILLed, some inside a refresh; sandbox and token-endpoint \
     faults, mass token expiry, a revocation; goal: lost = 0, duplicated = 0, wrongly needs_reauth \
     = 0, webhooks missing = 0)";
pub const FENCING_TITLE: &str = "chaos: fencing (a replica SIGSTOPped past its lease, then SIGCONT; goal: \
     no pin and no completion from it)";

pub fn table() -> Table {
    Table::new(
        TITLE,
        &[
            "backend",
            "replicas",
            "posts accepted",
            "SIGKILLs",
            "killed inside a refresh",
            "refresh requests",
            "token faults",
            "published",
            "adopted",
            "held",
            "failed by class",
            "lost",
            "duplicated",
            "needs_reauth after a refusal",
            "wrongly needs_reauth",
            "webhooks missing",
            "pins at sandbox",
            "fenced_out log lines",
            "notes",
        ],
    )
}

pub fn fencing_table() -> Table {
    Table::new(
        FENCING_TITLE,
        &[
            "backend",
            "lease s",
            "posts",
            "claimed by the frozen replica",
            "frozen for s",
            "published",
            "its post.fenced_out lines",
            "fenced_out attempts",
            "pins made after SIGCONT",
            "lost",
            "duplicated",
            "notes",
        ],
    )
}

pub async fn run(options: &BenchOptions, backend: BackendKind) -> Result<Ran> {
    let Some(exe) = pinline_exe() else {
        return Ok(Ran::Skipped(NO_EXE.to_owned()));
    };
    let Some(db) = BenchDatabase::fresh(backend, options.postgres_url.as_deref()).await? else {
        return Ok(Ran::Skipped("skipped, PostgreSQL not reachable".to_owned()));
    };
    let p = Params::for_size(options.size);
    let (master_key, master_key_text) = master_key_pair()?;
    let env = Env::start_with_key(db, Vec::new(), "http://127.0.0.1:9", &master_key).await?;
    let accounts = env.accounts("chaos", p.accounts.max(2)).await?;
    let key = api_key(env.store(), "chaos").await?;
    let spec = ReplicaSpec {
        exe,
        database_url: env.db.url().to_owned(),
        master_key: master_key_text,
        pinterest_api_url: env.sandbox.base_url(),
        pinterest_oauth_url: env.sandbox.oauth_url(),
        env: vec![
            (
                "PINLINE_QUEUE_LEASE_SECS".to_owned(),
                p.lease_secs.to_string(),
            ),
            (
                "PINLINE_PINTEREST_RATES".to_owned(),
                "org_write=1000/s,org_read=1000/s".to_owned(),
            ),
        ],
    };
    // Lives through the fencing run too, whose posts' events go to the same profile's webhook.
    let receiver = Receiver::start().await?;
    let mut failures = Vec::new();
    let (row, chaos_failures) =
        chaos_run(&env, &spec, &accounts, &key, &p, backend, &receiver).await?;
    failures.extend(chaos_failures);
    let mut chaos = table();
    chaos.row(row);

    let (row, fencing_failures) = fencing_run(&env, &spec, &key, &p, backend).await?;
    failures.extend(fencing_failures);
    let mut fencing = fencing_table();
    fencing.row(row);
    Ok(Ran::Tables {
        tables: vec![chaos, fencing],
        failures,
    })
}

/// The replicas of a run: the processes, and the URLs the submitter may use.
#[derive(Debug)]
struct Cluster {
    spec: ReplicaSpec,
    tally: Arc<LogTally>,
    replicas: Vec<Replica>,
    urls: Arc<Mutex<Vec<String>>>,
}

impl Cluster {
    async fn start(spec: &ReplicaSpec, count: usize) -> Result<Cluster> {
        let tally = Arc::new(LogTally::default());
        let mut replicas = Vec::new();
        for _ in 0..count {
            replicas.push(Replica::start(spec, tally.clone()).await?);
        }
        let urls = replicas.iter().map(|r| r.base_url.clone()).collect();
        Ok(Cluster {
            spec: spec.clone(),
            tally,
            replicas,
            urls: Arc::new(Mutex::new(urls)),
        })
    }

    fn publish_urls(&self) {
        let urls = self.replicas.iter().map(|r| r.base_url.clone()).collect();
        if let Ok(mut shared) = self.urls.lock() {
            *shared = urls;
        }
    }

    /// SIGKILLs replica `index` and starts a new one in its place.
    async fn kill_and_replace(&mut self, index: usize) -> Result<()> {
        let victim = self.replicas.remove(index);
        self.publish_urls();
        victim.kill().await?;
        let fresh = Replica::start(&self.spec, self.tally.clone()).await?;
        self.replicas.insert(index, fresh);
        self.publish_urls();
        Ok(())
    }

    fn any_url(&self) -> Option<String> {
        self.replicas.first().map(|r| r.base_url.clone())
    }

    async fn stop_all(self) -> Result<()> {
        for replica in self.replicas {
            replica.kill().await?;
        }
        Ok(())
    }
}

/// What the submitter got acknowledged.
#[derive(Debug, Default)]
struct Submitted {
    accepted: Vec<String>,
    /// Items refused for good, by status and error code.
    refused: BTreeMap<String, usize>,
    /// Batches sent again (a replica died, or items were refused for a transient reason).
    resent: usize,
}

async fn chaos_run(
    env: &Env,
    spec: &ReplicaSpec,
    accounts: &[BenchAccount],
    key: &str,
    p: &Params,
    backend: BackendKind,
    receiver: &Receiver,
) -> Result<(Vec<String>, Vec<String>)> {
    let started = Instant::now();
    let mut cluster = Cluster::start(spec, p.replicas).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let sandbox = env.sandbox.base_url();
    let mut faults = SandboxFaults::new(&http, &sandbox);
    faults.arm(&[]).await?;
    let webhook = register_webhook(&http, &cluster, key, &receiver.url).await?;
    receiver.set_secret(webhook);

    // Posts arrive all through the kill phase.
    let kill_phase = p.kill_every * p.kills as u32;
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let submitter = {
        let (http, urls, key) = (http.clone(), cluster.urls.clone(), key.to_owned());
        let (accounts, nonce) = (accounts.to_vec(), nonce.clone());
        let p = *p;
        tokio::spawn(
            async move { submit(&http, &urls, &key, &accounts, &p, kill_phase, &nonce).await },
        )
    };

    let revoked = &accounts[0];
    let expired = &accounts[1];
    let mut notes = Vec::new();
    let mut kills = 0;
    let mut killed_in_refresh = 0;
    let mut refresh_kill_misses: BTreeMap<&str, usize> = BTreeMap::new();
    let mut miss_states = Vec::new();
    let mut token_steps = 0;
    let mut sightings = Sightings::default();
    let mut reconnect_failures = 0;
    let mut reconnected = false;
    let mut revoked_now = false;
    for k in 1..=p.kills {
        tokio::time::sleep(p.kill_every).await;
        if k == (p.kills / 3).max(1) {
            sandbox_call(
                &http,
                &sandbox,
                &format!("users/{}/revoke", revoked.pinterest_user_id),
            )
            .await?;
            revoked_now = true;
        }
        if k == (p.kills / 2).max(1) {
            sandbox_call(
                &http,
                &sandbox,
                &format!("users/{}/expire", expired.pinterest_user_id),
            )
            .await?;
        }
        if k == (2 * p.kills / 3).max(1) {
            match reconnect(&http, &cluster, key, revoked).await {
                Ok(()) => {
                    reconnected = true;
                    revoked_now = false;
                }
                Err(error) => notes.push(format!("reconnect failed: {error:#}")),
            }
        }
        // A person reconnects an account Pinterest refused (a lost rotation, a kill between
        // rotation and commit); the revoked one only when the run says so.
        let skip = revoked_now.then_some(revoked.id.as_str());
        reconnect_failures +=
            reconnect_refused(env, &http, &cluster, key, accounts, skip, &mut sightings).await?;

        if k % p.token_every.max(1) == 0 {
            token_steps += 1;
            // A refresh needs a post to publish: once the last post is in, the replicas may
            // have nothing to call Pinterest for, and no token request would come.
            let missed = match p.hold {
                Some(hold) if !submitter.is_finished() => {
                    kill_inside_a_refresh(env, &http, &mut faults, &mut cluster, accounts, hold)
                        .await?
                }
                _ => Some(""),
            };
            match missed {
                None => killed_in_refresh += 1,
                Some(missed) => {
                    if !missed.is_empty() {
                        *refresh_kill_misses.entry(missed).or_default() += 1;
                        // What the replicas were doing instead, for the first few misses.
                        if miss_states.len() < 4 {
                            miss_states.push(replica_state(env, accounts).await?);
                        }
                    }
                    let victim = rand::rng().random_range(0..cluster.replicas.len());
                    cluster.kill_and_replace(victim).await?;
                }
            }
            // Every access token dies at once while the token endpoint fails a few times, loses
            // one rotation and, once, stalls past the client's timeout.
            let mut armed = vec![(TokenFault::Error500, 3), (TokenFault::RotateThenDrop, 1)];
            if p.token_timeout && token_steps == 2 {
                armed.insert(0, (TokenFault::Timeout, 1));
            }
            faults.arm(&armed).await?;
            expire_all(&http, &sandbox, accounts).await?;
        } else {
            let victim = rand::rng().random_range(0..cluster.replicas.len());
            cluster.kill_and_replace(victim).await?;
        }
        kills += 1;
    }
    let kill_phase_ended = started.elapsed();
    // The token endpoint behaves again, so the accounts can be reconnected and drained.
    faults.arm(&[]).await?;
    if !reconnected {
        match reconnect(&http, &cluster, key, revoked).await {
            Ok(()) => reconnected = true,
            Err(error) => notes.push(format!("reconnect failed again: {error:#}")),
        }
    }
    let submitted = submitter.await.context("the submitter task")??;

    // Let everything settle: nothing queued, publishing or held (every refused account is
    // reconnected as it is found).
    let deadline = Instant::now() + p.drain;
    let settled = loop {
        reconnect_failures +=
            reconnect_refused(env, &http, &cluster, key, accounts, None, &mut sightings).await?;
        let counts = env.store().post_counts_by_status().await?;
        let open = [PostRow::QUEUED, PostRow::PUBLISHING, PostRow::HELD]
            .iter()
            .map(|status| counts.get(*status).copied().unwrap_or(0))
            .sum::<i64>();
        if open == 0 {
            break true;
        }
        if Instant::now() >= deadline {
            notes.push(format!(
                "not settled after {} s: {counts:?}",
                p.drain.as_secs()
            ));
            break false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    // Every published post's `post.published` must reach the receiver, whatever the replicas
    // went through; they keep running (and dispatching) until it has, or the wait runs out.
    let mut published_ids = Vec::new();
    for account in accounts {
        published_ids.extend(
            env.posts_of(&account.id)
                .await?
                .into_iter()
                .filter(|post| post.status == PostRow::PUBLISHED)
                .map(|post| post.id),
        );
    }
    let settled_at = started.elapsed();
    let webhook_started = Instant::now();
    let deadline = webhook_started + p.webhook_wait;
    let webhooks_missing = loop {
        let received = receiver.published();
        let missing = published_ids
            .iter()
            .filter(|id| !received.contains(*id))
            .count();
        if missing == 0 || Instant::now() >= deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let webhook_wait = webhook_started.elapsed();

    let run_time = started.elapsed();
    let (fenced_lines, errors, panics) = (
        cluster.tally.fenced_out(),
        cluster.tally.errors(),
        cluster.tally.panics(),
    );
    cluster.stop_all().await?;
    faults.clear().await?;
    let stats = env.stats();

    // needs_reauth against what the sandbox refused: each time an account was marked (an
    // event, or the status seen by the run when its event was lost) needs a refusal of its
    // user's refresh token behind it.
    let (mut needs_reauth, mut wrongly, mut interrupted) = (0, 0, 0);
    let mut wrong_detail = Vec::new();
    for account in accounts {
        let events = env.store().account_events(&account.id).await?;
        let count = |kind: &str| events.iter().filter(|(k, _, _)| k == kind).count();
        let marked =
            count(pinline_vault::events::kind::NEEDS_REAUTH).max(sightings.spells(&account.id));
        interrupted += count(pinline_vault::events::kind::REFRESH_INTERRUPTED);
        let refused = stats
            .refresh_refused_by_user
            .get(&account.pinterest_user_id)
            .copied()
            .unwrap_or(0) as usize;
        needs_reauth += marked;
        if marked > refused {
            wrongly += marked - refused;
            wrong_detail.push(format!(
                "{}: marked {marked}, refused {refused}",
                account.username
            ));
        }
    }

    let audit = audit(env, accounts, &submitted.accepted).await?;
    let mut failures = Vec::new();
    if audit.lost() > 0 {
        failures.push(format!(
            "{} post(s) lost ({})",
            audit.lost(),
            audit.lost_detail()
        ));
    }
    if audit.duplicated() > 0 {
        failures.push(format!(
            "{} duplicated pin(s) ({})",
            audit.duplicated(),
            audit.duplicated_detail()
        ));
    }
    if !settled && audit.lost() == 0 {
        failures.push("posts did not settle in time".to_owned());
    }
    if wrongly > 0 {
        failures.push(format!(
            "{wrongly} account(s) wrongly needs_reauth, Pinterest never refused them ({})",
            wrong_detail.join("; ")
        ));
    }
    if webhooks_missing > 0 {
        failures.push(format!(
            "{webhooks_missing} published post(s) without a post.published delivery after {} s",
            webhook_wait.as_secs()
        ));
    }
    if receiver.bad_signatures() > 0 {
        failures.push(format!(
            "{} webhook deliveries with a bad signature",
            receiver.bad_signatures()
        ));
    }
    notes.push(format!(
        "{} faults injected in all; token faults: {}; {} token requests held",
        stats.faults_injected,
        faults.fired.describe(),
        faults.fired.held
    ));
    for (missed, n) in &refresh_kill_misses {
        notes.push(format!(
            "{n} refresh kill(s) fell back to a random replica: {missed} (then: {})",
            miss_states.join(" / ")
        ));
    }
    notes.push(format!(
        "{interrupted} account.refresh_interrupted, {} refresh-token reuses refused",
        stats.refresh_token_reuse
    ));
    notes.push(format!(
        "{} webhook deliveries for {} published; kill phase ended at {:.0} s, settled at {:.0} s, \
         last webhook {:.0} s later",
        receiver.deliveries(),
        published_ids.len(),
        kill_phase_ended.as_secs_f64(),
        settled_at.as_secs_f64(),
        webhook_wait.as_secs_f64()
    ));
    if reconnect_failures > 0 {
        notes.push(format!("{reconnect_failures} reconnect(s) failed"));
    }
    if submitted.resent > 0 {
        notes.push(format!("{} batches resent", submitted.resent));
    }
    if !submitted.refused.is_empty() {
        notes.push(format!("refused at acceptance: {:?}", submitted.refused));
    }
    if audit.failed_but_live > 0 {
        notes.push(format!(
            "{} failed post(s) have a pin at the sandbox",
            audit.failed_but_live
        ));
    }
    for (because, n) in audit.failed_because.iter().take(4) {
        notes.push(format!("{n} failed: {because}"));
    }
    if errors > 0 || panics > 0 {
        notes.push(format!(
            "{errors} ERROR lines, {panics} panics in replica logs"
        ));
    }
    notes.push(format!(
        "{} reconnected: {reconnected}; {:.0} s",
        revoked.username,
        run_time.as_secs_f64()
    ));
    let row = vec![
        backend.name().to_owned(),
        p.replicas.to_string(),
        submitted.accepted.len().to_string(),
        kills.to_string(),
        killed_in_refresh.to_string(),
        stats.token_requests.refresh_token.to_string(),
        faults.fired.faults().to_string(),
        audit.published.to_string(),
        audit.adopted.to_string(),
        audit.held.to_string(),
        if audit.failed_by_class.is_empty() {
            "0".to_owned()
        } else {
            audit
                .failed_by_class
                .iter()
                .map(|(class, n)| format!("{class} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        audit.lost().to_string(),
        audit.duplicated().to_string(),
        (needs_reauth - wrongly).to_string(),
        wrongly.to_string(),
        webhooks_missing.to_string(),
        audit.pins.to_string(),
        fenced_lines.to_string(),
        notes.join("; "),
    ];
    Ok((row, failures))
}

/// Registers a webhook for `post.published` at `url` through a replica's API (retried on another
/// replica if one dies under it); returns its signing secret.
async fn register_webhook(
    http: &reqwest::Client,
    cluster: &Cluster,
    key: &str,
    url: &str,
) -> Result<String> {
    let base = cluster.any_url().context("no replica")?;
    let created: Value = http
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(key)
        .json(&json!({ "url": url, "events": ["post.published"] }))
        .send()
        .await?
        .error_for_status()
        .context("registering the webhook")?
        .json()
        .await?;
    created["secret"]
        .as_str()
        .map(str::to_owned)
        .context("no secret in the new webhook")
}

/// Expires every account's access token at the sandbox (refresh tokens are untouched).
async fn expire_all(
    http: &reqwest::Client,
    sandbox: &str,
    accounts: &[BenchAccount],
) -> Result<()> {
    let calls = accounts.iter().map(|account| async move {
        let path = format!("users/{}/expire", account.pinterest_user_id);
        sandbox_call(http, sandbox, &path).await
    });
    for result in futures_util::future::join_all(calls).await {
        result?;
    }
    Ok(())
}

/// Holds the next token request at the sandbox, expires every access token so the replicas
/// have to refresh, and SIGKILLs the replica whose request is held, found by the request's peer
/// port (a replacement is started). `Some(why)` when no replica was killed: no held token request
/// within a few seconds, or its sender was not among the replicas.
async fn kill_inside_a_refresh(
    env: &Env,
    http: &reqwest::Client,
    faults: &mut SandboxFaults,
    cluster: &mut Cluster,
    accounts: &[BenchAccount],
    hold: Duration,
) -> Result<Option<&'static str>> {
    faults
        .arm(&[(
            TokenFault::Hold {
                ms: hold.as_millis() as u64,
            },
            1,
        )])
        .await?;
    let before = env.stats().token_endpoint_requests;
    expire_all(http, &env.sandbox.base_url(), accounts).await?;
    // The held request is the one the hold rule fired on; other token requests may arrive
    // before or after it, so it is found among the new ones by how long it is held.
    let hold_ms = hold.as_millis() as u64;
    let deadline = Instant::now() + Duration::from_secs(3);
    let peer = loop {
        let stats = env.stats();
        let new = (stats.token_endpoint_requests - before) as usize;
        let recent = &stats.recent_token_requests;
        let held = recent
            .iter()
            .skip(recent.len().saturating_sub(new))
            .find(|seen| seen.held_ms >= hold_ms)
            .map(|seen| seen.peer.clone());
        if let Some(peer) = held {
            break peer;
        }
        if Instant::now() >= deadline {
            return Ok(Some("no held token request within 3 s"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let Some(port) = peer.and_then(|peer| peer.parse::<std::net::SocketAddr>().ok()) else {
        return Ok(Some("no peer address"));
    };
    let pids: Vec<u32> = cluster.replicas.iter().map(|r| r.pid).collect();
    let Some(index) = tokens::owner_of_port(port.port(), &pids)
        .and_then(|pid| cluster.replicas.iter().position(|r| r.pid == pid))
    else {
        return Ok(Some("the sender was no live replica"));
    };
    cluster.kill_and_replace(index).await?;
    Ok(None)
}

/// Posts by status and accounts by refresh state, in a few words: what the replicas were busy
/// with when no token request came.
async fn replica_state(env: &Env, accounts: &[BenchAccount]) -> Result<String> {
    let counts = env.store().post_counts_by_status().await?;
    let now = env.now_ms();
    let (mut leased, mut stale, mut reauth) = (0, 0, 0);
    for account in accounts {
        let Some(row) = env.store().account(&env.profile_id, &account.id).await? else {
            continue;
        };
        if row.status == "needs_reauth" {
            reauth += 1;
        } else if row.refresh_started_at.is_some() {
            if row.refresh_lease_until.is_some_and(|until| until >= now) {
                leased += 1;
            } else {
                stale += 1;
            }
        }
    }
    let count = |status: &str| counts.get(status).copied().unwrap_or(0);
    Ok(format!(
        "{} queued, {} publishing; {leased} refresh leases live, {stale} expired, {reauth} needs_reauth",
        count(PostRow::QUEUED),
        count(PostRow::PUBLISHING)
    ))
}

/// Times the run found an account `needs_reauth`, counted once per spell (from the first
/// sighting until a reconnect succeeds), so a reconnect that has to be tried again is not a
/// second marking.
#[derive(Debug, Default)]
struct Sightings {
    spells: HashMap<String, usize>,
    open: HashSet<String>,
}

impl Sightings {
    fn seen(&mut self, account_id: &str) {
        if self.open.insert(account_id.to_owned()) {
            *self.spells.entry(account_id.to_owned()).or_default() += 1;
        }
    }

    fn reconnected(&mut self, account_id: &str) {
        self.open.remove(account_id);
    }

    fn spells(&self, account_id: &str) -> usize {
        self.spells.get(account_id).copied().unwrap_or(0)
    }
}

/// Reconnects every account (but `skip`) that is `needs_reauth`, noting each sighting; returns
/// how many reconnects failed (they are tried again on the next call).
async fn reconnect_refused(
    env: &Env,
    http: &reqwest::Client,
    cluster: &Cluster,
    key: &str,
    accounts: &[BenchAccount],
    skip: Option<&str>,
    sightings: &mut Sightings,
) -> Result<usize> {
    let mut failed = 0;
    for account in accounts {
        if skip == Some(account.id.as_str()) {
            continue;
        }
        let row = env.store().account(&env.profile_id, &account.id).await?;
        if row.is_none_or(|row| row.status != "needs_reauth") {
            continue;
        }
        sightings.seen(&account.id);
        match reconnect(http, cluster, key, account).await {
            Ok(()) => sightings.reconnected(&account.id),
            Err(_) => failed += 1,
        }
    }
    Ok(failed)
}

/// The marker that ties a pin to its post: a link unique to the run (`nonce`) and the post.
fn marker(kind: &str, nonce: &str, i: usize) -> String {
    format!("https://shop.example/{kind}/{nonce}/{i}")
}

/// Sends `p.posts` posts in batches, spread over `over`, each batch to a random live replica and
/// again (same `Idempotency-Key`) to another when a replica dies under it. Each post's `link` is
/// its marker.
async fn submit(
    http: &reqwest::Client,
    urls: &Mutex<Vec<String>>,
    key: &str,
    accounts: &[BenchAccount],
    p: &Params,
    over: Duration,
    run: &str,
) -> Result<Submitted> {
    let batches = p.posts.div_ceil(p.batch.max(1));
    let interval = over / (batches as u32).max(1);
    let start = tokio::time::Instant::now();
    let mut submitted = Submitted::default();
    for b in 0..batches {
        tokio::time::sleep_until(start + interval * b as u32).await;
        let posts: Vec<Value> = (b * p.batch..((b + 1) * p.batch).min(p.posts))
            .map(|i| {
                let account = &accounts[i % accounts.len()];
                json!({
                    "account_id": account.id,
                    "board_id": account.board_id,
                    "title": format!("Chaos {i}"),
                    "link": marker("chaos", run, i),
                    "image_url": format!("https://cdn.example/chaos-{i}.jpg"),
                })
            })
            .collect();
        let body = json!({ "posts": posts });
        let idempotency_key = format!("chaos-{run}-{b}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let url = {
                let urls = urls.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                if urls.is_empty() {
                    None
                } else {
                    Some(urls[rand::rng().random_range(0..urls.len())].clone())
                }
            };
            let reply = match url {
                Some(url) => http
                    .post(format!("{url}/v1/posts/batch"))
                    .bearer_auth(key)
                    .header("Idempotency-Key", &idempotency_key)
                    .json(&body)
                    .send()
                    .await
                    .ok(),
                None => None,
            };
            let reply: Option<Value> = match reply {
                Some(reply) if reply.status().is_success() => reply.json().await.ok(),
                _ => None,
            };
            let transient = |status: u16| status >= 500 || status == 429;
            let complete = reply.as_ref().is_some_and(|reply| {
                reply["results"].as_array().is_some_and(|items| {
                    items
                        .iter()
                        .all(|item| !transient(item["status"].as_u64().unwrap_or(500) as u16))
                })
            });
            if complete || attempt >= 20 {
                let Some(reply) = reply else {
                    bail!("batch {b} could not be sent in {attempt} attempts");
                };
                for item in reply["results"].as_array().into_iter().flatten() {
                    let status = item["status"].as_u64().unwrap_or(0) as u16;
                    match item["post"]["id"].as_str() {
                        Some(id) if (200..300).contains(&status) => {
                            submitted.accepted.push(id.to_owned());
                        }
                        _ => {
                            let code = item["error"]["code"].as_str().unwrap_or("?");
                            *submitted
                                .refused
                                .entry(format!("{status} {code}"))
                                .or_default() += 1;
                        }
                    }
                }
                break;
            }
            submitted.resent += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(submitted)
}

async fn sandbox_call(http: &reqwest::Client, sandbox: &str, path: &str) -> Result<()> {
    http.post(format!("{sandbox}/_sandbox/{path}"))
        .send()
        .await?
        .error_for_status()
        .with_context(|| format!("POST /_sandbox/{path}"))?;
    Ok(())
}

/// Connects `account` again through a replica's OAuth flow (the sandbox approves at once), until
/// the account is `active` (replicas may die in between; each try starts over).
async fn reconnect(
    http: &reqwest::Client,
    cluster: &Cluster,
    key: &str,
    account: &BenchAccount,
) -> Result<()> {
    let mut last_error = anyhow::anyhow!("no replica");
    for _ in 0..10 {
        let Some(url) = cluster.any_url() else {
            break;
        };
        let attempt = async {
            let started: Value = http
                .post(format!("{url}/v1/accounts/connect"))
                .bearer_auth(key)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let mut consent = url::Url::parse(
                started["authorize_url"]
                    .as_str()
                    .context("no authorize_url")?,
            )?;
            consent
                .query_pairs_mut()
                .append_pair("sandbox_user", &account.username);
            let approved = http.get(consent).send().await?;
            let callback = approved
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .context("no redirect from the consent page")?
                .to_owned();
            http.get(&callback).send().await?.error_for_status()?;
            let shown: Value = http
                .get(format!("{url}/v1/accounts/{}", account.id))
                .bearer_auth(key)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            if shown["status"] != json!("active") {
                bail!("the account is {} after reconnecting", shown["status"]);
            }
            Ok::<(), anyhow::Error>(())
        };
        match attempt.await {
            Ok(()) => return Ok(()),
            Err(error) => last_error = error,
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err(last_error)
}

/// The posts table against the sandbox's boards.
#[derive(Debug, Default)]
struct Audit {
    posts: usize,
    published: usize,
    adopted: usize,
    held: usize,
    failed_by_class: BTreeMap<String, usize>,
    /// Acknowledged, but not in the database.
    missing: usize,
    /// Still queued or publishing (or held without a reason) at the end.
    unfinished: usize,
    /// Published, but its pin is not on the board.
    pin_missing: usize,
    /// Pins beyond the first for one post.
    extra_pins: usize,
    /// Pins whose marker is no post's.
    stray_pins: usize,
    failed_but_live: usize,
    /// Why posts failed for good (their last error, shortened), with counts.
    failed_because: BTreeMap<String, usize>,
    pins: usize,
}

impl Audit {
    fn lost(&self) -> usize {
        self.missing + self.unfinished + self.pin_missing
    }

    fn lost_detail(&self) -> String {
        format!(
            "{} missing from the database, {} unfinished, {} published without their pin",
            self.missing, self.unfinished, self.pin_missing
        )
    }

    fn duplicated(&self) -> usize {
        self.extra_pins + self.stray_pins
    }

    fn duplicated_detail(&self) -> String {
        format!(
            "{} extra pins for a post, {} pins of no post",
            self.extra_pins, self.stray_pins
        )
    }
}

async fn audit(env: &Env, accounts: &[BenchAccount], accepted: &[String]) -> Result<Audit> {
    let mut audit = Audit::default();
    let mut ids = HashSet::new();
    for account in accounts {
        let posts = env.posts_of(&account.id).await?;
        let pins = board_pins(env, account).await?;
        audit.pins += pins.len();
        let mut by_marker: HashMap<&str, Vec<&str>> = HashMap::new();
        for (id, link) in &pins {
            by_marker
                .entry(link.as_str())
                .or_default()
                .push(id.as_str());
        }
        let mut markers = HashSet::new();
        for post in &posts {
            ids.insert(post.id.clone());
            audit.posts += 1;
            // Every post of the run has a marker; one without would match no pin, and its pin
            // would count as a stray.
            let marker = post.link.as_deref().unwrap_or_default();
            markers.insert(marker);
            let live = by_marker.get(marker).map_or(&[][..], Vec::as_slice);
            audit.extra_pins += live.len().saturating_sub(1);
            match post.status.as_str() {
                PostRow::PUBLISHED => {
                    audit.published += 1;
                    if post
                        .pin_id
                        .as_deref()
                        .is_none_or(|pin| !live.contains(&pin))
                    {
                        audit.pin_missing += 1;
                    }
                }
                PostRow::FAILED => {
                    *audit
                        .failed_by_class
                        .entry(post.last_error_class.clone().unwrap_or_else(|| "?".into()))
                        .or_default() += 1;
                    let because: String = post
                        .last_error_message
                        .as_deref()
                        .unwrap_or("?")
                        .chars()
                        .take(100)
                        .collect();
                    *audit.failed_because.entry(because).or_default() += 1;
                    if !live.is_empty() {
                        audit.failed_but_live += 1;
                    }
                }
                PostRow::HELD if post.held_reason.is_some() => audit.held += 1,
                PostRow::CANCELED => {}
                _ => audit.unfinished += 1,
            }
        }
        audit.stray_pins += pins
            .iter()
            .filter(|(_, link)| link.is_empty() || !markers.contains(link.as_str()))
            .count();
        audit.adopted += adopted_count(env, &posts).await?;
    }
    audit.missing = accepted.iter().filter(|id| !ids.contains(*id)).count();
    Ok(audit)
}

/// Published posts whose pin was adopted (found on the board after an unknown outcome).
async fn adopted_count(env: &Env, posts: &[PostRow]) -> Result<usize> {
    let mut adopted = 0;
    for post in posts.iter().filter(|p| p.status == PostRow::PUBLISHED) {
        if post.attempts > 1 || post.outcome_unknown_since.is_some() {
            let attempts = env.store().post_attempts(&post.id).await?;
            if attempts
                .iter()
                .any(|a| a.outcome.as_deref() == Some(pinline_store::PostAttemptRow::ADOPTED))
            {
                adopted += 1;
            }
        }
    }
    Ok(adopted)
}

/// Every pin on the account's board at the sandbox: (id, link), the link being the marker.
async fn board_pins(env: &Env, account: &BenchAccount) -> Result<Vec<(String, String)>> {
    let token = env.mint_token(&account.pinterest_user_id).await?;
    let mut pins = Vec::new();
    let mut bookmark: Option<String> = None;
    loop {
        let mut request = env
            .http
            .get(format!(
                "{}/v5/boards/{}/pins",
                env.sandbox.base_url(),
                account.board_id
            ))
            .bearer_auth(&token)
            .query(&[("page_size", "250")]);
        if let Some(bookmark) = &bookmark {
            request = request.query(&[("bookmark", bookmark)]);
        }
        let page: Value = request
            .send()
            .await?
            .error_for_status()
            .context("listing a board's pins at the sandbox")?
            .json()
            .await?;
        for pin in page["items"].as_array().into_iter().flatten() {
            pins.push((
                pin["id"].as_str().unwrap_or_default().to_owned(),
                pin["link"].as_str().unwrap_or_default().to_owned(),
            ));
        }
        match page["bookmark"].as_str() {
            Some(next) if !next.is_empty() => bookmark = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(pins)
}

/// The fencing run: replica A paces slowly (4 creates/s), so it holds claims on posts waiting for their turn;
/// it is SIGSTOPped, B takes the posts over once A's leases run out and publishes them all; then
/// A gets SIGCONT and must neither record a completion nor create a pin.
async fn fencing_run(
    env: &Env,
    spec: &ReplicaSpec,
    key: &str,
    p: &Params,
    backend: BackendKind,
) -> Result<(Vec<String>, Vec<String>)> {
    let account = env.connect("fencing").await?;
    let mut slow = spec.clone();
    slow.env
        .retain(|(name, _)| name != "PINLINE_PINTEREST_RATES");
    slow.env.push((
        "PINLINE_PINTEREST_RATES".to_owned(),
        "org_write=4/s,org_read=1000/s".to_owned(),
    ));
    let tally = Arc::new(LogTally::default());
    let a = Replica::start(&slow, tally.clone()).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let posts: Vec<Value> = (0..p.fencing_posts)
        .map(|i| {
            json!({
                "account_id": account.id,
                "board_id": account.board_id,
                "title": format!("Fenced {i}"),
                "link": marker("fenced", &nonce, i),
                "image_url": format!("https://cdn.example/fenced-{i}.jpg"),
            })
        })
        .collect();
    let reply: Value = http
        .post(format!("{}/v1/posts/batch", a.base_url))
        .bearer_auth(key)
        .json(&json!({ "posts": posts }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let accepted: Vec<String> = reply["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["post"]["id"].as_str().map(str::to_owned))
        .collect();

    // Wait until A is mid-flow: a couple of pins out, posts claimed and waiting for the pace.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut notes = Vec::new();
    loop {
        let done = env
            .stats()
            .pins_by_user
            .get(&account.pinterest_user_id)
            .copied()
            .unwrap_or(0);
        if done >= 2 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop()?;
    let frozen_at = Instant::now();
    let claimed = env
        .posts_of(&account.id)
        .await?
        .iter()
        .filter(|post| post.status == PostRow::PUBLISHING)
        .count();

    // B, at full pace, takes the posts over once A's leases expire.
    let b = Replica::start(spec, tally.clone()).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut b_finished = true;
    loop {
        let published = env
            .posts_of(&account.id)
            .await?
            .iter()
            .filter(|post| post.status == PostRow::PUBLISHED)
            .count();
        if published >= accepted.len() {
            break;
        }
        if Instant::now() >= deadline {
            notes.push(format!(
                "B published only {published} of {} in 60 s",
                accepted.len()
            ));
            b_finished = false;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pins_before = env.stats().pins_created;
    let frozen_for = frozen_at.elapsed();
    a.resume()?;
    // A's pacer still spaces its waiting posts at 4/s: give it time to reach every claim it
    // held (each ends fenced out), and some more for a pin that would come late.
    let patience = Duration::from_secs(3) + Duration::from_millis(250) * claimed as u32;
    let deadline = Instant::now() + patience.min(Duration::from_secs(20));
    while a.log.fenced_out() < claimed as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pins_after = env.stats().pins_created;
    let a_fenced = a.log.fenced_out();
    a.kill().await?;
    b.kill().await?;

    let posts = env.posts_of(&account.id).await?;
    let mut fenced_attempts = 0;
    for post in &posts {
        fenced_attempts += env
            .store()
            .post_attempts(&post.id)
            .await?
            .iter()
            .filter(|a| a.outcome.as_deref() == Some(pinline_store::PostAttemptRow::FENCED_OUT))
            .count();
    }
    let audit = audit(env, std::slice::from_ref(&account), &accepted).await?;
    let after_cont = pins_after - pins_before;
    let mut failures = Vec::new();
    if !b_finished {
        // Pins counted after SIGCONT could then be B's own; the takeover itself failed.
        failures.push(format!(
            "fencing: the other replica could not take over every post while one was frozen ({after_cont} pin(s) after SIGCONT, from either)"
        ));
    } else if after_cont > 0 {
        failures.push(format!(
            "fencing: the frozen replica created {after_cont} pin(s) after SIGCONT"
        ));
    }
    if audit.lost() > 0 {
        failures.push(format!(
            "fencing: {} lost ({})",
            audit.lost(),
            audit.lost_detail()
        ));
    }
    if audit.duplicated() > 0 {
        failures.push(format!(
            "fencing: {} duplicated ({})",
            audit.duplicated(),
            audit.duplicated_detail()
        ));
    }
    if claimed == 0 {
        notes.push("A held no claim when frozen: the run proves little".to_owned());
    }
    let row = vec![
        backend.name().to_owned(),
        p.lease_secs.to_string(),
        accepted.len().to_string(),
        claimed.to_string(),
        format!("{:.1}", frozen_for.as_secs_f64()),
        audit.published.to_string(),
        a_fenced.to_string(),
        fenced_attempts.to_string(),
        after_cont.to_string(),
        audit.lost().to_string(),
        audit.duplicated().to_string(),
        if notes.is_empty() {
            "–".to_owned()
        } else {
            notes.join("; ")
        },
    ];
    Ok((row, failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_needs_reauth_spell_counts_once_however_many_reconnects_it_takes() {
        let mut sightings = Sightings::default();
        sightings.seen("a");
        sightings.seen("a");
        assert_eq!(sightings.spells("a"), 1);
        sightings.reconnected("a");
        sightings.seen("a");
        assert_eq!((sightings.spells("a"), sightings.spells("b")), (2, 0));
    }

    #[test]
    fn markers_are_unique_per_run_and_post() {
        assert_ne!(marker("chaos", "n1", 1), marker("chaos", "n1", 2));
        assert_ne!(marker("chaos", "n1", 1), marker("chaos", "n2", 1));
        assert_ne!(marker("chaos", "n1", 1), marker("fenced", "n1", 1));
    }
}
