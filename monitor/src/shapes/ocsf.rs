//! OCSF Detection Finding (class_uid 2004) and Compliance Finding (2003), one object or an array of them
//! (Prowler's `-M json-ocsf` output). One signal per resource of each failing finding: the resource is
//! `resources[].uid`, else `.name`, typed from `.type` (AwsS3Bucket, AWS::S3::Bucket) or the ARN; the title
//! `finding_info.title`, else `message`; the severity `severity`; the source `metadata.product.name`; observed
//! at `time` (epoch milliseconds, or seconds as Prowler writes them), else `time_dt`. Findings whose
//! `status_code` is PASS, or whose `compliance.status` is Pass, are not detections and are skipped. The
//! correlation id is an `rdfi-<id>` in `actor.app_name`, `actor.user_agent`, or an evidence's
//! `http_request.user_agent` or `actor.app_name`.

use serde_json::Value;

use super::{
    ShapeError, Signal, epoch_millis, normalise_severity, parse_timestamp, text, validate,
};

const DETECTION_FINDING: u64 = 2004;
const COMPLIANCE_FINDING: u64 = 2003;

fn is_finding(value: &Value) -> bool {
    matches!(
        value.get("class_uid").and_then(Value::as_u64),
        Some(DETECTION_FINDING | COMPLIANCE_FINDING)
    )
}

pub(crate) fn recognises(body: &Value) -> bool {
    match body {
        Value::Array(findings) => findings.first().is_some_and(is_finding),
        finding => is_finding(finding),
    }
}

pub(crate) fn parse(body: &Value) -> Result<Vec<Signal>, ShapeError> {
    let (findings, array) = match body {
        Value::Array(findings) => (findings.as_slice(), true),
        finding => (std::slice::from_ref(finding), false),
    };
    let mut signals = Vec::new();
    for (index, finding) in findings.iter().enumerate() {
        let prefix = if array {
            format!("[{index}].")
        } else {
            String::new()
        };
        if !is_finding(finding) {
            return Err(ShapeError::new(
                format!("{prefix}class_uid"),
                "must be 2004 (Detection Finding) or 2003 (Compliance Finding)",
            ));
        }
        let passed = text(finding, "/status_code").eq_ignore_ascii_case("pass")
            || text(finding, "/compliance/status").eq_ignore_ascii_case("pass");
        if passed {
            continue;
        }
        signals.extend(parse_finding(finding, &prefix)?);
    }
    Ok(signals)
}

fn parse_finding(finding: &Value, prefix: &str) -> Result<Vec<Signal>, ShapeError> {
    let resources = finding
        .get("resources")
        .and_then(Value::as_array)
        .filter(|resources| !resources.is_empty())
        .ok_or_else(|| {
            ShapeError::new(format!("{prefix}resources"), "must be a non-empty array")
        })?;
    let source = match text(finding, "/metadata/product/name") {
        "" => text(finding, "/metadata/product/vendor_name"),
        name => name,
    };
    let title = match text(finding, "/finding_info/title") {
        "" => text(finding, "/message"),
        title => title,
    };
    let severity = normalise_severity(text(finding, "/severity"), &format!("{prefix}severity"))?;
    let observed_at_ms = match (
        finding.get("time").and_then(Value::as_i64),
        text(finding, "/time_dt"),
    ) {
        (Some(time), _) => Some(epoch_millis(time)),
        (None, "") => None,
        (None, at) => Some(parse_timestamp(at, &format!("{prefix}time_dt"))?),
    };
    let mut texts = vec![
        text(finding, "/actor/app_name"),
        text(finding, "/actor/user_agent"),
    ];
    for evidence in finding
        .get("evidences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        texts.push(text(evidence, "/http_request/user_agent"));
        texts.push(text(evidence, "/actor/app_name"));
    }
    let correlation_id = super::correlation_id(texts);
    resources
        .iter()
        .enumerate()
        .map(|(index, resource)| {
            let name = match text(resource, "/uid") {
                "" => text(resource, "/name"),
                uid => uid,
            }
            .trim();
            validate(
                Signal {
                    format: "ocsf".to_owned(),
                    resource: name.to_owned(),
                    resource_type: super::resource_type(text(resource, "/type"), name),
                    source: source.trim().to_owned(),
                    title: title.to_owned(),
                    severity: severity.clone(),
                    observed_at_ms,
                    correlation_id: correlation_id.clone(),
                },
                &format!("{prefix}resources[{index}]."),
            )
            .map_err(|error| match error.field.rsplit('.').next() {
                Some("source") => {
                    ShapeError::new(format!("{prefix}metadata.product.name"), error.reason)
                }
                Some("title") => {
                    ShapeError::new(format!("{prefix}finding_info.title"), error.reason)
                }
                Some("resource") => {
                    ShapeError::new(format!("{prefix}resources[{index}].uid"), error.reason)
                }
                _ => error,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Prowler 4 `-M json-ocsf` output: a failing and a passing check.
    const FIXTURE: &str = include_str!("../../tests/fixtures/prowler-ocsf.json");

    #[test]
    fn prowler_output_yields_its_failing_findings() {
        let body: Value = serde_json::from_str(FIXTURE).unwrap();
        assert!(recognises(&body));
        let signals = parse(&body).unwrap();
        assert_eq!(signals.len(), 1, "the PASS finding is skipped");
        let signal = &signals[0];
        assert_eq!(signal.format, "ocsf");
        assert_eq!(signal.resource, "arn:aws:s3:::payments-exports");
        assert_eq!(signal.resource_type, "aws.s3.bucket");
        assert_eq!(signal.source, "Prowler");
        assert_eq!(
            signal.title,
            "Ensure there are no S3 buckets open to Everyone or Any AWS user."
        );
        assert_eq!(signal.severity, "critical");
        assert_eq!(signal.observed_at_ms, Some(1_796_582_753_000));
        assert_eq!(signal.correlation_id, "");
    }

    #[test]
    fn a_single_compliance_finding_with_an_actor() {
        let body = json!({
            "class_uid": 2003,
            "metadata": {"product": {"name": "custodian"}},
            "finding_info": {"title": "user has admin"},
            "severity": "Medium",
            "time_dt": "2026-12-06T18:45:53Z",
            "actor": {"app_name": "rdfi-f00d"},
            "resources": [{"name": "ci-deployer", "type": "AWS::IAM::User"}]
        });
        assert!(recognises(&body));
        let signals = parse(&body).unwrap();
        assert_eq!(signals[0].resource, "ci-deployer");
        assert_eq!(signals[0].resource_type, "aws.iam.user");
        assert_eq!(signals[0].severity, "medium");
        assert_eq!(signals[0].observed_at_ms, Some(1_796_582_753_000));
        assert_eq!(signals[0].correlation_id, "f00d");
    }

    #[test]
    fn bad_findings_name_their_field() {
        let error = parse(&json!([{"class_uid": 2004, "metadata": {"product": {"name": "p"}}}]))
            .unwrap_err();
        assert_eq!(error.field, "[0].resources");
        let error = parse(&json!({"class_uid": 2004, "resources": [{"uid": "b"}]})).unwrap_err();
        assert_eq!(error.field, "metadata.product.name");
        let error = parse(&json!([
            {"class_uid": 2004, "metadata": {"product": {"name": "p"}}, "resources": [{"uid": "b"}]},
            {"class_uid": 1001}
        ]))
        .unwrap_err();
        assert_eq!(error.field, "[1].class_uid");
        let long = "t".repeat(super::super::MAX_TITLE_BYTES + 1);
        let error = parse(&json!({
            "class_uid": 2004, "metadata": {"product": {"name": "p"}},
            "finding_info": {"title": long}, "resources": [{"uid": "b"}]
        }))
        .unwrap_err();
        assert_eq!(error.field, "finding_info.title");
    }
}
