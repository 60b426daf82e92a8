//! Serving the router on a listener, with limits on what one connection may hold.
//!
//! `axum::serve` reads request headers for as long as a client cares to send them, and keeps
//! any number of connections: 200 clients that open a connection and send a header line now and
//! then hold 200 tasks and sockets forever (slowloris). Here each connection must send a whole
//! request head within [`ConnectionLimits::header_read_timeout`], counted from when the server
//! starts waiting for it: for a new connection from its accept, for a kept-alive one from the
//! end of the previous answer, so an idle connection is closed after the same time. At most
//! [`ConnectionLimits::max_connections`] are open at once; beyond that, new connections wait in
//! the kernel's backlog until a slot frees.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// How long a connection may take and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The time a connection has to send a complete request head (request line and headers),
    /// and the most a kept-alive connection may sit idle between requests.
    pub header_read_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// The default header-read timeout: long enough for any real client on a slow link.
    pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default cap on open connections.
    pub const MAX_CONNECTIONS: usize = 1024;
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: ConnectionLimits::HEADER_READ_TIMEOUT,
            max_connections: ConnectionLimits::MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets the
/// requests in flight finish, and returns. Each request carries its peer as
/// `ConnectInfo<SocketAddr>`, as `into_make_service_with_connect_info` would give it.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Told to every connection when the server stops; the connections' clones of `open` are
    // dropped as they end, which is how the server knows they all have.
    let (stopping, stop) = watch::channel(false);
    let (open, all_closed) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, a connection reset before accept, …: the
                    // listener itself is fine, so the loop goes on.
                    // A short pause keeps a persistent error from spinning the loop.
                    tracing::warn!(error = %error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let mut stop = stop.clone();
        let open = open.subscribe();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    router.clone().oneshot(request)
                });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            let stopped = async move {
                // The guard `wait_for` returns is not `Send`; it is dropped here, at once.
                let _ = stop.wait_for(|stopping| *stopping).await.map(|_| ());
            };
            tokio::select! {
                result = connection.as_mut() => log_end(result),
                () = stopped => {
                    connection.as_mut().graceful_shutdown();
                    log_end(connection.await);
                }
            }
            drop(open);
            drop(slot);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    drop(all_closed);
    open.closed().await;
    Ok(())
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(error) = result {
        // Timeouts and clients that went away: routine, not worth more than debug.
        tracing::debug!(error = %error, "connection ended with an error");
    }
}
