//! `/v1/webhooks`: register, list, inspect and delete webhooks, and read their delivery log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pinline_store::WebhookRow;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, rfc3339};
use crate::state::AppState;

fn webhook_json(row: &WebhookRow) -> Value {
    json!({
        "id": row.id,
        "url": row.url,
        "events": row.events.split(',').collect::<Vec<_>>(),
        "created_at": rfc3339(row.created_at),
        "disabled_at": row.disabled_at.map(rfc3339),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    url: String,
    #[serde(default = "all_events")]
    events: Vec<String>,
}

fn all_events() -> Vec<String> {
    vec!["*".to_owned()]
}

/// `POST /v1/webhooks` → the webhook and its signing secret (shown this once).
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<impl IntoResponse, ApiError> {
    let events: Vec<&str> = body.events.iter().map(String::as_str).collect();
    let (row, secret) = state
        .webhooks()
        .create(&caller.profile_id, &body.url, &events)
        .await?;
    let mut body = webhook_json(&row);
    body["secret"] = json!(secret.expose_secret());
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /v1/webhooks`.
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let rows = state.webhooks().list(&caller.profile_id).await?;
    Ok(Json(
        json!({ "items": rows.iter().map(webhook_json).collect::<Vec<_>>() }),
    ))
}

/// `GET /v1/webhooks/{id}`.
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = state
        .webhooks()
        .get(&caller.profile_id, &webhook_id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(webhook_json(&row)))
}

/// `DELETE /v1/webhooks/{id}`.
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .webhooks()
        .delete(&caller.profile_id, &webhook_id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("webhook"))
    }
}

/// `GET /v1/webhooks/{id}/deliveries`: the delivery log, newest first.
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state
        .webhooks()
        .get(&caller.profile_id, &webhook_id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let deliveries = state
        .store()
        .list_webhook_deliveries(&caller.profile_id, Some(&webhook_id), 100)
        .await?;
    let items: Vec<Value> = deliveries
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "event": d.event,
                "status": d.status,
                "attempts": d.attempts,
                "last_status_code": d.last_status_code,
                "last_error": d.last_error,
                "next_attempt_at": rfc3339(d.next_attempt_at),
                "created_at": rfc3339(d.created_at),
                "delivered_at": d.delivered_at.map(rfc3339),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
