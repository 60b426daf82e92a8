//! Outbound requests for pinline: the one way to reach a URL that a user or an operator gave.
//!
//! pinline calls out to webhook receivers, to the pages and images an idea links to, and to an
//! optional chat API. Each of those URLs comes from outside, so none of them is fetched with a
//! plain HTTP client:
//! - [`Guard`] checks every URL before a request is built and every address its host resolves
//!   to, and pins the connection to the addresses it checked (no DNS rebinding, no proxies).
//!   Private, loopback and the other special-purpose ranges ([`address`]) are refused unless
//!   the operator allows private targets (`PINLINE_ALLOW_PRIVATE_TARGETS=1`).
//! - [`reach`] is the process-wide switch that closes everything beyond loopback
//!   (`PINLINE_OUTBOUND=loopback`): tests, CI, the demo and the benchmarks turn it on, and every
//!   attempt it refuses is counted, so a run can prove it sent nothing off the machine.
//!
//! The two compose: the reach closes public hosts, the private switch opens private ones, so a
//! test run with both reaches exactly its own loopback servers.

pub mod address;
mod error;
mod guard;
pub mod reach;
pub mod testing;

pub use address::{is_loopback, is_public_address, special_range};
pub use error::{ALLOW_PRIVATE_ENV, OutboundError};
pub use guard::{Destination, Guard, Lookingup, Lookup, SystemLookup};
pub use reach::{
    Reach, loopback_child_env, process_reach, refused_beyond_loopback, restrict_to_loopback,
};
