//! The drafts pipeline end to end, against pages and images served on loopback.

mod bombs;
mod chat;
mod corpus;
mod drafter;
mod fetch;
mod images;
mod limits;
mod metadata;
mod pages;
mod support;
mod text;
