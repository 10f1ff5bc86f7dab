//! Google Cloud identity faults: the project's IAM policy (roles granted outside the organization or too
//! broadly, a service account made owner, Data Access audit logs removed) and service accounts (a user-managed
//! key created, a disabled account enabled). CIS controls are those of the CIS Google Cloud Platform Foundation
//! Benchmark (v3.0) where one exists.

use super::gcp_storage::{corrective, detective, preventive};
use super::{ExpectedControl, FaultModel, SecurityAttribute};

const PROJECT: &str = "gcp.project";
const SERVICE_ACCOUNT: &str = "gcp.iam.service-account";

/// The controls a project role granted to someone outside the organization should meet.
const EXTERNAL_GRANT_CONTROLS: &[ExpectedControl] = &[
    preventive(
        "Organization Policy constraints/iam.allowedPolicyMemberDomains (domain restricted sharing)",
    ),
    detective(
        "Security Command Center Event Threat Detection Persistence: IAM Anomalous Grant (external member), log-based alert on SetIamPolicy adding a member outside the organization",
        5,
    ),
    corrective(
        "Cloud Custodian gcp.project set-iam-policy remove-bindings, Terraform/Config Connector IAM policy reconciliation",
        15,
    ),
];

/// The controls a service account impersonation role granted project-wide to a whole outside domain should
/// meet.
const BROAD_IMPERSONATION_CONTROLS: &[ExpectedControl] = &[
    preventive(
        "Organization Policy constraints/iam.allowedPolicyMemberDomains (domain restricted sharing)",
    ),
    detective(
        "Security Command Center Security Health Analytics SERVICE_ACCOUNT_ROLE_SEPARATION / OVER_PRIVILEGED_SERVICE_ACCOUNT_USER, Prowler iam_no_service_roles_at_project_level, log-based alert on SetIamPolicy",
        5,
    ),
    corrective(
        "Cloud Custodian gcp.project set-iam-policy remove-bindings, Terraform/Config Connector IAM policy reconciliation",
        15,
    ),
];

pub(super) static FAULTS: &[FaultModel] = &[
    FaultModel {
        id: "gcp.iam.project-owner-granted-to-external-user",
        title: "Project IAM policy grants roles/owner to a user outside the organization",
        resource_type: PROJECT,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098.003",
        cis_control: Some("CIS GCP Foundation 1.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
        preconditions: "user:attacker@example.com holds no unconditional roles/owner on the project yet",
        destructive: false,
        expected_controls: EXTERNAL_GRANT_CONTROLS,
        intents: &["external-access", "privilege-escalation"],
        remediation: "Remove the outside user from the roles/owner binding (gcloud projects remove-iam-policy-binding PROJECT --member=user:EMAIL --role=roles/owner), review the Admin Activity audit logs for what it did, and set constraints/iam.allowedPolicyMemberDomains to your organization's customer ids.",
    },
    FaultModel {
        id: "gcp.iam.project-editor-granted-to-external-user",
        title: "Project IAM policy grants roles/editor to a user outside the organization",
        resource_type: PROJECT,
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1098.003",
        cis_control: Some("CIS GCP Foundation 1.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
        preconditions: "user:attacker@example.com holds no unconditional roles/editor on the project yet",
        destructive: false,
        expected_controls: EXTERNAL_GRANT_CONTROLS,
        intents: &["external-access", "privilege-escalation"],
        remediation: "Remove the outside user from the roles/editor binding, grant the narrow predefined roles members of your organization need instead of basic roles, and set constraints/iam.allowedPolicyMemberDomains.",
    },
    FaultModel {
        id: "gcp.iam.project-token-creator-granted-broadly",
        title: "Project IAM policy grants roles/iam.serviceAccountTokenCreator to every account of an outside domain",
        resource_type: PROJECT,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098.003",
        cis_control: Some("CIS GCP Foundation 1.6"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:L",
        preconditions: "domain:example.com holds no unconditional roles/iam.serviceAccountTokenCreator on the project yet (Google refuses allUsers and allAuthenticatedUsers in project policies, so the broadest member a person can add is a whole domain)",
        destructive: false,
        expected_controls: BROAD_IMPERSONATION_CONTROLS,
        intents: &["external-access", "privilege-escalation"],
        remediation: "Remove the domain from the roles/iam.serviceAccountTokenCreator binding, grant token creation on single service accounts to the identities that need it, and set constraints/iam.allowedPolicyMemberDomains.",
    },
    FaultModel {
        id: "gcp.iam.project-service-account-user-granted-broadly",
        title: "Project IAM policy grants roles/iam.serviceAccountUser to every account of an outside domain",
        resource_type: PROJECT,
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1098.003",
        cis_control: Some("CIS GCP Foundation 1.6"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:H/I:H/A:L",
        preconditions: "domain:example.com holds no unconditional roles/iam.serviceAccountUser on the project yet (Google refuses allUsers and allAuthenticatedUsers in project policies)",
        destructive: false,
        expected_controls: BROAD_IMPERSONATION_CONTROLS,
        intents: &["external-access", "privilege-escalation"],
        remediation: "Remove the domain from the roles/iam.serviceAccountUser binding, grant actAs on single service accounts instead of the project, and set constraints/iam.allowedPolicyMemberDomains.",
    },
    FaultModel {
        id: "gcp.iam.service-account-made-project-owner",
        title: "Service account granted roles/owner on its project",
        resource_type: SERVICE_ACCOUNT,
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1098.003",
        cis_control: Some("CIS GCP Foundation 1.5"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:H/I:H/A:H",
        preconditions: "the service account holds no unconditional roles/owner on its project yet",
        destructive: false,
        expected_controls: &[
            preventive(
                "IAM deny policy on resourcemanager.projects.setIamPolicy except for the platform's deploy identity, Organization Policy constraints/iam.automaticIamGrantsForDefaultServiceAccounts",
            ),
            detective(
                "Security Command Center Security Health Analytics ADMIN_SERVICE_ACCOUNT, Prowler iam_sa_no_administrative_privileges, log-based alert on SetIamPolicy granting roles/owner",
                5,
            ),
            corrective(
                "Cloud Custodian gcp.project set-iam-policy remove-bindings, Terraform/Config Connector IAM policy reconciliation",
                15,
            ),
        ],
        intents: &["privilege-escalation"],
        remediation: "Remove the service account from the roles/owner binding (gcloud projects remove-iam-policy-binding PROJECT --member=serviceAccount:EMAIL --role=roles/owner), grant it the narrow roles its workload needs, and alert on basic roles granted to service accounts.",
    },
    FaultModel {
        id: "gcp.logging.project-data-access-audit-logs-removed",
        title: "Project Data Access audit logs (DATA_READ, DATA_WRITE for allServices) turned off",
        resource_type: PROJECT,
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1562.008",
        cis_control: Some("CIS GCP Foundation 2.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:L/A:N",
        preconditions: "the project's IAM policy has an auditConfigs entry for allServices logging both DATA_READ and DATA_WRITE",
        destructive: false,
        expected_controls: &[
            preventive(
                "IAM: resourcemanager.projects.setIamPolicy only for the platform's deploy identity; audit configs also set at the folder or organization (inherited, not removable in the project)",
            ),
            detective(
                "Security Command Center Security Health Analytics AUDIT_LOGGING_DISABLED, Prowler logging_audit_logs_enabled_for_all_services, log-based alert on SetIamPolicy changing auditConfigs",
                15,
            ),
            corrective(
                "Terraform/Config Connector google_project_iam_audit_config reconciliation",
                30,
            ),
        ],
        intents: &["audit-logging-disabled"],
        remediation: "Restore the allServices audit config with DATA_READ and DATA_WRITE (and the exemptions it had) in the project's IAM policy, and set the same audit config at the organization so a project cannot turn it off.",
    },
    FaultModel {
        id: "gcp.iam.service-account-key-created",
        title: "New user-managed key created for a service account",
        resource_type: SERVICE_ACCOUNT,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098.001",
        cis_control: Some("CIS GCP Foundation 1.4"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:L",
        preconditions: "the service account has fewer than ten keys (Google's limit) and no key the fault created",
        destructive: false,
        expected_controls: &[
            preventive("Organization Policy constraints/iam.disableServiceAccountKeyCreation"),
            detective(
                "Security Command Center Security Health Analytics USER_MANAGED_SERVICE_ACCOUNT_KEY, Event Threat Detection Persistence: Service Account Key Created, log-based alert on CreateServiceAccountKey",
                5,
            ),
            corrective(
                "Cloud Custodian gcp.service-account-key delete, a Cloud Function on the audit log that deletes unapproved keys",
                15,
            ),
        ],
        intents: &["credential-sprawl"],
        remediation: "Delete the unapproved key (gcloud iam service-accounts keys delete KEY_ID --iam-account=EMAIL) after checking its use in the audit logs, use Workload Identity Federation or attached service accounts instead of keys, and enforce constraints/iam.disableServiceAccountKeyCreation.",
    },
    FaultModel {
        id: "gcp.iam.service-account-enabled",
        title: "Disabled service account enabled again",
        resource_type: SERVICE_ACCOUNT,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1078.004",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:U/C:L/I:L/A:N",
        preconditions: "the service account is disabled",
        destructive: false,
        expected_controls: &[
            preventive(
                "IAM deny policy on iam.serviceAccounts.enable except for the platform's break-glass identity",
            ),
            detective(
                "log-based alert on EnableServiceAccount, Security Command Center Event Threat Detection (dormant service account activity)",
                15,
            ),
            corrective(
                "a Cloud Function on the audit log that disables accounts enabled outside change management, Terraform google_service_account disabled = true reconciliation",
                30,
            ),
        ],
        intents: &["credential-sprawl"],
        remediation: "Disable the service account again (gcloud iam service-accounts disable EMAIL), delete it once its workload is gone, and alert on EnableServiceAccount.",
    },
];
