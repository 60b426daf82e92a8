//! pinline's durable post queue: the rules that decide when and how a post is (re)tried, with
//! the storage itself in `pinline-store` (`posts` module).
//!
//! * [`queue`]: [`Queue`], the store's claim and completion functions with this process's clock,
//!   lease owner and policy.
//! * [`pacing`]: per-user, per-category outbound pacing, corrected by Pinterest's rate-limit
//!   headers.
//! * [`retry`]: exponential backoff with full jitter, honouring `Retry-After`.
//! * [`classify`]: a failed attempt's error → retry, hold the account, fail, or reconcile.
//! * [`adopt`]: the exactly-once rule — which pin on the board an unknown-outcome attempt
//!   created.
//!
//! **Invariant:** a post is committed before it is acknowledged.
//! **Invariant:** a worker's result lands only while it holds the post's current fence; a
//! worker taken over after its lease expired writes nothing.
//! **Invariant:** a create whose outcome is unknown is never re-sent before the board has been
//! searched for the pin it may have created.
//!
//! * [`worker`]: [`Publisher`], the worker loop that publishes claimed posts through the vault,
//!   adopts pins of unknown-outcome attempts, holds and canary-releases accounts, and broadcasts
//!   [`PostEvent`]s.
//! * [`slots`]: weekly time slots in an account's time zone and the spacing rule for the same
//!   link or image: where a post lands in time.
//! * [`metrics`]: what the publisher counts for Prometheus (attempts, lag, claims, budget).

pub mod adopt;
pub mod classify;
pub mod metrics;
pub mod pacing;
pub mod queue;
pub mod retry;
pub mod slots;
pub mod worker;

pub use adopt::{PostFingerprint, find_pin_to_adopt};
pub use classify::{Decision, decide, decide_vault};
pub use metrics::{AttemptTotals, PublisherMetrics};
pub use pacing::{Cooldown, DEFAULT_RESERVED, Observed, PaceStatus, Pacer, PacerSettings, Rate};
pub use queue::{Queue, QueueSettings};
pub use retry::RetryPolicy;
pub use worker::{Outcome, PostEvent, Publisher, PublisherSettings, PublisherStats, post_kind};
