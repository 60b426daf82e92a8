//! The posts-due hint on PostgreSQL between two `Store` handles on one database, as two replicas
//! would have: a hint from one wakes the other's listener, a burst is debounced, the switch turns
//! sending off, a lost listener connection wakes when it is back, and the listener stops when
//! told to. On SQLite there is no hint and no listener.

use std::time::{Duration, Instant};

use pinline_store::testing::TestDatabase;
use pinline_store::{DatabaseLocation, HINT_DEBOUNCE, PostsDueListener, Store, Wake};
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long any expected wake may take.
const DEADLINE: Duration = Duration::from_secs(10);

/// A listener running on its own task, reporting every wake.
struct Running {
    wakes: mpsc::UnboundedReceiver<(Wake, Instant)>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

fn run(listener: PostsDueListener) -> Running {
    let (sender, wakes) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(listener.run(
        move |wake| {
            let _ = sender.send((wake, Instant::now()));
        },
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        wakes,
        stop: Some(stop),
        task,
    }
}

impl Running {
    async fn next_wake(&mut self) -> (Wake, Instant) {
        tokio::time::timeout(DEADLINE, self.wakes.recv())
            .await
            .expect("woken before the deadline")
            .expect("the listener is running")
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the listener stops when told to")
            .expect("the listener task ends cleanly");
    }
}

/// A second pool on the same database, as another replica would open.
async fn other_replica(db: &TestDatabase) -> Store {
    Store::open(&DatabaseLocation::parse(&db.url).expect("url"))
        .await
        .expect("second store")
}

async fn listening(store: &Store) -> PostsDueListener {
    let listener = store
        .listen_for_posts_due()
        .await
        .expect("PostgreSQL has a listener");
    assert!(listener.is_listening());
    listener
}

const NOW: i64 = 1_800_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hint_from_one_replica_wakes_the_other() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let replica_b = other_replica(&db).await;
    let mut b = run(listening(&replica_b).await);

    let hints = db.store.posts_due_hints(true);
    assert!(hints.is_enabled());
    assert!(
        !hints.posts_due(NOW + 60_000, NOW),
        "a post due in a minute is found by the next look at the queue, not hinted"
    );
    assert!(hints.posts_due(NOW + 500, NOW), "due within a second");
    let (wake, _) = b.next_wake().await;
    assert_eq!(wake, Wake::Notified);

    b.stop().await;
    replica_b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_within_the_window_goes_as_one_hint_at_its_end() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let replica_b = other_replica(&db).await;
    let mut b = run(listening(&replica_b).await);

    let hints = db.store.posts_due_hints(true);
    assert!(hints.posts_due(NOW, NOW));
    let (first, at_first) = b.next_wake().await;
    // A burst right after a hint was sent: it waits out the window, then goes as one.
    for _ in 0..50 {
        assert!(hints.posts_due(NOW, NOW));
    }
    let (second, at_second) = b.next_wake().await;
    assert_eq!((first, second), (Wake::Notified, Wake::Notified));
    assert!(
        at_second.duration_since(at_first) >= HINT_DEBOUNCE / 2,
        "hints {:?} apart",
        at_second.duration_since(at_first)
    );
    assert!(
        tokio::time::timeout(HINT_DEBOUNCE * 3, b.wakes.recv())
            .await
            .is_err(),
        "no third hint for one burst"
    );
    assert_eq!(hints.sent(), 2);

    b.stop().await;
    replica_b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switched_off_nothing_is_sent() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let replica_b = other_replica(&db).await;
    let mut b = run(listening(&replica_b).await);

    let off = db.store.posts_due_hints(false);
    assert!(!off.is_enabled());
    assert!(!off.posts_due(NOW, NOW));
    assert_eq!(off.sent(), 0);
    // A hint sent after it is the first the listener hears: notifications arrive in commit
    // order, so one sent by the switched-off handle would have come first.
    let on = db.store.posts_due_hints(true);
    assert!(on.posts_due(NOW, NOW));
    assert_eq!(b.next_wake().await.0, Wake::Notified);
    assert!(b.wakes.try_recv().is_err(), "one notification only");

    b.stop().await;
    replica_b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_lost_its_connection_wakes_when_it_is_back() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let replica_b = other_replica(&db).await;
    let listener = listening(&replica_b).await;
    let pid = listener.backend_pid().expect("connected");
    let mut b = run(listener);

    // The server ends the listener's session, as a failover or an administrator would.
    let mut admin = sqlx::PgConnection::connect(&db.url)
        .await
        .expect("admin connection");
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .expect("terminate the listener's session");
    assert!(ended);
    let _ = admin.close().await;
    // Hints sent while it was away are lost: coming back counts as one.
    assert_eq!(b.next_wake().await.0, Wake::Reconnected);
    // And it listens again.
    let hints = db.store.posts_due_hints(true);
    let deadline = Instant::now() + DEADLINE;
    loop {
        assert!(
            Instant::now() < deadline,
            "no hint heard after the reconnect"
        );
        assert!(hints.posts_due(NOW, NOW));
        // A hint sent before the new session's LISTEN is not heard; the next one is.
        match tokio::time::timeout(HINT_DEBOUNCE * 5, b.wakes.recv()).await {
            Ok(Some((Wake::Notified, _))) => break,
            Ok(Some((Wake::Reconnected, _))) | Err(_) => continue,
            Ok(None) => panic!("the listener stopped"),
        }
    }

    b.stop().await;
    replica_b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_has_no_hints_and_no_listener() {
    let db = TestDatabase::sqlite().await;
    let hints = db.store.posts_due_hints(true);
    assert!(!hints.is_enabled());
    assert!(!hints.posts_due(NOW, NOW));
    assert!(db.store.listen_for_posts_due().await.is_none());
}
