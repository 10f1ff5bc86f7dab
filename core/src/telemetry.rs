//! One telemetry init for every binary: tracing with an env filter (`RUST_LOG`, default `info`), plain or JSON
//! logs on stderr, and OpenTelemetry spans exported over OTLP/gRPC when an endpoint is configured. The W3C trace
//! context travels in NATS headers and gRPC metadata, so one fault's lifecycle is one trace.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{IsTerminal, Write};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Plain,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "plain" => Ok(LogFormat::Plain),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format {other:?}, expected plain or json"
            )),
        }
    }
}

/// What telemetry to start.
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    pub service_name: String,
    pub log_format: LogFormat,
    /// OTLP/gRPC endpoint (`http://collector:4317`); spans are not exported without one.
    pub otlp_endpoint: Option<String>,
    /// The log filter when `RUST_LOG` is not set, e.g. `info`.
    pub default_filter: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot build the OTLP exporter for {endpoint}: {reason}")]
    Exporter { endpoint: String, reason: String },
    #[error("telemetry is already initialised: {0}")]
    AlreadyInitialised(String),
}

/// The service name spans carry and where they are exported: rdfi's flag (`--otlp-endpoint`), else the
/// standard OpenTelemetry variables (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`);
/// `OTEL_SERVICE_NAME` names the service instead of rdfi's name for it, and `OTEL_SDK_DISABLED=true` or
/// `OTEL_TRACES_EXPORTER=none` turn export off (rdfi's flag included).
fn export_settings(
    config: &TelemetryConfig,
    variable: impl Fn(&str) -> Option<String>,
) -> (String, Option<String>) {
    let set = |name: &str| variable(name).filter(|value| !value.trim().is_empty());
    let service_name = set("OTEL_SERVICE_NAME").unwrap_or_else(|| config.service_name.clone());
    let disabled = set("OTEL_SDK_DISABLED")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
        || set("OTEL_TRACES_EXPORTER").is_some_and(|value| value.trim() == "none");
    let endpoint = config
        .otlp_endpoint
        .clone()
        .or_else(|| set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        .or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .filter(|_| !disabled);
    (service_name, endpoint)
}

/// Flushes and stops span export when dropped.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("telemetry shutdown: {error}");
        }
    }
}

/// Starts logging and tracing for this process. Call once, early, inside a Tokio runtime.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let variable = |name: &str| std::env::var(name).ok();
    let (service_name, endpoint) = export_settings(config, variable);
    let mut builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name(service_name)
            .build(),
    );
    if let Some(endpoint) = &endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|error| TelemetryError::Exporter {
                endpoint: endpoint.clone(),
                reason: error.to_string(),
            })?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let otel_layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("rdfi"));
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(config.default_filter));
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    let terminal = std::io::stderr().is_terminal();
    let writer = Stderr { terminal };
    let result = match config.log_format {
        LogFormat::Plain => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(colours(terminal, std::env::var_os("NO_COLOR").as_deref()))
                    .with_writer(writer),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_ansi(false)
                    .with_writer(writer),
            )
            .try_init(),
    };
    result.map_err(|error| TelemetryError::AlreadyInitialised(error.to_string()))?;
    Ok(TelemetryGuard { provider })
}

/// Whether logs are coloured: only on a terminal, and never with `NO_COLOR` set to anything but empty
/// (<https://no-color.org>).
pub fn colours(terminal: bool, no_color: Option<&OsStr>) -> bool {
    terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Logs go to stderr. On a terminal each record first erases the line the cursor is on, where a command's
/// progress counter may stand (it is drawn again below the record with its next change).
#[derive(Clone, Copy)]
struct Stderr {
    terminal: bool,
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = LogRecord;

    fn make_writer(&'a self) -> LogRecord {
        LogRecord {
            erase: self.terminal,
        }
    }
}

/// One log record on its way to stderr.
struct LogRecord {
    erase: bool,
}

impl Write for LogRecord {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut stderr = std::io::stderr().lock();
        if std::mem::take(&mut self.erase) {
            stderr.write_all(b"\r\x1b[2K")?;
        }
        stderr.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The W3C `traceparent` of the current span, if tracing is on.
pub fn current_traceparent() -> Option<String> {
    let context = Span::current().context();
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the remote span a `traceparent` names (from a NATS header or gRPC metadata).
pub fn set_remote_parent(span: &Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    // Fails only when the span is disabled; then there is nothing to link.
    let _ = span.set_parent(context);
}

/// Makes `span` a child of the trace in a gRPC request's metadata.
pub fn set_parent_from_grpc(span: &Span, metadata: &tonic::metadata::MetadataMap) {
    set_remote_parent(
        span,
        metadata
            .get("traceparent")
            .and_then(|value| value.to_str().ok()),
    );
}

/// Puts the current trace context into a gRPC request's metadata.
pub fn inject_into_grpc(metadata: &mut tonic::metadata::MetadataMap) {
    if let Some(traceparent) = current_traceparent()
        && let Ok(value) = traceparent.parse()
    {
        metadata.insert("traceparent", value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(otlp_endpoint: Option<&str>) -> TelemetryConfig {
        TelemetryConfig {
            service_name: "rdfi-executor".to_owned(),
            log_format: LogFormat::Plain,
            otlp_endpoint: otlp_endpoint.map(str::to_owned),
            default_filter: "info",
        }
    }

    fn settings(flag: Option<&str>, variables: &[(&str, &str)]) -> (String, Option<String>) {
        export_settings(&config(flag), |name| {
            variables
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn spans_go_where_the_flag_or_else_the_standard_variables_say() {
        let none = ("rdfi-executor".to_owned(), None);
        assert_eq!(settings(None, &[]), none);
        assert_eq!(
            settings(
                Some("http://flag:4317"),
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4317")]
            ),
            (
                "rdfi-executor".to_owned(),
                Some("http://flag:4317".to_owned())
            )
        );
        assert_eq!(
            settings(
                None,
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://all:4317"),
                    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
                    ("OTEL_SERVICE_NAME", "chaos-executor"),
                ]
            ),
            (
                "chaos-executor".to_owned(),
                Some("http://traces:4317".to_owned())
            )
        );
        assert_eq!(
            settings(None, &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://all:4317")]).1,
            Some("http://all:4317".to_owned())
        );
        assert_eq!(
            settings(None, &[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]),
            none
        );
        for off in [
            ("OTEL_SDK_DISABLED", "TRUE"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            assert_eq!(
                settings(
                    Some("http://flag:4317"),
                    &[off, ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://all:4317")]
                )
                .1,
                None,
                "{off:?}"
            );
        }
        assert_eq!(
            settings(
                None,
                &[
                    ("OTEL_SDK_DISABLED", "false"),
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://all:4317")
                ]
            )
            .1,
            Some("http://all:4317".to_owned())
        );
    }

    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        assert!(colours(true, None));
        assert!(colours(true, Some(OsStr::new(""))));
        assert!(!colours(true, Some(OsStr::new("1"))));
        assert!(!colours(true, Some(OsStr::new("false"))));
        assert!(!colours(false, None));
        assert!(!colours(false, Some(OsStr::new(""))));
    }
}
