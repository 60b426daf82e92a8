//! A post's trace, from the request that accepted it to the worker that publishes it.
//!
//! The two happen in different tasks, often in different processes and minutes apart, so the
//! acceptance's trace context is stored with the post as a W3C `traceparent` string and the
//! worker's spans continue that trace. Spans meant for traces use [`TARGET`]: the binary sends
//! exactly those to the OTLP exporter when one is configured and keeps them out of the logs, so
//! switching traces on changes no log line. Without an exporter there is no trace context, and
//! [`traceparent`] is `None`: nothing is stored.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The target of the spans that make up a post's trace.
pub const TARGET: &str = "pinline::trace";

/// The W3C `traceparent` of `span`, if it belongs to a sampled trace.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the span `traceparent` names (a stored acceptance); a missing or
/// malformed value leaves `span` the root of a trace of its own.
pub fn continue_from(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        // Fails only when no OpenTelemetry layer is installed, and then there is no trace.
        let _ = span.set_parent(parent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_exporter_there_is_no_trace_to_store() {
        let span = tracing::info_span!(target: TARGET, "post.accept");
        assert_eq!(traceparent(&span), None);
        continue_from(&span, Some("not a traceparent"));
        continue_from(&span, None);
    }
}
