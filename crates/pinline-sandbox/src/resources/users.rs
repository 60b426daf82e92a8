//! `GET /v5/user_account`: the token owner's `Account`.

use axum::Json;
use axum::extract::{Extension, State};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};

pub async fn get_user_account(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    let state = app.read();
    let user = state
        .users
        .get(&caller.user)
        .ok_or_else(ApiError::authentication_failed)?;
    let board_count = state.boards_by_user.get(&user.id).map_or(0, |b| b.len());
    let pin_count = state.pins_by_user.get(&user.id).map_or(0, |p| p.len());
    Ok(Json(json!({
        "account_type": "BUSINESS",
        "id": user.id.to_string(),
        "username": user.username,
        "profile_image": format!("{}/_sandbox/avatars/{}.png", app.base_url, user.id),
        "website_url": "",
        "about": "",
        "business_name": null,
        "board_count": board_count,
        "pin_count": pin_count,
        "follower_count": 0,
        "following_count": 0,
        "monthly_views": 0,
    })))
}
