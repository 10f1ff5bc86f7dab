use serde_json::{Value, json};

use super::*;
use crate::model::FaultSemantics;

#[test]
fn public_read_is_added_and_removed_without_touching_other_grants() {
    let acl = BucketAcl::new(
        "owner".to_owned(),
        None,
        vec![
            Grant::canonical_user("b", "READ"),
            Grant::canonical_user("a", "FULL_CONTROL"),
        ],
    );
    assert!(!acl.grants_public_read());
    let public = acl.with_public_read();
    assert!(public.grants_public_read());
    assert_eq!(public.grants.len(), 3);
    assert_eq!(public.without_public_grants(), acl);
}

#[test]
fn grant_order_does_not_matter() {
    let one = BucketAcl::new(
        "o".into(),
        None,
        vec![
            Grant::canonical_user("a", "READ"),
            Grant::canonical_user("b", "READ"),
        ],
    );
    let two = BucketAcl::new(
        "o".into(),
        None,
        vec![
            Grant::canonical_user("b", "READ"),
            Grant::canonical_user("a", "READ"),
        ],
    );
    assert_eq!(one, two);
}
fn policy(statements: Value) -> BucketPolicy {
    BucketPolicy {
        bucket: "b".to_owned(),
        account_id: "111122223333".to_owned(),
        document: Some(canonical_policy(
            json!({"Version": "2012-10-17", "Statement": statements}),
        )),
    }
}

#[test]
fn policy_statement_order_does_not_matter() {
    let first = json!({"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket"});
    let second = json!({"Sid": "B", "Effect": "Deny", "Principal": "*", "Action": "s3:*"});
    assert_eq!(
        policy(json!([first.clone(), second.clone()])),
        policy(json!([second, first.clone()]))
    );
    assert_eq!(policy(first.clone()).statements(), &[first]);
}

#[test]
fn public_statement_is_added_and_removed_without_touching_others() {
    let before = BucketPolicy::example();
    let public = BucketPolicyPublic::inject(&before);
    assert!(BucketPolicyPublic::is_present(&public));
    assert_eq!(public.statements().len(), before.statements().len() + 1);
    assert_eq!(BucketPolicyPublic::remediate(&public), before);
    let conditional = policy(json!([{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    }]));
    assert!(!BucketPolicyPublic::is_present(&conditional));
}

#[test]
fn without_a_policy_the_fault_creates_one_and_its_removal_deletes_it() {
    let none = BucketPolicy {
        document: None,
        ..BucketPolicy::example()
    };
    let public = BucketPolicyPublic::inject(&none);
    assert_eq!(public.statements().len(), 1);
    assert_eq!(BucketPolicyPublic::remediate(&public), none);
}

#[test]
fn only_other_accounts_are_external() {
    let own = policy(json!([{
        "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::111122223333:role/app", "111122223333"]},
        "Action": "s3:GetObject",
    }]));
    assert!(!BucketPolicyExternalAccount::is_present(&own));
    let shared = BucketPolicyExternalAccount::inject(&own);
    assert!(BucketPolicyExternalAccount::is_present(&shared));
    assert!(!BucketPolicyPublic::is_present(&shared));
    assert_eq!(BucketPolicyExternalAccount::remediate(&shared), own);
}

#[test]
fn tls_only_statement_removal_keeps_the_other_statements() {
    let before = BucketPolicy::example();
    assert!(before.requires_tls());
    let removed = BucketTlsOnlyStatementRemoved::inject(&before);
    assert!(!removed.requires_tls());
    assert_eq!(removed.statements().len(), before.statements().len() - 1);
    assert_eq!(BucketTlsOnlyStatementRemoved::remediate(&removed), before);
}

#[test]
fn a_short_expiration_on_a_prefix_is_not_the_fault() {
    let scoped = BucketLifecycle::new(vec![LifecycleRule {
        id: "tmp".to_owned(),
        status: "Enabled".to_owned(),
        prefix: Some("tmp/".to_owned()),
        expiration_days: Some(1),
        ..LifecycleRule::default()
    }]);
    assert!(!BucketLifecycleExpireOneDay::is_present(&scoped));
    let faulty = BucketLifecycleExpireOneDay::inject(&scoped);
    assert!(BucketLifecycleExpireOneDay::is_present(&faulty));
    assert_eq!(faulty.rules.len(), 2);
    assert_eq!(BucketLifecycleExpireOneDay::remediate(&faulty), scoped);
}

#[test]
fn public_read_write_adds_only_the_missing_grant_and_either_grant_is_part_of_it() {
    let readable = BucketAcl::example().with_public_read();
    let writable = BucketPublicReadWriteAcl::inject(&readable);
    assert_eq!(writable.grants.len(), readable.grants.len() + 1);
    assert!(BucketPublicReadWriteAcl::is_present(&writable));
    assert!(BucketPublicReadWriteAcl::is_present(&readable));
    assert!(!BucketPublicReadWriteAcl::is_present(&BucketAcl::example()));
    assert!(
        BucketPublicReadWriteAcl::misconfiguration(&readable)
            < BucketPublicReadWriteAcl::misconfiguration(&writable)
    );
}

#[test]
fn the_expire_everything_rule_is_refused_on_a_bucket_without_versioning() {
    let versioned = BucketLifecycleExpireOneDay::example();
    assert!(versioned.versioning_enabled);
    assert_eq!(BucketLifecycleExpireOneDay::precondition(&versioned), None);
    let unversioned = BucketLifecycle {
        versioning_enabled: false,
        ..versioned
    };
    let refusal = BucketLifecycleExpireOneDay::precondition(&unversioned).expect("refused");
    assert!(refusal.contains("versioning"), "{refusal}");
    // Injecting and reverting leave the versioning flag as read.
    let faulty = BucketLifecycleExpireOneDay::inject(&unversioned);
    assert!(!faulty.versioning_enabled);
    assert_eq!(
        BucketLifecycleExpireOneDay::revert(&faulty, &unversioned),
        unversioned
    );
}
