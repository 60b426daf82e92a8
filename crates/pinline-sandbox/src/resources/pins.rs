//! Pins: list, create (every `media_source` variant pinline uses), get, update, delete.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use pinline_pinterest::facts::pin_limits;
use serde_json::{Map, Value};

use super::{
    Fields, Query, check_url, inline_image, is_secret_board, paginated, parse_id, render_pin,
    writable_board,
};
use crate::app::AppState;
use crate::auth::Caller;
use crate::errors::{ApiError, ApiResult};
use crate::state::{Id, ImageItem, MediaStatus, Pin, PinMedia, State as Model};

/// The media a create request asks for, validated but not yet checked against the model.
enum Source {
    Ready(PinMedia),
    /// A `video_id` source: the media upload must exist, be the caller's and have succeeded.
    Video {
        media_id: Id,
        cover_image_url: Option<String>,
    },
}

fn invalid(message: String) -> ApiError {
    ApiError::invalid(message)
}

fn image_items(fields: &Fields, base64: bool, base_url: &str) -> ApiResult<Vec<ImageItem>> {
    let items = match fields.value("items") {
        Some(Value::Array(items)) => items,
        _ => {
            return Err(invalid(
                "Invalid parameters: 'media_source.items' must be an array.".to_owned(),
            ));
        }
    };
    if !(pin_limits::MULTIPLE_IMAGES_MIN..=pin_limits::MULTIPLE_IMAGES_MAX).contains(&items.len()) {
        return Err(invalid(format!(
            "Invalid parameters: 'media_source.items' must have {} to {} items.",
            pin_limits::MULTIPLE_IMAGES_MIN,
            pin_limits::MULTIPLE_IMAGES_MAX
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let name = format!("media_source.items[{index}]");
            let Value::Object(map) = item else {
                return Err(invalid(format!(
                    "Invalid parameters: '{name}' must be an object."
                )));
            };
            let item = Fields::from_map(map.clone());
            let url = if base64 {
                let declared = inline_image::declared_type(&name, &item)?;
                let data = item.required_string("data", None).map_err(|_| {
                    invalid(format!("Invalid parameters: '{name}.data' is required."))
                })?;
                let kind =
                    inline_image::check_data(&format!("{name}.data"), &data, Some(declared))?;
                format!("{base_url}/_sandbox/images/{index}.{}", kind.extension())
            } else {
                let url = item.required_string("url", None).map_err(|_| {
                    invalid(format!("Invalid parameters: '{name}.url' is required."))
                })?;
                check_url(&format!("{name}.url"), &url)?;
                url
            };
            Ok(ImageItem {
                url,
                title: item.string("title", Some(pin_limits::TITLE_MAX))?,
                description: item.string("description", Some(pin_limits::DESCRIPTION_MAX))?,
                link: item.link("link", pin_limits::LINK_MAX)?,
            })
        })
        .collect()
}

fn parse_source(fields: &Fields, base_url: &str) -> ApiResult<Source> {
    let map: Map<String, Value> = match fields.value("media_source") {
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(invalid(
                "Invalid parameters: 'media_source' must be an object.".to_owned(),
            ));
        }
        None => {
            return Err(invalid(
                "Invalid parameters: 'media_source' is required.".to_owned(),
            ));
        }
    };
    let source = Fields::from_map(map);
    let source_type = source.string("source_type", None)?.unwrap_or_default();
    match source_type.as_str() {
        "image_url" => {
            let url = source.required_string("url", None).map_err(|_| {
                invalid("Invalid parameters: 'media_source.url' is required.".to_owned())
            })?;
            check_url("media_source.url", &url)?;
            Ok(Source::Ready(PinMedia::Image { url }))
        }
        "image_base64" => {
            let declared = inline_image::declared_type("media_source", &source)?;
            let data = source.required_string("data", None).map_err(|_| {
                invalid("Invalid parameters: 'media_source.data' is required.".to_owned())
            })?;
            let kind = inline_image::check_data("media_source.data", &data, Some(declared))?;
            Ok(Source::Ready(PinMedia::Image {
                url: format!("{base_url}/_sandbox/images/upload.{}", kind.extension()),
            }))
        }
        "multiple_image_urls" => Ok(Source::Ready(PinMedia::Images {
            items: image_items(&source, false, base_url)?,
        })),
        "multiple_image_base64" => Ok(Source::Ready(PinMedia::Images {
            items: image_items(&source, true, base_url)?,
        })),
        "video_id" => {
            let media_id = source.id("media_id")?.ok_or_else(|| {
                invalid("Invalid parameters: 'media_source.media_id' is required.".to_owned())
            })?;
            let cover_image_url = source.string("cover_image_url", None)?;
            if let Some(cover) = &cover_image_url {
                check_url("media_source.cover_image_url", cover)?;
            }
            let cover_type = inline_image::optional_type(
                "media_source.cover_image_content_type",
                &source,
                "cover_image_content_type",
            )?;
            if let Some(data) = source.string("cover_image_data", None)? {
                inline_image::check_data("media_source.cover_image_data", &data, cover_type)?;
            }
            Ok(Source::Video {
                media_id,
                cover_image_url,
            })
        }
        "pin_url" => Err(invalid(
            "Invalid parameters: 'media_source.source_type' pin_url is only available to beta apps."
                .to_owned(),
        )),
        _ => Err(invalid(
            "Invalid parameters: 'media_source.source_type' must be one of image_url, image_base64, multiple_image_urls, multiple_image_base64, video_id."
                .to_owned(),
        )),
    }
}

/// Resolves a video source against the caller's media uploads, as they stand at `now_millis`.
fn resolve_video(
    state: &Model,
    caller: &Caller,
    media_id: Id,
    cover_image_url: Option<String>,
    base_url: &str,
    now_millis: i64,
) -> ApiResult<PinMedia> {
    let media = state
        .media
        .get(&media_id)
        .filter(|media| media.owner == caller.user)
        .ok_or_else(|| {
            invalid(format!(
                "Invalid parameters: 'media_source.media_id' {media_id} is not one of your media uploads."
            ))
        })?;
    let status = media.status_at(now_millis);
    if status != MediaStatus::Succeeded {
        return Err(invalid(format!(
            "Invalid parameters: 'media_source.media_id' {media_id} is not ready (status {}).",
            status.as_str()
        )));
    }
    Ok(PinMedia::Video {
        media_id,
        cover_image_url: cover_image_url
            .unwrap_or_else(|| format!("{base_url}/_sandbox/images/video-{media_id}.jpg")),
    })
}

/// The text fields a create or update may carry.
struct Text {
    title: Option<Option<String>>,
    description: Option<Option<String>>,
    link: Option<Option<String>>,
    alt_text: Option<Option<String>>,
}

fn text_fields(fields: &Fields) -> ApiResult<Text> {
    let link = if fields.contains("link") {
        Some(fields.link("link", pin_limits::LINK_MAX)?)
    } else {
        None
    };
    Ok(Text {
        title: fields.patch_string("title", Some(pin_limits::TITLE_MAX))?,
        description: fields.patch_string("description", Some(pin_limits::DESCRIPTION_MAX))?,
        link,
        alt_text: fields.patch_string("alt_text", Some(pin_limits::ALT_TEXT_MAX))?,
    })
}

/// The section `section` must be on `board`.
fn check_section(state: &Model, board: Id, section: Option<Id>) -> ApiResult<()> {
    if let Some(section) = section
        && state
            .sections
            .get(&section)
            .is_none_or(|s| s.board != board)
    {
        return Err(invalid(format!(
            "Invalid parameters: 'board_section_id' {section} is not a section of board {board}."
        )));
    }
    Ok(())
}

/// The caller's own pin, visible to this token, or 404 code 50.
pub(crate) fn visible_pin<'a>(state: &'a Model, caller: &Caller, pin_id: Id) -> ApiResult<&'a Pin> {
    let pin = state
        .pins
        .get(&pin_id)
        .filter(|pin| pin.owner == caller.user)
        .ok_or_else(ApiError::pin_not_found)?;
    if is_secret_board(state, pin.board) && !caller.sees_secret() {
        return Err(ApiError::pin_not_found());
    }
    Ok(pin)
}

pub async fn create_pin(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if app.config.trial {
        return Err(ApiError::not_permitted());
    }
    let fields = Fields::parse(&body)?;
    let board_id = fields
        .id("board_id")?
        .ok_or_else(|| invalid("Invalid parameters: 'board_id' is required.".to_owned()))?;
    let section = fields.id("board_section_id")?;
    let text = text_fields(&fields)?;
    let dominant_color = fields.string("dominant_color", None)?;
    let parent_pin_id = fields.id("parent_pin_id")?.map(|id| id.to_string());
    fields.id("sponsor_id")?;
    let source = parse_source(&fields, &app.base_url)?;
    let now = app.now();

    let mut state = app.write();
    writable_board(&state, &caller, board_id)?;
    check_section(&state, board_id, section)?;
    let media = match source {
        Source::Ready(media) => media,
        Source::Video {
            media_id,
            cover_image_url,
        } => resolve_video(
            &state,
            &caller,
            media_id,
            cover_image_url,
            &app.base_url,
            app.clock.now_millis(),
        )?,
    };
    let pin = Pin {
        id: state.next_id(),
        owner: caller.user,
        board: board_id,
        section,
        title: text.title.flatten(),
        description: text.description.flatten(),
        link: text.link.flatten(),
        alt_text: text.alt_text.flatten(),
        dominant_color,
        parent_pin_id,
        media,
        created_at: now,
    };
    let rendered = render_pin(&state, &pin);
    state.insert_pin(pin);
    if let Some(board) = state.boards.get_mut(&board_id) {
        board.pins_modified_at = now;
    }
    state.stats.pins_created += 1;
    *state
        .stats
        .pins_by_user
        .entry(caller.user.to_string())
        .or_default() += 1;
    Ok((StatusCode::CREATED, Json(rendered)))
}

pub async fn get_pin(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pin_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let pin_id = parse_id("pin_id", &pin_id)?;
    let state = app.read();
    let pin = visible_pin(&state, &caller, pin_id)?;
    Ok(Json(render_pin(&state, pin)))
}

pub async fn update_pin(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pin_id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let pin_id = parse_id("pin_id", &pin_id)?;
    let fields = Fields::parse(&body)?;
    let text = text_fields(&fields)?;
    let new_board = fields.id("board_id")?;
    let new_section = if fields.contains("board_section_id") {
        Some(fields.id("board_section_id")?)
    } else {
        None
    };
    let now = app.now();

    let mut state = app.write();
    let pin = visible_pin(&state, &caller, pin_id)?.clone();
    writable_board(&state, &caller, pin.board)?;
    let board = match new_board {
        Some(board) if board != pin.board => {
            writable_board(&state, &caller, board)?;
            board
        }
        _ => pin.board,
    };
    // Moving to another board leaves the old board's section unless a new one is named.
    let section = match new_section {
        Some(section) => section,
        None if board != pin.board => None,
        None => pin.section,
    };
    check_section(&state, board, section)?;

    state.unindex_pin_placement(&pin);
    state.index_pin_placement(pin_id, board, section);
    let mut updated = pin;
    updated.board = board;
    updated.section = section;
    if let Some(title) = text.title {
        updated.title = title;
    }
    if let Some(description) = text.description {
        updated.description = description;
    }
    if let Some(link) = text.link {
        updated.link = link;
    }
    if let Some(alt_text) = text.alt_text {
        updated.alt_text = alt_text;
    }
    if let Some(board) = state.boards.get_mut(&board) {
        board.pins_modified_at = now;
    }
    let rendered = render_pin(&state, &updated);
    state.pins.insert(pin_id, updated);
    Ok(Json(rendered))
}

pub async fn delete_pin(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(pin_id): Path<String>,
) -> ApiResult<StatusCode> {
    let pin_id = parse_id("pin_id", &pin_id)?;
    let now = app.now();
    let mut state = app.write();
    let board = visible_pin(&state, &caller, pin_id)?.board;
    writable_board(&state, &caller, board)?;
    state.remove_pin(pin_id);
    state.stats.pins_deleted += 1;
    if let Some(board) = state.boards.get_mut(&board) {
        board.pins_modified_at = now;
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_pins(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let query = Query::parse(raw.as_deref())?;
    let sees_secret = caller.sees_secret();
    let state = app.read();
    let (ids, bookmark) = query.page(state.pins_by_user.get(&caller.user), |id| {
        sees_secret
            || state
                .pins
                .get(&id)
                .is_some_and(|pin| !is_secret_board(&state, pin.board))
    });
    let items = ids
        .iter()
        .filter_map(|id| state.pins.get(id))
        .map(|pin| render_pin(&state, pin))
        .collect();
    Ok(Json(paginated(items, bookmark)))
}
