//! The generic shape: `{"resource", "source", "title"?, "severity"?, "resource_type"?, "observed_at"?,
//! "correlation_id"?}`; `observed_at` is RFC 3339 or epoch milliseconds, `resource_type` is in rdfi's terms
//! (aws.s3.bucket) or a detector's (AwsS3Bucket).

use serde_json::Value;

use super::{ShapeError, Signal, normalise_severity, parse_timestamp, text, validate};

pub(crate) fn parse(body: &Value) -> Result<Signal, ShapeError> {
    for field in [
        "resource",
        "source",
        "title",
        "severity",
        "resource_type",
        "correlation_id",
    ] {
        if let Some(value) = body.get(field)
            && !value.is_string()
            && !value.is_null()
        {
            return Err(ShapeError::new(field, "must be a string"));
        }
    }
    let observed_at_ms =
        match body.get("observed_at") {
            None | Some(Value::Null) => None,
            Some(Value::String(at)) => Some(parse_timestamp(at, "observed_at")?),
            Some(Value::Number(millis)) => Some(millis.as_i64().ok_or_else(|| {
                ShapeError::new("observed_at", "must be whole epoch milliseconds")
            })?),
            Some(_) => {
                return Err(ShapeError::new(
                    "observed_at",
                    "must be an RFC 3339 string or epoch milliseconds",
                ));
            }
        };
    let resource = text(body, "/resource").trim().to_owned();
    let stated_type = text(body, "/resource_type");
    let resource_type = if stated_type.starts_with("aws.") || stated_type.starts_with("gcp.") {
        stated_type.to_owned()
    } else {
        super::resource_type(stated_type, &resource)
    };
    let correlation_id = text(body, "/correlation_id");
    validate(
        Signal {
            format: "json".to_owned(),
            resource_type,
            source: text(body, "/source").trim().to_owned(),
            title: text(body, "/title").to_owned(),
            severity: normalise_severity(text(body, "/severity"), "severity")?,
            observed_at_ms,
            // Only rdfi's own token correlates: a detector's own alert id in the field is not one.
            correlation_id: super::correlation_id_in(correlation_id)
                .unwrap_or_default()
                .to_owned(),
            resource,
        },
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_generic_shape_reads_its_fields() {
        let signal = parse(&json!({
            "resource": "arn:aws:s3:::payments-exports",
            "source": "s3-public-acl-detector",
            "title": "Bucket ACL grants AllUsers READ",
            "severity": "HIGH",
            "observed_at": "2026-12-06T18:45:53Z",
            "correlation_id": "rdfi-0193a1b2",
        }))
        .unwrap();
        assert_eq!(signal.format, "json");
        assert_eq!(signal.resource_type, "aws.s3.bucket");
        assert_eq!(signal.severity, "high");
        assert_eq!(signal.observed_at_ms, Some(1_796_582_753_000));
        assert_eq!(signal.correlation_id, "0193a1b2");
    }

    #[test]
    fn the_minimal_generic_shape_still_works() {
        let signal = parse(&json!({"resource": "ci-deployer", "source": "iam-detector"})).unwrap();
        assert_eq!(signal.resource_type, "");
        assert_eq!(signal.severity, "");
        assert_eq!(signal.observed_at_ms, None);
    }

    #[test]
    fn bad_fields_are_named() {
        let error = parse(&json!({"resource": "x", "source": 3})).unwrap_err();
        assert_eq!(error.field, "source");
        let error = parse(&json!({"resource": "x"})).unwrap_err();
        assert_eq!(error.field, "source");
        let error = parse(&json!({"resource": "x", "source": "s", "severity": "meh"})).unwrap_err();
        assert_eq!(error.field, "severity");
        let error =
            parse(&json!({"resource": "x", "source": "s", "observed_at": true})).unwrap_err();
        assert_eq!(error.field, "observed_at");
    }
}
