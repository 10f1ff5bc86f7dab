use super::*;
use crate::model::FaultSemantics;

#[test]
fn an_iam_revert_removes_only_the_member_it_added() {
    let before = BucketIamAllUsersViewer::example();
    let faulty = BucketIamAllUsersViewer::inject(&before);
    assert!(BucketIamAllUsersViewer::is_present(&faulty));
    // Someone else grants a reader meanwhile, in the same binding and in a new one.
    let concurrent = faulty
        .with_member("user:new-reader@example.org", "roles/storage.objectViewer")
        .with_member(
            "user:auditor@example.org",
            "roles/storage.legacyBucketReader",
        );
    let reverted = BucketIamAllUsersViewer::revert(&concurrent, &before);
    assert!(!BucketIamAllUsersViewer::is_present(&reverted));
    assert!(reverted.grants("user:new-reader@example.org", "roles/storage.objectViewer"));
    assert!(reverted.grants(
        "user:auditor@example.org",
        "roles/storage.legacyBucketReader"
    ));
    assert!(reverted.grants(
        "group:data-readers@example.org",
        "roles/storage.objectViewer"
    ));
}

#[test]
fn a_member_under_a_condition_is_not_an_unconditional_grant() {
    let policy = BucketIamAllUsersViewer::example();
    assert!(!policy.grants("user:oncall@example.org", "roles/storage.objectAdmin"));
    let granted = policy.with_member("user:oncall@example.org", "roles/storage.objectAdmin");
    assert_eq!(granted.bindings.len(), policy.bindings.len() + 1);
    assert_eq!(
        granted.without_member("user:oncall@example.org", "roles/storage.objectAdmin"),
        policy
    );
}

#[test]
fn removing_the_last_member_drops_the_binding() {
    let policy = crate::model::gcp_iam::IamPolicy::new(Vec::new())
        .with_member(ALL_USERS, "roles/storage.objectViewer");
    assert!(
        policy
            .without_member(ALL_USERS, "roles/storage.objectViewer")
            .bindings
            .is_empty()
    );
}

#[test]
fn acl_order_does_not_matter() {
    let mut entries = AccessControlList::example().entries;
    entries.reverse();
    assert_eq!(
        AccessControlList::new(entries),
        AccessControlList::example()
    );
}
