//! The dashboard's drafts: a form that turns one idea into drafts, each draft with its image,
//! copy and keywords, and a publish form (account, board, optional time) that goes through the
//! same path as `POST /v1/drafts/{id}/publish`.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use pinline_vault::AccountStatus;
use serde::Deserialize;

use super::format::{relative, timestamp};
use super::pages::Chrome;
use super::{Dashboard, PageError, SessionForm, SignedIn, render};
use crate::auth::Caller;
use crate::routes::drafts::{self, CreateDrafts, PublishDraft, jpeg_response};

/// Drafts shown on the page at most.
const SHOWN: i64 = 60;

#[derive(Debug)]
struct DraftCard {
    id: String,
    status: String,
    title: String,
    description: String,
    alt_text: String,
    link: String,
    keywords: String,
    source: String,
    written_by: String,
    created: String,
    post_id: String,
}

#[derive(Debug)]
struct AccountChoice {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "dashboard/drafts.html")]
struct DraftsPage {
    chrome: Chrome,
    drafts: Vec<DraftCard>,
    accounts: Vec<AccountChoice>,
}

fn text_of(value: &serde_json::Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

/// `GET /dashboard/drafts`.
pub async fn drafts_page(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let app = &dashboard.app;
    let now = app.now_ms();
    let rows = app
        .store()
        .drafts(signed_in.profile_id(), None, SHOWN)
        .await?;
    let drafts = rows
        .iter()
        .map(|row| {
            let source: serde_json::Value = serde_json::from_str(&row.source).unwrap_or_default();
            let generator: serde_json::Value =
                serde_json::from_str(&row.generator).unwrap_or_default();
            let keywords: Vec<String> = serde_json::from_str(&row.keywords).unwrap_or_default();
            let origin = [text_of(&source, "site_name"), text_of(&source, "url")]
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            DraftCard {
                id: row.id.clone(),
                status: row.status.clone(),
                title: row.title.clone(),
                description: row.description.clone(),
                alt_text: row.alt_text.clone(),
                link: row.link.clone().unwrap_or_default(),
                keywords: keywords.join(", "),
                source: if origin.is_empty() {
                    text_of(&source, "kind")
                } else {
                    origin
                },
                written_by: match generator["kind"].as_str() {
                    Some("chat") => format!("chat model {}", text_of(&generator, "model")),
                    Some("rules_after_chat_failed") => format!(
                        "built-in templates (the chat model failed: {})",
                        text_of(&generator, "reason")
                    ),
                    _ => "built-in templates".into(),
                },
                created: format!(
                    "{} ({})",
                    timestamp(Some(row.created_at)),
                    relative(row.created_at, now)
                ),
                post_id: row.post_id.clone().unwrap_or_default(),
            }
        })
        .collect();
    let accounts = app
        .vault()
        .accounts(signed_in.profile_id())
        .await?
        .into_iter()
        .filter(|account| {
            matches!(
                account.status,
                AccountStatus::Active | AccountStatus::Refreshing | AccountStatus::NeedsReauth
            )
        })
        .map(|account| AccountChoice {
            label: format!("@{}", account.username),
            id: account.id,
        })
        .collect();
    Ok(render(&DraftsPage {
        chrome: Chrome::new("drafts", &signed_in),
        drafts,
        accounts,
    }))
}

/// The new-idea form.
#[derive(Debug, Deserialize)]
pub struct IdeaForm {
    csrf: Option<String>,
    url: Option<String>,
    text: Option<String>,
    title: Option<String>,
    image_url: Option<String>,
    count: Option<String>,
}

fn filled(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `POST /dashboard/drafts`: drafts from one idea, then back to the list.
pub async fn create_drafts(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    form: Result<Form<IdeaForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = signed_in.checked_form(form)?;
    let count = match filled(form.count) {
        None => None,
        Some(text) => Some(text.parse::<usize>().map_err(|_| {
            PageError::bad_request("The number of drafts must be a whole number from 1 to 5.")
        })?),
    };
    let idea = CreateDrafts {
        url: filled(form.url),
        text: filled(form.text),
        title: filled(form.title),
        image_url: filled(form.image_url),
        image_base64: None,
        count,
    };
    drafts::make_drafts(&dashboard.app, signed_in.profile_id(), idea).await?;
    Ok(Redirect::to("/dashboard/drafts").into_response())
}

/// `GET /dashboard/drafts/{id}/image`: the draft's JPEG, for the page's `<img>`.
pub async fn draft_image(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    Path(draft_id): Path<String>,
) -> Result<Response, PageError> {
    let bytes = dashboard
        .app
        .store()
        .draft_image(signed_in.profile_id(), &draft_id)
        .await?
        .ok_or_else(|| PageError::not_found("draft"))?;
    Ok(jpeg_response(bytes))
}

/// The publish form of one draft.
#[derive(Debug, Deserialize)]
pub struct PublishForm {
    csrf: Option<String>,
    account_id: Option<String>,
    board: Option<String>,
    publish_at: Option<String>,
}

/// `POST /dashboard/drafts/{id}/publish`: queue the draft, then show its post.
pub async fn publish_draft(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
    Path(draft_id): Path<String>,
    form: Result<Form<PublishForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = signed_in.checked_form(form)?;
    let Some(account_id) = filled(form.account_id) else {
        return Err(PageError::bad_request("Choose the account to publish as."));
    };
    let Some(board) = filled(form.board) else {
        return Err(PageError::bad_request(
            "Name the board (its name, or its id in digits).",
        ));
    };
    let by_id = board.chars().all(|c| c.is_ascii_digit());
    let target = PublishDraft {
        account_id,
        board_id: by_id.then(|| board.clone()),
        board: (!by_id).then_some(board),
        board_section_id: None,
        publish_at: filled(form.publish_at),
    };
    let caller = Caller {
        profile_id: signed_in.profile_id().to_owned(),
        key_id: signed_in.key_id().to_owned(),
    };
    let (_, post) = drafts::publish(&dashboard.app, &caller, &draft_id, &target).await?;
    Ok(Redirect::to(&format!("/dashboard/posts/{}", post.id)).into_response())
}

impl SessionForm for IdeaForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl SessionForm for PublishForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}
