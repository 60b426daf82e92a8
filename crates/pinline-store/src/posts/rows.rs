//! The post queue's values: a post row, an attempt row, what a claim hands a worker, what a
//! completion reports, and the filters and pages of the read side. Also the column lists and
//! placeholder helpers that every statement over `posts` shares, so a column added to the table
//! is added in one place.

/// One post row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PostRow {
    /// A UUID v7, so ids sort by creation time.
    pub id: String,
    pub profile_id: String,
    pub account_id: String,
    pub board_id: String,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    /// Pinterest's `media_source` object, as JSON text.
    pub media: String,
    /// When the post should go live; `None` means as soon as possible.
    pub publish_at: Option<i64>,
    /// One of the `PostRow::*` status constants.
    pub status: String,
    pub held_reason: Option<String>,
    /// True for the one post released first after an account was reconnected.
    pub canary: bool,
    /// Claims so far (1 during the first attempt).
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// When the post was first claimed: pins created before it cannot be this post's.
    pub first_attempt_at: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    /// Grows by one on every claim; completions must present the current value.
    pub fence: i64,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub pin_id: Option<String>,
    pub pin_url: Option<String>,
    /// Set when a create request was sent but its result is unknown: search the board for the
    /// pin before sending again.
    pub outcome_unknown_since: Option<i64>,
    pub last_error_class: Option<String>,
    pub last_error_message: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
    /// Why `publish_at` is not the time the caller gave: `slot` (the account's next free slot)
    /// or `spaced` (moved later to keep the same link or image apart).
    pub placement: Option<String>,
    /// The time the caller gave, when a placement moved the post (`None` also for "as soon as
    /// possible" and for `next_slot`).
    pub requested_publish_at: Option<i64>,
    /// The accepting request's W3C `traceparent`, when traces are exported.
    pub trace_parent: Option<String>,
}

impl PostRow {
    /// Waiting for `next_attempt_at`.
    pub const QUEUED: &'static str = "queued";
    /// Claimed by a worker until `lease_until`.
    pub const PUBLISHING: &'static str = "publishing";
    /// Live on Pinterest; `pin_id` is set.
    pub const PUBLISHED: &'static str = "published";
    /// Given up: the request is wrong, or retries ran out.
    pub const FAILED: &'static str = "failed";
    /// Paused because its account cannot publish (needs reconnecting); nothing is lost.
    pub const HELD: &'static str = "held";
    /// Canceled by a user before it was published.
    pub const CANCELED: &'static str = "canceled";
    /// Published, then its pin was deleted at Pinterest through pinline.
    pub const DELETED: &'static str = "deleted";
}

/// One claim of a post and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PostAttemptRow {
    pub post_id: String,
    /// 1 for the first claim.
    pub attempt: i64,
    pub fence: i64,
    pub lease_owner: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// One of the `PostAttemptRow::*` outcome constants, `None` while running.
    pub outcome: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

impl PostAttemptRow {
    /// The pin was created by this attempt.
    pub const PUBLISHED: &'static str = "published";
    /// Failed transiently; the post went back to the queue.
    pub const RETRY: &'static str = "retry";
    /// Failed for good.
    pub const FAILED: &'static str = "failed";
    /// The account cannot publish; the post is held.
    pub const HELD: &'static str = "held";
    /// The pin from an earlier attempt with an unknown outcome was found and adopted.
    pub const ADOPTED: &'static str = "adopted";
    /// The lease expired and another worker took the post over.
    pub const FENCED_OUT: &'static str = "fenced_out";
    /// An edit of the live pin that Pinterest took.
    pub const EDITED: &'static str = "edited";
    /// An edit of the live pin that failed transiently and was tried again.
    pub const EDIT_RETRY: &'static str = "edit_retry";
    /// An edit of the live pin that failed for good; the pin kept its copy.
    pub const EDIT_FAILED: &'static str = "edit_failed";
}

/// A post to queue.
#[derive(Debug, Clone, Default)]
pub struct NewPost {
    pub profile_id: String,
    pub account_id: String,
    pub board_id: String,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    /// Pinterest's `media_source` object, as JSON text.
    pub media: String,
    pub publish_at: Option<i64>,
    /// The client's `Idempotency-Key`, unique per profile.
    pub idempotency_key: Option<String>,
    /// A hash of the request body, to tell a replay from a different request under the same key.
    pub request_hash: Option<String>,
    /// When set, the post is committed `held` with this reason (its account needs
    /// reconnecting) instead of `queued`, so no worker can claim it in between. The reason is
    /// also its last error, of class `auth`: a held post says why wherever it is shown.
    pub held_reason: Option<String>,
    /// What the post's image is (its URL, or a hash of its bytes), for the spacing rule.
    pub image_key: Option<String>,
    /// The accepting request's W3C `traceparent`, when traces are exported.
    pub trace_parent: Option<String>,
}

/// What a placement sees, read under the account's schedule lock in the transaction that
/// inserts the post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bookings {
    /// `publish_at` of the account's posts still to publish, after now (read for `next_slot`).
    pub booked: Vec<i64>,
    /// When the account's live and published posts with the same link or image go (or went)
    /// live, read when the schedule has a spacing rule.
    pub same_content: Vec<i64>,
}

/// Where a placement put a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacedTime {
    /// The post's `publish_at`; `None` is as soon as possible.
    pub publish_at: Option<i64>,
    /// `slot` or `spaced` when the time is not the one the caller gave.
    pub placement: Option<&'static str>,
}

/// What [`Store::insert_post`](crate::Store::insert_post) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// A new post was committed.
    Created(PostRow),
    /// The idempotency key was used before with the same request: this is that post.
    Existing(PostRow),
    /// The idempotency key was used before with a different request.
    Conflict,
}

/// A post a worker now owns, with the fence its completions must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedPost {
    pub post: PostRow,
    pub fence: i64,
    /// True when the post was taken over from a worker whose lease expired: that worker may have
    /// sent the create request, so the board must be searched before sending again.
    pub taken_over: bool,
    /// The post's account as the claim found it (read by the claim itself, so that a worker
    /// need not read the account again before pacing or holding the post); `None` when the
    /// account no longer exists.
    pub account: Option<ClaimedAccount>,
}

/// What a claim reads of a claimed post's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedAccount {
    pub pinterest_user_id: String,
    /// The account's status (`active`, `needs_reauth`, …) when the post was claimed.
    pub status: String,
    /// Why it has that status (why it needs reconnecting).
    pub status_reason: Option<String>,
    /// The version of the account's tokens when the post was claimed: a token cached at this
    /// version is still the current one.
    pub token_version: i64,
}

/// One post a worker published, for
/// [`Store::complete_published_many`](crate::Store::complete_published_many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPost {
    pub id: String,
    /// The fence the worker claimed the post with.
    pub fence: i64,
    pub pin_id: String,
    pub pin_url: Option<String>,
    /// True when the pin was found on the board after an attempt with an unknown outcome.
    pub adopted: bool,
    /// When the pin was created (or found), unix ms: the post's `published_at`.
    pub published_at: i64,
}

/// Whether a fenced write landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a fenced-out worker must stop working on the post"]
pub enum Completion {
    /// Written.
    Applied,
    /// The post is no longer ours (another claim, a cancel, or already completed): nothing was
    /// written.
    Fenced,
}

impl Completion {
    /// True when the write landed.
    pub fn is_applied(self) -> bool {
        self == Completion::Applied
    }
}

/// Filters for [`Store::list_posts`](crate::Store::list_posts); `None` matches everything.
/// `from`/`to` bound the post's scheduled time (`publish_at`, or `created_at` when it has none),
/// `to` exclusive.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    pub status: Option<String>,
    pub account_id: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Where a page of [`Store::list_posts`](crate::Store::list_posts) ended: the last post's
/// `(created_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostCursor {
    pub created_at: i64,
    pub id: String,
}

/// One page of posts, oldest first, and the cursor of the next page when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPage {
    pub posts: Vec<PostRow>,
    pub next: Option<PostCursor>,
}

/// Edits to a post that has not started publishing; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PostChanges {
    pub board_id: Option<String>,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    pub media: Option<String>,
    /// A new schedule; also moves `next_attempt_at`.
    pub publish_at: Option<i64>,
}

/// What a cancel or an edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostChange {
    /// Done; the post as it is now.
    Changed(PostRow),
    /// No such post in this profile.
    NotFound,
    /// The post's status does not allow it (the row says which).
    NotAllowed(PostRow),
}

pub(crate) const COLUMNS: &str = "id, profile_id, account_id, board_id, board_section_id, title, \
    description, link, alt_text, media, publish_at, status, held_reason, canary, attempts, \
    next_attempt_at, first_attempt_at, lease_owner, lease_until, fence, idempotency_key, \
    request_hash, pin_id, pin_url, outcome_unknown_since, last_error_class, last_error_message, \
    created_at, updated_at, published_at, placement, requested_publish_at, trace_parent";

pub(super) const ATTEMPT_COLUMNS: &str = "post_id, attempt, fence, lease_owner, started_at, \
    finished_at, outcome, error_class, error_message";

/// `$first, $first+1, …`: `count` numbered placeholders, for statements over a batch of rows.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `COLUMNS` with every column qualified by `alias`.
pub(crate) fn columns_of(alias: &str) -> String {
    COLUMNS
        .split(',')
        .map(|column| format!("{alias}.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
