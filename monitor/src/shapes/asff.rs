//! AWS Security Hub findings (ASFF) as EventBridge delivers them:
//! `{"detail-type": "Security Hub Findings - Imported", "detail": {"findings": [...]}}`. One signal per
//! resource of each active finding: the resource is `Resources[].Id`, typed from `Resources[].Type`
//! (AwsS3Bucket, AwsIamUser); the title `Title`; the severity `Severity.Label`; the source `ProductName`, else
//! `ProductFields."aws/securityhub/ProductName"`, else the event's `source`; observed at `LastObservedAt`, else
//! `UpdatedAt`, else `FirstObservedAt`. Findings that are archived (`RecordState`), resolved or suppressed
//! (`Workflow.Status`) or passed (`Compliance.Status`) are not detections and are skipped. The correlation id
//! is an `rdfi-<id>` in a `ProductFields` or `UserDefinedFields` value.

use serde_json::Value;

use super::{ShapeError, Signal, normalise_severity, parse_timestamp, text, validate};

pub(crate) fn recognises(body: &Value) -> bool {
    body.get("detail-type")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind.starts_with("Security Hub Findings"))
}

pub(crate) fn parse(body: &Value) -> Result<Vec<Signal>, ShapeError> {
    let findings = body
        .pointer("/detail/findings")
        .and_then(Value::as_array)
        .filter(|findings| !findings.is_empty())
        .ok_or_else(|| ShapeError::new("detail.findings", "must be a non-empty array"))?;
    let event_source = text(body, "/source");
    let mut signals = Vec::new();
    for (index, finding) in findings.iter().enumerate() {
        let prefix = format!("detail.findings[{index}].");
        let inactive = text(finding, "/RecordState") == "ARCHIVED"
            || matches!(text(finding, "/Workflow/Status"), "RESOLVED" | "SUPPRESSED")
            || text(finding, "/Compliance/Status") == "PASSED";
        if inactive {
            continue;
        }
        signals.extend(parse_finding(finding, &prefix, event_source)?);
    }
    Ok(signals)
}

fn parse_finding(
    finding: &Value,
    prefix: &str,
    event_source: &str,
) -> Result<Vec<Signal>, ShapeError> {
    let resources = finding
        .get("Resources")
        .and_then(Value::as_array)
        .filter(|resources| !resources.is_empty())
        .ok_or_else(|| {
            ShapeError::new(format!("{prefix}Resources"), "must be a non-empty array")
        })?;
    let source = [
        text(finding, "/ProductName"),
        finding
            .pointer("/ProductFields/aws~1securityhub~1ProductName")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        event_source,
    ]
    .into_iter()
    .find(|source| !source.is_empty())
    .unwrap_or_default();
    let severity = normalise_severity(
        text(finding, "/Severity/Label"),
        &format!("{prefix}Severity.Label"),
    )?;
    let observed_at_ms = match ["LastObservedAt", "UpdatedAt", "FirstObservedAt"]
        .into_iter()
        .find(|field| !text(finding, &format!("/{field}")).is_empty())
    {
        Some(field) => Some(parse_timestamp(
            text(finding, &format!("/{field}")),
            &format!("{prefix}{field}"),
        )?),
        None => None,
    };
    let correlation_id = super::correlation_id(
        ["ProductFields", "UserDefinedFields"]
            .into_iter()
            .filter_map(|field| finding.get(field).and_then(Value::as_object))
            .flat_map(|fields| fields.values())
            .filter_map(Value::as_str),
    );
    resources
        .iter()
        .enumerate()
        .map(|(index, resource)| {
            let id = text(resource, "/Id").trim();
            validate(
                Signal {
                    format: "asff".to_owned(),
                    resource: id.to_owned(),
                    resource_type: super::resource_type(text(resource, "/Type"), id),
                    source: source.trim().to_owned(),
                    title: text(finding, "/Title").to_owned(),
                    severity: severity.clone(),
                    observed_at_ms,
                    correlation_id: correlation_id.clone(),
                },
                &format!("{prefix}Resources[{index}]."),
            )
            .map_err(|error| match error.field.rsplit('.').next() {
                Some("resource") => {
                    ShapeError::new(format!("{prefix}Resources[{index}].Id"), error.reason)
                }
                Some("title") => ShapeError::new(format!("{prefix}Title"), error.reason),
                Some("source") => ShapeError::new(format!("{prefix}ProductName"), error.reason),
                _ => error,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An EventBridge event carrying a failed S3.2 control finding and a resolved IAM.1 one.
    const FIXTURE: &str = include_str!("../../tests/fixtures/eventbridge-asff.json");

    #[test]
    fn eventbridge_findings_yield_their_active_resources() {
        let body: Value = serde_json::from_str(FIXTURE).unwrap();
        assert!(recognises(&body));
        let signals = parse(&body).unwrap();
        assert_eq!(signals.len(), 1, "the resolved finding is skipped");
        let signal = &signals[0];
        assert_eq!(signal.format, "asff");
        assert_eq!(signal.resource, "arn:aws:s3:::payments-exports");
        assert_eq!(signal.resource_type, "aws.s3.bucket");
        assert_eq!(signal.source, "Security Hub");
        assert_eq!(
            signal.title,
            "S3.2 S3 general purpose buckets should block public read access"
        );
        assert_eq!(signal.severity, "high");
        assert_eq!(
            signal.observed_at_ms,
            Some(super::super::parse_timestamp("2026-12-06T18:46:01.004Z", "t").unwrap())
        );
    }

    #[test]
    fn fallbacks_and_bad_fields() {
        let body = json!({
            "detail-type": "Security Hub Findings - Imported",
            "source": "aws.securityhub",
            "detail": {"findings": [{
                "Title": "user has admin",
                "Severity": {"Label": "CRITICAL"},
                "FirstObservedAt": "2026-12-06T18:45:53Z",
                "UserDefinedFields": {"caller": "aws-cli/2 app/rdfi-77aa"},
                "Resources": [{"Type": "AwsIamUser", "Id": "arn:aws:iam::123456789012:user/ci-deployer"}]
            }]}
        });
        let signals = parse(&body).unwrap();
        assert_eq!(signals[0].source, "aws.securityhub");
        assert_eq!(signals[0].resource_type, "aws.iam.user");
        assert_eq!(signals[0].observed_at_ms, Some(1_796_582_753_000));
        assert_eq!(signals[0].correlation_id, "77aa");
        let error =
            parse(&json!({"detail-type": "Security Hub Findings - Imported", "detail": {}}))
                .unwrap_err();
        assert_eq!(error.field, "detail.findings");
        let error = parse(&json!({
            "detail-type": "Security Hub Findings - Imported",
            "detail": {"findings": [{"Severity": {"Label": "SEVERE"}, "Resources": [{"Id": "x"}]}]}
        }))
        .unwrap_err();
        assert_eq!(error.field, "detail.findings[0].Severity.Label");
    }
}
