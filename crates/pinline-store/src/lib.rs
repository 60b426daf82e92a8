//! pinline's data-access layer. One [`Store`] over either SQLite (the embedded default: a file in
//! the data dir, WAL mode) or PostgreSQL (for several replicas sharing one database), chosen by
//! the database URL's scheme. Only this crate knows SQL; each backend has its own migrations under
//! `migrations/<backend>/`, kept in step so that both pass the same test suite.

mod account_backlog;
mod account_links;
mod accounts;
mod alerts;
mod analytics;
mod audit;
mod campaigns;
mod claim;
mod cooldowns;
mod counts;
mod drafts;
mod error;
mod key_accounts;
mod location;
mod meta;
mod oauth_states;
mod outbox;
mod post_pins;
mod posts;
mod profiles;
mod schedules;
mod sessions;
mod sql;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod wakeup;
mod webhooks;

pub use account_backlog::AccountBacklog;
pub use account_links::{AccountIdentity, AccountLinkRow};
pub use accounts::{
    AccountRow, ConnectedAccount, NewAccountEvent, RefreshClaim, RefreshFailure, RefreshTokenKind,
    SealedTokens,
};
pub use alerts::{AlertChange, AlertDeliveryRow, DueReminder, NewAlertMessage, PendingAlertEvent};
pub use analytics::{AnalyticsDayRow, NewAnalyticsDay};
pub use audit::{AuditFilter, AuditRow, IdempotencyClaim, IdempotencyRow};
pub use campaigns::{CampaignPinRow, CampaignRow};
pub use claim::ClaimRequest;
pub use cooldowns::RateCooldownRow;
pub use drafts::{DraftChange, DraftEdit, DraftRow, NewDraft};
pub use error::StoreError;
pub use location::DatabaseLocation;
pub use oauth_states::{OAuthStateRow, StateRejection};
pub use outbox::{EventDelivery, Fanout, PendingAccountEvent, PendingPostEvent};
pub use posts::{
    Bookings, ClaimedAccount, ClaimedPost, Completion, InsertOutcome, LIVE_EDIT_OWNER, NewPost,
    PlacedTime, PostAttemptRow, PostChange, PostChanges, PostCursor, PostFilter, PostPage, PostRow,
    PublishedPost,
};
pub use profiles::{ApiKeyRow, ProfileRow};
pub use schedules::ScheduleRow;
pub use sessions::SessionRow;
pub use store::{Backend, Store};
pub use wakeup::{
    HINT_DEBOUNCE, HINT_HORIZON_MS, POSTS_DUE_CHANNEL, PostsDueHints, PostsDueListener, Wake,
};
pub use webhooks::{
    WEBHOOK_DISABLED_EVENT, WebhookAttemptResult, WebhookAttemptRow, WebhookChanges,
    WebhookDeliveryRow, WebhookDisabled, WebhookRow,
};
