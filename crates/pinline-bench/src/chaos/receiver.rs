//! The chaos run's webhook receiver: an HTTP server on 127.0.0.1 inside the bench process that
//! checks each delivery's signature and records which posts' `post.published` arrived, so the run
//! can tell whether every published post's event reached the receiver at least once whatever
//! the replicas went through.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::task::JoinHandle;

/// What the receiver has seen.
#[derive(Debug, Default)]
struct Seen {
    /// The signing secret, once the webhook is registered.
    secret: Mutex<Option<String>>,
    /// Post ids of the `post.published` events received.
    published: Mutex<HashSet<String>>,
    /// Deliveries answered 2xx (retries and repeats included).
    deliveries: AtomicU64,
    /// Deliveries refused because their signature did not verify.
    bad_signatures: AtomicU64,
}

/// A running receiver; stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    /// Where to point the webhook.
    pub url: String,
    seen: Arc<Seen>,
    server: JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the webhook receiver")?;
        let url = format!("http://{}/hooks/pinline", listener.local_addr()?);
        let seen = Arc::new(Seen::default());
        let app = Router::new()
            .route("/hooks/pinline", post(receive))
            .with_state(seen.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::warn!(%error, "the webhook receiver stopped");
            }
        });
        Ok(Receiver { url, seen, server })
    }

    /// The secret `POST /v1/webhooks` answered with; deliveries are verified against it.
    pub fn set_secret(&self, secret: String) {
        if let Ok(mut slot) = self.seen.secret.lock() {
            *slot = Some(secret);
        }
    }

    /// Post ids whose `post.published` arrived.
    pub fn published(&self) -> HashSet<String> {
        self.seen
            .published
            .lock()
            .map(|set| set.clone())
            .unwrap_or_default()
    }

    pub fn deliveries(&self) -> u64 {
        self.seen.deliveries.load(Ordering::Relaxed)
    }

    pub fn bad_signatures(&self) -> u64 {
        self.seen.bad_signatures.load(Ordering::Relaxed)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(seen): State<Arc<Seen>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    use pinline_webhooks::signature::{DEFAULT_TOLERANCE_SECS, HEADER, verify};
    let secret = seen.secret.lock().ok().and_then(|slot| slot.clone());
    let header = headers
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let now_secs = time::OffsetDateTime::now_utc().unix_timestamp();
    let verified = secret.is_some_and(|secret| {
        verify(&secret, header, &body, now_secs, DEFAULT_TOLERANCE_SECS).is_ok()
    });
    if !verified {
        // Refused, so pinline tries again; counted, so the run fails on it.
        seen.bad_signatures.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if event["type"] == "post.published"
        && let Some(post_id) = event["data"]["post_id"].as_str()
        && let Ok(mut published) = seen.published.lock()
    {
        published.insert(post_id.to_owned());
    }
    seen.deliveries.fetch_add(1, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}
