//! OpenTelemetry traces over OTLP/HTTP, off unless an endpoint is configured with the standard
//! variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as given) or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended), with `OTEL_EXPORTER_OTLP_PROTOCOL`
//! `http/protobuf` (the default) or `http/json`, and the exporter's other `OTEL_EXPORTER_OTLP_*`
//! and `OTEL_BSP_*` settings as the OpenTelemetry SDK reads them.
//!
//! What is exported is a post's trace: `post.accept` (the API request that accepted it), then,
//! in whichever process publishes it, `post.publish` with `post.claim`, `post.create` (the call
//! to Pinterest) and `post.complete` (see `pinline_core::trace`). Spans are batched on the
//! SDK's own thread and flushed when the command ends. The endpoint is the operator's own
//! collector, set like the database URL, so the exporter's requests do not pass the outbound
//! guard that checks URLs pinline is given by API callers.

use anyhow::{Context, bail};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

/// The exporter's provider, kept to flush what is left when the command ends.
pub struct Traces {
    provider: SdkTracerProvider,
}

fn configured(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

impl Traces {
    /// The exporter the environment asks for, or `None` when no endpoint is set.
    pub fn from_env() -> anyhow::Result<Option<Traces>> {
        if configured("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none()
            && configured("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
        {
            return Ok(None);
        }
        let protocol = configured("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| configured("OTEL_EXPORTER_OTLP_PROTOCOL"));
        let protocol = match protocol.as_deref() {
            None | Some("http/protobuf") => Protocol::HttpBinary,
            Some("http/json") => Protocol::HttpJson,
            Some(other) => bail!(
                "OTEL_EXPORTER_OTLP_PROTOCOL `{other}` is not supported: use http/protobuf or http/json"
            ),
        };
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .build()
            .context("while setting up the OTLP trace exporter")?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("pinline").build())
            .build();
        Ok(Some(Traces { provider }))
    }

    /// The layer that turns the trace spans (and only those) into exported spans.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("pinline"))
            .with_filter(Targets::new().with_target(pinline_core::trace::TARGET, Level::INFO))
    }

    /// Exports what is still batched and stops the exporter.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("warning: traces not all exported: {error}");
        }
    }
}
