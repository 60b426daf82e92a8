//! The pieces every pinline service shares and none of them owns. They sit below the vault, the
//! queue and the webhooks so that none of those depends on another for time, encryption or the
//! outbox's wake-up.
//!
//! * [`clock`]: injectable time, so tests move it in milliseconds instead of sleeping.
//! * [`cipher`] and [`master_key`]: secrets encrypted at rest, bound to their row; the vault seals
//!   tokens with them and the webhooks seal signing secrets.
//! * [`outbox`]: the wake-up that tells the outbox's dispatcher an event row was written.
//! * [`trace`]: a post's trace context, carried through the database from its acceptance to
//!   the worker that publishes it, for OpenTelemetry traces.
//!
//! This crate does no I/O beyond reading or creating the key file, and knows nothing of tokens,
//! posts or SQL.

pub mod cipher;
pub mod clock;
mod error;
pub mod master_key;
pub mod outbox;
pub mod trace;

pub use error::CoreError;
