//! The durable post queue: posts, their claims by workers, and the attempt log.
//!
//! A post is committed by [`Store::insert_post`] before the API acknowledges it. Workers take due
//! posts with [`Store::claim_due_posts`], which gives each claimed post a lease (a time, not a
//! lock) and a new *fence*: a number that grows by one on every claim. Every completion
//! ([`Store::complete_published`], [`Store::schedule_retry`], [`Store::fail_post`],
//! [`Store::hold_post`], …) is a conditional update on `id`, `fence` and `lease_owner` together,
//! so a worker that stalled past its lease and was taken over cannot overwrite the new owner's
//! result: it gets [`Completion::Fenced`] and nothing is written.
//!
//! Claims ([`Store::claim_due_posts`]) are fair across accounts and cost O(k · log n) for k
//! posts: they go through the account ready queue described in `claim.rs`, which every change
//! here that queues a post, or moves one earlier, keeps up to date in the same transaction.
//!
//! Published completions can be written in batches ([`Store::complete_published_many`]): one
//! transaction for many posts, each still fenced on its own.
//!
//! **Invariant:** a post's status is `publishing` exactly while some worker holds (or held, until
//! the lease expires) a claim on it; every other transition out of `publishing` goes through a
//! fenced completion or a takeover claim that bumps the fence.
//!
//! The module is split by job:
//! * [`rows`]: what a post, an attempt, a claim and a completion look like as values, and the
//!   column lists every query selects.
//! * [`write`]: what the API writes: a new post (idempotent), an edit, a cancel.
//! * [`complete`]: fenced completions of a claimed post (published, retry, failed, held,
//!   outcome unknown) and lease extensions.
//! * [`live_edit`]: edits of a published post's pin, one attempt row per try.
//! * [`lifecycle`]: holding and releasing all posts of an account, one canary first.
//! * [`read`]: single posts, pages of posts, attempts, and what the worker and `/metrics` ask.
//!
//! Claims live in `claim.rs`, beside the account ready queue they maintain.
//!
//! [`Store::claim_due_posts`]: crate::Store::claim_due_posts
//! [`Store::complete_published`]: crate::Store::complete_published
//! [`Store::complete_published_many`]: crate::Store::complete_published_many
//! [`Store::fail_post`]: crate::Store::fail_post
//! [`Store::hold_post`]: crate::Store::hold_post
//! [`Store::insert_post`]: crate::Store::insert_post
//! [`Store::schedule_retry`]: crate::Store::schedule_retry

mod complete;
mod lifecycle;
mod live_edit;
mod read;
mod rows;
mod write;

pub use live_edit::LIVE_EDIT_OWNER;
pub use rows::{
    Bookings, ClaimedAccount, ClaimedPost, Completion, InsertOutcome, NewPost, PlacedTime,
    PostAttemptRow, PostChange, PostChanges, PostCursor, PostFilter, PostPage, PostRow,
    PublishedPost,
};
pub(crate) use rows::{COLUMNS, columns_of, placeholders};
pub(crate) use write::BOOKED;
