//! A project's IAM policy: roles granted to outside members, a service account made owner, and the Data
//! Access audit logs its `auditConfigs` turn on.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::OUTSIDE_DOMAIN;
use super::policy::{
    IamBinding, IamCondition, IamGrant, IamMemberGranted, IamPolicy, IamPolicyHolder, binding,
};
use crate::model::gcs::EXTERNAL_ATTACKER;
use crate::model::{FaultSemantics, FaultState};

/// Projects hold IAM policies: the faults granting a role on one share [`IamMemberGranted`].
pub struct ProjectPolicy;

impl IamPolicyHolder for ProjectPolicy {
    const ASPECT: &'static str = "gcp.project-iam-policy";
    const SET_IAM_POLICY: &'static str = "projects.setIamPolicy";

    /// A project run by groups of the organization: owners, viewers, deployers who act as its service
    /// accounts, a CI account that mints tokens, Google's service agent, and a time-limited owner.
    fn example() -> IamPolicy {
        IamPolicy::new(vec![
            binding("roles/owner", &["group:platform-admins@example.org"]),
            binding(
                "roles/editor",
                &["serviceAccount:123456789012@cloudservices.gserviceaccount.com"],
            ),
            binding("roles/viewer", &["group:engineering@example.org"]),
            binding(
                "roles/iam.serviceAccountUser",
                &["group:deployers@example.org"],
            ),
            binding(
                "roles/iam.serviceAccountTokenCreator",
                &["serviceAccount:ci@example-project.iam.gserviceaccount.com"],
            ),
            IamBinding {
                condition: Some(IamCondition {
                    title: "break-glass".to_owned(),
                    description: None,
                    expression: "request.time < timestamp(\"2026-12-01T00:00:00Z\")".to_owned(),
                }),
                ..binding("roles/owner", &["user:oncall@example.org"])
            },
        ])
    }
}

/// An account outside the organization owns the project.
pub struct ExternalOwner;
impl IamGrant for ExternalOwner {
    type Holder = ProjectPolicy;
    const ID: &'static str = "gcp.iam.project-owner-granted-to-external-user";
    const PRESENT: &'static str =
        "the project IAM policy grants roles/owner to user:attacker@example.com";
    const MEMBER: &'static str = EXTERNAL_ATTACKER;
    const ROLE: &'static str = "roles/owner";
}
pub type ProjectOwnerGrantedToExternalUser = IamMemberGranted<ExternalOwner>;

/// An account outside the organization edits every resource of the project.
pub struct ExternalEditor;
impl IamGrant for ExternalEditor {
    type Holder = ProjectPolicy;
    const ID: &'static str = "gcp.iam.project-editor-granted-to-external-user";
    const PRESENT: &'static str =
        "the project IAM policy grants roles/editor to user:attacker@example.com";
    const MEMBER: &'static str = EXTERNAL_ATTACKER;
    const ROLE: &'static str = "roles/editor";
}
pub type ProjectEditorGrantedToExternalUser = IamMemberGranted<ExternalEditor>;

/// Every account of an outside domain may mint tokens for every service account of the project.
pub struct DomainTokenCreator;
impl IamGrant for DomainTokenCreator {
    type Holder = ProjectPolicy;
    const ID: &'static str = "gcp.iam.project-token-creator-granted-broadly";
    const PRESENT: &'static str =
        "the project IAM policy grants roles/iam.serviceAccountTokenCreator to domain:example.com";
    const MEMBER: &'static str = OUTSIDE_DOMAIN;
    const ROLE: &'static str = "roles/iam.serviceAccountTokenCreator";
}
pub type ProjectTokenCreatorGrantedBroadly = IamMemberGranted<DomainTokenCreator>;

/// Every account of an outside domain may act as every service account of the project.
pub struct DomainServiceAccountUser;
impl IamGrant for DomainServiceAccountUser {
    type Holder = ProjectPolicy;
    const ID: &'static str = "gcp.iam.project-service-account-user-granted-broadly";
    const PRESENT: &'static str =
        "the project IAM policy grants roles/iam.serviceAccountUser to domain:example.com";
    const MEMBER: &'static str = OUTSIDE_DOMAIN;
    const ROLE: &'static str = "roles/iam.serviceAccountUser";
}
pub type ProjectServiceAccountUserGrantedBroadly = IamMemberGranted<DomainServiceAccountUser>;

/// The basic role that administers everything in a project.
pub const OWNER_ROLE: &str = "roles/owner";

/// The roles one member (a service account) holds in its project's IAM policy without a condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRolesOfMember {
    /// `serviceAccount:EMAIL`.
    pub member: String,
    pub roles: BTreeSet<String>,
}

impl FaultState for ProjectRolesOfMember {}

/// `gcp.iam.service-account-made-project-owner`: the service account gets roles/owner on its project. The
/// revert takes only that grant away (unless the account was owner before); roles granted meanwhile stay.
pub struct ServiceAccountMadeProjectOwner;

impl FaultSemantics for ServiceAccountMadeProjectOwner {
    const ID: &'static str = "gcp.iam.service-account-made-project-owner";
    const PRESENT: &'static str = "the service account holds roles/owner on its project";
    const ASPECT: &'static str = "gcp.service-account-project-roles";
    type State = ProjectRolesOfMember;

    fn is_present(state: &ProjectRolesOfMember) -> bool {
        state.roles.contains(OWNER_ROLE)
    }

    fn inject(before: &ProjectRolesOfMember) -> ProjectRolesOfMember {
        let mut state = before.clone();
        state.roles.insert(OWNER_ROLE.to_owned());
        state
    }

    fn revert(
        current: &ProjectRolesOfMember,
        before: &ProjectRolesOfMember,
    ) -> ProjectRolesOfMember {
        if before.roles.contains(OWNER_ROLE) {
            current.clone()
        } else {
            Self::remediate(current)
        }
    }

    fn remediate(current: &ProjectRolesOfMember) -> ProjectRolesOfMember {
        let mut state = current.clone();
        state.roles.remove(OWNER_ROLE);
        state
    }

    fn describe(before: &ProjectRolesOfMember) -> String {
        format!(
            "projects.setIamPolicy: add {} to roles/owner beside its {} role(s) on the project",
            before.member,
            before.roles.len()
        )
    }

    /// A deploy account with the narrow roles its pipeline needs.
    fn example() -> ProjectRolesOfMember {
        ProjectRolesOfMember {
            member: "serviceAccount:deployer@example-project.iam.gserviceaccount.com".to_owned(),
            roles: [
                "roles/artifactregistry.writer",
                "roles/cloudbuild.builds.editor",
                "roles/run.developer",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        }
    }
}

/// One log type of an audit config, with the members whose calls it does not log.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogConfig {
    /// `ADMIN_READ`, `DATA_READ`, `DATA_WRITE`.
    pub log_type: String,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub exempted_members: BTreeSet<String>,
}

/// The audit logs a service (or `allServices`) writes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditConfig {
    pub service: String,
    /// Sorted by log type; never empty.
    #[serde(default)]
    pub audit_log_configs: Vec<AuditLogConfig>,
}

/// A project IAM policy's `auditConfigs`, in the form the JSON API takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditConfigs {
    /// Sorted by service; no config without log types.
    pub audit_configs: Vec<AuditConfig>,
}

/// The service name meaning every service of the project.
pub const ALL_SERVICES: &str = "allServices";
/// The Data Access log types the fault turns off.
pub const DATA_ACCESS_LOG_TYPES: [&str; 2] = ["DATA_READ", "DATA_WRITE"];

impl AuditConfigs {
    /// The canonical form, as Google applies it: one config per service (configs of the same service merged),
    /// one log config per log type (exemptions merged), sorted; configs without log types dropped.
    pub fn new(configs: Vec<AuditConfig>) -> Self {
        let mut merged: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for config in configs {
            let service = merged.entry(config.service).or_default();
            for log in config.audit_log_configs {
                service
                    .entry(log.log_type)
                    .or_default()
                    .extend(log.exempted_members);
            }
        }
        AuditConfigs {
            audit_configs: merged
                .into_iter()
                .filter(|(_, logs)| !logs.is_empty())
                .map(|(service, logs)| AuditConfig {
                    service,
                    audit_log_configs: logs
                        .into_iter()
                        .map(|(log_type, exempted_members)| AuditLogConfig {
                            log_type,
                            exempted_members,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The `allServices` log config of `log_type`, if it is on.
    fn all_services_log(&self, log_type: &str) -> Option<&AuditLogConfig> {
        self.audit_configs
            .iter()
            .filter(|config| config.service == ALL_SERVICES)
            .flat_map(|config| &config.audit_log_configs)
            .find(|log| log.log_type == log_type)
    }

    /// Whether every service logs both Data Access log types.
    pub fn logs_data_access(&self) -> bool {
        DATA_ACCESS_LOG_TYPES
            .iter()
            .all(|log_type| self.all_services_log(log_type).is_some())
    }

    /// These configs with the `allServices` log configs `logs` merged in: turned on where they are off, their
    /// exemptions added where they are on; everything else kept.
    fn with_all_services_logs(&self, logs: impl IntoIterator<Item = AuditLogConfig>) -> Self {
        let mut configs = self.audit_configs.clone();
        configs.push(AuditConfig {
            service: ALL_SERVICES.to_owned(),
            audit_log_configs: logs.into_iter().collect(),
        });
        Self::new(configs)
    }

    /// Logging an admin read and all Data Access for every service, one reader exempted from Data Access
    /// reads, and Cloud Storage's writes logged with a further exemption.
    pub fn example() -> Self {
        let log = |log_type: &str, exempted: &[&str]| AuditLogConfig {
            log_type: log_type.to_owned(),
            exempted_members: exempted.iter().map(|member| (*member).to_owned()).collect(),
        };
        Self::new(vec![
            AuditConfig {
                service: ALL_SERVICES.to_owned(),
                audit_log_configs: vec![
                    log("ADMIN_READ", &[]),
                    log(
                        "DATA_READ",
                        &["serviceAccount:monitoring@example-project.iam.gserviceaccount.com"],
                    ),
                    log("DATA_WRITE", &[]),
                ],
            },
            AuditConfig {
                service: "storage.googleapis.com".to_owned(),
                audit_log_configs: vec![log("DATA_WRITE", &["group:backup-jobs@example.org"])],
            },
        ])
    }
}

impl FaultState for AuditConfigs {
    fn canonical(self) -> Self {
        AuditConfigs::new(self.audit_configs)
    }
}

/// `gcp.logging.project-data-access-audit-logs-removed`: the `allServices` DATA_READ and DATA_WRITE logs
/// removed from the project's audit configs. The revert merges them back, with the exemptions they had; every
/// other config and exemption, and the exemptions of a Data Access log someone turned back on meanwhile, stay.
pub struct ProjectDataAccessAuditLogsRemoved;

impl FaultSemantics for ProjectDataAccessAuditLogsRemoved {
    const ID: &'static str = "gcp.logging.project-data-access-audit-logs-removed";
    const PRESENT: &'static str =
        "the project's audit configs do not log DATA_READ and DATA_WRITE for allServices";
    const ASPECT: &'static str = "gcp.project-audit-configs";
    type State = AuditConfigs;

    fn is_present(configs: &AuditConfigs) -> bool {
        !configs.logs_data_access()
    }

    fn inject(before: &AuditConfigs) -> AuditConfigs {
        let mut configs = before.audit_configs.clone();
        for config in &mut configs {
            if config.service == ALL_SERVICES {
                config
                    .audit_log_configs
                    .retain(|log| !DATA_ACCESS_LOG_TYPES.contains(&log.log_type.as_str()));
            }
        }
        AuditConfigs::new(configs)
    }

    fn revert(current: &AuditConfigs, before: &AuditConfigs) -> AuditConfigs {
        let restored = current.with_all_services_logs(
            DATA_ACCESS_LOG_TYPES
                .iter()
                .filter_map(|log_type| before.all_services_log(log_type).cloned()),
        );
        Self::remediate(&restored)
    }

    fn remediate(current: &AuditConfigs) -> AuditConfigs {
        current.with_all_services_logs(DATA_ACCESS_LOG_TYPES.iter().map(|log_type| {
            AuditLogConfig {
                log_type: (*log_type).to_owned(),
                exempted_members: BTreeSet::new(),
            }
        }))
    }

    fn describe(before: &AuditConfigs) -> String {
        format!(
            "projects.setIamPolicy (updateMask auditConfigs): remove DATA_READ and DATA_WRITE from the allServices audit config, keeping the {} config(s)' other log types",
            before.audit_configs.len()
        )
    }

    fn example() -> AuditConfigs {
        AuditConfigs::example()
    }
}
