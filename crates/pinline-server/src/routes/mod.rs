//! HTTP handlers, one module per resource.

pub mod accounts;
pub mod callback;
pub mod health;
pub mod posts;
pub mod webhooks;
