//! The shapes `POST /v1/signals` accepts, recognised by their content, each parsed into [`Signal`]s by a pure
//! function: generic JSON ([`json`]), the Alertmanager webhook ([`alertmanager`]), OCSF Detection and
//! Compliance Findings ([`ocsf`]) and AWS Security Hub findings as EventBridge delivers them ([`asff`]).
//! See docs/signals.md.

pub(crate) mod alertmanager;
pub(crate) mod asff;
pub(crate) mod json;
pub(crate) mod ocsf;

use std::fmt;
use std::time::UNIX_EPOCH;

use serde_json::Value;

/// The longest title a signal may carry, in bytes.
pub const MAX_TITLE_BYTES: usize = 1024;
/// The longest resource (ARN or name) a signal may name, in bytes.
pub const MAX_RESOURCE_BYTES: usize = 2048;
/// The longest source name, in bytes.
pub const MAX_SOURCE_BYTES: usize = 256;
/// The longest correlation id, in bytes.
pub const MAX_CORRELATION_ID_BYTES: usize = 256;
/// The most signals one request may carry (alerts in an Alertmanager group, findings in an array).
pub const MAX_SIGNALS_PER_REQUEST: usize = 1000;

/// A detection signal in the monitor's terms, whatever shape it arrived in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    /// The shape it arrived in: json, alertmanager, ocsf, asff, or the provider's name for its own signals.
    pub format: String,
    /// The resource the detector named: an ARN (full identity) or a bare name.
    pub resource: String,
    /// The resource's type in rdfi's terms (aws.s3.bucket); empty when the signal does not say.
    pub resource_type: String,
    /// The detector's name.
    pub source: String,
    pub title: String,
    /// One of [`SEVERITIES`], or empty when the detector stated none.
    pub severity: String,
    /// When the detector says it observed the problem (unix milliseconds).
    pub observed_at_ms: Option<i64>,
    /// The `rdfi-<id>` the detector saw on the mutating call (user agent, app id), when it reports it.
    pub correlation_id: String,
}

impl Signal {
    /// The bytes this signal holds, for bounding the buffer of uncorrelated signals.
    pub fn size_bytes(&self) -> usize {
        self.format.len()
            + self.resource.len()
            + self.resource_type.len()
            + self.source.len()
            + self.title.len()
            + self.severity.len()
            + self.correlation_id.len()
            + std::mem::size_of::<Self>()
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} signal from {} on {}",
            self.format, self.source, self.resource
        )?;
        if !self.resource_type.is_empty() {
            write!(f, " ({})", self.resource_type)?;
        }
        if !self.title.is_empty() {
            write!(f, ": {}", self.title)?;
        }
        Ok(())
    }
}

/// Why a body is not a signal, naming the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ShapeError {
    pub field: String,
    pub reason: String,
}

impl ShapeError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ShapeError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The severities rdfi speaks, lowest first.
pub const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// Recognises the body's shape and parses it into its signals (none for an Alertmanager notification of
/// resolved alerts only).
pub fn parse(body: &Value) -> Result<Vec<Signal>, ShapeError> {
    let signals = parse_any(body)?;
    if signals.len() > MAX_SIGNALS_PER_REQUEST {
        return Err(ShapeError::new(
            "body",
            format!(
                "carries {} signals; at most {MAX_SIGNALS_PER_REQUEST} per request",
                signals.len()
            ),
        ));
    }
    Ok(signals)
}

/// Recognises the body's shape and parses it into all its signals, however many (a scanner's result file).
pub(crate) fn parse_any(body: &Value) -> Result<Vec<Signal>, ShapeError> {
    let signals = if alertmanager::recognises(body) {
        alertmanager::parse(body)?
    } else if asff::recognises(body) {
        asff::parse(body)?
    } else if ocsf::recognises(body) {
        ocsf::parse(body)?
    } else if body.is_object() {
        vec![json::parse(body)?]
    } else {
        return Err(ShapeError::new(
            "body",
            "not a signal: expected a JSON object (generic signal, Alertmanager webhook, EventBridge Security Hub \
             event, OCSF finding) or an array of OCSF findings",
        ));
    };
    Ok(signals)
}

/// Checks the bounds every signal must keep; `field` prefixes the field names (`alerts[2].`).
pub(crate) fn validate(signal: Signal, field: &str) -> Result<Signal, ShapeError> {
    for (name, value, limit) in [
        ("resource", &signal.resource, MAX_RESOURCE_BYTES),
        ("source", &signal.source, MAX_SOURCE_BYTES),
        ("title", &signal.title, MAX_TITLE_BYTES),
        (
            "correlation_id",
            &signal.correlation_id,
            MAX_CORRELATION_ID_BYTES,
        ),
    ] {
        if value.len() > limit {
            return Err(ShapeError::new(
                format!("{field}{name}"),
                format!("is {} bytes; at most {limit}", value.len()),
            ));
        }
    }
    for (name, value) in [("resource", &signal.resource), ("source", &signal.source)] {
        if value.trim().is_empty() {
            return Err(ShapeError::new(
                format!("{field}{name}"),
                "must not be empty",
            ));
        }
    }
    Ok(signal)
}

/// A severity in any detector's words, as one of [`SEVERITIES`]; empty for none stated (empty, OCSF Unknown or
/// Other); an error for a word it does not know.
pub fn normalise_severity(raw: &str, field: &str) -> Result<String, ShapeError> {
    let normalised = match raw.trim().to_ascii_lowercase().as_str() {
        "" | "unknown" | "other" => "",
        "info" | "informational" | "information" | "none" => "info",
        "low" => "low",
        "medium" | "moderate" | "warning" | "warn" => "medium",
        "high" | "error" | "major" => "high",
        "critical" | "fatal" | "page" => "critical",
        other => {
            return Err(ShapeError::new(
                field,
                format!(
                    "unknown severity {other:?}; expected one of info, low, medium, high, critical (or \
                     informational, moderate, warning, error, fatal)"
                ),
            ));
        }
    };
    Ok(normalised.to_owned())
}

/// The rdfi resource type an ARN names, empty when rdfi has no such type.
pub fn resource_type_of_arn(arn: &str) -> &'static str {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some(service), Some(_region), Some(_account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return "";
    };
    let kind = rest.split(['/', ':']).next().unwrap_or_default();
    match (service, kind) {
        ("s3", _) if !rest.contains('/') => "aws.s3.bucket",
        ("iam", "user") => "aws.iam.user",
        ("iam", "role") => "aws.iam.role",
        ("kms", "key") => "aws.kms.key",
        ("cloudtrail", "trail") => "aws.cloudtrail.trail",
        ("ec2", "security-group") => "aws.ec2.security-group",
        ("ec2", "image") => "aws.ec2.image",
        ("ec2", "snapshot") => "aws.ec2.snapshot",
        _ => "",
    }
}

/// A resource type in a detector's words (ASFF `AwsS3Bucket`, OCSF/Prowler `AwsS3Bucket` or
/// `AWS::S3::Bucket`) in rdfi's terms; empty when rdfi has no such type.
pub fn resource_type_of(name: &str) -> &'static str {
    let compact: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match compact.as_str() {
        "awss3bucket" => "aws.s3.bucket",
        "awsiamuser" => "aws.iam.user",
        "awsiamrole" => "aws.iam.role",
        "awskmskey" => "aws.kms.key",
        "awscloudtrailtrail" => "aws.cloudtrail.trail",
        "awsec2securitygroup" => "aws.ec2.security-group",
        "awsec2image" | "awsec2ami" => "aws.ec2.image",
        "awsec2snapshot" => "aws.ec2.snapshot",
        _ => "",
    }
}

/// The resource type a signal states, else the one its resource's ARN names.
pub(crate) fn resource_type(stated: &str, resource: &str) -> String {
    match resource_type_of(stated) {
        "" => resource_type_of_arn(resource),
        known => known,
    }
    .to_owned()
}

/// The first `rdfi-<id>` token in `text` (a user agent, an app id), as `<id>`.
pub fn correlation_id_in(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(at) = rest.find("rdfi-") {
        let preceded_by_word = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let tail = &rest[at + "rdfi-".len()..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(tail.len());
        if !preceded_by_word && end > 0 {
            return Some(&tail[..end]);
        }
        rest = tail;
    }
    None
}

/// The first correlation id among `texts`, empty when none carries one.
pub(crate) fn correlation_id<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    texts
        .into_iter()
        .find_map(correlation_id_in)
        .unwrap_or_default()
        .to_owned()
}

/// An RFC 3339 timestamp (`2026-12-06T18:45:53.123Z`, `...+02:00`) in unix milliseconds.
pub fn parse_timestamp(text: &str, field: &str) -> Result<i64, ShapeError> {
    let invalid = || {
        ShapeError::new(
            field,
            format!("{text:?} is not an RFC 3339 timestamp (2026-12-06T18:45:53Z)"),
        )
    };
    let text = text.trim();
    let (local, offset_minutes) = if let Some(local) = text.strip_suffix(['Z', 'z']) {
        (local, 0)
    } else if text.len() > 6 && matches!(text.as_bytes()[text.len() - 6], b'+' | b'-') {
        let (local, offset) = text.split_at(text.len() - 6);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = offset[1..].split_once(':').ok_or_else(invalid)?;
        let hours: i64 = hours.parse().map_err(|_| invalid())?;
        let minutes: i64 = minutes.parse().map_err(|_| invalid())?;
        (local, sign * (hours * 60 + minutes))
    } else {
        (text, 0)
    };
    let time = humantime::parse_rfc3339_weak(local).map_err(|_| invalid())?;
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| invalid())?
        .as_millis() as i64;
    Ok(millis - offset_minutes * 60_000)
}

/// Epoch milliseconds, or seconds when the number is too small to be milliseconds of this century.
pub(crate) fn epoch_millis(number: i64) -> i64 {
    if number.abs() < 100_000_000_000 {
        number.saturating_mul(1000)
    } else {
        number
    }
}

/// The string at `pointer`, empty when absent or not a string.
pub(crate) fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn severities_normalise_and_unknown_words_name_the_field() {
        for (raw, expected) in [
            ("INFORMATIONAL", "info"),
            ("Low", "low"),
            ("warning", "medium"),
            ("HIGH", "high"),
            ("Fatal", "critical"),
            ("", ""),
            ("Unknown", ""),
        ] {
            assert_eq!(normalise_severity(raw, "severity").unwrap(), expected);
        }
        let error = normalise_severity("spicy", "alerts[0].labels.severity").unwrap_err();
        assert_eq!(error.field, "alerts[0].labels.severity");
        assert!(error.reason.contains("\"spicy\""), "{error}");
    }

    #[test]
    fn resource_types_come_from_names_and_arns() {
        assert_eq!(resource_type_of("AwsS3Bucket"), "aws.s3.bucket");
        assert_eq!(resource_type_of("AWS::IAM::User"), "aws.iam.user");
        assert_eq!(resource_type_of("AwsLambdaFunction"), "");
        assert_eq!(
            resource_type_of_arn("arn:aws:s3:::payments"),
            "aws.s3.bucket"
        );
        assert_eq!(resource_type_of_arn("arn:aws:s3:::payments/key.csv"), "");
        assert_eq!(
            resource_type_of_arn("arn:aws:iam::123456789012:user/ci/deployer"),
            "aws.iam.user"
        );
        assert_eq!(
            resource_type_of_arn("arn:aws:iam::123456789012:role/admin"),
            "aws.iam.role"
        );
        assert_eq!(resource_type_of_arn("payments"), "");
        assert_eq!(resource_type("", "arn:aws:s3:::payments"), "aws.s3.bucket");
        assert_eq!(resource_type("AwsIamUser", "payments"), "aws.iam.user");
    }

    #[test]
    fn correlation_ids_are_rdfi_tokens() {
        assert_eq!(
            correlation_id_in("aws-sdk-rust/1.3 app/rdfi-0193a1b2-77 os/linux"),
            Some("0193a1b2-77")
        );
        assert_eq!(correlation_id_in("notrdfi-123"), None);
        assert_eq!(correlation_id_in("rdfi-"), None);
        assert_eq!(correlation_id(["", "x", "rdfi-abc"]), "abc");
    }

    #[test]
    fn timestamps_parse_with_zones_and_fractions() {
        let base = parse_timestamp("2026-12-06T18:45:53Z", "t").unwrap();
        assert_eq!(base, 1_796_582_753_000);
        assert_eq!(
            parse_timestamp("2026-12-06T18:45:53.250Z", "t").unwrap(),
            base + 250
        );
        assert_eq!(
            parse_timestamp("2026-12-06T20:45:53+02:00", "t").unwrap(),
            base
        );
        assert_eq!(
            parse_timestamp("2026-12-06T18:45:53.000000", "t").unwrap(),
            base
        );
        let error = parse_timestamp("yesterday", "UpdatedAt").unwrap_err();
        assert_eq!(error.field, "UpdatedAt");
    }

    #[test]
    fn unrecognised_bodies_are_refused() {
        let error = parse(&serde_json::json!([1, 2])).unwrap_err();
        assert_eq!(error.field, "body");
        let error = parse(&serde_json::json!("text")).unwrap_err();
        assert_eq!(error.field, "body");
    }

    proptest! {
        #[test]
        fn validation_bounds_every_field(title_len in 0usize..3000, resource_len in 1usize..5000) {
            let signal = Signal {
                format: "json".into(),
                resource: "r".repeat(resource_len),
                resource_type: String::new(),
                source: "s".into(),
                title: "t".repeat(title_len),
                severity: String::new(),
                observed_at_ms: None,
                correlation_id: String::new(),
            };
            let result = validate(signal, "");
            let fits = title_len <= MAX_TITLE_BYTES && resource_len <= MAX_RESOURCE_BYTES;
            prop_assert_eq!(result.is_ok(), fits);
            if let Err(error) = result {
                prop_assert!(error.field == "title" || error.field == "resource");
            }
        }

        #[test]
        fn normalised_severities_are_rdfi_words(raw in "\\PC{0,12}") {
            if let Ok(severity) = normalise_severity(&raw, "severity") {
                prop_assert!(severity.is_empty() || SEVERITIES.contains(&severity.as_str()));
            }
        }

        #[test]
        fn timestamps_never_panic(raw in "\\PC{0,40}") {
            let _ = parse_timestamp(&raw, "t");
        }
    }
}
