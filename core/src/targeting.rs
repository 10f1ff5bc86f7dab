//! Which resources an experiment may touch: opted in by a tag (or label), matching the selector, and not
//! protected. Discovery (monitor) and the executor's guard use the same rules.

use std::collections::HashMap;

/// The tag (label) that protects a resource from every fault, even when it is opted in.
pub const PROTECTED_TAG: &str = "rdfi-protected";

/// Why a resource may not be touched, or `None` when it may.
pub fn refusal(
    tags: &HashMap<String, String>,
    opt_in_tag: &str,
    selector: &HashMap<String, String>,
) -> Option<String> {
    if tags.get(PROTECTED_TAG).is_some_and(|value| value == "true") {
        return Some(format!("the resource is protected ({PROTECTED_TAG}=true)"));
    }
    if tags.get(opt_in_tag).is_none_or(|value| value != "true") {
        return Some(format!(
            "the resource is not opted in ({opt_in_tag}=true is missing)"
        ));
    }
    selector
        .iter()
        .find(|(key, value)| tags.get(*key) != Some(*value))
        .map(|(key, value)| format!("the resource does not match the selector {key}={value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn only_opted_in_unprotected_matching_resources_pass() {
        let selector = tags(&[("team", "data")]);
        assert_eq!(
            refusal(
                &tags(&[("rdfi-target", "true"), ("team", "data")]),
                "rdfi-target",
                &selector
            ),
            None
        );
        assert!(refusal(&tags(&[("team", "data")]), "rdfi-target", &selector).is_some());
        assert!(
            refusal(
                &tags(&[("rdfi-target", "false"), ("team", "data")]),
                "rdfi-target",
                &selector
            )
            .is_some()
        );
        assert!(
            refusal(
                &tags(&[("rdfi-target", "true"), ("team", "web")]),
                "rdfi-target",
                &selector
            )
            .is_some()
        );
        let protected = tags(&[
            ("rdfi-target", "true"),
            ("team", "data"),
            ("rdfi-protected", "true"),
        ]);
        assert!(
            refusal(&protected, "rdfi-target", &selector)
                .unwrap()
                .contains("protected")
        );
        assert!(
            refusal(
                &tags(&[("owner", "x"), ("rdfi-target", "true")]),
                "owner-tag",
                &HashMap::new()
            )
            .is_some()
        );
    }
}
