//! What webhook delivery counts for Prometheus: each delivery attempt by its result. The backlog
//! (deliveries waiting) is read from the store at scrape time, since any replica may deliver.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    /// `delivered`, `retry` (it will be tried again) or `failed` (given up).
    result: &'static str,
}

/// Delivery attempts by result (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct DeliveryMetrics {
    attempts: Family<AttemptLabels, Counter>,
}

impl DeliveryMetrics {
    /// Adds the metrics to `registry` (prefix the registry with `pinline`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "webhook_delivery_attempts",
            "Webhook delivery attempts, by result (delivered, retry, failed)",
            self.attempts.clone(),
        );
    }

    /// An attempt that left its delivery with `status` (`delivered`, `pending`, `failed`).
    pub(crate) fn attempt(&self, status: &str) {
        let result = match status {
            "delivered" => "delivered",
            "failed" => "failed",
            _ => "retry",
        };
        self.attempts.get_or_create(&AttemptLabels { result }).inc();
    }
}
