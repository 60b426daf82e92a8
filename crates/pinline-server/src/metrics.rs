//! `GET /metrics`: Prometheus metrics in the OpenMetrics text format.
//!
//! Counted where they happen, with atomics: the publisher's attempts, lag, claims and budget
//! deferrals (`pinline_queue::metrics`), webhook delivery attempts (`pinline_webhooks`), and
//! here the HTTP requests by route and status with their latency. Read at scrape time, because
//! any replica changes them: queue depth by status (`queued`, `publishing`, `held`; an index
//! range each, never a scan of published posts), accounts by status, the webhook backlog.
//! Token refreshes are counted from the vault's events, taken at each scrape.
//!
//! Labels are small closed sets: a route is its template (`/v1/posts/{post_id}`), never an id.
//! When `PINLINE_METRICS_TOKEN` is set the endpoint wants it as a bearer token; otherwise it is
//! open, like `/healthz`, for a scraper on the same network.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pinline_store::PostRow;
use pinline_vault::events::{VaultEvent, kind as vault_kind};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::state::AppState;

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets of API requests, seconds.
const REQUEST_BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Every metric of the process and the registry that names them.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram>,
    queue_depth: Family<StatusLabels, Gauge>,
    accounts: Family<StatusLabels, Gauge>,
    webhook_backlog: Gauge,
    refreshes: Family<ResultLabels, Counter>,
    vault_events: Mutex<broadcast::Receiver<VaultEvent>>,
}

/// The statuses whose depth is a gauge: the posts still to do.
const QUEUE_STATUSES: [&str; 3] = [PostRow::QUEUED, PostRow::PUBLISHING, PostRow::HELD];

/// Account statuses, for the gauge (every one is set, zeros included).
const ACCOUNT_STATUSES: [&str; 4] = ["active", "refreshing", "needs_reauth", "disconnected"];

fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_BUCKETS)
}

impl Metrics {
    /// Registers the services' metrics and this module's.
    pub fn new(
        publisher: &pinline_queue::Publisher,
        webhooks: &pinline_webhooks::Webhooks,
        credential: &crate::passthrough::CredentialMetrics,
        vault_events: broadcast::Receiver<VaultEvent>,
    ) -> Metrics {
        let mut registry = Registry::with_prefix("pinline");
        publisher.metrics().register(&mut registry);
        webhooks.metrics().register(&mut registry);
        credential.register(&mut registry);
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let request_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(request_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "How long answering an HTTP request took, by method and route template",
            request_duration.clone(),
        );
        let queue_depth = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "posts",
            "Posts not yet done, by status (queued, publishing, held), at the last scrape",
            queue_depth.clone(),
        );
        let accounts = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "accounts",
            "Connected accounts by status, at the last scrape",
            accounts.clone(),
        );
        let webhook_backlog = Gauge::default();
        registry.register(
            "webhook_deliveries_pending",
            "Webhook deliveries waiting for their next attempt, at the last scrape",
            webhook_backlog.clone(),
        );
        let refreshes = Family::<ResultLabels, Counter>::default();
        registry.register(
            "token_refreshes",
            "Token refreshes seen by this process, by result (ok, failed, needs_reauth)",
            refreshes.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_duration,
                queue_depth,
                accounts,
                webhook_backlog,
                refreshes,
                vault_events: Mutex::new(vault_events),
            }),
        }
    }

    /// One answered request.
    fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let (method, route) = (method.to_owned(), route.to_owned());
        self.inner
            .request_duration
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(seconds);
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// Takes the vault's events since the last scrape into the refresh counters.
    fn count_refreshes(&self) {
        let mut events = self
            .inner
            .vault_events
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        loop {
            let result = match events.try_recv() {
                Ok(event) => match event.kind {
                    vault_kind::REFRESHED => "ok",
                    vault_kind::REFRESH_FAILED => "failed",
                    vault_kind::NEEDS_REAUTH => "needs_reauth",
                    _ => continue,
                },
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "account events missed between two scrapes");
                    continue;
                }
                Err(_) => return,
            };
            self.inner
                .refreshes
                .get_or_create(&ResultLabels { result })
                .inc();
        }
    }
}

/// The SHA-256 of a metrics token, as [`AppState::with_metrics_token`] keeps it.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// True when `headers` carry the token whose hash is `expected` (or none is set).
fn admits(expected: Option<&[u8; 32]>, headers: &HeaderMap) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, token)| token.trim());
    // Digests are compared whole, so the time taken says nothing about the token.
    presented.is_some_and(|token| {
        token_hash(token)
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    })
}

/// Middleware: counts every answered request by its route template.
pub async fn track_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics().request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let metrics = state.metrics();
    if !admits(state.metrics_token_hash(), &headers) {
        return ApiError::unauthorized(
            "this endpoint wants the token in PINLINE_METRICS_TOKEN: send `Authorization: Bearer <token>`",
        )
        .into_response();
    }
    metrics.count_refreshes();
    let store = state.store();
    let read = async {
        for status in QUEUE_STATUSES {
            let count = store.count_posts_with_status(status).await?;
            metrics
                .inner
                .queue_depth
                .get_or_create(&StatusLabels { status })
                .set(count);
        }
        let by_status = store.account_counts_by_status().await?;
        for status in ACCOUNT_STATUSES {
            let count = by_status.get(status).copied().unwrap_or(0);
            metrics
                .inner
                .accounts
                .get_or_create(&StatusLabels { status })
                .set(count);
        }
        metrics
            .inner
            .webhook_backlog
            .set(store.count_pending_deliveries().await?);
        Ok::<(), pinline_store::StoreError>(())
    };
    if let Err(error) = read.await {
        return ApiError::from(error).into_response();
    }
    let mut text = String::new();
    if let Err(error) =
        prometheus_client::encoding::text::encode(&mut text, &metrics.inner.registry)
    {
        tracing::error!(%error, "encoding the metrics failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(CONTENT_TYPE, OPENMETRICS)], text).into_response()
}
