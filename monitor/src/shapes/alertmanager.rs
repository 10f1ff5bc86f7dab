//! The Alertmanager webhook (`"version": "4"`): one signal per firing alert. The resource is the alert's label
//! `resource`, else `arn`, else `bucket` (then typed aws.s3.bucket); the source its label `source`, else the
//! notification's `receiver`; the title its annotation `summary`, else its `alertname`; the severity its label
//! `severity`; observed at its `startsAt`. Resolved alerts are not detections and are skipped.

use serde_json::Value;

use super::{ShapeError, Signal, normalise_severity, parse_timestamp, text, validate};

pub(crate) fn recognises(body: &Value) -> bool {
    body.get("version").and_then(Value::as_str) == Some("4") && body.get("alerts").is_some()
}

pub(crate) fn parse(body: &Value) -> Result<Vec<Signal>, ShapeError> {
    let alerts = body
        .get("alerts")
        .and_then(Value::as_array)
        .ok_or_else(|| ShapeError::new("alerts", "must be an array"))?;
    let receiver = text(body, "/receiver");
    let mut signals = Vec::new();
    for (index, alert) in alerts.iter().enumerate() {
        let field = format!("alerts[{index}].");
        if text(alert, "/status") == "resolved" {
            continue;
        }
        let label = |name: &str| text(alert, &format!("/labels/{name}")).trim();
        let (resource, stated_type) = match (label("resource"), label("arn"), label("bucket")) {
            (resource, _, _) if !resource.is_empty() => (resource, label("resource_type")),
            (_, arn, _) if !arn.is_empty() => (arn, label("resource_type")),
            (_, _, bucket) if !bucket.is_empty() => (bucket, "AwsS3Bucket"),
            _ => {
                return Err(ShapeError::new(
                    format!("{field}labels"),
                    "names no resource: set label resource, arn or bucket",
                ));
            }
        };
        let source = match label("source") {
            "" => receiver,
            source => source,
        };
        let title = match text(alert, "/annotations/summary") {
            "" => label("alertname"),
            summary => summary,
        };
        let observed_at_ms = match text(alert, "/startsAt") {
            "" => None,
            at => Some(parse_timestamp(at, &format!("{field}startsAt"))?),
        };
        signals.push(validate(
            Signal {
                format: "alertmanager".to_owned(),
                resource: resource.to_owned(),
                resource_type: super::resource_type(stated_type, resource),
                source: source.trim().to_owned(),
                title: title.to_owned(),
                severity: normalise_severity(
                    label("severity"),
                    &format!("{field}labels.severity"),
                )?,
                observed_at_ms,
                correlation_id: super::correlation_id([
                    label("correlation_id"),
                    label("user_agent"),
                    text(alert, "/annotations/user_agent"),
                ]),
            },
            &field,
        )?);
    }
    Ok(signals)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Alertmanager 0.27 posts to a webhook receiver for a group of two firing alerts and a resolved one.
    const FIXTURE: &str = include_str!("../../tests/fixtures/alertmanager.json");

    #[test]
    fn firing_alerts_become_signals() {
        let body: Value = serde_json::from_str(FIXTURE).unwrap();
        assert!(recognises(&body));
        let signals = parse(&body).unwrap();
        assert_eq!(signals.len(), 2, "the resolved alert is skipped");
        let bucket = &signals[0];
        assert_eq!(bucket.format, "alertmanager");
        assert_eq!(bucket.resource, "payments-exports");
        assert_eq!(bucket.resource_type, "aws.s3.bucket");
        assert_eq!(bucket.source, "prometheus-s3-exporter");
        assert_eq!(bucket.title, "Bucket payments-exports grants public READ");
        assert_eq!(bucket.severity, "critical");
        assert_eq!(bucket.observed_at_ms, Some(1_796_582_753_512));
        assert_eq!(bucket.correlation_id, "0193a1b2c3");
        let user = &signals[1];
        assert_eq!(user.resource, "arn:aws:iam::123456789012:user/ci-deployer");
        assert_eq!(user.resource_type, "aws.iam.user");
        assert_eq!(user.source, "rdfi", "the receiver when no source label");
        assert_eq!(user.title, "IamUserAdminPolicy");
        assert_eq!(user.severity, "medium");
        assert_eq!(user.observed_at_ms, Some(1_796_582_760_000));
    }

    #[test]
    fn an_alert_without_a_resource_is_named() {
        let body = serde_json::json!({
            "version": "4", "receiver": "rdfi",
            "alerts": [{"status": "firing", "labels": {"alertname": "X"}}]
        });
        let error = parse(&body).unwrap_err();
        assert_eq!(error.field, "alerts[0].labels");
        let body = serde_json::json!({
            "version": "4", "receiver": "rdfi",
            "alerts": [{"status": "firing", "labels": {"bucket": "b", "severity": "sev9"}}]
        });
        assert_eq!(parse(&body).unwrap_err().field, "alerts[0].labels.severity");
    }
}
