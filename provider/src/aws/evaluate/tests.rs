use proptest::prelude::*;
use serde_json::json;

use super::*;

const CALLER: &str = "arn:aws:iam::123456789012:user/rdfi";

fn policy(name: &str, control_type: ControlType, document: Value) -> Policy {
    Policy {
        name: name.to_owned(),
        location: "user rdfi".to_owned(),
        control_type,
        document,
    }
}

fn request<'a>(action: &'a str, resource: &'a str) -> Request<'a> {
    Request {
        action,
        resource,
        caller: CALLER,
    }
}

fn allow_all() -> Policy {
    policy(
        "allow-all",
        ControlType::IdentityPolicy,
        json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
    )
}

#[test]
fn the_policy_with_the_explicit_deny_is_named_with_where_it_is_attached() {
    let guardrails = policy(
        "rdfi-with-guardrails",
        ControlType::IdentityPolicy,
        json!({"Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["s3:PutBucketAcl", "iam:AttachUserPolicy"], "Resource": "*"}]}),
    );
    let control = refusing_control(
        &[allow_all(), guardrails],
        None,
        request("s3:PutBucketAcl", "arn:aws:s3:::b"),
    )
    .expect("denied");
    assert_eq!(control.name, "rdfi-with-guardrails");
    assert_eq!(control.location, "user rdfi");
    assert_eq!(control.control_type, ControlType::IdentityPolicy);
}

#[test]
fn wildcards_and_not_action_and_not_resource_match_as_iam_does() {
    let deny = |statement: Value| {
        refusing_control(
            &[policy(
                "p",
                ControlType::IdentityPolicy,
                json!({"Statement": statement}),
            )],
            None,
            request("s3:PutBucketAcl", "arn:aws:s3:::logs-prod"),
        )
        .is_some()
    };
    assert!(deny(
        json!({"Effect": "Deny", "Action": "s3:Put*", "Resource": "arn:aws:s3:::logs-*"})
    ));
    assert!(deny(
        json!({"Effect": "Deny", "Action": "S3:PUTBUCKETACL", "Resource": "*"})
    ));
    assert!(deny(
        json!({"Effect": "Deny", "Action": "s3:PutBucket???", "Resource": "*"})
    ));
    assert!(!deny(
        json!({"Effect": "Deny", "Action": "s3:Get*", "Resource": "*"})
    ));
    assert!(!deny(
        json!({"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::other"})
    ));
    assert!(deny(
        json!({"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"})
    ));
    assert!(!deny(
        json!({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"})
    ));
    assert!(!deny(
        json!({"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::logs-*"})
    ));
    assert!(!deny(
        json!({"Effect": "Allow", "Action": "*", "Resource": "*"})
    ));
}

#[test]
fn a_conditional_deny_is_never_named_as_the_control_that_refused() {
    let conditional = policy(
        "deny-outside-vpn",
        ControlType::IdentityPolicy,
        json!({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}}),
    );
    assert_eq!(
        refusing_control(
            &[conditional],
            None,
            request("s3:PutBucketAcl", "arn:aws:s3:::b")
        ),
        None
    );
}

#[test]
fn a_boundary_that_does_not_allow_the_action_is_the_control() {
    let boundary = Policy {
        control_type: ControlType::PermissionsBoundary,
        ..policy(
            "read-only-boundary",
            ControlType::PermissionsBoundary,
            json!({"Statement": {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}}),
        )
    };
    let control = refusing_control(
        &[allow_all()],
        Some(&boundary),
        request("s3:PutBucketAcl", "arn:aws:s3:::b"),
    )
    .expect("the boundary");
    assert_eq!(control.control_type, ControlType::PermissionsBoundary);
    assert_eq!(control.name, "read-only-boundary");
    assert_eq!(
        refusing_control(
            &[allow_all()],
            Some(&boundary),
            request("s3:GetBucketAcl", "arn:aws:s3:::b")
        ),
        None,
        "a boundary that allows the action refused nothing"
    );
}

#[test]
fn a_missing_allow_is_no_control() {
    let reads = policy(
        "reads",
        ControlType::IdentityPolicy,
        json!({"Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}}),
    );
    assert_eq!(
        refusing_control(&[reads], None, request("s3:PutBucketAcl", "arn:aws:s3:::b")),
        None
    );
}

#[test]
fn a_bucket_policy_denies_only_the_principals_it_names() {
    let bucket_policy = |principal: Value| Policy {
        location: "bucket b".to_owned(),
        ..policy(
            "bucket policy",
            ControlType::ResourcePolicy,
            json!({"Statement": {"Effect": "Deny", "Principal": principal, "Action": "s3:PutBucketAcl",
                "Resource": "arn:aws:s3:::b"}}),
        )
    };
    let denies = |principal: Value| {
        refusing_control(
            &[bucket_policy(principal)],
            None,
            request("s3:PutBucketAcl", "arn:aws:s3:::b"),
        )
        .is_some()
    };
    assert!(denies(json!("*")));
    assert!(denies(json!({"AWS": CALLER})));
    assert!(denies(json!({"AWS": ["arn:aws:iam::123456789012:root"]})));
    assert!(!denies(json!({"AWS": "arn:aws:iam::999999999999:root"})));
}

fn action() -> impl Strategy<Value = String> {
    ("[a-z0-9]{1,6}", "[A-Za-z]{1,10}").prop_map(|(service, name)| format!("{service}:{name}"))
}

proptest! {
    #[test]
    fn a_deny_of_everything_denies_every_request(action in action(), name in "[a-z]{1,12}") {
        let deny_all = policy("deny-all", ControlType::Scp, json!({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}));
        let resource = format!("arn:aws:s3:::{name}");
        let control = refusing_control(&[deny_all], None, request(&action, &resource));
        prop_assert_eq!(control.map(|control| control.control_type), Some(ControlType::Scp));
    }

    #[test]
    fn adding_allows_never_removes_a_deny(action in action(), allows in 0usize..4) {
        let deny = policy("deny", ControlType::IdentityPolicy, json!({"Statement": {"Effect": "Deny", "Action": action.clone(), "Resource": "*"}}));
        let mut policies = vec![allow_all(); allows];
        policies.push(deny);
        let control = refusing_control(&policies, None, request(&action, "arn:aws:s3:::b"));
        prop_assert_eq!(control.map(|control| control.name), Some("deny".to_owned()));
    }

    #[test]
    fn not_action_denies_exactly_what_action_does_not(action in action(), other in action()) {
        let denied_by = |field: &str| {
            refusing_control(
                &[policy("p", ControlType::IdentityPolicy, json!({"Statement": {"Effect": "Deny", field: other.clone(), "Resource": "*"}}))],
                None,
                request(&action, "arn:aws:s3:::b"),
            )
            .is_some()
        };
        prop_assert_ne!(denied_by("Action"), denied_by("NotAction"));
    }

    #[test]
    fn a_literal_pattern_matches_only_itself(text in "[a-zA-Z:/-]{0,20}", other in "[a-zA-Z:/-]{0,20}") {
        prop_assert!(glob(&text, &text));
        prop_assert_eq!(glob(&text, &other), text == other);
        prop_assert!(glob("*", &other));
    }
}
