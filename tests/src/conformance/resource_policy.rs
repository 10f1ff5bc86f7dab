//! What the policy cases share: policy documents as the suite reads them (statements sorted), whether one
//! lets everyone do something, and the statement a person adds while a fault is on. Written apart from rdfi's
//! own policy code, so that the suite judges with eyes of its own.

use serde_json::{Value, json};

/// A policy document as the service answered it, with its statements sorted by their JSON, so that two reads
/// of the same policy compare equal whatever order the service keeps; `null` for no policy.
pub fn sorted_policy(text: Option<&str>) -> Value {
    let Some(text) = text.filter(|text| !text.is_empty()) else {
        return Value::Null;
    };
    let mut policy: Value = serde_json::from_str(text).expect("a JSON policy");
    if let Some(statements) = policy.get_mut("Statement") {
        let mut list = match statements.take() {
            Value::Array(list) => list,
            single => vec![single],
        };
        list.sort_by_cached_key(Value::to_string);
        *statements = Value::Array(list);
    }
    policy
}

/// The policy's statements, none for no policy.
pub fn statements(policy: &Value) -> Vec<&Value> {
    policy["Statement"]
        .as_array()
        .map(|statements| statements.iter().collect())
        .unwrap_or_default()
}

/// Whether some unconditioned Allow statement lets everyone (`*`) perform one of `actions` (directly, through
/// its service's `prefix:*`, or through `*`).
pub fn lets_everyone(policy: &Value, actions: &[&str]) -> bool {
    statements(policy).into_iter().any(|statement| {
        let principal = &statement["Principal"];
        let everyone = principal == "*"
            || principal["AWS"] == "*"
            || principal["AWS"]
                .as_array()
                .is_some_and(|principals| principals.contains(&json!("*")));
        let granted: Vec<String> = match &statement["Action"] {
            Value::Array(granted) => granted
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_lowercase)
                .collect(),
            Value::String(granted) => vec![granted.to_lowercase()],
            _ => Vec::new(),
        };
        let covers = |action: &str| {
            let action = action.to_lowercase();
            let service = format!("{}:*", action.split(':').next().unwrap_or_default());
            granted
                .iter()
                .any(|granted| *granted == action || *granted == service || granted == "*")
        };
        statement["Effect"] == "Allow"
            && everyone
            && statement.get("Condition").is_none()
            && actions.iter().any(|action| covers(action))
    })
}

/// The statement a person adds while the fault is on: a partner role of another account allowed `action`.
pub fn partner_statement(action: &str, resource: Option<&str>) -> Value {
    let mut statement = json!({
        "Sid": "PartnerAddedMeanwhile",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:role/partner"},
        "Action": action,
    });
    if let Some(resource) = resource {
        statement["Resource"] = json!(resource);
    }
    statement
}

/// `policy` (a document, or `null` for none) with `statement` added.
pub fn with_statement(policy: &Value, statement: Value) -> Value {
    let mut policy = if policy.is_null() {
        json!({"Version": "2012-10-17", "Statement": []})
    } else {
        policy.clone()
    };
    match policy["Statement"].as_array_mut() {
        Some(statements) => statements.push(statement),
        None => policy["Statement"] = json!([statement]),
    }
    policy
}

/// Whether the policy still holds the partner statement [`partner_statement`] made.
pub fn keeps_partner(policy: &Value) -> bool {
    statements(policy)
        .into_iter()
        .any(|statement| statement["Sid"] == "PartnerAddedMeanwhile")
}

/// The model's example policy for a resource of the suite's own: every mention of the example's ARN replaced
/// by the real one.
pub fn example_for(example: &Value, example_arn: &str, arn: &str) -> String {
    example.to_string().replace(example_arn, arn)
}
