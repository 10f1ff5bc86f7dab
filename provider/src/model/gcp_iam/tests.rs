use super::*;
use crate::model::FaultSemantics;

#[test]
fn a_project_grant_revert_removes_only_the_member_it_added() {
    let before = ProjectOwnerGrantedToExternalUser::example();
    let faulty = ProjectOwnerGrantedToExternalUser::inject(&before);
    assert!(faulty.grants("user:attacker@example.com", "roles/owner"));
    // Someone makes a colleague owner meanwhile, in the same binding.
    let concurrent = faulty.with_member("user:new-admin@example.org", "roles/owner");
    let reverted = ProjectOwnerGrantedToExternalUser::revert(&concurrent, &before);
    assert!(!ProjectOwnerGrantedToExternalUser::is_present(&reverted));
    assert!(reverted.grants("user:new-admin@example.org", "roles/owner"));
    assert!(reverted.grants("group:platform-admins@example.org", "roles/owner"));
    // The conditional owner is no unconditional grant, and stays.
    assert!(!reverted.grants("user:oncall@example.org", "roles/owner"));
    assert_eq!(reverted.bindings.len(), before.bindings.len());
}

#[test]
fn the_domain_grants_name_a_whole_outside_domain() {
    let injected =
        ProjectTokenCreatorGrantedBroadly::inject(&ProjectTokenCreatorGrantedBroadly::example());
    assert_eq!(
        injected.roles_of(OUTSIDE_DOMAIN),
        ["roles/iam.serviceAccountTokenCreator".to_owned()].into()
    );
}

#[test]
fn the_audit_config_revert_restores_the_exemptions_and_keeps_changes_made_meanwhile() {
    let before = AuditConfigs::example();
    let faulty = ProjectDataAccessAuditLogsRemoved::inject(&before);
    assert!(ProjectDataAccessAuditLogsRemoved::is_present(&faulty));
    // ADMIN_READ stays on through the fault.
    assert!(
        faulty
            .audit_configs
            .iter()
            .any(|config| config.service == ALL_SERVICES)
    );
    // Someone exempts a member from Cloud Storage's write logs meanwhile.
    let mut concurrent = faulty.clone();
    concurrent.audit_configs[1].audit_log_configs[0]
        .exempted_members
        .insert("user:migration@example.org".to_owned());
    let reverted = ProjectDataAccessAuditLogsRemoved::revert(&concurrent, &before);
    assert!(reverted.logs_data_access());
    let mut expected = before.clone();
    expected.audit_configs[1].audit_log_configs[0]
        .exempted_members
        .insert("user:migration@example.org".to_owned());
    assert_eq!(
        reverted, expected,
        "the DATA_READ exemption is back, the new one stays"
    );
    // Removed entirely (the allServices entry gone too): remediated with both log types.
    let bare = AuditConfigs::new(Vec::new());
    assert!(ProjectDataAccessAuditLogsRemoved::revert(&bare, &before).logs_data_access());
}

#[test]
fn the_key_revert_deletes_only_the_faults_key() {
    let before = ServiceAccountKeyCreated::example();
    let mut current = ServiceAccountKeyCreated::inject(&before);
    current.key_ids.insert("someone-elses-key".to_owned());
    let reverted = ServiceAccountKeyCreated::revert(&current, &before);
    assert_eq!(reverted.key_ids.len(), 2);
    assert!(reverted.key_ids.contains("someone-elses-key"));
    assert!(!ServiceAccountKeyCreated::is_present(&reverted));
    let full = ServiceAccountKeys {
        key_ids: (0..KEYS_PER_SERVICE_ACCOUNT)
            .map(|key| key.to_string())
            .collect(),
        fault_key_ids: Default::default(),
    };
    assert!(ServiceAccountKeyCreated::precondition(&full).is_some());
    assert!(current.unowned_since(&before).contains("someone-elses-key"));
}

#[test]
fn the_owner_revert_keeps_roles_granted_meanwhile() {
    let before = ServiceAccountMadeProjectOwner::example();
    let mut current = ServiceAccountMadeProjectOwner::inject(&before);
    current.roles.insert("roles/logging.logWriter".to_owned());
    let reverted = ServiceAccountMadeProjectOwner::revert(&current, &before);
    assert!(!reverted.roles.contains(OWNER_ROLE));
    assert!(reverted.roles.contains("roles/logging.logWriter"));
}
