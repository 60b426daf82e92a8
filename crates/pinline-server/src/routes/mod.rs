//! HTTP handlers, one module per resource.

pub mod accounts;
pub mod analytics;
pub mod callback;
pub mod drafts;
pub mod health;
pub mod posts;
pub mod rate_meter;
pub mod sections;
pub mod webhooks;
