//! Exactly once: finding the pin that an attempt with an unknown outcome may have created.
//!
//! When a create request was sent and no answer came back (a timeout, a 502, a process that died
//! with its lease), the pin may exist. Sending again could publish twice, so the next attempt
//! first lists the board's newest pins and *adopts* a pin that is this post: same board (and
//! section, when both name one), same title, same link, same image URL when the pin exposes it,
//! and created no earlier than the post's first attempt (minus a small clock skew). Only when no
//! pin matches is the create sent again.
//!
//! "When the pin exposes it": Pinterest re-hosts images, so a pin's media normally lists only its
//! own image URLs, which cannot be compared with the URL we sent. An image URL of the pin on the
//! *same host* as ours is ours (a stand-in server, or a pin that echoes its source), and must
//! then be equal to one of ours; URLs on other hosts say nothing either way.
//!
//! A pin without a readable `created_at` is never adopted: without it, an identical pin posted
//! days ago (a recurring post) could not be told apart from this one.

use std::time::Duration;

use pinline_pinterest::Pin;
use pinline_store::PostRow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What identifies a post on its board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostFingerprint {
    pub board_id: String,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub link: Option<String>,
    /// The image URLs the post sent (none for inline images).
    pub image_urls: Vec<String>,
    /// When the post was first claimed, unix ms.
    pub first_attempt_at: i64,
}

impl PostFingerprint {
    /// The fingerprint of a stored post (`None` before its first attempt: nothing can exist yet).
    pub fn from_post(post: &PostRow) -> Option<PostFingerprint> {
        Some(PostFingerprint {
            board_id: post.board_id.clone(),
            board_section_id: post.board_section_id.clone(),
            title: post.title.clone(),
            link: post.link.clone(),
            image_urls: media_image_urls(&post.media),
            first_attempt_at: post.first_attempt_at?,
        })
    }
}

/// The image URLs of a `media_source` JSON text: `url` of `image_url`, each item's `url` of
/// `multiple_image_urls`, and a video's `cover_image_url`.
pub fn media_image_urls(media: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(media) else {
        return Vec::new();
    };
    let text = |value: &serde_json::Value, key: &str| {
        value.get(key).and_then(|v| v.as_str()).map(str::to_owned)
    };
    let mut urls: Vec<String> = text(&value, "url")
        .into_iter()
        .chain(text(&value, "cover_image_url"))
        .collect();
    if let Some(items) = value.get("items").and_then(|items| items.as_array()) {
        urls.extend(items.iter().filter_map(|item| text(item, "url")));
    }
    urls
}

/// The pin on `pins` (a page of the post's board) that this post created, if any; the earliest
/// when several match.
pub fn find_pin_to_adopt<'p>(
    post: &PostFingerprint,
    pins: &'p [Pin],
    skew: Duration,
) -> Option<&'p Pin> {
    let not_before = post
        .first_attempt_at
        .saturating_sub(skew.as_millis() as i64);
    pins.iter()
        .filter(|pin| is_this_post(post, pin))
        .filter_map(|pin| Some((pin_created_at_ms(pin)?, pin)))
        .filter(|(created_at, _)| *created_at >= not_before)
        .min_by_key(|(created_at, _)| *created_at)
        .map(|(_, pin)| pin)
}

fn is_this_post(post: &PostFingerprint, pin: &Pin) -> bool {
    let same_board = pin
        .board_id
        .as_deref()
        .is_none_or(|board| board == post.board_id);
    let same_section = match (&post.board_section_id, &pin.board_section_id) {
        (Some(ours), Some(theirs)) => ours == theirs,
        _ => true,
    };
    same_board
        && same_section
        && same_text(post.title.as_deref(), pin.title.as_deref())
        && same_text(post.link.as_deref(), pin.link.as_deref())
        && same_image(&post.image_urls, pin)
}

/// Equal after trimming, with an absent value the same as an empty one.
fn same_text(ours: Option<&str>, theirs: Option<&str>) -> bool {
    ours.map_or("", str::trim) == theirs.map_or("", str::trim)
}

fn same_image(ours: &[String], pin: &Pin) -> bool {
    let our_hosts: Vec<String> = ours.iter().filter_map(|url| host(url)).collect();
    if our_hosts.is_empty() {
        return true;
    }
    let mut exposed = Vec::new();
    if let Some(media) = &pin.media {
        for value in media.details.values() {
            collect_urls(value, &mut exposed);
        }
    }
    let comparable: Vec<&String> = exposed
        .iter()
        .filter(|url| host(url).is_some_and(|h| our_hosts.contains(&h)))
        .collect();
    comparable.is_empty() || comparable.iter().any(|url| ours.contains(url))
}

fn collect_urls(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) if text.starts_with("http") => into.push(text.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_urls(v, into)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_urls(v, into)),
        _ => {}
    }
}

fn host(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// A pin's `created_at` in unix ms. Pinterest writes RFC 3339 (`2022-03-14T15:15:22Z`, also
/// with `-00:00`); a time without an offset is read as UTC.
pub fn pin_created_at_ms(pin: &Pin) -> Option<i64> {
    let text = pin.created_at.as_deref()?.trim();
    let parsed = OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339))
        .ok()?;
    Some((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2022-03-14T15:15:22Z.
    const FIRST_ATTEMPT: i64 = 1_647_270_922_000;

    fn post() -> PostFingerprint {
        PostFingerprint {
            board_id: "111".into(),
            board_section_id: None,
            title: Some("Spring tart".into()),
            link: Some("https://shop.example/tart".into()),
            image_urls: vec!["https://cdn.example/tart.jpg".into()],
            first_attempt_at: FIRST_ATTEMPT,
        }
    }

    fn pin(id: &str, created_at: &str) -> Pin {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "created_at": created_at,
            "board_id": "111",
            "title": "Spring tart",
            "link": "https://shop.example/tart",
            "media": {
                "media_type": "image",
                "images": {"150x150": {"url": "https://i.pinimg.com/150x150/ab/cd.jpg"}}
            }
        }))
        .expect("a valid pin")
    }

    fn with(mut pin: Pin, change: impl FnOnce(&mut Pin)) -> Pin {
        change(&mut pin);
        pin
    }

    fn adopted(pins: &[Pin]) -> Option<&str> {
        find_pin_to_adopt(&post(), pins, Duration::from_secs(5)).map(|pin| pin.id.as_str())
    }

    #[test]
    fn the_matching_pin_created_after_the_first_attempt_is_adopted() {
        assert_eq!(adopted(&[pin("1", "2022-03-14T15:15:30Z")]), Some("1"));
        // Within the skew, and with a `-00:00` offset.
        assert_eq!(adopted(&[pin("1", "2022-03-14T15:15:19-00:00")]), Some("1"));
        // No offset: read as UTC.
        assert_eq!(adopted(&[pin("1", "2022-03-14T15:15:30")]), Some("1"));
    }

    #[test]
    fn older_or_undated_pins_are_not_this_post() {
        assert_eq!(adopted(&[pin("1", "2022-03-13T15:15:30Z")]), None);
        assert_eq!(adopted(&[pin("1", "2022-03-14T15:15:10Z")]), None);
        assert_eq!(adopted(&[pin("1", "yesterday")]), None);
        assert_eq!(
            adopted(&[with(pin("1", "x"), |p| p.created_at = None)]),
            None
        );
    }

    #[test]
    fn every_field_must_match() {
        let fresh = || pin("1", "2022-03-14T15:16:00Z");
        assert_eq!(
            adopted(&[with(fresh(), |p| p.board_id = Some("222".into()))]),
            None
        );
        assert_eq!(
            adopted(&[with(fresh(), |p| p.title = Some("Autumn tart".into()))]),
            None
        );
        assert_eq!(adopted(&[with(fresh(), |p| p.link = None)]), None);
        // A board page whose pins omit board_id is still this board's.
        assert_eq!(adopted(&[with(fresh(), |p| p.board_id = None)]), Some("1"));
        // Whitespace Pinterest may trim does not matter.
        assert_eq!(
            adopted(&[with(fresh(), |p| p.title = Some(" Spring tart ".into()))]),
            Some("1")
        );
    }

    #[test]
    fn an_exposed_image_url_on_our_host_must_be_ours() {
        let exposing = |url: &str| {
            with(pin("1", "2022-03-14T15:16:00Z"), |p| {
                let media = p.media.as_mut().expect("media");
                media
                    .details
                    .insert("source_url".into(), serde_json::json!(url));
            })
        };
        assert_eq!(
            adopted(&[exposing("https://cdn.example/tart.jpg")]),
            Some("1")
        );
        assert_eq!(adopted(&[exposing("https://cdn.example/other.jpg")]), None);
        // Re-hosted images only (the fixture's i.pinimg.com URL) say nothing.
        assert_eq!(adopted(&[pin("1", "2022-03-14T15:16:00Z")]), Some("1"));
    }

    #[test]
    fn the_earliest_match_wins() {
        let pins = [
            pin("late", "2022-03-14T15:20:00Z"),
            with(pin("other", "2022-03-14T15:16:00Z"), |p| p.title = None),
            pin("early", "2022-03-14T15:17:00Z"),
        ];
        assert_eq!(adopted(&pins), Some("early"));
    }

    #[test]
    fn media_urls_are_read_from_each_source_type() {
        assert_eq!(
            media_image_urls(r#"{"source_type":"image_url","url":"https://a/1.jpg"}"#),
            ["https://a/1.jpg"]
        );
        assert_eq!(
            media_image_urls(
                r#"{"source_type":"multiple_image_urls","items":[{"url":"https://a/1"},{"url":"https://a/2"}]}"#
            ),
            ["https://a/1", "https://a/2"]
        );
        assert!(media_image_urls(r#"{"source_type":"image_base64","data":"AAAA"}"#).is_empty());
        assert!(media_image_urls("not json").is_empty());
    }
}
