//! Every call rdfi makes for a fault carries the fault instance id, so that a detector reading CloudTrail or
//! Cloud Audit Logs can tell exactly which fault a change belongs to (docs/attribution.md says how to read it).
//!
//! The executor runs each fault's calls inside [`for_fault`]; the providers read [`current`]: AWS calls carry
//! `app/rdfi-<id>` in their user agent (the SDK's app id, which CloudTrail records in `userAgent`), GCS calls
//! the header `x-goog-custom-audit-rdfi-fault-instance: <id>` (which Cloud Audit Logs records under
//! `protoPayload.metadata.audit_context`). Calls outside a fault (discovery, probes) carry no mark.

use std::future::Future;

use aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_s3::config::{AppName, ConfigBag, Intercept};
use aws_sdk_s3::error::BoxError;

/// The GCS custom audit header that carries the fault instance id.
pub const GCS_AUDIT_HEADER: &str = "x-goog-custom-audit-rdfi-fault-instance";
/// What AWS calls' app id starts with; the fault instance id follows.
pub const AWS_APP_PREFIX: &str = "rdfi-";

tokio::task_local! {
    static FAULT_INSTANCE: String;
}

/// Runs `calls` with every cloud call they make marked with the fault instance id.
pub async fn for_fault<F: Future>(fault_instance_id: &str, calls: F) -> F::Output {
    FAULT_INSTANCE
        .scope(fault_instance_id.to_owned(), calls)
        .await
}

/// The fault instance id the calls being made belong to, if any.
pub fn current() -> Option<String> {
    FAULT_INSTANCE.try_with(Clone::clone).ok()
}

/// The AWS app id a call for this fault carries: `rdfi-<id>`, kept to the characters the SDK accepts.
pub fn aws_app_name(fault_instance_id: &str) -> Option<AppName> {
    let id: String = fault_instance_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    AppName::new(format!("{AWS_APP_PREFIX}{id}")).ok()
}

/// Sets the app id of each AWS call made inside [`for_fault`]; the SDK's own user agent interceptor then
/// writes it into the `User-Agent` and `x-amz-user-agent` headers.
#[derive(Debug)]
pub(crate) struct MarkAwsCalls;

impl Intercept for MarkAwsCalls {
    fn name(&self) -> &'static str {
        "MarkAwsCalls"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(app_name) = current().as_deref().and_then(aws_app_name) {
            cfg.interceptor_state().store_put(app_name);
        }
        Ok(())
    }
}

/// Accepts one connection, answers its request with a 403 refusal and returns the request's head, lowercased:
/// what a cloud would have been told.
#[cfg(test)]
pub(crate) async fn refuse_first_request(listener: tokio::net::TcpListener) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "the request ended early");
        head.extend_from_slice(&buffer[..read]);
    }
    let body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
    let response = format!(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.unwrap();
    String::from_utf8_lossy(&head).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gcs_calls_made_for_a_fault_carry_its_instance_id_in_the_audit_header() {
        for (mark, expected) in [(Some("f-7"), true), (None, false)] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let answer = tokio::spawn(refuse_first_request(listener));
            let client = crate::gcp::json_api::JsonApiClient::anonymous(&base, "p").unwrap();
            let call = client.get_bucket::<serde_json::Value>("b");
            let refused = match mark {
                Some(id) => for_fault(id, call).await,
                None => call.await,
            };
            assert!(refused.is_err());
            let head = answer.await.unwrap();
            let header = format!("{GCS_AUDIT_HEADER}: f-7");
            assert_eq!(head.contains(&header), expected, "{head}");
        }
    }

    #[tokio::test]
    async fn the_mark_holds_inside_the_fault_only() {
        assert_eq!(current(), None);
        let inside = for_fault("f-1", async { current() }).await;
        assert_eq!(inside.as_deref(), Some("f-1"));
        assert_eq!(current(), None);
    }

    #[test]
    fn the_app_name_is_the_fault_instance_id_in_characters_aws_accepts() {
        let id = "01a24ca1-0304-7665-8a3e-adab9ccc7d1d";
        assert_eq!(
            aws_app_name(id).unwrap().as_ref(),
            "rdfi-01a24ca1-0304-7665-8a3e-adab9ccc7d1d"
        );
        assert_eq!(aws_app_name("a b/c").unwrap().as_ref(), "rdfi-abc");
    }
}
