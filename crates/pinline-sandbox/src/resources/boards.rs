//! Boards: list, create, get, update, delete, and a board's pins.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::{
    Fields, Query, paginated, parse_id, readable_board, render_board, render_pin, writable_board,
};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::state::{Board, Id, Privacy, State as Model};

/// Longest board name we accept. The spec sets no limit; Pinterest's UI caps names well below this.
const BOARD_NAME_MAX: usize = 180;

pub async fn list_boards(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = Query::parse(raw.as_deref())?;
    let filter: &[Privacy] = match query.get("privacy") {
        None | Some("ALL") => &[Privacy::Public, Privacy::Protected, Privacy::Secret],
        Some("PUBLIC") => &[Privacy::Public],
        Some("PROTECTED") => &[Privacy::Protected],
        Some("SECRET") => &[Privacy::Secret],
        Some("PUBLIC_AND_SECRET") => &[Privacy::Public, Privacy::Secret],
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid parameters: 'privacy' must be one of ALL, PUBLIC, PROTECTED, SECRET, PUBLIC_AND_SECRET.",
            ));
        }
    };
    let sees_secret = caller.sees_secret();
    let state = app.read();
    let (ids, bookmark) = query.page(state.boards_by_user.get(&caller.user), |id| {
        state.boards.get(&id).is_some_and(|board| {
            filter.contains(&board.privacy) && (sees_secret || !board.is_secret())
        })
    });
    let items = ids
        .iter()
        .filter_map(|id| state.boards.get(id))
        .map(|board| render_board(&state, board))
        .collect();
    Ok(Json(paginated(items, bookmark)))
}

pub async fn create_board(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let fields = Fields::parse(&body)?;
    let mut name = fields.required_string("name", Some(BOARD_NAME_MAX))?;
    let description = fields.string("description", None)?;
    let mut privacy = match fields.string("privacy", None)? {
        None => Privacy::Public,
        Some(value) => Privacy::parse(&value).ok_or_else(|| {
            ApiError::invalid(
                "Invalid parameters: 'privacy' must be one of PUBLIC, PROTECTED, SECRET.",
            )
        })?,
    };
    let is_ads_only = fields.bool("is_ads_only")?.unwrap_or(false);
    if is_ads_only {
        // The spec: an ad-only board is always named "Ad-only Pins" and PROTECTED.
        name = "Ad-only Pins".to_owned();
        privacy = Privacy::Protected;
    }
    caller.require(privacy == Privacy::Secret)?;
    let now = app.now();
    let mut state = app.write();
    check_name_free(&state, caller.user, &name, None)?;
    let board = Board {
        id: state.next_id(),
        owner: caller.user,
        name,
        description,
        privacy,
        is_ads_only,
        created_at: now,
        pins_modified_at: now,
    };
    state
        .boards_by_user
        .entry(caller.user)
        .or_default()
        .insert(board.id);
    state.stats.boards_created += 1;
    let rendered = render_board(&state, &board);
    state.boards.insert(board.id, board);
    Ok((StatusCode::CREATED, Json(rendered)))
}

/// Board names are unique per user (ignoring case, as Pinterest does).
fn check_name_free(state: &Model, user: Id, name: &str, except: Option<Id>) -> ApiResult<()> {
    let taken = state.boards_by_user.get(&user).is_some_and(|ids| {
        ids.iter().any(|id| {
            Some(*id) != except
                && state
                    .boards
                    .get(id)
                    .is_some_and(|board| board.name.eq_ignore_ascii_case(name))
        })
    });
    if taken {
        return Err(ApiError::invalid(
            "Invalid parameters: 'name' is already used by another of your boards.",
        ));
    }
    Ok(())
}

pub async fn get_board(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(board_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let board_id = parse_id("board_id", &board_id)?;
    let state = app.read();
    let board = readable_board(&state, &caller, board_id)?;
    Ok(Json(render_board(&state, board)))
}

pub async fn update_board(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(board_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let board_id = parse_id("board_id", &board_id)?;
    let fields = Fields::parse(&body)?;
    let name = match fields.patch_string("name", Some(BOARD_NAME_MAX))? {
        None => None,
        Some(Some(name)) if !name.trim().is_empty() => Some(name),
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid parameters: 'name' must not be empty.",
            ));
        }
    };
    let description = fields.patch_string("description", None)?;
    // `BoardUpdatePrivacy` allows only PUBLIC and SECRET: a board cannot be made PROTECTED.
    let privacy = match fields.string("privacy", None)? {
        None => None,
        Some(value) if value == "PUBLIC" || value == "SECRET" => Privacy::parse(&value),
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid parameters: 'privacy' must be one of PUBLIC, SECRET.",
            ));
        }
    };
    let mut state = app.write();
    if writable_board(&state, &caller, board_id)?.privacy == Privacy::Protected {
        // The answer is a `BoardWithUpdatePrivacy`, whose privacy is PUBLIC or SECRET only, so a
        // PROTECTED (ad-only) board has no valid answer; making it PUBLIC or SECRET would break
        // the rule that ad-only boards are PROTECTED. Refusing is the only honest reply.
        return Err(ApiError::invalid(format!(
            "Invalid parameters: 'board_id' {board_id} is a PROTECTED board; only PUBLIC and SECRET boards can be updated."
        )));
    }
    if privacy == Some(Privacy::Secret) {
        caller.require(true)?;
    }
    if let Some(name) = &name {
        check_name_free(&state, caller.user, name, Some(board_id))?;
    }
    let Some(board) = state.boards.get_mut(&board_id) else {
        return Err(ApiError::board_not_found());
    };
    if let Some(name) = name {
        board.name = name;
    }
    if let Some(description) = description {
        board.description = description;
    }
    if let Some(privacy) = privacy {
        board.privacy = privacy;
    }
    let board = board.clone();
    Ok(Json(render_board(&state, &board)))
}

pub async fn delete_board(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(board_id): Path<String>,
) -> ApiResult<StatusCode> {
    let board_id = parse_id("board_id", &board_id)?;
    let mut state = app.write();
    writable_board(&state, &caller, board_id)?;
    // Deleting a board deletes its pins and sections with it, as on Pinterest.
    let pins: Vec<Id> = state
        .pins_by_board
        .remove(&board_id)
        .map(|set| set.into_iter().collect())
        .unwrap_or_default();
    for pin in &pins {
        state.remove_pin(*pin);
    }
    state.stats.pins_deleted += pins.len() as u64;
    if let Some(sections) = state.sections_by_board.remove(&board_id) {
        for section in sections {
            state.sections.remove(&section);
            state.pins_by_section.remove(&section);
        }
    }
    state.boards.remove(&board_id);
    if let Some(boards) = state.boards_by_user.get_mut(&caller.user) {
        boards.remove(&board_id);
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_board_pins(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(board_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let board_id = parse_id("board_id", &board_id)?;
    let query = Query::parse(raw.as_deref())?;
    let state = app.read();
    readable_board(&state, &caller, board_id)?;
    let (ids, bookmark) = query.page(state.pins_by_board.get(&board_id), |_| true);
    let items = ids
        .iter()
        .filter_map(|id| state.pins.get(id))
        .map(|pin| render_pin(&state, pin))
        .collect();
    Ok(Json(paginated(items, bookmark)))
}
