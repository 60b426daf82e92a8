//! The drafts pipeline end to end, against pages and images served on loopback.

mod chat;
mod drafter;
mod fetch;
mod images;
mod metadata;
mod support;
mod text;
