//! Board sections: list, create, update, delete, and a section's pins.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use pinline_pinterest::facts::board_limits::SECTION_NAME_MAX;
use serde_json::Value;

use super::{
    Fields, Query, paginated, parse_id, readable_board, render_pin, render_section, writable_board,
};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::state::{Id, Section, State as Model};

fn section_name(fields: &Fields) -> ApiResult<String> {
    fields.required_string("name", Some(SECTION_NAME_MAX))
}

/// The section `section_id` on `board_id`, or 404.
fn section_of(state: &Model, board_id: Id, section_id: Id) -> ApiResult<&Section> {
    state
        .sections
        .get(&section_id)
        .filter(|section| section.board == board_id)
        .ok_or_else(ApiError::section_not_found)
}

/// Section names are unique within a board; Pinterest answers a clash with 409.
fn check_section_name_free(
    state: &Model,
    board_id: Id,
    name: &str,
    except: Option<Id>,
) -> ApiResult<()> {
    let taken = state.sections_by_board.get(&board_id).is_some_and(|ids| {
        ids.iter().any(|id| {
            Some(*id) != except
                && state
                    .sections
                    .get(id)
                    .is_some_and(|s| s.name.eq_ignore_ascii_case(name))
        })
    });
    if taken {
        return Err(ApiError::conflict(
            "Board section conflict: a section with this name already exists.",
        ));
    }
    Ok(())
}

pub async fn list_sections(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(board_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let board_id = parse_id("board_id", &board_id)?;
    let query = Query::parse(raw.as_deref())?;
    let state = app.read();
    readable_board(&state, &caller, board_id)?;
    let (ids, bookmark) = query.page(state.sections_by_board.get(&board_id), |_| true);
    let items = ids
        .iter()
        .filter_map(|id| state.sections.get(id))
        .map(render_section)
        .collect();
    Ok(Json(paginated(items, bookmark)))
}

pub async fn create_section(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(board_id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let board_id = parse_id("board_id", &board_id)?;
    let fields = Fields::parse(&body)?;
    let name = section_name(&fields)?;
    let mut state = app.write();
    writable_board(&state, &caller, board_id)?;
    check_section_name_free(&state, board_id, &name, None)?;
    let section = Section {
        id: state.next_id(),
        board: board_id,
        name,
    };
    state
        .sections_by_board
        .entry(board_id)
        .or_default()
        .insert(section.id);
    let rendered = render_section(&section);
    state.sections.insert(section.id, section);
    Ok((StatusCode::CREATED, Json(rendered)))
}

pub async fn update_section(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((board_id, section_id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let board_id = parse_id("board_id", &board_id)?;
    let section_id = parse_id("section_id", &section_id)?;
    let fields = Fields::parse(&body)?;
    let name = section_name(&fields)?;
    let mut state = app.write();
    writable_board(&state, &caller, board_id)?;
    section_of(&state, board_id, section_id)?;
    check_section_name_free(&state, board_id, &name, Some(section_id))?;
    let section = state
        .sections
        .get_mut(&section_id)
        .ok_or_else(ApiError::section_not_found)?;
    section.name = name;
    Ok(Json(render_section(section)))
}

pub async fn delete_section(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((board_id, section_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let board_id = parse_id("board_id", &board_id)?;
    let section_id = parse_id("section_id", &section_id)?;
    let mut state = app.write();
    writable_board(&state, &caller, board_id)?;
    section_of(&state, board_id, section_id)?;
    state.sections.remove(&section_id);
    if let Some(ids) = state.sections_by_board.get_mut(&board_id) {
        ids.remove(&section_id);
    }
    // The section's pins stay on the board, outside any section.
    if let Some(pins) = state.pins_by_section.remove(&section_id) {
        for pin in pins {
            if let Some(pin) = state.pins.get_mut(&pin) {
                pin.section = None;
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_section_pins(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((board_id, section_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let board_id = parse_id("board_id", &board_id)?;
    let section_id = parse_id("section_id", &section_id)?;
    let query = Query::parse(raw.as_deref())?;
    let state = app.read();
    readable_board(&state, &caller, board_id)?;
    section_of(&state, board_id, section_id)?;
    let (ids, bookmark) = query.page(state.pins_by_section.get(&section_id), |_| true);
    let items = ids
        .iter()
        .filter_map(|id| state.pins.get(id))
        .map(|pin| render_pin(&state, pin))
        .collect();
    Ok(Json(paginated(items, bookmark)))
}
