//! The sandbox: an in-memory cloud account with AWS-like buckets and users, and built-in example security
//! controls (a detective one that raises signals, a corrective one that restores the secure state), each after
//! a delay, as event-driven cloud controls do. `rdfi demo` and fast tests run on it; its faults mean what the
//! real providers' faults mean, through the shared [`crate::model`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use tokio::sync::broadcast;

use crate::aws::{BUCKET, USER};

use crate::model::{
    self, ADMINISTRATOR_ACCESS_ARN, AttachedPolicies, BucketAcl, FaultSemantics, Grant,
};
use crate::{
    DetectionSignal, DriverSet, FaultOperations, Provider, ProviderError, Result, StateDriver,
};

const ACCOUNT_ID: &str = "000000000000";

#[derive(Clone, Debug)]
pub struct SandboxBucket {
    pub tags: BTreeMap<String, String>,
    pub acl: BucketAcl,
    /// Block Public Access: refuses ACLs that grant public access (a preventive control).
    pub block_public_acls: bool,
}

#[derive(Clone, Debug)]
pub struct SandboxUser {
    pub tags: BTreeMap<String, String>,
    pub attached: AttachedPolicies,
}

/// What a built-in control does when it sees the misconfiguration it watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlAction {
    /// Raise a detection signal naming the resource.
    Detect,
    /// Restore the secure state.
    Correct,
}

/// A built-in security control watching one fault's misconfiguration on resources carrying `scope_tag`
/// (every resource of the type when `None`).
#[derive(Clone, Debug)]
pub struct Control {
    pub name: String,
    pub fault_id: String,
    pub scope_tag: Option<(String, String)>,
    pub delay: Duration,
    pub action: ControlAction,
}

#[derive(Default)]
struct Estate {
    buckets: BTreeMap<String, SandboxBucket>,
    users: BTreeMap<String, SandboxUser>,
}

/// The in-memory account.
pub struct SandboxAccount {
    estate: Mutex<Estate>,
    controls: Vec<Control>,
    signals: broadcast::Sender<DetectionSignal>,
}

impl Default for SandboxAccount {
    fn default() -> Self {
        SandboxAccount {
            estate: Mutex::default(),
            controls: Vec::new(),
            signals: broadcast::channel(1024).0,
        }
    }
}

fn bucket_ref(name: &str, tags: &BTreeMap<String, String>) -> ResourceRef {
    crate::aws::bucket_ref("sandbox", name, "sandbox", tags.clone())
}

fn user_ref(name: &str, tags: &BTreeMap<String, String>) -> ResourceRef {
    let arn = format!("arn:aws:iam::{ACCOUNT_ID}:user/{name}");
    crate::aws::user_ref("sandbox", &arn, name, tags.clone())
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

impl SandboxAccount {
    /// An empty account; add resources and controls with the builder methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// The demo estate: two opted-in buckets (one watched by a public-ACL detector), an untouchable archive
    /// bucket, two opted-in users watched by an admin-policy reconciler.
    pub fn demo() -> Self {
        let owner = "b1c4f0d2e3a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1";
        let partner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
        let private_acl = |extra: Vec<Grant>| {
            let mut grants = vec![Grant::canonical_user(owner, "FULL_CONTROL")];
            grants.extend(extra);
            BucketAcl::new(owner.to_owned(), Some("platform".to_owned()), grants)
        };
        SandboxAccount::new()
            .with_bucket(
                "payments-exports",
                tags(&[
                    ("rdfi-target", "true"),
                    ("monitored", "true"),
                    ("team", "payments"),
                ]),
                private_acl(vec![Grant::canonical_user(partner, "READ")]),
            )
            .with_bucket(
                "ml-training-data",
                tags(&[("rdfi-target", "true"), ("team", "ml")]),
                private_acl(vec![]),
            )
            .with_bucket(
                "audit-archive",
                tags(&[("team", "security")]),
                private_acl(vec![]),
            )
            .with_user(
                "ci-deployer",
                tags(&[("rdfi-target", "true")]),
                &["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            )
            .with_user(
                "data-analyst",
                tags(&[("rdfi-target", "true"), ("team", "ml")]),
                &["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
            )
            .with_control(Control {
                name: "s3-public-acl-detector".to_owned(),
                fault_id: "aws.s3.bucket-public-acl".to_owned(),
                scope_tag: Some(("monitored".to_owned(), "true".to_owned())),
                delay: Duration::from_millis(400),
                action: ControlAction::Detect,
            })
            .with_control(Control {
                name: "iam-admin-reconciler".to_owned(),
                fault_id: "aws.iam.user-admin-policy-attached".to_owned(),
                scope_tag: None,
                delay: Duration::from_millis(700),
                action: ControlAction::Correct,
            })
    }

    pub fn with_bucket(self, name: &str, tags: BTreeMap<String, String>, acl: BucketAcl) -> Self {
        self.estate().buckets.insert(
            name.to_owned(),
            SandboxBucket {
                tags,
                acl,
                block_public_acls: false,
            },
        );
        self
    }

    pub fn with_user(
        self,
        name: &str,
        tags: BTreeMap<String, String>,
        policy_arns: &[&str],
    ) -> Self {
        self.estate().users.insert(
            name.to_owned(),
            SandboxUser {
                tags,
                attached: AttachedPolicies {
                    policy_arns: policy_arns.iter().map(|arn| (*arn).to_owned()).collect(),
                },
            },
        );
        self
    }

    pub fn with_control(mut self, control: Control) -> Self {
        self.controls.push(control);
        self
    }

    /// Turns Block Public Access on for a bucket.
    pub fn block_public_acls(&self, bucket: &str) {
        if let Some(bucket) = self.estate().buckets.get_mut(bucket) {
            bucket.block_public_acls = true;
        }
    }

    pub fn bucket(&self, name: &str) -> Option<SandboxBucket> {
        self.estate().buckets.get(name).cloned()
    }

    pub fn user(&self, name: &str) -> Option<SandboxUser> {
        self.estate().users.get(name).cloned()
    }

    fn estate(&self) -> MutexGuard<'_, Estate> {
        self.estate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn not_found(resource: &ResourceRef) -> ProviderError {
        ProviderError::Api {
            operation: "read".to_owned(),
            resource: resource.id.clone(),
            reason: "no such resource in the sandbox".to_owned(),
            retryable: false,
        }
    }

    fn read_bucket(&self, resource: &ResourceRef) -> Result<SandboxBucket> {
        self.bucket(&resource.name)
            .ok_or_else(|| Self::not_found(resource))
    }

    fn read_user(&self, resource: &ResourceRef) -> Result<SandboxUser> {
        self.user(&resource.name)
            .ok_or_else(|| Self::not_found(resource))
    }

    fn write_acl(self: &Arc<Self>, resource: &ResourceRef, acl: BucketAcl) -> Result<()> {
        {
            let mut estate = self.estate();
            let bucket = estate
                .buckets
                .get_mut(&resource.name)
                .ok_or_else(|| Self::not_found(resource))?;
            if bucket.block_public_acls && acl.grants_public_read() {
                return Err(ProviderError::Refused {
                    operation: "PutBucketAcl".to_owned(),
                    resource: resource.id.clone(),
                    reason: "AccessDenied: Block Public Access is on for this bucket".to_owned(),
                });
            }
            bucket.acl = acl;
        }
        self.changed(resource);
        Ok(())
    }

    fn write_attached(
        self: &Arc<Self>,
        resource: &ResourceRef,
        attached: AttachedPolicies,
    ) -> Result<()> {
        self.estate()
            .users
            .get_mut(&resource.name)
            .ok_or_else(|| Self::not_found(resource))?
            .attached = attached;
        self.changed(resource);
        Ok(())
    }

    /// Whether `fault_id`'s misconfiguration is on the resource now.
    fn misconfigured(&self, fault_id: &str, resource: &ResourceRef) -> bool {
        match fault_id {
            model::BucketPublicAcl::ID => self
                .bucket(&resource.name)
                .is_some_and(|bucket| model::BucketPublicAcl::is_present(&bucket.acl)),
            model::UserAdminPolicyAttached::ID => self
                .user(&resource.name)
                .is_some_and(|user| model::UserAdminPolicyAttached::is_present(&user.attached)),
            _ => false,
        }
    }

    /// Lets every control that watches this resource look at it after its delay.
    fn changed(self: &Arc<Self>, resource: &ResourceRef) {
        for control in &self.controls {
            let in_scope = rdfi_core::catalogue::find(&control.fault_id)
                .is_some_and(|model| model.resource_type == resource.resource_type)
                && control.scope_tag.as_ref().is_none_or(|(key, value)| {
                    resource.tags.get(key).is_some_and(|found| found == value)
                });
            if !in_scope || !self.misconfigured(&control.fault_id, resource) {
                continue;
            }
            let account = Arc::clone(self);
            let control = control.clone();
            let resource = resource.clone();
            tokio::spawn(async move {
                tokio::time::sleep(control.delay).await;
                if account.misconfigured(&control.fault_id, &resource) {
                    account.act(&control, &resource);
                }
            });
        }
    }

    fn act(self: &Arc<Self>, control: &Control, resource: &ResourceRef) {
        match control.action {
            ControlAction::Detect => {
                // No receiver is not an error: nobody is listening to this sandbox.
                let _ = self.signals.send(DetectionSignal {
                    resource: resource.id.clone(),
                    source: control.name.clone(),
                    title: format!("{} on {}", control.fault_id, resource.name),
                    severity: "high".to_owned(),
                });
            }
            ControlAction::Correct => {
                let outcome = match control.fault_id.as_str() {
                    model::BucketPublicAcl::ID => self.read_bucket(resource).and_then(|bucket| {
                        self.write_acl(resource, bucket.acl.without_public_grants())
                    }),
                    "aws.iam.user-admin-policy-attached" => {
                        self.read_user(resource).and_then(|user| {
                            let mut attached = user.attached;
                            attached.policy_arns.remove(ADMINISTRATOR_ACCESS_ARN);
                            self.write_attached(resource, attached)
                        })
                    }
                    _ => Ok(()),
                };
                if let Err(error) = outcome {
                    tracing::warn!(control = %control.name, %error, "sandbox corrective control failed");
                }
            }
        }
    }
}

/// The sandbox as a [`Provider`].
pub struct SandboxProvider {
    faults: DriverSet<Arc<SandboxAccount>>,
}

impl SandboxProvider {
    pub fn new(account: Arc<SandboxAccount>) -> Self {
        SandboxProvider {
            faults: DriverSet::new(
                "sandbox",
                account,
                vec![Box::new(PublicAclDriver), Box::new(AdminPolicyDriver)],
            ),
        }
    }

    pub fn account(&self) -> &Arc<SandboxAccount> {
        self.faults.clients()
    }
}

#[async_trait]
impl Provider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn faults(&self) -> &dyn FaultOperations {
        &self.faults
    }

    async fn discover(&self, resource_type: &str) -> Result<Vec<ResourceRef>> {
        let estate = self.account().estate();
        match resource_type {
            BUCKET => Ok(estate
                .buckets
                .iter()
                .map(|(name, bucket)| bucket_ref(name, &bucket.tags))
                .collect()),
            USER => Ok(estate
                .users
                .iter()
                .map(|(name, user)| user_ref(name, &user.tags))
                .collect()),
            other => Err(ProviderError::Config(format!(
                "the sandbox has no resources of type {other:?}"
            ))),
        }
    }

    async fn tags(&self, resource: &ResourceRef) -> Result<BTreeMap<String, String>> {
        match resource.resource_type.as_str() {
            BUCKET => Ok(self.account().read_bucket(resource)?.tags),
            USER => Ok(self.account().read_user(resource)?.tags),
            _ => Err(SandboxAccount::not_found(resource)),
        }
    }

    fn detection_signals(&self) -> Option<broadcast::Receiver<DetectionSignal>> {
        Some(self.account().signals.subscribe())
    }
}

struct PublicAclDriver;

#[async_trait]
impl StateDriver<Arc<SandboxAccount>> for PublicAclDriver {
    type Fault = model::BucketPublicAcl;

    async fn read(
        &self,
        account: &Arc<SandboxAccount>,
        resource: &ResourceRef,
    ) -> Result<BucketAcl> {
        Ok(account.read_bucket(resource)?.acl)
    }

    async fn inject(
        &self,
        account: &Arc<SandboxAccount>,
        resource: &ResourceRef,
        before: &BucketAcl,
    ) -> Result<()> {
        account.write_acl(resource, before.with_public_read())
    }

    async fn revert(
        &self,
        account: &Arc<SandboxAccount>,
        resource: &ResourceRef,
        before: &BucketAcl,
    ) -> Result<()> {
        account.write_acl(resource, before.clone())
    }
}

struct AdminPolicyDriver;

#[async_trait]
impl StateDriver<Arc<SandboxAccount>> for AdminPolicyDriver {
    type Fault = model::UserAdminPolicyAttached;

    async fn read(
        &self,
        account: &Arc<SandboxAccount>,
        resource: &ResourceRef,
    ) -> Result<AttachedPolicies> {
        Ok(account.read_user(resource)?.attached)
    }

    async fn inject(
        &self,
        account: &Arc<SandboxAccount>,
        resource: &ResourceRef,
        before: &AttachedPolicies,
    ) -> Result<()> {
        let mut attached = before.clone();
        attached
            .policy_arns
            .insert(ADMINISTRATOR_ACCESS_ARN.to_owned());
        account.write_attached(resource, attached)
    }

    async fn revert(
        &self,
        account: &Arc<SandboxAccount>,
        resource: &ResourceRef,
        before: &AttachedPolicies,
    ) -> Result<()> {
        let mut now = account.read_user(resource)?.attached;
        if !before.has_administrator_access() {
            now.policy_arns.remove(ADMINISTRATOR_ACCESS_ARN);
        }
        account.write_attached(resource, now)
    }
}
