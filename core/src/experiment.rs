//! The experiment file (`apiVersion: rdfi/v1`, `kind: Experiment`): parsing and validation into the wire
//! [`ExperimentSpec`]. Every error names the file, the line and the field; nothing is called before a file is
//! valid.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rdfi_proto::v1::{
    CampaignSpec, ControlKind, Expectation, ExperimentSpec, FaultSelection, Hypothesis,
    SignalSourceSpec, SourceMode,
};
use serde::Deserialize;

use crate::catalogue;

mod campaign;
mod tree;

pub use campaign::{DEFAULT_COOL_DOWN, STRATEGIES};
pub use tree::{MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_SIZE};

/// Providers a target may name.
pub const PROVIDERS: &[&str] = &["aws", "gcp", "sandbox"];
const DEFAULT_EXPOSURE_WINDOW: Duration = Duration::from_secs(60);
/// The longest a fault may stay injected.
pub const MAX_EXPOSURE_WINDOW: Duration = Duration::from_secs(12 * 60 * 60);
const DEFAULT_REGION: &str = "us-east-1";
/// How long after a revert signals in flight are still taken in, unless `observe.settle` says otherwise.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(1);
const MAX_SETTLE: Duration = Duration::from_secs(300);
/// The longest name of a source.
const MAX_NAME: usize = 128;

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
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    metadata: Metadata,
    target: Target,
    faults: Vec<FaultEntry>,
    #[serde(default)]
    hypothesis: HypothesisFile,
    #[serde(default)]
    observe: ObserveFile,
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
    /// ... or every fault of the target's provider whose id matches this pattern (`aws.s3.*`) ...
    glob: Option<String>,
    /// ... or every fault of the target's provider with this intent.
    intent: Option<String>,
    #[serde(default = "one")]
    max_targets: u32,
    /// This fault's own expectations, replacing the experiment's of the same kind.
    hypothesis: Option<HypothesisFile>,
}

fn one() -> u32 {
    1
}

/// What the experiment (or one fault) expects of the controls. Each kind given replaces the experiment's.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HypothesisFile {
    prevent: Option<PreventFile>,
    detect: Option<ExpectFile>,
    correct: Option<ExpectFile>,
}

impl HypothesisFile {
    fn is_empty(&self) -> bool {
        self.prevent.is_none() && self.detect.is_none() && self.correct.is_none()
    }
}

/// `prevent: {}`: a preventive control should refuse the change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreventFile {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    within: HumanDuration,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    mode: ModeFile,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModeFile {
    #[default]
    Any,
    All,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObserveFile {
    #[serde(default)]
    sources: Vec<SourceFile>,
    settle: Option<HumanDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
    interval: Option<HumanDuration>,
    subject: Option<String>,
    path: Option<String>,
    url: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
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
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "{text:?} is not a duration; write a number and a unit, like 500ms, 30s, 2m or 1h 30m"
                ))
            })
    }
}

/// Every problem found in one file, in the order of the file; never empty.
#[derive(Debug, thiserror::Error)]
pub struct ExperimentErrors(pub Vec<ExperimentError>);

impl ExperimentErrors {
    pub fn first(&self) -> &ExperimentError {
        &self.0[0]
    }
}

/// The most mistakes of one file that are located and said; the rest are counted. Locating one reads the
/// file, so a file of a million mistakes (a fault listed 30,000 times) is answered in linear time.
pub const MAX_MISTAKES_SAID: usize = 100;

impl fmt::Display for ExperimentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().take(MAX_MISTAKES_SAID).enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        if let Some(more) = self
            .0
            .len()
            .checked_sub(MAX_MISTAKES_SAID)
            .filter(|more| *more > 0)
        {
            write!(
                f,
                "\n{}: and {more} more mistakes like these",
                self.0[0].file
            )?;
        }
        Ok(())
    }
}

impl From<ExperimentError> for ExperimentErrors {
    fn from(error: ExperimentError) -> Self {
        ExperimentErrors(vec![error])
    }
}

/// An experiment or a campaign file, parsed and validated.
#[derive(Clone, Debug, PartialEq)]
pub enum Document {
    Experiment(ExperimentSpec),
    Campaign(CampaignSpec),
}

/// The JSON Schema (draft 2020-12) of both kinds of file, for editors; `rdfi schema` prints it.
pub const SCHEMA: &str = include_str!("experiment/schema.json");

/// The two kinds of file, as `kind:` names them.
pub const KINDS: &[&str] = &["Experiment", "Campaign"];

/// Parses and validates an experiment. `file` names the source in errors.
pub fn parse(source: &str, file: &str) -> Result<ExperimentSpec, ExperimentErrors> {
    match parse_document(source, file)? {
        Document::Experiment(spec) => Ok(spec),
        Document::Campaign(_) => Err(ExperimentError {
            file: file.to_owned(),
            line: locate(source, "kind", "Campaign").0,
            column: locate(source, "kind", "Campaign").1,
            message: "kind: this is a Campaign; here an Experiment is expected (`rdfi run` and `rdfi campaign \
                      start` take campaigns)"
                .to_owned(),
        }
        .into()),
    }
}

/// Parses and validates an experiment or a campaign file, reporting every problem found in one pass. A file
/// too large or nested too deeply is refused before it is parsed, in time linear in its size.
pub fn parse_document(source: &str, file: &str) -> Result<Document, ExperimentErrors> {
    tree::check(source).map_err(|(line, message)| ExperimentError {
        file: file.to_owned(),
        line,
        column: usize::from(line > 0),
        message,
    })?;
    let header = tree::header(source, file)?;
    match header.as_str() {
        "Experiment" => {
            let parsed: ExperimentFile = typed(source, file)?;
            let mut errors = Vec::new();
            let fail = failing(source, file);
            check_header(&parsed.api_version, &parsed.metadata, &fail, &mut errors);
            let spec = spec_of(Parts::of_experiment(parsed), source, file, &mut errors);
            match spec {
                Some(spec) if errors.is_empty() => Ok(Document::Experiment(spec)),
                _ => Err(ExperimentErrors(errors)),
            }
        }
        _ => campaign::parse(source, file).map(Document::Campaign),
    }
}

/// The file deserialized into `T`, or its first structural problem (an unknown field, a wrong type) said in
/// a user's words, with the path of the field.
fn typed<T: serde::de::DeserializeOwned>(source: &str, file: &str) -> Result<T, ExperimentError> {
    let deserializer = serde_yaml_ng::Deserializer::from_str(source);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let (line, column) = location(&inner, source);
        let message = plain(&strip_location(&inner.to_string()));
        // serde_yaml_ng prefixes some messages with part of the path; the whole path is said once.
        let message = match message.split_once(": ") {
            Some((head, tail)) if !head.contains(' ') && path.starts_with(head) => tail.to_owned(),
            _ => message,
        };
        ExperimentError {
            file: file.to_owned(),
            line,
            column,
            message: if path.is_empty() || path == "." || message.starts_with(&path) {
                message
            } else {
                format!("{path}: {message}")
            },
        }
    })
}

/// serde's words for what it expected, in a user's.
fn plain(message: &str) -> String {
    // "invalid value: integer `-3`, expected u32"
    let mut message = message.to_owned();
    for number in ["invalid value: integer `", "invalid type: integer `"] {
        if message.contains(number) {
            message = message.replacen(number, "found the number ", 1).replacen(
                "`, expected",
                ", expected",
                1,
            );
        }
    }
    for (rust, words) in [
        ("expected u64", "expected a whole number (0 or more)"),
        ("expected u32", "expected a whole number (0 or more)"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected text"),
        (
            "expected a sequence",
            "expected a list (lines starting with `- `)",
        ),
        (
            "expected a map",
            "expected a mapping (lines of `key: value`)",
        ),
        ("invalid type: string", "found the text"),
        ("invalid type: integer", "found the number"),
        ("invalid type: floating point", "found the number"),
        ("invalid type: boolean", "found"),
        ("invalid type: sequence", "found a list"),
        ("invalid type: map", "found a mapping"),
        ("invalid type: unit value", "found nothing"),
    ] {
        message = message.replace(rust, words);
    }
    // "expected struct Budget" and the like: a mapping.
    if let Some(index) = message.find("expected struct ") {
        message.replace_range(index.., "expected a mapping (lines of `key: value`)");
    }
    if let Some(index) = message.find("expected enum ") {
        message.replace_range(
            index..,
            "expected one of the words listed in docs/experiments.md",
        );
    }
    message
        .replace('`', "\"")
        .replace("\"- \"", "`- `")
        .replace("\"key: value\"", "`key: value`")
}

/// The error of a field in this file, located by its path and a text to find in its value.
fn failing<'a>(
    source: &'a str,
    file: &'a str,
) -> impl Fn(&str, &str, String) -> ExperimentError + 'a {
    let located = std::cell::Cell::new(0);
    move |field: &str, needle: &str, message: String| {
        // Past the mistakes that are said, none is located (each would read the file again).
        let (line, column) = if located.get() < MAX_MISTAKES_SAID {
            located.set(located.get() + 1);
            locate(source, field, needle)
        } else {
            (0, 0)
        };
        ExperimentError {
            file: file.to_owned(),
            line,
            column,
            message: format!("{field}: {message}"),
        }
    }
}

fn check_header(
    api_version: &str,
    metadata: &Metadata,
    fail: &impl Fn(&str, &str, String) -> ExperimentError,
    errors: &mut Vec<ExperimentError>,
) {
    if api_version != "rdfi/v1" {
        errors.push(fail(
            "apiVersion",
            api_version,
            format!("unsupported {api_version:?}, expected \"rdfi/v1\""),
        ));
    }
    let name = metadata.name.trim();
    if name.is_empty() || name.len() > 128 {
        errors.push(fail(
            "metadata.name",
            "name",
            "must be 1 to 128 characters".to_owned(),
        ));
    }
}

/// What an experiment and a campaign share: the target, the candidate faults, the expectations, what to
/// observe and the safety settings.
struct Parts {
    name: String,
    target: Target,
    faults: Vec<FaultEntry>,
    hypothesis: HypothesisFile,
    observe: ObserveFile,
    safety: Safety,
    /// A campaign without faults picks from every fault of its provider.
    every_fault_when_none: bool,
}

impl Parts {
    fn of_experiment(file: ExperimentFile) -> Parts {
        Parts {
            name: file.metadata.name,
            target: file.target,
            faults: file.faults,
            hypothesis: file.hypothesis,
            observe: file.observe,
            safety: file.safety,
            every_fault_when_none: false,
        }
    }
}

/// Checks the shared parts, pushing every problem; the spec when they are sound.
fn spec_of(
    parts: Parts,
    source: &str,
    file: &str,
    errors: &mut Vec<ExperimentError>,
) -> Option<ExperimentSpec> {
    let fail = failing(source, file);
    let found_before = errors.len();
    let provider = parts.target.provider.as_str();
    if !PROVIDERS.contains(&provider) {
        errors.push(fail(
            "target.provider",
            provider,
            format!(
                "unknown provider {provider:?}, expected one of {}",
                PROVIDERS.join(", ")
            ),
        ));
        return None;
    }
    if parts.faults.is_empty() && !parts.every_fault_when_none {
        errors.push(fail(
            "faults",
            "faults",
            "lists no fault; name at least one fault id (see `rdfi catalog`)".to_owned(),
        ));
    }
    let exposure = parts
        .safety
        .exposure_window
        .as_ref()
        .map(|window| window.0)
        .unwrap_or(DEFAULT_EXPOSURE_WINDOW);
    if exposure.is_zero() || exposure > MAX_EXPOSURE_WINDOW {
        errors.push(fail(
            "safety.exposureWindow",
            "exposureWindow",
            format!(
                "must be more than 0s and at most {}",
                humantime::format_duration(MAX_EXPOSURE_WINDOW)
            ),
        ));
    }
    let settle = parts
        .observe
        .settle
        .as_ref()
        .map(|settle| settle.0)
        .unwrap_or(DEFAULT_SETTLE);
    if settle > MAX_SETTLE {
        errors.push(fail(
            "observe.settle",
            "settle",
            format!("must be at most {}", humantime::format_duration(MAX_SETTLE)),
        ));
    }
    if let Err(error) = check_hypothesis(&parts.hypothesis, "hypothesis", exposure, &fail) {
        errors.push(error);
    }
    for (index, entry) in parts.faults.iter().enumerate() {
        if let Some(hypothesis) = &entry.hypothesis
            && let Err(error) = check_hypothesis(
                hypothesis,
                &format!("faults[{index}].hypothesis"),
                exposure,
                &fail,
            )
        {
            errors.push(error);
        }
    }
    let mut sources = Vec::new();
    for (index, spec) in parts.observe.sources.iter().enumerate() {
        match signal_source(spec, provider, &format!("observe.sources[{index}]"), &fail) {
            Ok(spec) => sources.push(spec),
            Err(error) => errors.push(error),
        }
    }
    let mut faults: Vec<FaultSelection> = Vec::with_capacity(parts.faults.len());
    let mut chosen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut add = |model: &'static catalogue::FaultModel,
                   entry: Option<&FaultEntry>,
                   at: &str,
                   errors: &mut Vec<ExperimentError>| {
        let id = model.id;
        if !chosen.insert(id) {
            errors.push(fail(at, id, format!("fault {id:?} is asked for twice")));
            return;
        }
        faults.push(FaultSelection {
            fault_id: id.to_owned(),
            max_targets: entry.map_or(1, |entry| entry.max_targets),
            hypothesis: Some(resolve_hypothesis(
                entry.and_then(|entry| entry.hypothesis.as_ref()),
                &parts.hypothesis,
                model,
                exposure,
                settle,
            )),
        });
    };
    if parts.faults.is_empty() && parts.every_fault_when_none {
        for model in catalogue::all().filter(|model| on_provider(model, provider)) {
            add(model, None, "faults", errors);
        }
    }
    for (index, entry) in parts.faults.iter().enumerate() {
        if entry.max_targets == 0 {
            errors.push(fail(
                &format!("faults[{index}].maxTargets"),
                "maxTargets",
                "must be at least 1".to_owned(),
            ));
        }
        let at = format!("faults[{index}]");
        match selected(entry, provider, &at, &fail) {
            Ok(models) => {
                for model in models {
                    add(model, Some(entry), &at, errors);
                }
            }
            Err(error) => errors.push(error),
        }
    }
    if errors.len() > found_before {
        return None;
    }
    Some(ExperimentSpec {
        name: parts.name.trim().to_owned(),
        provider: provider.to_owned(),
        region: parts
            .target
            .region
            .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
        selector_tags: parts.target.selector.tags.into_iter().collect(),
        faults,
        hypothesis: (!parts.hypothesis.is_empty())
            .then(|| hypothesis(stated(None, &parts.hypothesis), settle)),
        exposure_window_ms: millis(exposure),
        dry_run: parts.safety.dry_run,
        allow_destructive: parts.safety.allow_destructive,
        sources,
    })
}

/// A fault the target's provider can take: its own, or any on the sandbox (which plays every cloud).
fn on_provider(model: &catalogue::FaultModel, provider: &str) -> bool {
    provider == "sandbox" || model.provider() == provider
}

/// The faults one entry of `faults` selects: one by `id`, every one of the provider whose id matches a
/// `glob` (`aws.s3.*`), or every one with an `intent`.
fn selected(
    entry: &FaultEntry,
    provider: &str,
    at: &str,
    fail: &impl Fn(&str, &str, String) -> ExperimentError,
) -> Result<Vec<&'static catalogue::FaultModel>, ExperimentError> {
    match (&entry.id, &entry.glob, &entry.intent) {
        (Some(id), None, None) => {
            let field = format!("{at}.id");
            if id.contains('*') {
                return Err(fail(
                    &field,
                    id,
                    format!("{id:?} is a pattern; write it as `glob: {id}`"),
                ));
            }
            let Some(model) = catalogue::find(id) else {
                return Err(fail(
                    &field,
                    id,
                    format!("unknown fault {id:?}; `rdfi catalog` lists them"),
                ));
            };
            if !on_provider(model, provider) {
                return Err(fail(
                    &field,
                    id,
                    format!(
                        "fault {id:?} is for provider {:?}, but the target is {provider:?}",
                        model.provider()
                    ),
                ));
            }
            Ok(vec![model])
        }
        (None, Some(pattern), None) => {
            let field = format!("{at}.glob");
            let models: Vec<_> = catalogue::all()
                .filter(|model| on_provider(model, provider) && glob_matches(pattern, model.id))
                .collect();
            if models.is_empty() {
                return Err(fail(
                    &field,
                    pattern,
                    format!(
                        "no fault of provider {provider:?} matches {pattern:?} (`*` matches any \
                         characters; `rdfi catalog` lists the ids)"
                    ),
                ));
            }
            Ok(models)
        }
        (None, None, Some(intent)) => {
            let field = format!("{at}.intent");
            if !catalogue::INTENTS.iter().any(|(known, _)| known == intent) {
                let known: Vec<_> = catalogue::INTENTS.iter().map(|(known, _)| *known).collect();
                return Err(fail(
                    &field,
                    intent,
                    format!("unknown intent {intent:?}; known: {}", known.join(", ")),
                ));
            }
            let models: Vec<_> = catalogue::by_intent(intent, provider).collect();
            if models.is_empty() {
                return Err(fail(
                    &field,
                    intent,
                    format!("provider {provider:?} has no fault with intent {intent:?}"),
                ));
            }
            Ok(models)
        }
        _ => Err(fail(
            at,
            "- ",
            "give exactly one of id, glob or intent".to_owned(),
        )),
    }
}

/// `*` matches any run of characters (none too); everything else matches itself. Linear in the id's length
/// times the pattern's.
pub fn glob_matches(pattern: &str, id: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = (parts[0], &parts[1..]);
    let Some(mut remaining) = id.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(index) => remaining = &remaining[index + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// The expectations of each kind: the fault's own where it states that kind, else the experiment's.
struct Stated<'a> {
    prevent: bool,
    detect: Option<&'a ExpectFile>,
    correct: Option<&'a ExpectFile>,
}

fn stated<'a>(fault: Option<&'a HypothesisFile>, experiment: &'a HypothesisFile) -> Stated<'a> {
    let kind = |pick: fn(&'a HypothesisFile) -> Option<&'a ExpectFile>| {
        fault.and_then(pick).or_else(|| pick(experiment))
    };
    Stated {
        prevent: fault.is_some_and(|fault| fault.prevent.is_some()) || experiment.prevent.is_some(),
        detect: kind(|file| file.detect.as_ref()),
        correct: kind(|file| file.correct.as_ref()),
    }
}

fn expectation(kind: ControlKind, expect: &ExpectFile) -> Expectation {
    Expectation {
        kind: kind as i32,
        within_ms: Some(millis(expect.within.0)),
        sources: expect
            .sources
            .iter()
            .map(|source| source.trim().to_lowercase())
            .collect(),
        mode: match expect.mode {
            ModeFile::Any => SourceMode::Any,
            ModeFile::All => SourceMode::All,
        } as i32,
    }
}

/// The wire hypothesis of stated expectations, in the order prevent, detect, correct.
fn hypothesis(stated: Stated<'_>, settle: Duration) -> Hypothesis {
    let mut expectations = Vec::new();
    if stated.prevent {
        expectations.push(Expectation {
            kind: ControlKind::Preventive as i32,
            ..Default::default()
        });
    }
    expectations.extend(
        stated
            .detect
            .map(|detect| expectation(ControlKind::Detective, detect)),
    );
    expectations.extend(
        stated
            .correct
            .map(|correct| expectation(ControlKind::Corrective, correct)),
    );
    Hypothesis {
        detect_within_ms: stated.detect.map(|detect| millis(detect.within.0)),
        correct_within_ms: stated.correct.map(|correct| millis(correct.within.0)),
        expectations,
        settle_ms: millis(settle),
    }
}

/// One fault's hypothesis: its own expectations, else the experiment's of each kind; when neither states any,
/// the catalogue's expected controls with their default deadlines, cut to the exposure window.
fn resolve_hypothesis(
    fault: Option<&HypothesisFile>,
    experiment: &HypothesisFile,
    model: &catalogue::FaultModel,
    exposure: Duration,
    settle: Duration,
) -> Hypothesis {
    if fault.is_some_and(|fault| !fault.is_empty()) || !experiment.is_empty() {
        return hypothesis(stated(fault, experiment), settle);
    }
    catalogue_hypothesis(model, exposure, settle)
}

/// The catalogue's expected controls as a hypothesis, deadlines cut to the exposure window.
pub fn catalogue_hypothesis(
    model: &catalogue::FaultModel,
    exposure: Duration,
    settle: Duration,
) -> Hypothesis {
    let mut hypothesis = Hypothesis {
        settle_ms: millis(settle),
        ..Default::default()
    };
    for control in model.expected_controls {
        let within = millis(control.default_deadline.min(exposure));
        let kind = match control.kind {
            catalogue::ControlKind::Preventive => ControlKind::Preventive,
            catalogue::ControlKind::Detective => {
                hypothesis.detect_within_ms = Some(within);
                ControlKind::Detective
            }
            catalogue::ControlKind::Corrective => {
                hypothesis.correct_within_ms = Some(within);
                ControlKind::Corrective
            }
        };
        hypothesis.expectations.push(Expectation {
            kind: kind as i32,
            within_ms: (kind != ControlKind::Preventive).then_some(within),
            ..Default::default()
        });
    }
    hypothesis
}

/// Checks the deadlines and sources of a hypothesis written at `at` (`hypothesis`, `faults[2].hypothesis`).
fn check_hypothesis(
    file: &HypothesisFile,
    at: &str,
    exposure: Duration,
    fail: &impl Fn(&str, &str, String) -> ExperimentError,
) -> Result<(), ExperimentError> {
    for (kind, expect) in [("detect", &file.detect), ("correct", &file.correct)] {
        let Some(expect) = expect else { continue };
        let deadline = expect.within.0;
        if deadline.is_zero() || deadline > exposure {
            return Err(fail(
                &format!("{at}.{kind}.within"),
                "within",
                format!(
                    "{} must be more than 0s and no longer than safety.exposureWindow ({})",
                    humantime::format_duration(deadline),
                    humantime::format_duration(exposure)
                ),
            ));
        }
        let field = format!("{at}.{kind}.sources");
        if kind == "correct" && !expect.sources.is_empty() {
            return Err(fail(
                &field,
                "sources",
                "a correction cannot be attributed to a source: rdfi sees that the resource was restored, \
                 not who restored it; remove sources here"
                    .to_owned(),
            ));
        }
        let mut seen = Vec::new();
        for source in &expect.sources {
            let name = source.trim().to_lowercase();
            if name.is_empty() || name.len() > MAX_NAME {
                return Err(fail(
                    &field,
                    "sources",
                    format!("each source is a name of 1 to {MAX_NAME} characters"),
                ));
            }
            if seen.contains(&name) {
                return Err(fail(
                    &field,
                    source,
                    format!("source {source:?} is named twice"),
                ));
            }
            seen.push(name);
        }
        if matches!(expect.mode, ModeFile::All) && expect.sources.is_empty() {
            return Err(fail(
                &format!("{at}.{kind}.mode"),
                "mode",
                "mode all needs the sources that must all answer".to_owned(),
            ));
        }
    }
    Ok(())
}

/// A polled detection source given on the command line (`--source '{type: folder, path: ./out, name: prowler}'`):
/// the same mapping as an entry of `observe.sources`, in YAML, checked the same way. `flag` names where it came
/// from in errors.
pub fn parse_source(
    text: &str,
    provider: &str,
    flag: &str,
) -> Result<SignalSourceSpec, ExperimentError> {
    let error = |line: usize, column: usize, message: String| ExperimentError {
        file: flag.to_owned(),
        line,
        column,
        message,
    };
    let parsed: SourceFile = serde_yaml_ng::from_str(text).map_err(|parse| {
        let (line, column) = location(&parse, text);
        error(
            line,
            column,
            format!(
                "{} (expected a mapping like {{type: folder, path: ./out, name: prowler}})",
                strip_location(&parse.to_string())
            ),
        )
    })?;
    signal_source(&parsed, provider, "source", &|field, needle, message| {
        let (line, column) = locate(text, field, needle);
        error(line, column, format!("{field}: {message}"))
    })
}

/// The source types the monitor can poll.
pub const SOURCE_TYPES: &[&str] = &["aws-securityhub", "nats", "folder"];
const DEFAULT_SOURCE_INTERVAL: Duration = Duration::from_secs(5);

/// A polled detection source of `observe.sources`, checked.
fn signal_source(
    source: &SourceFile,
    provider: &str,
    at: &str,
    fail: &impl Fn(&str, &str, String) -> ExperimentError,
) -> Result<SignalSourceSpec, ExperimentError> {
    let kind = source.kind.as_str();
    if !SOURCE_TYPES.contains(&kind) {
        return Err(fail(
            &format!("{at}.type"),
            kind,
            format!(
                "unknown source type {kind:?}, expected one of {}",
                SOURCE_TYPES.join(", ")
            ),
        ));
    }
    if kind == "aws-securityhub" && provider != "aws" {
        return Err(fail(
            &format!("{at}.type"),
            kind,
            format!("aws-securityhub observes AWS accounts, but the target is {provider:?}"),
        ));
    }
    let interval = source
        .interval
        .as_ref()
        .map(|interval| interval.0)
        .unwrap_or(DEFAULT_SOURCE_INTERVAL);
    if interval < Duration::from_millis(100) || interval > Duration::from_secs(3600) {
        return Err(fail(
            &format!("{at}.interval"),
            "interval",
            "must be from 100ms to 1h".to_owned(),
        ));
    }
    let required = |field: &str, value: &Option<String>| match value {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(fail(
            &format!("{at}.{field}"),
            kind,
            format!("a {kind} source needs {field}"),
        )),
    };
    let (subject, path) = match kind {
        "nats" => (required("subject", &source.subject)?, String::new()),
        "folder" => (String::new(), required("path", &source.path)?),
        _ => (String::new(), String::new()),
    };
    let url = match (kind, source.url.as_deref().map(str::trim)) {
        (_, None) | (_, Some("")) => String::new(),
        ("nats", Some(url)) if url.starts_with("nats://") || url.starts_with("tls://") => {
            url.to_owned()
        }
        ("nats", Some(url)) => {
            return Err(fail(
                &format!("{at}.url"),
                url,
                format!("{url:?} is not a NATS URL; write it like nats://127.0.0.1:4222"),
            ));
        }
        (_, Some(url)) => {
            return Err(fail(
                &format!("{at}.url"),
                url,
                format!("only a nats source takes a url, not a {kind} source"),
            ));
        }
    };
    if kind == "nats" && !source.fields.contains_key("resource") {
        return Err(fail(
            &format!("{at}.fields"),
            kind,
            "a nats source needs fields.resource: the JSON pointer to the resource in each message (/arn)"
                .to_owned(),
        ));
    }
    for (field, pointer) in &source.fields {
        if !SOURCE_FIELDS.contains(&field.as_str()) {
            return Err(fail(
                &format!("{at}.fields"),
                field,
                format!(
                    "unknown field {field:?}, expected one of {}",
                    SOURCE_FIELDS.join(", ")
                ),
            ));
        }
        if !pointer.starts_with('/') {
            return Err(fail(
                &format!("{at}.fields.{field}"),
                pointer,
                format!("{pointer:?} is not a JSON pointer; write it like /alert/arn"),
            ));
        }
    }
    let name = source.name.as_deref().unwrap_or(kind).trim().to_lowercase();
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(fail(
            &format!("{at}.name"),
            "name",
            format!("must be 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(SignalSourceSpec {
        r#type: kind.to_owned(),
        name,
        interval_ms: millis(interval),
        subject,
        path,
        fields: source.fields.clone().into_iter().collect(),
        url,
    })
}

/// The signal fields a nats source can map from a message.
pub const SOURCE_FIELDS: &[&str] = &[
    "resource",
    "title",
    "severity",
    "resource_type",
    "correlation_id",
    "observed_at",
];

fn millis(duration: Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX)
}

/// Whether two names are the same detection source or control: equal but for case and surrounding spaces.
pub fn same_source(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The expectations a hypothesis states; hypotheses from before typed expectations state their deadlines
/// only, and one with none at all expects detection or correction before the revert.
pub fn expectations_of(hypothesis: &Hypothesis) -> Vec<Expectation> {
    if !hypothesis.expectations.is_empty() {
        return hypothesis.expectations.clone();
    }
    let expect = |kind: ControlKind, within_ms: Option<u64>| Expectation {
        kind: kind as i32,
        within_ms,
        ..Default::default()
    };
    vec![
        expect(ControlKind::Detective, hypothesis.detect_within_ms),
        expect(ControlKind::Corrective, hypothesis.correct_within_ms),
    ]
}

/// How long a fault stays injected: its exposure window, shortened to the last hypothesis deadline, since
/// nothing observed later can change the verdict.
pub fn hold_duration(exposure_window_ms: u64, hypothesis: Option<&Hypothesis>) -> Duration {
    let last_deadline = hypothesis
        .map(|hypothesis| {
            hypothesis
                .expectations
                .iter()
                .filter_map(|expectation| expectation.within_ms)
                .chain(hypothesis.detect_within_ms)
                .chain(hypothesis.correct_within_ms)
                .max()
                .unwrap_or(0)
        })
        .filter(|deadline| *deadline > 0)
        .unwrap_or(exposure_window_ms);
    Duration::from_millis(exposure_window_ms.min(last_deadline))
}

/// Where a YAML error is, 1-based; (0, 0) when it has no place.
/// Where the parser places `error` in `source`: past the end of the file (a missing `:` at its end, say) is
/// its last line, where an editor can go.
fn location(error: &serde_yaml_ng::Error, source: &str) -> (usize, usize) {
    let last = yaml_lines(source);
    match error.location() {
        Some(location) if location.line() > last => (last, 1),
        Some(location) => (location.line(), location.column()),
        None => (0, 0),
    }
}

/// How many lines YAML sees in `source`: a line ends at LF, CRLF or a lone CR.
fn yaml_lines(source: &str) -> usize {
    source.matches('\n').count() + source.matches('\r').count() - source.matches("\r\n").count() + 1
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

    #[test]
    fn a_file_of_thousands_of_mistakes_says_the_first_hundred_with_their_place_and_counts_the_rest()
    {
        let repeated = "  - id: aws.s3.bucket-public-acl\n".repeat(5_000);
        let source = VALID.replace("faults:\n", &format!("faults:\n{repeated}"));
        let errors = parse(&source, "many.yaml").unwrap_err();
        // Every entry after the first is a duplicate, the one with maxTargets too.
        assert_eq!(errors.0.len(), 5_000);
        assert!(
            errors.0[..MAX_MISTAKES_SAID]
                .iter()
                .all(|error| error.line > 0)
        );
        assert!(
            errors.0[MAX_MISTAKES_SAID..]
                .iter()
                .all(|error| error.line == 0)
        );
        let said = errors.to_string();
        let lines: Vec<&str> = said.lines().collect();
        assert_eq!(lines.len(), MAX_MISTAKES_SAID + 1);
        assert_eq!(
            lines[0],
            "many.yaml:12:9: faults[1]: fault \"aws.s3.bucket-public-acl\" is asked for twice"
        );
        assert_eq!(
            lines[MAX_MISTAKES_SAID],
            "many.yaml: and 4900 more mistakes like these"
        );
        // At most that many: no line about more.
        let few = VALID.replace("faults:\n", "faults:\n  - id: aws.s3.bucket-public-acl\n");
        assert_eq!(
            parse(&few, "few.yaml")
                .unwrap_err()
                .to_string()
                .lines()
                .count(),
            1
        );
    }

    #[test]
    fn a_mistake_at_the_end_of_the_file_is_placed_on_its_last_line() {
        // No newline at the end: the parser places the missing ':' past the last line.
        for (source, lines) in [
            ("apiVersion: rdfi/v1\nkind: Experiment\nmetadata", 3),
            ("apiVersion: rdfi/v1\r\nkind: Experiment\rmetadata", 3),
        ] {
            let error = parse_document(source, "end.yaml").unwrap_err().0.remove(0);
            assert!(error.line >= 1 && error.line <= lines, "{error}");
        }
        assert_eq!(yaml_lines("a\r\nb\rc\nd"), 4);
        assert_eq!(yaml_lines(""), 1);
    }

    fn error_for(source: &str) -> ExperimentError {
        parse(source, "bad.yaml").unwrap_err().0.remove(0)
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
            error.message.contains("exactly one of id, glob or intent"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_duration_is_named_with_its_line() {
        let error = error_for(&VALID.replace("within: 30s", "within: soon"));
        assert_eq!(error.line, 14, "{error}");
        assert_eq!(
            error.message,
            "hypothesis.detect.within: \"soon\" is not a duration; write a number and a unit, like 500ms, \
             30s, 2m or 1h 30m"
        );
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
    fn a_missing_hypothesis_takes_the_catalogues_expected_controls_cut_to_the_window() {
        let spec = parse(
            &VALID.replace(
                "hypothesis:\n  detect: { within: 30s }\n  correct: { within: 2m }\n",
                "",
            ),
            "x.yaml",
        )
        .unwrap();
        assert_eq!(spec.hypothesis, None);
        let hypothesis = spec.faults[0].hypothesis.clone().unwrap();
        let kinds: Vec<_> = hypothesis
            .expectations
            .iter()
            .map(|expectation| (expectation.kind(), expectation.within_ms))
            .collect();
        assert_eq!(
            kinds,
            [
                (ControlKind::Preventive, None),
                (ControlKind::Detective, Some(300_000)),
                (ControlKind::Corrective, Some(300_000)),
            ],
            "the catalogue's 15 minutes to correct are cut to the 5 minute window"
        );
        assert_eq!(hypothesis.detect_within_ms, Some(300_000));
        assert_eq!(hypothesis.settle_ms, 1_000);
    }

    #[test]
    fn typed_expectations_with_sources_and_a_fault_of_its_own() {
        let spec = parse(
            &VALID
                .replace(
                    "  detect: { within: 30s }\n",
                    "  prevent: {}\n  detect: { within: 30s, sources: [Prowler, guardduty], mode: all }\n",
                )
                .replace(
                    "    maxTargets: 2\n",
                    "    maxTargets: 2\n  - id: aws.iam.user-admin-policy-attached\n    hypothesis:\n      detect: { within: 10s }\n",
                )
                .replace("safety:\n", "observe:\n  settle: 3s\nsafety:\n"),
            "x.yaml",
        )
        .unwrap();
        let bucket = spec.faults[0].hypothesis.clone().unwrap();
        assert_eq!(bucket.expectations.len(), 3);
        assert_eq!(bucket.expectations[0].kind(), ControlKind::Preventive);
        let detect = &bucket.expectations[1];
        assert_eq!(detect.sources, ["prowler", "guardduty"]);
        assert_eq!(detect.mode(), SourceMode::All);
        assert_eq!(bucket.settle_ms, 3_000);
        let user = spec.faults[1].hypothesis.clone().unwrap();
        assert_eq!(
            user.expectations
                .iter()
                .map(|expectation| (expectation.kind(), expectation.within_ms))
                .collect::<Vec<_>>(),
            [
                (ControlKind::Preventive, None),
                (ControlKind::Detective, Some(10_000)),
                (ControlKind::Corrective, Some(120_000)),
            ],
            "the fault's detect replaces the experiment's; the other kinds are the experiment's"
        );
        assert!(user.expectations[1].sources.is_empty());
    }

    #[test]
    fn expectations_that_cannot_be_judged_are_refused_with_their_place() {
        let error = error_for(&VALID.replace(
            "correct: { within: 2m }",
            "correct: { within: 2m, sources: [custodian] }",
        ));
        assert!(
            error.message.starts_with("hypothesis.correct.sources"),
            "{error}"
        );
        assert_eq!(error.line, 15, "{error}");
        let error = error_for(&VALID.replace("within: 30s", "within: 30s, mode: all"));
        assert!(
            error.message.starts_with("hypothesis.detect.mode"),
            "{error}"
        );
        let error =
            error_for(&VALID.replace("within: 30s", "within: 30s, sources: [prowler, Prowler]"));
        assert!(error.message.contains("named twice"), "{error}");
        let error = error_for(&VALID.replace(
            "    maxTargets: 2\n",
            "    maxTargets: 2\n    hypothesis: { detect: { within: 10m } }\n",
        ));
        assert!(
            error
                .message
                .starts_with("faults[0].hypothesis.detect.within"),
            "{error}"
        );
        assert_eq!(error.line, 13, "{error}");
    }

    #[test]
    fn polled_sources_are_checked() {
        let with = |sources: &str| {
            VALID.replace(
                "safety:\n",
                &format!("observe:\n  sources:\n{sources}safety:\n"),
            )
        };
        let spec = parse(
            &with("    - { type: aws-securityhub, interval: 2s }\n    - { type: nats, subject: alerts.s3, name: Pager, fields: { resource: /arn } }\n    - { type: folder, path: /tmp/scans }\n"),
            "x.yaml",
        )
        .unwrap();
        let names: Vec<_> = spec
            .sources
            .iter()
            .map(|source| {
                (
                    source.r#type.as_str(),
                    source.name.as_str(),
                    source.interval_ms,
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("aws-securityhub", "aws-securityhub", 2_000),
                ("nats", "pager", 5_000),
                ("folder", "folder", 5_000)
            ]
        );
        assert_eq!(spec.sources[1].subject, "alerts.s3");
        assert_eq!(spec.sources[2].path, "/tmp/scans");
        for (sources, expected) in [
            (
                "    - { type: splunk }\n",
                "observe.sources[0].type: unknown source type",
            ),
            (
                "    - { type: nats, fields: { resource: /arn } }\n",
                "observe.sources[0].subject: a nats source needs subject",
            ),
            (
                "    - { type: nats, subject: a }\n",
                "observe.sources[0].fields: a nats source needs fields.resource",
            ),
            (
                "    - { type: nats, subject: a, fields: { resource: arn } }\n",
                "observe.sources[0].fields.resource",
            ),
            ("    - { type: folder }\n", "observe.sources[0].path"),
            (
                "    - { type: folder, path: x, interval: 1ms }\n",
                "observe.sources[0].interval",
            ),
        ] {
            let error = error_for(&with(sources));
            assert!(error.message.starts_with(expected), "{error}");
            assert!(error.line >= 17, "{error}");
        }
        let error = error_for(
            &with("    - { type: aws-securityhub }\n").replace("provider: aws", "provider: gcp"),
        );
        assert!(error.message.contains("observes AWS accounts"), "{error}");
    }

    #[test]
    fn a_command_line_source_is_checked_like_an_observed_one() {
        let nats = parse_source(
            "{type: nats, subject: alerts, url: nats://10.0.0.5:4222, fields: {resource: /arn}}",
            "aws",
            "--source #1",
        )
        .unwrap();
        assert_eq!(
            (nats.name.as_str(), nats.url.as_str(), nats.subject.as_str()),
            ("nats", "nats://10.0.0.5:4222", "alerts")
        );
        for (text, provider, expected) in [
            (
                "{type: splunk}",
                "aws",
                "--source #1:1:8: source.type: unknown source type",
            ),
            (
                "{type: aws-securityhub}",
                "gcp",
                "--source #1:1:8: source.type: aws-securityhub observes",
            ),
            (
                "{type: folder, path: x, url: nats://a:1}",
                "aws",
                "--source #1:1:30: source.url: only a nats source",
            ),
            (
                "{type: nats, subject: a, url: http://a, fields: {resource: /r}}",
                "aws",
                "source.url: \"http://a\" is not a NATS URL",
            ),
            (
                "{type: folder, path: x, colour: red}",
                "aws",
                "--source #1:1:25: unknown field `colour`",
            ),
            ("folder", "aws", "expected a mapping like {type: folder"),
        ] {
            let error = parse_source(text, provider, "--source #1")
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn hold_is_the_exposure_window_cut_to_the_last_deadline() {
        let hypothesis = Hypothesis {
            detect_within_ms: Some(1_000),
            correct_within_ms: Some(3_000),
            ..Default::default()
        };
        let typed = Hypothesis {
            expectations: vec![Expectation {
                kind: ControlKind::Detective as i32,
                within_ms: Some(4_000),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            hold_duration(10_000, Some(&typed)),
            Duration::from_millis(4_000)
        );
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
