//! HTTP handlers, one module per resource.

pub mod accounts;
pub mod callback;
pub mod drafts;
pub mod health;
pub mod posts;
pub mod slots;
pub mod webhooks;
