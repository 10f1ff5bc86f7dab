//! The project: discovery, labels, and the faults on its IAM policy (`gcp.iam.project-*`,
//! `gcp.iam.service-account-made-project-owner`, `gcp.logging.project-data-access-audit-logs-removed`).
//!
//! Every write of the policy is a read-modify-write with the etag read: the revert computes its target from a
//! read ([`StateDriver::read_versioned`]), then writes the policy read again, with only the fault's field
//! (`bindings` or `auditConfigs`) replaced, if its etag is still the one the target was computed from (else a
//! retryable conflict, so the revert starts again from a fresh read), and Google refuses the write if the
//! policy changed in between (409). The whole policy is sent with an `updateMask` naming the fault's field:
//! Google changes only that field, and an emulator that stores the policy as given (gcplocal) keeps the
//! others.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde_json::Value;

use super::json_api::JsonApiClient;
use super::project_ref;
use crate::model::FaultSemantics;
use crate::model::gcp_iam::{
    self as model, AuditConfig, AuditConfigs, IamBinding, IamGrant, IamMemberGranted, IamPolicy,
    ProjectPolicy, ProjectRolesOfMember,
};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<JsonApiClient>>> {
    vec![
        Box::new(ProjectPolicyDriver::<IamMemberGranted<model::ExternalOwner>>(PhantomData)),
        Box::new(ProjectPolicyDriver::<IamMemberGranted<model::ExternalEditor>>(PhantomData)),
        Box::new(ProjectPolicyDriver::<
            IamMemberGranted<model::DomainTokenCreator>,
        >(PhantomData)),
        Box::new(ProjectPolicyDriver::<
            IamMemberGranted<model::DomainServiceAccountUser>,
        >(PhantomData)),
        Box::new(ProjectPolicyDriver::<model::ServiceAccountMadeProjectOwner>(PhantomData)),
        Box::new(ProjectPolicyDriver::<
            model::ProjectDataAccessAuditLogsRemoved,
        >(PhantomData)),
    ]
}

/// The project rdfi acts on, with its labels: discovery's one resource of the type.
pub(crate) async fn discover(client: &JsonApiClient) -> Result<Vec<ResourceRef>> {
    Ok(vec![project_ref(client.project(), labels(client).await?)])
}

/// The project's labels as they are now (`projects.get`).
pub(crate) async fn labels(client: &JsonApiClient) -> Result<BTreeMap<String, String>> {
    let project = client.get_project().await?;
    Ok(project
        .get("labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default())
}

/// The IAM policy version that allows conditional bindings; valid for any policy.
const CONDITIONAL_POLICY_VERSION: u32 = 3;

/// A fault on one field of the project's IAM policy: how its state is read from the policy and written back.
trait ProjectPolicyFault: FaultSemantics {
    /// The policy field the fault's writes change (`setIamPolicy`'s `updateMask`).
    const UPDATE_MASK: &'static str;
    fn from_policy(policy: &Value, resource: &ResourceRef) -> Result<Self::State>;
    /// Writes `target` into `policy` (as read), whose state is `current`.
    fn write_into(policy: &mut Value, current: &Self::State, target: &Self::State) -> Result<()>;
}

fn malformed(resource: &str, error: impl std::fmt::Display) -> ProviderError {
    ProviderError::Api {
        operation: "resourcemanager.projects.getIamPolicy".to_owned(),
        resource: resource.to_owned(),
        reason: format!("unexpected policy: {error}"),
        retryable: false,
        throttled: false,
    }
}

fn bindings_of(policy: &Value, resource: &str) -> Result<IamPolicy> {
    let bindings: Vec<IamBinding> = serde_json::from_value(
        policy
            .get("bindings")
            .cloned()
            .unwrap_or(Value::Array(Vec::new())),
    )
    .map_err(|error| malformed(resource, error))?;
    Ok(IamPolicy::new(bindings))
}

fn set_bindings(policy: &mut Value, bindings: &IamPolicy) -> Result<()> {
    policy["bindings"] =
        serde_json::to_value(&bindings.bindings).map_err(|error| ProviderError::Snapshot {
            resource: "project".to_owned(),
            reason: error.to_string(),
        })?;
    Ok(())
}

fn etag_of(policy: &Value) -> Option<String> {
    policy
        .get("etag")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The project policy faults: inject and revert write the policy read just before, with the fault's field
/// changed and the etag read (see the module's documentation).
struct ProjectPolicyDriver<F>(PhantomData<F>);

impl<F: ProjectPolicyFault> ProjectPolicyDriver<F> {
    async fn write(client: &JsonApiClient, mut policy: Value) -> Result<()> {
        policy["version"] = Value::from(CONDITIONAL_POLICY_VERSION);
        client
            .set_project_iam_policy(&policy, &format!("{},etag", F::UPDATE_MASK))
            .await
    }
}

#[async_trait]
impl<F: ProjectPolicyFault> StateDriver<JsonApiClient> for ProjectPolicyDriver<F> {
    type Fault = F;

    async fn read(&self, client: &JsonApiClient, resource: &ResourceRef) -> Result<F::State> {
        Ok(self.read_versioned(client, resource).await?.state)
    }

    async fn read_versioned(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
    ) -> Result<Versioned<F::State>> {
        let policy = client.get_project_iam_policy().await?;
        Ok(Versioned {
            state: F::from_policy(&policy, resource)?,
            version: etag_of(&policy),
        })
    }

    /// Changes the policy as it is now (which may have changed since `before`).
    async fn inject(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        _before: &F::State,
    ) -> Result<()> {
        let mut policy = client.get_project_iam_policy().await?;
        let current = F::from_policy(&policy, resource)?;
        F::write_into(&mut policy, &current, &F::inject(&current))?;
        Self::write(client, policy).await
    }

    async fn revert(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        current: &Versioned<F::State>,
        target: &F::State,
    ) -> Result<()> {
        let mut policy = client.get_project_iam_policy().await?;
        if etag_of(&policy) != current.version {
            return Err(ProviderError::Api {
                operation: "resourcemanager.projects.setIamPolicy".to_owned(),
                resource: resource.id.clone(),
                reason: "the policy changed since the revert read it".to_owned(),
                retryable: true,
                throttled: false,
            });
        }
        F::write_into(&mut policy, &current.state, target)?;
        Self::write(client, policy).await
    }
}

impl<G: IamGrant<Holder = ProjectPolicy>> ProjectPolicyFault for IamMemberGranted<G> {
    const UPDATE_MASK: &'static str = "bindings";

    fn from_policy(policy: &Value, resource: &ResourceRef) -> Result<IamPolicy> {
        bindings_of(policy, &resource.id)
    }

    fn write_into(policy: &mut Value, _current: &IamPolicy, target: &IamPolicy) -> Result<()> {
        set_bindings(policy, target)
    }
}

/// The member a service account is in IAM policies.
fn service_account_member(resource: &ResourceRef) -> String {
    format!("serviceAccount:{}", resource.name)
}

impl ProjectPolicyFault for model::ServiceAccountMadeProjectOwner {
    const UPDATE_MASK: &'static str = "bindings";

    fn from_policy(policy: &Value, resource: &ResourceRef) -> Result<ProjectRolesOfMember> {
        let member = service_account_member(resource);
        Ok(ProjectRolesOfMember {
            roles: bindings_of(policy, &resource.id)?.roles_of(&member),
            member,
        })
    }

    /// Adds and removes the account in the bindings of the roles that differ; every other member stays.
    fn write_into(
        policy: &mut Value,
        current: &ProjectRolesOfMember,
        target: &ProjectRolesOfMember,
    ) -> Result<()> {
        let mut bindings = bindings_of(policy, &target.member)?;
        for role in current.roles.difference(&target.roles) {
            bindings = bindings.without_member(&target.member, role);
        }
        for role in target.roles.difference(&current.roles) {
            bindings = bindings.with_member(&target.member, role);
        }
        set_bindings(policy, &bindings)
    }
}

impl ProjectPolicyFault for model::ProjectDataAccessAuditLogsRemoved {
    const UPDATE_MASK: &'static str = "auditConfigs";

    fn from_policy(policy: &Value, resource: &ResourceRef) -> Result<AuditConfigs> {
        let configs: Vec<AuditConfig> = serde_json::from_value(
            policy
                .get("auditConfigs")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        )
        .map_err(|error| malformed(&resource.id, error))?;
        Ok(AuditConfigs::new(configs))
    }

    fn write_into(
        policy: &mut Value,
        _current: &AuditConfigs,
        target: &AuditConfigs,
    ) -> Result<()> {
        policy["auditConfigs"] = serde_json::to_value(&target.audit_configs).map_err(|error| {
            ProviderError::Snapshot {
                resource: "project".to_owned(),
                reason: error.to_string(),
            }
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_owner_grant_is_written_beside_every_other_member() {
        let mut policy = json!({
            "etag": "BwX1",
            "bindings": [
                {"role": "roles/owner", "members": ["group:admins@example.org"]},
                {"role": "roles/run.developer", "members": ["serviceAccount:ci@p.iam.gserviceaccount.com"]},
            ],
            "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "DATA_READ"}]}],
        });
        let resource = ResourceRef {
            name: "ci@p.iam.gserviceaccount.com".to_owned(),
            ..ResourceRef::default()
        };
        type Fault = model::ServiceAccountMadeProjectOwner;
        let current = Fault::from_policy(&policy, &resource).unwrap();
        assert_eq!(current.roles.len(), 1);
        Fault::write_into(&mut policy, &current, &Fault::inject(&current)).unwrap();
        let injected = Fault::from_policy(&policy, &resource).unwrap();
        assert!(Fault::is_present(&injected));
        assert!(
            bindings_of(&policy, "p")
                .unwrap()
                .grants("group:admins@example.org", "roles/owner")
        );
        assert_eq!(
            policy["auditConfigs"][0]["service"], "allServices",
            "other fields stay"
        );
        let audit =
            model::ProjectDataAccessAuditLogsRemoved::from_policy(&policy, &resource).unwrap();
        assert_eq!(audit.audit_configs.len(), 1);
    }
}
