//! The experiment file (`apiVersion: rdfi/v1`, `kind: Experiment`): parsing and validation into the wire
//! [`ExperimentSpec`]. Every error names the file, the line and the field; nothing is called before a file is
//! valid.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rdfi_proto::v1::{ExperimentSpec, FaultSelection, Hypothesis};
use serde::Deserialize;

use crate::catalogue;

/// Providers a target may name.
pub const PROVIDERS: &[&str] = &["aws", "gcp", "sandbox"];
const DEFAULT_EXPOSURE_WINDOW: Duration = Duration::from_secs(60);
/// The longest a fault may stay injected.
pub const MAX_EXPOSURE_WINDOW: Duration = Duration::from_secs(12 * 60 * 60);
const DEFAULT_REGION: &str = "us-east-1";

/// A problem with an experiment file, located in it.
#[derive(Debug, thiserror::Error)]
pub struct ExperimentError {
    pub file: String,
    /// 1-based; 0 when the problem has no single place (an empty file, say).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ExperimentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExperimentFile {
    api_version: String,
    kind: String,
    metadata: Metadata,
    target: Target,
    faults: Vec<FaultEntry>,
    hypothesis: HypothesisFile,
    #[serde(default)]
    safety: Safety,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    provider: String,
    region: Option<String>,
    #[serde(default)]
    selector: Selector,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Selector {
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FaultEntry {
    /// One fault by its id ...
    id: Option<String>,
    /// ... or every fault of the target's provider with this intent.
    intent: Option<String>,
    #[serde(default = "one")]
    max_targets: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HypothesisFile {
    detect: Option<Within>,
    correct: Option<Within>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Within {
    within: HumanDuration,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Safety {
    exposure_window: Option<HumanDuration>,
    #[serde(default)]
    dry_run: bool,
    /// Allows faults the catalogue marks destructive (they can lose data, not only expose it).
    #[serde(default)]
    allow_destructive: bool,
}

/// A duration written as `30s`, `2m`, `1h 30m`.
struct HumanDuration(Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map(HumanDuration)
            .map_err(|error| {
                serde::de::Error::custom(format!(
                    "invalid duration {text:?} ({error}); write it like 30s, 2m or 1h"
                ))
            })
    }
}

/// Parses and validates an experiment. `file` names the source in errors.
pub fn parse(source: &str, file: &str) -> Result<ExperimentSpec, ExperimentError> {
    let parsed: ExperimentFile = serde_yaml_ng::from_str(source).map_err(|error| {
        let (line, column) = error
            .location()
            .map(|location| (location.line(), location.column()))
            .unwrap_or((0, 0));
        ExperimentError {
            file: file.to_owned(),
            line,
            column,
            message: strip_location(&error.to_string()),
        }
    })?;
    let fail = |field: &str, needle: &str, message: String| {
        let (line, column) = locate(source, field, needle);
        ExperimentError {
            file: file.to_owned(),
            line,
            column,
            message: format!("{field}: {message}"),
        }
    };

    if parsed.api_version != "rdfi/v1" {
        return Err(fail(
            "apiVersion",
            &parsed.api_version,
            format!("unsupported {:?}, expected \"rdfi/v1\"", parsed.api_version),
        ));
    }
    if parsed.kind != "Experiment" {
        return Err(fail(
            "kind",
            &parsed.kind,
            format!("unsupported {:?}, expected \"Experiment\"", parsed.kind),
        ));
    }
    let name = parsed.metadata.name.trim();
    if name.is_empty() || name.len() > 128 {
        return Err(fail(
            "metadata.name",
            "name",
            "must be 1 to 128 characters".to_owned(),
        ));
    }
    let provider = parsed.target.provider.as_str();
    if !PROVIDERS.contains(&provider) {
        return Err(fail(
            "target.provider",
            provider,
            format!(
                "unknown provider {provider:?}, expected one of {}",
                PROVIDERS.join(", ")
            ),
        ));
    }
    if parsed.faults.is_empty() {
        return Err(fail(
            "faults",
            "faults",
            "lists no fault; name at least one fault id (see `rdfi catalog`)".to_owned(),
        ));
    }
    let mut faults: Vec<FaultSelection> = Vec::with_capacity(parsed.faults.len());
    for (index, entry) in parsed.faults.iter().enumerate() {
        if entry.max_targets == 0 {
            return Err(fail(
                &format!("faults[{index}].maxTargets"),
                "maxTargets",
                "must be at least 1".to_owned(),
            ));
        }
        let ids: Vec<&'static str> = match (&entry.id, &entry.intent) {
            (Some(id), None) => {
                let field = format!("faults[{index}].id");
                let Some(model) = catalogue::find(id) else {
                    return Err(fail(
                        &field,
                        id,
                        format!("unknown fault {id:?}; `rdfi catalog` lists them"),
                    ));
                };
                if provider != "sandbox" && model.provider() != provider {
                    return Err(fail(
                        &field,
                        id,
                        format!(
                            "fault {id:?} is for provider {:?}, but the target is {provider:?}",
                            model.provider()
                        ),
                    ));
                }
                vec![model.id]
            }
            (None, Some(intent)) => {
                let field = format!("faults[{index}].intent");
                if !catalogue::INTENTS.iter().any(|(known, _)| known == intent) {
                    let known: Vec<_> =
                        catalogue::INTENTS.iter().map(|(known, _)| *known).collect();
                    return Err(fail(
                        &field,
                        intent,
                        format!("unknown intent {intent:?}; known: {}", known.join(", ")),
                    ));
                }
                let ids: Vec<_> = catalogue::by_intent(intent, provider)
                    .map(|model| model.id)
                    .collect();
                if ids.is_empty() {
                    return Err(fail(
                        &field,
                        intent,
                        format!("provider {provider:?} has no fault with intent {intent:?}"),
                    ));
                }
                ids
            }
            _ => {
                return Err(fail(
                    &format!("faults[{index}]"),
                    "- ",
                    "give exactly one of id or intent".to_owned(),
                ));
            }
        };
        for id in ids {
            if faults.iter().any(|selected| selected.fault_id == id) {
                return Err(fail(
                    &format!("faults[{index}]"),
                    id,
                    format!("fault {id:?} is asked for twice"),
                ));
            }
            faults.push(FaultSelection {
                fault_id: id.to_owned(),
                max_targets: entry.max_targets,
                hypothesis: None,
            });
        }
    }

    let exposure = parsed
        .safety
        .exposure_window
        .map(|window| window.0)
        .unwrap_or(DEFAULT_EXPOSURE_WINDOW);
    if exposure.is_zero() || exposure > MAX_EXPOSURE_WINDOW {
        return Err(fail(
            "safety.exposureWindow",
            "exposureWindow",
            format!(
                "must be more than 0s and at most {}",
                humantime::format_duration(MAX_EXPOSURE_WINDOW)
            ),
        ));
    }
    let detect = parsed.hypothesis.detect.map(|within| within.within.0);
    let correct = parsed.hypothesis.correct.map(|within| within.within.0);
    if detect.is_none() && correct.is_none() {
        return Err(fail(
            "hypothesis",
            "hypothesis",
            "states no deadline; give detect.within, correct.within or both".to_owned(),
        ));
    }
    for (field, deadline) in [
        ("hypothesis.detect.within", detect),
        ("hypothesis.correct.within", correct),
    ] {
        if let Some(deadline) = deadline
            && (deadline.is_zero() || deadline > exposure)
        {
            return Err(fail(
                field,
                "within",
                format!(
                    "{} must be more than 0s and no longer than safety.exposureWindow ({})",
                    humantime::format_duration(deadline),
                    humantime::format_duration(exposure)
                ),
            ));
        }
    }

    Ok(ExperimentSpec {
        name: name.to_owned(),
        provider: provider.to_owned(),
        region: parsed
            .target
            .region
            .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
        selector_tags: parsed.target.selector.tags.into_iter().collect(),
        faults,
        hypothesis: Some(Hypothesis {
            detect_within_ms: detect.map(millis),
            correct_within_ms: correct.map(millis),
            ..Default::default()
        }),
        exposure_window_ms: millis(exposure),
        dry_run: parsed.safety.dry_run,
        allow_destructive: parsed.safety.allow_destructive,
        sources: Vec::new(),
    })
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX)
}

/// How long a fault stays injected: its exposure window, shortened to the last hypothesis deadline, since
/// nothing observed later can change the verdict.
pub fn hold_duration(exposure_window_ms: u64, hypothesis: Option<&Hypothesis>) -> Duration {
    let last_deadline = hypothesis
        .map(|hypothesis| {
            hypothesis
                .detect_within_ms
                .unwrap_or(0)
                .max(hypothesis.correct_within_ms.unwrap_or(0))
        })
        .filter(|deadline| *deadline > 0)
        .unwrap_or(exposure_window_ms);
    Duration::from_millis(exposure_window_ms.min(last_deadline))
}

/// serde_yaml_ng appends " at line L column C" to its messages; the location is reported separately.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// The line and column of `needle` in the value of `field` (a path like `faults[1].id`): each path segment is
/// looked for from where the previous one was found; (0, 0) when it cannot be found.
fn locate(source: &str, field: &str, needle: &str) -> (usize, usize) {
    let lines: Vec<&str> = source.lines().collect();
    let mut from = 0;
    for segment in field.split('.') {
        let (key, index) = match segment.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let key_pattern = format!("{key}:");
        let Some(found) = (from..lines.len()).find(|&line| lines[line].contains(&key_pattern))
        else {
            break;
        };
        from = found;
        if let Some(index) = index {
            let items: Vec<usize> = (found + 1..lines.len())
                .filter(|&line| lines[line].trim_start().starts_with("- "))
                .collect();
            if let Some(&item) = items.get(index) {
                from = item;
            }
        }
    }
    for (index, line) in lines.iter().enumerate().skip(from) {
        if let Some(column) = line.find(needle) {
            return (index + 1, column + 1);
        }
    }
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "\
apiVersion: rdfi/v1
kind: Experiment
metadata:
  name: public-bucket-gets-caught
target:
  provider: aws
  region: eu-west-1
  selector:
    tags: { team: data }
faults:
  - id: aws.s3.bucket-public-acl
    maxTargets: 2
hypothesis:
  detect: { within: 30s }
  correct: { within: 2m }
safety:
  exposureWindow: 5m
";

    #[test]
    fn a_valid_file_becomes_a_spec() {
        let spec = parse(VALID, "x.yaml").unwrap();
        assert_eq!(spec.name, "public-bucket-gets-caught");
        assert_eq!(spec.provider, "aws");
        assert_eq!(spec.region, "eu-west-1");
        assert_eq!(
            spec.selector_tags.get("team").map(String::as_str),
            Some("data")
        );
        assert_eq!(spec.faults[0].max_targets, 2);
        let hypothesis = spec.hypothesis.unwrap();
        assert_eq!(hypothesis.detect_within_ms, Some(30_000));
        assert_eq!(hypothesis.correct_within_ms, Some(120_000));
        assert_eq!(spec.exposure_window_ms, 300_000);
        assert!(!spec.dry_run);
    }

    fn error_for(source: &str) -> ExperimentError {
        parse(source, "bad.yaml").unwrap_err()
    }

    #[test]
    fn an_unknown_field_is_named_with_its_line() {
        let error = error_for(&VALID.replace("maxTargets: 2", "maxTarget: 2"));
        assert_eq!(error.line, 12, "{error}");
        assert!(error.message.contains("maxTarget"), "{error}");
        assert!(error.to_string().starts_with("bad.yaml:12:"), "{error}");
    }

    #[test]
    fn an_unknown_fault_is_named_with_its_line() {
        let error = error_for(&VALID.replace("aws.s3.bucket-public-acl", "aws.s3.nope"));
        assert_eq!(error.line, 11, "{error}");
        assert!(
            error.message.starts_with("faults[0].id: unknown fault"),
            "{error}"
        );
        let two = VALID.replace(
            "    maxTargets: 2\n",
            "    maxTargets: 2\n  - id: aws.iam.user-admin-policy-attached\n    maxTargets: 0\n",
        );
        let error = error_for(&two);
        assert!(error.message.starts_with("faults[1].maxTargets"), "{error}");
        assert_eq!(error.line, 14, "{error}");
    }

    #[test]
    fn an_intent_expands_to_the_providers_faults() {
        let spec = parse(
            &VALID.replace(
                "  - id: aws.s3.bucket-public-acl\n",
                "  - intent: public-storage-read\n",
            ),
            "x.yaml",
        )
        .unwrap();
        let ids: Vec<_> = spec
            .faults
            .iter()
            .map(|fault| fault.fault_id.as_str())
            .collect();
        assert!(ids.contains(&"aws.s3.bucket-public-acl"), "{ids:?}");
        assert!(
            ids.iter().all(|id| id.starts_with("aws.")),
            "only the target's provider: {ids:?}"
        );
        assert!(spec.faults.iter().all(|fault| fault.max_targets == 2));
        let error =
            error_for(&VALID.replace("  - id: aws.s3.bucket-public-acl\n", "  - intent: chaos\n"));
        assert!(
            error
                .message
                .starts_with("faults[0].intent: unknown intent"),
            "{error}"
        );
        assert_eq!(error.line, 11, "{error}");
        let error = error_for(&VALID.replace(
            "  - id: aws.s3.bucket-public-acl\n    maxTargets: 2\n",
            "  - maxTargets: 1\n",
        ));
        assert!(
            error.message.contains("exactly one of id or intent"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_duration_is_named_with_its_line() {
        let error = error_for(&VALID.replace("within: 30s", "within: soon"));
        assert_eq!(error.line, 14, "{error}");
        assert!(error.message.contains("invalid duration"), "{error}");
    }

    #[test]
    fn a_deadline_longer_than_the_exposure_window_is_refused() {
        let error = error_for(&VALID.replace("within: 2m", "within: 10m"));
        assert!(
            error.message.starts_with("hypothesis.correct.within"),
            "{error}"
        );
        assert_eq!(error.line, 15, "{error}");
    }

    #[test]
    fn wrong_provider_and_version_are_refused() {
        let error = error_for(&VALID.replace("provider: aws", "provider: azure"));
        assert!(error.message.starts_with("target.provider"), "{error}");
        assert_eq!(error.line, 6);
        let error = error_for(&VALID.replace("rdfi/v1", "rdfi/v2"));
        assert_eq!(error.line, 1);
    }

    #[test]
    fn a_missing_hypothesis_is_refused() {
        let error = error_for(&VALID.replace(
            "  detect: { within: 30s }\n  correct: { within: 2m }\n",
            "  {}\n",
        ));
        assert!(error.message.contains("hypothesis"), "{error}");
    }

    #[test]
    fn hold_is_the_exposure_window_cut_to_the_last_deadline() {
        let hypothesis = Hypothesis {
            detect_within_ms: Some(1_000),
            correct_within_ms: Some(3_000),
            ..Default::default()
        };
        assert_eq!(
            hold_duration(10_000, Some(&hypothesis)),
            Duration::from_millis(3_000)
        );
        assert_eq!(
            hold_duration(2_000, Some(&hypothesis)),
            Duration::from_millis(2_000)
        );
        assert_eq!(hold_duration(2_000, None), Duration::from_millis(2_000));
    }
}
