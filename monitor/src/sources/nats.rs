//! A NATS subject as a detection source: every message is a JSON document, and the source's `fields` say, as
//! JSON pointers, where each signal field is (`resource: /alert/arn`). The fields are projected into the
//! generic shape and parsed by it, so they mean there what they mean on the webhook. The source's name is the
//! signal's source.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::shapes::{ShapeError, Signal, json};

/// The signal one message carries, read through `fields`.
pub(crate) fn signal(
    body: &[u8],
    fields: &HashMap<String, String>,
    source: &str,
) -> Result<Signal, ShapeError> {
    let message: Value = serde_json::from_slice(body)
        .map_err(|error| ShapeError::new("message", format!("not JSON: {error}")))?;
    let mut projected = Map::new();
    for (field, pointer) in fields {
        match message.pointer(pointer) {
            None | Some(Value::Null) => {}
            Some(value) => {
                projected.insert(field.clone(), value.clone());
            }
        }
    }
    projected.insert("source".to_owned(), Value::from(source));
    let mut signal =
        json::parse(&Value::Object(projected)).map_err(|error| match fields.get(&error.field) {
            Some(pointer) => {
                ShapeError::new(format!("{} (at {pointer})", error.field), error.reason)
            }
            None => error,
        })?;
    signal.format = "nats".to_owned();
    Ok(signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(field, pointer)| (field.to_string(), pointer.to_string()))
            .collect()
    }

    #[test]
    fn fields_are_read_where_the_pointers_say() {
        let body = br#"{"alert": {"arn": "arn:aws:s3:::payments-exports", "name": "public bucket",
            "level": "CRITICAL", "at": "2026-12-06T18:45:53Z", "agent": "aws-sdk app/rdfi-0193a1b2"}}"#;
        let signal = signal(
            body,
            &fields(&[
                ("resource", "/alert/arn"),
                ("title", "/alert/name"),
                ("severity", "/alert/level"),
                ("observed_at", "/alert/at"),
                ("correlation_id", "/alert/agent"),
            ]),
            "falco",
        )
        .unwrap();
        assert_eq!(signal.format, "nats");
        assert_eq!(signal.source, "falco");
        assert_eq!(signal.resource, "arn:aws:s3:::payments-exports");
        assert_eq!(signal.resource_type, "aws.s3.bucket");
        assert_eq!(signal.title, "public bucket");
        assert_eq!(signal.severity, "critical");
        assert_eq!(signal.correlation_id, "0193a1b2");
        assert!(signal.observed_at_ms.is_some());
    }

    #[test]
    fn a_missing_resource_or_a_bad_field_names_its_pointer() {
        let mapping = fields(&[("resource", "/arn"), ("severity", "/level")]);
        let missing = signal(br#"{"other": 1}"#, &mapping, "falco").unwrap_err();
        assert_eq!(missing.field, "resource (at /arn)");
        let bad = signal(br#"{"arn": "b", "level": "purple"}"#, &mapping, "falco").unwrap_err();
        assert_eq!(bad.field, "severity (at /level)");
        assert!(bad.reason.contains("purple"), "{bad}");
        let not_json = signal(b"not json", &mapping, "falco").unwrap_err();
        assert_eq!(not_json.field, "message");
        let not_text = signal(br#"{"arn": 7}"#, &mapping, "falco").unwrap_err();
        assert_eq!(not_text.field, "resource (at /arn)");
    }
}
