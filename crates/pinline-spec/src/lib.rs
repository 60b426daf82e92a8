//! Pinterest's OpenAPI v5 description, read at test time so that pinline's client, sandbox and
//! fact tables can be checked against Pinterest's own word instead of against each other.
//!
//! [`Spec`] loads `shared/pinterest/openapi-v5.yaml` (or the file named by
//! `PINLINE_PINTEREST_SPEC`), answers what an operation declares ([`Spec::operation`]: method,
//! path, scopes, rate-limit category, response statuses) and validates bodies against the
//! declared schemas ([`Spec::validate_response`], [`Spec::validate_request_body`]).
//!
//! OpenAPI 3.0 schemas are not quite JSON Schema; the `convert` module turns them into JSON
//! Schema draft 7 (nullable, discriminators, boolean exclusive bounds, read/write-only) and its
//! doc says how and why.
//!
//! The spec is never copied into the project: it is Pinterest's document, and a copy would
//! drift from the one the rest of the team reads.

mod convert;
mod error;
mod spec;

pub use error::SpecError;
pub use spec::{SPEC_PATH_ENV, Spec, SpecOperation, default_path};
