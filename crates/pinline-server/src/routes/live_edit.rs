//! `PATCH /v1/posts/{id}` on a `published` post: the edit goes to the live pin through
//! Pinterest's `PATCH /v5/pins/{pin_id}` (title, description, link, alt text: the copy both
//! pinline and Pinterest let change), paced on the account's write budget like a create, and
//! tried again on the errors a create is tried again on.
//!
//! The caller waits for the answer, so the tries are bounded: a few, with short backoffs, and a
//! wait for budget no longer than [`MAX_WAIT`]; past that the caller hears `429`/`503` with
//! `Retry-After`. Every try leaves an attempt row on the post (`edited`, `edit_retry`,
//! `edit_failed`), and the post's copy changes only once Pinterest took the edit.

use std::time::Duration;

use pinline_pinterest::facts::RateLimitCategory;
use pinline_pinterest::{ErrorClass, PinUpdate};
use pinline_queue::retry::random_jitter;
use pinline_queue::{Decision, RetryPolicy, decide_vault};
use pinline_store::{PostAttemptRow, PostChanges, PostRow};
use pinline_vault::VaultError;

use crate::error::ApiError;
use crate::state::AppState;

/// The longest an edit waits, for the account's budget or before a try again.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// Tries of one edit: a create's rules for which errors are worth another try, in the time a
/// request can wait.
const EDIT_RETRY: RetryPolicy = RetryPolicy {
    base: Duration::from_millis(500),
    cap: Duration::from_secs(2),
    max_attempts: 3,
};

/// Sends `changes` to the pin of the published `post` and answers the post as it is after.
pub(crate) async fn edit_live_pin(
    state: &AppState,
    profile_id: &str,
    post: PostRow,
    changes: &PostChanges,
) -> Result<PostRow, ApiError> {
    if changes.publish_at.is_some() {
        return Err(ApiError::invalid(
            "publish_at",
            "the post is published; its time cannot change (its copy can)",
        ));
    }
    let update = PinUpdate {
        title: changes.title.clone(),
        description: changes.description.clone(),
        link: changes.link.clone(),
        alt_text: changes.alt_text.clone(),
        ..PinUpdate::default()
    };
    if update == PinUpdate::default() {
        // Nothing to change: no call, no attempt.
        return Ok(post);
    }
    update.validate().map_err(|refusal| {
        let message = refusal.to_string();
        match refusal {
            pinline_pinterest::Refusal::InvalidField { field, .. } => {
                ApiError::invalid(field, message)
            }
            _ => ApiError::invalid("title", message),
        }
    })?;
    let pin_id = post.pin_id.clone().unwrap_or_default();
    let account = state.vault().account(profile_id, &post.account_id).await?;
    let user = account.pinterest_user_id.as_str();
    let pacer = state.publisher().pacer();
    let mut tries: u32 = 0;
    loop {
        if let Err(wait) = pacer
            .acquire_within(user, RateLimitCategory::OrgWrite, MAX_WAIT)
            .await
        {
            return Err(ApiError {
                retry_after_secs: Some(wait.as_secs().max(1)),
                ..ApiError::new(
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "pinterest_rate_limited",
                    "the account's Pinterest write budget is spent for now; try the edit again later",
                )
            });
        }
        tries += 1;
        let Some(attempt) = state
            .store()
            .start_live_edit(profile_id, &post.id, state.now_ms())
            .await?
        else {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "post_not_editable",
                "the post is no longer published; only queued, held or published posts can be changed",
            ));
        };
        let sent = state
            .vault()
            .call(&post.account_id, |client, token| {
                let (pin_id, update) = (pin_id.clone(), update.clone());
                async move { client.update_pin(&token, &pin_id, &update).await }
            })
            .await;
        let error = match sent {
            Ok(response) => {
                pacer.observe(user, RateLimitCategory::OrgWrite, &response.rate_limit);
                let row = state
                    .store()
                    .finish_live_edit(
                        &attempt,
                        PostAttemptRow::EDITED,
                        None,
                        changes,
                        state.now_ms(),
                    )
                    .await?
                    .ok_or_else(|| ApiError::not_found("post"))?;
                return Ok(row);
            }
            Err(error) => error,
        };
        if let VaultError::Pinterest(pinterest) = &error
            && let Some(info) = pinterest.rate_limit()
        {
            pacer.observe(user, RateLimitCategory::OrgWrite, info);
        }
        let now = state.now_ms();
        let decision = match decide_vault(&error, tries, &EDIT_RETRY, now, random_jitter()) {
            // An edit sets the same values again: sending it twice is harmless.
            Decision::Unknown { message } => {
                match EDIT_RETRY.next_delay(tries, None, random_jitter()) {
                    Some(delay) => Decision::Retry {
                        at: now + delay.as_millis() as i64,
                        class: ErrorClass::Transient,
                        message,
                    },
                    None => Decision::Fail {
                        class: ErrorClass::Transient,
                        message,
                    },
                }
            }
            decision => decision,
        };
        let again = match &decision {
            Decision::Retry { at, class, message }
                if (*at - now) as u128 <= MAX_WAIT.as_millis() =>
            {
                Some((
                    Duration::from_millis((*at - now).max(0) as u64),
                    *class,
                    message,
                ))
            }
            _ => None,
        };
        let (outcome, class, message) = match (&again, &decision) {
            (Some((_, class, message)), _) => {
                (PostAttemptRow::EDIT_RETRY, *class, message.as_str())
            }
            (None, Decision::Retry { class, message, .. })
            | (None, Decision::Hold { class, message })
            | (None, Decision::Fail { class, message }) => {
                (PostAttemptRow::EDIT_FAILED, *class, message.as_str())
            }
            (None, Decision::Unknown { message }) => (
                PostAttemptRow::EDIT_FAILED,
                ErrorClass::Unknown,
                message.as_str(),
            ),
        };
        state
            .store()
            .finish_live_edit(
                &attempt,
                outcome,
                Some((class.as_str(), message)),
                &PostChanges::default(),
                now,
            )
            .await?;
        match again {
            Some((delay, _, _)) => tokio::time::sleep(delay).await,
            None => return Err(error.into()),
        }
    }
}
