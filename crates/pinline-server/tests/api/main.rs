//! The API end to end: the real server on 127.0.0.1:0, the real sandbox, a fresh database per
//! test on SQLite and PostgreSQL.

mod accounts;
mod alerts;
mod analytics;
mod callback_inputs;
mod campaigns;
mod carousels;
mod continuous_refresh;
mod cooldowns;
mod drafts;
mod embedded_connect;
mod hostile;
mod live_edits;
mod metrics;
mod openapi;
mod passthrough;
mod posts;
mod rate_meter;
mod scopes;
mod section_names;
mod sections;
mod slots;
mod stops;
mod support;
mod token_kind;
mod webhooks;
