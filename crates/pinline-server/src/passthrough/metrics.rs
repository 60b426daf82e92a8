//! The credential path's counters for `/metrics`: passthrough calls by rate-limit category and
//! outcome, Pinterest's 429s seen through it, refreshes it caused, and access tokens handed out.
//! Labels stay small closed sets; which key spent what is the audit trail's question
//! (`GET /v1/audit`), not a label.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    category: &'static str,
    outcome: &'static str,
}

/// Counters of the credential path (cheap to clone; clones share the counters).
#[derive(Debug, Clone, Default)]
pub struct CredentialMetrics {
    calls: Family<CallLabels, Counter>,
    upstream_rate_limited: Counter,
    refreshes: Counter,
    tokens_issued: Counter,
}

impl CredentialMetrics {
    /// Registers the counters under `registry`'s prefix.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "passthrough_calls",
            "Calls through the Pinterest passthrough, by rate-limit category and outcome (forwarded, or why pinline answered itself)",
            self.calls.clone(),
        );
        registry.register(
            "passthrough_upstream_rate_limited",
            "Pinterest 429s answered to passthrough calls",
            self.upstream_rate_limited.clone(),
        );
        registry.register(
            "passthrough_refreshes",
            "Passthrough calls Pinterest refused for an expired token, refreshed and sent again",
            self.refreshes.clone(),
        );
        registry.register(
            "access_tokens_issued",
            "Access tokens handed out by POST /v1/accounts/{id}/access-token",
            self.tokens_issued.clone(),
        );
    }

    pub(crate) fn call(&self, category: &'static str, outcome: &'static str) {
        self.calls
            .get_or_create(&CallLabels { category, outcome })
            .inc();
    }

    pub(crate) fn upstream_rate_limited(&self) {
        self.upstream_rate_limited.inc();
    }

    pub(crate) fn refreshed(&self) {
        self.refreshes.inc();
    }

    pub(crate) fn token_issued(&self) {
        self.tokens_issued.inc();
    }
}
