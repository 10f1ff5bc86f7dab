//! Which policy explicitly denies an action: the part of IAM policy evaluation that attributing a refusal
//! needs, pure.
//!
//! A statement applies to a request when its `Action` (or `NotAction`) matches the action, case-insensitively,
//! with `*` and `?` wildcards, and its `Resource` (or `NotResource`) matches the resource's ARN. A statement
//! with a `Condition` is never taken as the one that refused: rdfi does not know the request's context keys,
//! so it cannot tell whether the condition held, and a verdict must not name a control that may not have acted.
//! A resource policy's statement applies only when its `Principal` names everyone, the caller or its account.

use serde_json::Value;

use crate::refusal::{ControlType, NamedControl};

/// A policy rdfi read, with where it is attached.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub name: String,
    /// `user rdfi`, `group admins`, `role r`, `bucket logs`.
    pub location: String,
    pub control_type: ControlType,
    pub document: Value,
}

/// The request being attributed.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `s3:PutBucketAcl`.
    pub action: &'a str,
    /// The resource's ARN.
    pub resource: &'a str,
    /// The caller's ARN, for resource policies' principals.
    pub caller: &'a str,
}

/// The control an explicit Deny in one of `policies` is, or, when none denies, the permissions boundary that
/// does not allow the request; `None` when nothing rdfi read refused it (rdfi's own missing permission, or a
/// control it cannot read).
pub fn refusing_control(
    policies: &[Policy],
    boundary: Option<&Policy>,
    request: Request<'_>,
) -> Option<NamedControl> {
    let named = |policy: &Policy, control_type| NamedControl {
        name: policy.name.clone(),
        location: policy.location.clone(),
        control_type,
    };
    policies
        .iter()
        .chain(boundary)
        .find(|policy| {
            statements(&policy.document)
                .any(|statement| effect(statement, "Deny") && applies(statement, policy, request))
        })
        .map(|policy| named(policy, policy.control_type))
        .or_else(|| {
            boundary
                .filter(|boundary| {
                    !statements(&boundary.document).any(|statement| {
                        effect(statement, "Allow") && applies(statement, boundary, request)
                    })
                })
                .map(|boundary| named(boundary, ControlType::PermissionsBoundary))
        })
}

fn statements(document: &Value) -> impl Iterator<Item = &Value> {
    let statement = document.get("Statement");
    let list: Vec<&Value> = match statement {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    list.into_iter()
}

fn effect(statement: &Value, wanted: &str) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some(wanted)
}

fn applies(statement: &Value, policy: &Policy, request: Request<'_>) -> bool {
    if statement.get("Condition").is_some() {
        return false;
    }
    let action = matches_field(statement, "Action", "NotAction", |pattern| {
        glob(&pattern.to_lowercase(), &request.action.to_lowercase())
    });
    let resource = matches_field(statement, "Resource", "NotResource", |pattern| {
        glob(pattern, request.resource)
    });
    let principal = policy.control_type != ControlType::ResourcePolicy
        || names_caller(statement, request.caller);
    action && resource && principal
}

/// Whether `field` matches (or `not_field` does not); a statement with neither matches everything.
fn matches_field(
    statement: &Value,
    field: &str,
    not_field: &str,
    matches: impl Fn(&str) -> bool,
) -> bool {
    if let Some(patterns) = statement.get(field) {
        strings(patterns).any(&matches)
    } else if let Some(patterns) = statement.get(not_field) {
        !strings(patterns).any(&matches)
    } else {
        true
    }
}

fn strings(value: &Value) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match value {
        Value::String(single) => vec![single.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

/// A resource policy's principal: everyone, the caller, or the caller's account.
fn names_caller(statement: &Value, caller: &str) -> bool {
    let account = caller.split(':').nth(4).unwrap_or_default();
    let names = |principal: &str| {
        principal == "*"
            || principal == caller
            || (!account.is_empty()
                && (principal == account || principal == format!("arn:aws:iam::{account}:root")))
    };
    match statement.get("Principal") {
        Some(Value::String(principal)) => names(principal),
        Some(Value::Object(principals)) => principals
            .get("AWS")
            .is_some_and(|aws| strings(aws).any(names)),
        _ => false,
    }
}

/// `*` matches any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(at) = star {
            p = at + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests;
