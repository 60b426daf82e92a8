//! The Pinterest resources the sandbox serves under `/v5`: the user account, boards, board
//! sections, pins, media uploads and analytics. This module holds what they share: request parsing that
//! turns any bad input into a 400 code 1 naming the field (never a 500), bookmark paging, the
//! ownership and visibility rules, and the renderers that shape responses exactly as the spec's
//! schemas. `inline_image` checks base64 images for the pins module.
//!
//! **Visibility rule.** An account sees only its own objects; anyone else's board, section, pin or
//! media answers as if it did not exist (404). A secret board, and the pins and sections on it,
//! is likewise invisible to a token without the `_secret` read scopes: reads answer 404 and lists
//! leave it out, as they would for a stranger. Changing a secret board or its pins (create,
//! update, delete) with a token that lacks a `_secret` scope answers 403 code 3 naming the
//! missing scopes, because the caller can act on that message.

pub mod analytics;
pub mod boards;
mod inline_image;
pub mod media;
pub mod pins;
pub mod sections;
pub mod users;

use std::collections::{BTreeSet, HashMap};

use axum::Router;
use axum::body::Bytes;
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::auth::Caller;
use crate::clock::rfc3339;
use crate::errors::{ApiError, ApiResult};
use crate::state::{Board, Id, Media, Pin, PinMedia, Section, State};

/// The `/v5` resource routes (the gate is layered on by the caller).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/user_account", get(users::get_user_account))
        .route(
            "/boards",
            get(boards::list_boards).post(boards::create_board),
        )
        .route(
            "/boards/{board_id}",
            get(boards::get_board)
                .patch(boards::update_board)
                .delete(boards::delete_board),
        )
        .route("/boards/{board_id}/pins", get(boards::list_board_pins))
        .route(
            "/boards/{board_id}/sections",
            get(sections::list_sections).post(sections::create_section),
        )
        .route(
            "/boards/{board_id}/sections/{section_id}",
            axum::routing::patch(sections::update_section).delete(sections::delete_section),
        )
        .route(
            "/boards/{board_id}/sections/{section_id}/pins",
            get(sections::list_section_pins),
        )
        .route("/pins", get(pins::list_pins).post(pins::create_pin))
        .route(
            "/pins/{pin_id}",
            get(pins::get_pin)
                .patch(pins::update_pin)
                .delete(pins::delete_pin),
        )
        .route("/media", get(media::list_media).post(media::create_media))
        .route("/media/{media_id}", get(media::get_media))
        .route("/pins/{pin_id}/analytics", get(analytics::pin_analytics))
        .route(
            "/user_account/analytics",
            get(analytics::user_account_analytics),
        )
}

/// A JSON request body as an object, or a 400 naming what is wrong with it.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    pub fn parse(body: &Bytes) -> ApiResult<Fields> {
        if body.is_empty() {
            return Err(ApiError::invalid(
                "Invalid request body: a JSON object is required.",
            ));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Fields { map }),
            Ok(_) => Err(ApiError::invalid(
                "Invalid request body: a JSON object is required.",
            )),
            Err(error) => Err(ApiError::invalid(format!(
                "Invalid request body: malformed JSON ({error})."
            ))),
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Fields {
        Fields { map }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub fn value(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// An optional string (absent or null → None) of at most `max` characters.
    pub fn string(&self, name: &str, max: Option<usize>) -> ApiResult<Option<String>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                if let Some(max) = max
                    && s.chars().count() > max
                {
                    return Err(ApiError::invalid(format!(
                        "Invalid parameters: '{name}' must be at most {max} characters."
                    )));
                }
                Ok(Some(s.clone()))
            }
            Some(_) => Err(ApiError::invalid(format!(
                "Invalid parameters: '{name}' must be a string."
            ))),
        }
    }

    pub fn required_string(&self, name: &str, max: Option<usize>) -> ApiResult<String> {
        match self.string(name, max)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(ApiError::invalid(format!(
                "Invalid parameters: '{name}' is required."
            ))),
        }
    }

    /// For PATCH: absent → None (unchanged), null → Some(None) (cleared).
    pub fn patch_string(
        &self,
        name: &str,
        max: Option<usize>,
    ) -> ApiResult<Option<Option<String>>> {
        if !self.contains(name) {
            return Ok(None);
        }
        Ok(Some(self.string(name, max)?))
    }

    /// An optional Pinterest id: a string of digits.
    pub fn id(&self, name: &str) -> ApiResult<Option<Id>> {
        match self.string(name, None) {
            Ok(None) => Ok(None),
            Ok(Some(s)) => parse_id(name, &s).map(Some),
            Err(_) => Err(ApiError::invalid(format!(
                "Invalid parameters: '{name}' must be a string of digits."
            ))),
        }
    }

    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::invalid(format!(
                "Invalid parameters: '{name}' must be a boolean."
            ))),
        }
    }

    /// A link: at most 2048 characters and an absolute http(s) URL.
    pub fn link(&self, name: &str, max: usize) -> ApiResult<Option<String>> {
        let Some(link) = self.string(name, Some(max))? else {
            return Ok(None);
        };
        check_url(name, &link)?;
        Ok(Some(link))
    }
}

/// Checks that `value` is an absolute http(s) URL.
pub fn check_url(name: &str, value: &str) -> ApiResult<()> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "Invalid parameters: '{name}' must be a valid http(s) URL."
        ))),
    }
}

/// Parses a Pinterest id (digits only) from a path or body field.
pub fn parse_id(name: &str, value: &str) -> ApiResult<Id> {
    if !pinline_pinterest::facts::is_pinterest_id(value) {
        return Err(ApiError::invalid(format!(
            "Invalid parameters: '{name}' must be a string of digits."
        )));
    }
    value
        .parse()
        .map_err(|_| ApiError::invalid(format!("Invalid parameters: '{name}' is out of range.")))
}

/// Query parameters and the paging they ask for.
#[derive(Debug)]
pub struct Query {
    pub params: HashMap<String, String>,
    pub page_size: usize,
    /// The bookmark: list items strictly older (lower id) than this.
    pub before: Option<Id>,
}

/// Default and largest `page_size`, from the spec.
const PAGE_SIZE_DEFAULT: usize = 25;
const PAGE_SIZE_MAX: usize = 250;

impl Query {
    pub fn parse(raw: Option<&str>) -> ApiResult<Query> {
        let params: HashMap<String, String> =
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let page_size = match params.get("page_size") {
            None => PAGE_SIZE_DEFAULT,
            Some(value) => match value.parse::<usize>() {
                Ok(size) if (1..=PAGE_SIZE_MAX).contains(&size) => size,
                _ => {
                    return Err(ApiError::invalid(format!(
                        "Invalid parameters: 'page_size' must be an integer from 1 to {PAGE_SIZE_MAX}."
                    )));
                }
            },
        };
        let before = match params.get("bookmark").map(String::as_str) {
            None | Some("") => None,
            Some(bookmark) => Some(decode_bookmark(bookmark).ok_or_else(|| {
                ApiError::invalid("Invalid parameters: 'bookmark' is not a valid bookmark.")
            })?),
        };
        Ok(Query {
            params,
            page_size,
            before,
        })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// One page of `ids`, newest first, keeping only those `keep` accepts. Returns the page and
    /// the bookmark of the next page (None on the last page).
    pub fn page(
        &self,
        ids: Option<&BTreeSet<Id>>,
        mut keep: impl FnMut(Id) -> bool,
    ) -> (Vec<Id>, Option<String>) {
        let Some(ids) = ids else {
            return (Vec::new(), None);
        };
        let mut page = Vec::with_capacity(self.page_size.min(ids.len()));
        let newest_first: Box<dyn Iterator<Item = &Id>> = match self.before {
            Some(before) => Box::new(ids.range(..before).rev()),
            None => Box::new(ids.iter().rev()),
        };
        for &id in newest_first {
            if !keep(id) {
                continue;
            }
            if page.len() == self.page_size {
                let last = page.last().copied().unwrap_or(id);
                return (page, Some(encode_bookmark(last)));
            }
            page.push(id);
        }
        (page, None)
    }
}

fn encode_bookmark(id: Id) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("sandbox:{id}"))
}

fn decode_bookmark(bookmark: &str) -> Option<Id> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(bookmark)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("sandbox:")?
        .parse()
        .ok()
}

/// The spec's paginated list shape.
pub fn paginated(items: Vec<Value>, bookmark: Option<String>) -> Value {
    json!({ "items": items, "bookmark": bookmark })
}

/// The caller's own board `id`, or 404 code 40 (someone else's boards do not exist for them).
pub fn owned_board<'a>(state: &'a State, caller: &Caller, id: Id) -> ApiResult<&'a Board> {
    state
        .boards
        .get(&id)
        .filter(|board| board.owner == caller.user)
        .ok_or_else(ApiError::board_not_found)
}

/// A board the caller may read: owned, and not secret unless the token sees secret boards.
pub fn readable_board<'a>(state: &'a State, caller: &Caller, id: Id) -> ApiResult<&'a Board> {
    let board = owned_board(state, caller, id)?;
    if board.is_secret() && !caller.sees_secret() {
        return Err(ApiError::board_not_found());
    }
    Ok(board)
}

/// A board the caller may change: owned, and if secret the token holds the `_secret` scopes.
pub fn writable_board<'a>(state: &'a State, caller: &Caller, id: Id) -> ApiResult<&'a Board> {
    let board = owned_board(state, caller, id)?;
    caller.require(board.is_secret())?;
    Ok(board)
}

pub fn is_secret_board(state: &State, board: Id) -> bool {
    state.boards.get(&board).is_some_and(Board::is_secret)
}

/// `ImageSize`: the four renditions Pinterest lists, all pointing at `url`.
fn image_sizes(url: &str) -> Value {
    json!({
        "150x150": { "width": 150, "height": 150, "url": url },
        "400x300": { "width": 400, "height": 300, "url": url },
        "600x": { "width": 600, "height": 600, "url": url },
        "1200x": { "width": 1200, "height": 1200, "url": url },
    })
}

pub fn render_board(state: &State, board: &Board) -> Value {
    json!({
        "id": board.id.to_string(),
        "name": board.name,
        "description": board.description,
        "privacy": board.privacy.as_str(),
        "owner": { "username": state.username(board.owner) },
        "created_at": rfc3339(board.created_at),
        "board_pins_modified_at": rfc3339(board.pins_modified_at),
        "pin_count": state.board_pin_count(board.id),
        "follower_count": 0,
        "collaborator_count": 0,
        "is_ads_only": board.is_ads_only,
        "media": { "image_cover_url": null, "pin_thumbnail_urls": [] },
    })
}

pub fn render_section(section: &Section) -> Value {
    json!({ "id": section.id.to_string(), "name": section.name })
}

pub fn render_pin(state: &State, pin: &Pin) -> Value {
    let (media, creative_type) = match &pin.media {
        PinMedia::Image { url } => (
            json!({ "media_type": "image", "images": image_sizes(url) }),
            "REGULAR",
        ),
        PinMedia::Images { items } => (
            json!({
                "media_type": "multiple_images",
                "items": items.iter().map(|item| json!({
                    "item_type": "image",
                    "title": item.title,
                    "description": item.description,
                    "link": item.link,
                    "images": image_sizes(&item.url),
                })).collect::<Vec<_>>(),
            }),
            "CAROUSEL",
        ),
        PinMedia::Video {
            cover_image_url, ..
        } => (
            json!({
                "media_type": "video",
                "cover_image_url": cover_image_url,
                "images": image_sizes(cover_image_url),
                "video_url": null,
                "duration": null,
                "height": null,
                "width": null,
            }),
            "VIDEO",
        ),
    };
    json!({
        "id": pin.id.to_string(),
        "created_at": rfc3339(pin.created_at),
        "link": pin.link,
        "title": pin.title,
        "description": pin.description,
        "dominant_color": pin.dominant_color,
        "alt_text": pin.alt_text,
        "creative_type": creative_type,
        "board_id": pin.board.to_string(),
        "board_section_id": pin.section.map(|s| s.to_string()),
        "board_owner": { "username": state.username(pin.owner) },
        "is_owner": true,
        "media": media,
        "parent_pin_id": pin.parent_pin_id,
        "is_standard": true,
        "has_been_promoted": false,
        "pin_metrics": null,
    })
}

/// A media upload as it stands at `now_millis` on the sandbox clock.
pub fn render_media(media: &Media, now_millis: i64) -> Value {
    json!({
        "media_id": media.id.to_string(),
        "media_type": "video",
        "status": media.status_at(now_millis).as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_round_trip_and_reject_garbage() {
        assert_eq!(decode_bookmark(&encode_bookmark(42)), Some(42));
        assert_eq!(decode_bookmark("nonsense!"), None);
    }

    #[test]
    fn paging_walks_newest_first() {
        let ids: BTreeSet<Id> = (1..=60).collect();
        let mut query = Query::parse(Some("page_size=25")).expect("valid");
        let mut seen = Vec::new();
        loop {
            let (page, bookmark) = query.page(Some(&ids), |id| id % 2 == 0);
            seen.extend(page);
            match bookmark {
                Some(b) => {
                    query =
                        Query::parse(Some(&format!("page_size=25&bookmark={b}"))).expect("valid")
                }
                None => break,
            }
        }
        let expected: Vec<Id> = (1..=60).rev().filter(|id| id % 2 == 0).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn page_size_is_bounded() {
        assert!(Query::parse(Some("page_size=0")).is_err());
        assert!(Query::parse(Some("page_size=251")).is_err());
        assert!(Query::parse(Some("page_size=x")).is_err());
        assert_eq!(Query::parse(None).map(|q| q.page_size), Ok(25));
    }

    #[test]
    fn fields_name_the_bad_field() {
        let fields =
            Fields::parse(&Bytes::from_static(br#"{"title": 5, "link": "nope"}"#)).expect("object");
        let error = fields.string("title", Some(100)).expect_err("not a string");
        assert!(error.message.contains("title"));
        let error = fields.link("link", 2048).expect_err("not a url");
        assert!(error.message.contains("link"));
        assert!(Fields::parse(&Bytes::from_static(b"{nope")).is_err());
        assert!(Fields::parse(&Bytes::from_static(b"[1]")).is_err());
    }
}
