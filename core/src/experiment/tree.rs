//! The shape of a file before it is parsed: its size and nesting depth, measured in one linear pass so that
//! a hostile file is refused at once (a YAML parser's time can grow with the square of the nesting depth),
//! and its top-level fields, all reported together.

use serde_yaml_ng::Value;

use super::{ExperimentError, ExperimentErrors, KINDS, location, plain, strip_location};

/// The largest file (or gRPC submission) rdfi parses.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// [`MAX_DOCUMENT_BYTES`] as people say it.
pub const MAX_DOCUMENT_SIZE: &str = "256 KiB";
/// The deepest nesting of mappings and lists rdfi parses; a real experiment nests about 6 deep.
pub const MAX_DEPTH: usize = 64;

/// Refuses a file larger than [`MAX_DOCUMENT_BYTES`] or nested deeper than [`MAX_DEPTH`]: the line (0 for
/// the size) and what is wrong. Over-counts rather than under-counts: indentation inside a block scalar
/// counts as nesting.
pub(super) fn check(source: &str) -> Result<(), (usize, String)> {
    if source.len() > MAX_DOCUMENT_BYTES {
        return Err((
            0,
            format!(
                "the file is {} bytes; rdfi reads files of at most {MAX_DOCUMENT_BYTES} bytes ({MAX_DOCUMENT_SIZE})",
                source.len()
            ),
        ));
    }
    // The indentations of the open block levels, and the open flow brackets.
    let mut blocks: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for (index, line) in source.lines().enumerate() {
        let mut indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let mut rest = &line[indent..];
        if flow == 0 && !(rest.is_empty() || rest.starts_with('#')) {
            while blocks.last().is_some_and(|&open| open >= indent) {
                blocks.pop();
            }
            blocks.push(indent);
            // `- - - x`: each dash opens a list inside the one before.
            while let Some(after) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
                indent += 2;
                blocks.push(indent);
                let trimmed = after.trim_start_matches(' ');
                indent += after.len() - trimmed.len();
                rest = trimmed;
            }
        }
        let deepest;
        (flow, deepest) = flow_depth(rest, flow);
        if blocks.len() + deepest > MAX_DEPTH {
            return Err((
                index + 1,
                format!(
                    "nested more than {MAX_DEPTH} levels deep; rdfi reads files nested at most that deep"
                ),
            ));
        }
    }
    Ok(())
}

/// The open flow brackets (`[`, `{`) after `line`, outside quotes and comments, from `open` before it, and
/// the most open anywhere in it.
fn flow_depth(line: &str, mut open: usize) -> (usize, usize) {
    let mut deepest = open;
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for character in line.chars() {
        match (quote, character) {
            (Some('"'), '"') if previous != '\\' => quote = None,
            (Some('\''), '\'') => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(character),
            (None, '#') if previous == ' ' || previous == '\t' => break,
            (None, '[' | '{') => {
                open += 1;
                deepest = deepest.max(open);
            }
            (None, ']' | '}') => open = open.saturating_sub(1),
            _ => {}
        }
        previous = character;
    }
    (open, deepest)
}

/// The fields each kind of file may have at its top, the required ones first.
fn fields(kind: Option<&str>) -> (&'static [&'static str], &'static [&'static str]) {
    const EXPERIMENT: &[&str] = &[
        "apiVersion",
        "kind",
        "metadata",
        "target",
        "faults",
        "hypothesis",
        "observe",
        "safety",
    ];
    const CAMPAIGN: &[&str] = &[
        "apiVersion",
        "kind",
        "metadata",
        "target",
        "strategy",
        "seed",
        "budget",
        "schedule",
        "duration",
        "coolDown",
        "faults",
        "hypothesis",
        "observe",
        "safety",
    ];
    match kind {
        Some("Campaign") => (&CAMPAIGN[..4], CAMPAIGN),
        _ => (&EXPERIMENT[..5], EXPERIMENT),
    }
}

/// The file's kind, once its top level is a mapping with every required field, no unknown one, and a known
/// `kind`; else every problem with its top level.
pub(super) fn header(source: &str, file: &str) -> Result<String, ExperimentErrors> {
    let error = |line: usize, column: usize, message: String| ExperimentError {
        file: file.to_owned(),
        line,
        column,
        message,
    };
    let value: Value = serde_yaml_ng::from_str(source).map_err(|parse| {
        let (line, column) = location(&parse, source);
        error(line, column, plain(&strip_location(&parse.to_string())))
    })?;
    let mapping = match value {
        Value::Mapping(mapping) => mapping,
        Value::Null => Default::default(),
        _ => {
            return Err(error(
                1,
                1,
                "the file must be a mapping of fields (apiVersion: rdfi/v1, kind: Experiment, ...)"
                    .to_owned(),
            )
            .into());
        }
    };
    let kind = mapping.get("kind").and_then(Value::as_str);
    let (required, known) = fields(kind);
    let mut errors = Vec::new();
    for field in required {
        if !mapping.contains_key(*field) {
            let hint = match *field {
                "apiVersion" => " (write apiVersion: rdfi/v1)",
                "kind" => " (write kind: Experiment or kind: Campaign)",
                "metadata" => " (write metadata: {name: ...})",
                "target" => " (write target: {provider: aws, gcp or sandbox})",
                _ => " (the faults to inject; see `rdfi catalog`)",
            };
            errors.push(error(0, 0, format!("missing field {field}{hint}")));
        }
    }
    // The line of each top-level key, found in one pass (a file of 50,000 unknown keys is answered in
    // linear time).
    let mut top_level: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (index, line) in source.lines().enumerate() {
        if let Some((key, _)) = line.split_once(':') {
            top_level.entry(key).or_insert(index + 1);
        }
    }
    for key in mapping.keys() {
        let Some(key) = key.as_str() else {
            errors.push(error(0, 0, "every top-level key must be a word".to_owned()));
            continue;
        };
        if !known.contains(&key) {
            let line = top_level.get(key).copied().unwrap_or(0);
            errors.push(error(
                line,
                usize::from(line > 0),
                format!(
                    "unknown field {key:?}; expected one of {}",
                    known.join(", ")
                ),
            ));
        }
    }
    match (kind, mapping.get("kind")) {
        (Some(kind), _) if KINDS.contains(&kind) => {}
        (_, None) => {}
        (_, Some(other)) => {
            let shown = other
                .as_str()
                .map_or_else(|| format!("{other:?}"), |text| format!("{text:?}"));
            let line = source
                .lines()
                .position(|line| line.starts_with("kind:"))
                .map_or(0, |index| index + 1);
            errors.push(error(
                line,
                usize::from(line > 0) * 7,
                format!("kind: unsupported {shown}, expected \"Experiment\" or \"Campaign\""),
            ));
        }
    }
    errors.sort_by_key(|error| (error.line, error.column));
    match errors.is_empty() {
        true => Ok(kind.unwrap_or_default().to_owned()),
        false => Err(ExperimentErrors(errors)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::parse_document;
    use super::*;

    fn messages(source: &str) -> Vec<String> {
        parse_document(source, "f.yaml")
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn an_empty_file_says_everything_it_lacks() {
        let errors = messages("");
        assert_eq!(errors.len(), 5, "{errors:?}");
        for field in ["apiVersion", "kind", "metadata", "target", "faults"] {
            assert!(
                errors
                    .iter()
                    .any(|error| error.starts_with(&format!("f.yaml: missing field {field}"))),
                "{field}: {errors:?}"
            );
        }
        assert_eq!(
            messages("- a list")[0],
            "f.yaml:1:1: the file must be a mapping of fields (apiVersion: rdfi/v1, kind: Experiment, ...)"
        );
    }

    #[test]
    fn unknown_top_level_fields_and_kinds_are_all_named() {
        let errors = messages(
            "apiVersion: rdfi/v1\nkind: Experimnt\nmetadata: {name: x}\ntarget: {provider: aws}\nfaults: []\ntargets: x\n",
        );
        assert_eq!(
            errors,
            [
                "f.yaml:2:7: kind: unsupported \"Experimnt\", expected \"Experiment\" or \"Campaign\"",
                "f.yaml:6:1: unknown field \"targets\"; expected one of apiVersion, kind, metadata, target, faults, hypothesis, observe, safety",
            ]
        );
    }

    #[test]
    fn wrong_types_are_said_in_a_users_words() {
        let errors = messages(
            "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {name: x}\ntarget: {provider: aws}\nfaults:\n  - id: aws.s3.bucket-public-acl\n    maxTargets: two\n",
        );
        assert_eq!(
            errors,
            [
                "f.yaml:7:17: faults[0].maxTargets: found the text \"two\", expected a whole number (0 or more)"
            ]
        );
        let errors = messages(
            "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {name: x}\ntarget: {provider: aws}\nfaults:\n  - id: aws.s3.bucket-public-acl\n    maxTargets: -3\n",
        );
        assert!(
            errors[0].contains("found the number -3, expected a whole number"),
            "{errors:?}"
        );
        let errors = messages(
            "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {name: x}\ntarget: {provider: aws}\nfaults:\n  - id: aws.s3.bucket-public-acl\nsafety: {exposureWindow: -10s}\n",
        );
        assert!(errors[0].ends_with("safety.exposureWindow: \"-10s\" is not a duration; write a number and a unit, like 500ms, 30s, 2m or 1h 30m"), "{errors:?}");
    }

    /// Parsing 200 KB nested 100,000 deep took 45 s before the depth was checked first.
    #[test]
    fn hostile_files_are_refused_at_once() {
        let started = Instant::now();
        let flow = format!(
            "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let errors = messages(&flow);
        assert!(
            errors[0].contains("nested more than 64 levels deep"),
            "{:?}",
            &errors[0][..200.min(errors[0].len())]
        );
        let mut block = String::from("apiVersion: rdfi/v1\nkind: Experiment\nmetadata:\n");
        for depth in 1..200 {
            block.push_str(&format!("{}k{depth}:\n", "  ".repeat(depth)));
        }
        assert!(messages(&block)[0].contains("nested more than 64 levels deep"));
        let dashes = format!("faults:\n{}x\n", "- ".repeat(5_000));
        assert!(messages(&dashes)[0].starts_with("f.yaml:2:1: nested more than 64"));
        let large = format!(
            "apiVersion: rdfi/v1\n# {}\n",
            "x".repeat(MAX_DOCUMENT_BYTES)
        );
        assert!(messages(&large)[0].contains("rdfi reads files of at most 262144 bytes (256 KiB)"));
        // Aliases that would expand to billions of nodes.
        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            laughs.push_str(&format!(
                "a{level}: &a{level} [{}]\n",
                [previous.as_str(); 10].join(", ")
            ));
        }
        assert!(!messages(&laughs).is_empty());
        // Not a timing assertion: a generous bound that only a quadratic parse or an expansion would break.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_schema_knows_the_fields_the_parser_knows() {
        let schema: serde_json::Value = serde_json::from_str(super::super::SCHEMA).unwrap();
        for (kind, definition) in [("Experiment", "experiment"), ("Campaign", "campaign")] {
            let (required, known) = fields(Some(kind));
            let properties: Vec<&str> = schema["$defs"][definition]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut sorted = known.to_vec();
            sorted.sort_unstable();
            let mut properties = properties;
            properties.sort_unstable();
            assert_eq!(properties, sorted, "{kind}");
            let listed: Vec<&str> = schema["$defs"][definition]["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|field| field.as_str().unwrap())
                .collect();
            assert_eq!(listed, required, "{kind}");
        }
        let strategies = &schema["$defs"]["campaign"]["properties"]["strategy"]["enum"];
        assert_eq!(strategies, &serde_json::json!(super::super::STRATEGIES));
        let providers = &schema["$defs"]["target"]["properties"]["provider"]["enum"];
        assert_eq!(providers, &serde_json::json!(super::super::PROVIDERS));
    }

    #[test]
    fn ordinary_nesting_quotes_and_comments_pass_the_shape_check() {
        let source = "a:\n  - b: {c: [1, 2, \"[[[\"], d: '{{'}  # [[[[\n    e:\n      - - f\n";
        assert_eq!(check(source), Ok(()));
    }
}

/// No input panics the parser: arbitrary text, and valid files cut, spliced and repeated at random.
#[cfg(test)]
mod no_panic {
    use proptest::prelude::*;

    use super::super::parse_document;

    const SEEDS: [&str; 2] = [
        include_str!("../../../examples/campaigns/sandbox.yaml"),
        include_str!("../../../docs/examples/nightly-storage.yaml"),
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn arbitrary_text(text in "\\PC{0,400}") {
            let _ = parse_document(&text, "fuzz.yaml");
        }

        #[test]
        fn valid_files_mangled(
            seed in 0..SEEDS.len(),
            cut in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            insert in "[\\[\\]{}:,\\-#&*!|>'\" a-z0-9\n]{0,40}",
            repeat in 1usize..4,
        ) {
            let source = SEEDS[seed];
            let boundaries: Vec<usize> = (0..=source.len()).filter(|&i| source.is_char_boundary(i)).collect();
            let cut = boundaries[cut.index(boundaries.len())];
            let at = boundaries[at.index(boundaries.len())];
            let (start, end) = (cut.min(at), cut.max(at));
            let mangled = format!("{}{}{}", &source[..start], insert.repeat(repeat), &source[end..]);
            let _ = parse_document(&mangled, "fuzz.yaml");
        }
    }
}
