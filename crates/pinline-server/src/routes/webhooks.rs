//! `/v1/webhooks`: register, list, inspect, change and delete webhooks, read their delivery log
//! and send a delivery again.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pinline_store::{WebhookDeliveryRow, WebhookRow};
use pinline_webhooks::{WebhookUpdate, events};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Array, ArrayBuilder, ObjectBuilder, Type};

use crate::auth::{Scoped, need};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Id, rfc3339};
use crate::state::AppState;

/// A registered webhook.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookView {
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The events it receives; `*` means every event.
    pub events: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub disabled_at: Option<String>,
    /// Why it is disabled: by its profile, or after a run of given-up deliveries. Its deliveries
    /// wait until it is enabled again.
    pub disabled_reason: Option<String>,
    /// Deliveries given up in a row since the last one delivered.
    pub failed_in_a_row: i64,
    /// Until when the secret before the last rotation still signs beside the current one.
    #[schema(format = DateTime)]
    pub previous_secret_valid_until: Option<String>,
}

impl WebhookView {
    fn new(row: &WebhookRow) -> WebhookView {
        WebhookView {
            id: row.id.clone(),
            url: row.url.clone(),
            events: row.events.split(',').map(str::to_owned).collect(),
            created_at: rfc3339(row.created_at),
            disabled_at: row.disabled_at.map(rfc3339),
            disabled_reason: row.disabled_reason.clone(),
            failed_in_a_row: row.failed_in_a_row,
            previous_secret_valid_until: row.previous_secret_until.map(rfc3339),
        }
    }
}

impl DeliveryView {
    fn new(d: &WebhookDeliveryRow) -> DeliveryView {
        DeliveryView {
            id: d.id.clone(),
            event: d.event.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error.clone(),
            next_attempt_at: rfc3339(d.next_attempt_at),
            created_at: rfc3339(d.created_at),
            delivered_at: d.delivered_at.map(rfc3339),
        }
    }
}

/// The body of `PATCH /v1/webhooks/{id}`: what to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// A new receiver URL, checked as at registration.
    url: Option<String>,
    /// A new event filter.
    #[schema(schema_with = event_names_schema)]
    events: Option<Vec<String>>,
    /// `false` pauses deliveries (they wait); `true` resumes them, forgets past failures and
    /// sends what waited.
    enabled: Option<bool>,
    /// `true` makes a new signing secret, answered this once as `secret`; the old one keeps
    /// signing beside it (a second `v1=` in `Pinline-Signature`) for 24 hours.
    #[serde(default)]
    rotate_secret: bool,
}

/// A changed webhook, with its new secret when one was made.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = UpdatedWebhook)]
pub struct WebhookUpdated {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The new signing secret, shown this once; absent unless `rotate_secret` was `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A new webhook with its signing secret, which is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = NewWebhook)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The HMAC-SHA256 key that signs deliveries (over `timestamp.body`); store it now.
    pub secret: String,
}

/// The webhooks of a profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookView>,
}

/// One event delivery to a webhook.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryView {
    pub id: String,
    #[schema(schema_with = crate::schemas::event_name)]
    pub event: String,
    #[schema(schema_with = crate::schemas::delivery_status)]
    pub status: String,
    pub attempts: i64,
    /// The receiver's last HTTP status.
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub next_attempt_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
}

/// A webhook's delivery log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryList {
    /// The latest 100 deliveries, newest first.
    pub items: Vec<DeliveryView>,
}

/// The body of `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// An http(s) URL that receives the events.
    #[schema(example = "https://example.invalid/hooks/pinline")]
    url: String,
    /// Event names to receive; `["*"]` (every event) when absent.
    #[serde(default = "all_events")]
    #[schema(schema_with = event_names_schema)]
    events: Vec<String>,
}

/// The JSON Schema of an event filter: names from the webhooks service's own list, or `*`.
fn event_names_schema() -> Array {
    let names = std::iter::once(events::WILDCARD).chain(events::ALL.iter().copied());
    ArrayBuilder::new()
        .description(Some(
            "Event names to receive (`*` for every event); every event when absent.",
        ))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names)),
        )
        .min_items(Some(1))
        .build()
}

fn all_events() -> Vec<String> {
    vec!["*".to_owned()]
}

/// `POST /v1/webhooks` → the webhook and its signing secret (shown this once).
#[utoipa::path(
    post,
    path = "/webhooks",
    operation_id = "create_webhook",
    tag = "webhooks",
    summary = "Register a webhook",
    description = "pinline POSTs each event (a post published or failed, an account needing \
reconnection, …) to the URL, signed with HMAC-SHA256, and retries with backoff until the receiver \
answers 2xx. The answer carries the signing `secret`, shown only this once.",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "The webhook and its signing secret.", body = WebhookCreated),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 409, description = "The profile has as many webhooks as one profile may have, 25 (`webhook_limit`).", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "The URL or an event name is invalid (`invalid_field`), or the URL is somewhere pinline does not deliver (`url_refused`: a private or loopback address without `PINLINE_ALLOW_PRIVATE_TARGETS`, or beyond loopback under `PINLINE_OUTBOUND=loopback`); `error.field` names it.", body = ErrorBody),
        (status = 500, description = "The secret cannot be sealed with the configured master key.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["webhooks:write"])),
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Scoped<need::WebhooksWrite>,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<impl IntoResponse, ApiError> {
    let events: Vec<&str> = body.events.iter().map(String::as_str).collect();
    let (row, secret) = state
        .webhooks()
        .create(&caller.profile_id, &body.url, &events)
        .await?;
    let body = WebhookCreated {
        webhook: WebhookView::new(&row),
        secret: secret.expose_secret().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /v1/webhooks`.
#[utoipa::path(
    get,
    path = "/webhooks",
    operation_id = "list_webhooks",
    tag = "webhooks",
    summary = "List webhooks",
    responses(
        (status = 200, description = "The webhooks of this key's profile.", body = WebhookList),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["webhooks:read"])),
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Scoped<need::WebhooksRead>,
) -> Result<Json<WebhookList>, ApiError> {
    let rows = state.webhooks().list(&caller.profile_id).await?;
    Ok(Json(WebhookList {
        items: rows.iter().map(WebhookView::new).collect(),
    }))
}

/// `GET /v1/webhooks/{id}`.
#[utoipa::path(
    get,
    path = "/webhooks/{webhook_id}",
    operation_id = "get_webhook",
    tag = "webhooks",
    summary = "Read a webhook",
    params(("webhook_id" = String, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The webhook (without its secret).", body = WebhookView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such webhook in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["webhooks:read"])),
)]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Scoped<need::WebhooksRead>,
    ApiPath(webhook_id): ApiPath<Id>,
) -> Result<Json<WebhookView>, ApiError> {
    let row = state
        .webhooks()
        .get(&caller.profile_id, &webhook_id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(WebhookView::new(&row)))
}

/// `DELETE /v1/webhooks/{id}`.
#[utoipa::path(
    delete,
    path = "/webhooks/{webhook_id}",
    operation_id = "delete_webhook",
    tag = "webhooks",
    summary = "Delete a webhook",
    description = "Stops deliveries to the webhook; its pending deliveries are dropped.",
    params(("webhook_id" = String, Path, description = "The webhook's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such webhook in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["webhooks:write"])),
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Scoped<need::WebhooksWrite>,
    ApiPath(webhook_id): ApiPath<Id>,
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
#[utoipa::path(
    get,
    path = "/webhooks/{webhook_id}/deliveries",
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    summary = "Read a webhook's delivery log",
    params(("webhook_id" = String, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The latest 100 deliveries, newest first.", body = DeliveryList),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such webhook in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["webhooks:read"])),
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Scoped<need::WebhooksRead>,
    ApiPath(webhook_id): ApiPath<Id>,
) -> Result<Json<DeliveryList>, ApiError> {
    state
        .webhooks()
        .get(&caller.profile_id, &webhook_id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let deliveries = state
        .store()
        .list_webhook_deliveries(&caller.profile_id, Some(&webhook_id), 100)
        .await?;
    let items = deliveries.iter().map(DeliveryView::new).collect();
    Ok(Json(DeliveryList { items }))
}

/// `PATCH /v1/webhooks/{id}`: change the URL or events, pause or resume, rotate the secret.
#[utoipa::path(
    patch,
    path = "/webhooks/{webhook_id}",
    operation_id = "update_webhook",
    tag = "webhooks",
    summary = "Change a webhook",
    description = "Changes the given fields. `enabled: true` also resumes a webhook that pinline \
disabled after a run of given-up deliveries, and sends what waited. `rotate_secret: true` answers \
a new signing secret once; the old one signs beside it for 24 hours.",
    params(("webhook_id" = String, Path, description = "The webhook's id.")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "The changed webhook (with `secret` after a rotation).", body = WebhookUpdated),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such webhook in this key's profile.", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`.", body = ErrorBody),
        (status = 422, description = "The URL or an event name is invalid (`invalid_field`), or the URL is somewhere pinline does not deliver (`url_refused`); `error.field` names it.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["webhooks:write"])),
)]
pub async fn update_webhook(
    State(state): State<AppState>,
    caller: Scoped<need::WebhooksWrite>,
    ApiPath(webhook_id): ApiPath<Id>,
    ApiJson(body): ApiJson<UpdateWebhook>,
) -> Result<Json<WebhookUpdated>, ApiError> {
    let events: Option<Vec<&str>> = body
        .events
        .as_ref()
        .map(|names| names.iter().map(String::as_str).collect());
    let update = WebhookUpdate {
        url: body.url.as_deref(),
        events: events.as_deref(),
        enabled: body.enabled,
        rotate_secret: body.rotate_secret,
    };
    let (row, secret) = state
        .webhooks()
        .update(&caller.profile_id, &webhook_id, update)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(WebhookUpdated {
        webhook: WebhookView::new(&row),
        secret: secret.map(|secret| secret.expose_secret().to_owned()),
    }))
}

/// `POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`.
#[utoipa::path(
    post,
    path = "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    operation_id = "redeliver_webhook_delivery",
    tag = "webhooks",
    summary = "Send a delivery again",
    description = "Sends the delivery again now, from its first attempt, with the same payload \
and `Pinline-Delivery` id (a given-up or delivered delivery is pending again). An attempt already \
in flight finishes first.",
    params(
        ("webhook_id" = String, Path, description = "The webhook's id."),
        ("delivery_id" = String, Path, description = "The delivery's id."),
    ),
    responses(
        (status = 202, description = "The delivery, pending and due now.", body = DeliveryView),
        (status = 401, description = "Missing or unknown API key.", body = ErrorBody),
        (status = 404, description = "No such delivery of this webhook in this key's profile.", body = ErrorBody),
        (status = 503, description = "The database is not answering.", body = ErrorBody),
    ),
    security(("api_key" = ["webhooks:write"])),
)]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Scoped<need::WebhooksWrite>,
    ApiPath((webhook_id, delivery_id)): ApiPath<(Id, Id)>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let row = state
        .webhooks()
        .redeliver(&caller.profile_id, &webhook_id, &delivery_id)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::new(&row))))
}
