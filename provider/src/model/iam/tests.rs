use serde_json::json;

use super::*;
use crate::model::FaultSemantics;

#[test]
fn the_access_key_revert_deletes_only_the_faults_key() {
    let before = UserAccessKeyCreated::example();
    let mut current = UserAccessKeyCreated::inject(&before);
    current
        .access_key_ids
        .insert("AKIASOMEONEELSE00001".to_owned());
    let reverted = UserAccessKeyCreated::revert(&current, &before);
    assert!(reverted.access_key_ids.contains("AKIASOMEONEELSE00001"));
    assert!(reverted.access_key_ids.contains("AKIAEXAMPLEDEPLOY01"));
    assert!(reverted.fault_key_ids.is_empty());
}

#[test]
fn the_inline_revert_keeps_policies_put_meanwhile() {
    let before = InlinePolicies::example();
    let mut current = UserInlineWildcardPolicy::inject(&before);
    current
        .policies
        .insert("added-meanwhile".to_owned(), json!({"Statement": []}));
    let reverted = UserInlineWildcardPolicy::revert(&current, &before);
    assert!(reverted.policies.contains_key("added-meanwhile"));
    assert!(!reverted.policies.contains_key(WILDCARD_POLICY_NAME));
}

#[test]
fn trust_principals_match_strings_and_arrays_and_conditions_guard_everyone() {
    let array =
        json!({"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": {"AWS": ["a", "*"]}});
    assert!(names_principal(&array, "*") && allows_action(&array, "sts:AssumeRole"));
    let bare = json!({"Effect": "Allow", "Action": "kms:*", "Principal": "*"});
    assert!(allows_everyone(&bare, "kms:Decrypt"));
    let conditioned =
        json!({"Effect": "Allow", "Action": "kms:*", "Principal": "*", "Condition": {}});
    assert!(!allows_everyone(&conditioned, "kms:Decrypt"));
    let denied = json!({"Effect": "Deny", "Action": "*", "Principal": "*"});
    assert!(!allows_everyone(&denied, "kms:Decrypt"));
}
