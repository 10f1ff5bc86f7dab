//! One trace follows a fault across the five services: the services run as processes over nats-server against
//! moto, export their spans over OTLP/gRPC (configured by the standard `OTEL_EXPORTER_OTLP_ENDPOINT`) to a
//! receiver in this test, and the spans of a submitted run form one tree, from the planner's gRPC call through
//! the executor's injection and the monitor's and analyzer's handling to knowledge's record of the verdict.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use rdfi_tests::aws::clients;
use rdfi_tests::cluster::Cluster;
use rdfi_tests::{MotoServer, NatsServer, experiment_yaml, free_port, wait_until};

/// A span as the test reads it.
#[derive(Clone, Debug)]
struct Received {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: HashMap<String, String>,
}

/// An OTLP trace receiver keeping every span it is sent.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Received>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut kept = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
                .map(text)
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    kept.push(Received {
                        service: service.clone(),
                        name: span.name,
                        trace_id: span.trace_id,
                        span_id: span.span_id,
                        parent_span_id: span.parent_span_id,
                        attributes: span
                            .attributes
                            .into_iter()
                            .filter_map(|attribute| {
                                Some((attribute.key, text(attribute.value?.value.as_ref()?)))
                            })
                            .collect(),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn text(value: &AnyValue) -> String {
    match value {
        AnyValue::StringValue(text) => text.clone(),
        AnyValue::IntValue(number) => number.to_string(),
        AnyValue::BoolValue(flag) => flag.to_string(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_fault_is_one_trace_across_the_five_services() {
    let receiver = Receiver::default();
    let port = free_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    clients(&moto.endpoint)
        .await
        .create_bucket("traced-exports", &[("rdfi-target", "true")])
        .await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let cluster = Cluster::with_options(
        &nats,
        &moto,
        1,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            // Export each batch within a fifth of a second, not the default five.
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
        "http",
    );
    let (code, report) = cluster
        .submit(&experiment_yaml(
            "aws.s3.bucket-public-acl",
            "1s",
            None,
            "1s",
        ))
        .await;
    assert_eq!(code, 1, "a finding: {report:#}");
    let run_id = report["runId"].as_str().unwrap().to_owned();

    // The run's trace: the one its planner span is in.
    let services = [
        "rdfi-planner",
        "rdfi-executor",
        "rdfi-monitor",
        "rdfi-analyzer",
        "rdfi-knowledge",
    ];
    let trace_of_run = |spans: &[Received]| {
        spans
            .iter()
            .find(|span| {
                span.service == "rdfi-planner" && span.attributes.get("run_id") == Some(&run_id)
            })
            .map(|span| span.trace_id.clone())
    };
    let complete = wait_until(Duration::from_secs(20), || {
        let spans = receiver.0.lock().unwrap().clone();
        let run_id = run_id.clone();
        async move {
            let Some(trace) = trace_of_run(&spans) else {
                return false;
            };
            let _ = &run_id;
            let seen: BTreeSet<&str> = spans
                .iter()
                .filter(|span| span.trace_id == trace)
                .map(|span| span.service.as_str())
                .collect();
            services.iter().all(|service| seen.contains(service))
        }
    })
    .await;
    let spans = receiver.0.lock().unwrap().clone();
    let summary = || {
        spans
            .iter()
            .map(|span| {
                format!(
                    "{} {} {} trace {} parent {}",
                    span.service,
                    span.name,
                    span.attributes
                        .get("subject")
                        .map(String::as_str)
                        .unwrap_or(""),
                    hex(&span.trace_id),
                    hex(&span.parent_span_id)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        complete,
        "the run's trace does not reach every service:\n{}",
        summary()
    );
    let trace = trace_of_run(&spans).unwrap();
    let in_trace: Vec<&Received> = spans.iter().filter(|span| span.trace_id == trace).collect();
    let by_id: HashMap<&[u8], &Received> = in_trace
        .iter()
        .map(|span| (span.span_id.as_slice(), *span))
        .collect();
    // One tree: a single root, the planner's handling of the gRPC submission, and every other span's parent
    // in the trace.
    let roots: Vec<&&Received> = in_trace
        .iter()
        .filter(|span| span.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 1, "one root:\n{}", summary());
    assert_eq!(
        (roots[0].service.as_str(), roots[0].name.as_str()),
        ("rdfi-planner", "planner.grpc"),
        "{}",
        summary()
    );
    for span in &in_trace {
        if !span.parent_span_id.is_empty() {
            assert!(
                by_id.contains_key(span.parent_span_id.as_slice()),
                "{} {}: its parent was not exported\n{}",
                span.service,
                span.name,
                summary()
            );
        }
    }
    // The chain crosses the services over NATS in the order of the loop: each handles an event a span of the
    // service before it published.
    let parent_service = |span: &Received| {
        by_id
            .get(span.parent_span_id.as_slice())
            .map(|parent| parent.service.clone())
            .unwrap_or_default()
    };
    let handled = |service: &str, subject: &str| {
        in_trace
            .iter()
            .find(|span| {
                span.service == service
                    && span.name == "handle"
                    && span.attributes.get("subject").map(String::as_str) == Some(subject)
            })
            .copied()
            .unwrap_or_else(|| {
                panic!(
                    "{service} handling {subject} not in the trace:\n{}",
                    summary()
                )
            })
    };
    let injected_by_executor = handled("rdfi-executor", "rdfi.v1.fault.planned");
    assert_eq!(parent_service(injected_by_executor), "rdfi-planner");
    assert_eq!(
        parent_service(handled("rdfi-monitor", "rdfi.v1.fault.injected")),
        "rdfi-executor"
    );
    assert_eq!(
        parent_service(handled("rdfi-analyzer", "rdfi.v1.fault.injected")),
        "rdfi-executor"
    );
    assert_eq!(
        parent_service(handled("rdfi-knowledge", "rdfi.v1.finding.created")),
        "rdfi-analyzer"
    );
    drop(cluster);
    server.abort();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
