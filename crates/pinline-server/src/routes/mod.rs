//! HTTP handlers, one module per resource.

pub mod access_token;
pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod callback;
pub mod campaigns;
pub mod drafts;
pub mod health;
pub(crate) mod live_edit;
pub mod posts;
pub mod rate_meter;
pub mod sections;
pub mod slots;
pub mod webhooks;
