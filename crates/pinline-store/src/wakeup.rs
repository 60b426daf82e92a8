//! A hint between replicas that posts are due: PostgreSQL `NOTIFY` on the channel
//! [`POSTS_DUE_CHANNEL`], sent after a post due now is committed ([`PostsDueHints`]) and heard
//! by one listener per process ([`PostsDueListener`]), which wakes that process's publisher.
//!
//! Without it, a post accepted by replica A is seen by replica B only at B's idle poll; A's own
//! publisher is woken in process and publishes it on time, so the hint only lets the other
//! replicas share a burst sooner.
//!
//! **A hint, never the mechanism.** Workers still sleep until the next due time they read and
//! poll when idle; a lost notification costs at most one idle poll. That is deliberate:
//!
//! * Every transaction that sent a `NOTIFY` takes a lock on "database 0" at commit and holds it
//!   until after the commit, so that notifications queue in commit order. The lock is
//!   cluster-wide: under many concurrent writers it serialises their commits (Recall.ai's
//!   outages in March 2025; graph-node, factcast and que hit the same lock). So the `NOTIFY` is
//!   never sent inside a business transaction: it is a statement of its own, after the post's
//!   commit, and it is debounced to at most one per [`HINT_DEBOUNCE`] per process (as River
//!   limits its notifications to one per 100 ms); hints asked for during a window go as one
//!   `NOTIFY` when it ends, so every hint is covered by a notification sent after it.
//! * Only posts due within [`HINT_HORIZON_MS`] are worth a hint: later ones are found by the
//!   other replicas' next look at the queue, long before they fall due.
//! * `LISTEN` needs a session of its own (not through a transaction-pooling proxy), so the
//!   listener holds one dedicated connection outside the store's pool.
//! * sqlx's `PgListener` reconnects by itself but drops what was sent while it was
//!   disconnected: a reconnect wakes the callback as a notification would ([`Wake::Reconnected`]).
//! * Sending fails only into the log: the post is already committed and will be published.
//!
//! Notifications go to every database session listening on the channel, across schemas: the
//! payload names the sender's schema, and a listener ignores other schemas' hints (separate
//! pinline installations sharing one database, or tests running side by side).
//!
//! On SQLite there is nothing to do: one process owns the file, and its publisher is woken in
//! process.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::mpsc;

use crate::Store;
use crate::store::Pools;

/// The channel the hints are sent on.
pub const POSTS_DUE_CHANNEL: &str = "pinline_posts_due";

/// At most one hint per this long per process.
pub const HINT_DEBOUNCE: Duration = Duration::from_millis(100);

/// A post due within this many milliseconds of now is worth a hint.
pub const HINT_HORIZON_MS: i64 = 1_000;

/// First pause before the listener connects again after losing its connection; doubled up to
/// [`RECONNECT_MAX`].
const RECONNECT_MIN: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// What the listener's connection is called in `pg_stat_activity`.
const LISTENER_APPLICATION_NAME: &str = "pinline posts-due listener";

/// Sends the posts-due hint. Cheap to clone; all clones share one sender task, which ends when
/// the last clone is dropped.
#[derive(Debug, Clone, Default)]
pub struct PostsDueHints {
    /// `None` when hints are off (switched off, or SQLite).
    sender: Option<HintSender>,
}

#[derive(Debug, Clone)]
struct HintSender {
    /// One slot: a hint asked for while one waits is already covered by it.
    queue: mpsc::Sender<()>,
    sent: Arc<AtomicU64>,
}

impl PostsDueHints {
    /// Hints that are never sent.
    pub fn disabled() -> PostsDueHints {
        PostsDueHints::default()
    }

    /// Whether hints are sent at all.
    pub fn is_enabled(&self) -> bool {
        self.sender.is_some()
    }

    /// Asks for a hint that a post due at `due_at_ms` was committed; `now_ms` is the caller's
    /// clock. Returns whether a hint is on its way: false when hints are off or the post is not
    /// due within [`HINT_HORIZON_MS`]. Never waits: the hint is sent by a task of its own, at
    /// once or at the end of the current [`HINT_DEBOUNCE`] window.
    pub fn posts_due(&self, due_at_ms: i64, now_ms: i64) -> bool {
        let Some(sender) = &self.sender else {
            return false;
        };
        if due_at_ms > now_ms.saturating_add(HINT_HORIZON_MS) {
            return false;
        }
        match sender.queue.try_send(()) {
            // Full: a hint is already waiting for the window to end, and covers this post.
            Ok(()) | Err(mpsc::error::TrySendError::Full(())) => true,
            Err(mpsc::error::TrySendError::Closed(())) => false,
        }
    }

    /// Notifications sent so far (for tests and metrics).
    pub fn sent(&self) -> u64 {
        self.sender
            .as_ref()
            .map_or(0, |sender| sender.sent.load(Ordering::Relaxed))
    }
}

/// Why a [`PostsDueListener`] called its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Another process (or this one) hinted that posts are due.
    Notified,
    /// The listener connected again after losing its connection: hints sent meanwhile were
    /// lost, so this counts as one.
    Reconnected,
}

/// Listens for the posts-due hint on a dedicated connection. Made by
/// [`Store::listen_for_posts_due`]; [`PostsDueListener::run`] does the listening.
pub struct PostsDueListener {
    options: PgConnectOptions,
    listener: Option<PgListener>,
    /// This installation's schema: hints naming another are ignored.
    schema: String,
    /// The server process of the listening connection.
    backend_pid: Option<i32>,
}

impl std::fmt::Debug for PostsDueListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostsDueListener")
            .field("listening", &self.is_listening())
            .field("schema", &self.schema)
            .finish()
    }
}

impl Store {
    /// Hints for [`PostsDueHints::posts_due`]: sent when `enabled` and on PostgreSQL, disabled
    /// otherwise. Starts the sender task, so call it inside a Tokio runtime.
    pub fn posts_due_hints(&self, enabled: bool) -> PostsDueHints {
        let Pools::Postgres(pool) = &self.pools else {
            return PostsDueHints::disabled();
        };
        if !enabled {
            return PostsDueHints::disabled();
        }
        let (queue, waiting) = mpsc::channel(1);
        let sent = Arc::new(AtomicU64::new(0));
        tokio::spawn(send_hints(pool.clone(), waiting, sent.clone()));
        PostsDueHints {
            sender: Some(HintSender { queue, sent }),
        }
    }

    /// A listener for the posts-due hint on a connection of its own, already listening when
    /// this returns if the database could be reached (otherwise it keeps trying once run, and
    /// wakes when it gets through). `None` on SQLite.
    pub async fn listen_for_posts_due(&self) -> Option<PostsDueListener> {
        let Pools::Postgres(pool) = &self.pools else {
            return None;
        };
        let options = PgConnectOptions::clone(&pool.connect_options())
            .application_name(LISTENER_APPLICATION_NAME);
        let mut listener = PostsDueListener {
            options,
            listener: None,
            schema: String::new(),
            backend_pid: None,
        };
        if let Err(error) = listener.connect().await {
            tracing::warn!(
                error = %error,
                "cannot listen for posts-due hints yet; retrying (replicas poll meanwhile)"
            );
        }
        Some(listener)
    }
}

impl PostsDueListener {
    /// Whether the listener holds a listening connection now.
    pub fn is_listening(&self) -> bool {
        self.listener.is_some()
    }

    /// The PostgreSQL server process of the listening connection, when connected (tests
    /// terminate it to prove a reconnect wakes).
    pub fn backend_pid(&self) -> Option<i32> {
        self.backend_pid
    }

    /// Opens the dedicated connection (a pool of one, through which `PgListener` reconnects),
    /// listens, and reads this installation's schema.
    async fn connect(&mut self) -> Result<(), sqlx::Error> {
        self.listener = None;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(self.options.clone())
            .await?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(POSTS_DUE_CHANNEL).await?;
        let (schema, pid): (String, i32) =
            sqlx::query_as("SELECT COALESCE(current_schema()::text, ''), pg_backend_pid()")
                .fetch_one(&mut listener)
                .await?;
        self.listener = Some(listener);
        self.schema = schema;
        self.backend_pid = Some(pid);
        Ok(())
    }

    /// Calls `on_wake` for every hint of this installation and after every reconnect, until
    /// `stop` completes. A lost connection is re-opened with a growing pause between attempts.
    pub async fn run<F, S>(mut self, mut on_wake: F, stop: S)
    where
        F: FnMut(Wake) + Send,
        S: Future<Output = ()> + Send,
    {
        tokio::pin!(stop);
        let mut pause = RECONNECT_MIN;
        loop {
            let Some(listener) = self.listener.as_mut() else {
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(pause) => {}
                }
                match self.connect().await {
                    Ok(()) => {
                        tracing::info!("listening for posts-due hints again");
                        pause = RECONNECT_MIN;
                        on_wake(Wake::Reconnected);
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "cannot listen for posts-due hints; retrying");
                        pause = (pause * 2).min(RECONNECT_MAX);
                    }
                }
                continue;
            };
            let received = tokio::select! {
                () = &mut stop => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => {
                    if notification.payload() == self.schema {
                        on_wake(Wake::Notified);
                    }
                }
                // The connection was lost and sqlx opened a new one, listening again.
                Ok(None) => {
                    tracing::info!("the posts-due listener reconnected");
                    on_wake(Wake::Reconnected);
                }
                Err(error) => {
                    // Dropped and opened afresh (with its own pool) rather than trusting sqlx
                    // to recover from an error it did not classify as a lost connection.
                    tracing::warn!(error = %error, "the posts-due listener lost its connection");
                    self.listener = None;
                    self.backend_pid = None;
                }
            }
        }
    }
}

/// The sender task: one `NOTIFY` per hint, then a pause of [`HINT_DEBOUNCE`] during which
/// further hints wait (coalesced into one) for the next round. Ends when every
/// [`PostsDueHints`] clone is dropped.
async fn send_hints(pool: PgPool, mut waiting: mpsc::Receiver<()>, sent: Arc<AtomicU64>) {
    while waiting.recv().await.is_some() {
        // Autocommit: a transaction of its own, after the post's, holding the commit-order
        // lock only for this one statement.
        let notified = sqlx::query("SELECT pg_notify($1, COALESCE(current_schema()::text, ''))")
            .bind(POSTS_DUE_CHANNEL)
            .execute(&pool)
            .await;
        match notified {
            Ok(_) => {
                sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                tracing::warn!(error = %error, "could not send a posts-due hint; replicas will see the post at their next poll");
            }
        }
        tokio::time::sleep(HINT_DEBOUNCE).await;
    }
}
