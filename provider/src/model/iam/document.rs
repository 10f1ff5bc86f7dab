//! Reading and editing IAM policy documents: statements, actions, principals.

use serde_json::Value;

/// The `Statement` entries of a policy document: its array, or its single statement object.
pub fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    }
}

/// The strings of a policy field that is a string or an array of strings (`Action`, `Principal.AWS`).
pub(super) fn string_values(field: Option<&Value>) -> Vec<&str> {
    match field {
        Some(Value::String(value)) => vec![value.as_str()],
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a statement allows `action` (`kms:Decrypt`), directly, through its service's wildcard
/// (`kms:*`) or through `*`.
pub fn allows_action(statement: &Value, action: &str) -> bool {
    let service_wildcard = action
        .split_once(':')
        .map(|(service, _)| format!("{service}:*"))
        .unwrap_or_default();
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
        && string_values(statement.get("Action"))
            .into_iter()
            .any(|granted| {
                granted == "*"
                    || granted.eq_ignore_ascii_case(action)
                    || granted.eq_ignore_ascii_case(&service_wildcard)
            })
}

/// Whether a statement's `Principal` names `principal` among its AWS principals; `*` also matches the
/// bare `"Principal": "*"`.
pub fn names_principal(statement: &Value, principal: &str) -> bool {
    match statement.get("Principal") {
        Some(Value::String(everyone)) => everyone == "*" && principal == "*",
        Some(Value::Object(principals)) => {
            string_values(principals.get("AWS")).contains(&principal)
        }
        _ => false,
    }
}

/// Whether a statement lets anyone at all perform `action`, with no condition narrowing it.
pub fn allows_everyone(statement: &Value, action: &str) -> bool {
    allows_action(statement, action)
        && names_principal(statement, "*")
        && statement.get("Condition").is_none()
}

/// The document with `statement` appended to its statements.
pub fn with_statement(document: &Value, statement: Value) -> Value {
    let mut statements: Vec<Value> = statements(document).into_iter().cloned().collect();
    statements.push(statement);
    let mut document = document.clone();
    document["Statement"] = Value::Array(statements);
    document
}

/// The document without the statements `unwanted` picks.
pub fn without_statements(document: &Value, unwanted: impl Fn(&Value) -> bool) -> Value {
    let kept: Vec<Value> = statements(document)
        .into_iter()
        .filter(|statement| !unwanted(statement))
        .cloned()
        .collect();
    let mut document = document.clone();
    document["Statement"] = Value::Array(kept);
    document
}
