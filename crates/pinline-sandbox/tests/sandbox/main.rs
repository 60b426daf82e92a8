//! Black-box tests of the sandbox: a real server on 127.0.0.1:0 per test, driven with reqwest.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on unexpected shapes")]

mod analytics;
mod conformance;
mod faults;
mod latency;
mod lifecycle;
mod limits;
mod oauth;
mod resources;
mod support;
