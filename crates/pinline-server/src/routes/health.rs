//! `GET /healthz`: is the process up and the database answering.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// The answer of `/healthz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    #[schema(example = "ok")]
    pub status: HealthStatus,
    /// The database backend (`sqlite`, `postgres`), or `not answering`.
    #[schema(example = "sqlite")]
    pub database: String,
}

/// Whether the server can do its work.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Unavailable,
}

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "health",
    summary = "Check health",
    description = "For load balancers and monitors: `200` when the process is up and its \\
database answers, `503` otherwise. Needs no API key.",
    responses(
        (status = 200, description = "Up, and the database answers.", body = Health),
        (status = 503, description = "The database is not answering.", body = Health),
    ),
)]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match state.store().ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: HealthStatus::Ok,
                database: state.store().backend().as_str().to_owned(),
            }),
        ),
        Err(error) => {
            tracing::warn!(error = %error, "health check: database not answering");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: HealthStatus::Unavailable,
                    database: "not answering".to_owned(),
                }),
            )
        }
    }
}
