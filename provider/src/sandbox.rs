//! The sandbox: an in-memory cloud account whose resources (AWS-like and GCS-like) hold the states the fault
//! semantics describe, one per aspect, and whose built-in security controls answer faults as cloud controls
//! do: a preventive control refuses the change, a detective one raises a signal after a delay, a corrective one
//! removes the misconfiguration after a delay. Every fault of the catalogue runs on it through
//! [`SandboxDriver`], from its [`FaultSemantics`] alone, so the sandbox means what the real providers mean.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::exposure::{self, AnonymousAnswer, Canary, OutsiderRead};
use crate::model::{self, FaultSemantics};
use crate::refusal::{Attribution, ControlType, NamedControl};
use crate::{
    DetectionSignal, DriverSet, FaultOperations, Provider, ProviderError, Result, StateDriver,
    Versioned, to_snapshot, typed_state,
};

const ACCOUNT_ID: &str = "000000000000";

/// What a built-in control does about the misconfiguration it watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlAction {
    /// Refuse the change (like S3 Block Public Access, an SCP or an org policy).
    Prevent,
    /// Raise a detection signal naming the resource, after the delay.
    Detect,
    /// Remove the misconfiguration, after the delay.
    Correct,
    /// Accept the change but make its grant ineffective: anonymous reads it would allow are refused (like S3
    /// Block Public Access's IgnorePublicAcls and RestrictPublicBuckets, or GCS public access prevention).
    Neutralize,
}

/// A built-in security control watching one fault's misconfiguration on resources carrying `scope_tag`
/// (every resource of the fault's type when `None`).
#[derive(Clone, Debug)]
pub struct Control {
    pub name: String,
    pub fault_id: String,
    pub scope_tag: Option<(String, String)>,
    pub delay: Duration,
    pub action: ControlAction,
}

impl Control {
    fn watches(&self, fault_id: &str, resource: &ResourceRef) -> bool {
        self.fault_id == fault_id
            && self.scope_tag.as_ref().is_none_or(|(key, value)| {
                resource.tags.get(key).is_some_and(|found| found == value)
            })
    }
}

/// One resource: its reference (with tags) and the states written to it, per aspect.
#[derive(Clone, Debug)]
pub struct SandboxResource {
    pub resource: ResourceRef,
    pub aspects: BTreeMap<String, Value>,
    /// The objects in a bucket, by key: their content.
    pub objects: BTreeMap<String, String>,
}

impl SandboxResource {
    /// The state of an aspect: as last written, or else the example state of the faults aimed at this
    /// resource's type that change it (kept implicit, so a large estate costs little memory).
    pub fn aspect(&self, aspect: &str) -> Option<Value> {
        self.aspects.get(aspect).cloned().or_else(|| {
            rdfi_core::catalogue::all()
                .filter(|entry| entry.resource_type == self.resource.resource_type)
                .filter_map(|entry| model::find(entry.id))
                .find(|fault| fault.aspect() == aspect)
                .map(|fault| fault.example())
        })
    }
}

/// The in-memory account.
pub struct SandboxAccount {
    resources: Mutex<BTreeMap<String, SandboxResource>>,
    controls: Vec<Control>,
    signals: broadcast::Sender<DetectionSignal>,
}

impl Default for SandboxAccount {
    fn default() -> Self {
        SandboxAccount {
            resources: Mutex::default(),
            controls: Vec::new(),
            signals: broadcast::channel(1024).0,
        }
    }
}

/// The id a sandbox resource gets: the ARN its AWS twin would have, or a sandbox URN.
pub fn resource_id(resource_type: &str, name: &str) -> String {
    match resource_type {
        "aws.s3.bucket" => format!("arn:aws:s3:::{name}"),
        "aws.iam.user" => format!("arn:aws:iam::{ACCOUNT_ID}:user/{name}"),
        "aws.iam.role" => format!("arn:aws:iam::{ACCOUNT_ID}:role/{name}"),
        other => format!("sandbox:{other}/{name}"),
    }
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

    /// The demo estate: two opted-in buckets (one watched by a public-ACL detector), an archive bucket that is
    /// not opted in, two opted-in users watched by an admin-policy reconciler, and one opted-in resource of
    /// every other type the catalogue's faults aim at, so that an experiment on the sandbox can use any fault.
    pub fn demo() -> Self {
        let bucket = "aws.s3.bucket";
        let user = "aws.iam.user";
        let mut other_types: Vec<&str> = rdfi_core::catalogue::all()
            .map(|entry| entry.resource_type)
            .filter(|resource_type| ![bucket, user].contains(resource_type))
            .collect();
        other_types.sort_unstable();
        other_types.dedup();
        let account =
            other_types
                .into_iter()
                .fold(SandboxAccount::new(), |account, resource_type| {
                    let name = format!(
                        "demo-{}",
                        resource_type.rsplit('.').next().unwrap_or(resource_type)
                    );
                    account.with_resource(resource_type, &name, tags(&[("rdfi-target", "true")]))
                });
        account
            .with_resource(
                bucket,
                "payments-exports",
                tags(&[
                    ("rdfi-target", "true"),
                    ("monitored", "true"),
                    ("team", "payments"),
                ]),
            )
            .with_resource(
                bucket,
                "ml-training-data",
                tags(&[("rdfi-target", "true"), ("team", "ml")]),
            )
            .with_resource(bucket, "audit-archive", tags(&[("team", "security")]))
            .with_resource(user, "ci-deployer", tags(&[("rdfi-target", "true")]))
            .with_resource(
                user,
                "data-analyst",
                tags(&[("rdfi-target", "true"), ("team", "ml")]),
            )
            .with_control(Control {
                name: "s3-public-acl-detector".to_owned(),
                fault_id: model::s3::BucketPublicAcl::ID.to_owned(),
                scope_tag: Some(("monitored".to_owned(), "true".to_owned())),
                delay: Duration::from_millis(400),
                action: ControlAction::Detect,
            })
            .with_control(Control {
                name: "iam-admin-reconciler".to_owned(),
                fault_id: model::iam::UserAdminPolicyAttached::ID.to_owned(),
                scope_tag: None,
                delay: Duration::from_millis(700),
                action: ControlAction::Correct,
            })
    }

    /// Adds a resource whose aspects start as the example state of every fault aimed at its type.
    pub fn with_resource(
        self,
        resource_type: &str,
        name: &str,
        tags: BTreeMap<String, String>,
    ) -> Self {
        let resource = ResourceRef {
            exposure: String::new(),
            provider: "sandbox".to_owned(),
            resource_type: resource_type.to_owned(),
            id: resource_id(resource_type, name),
            name: name.to_owned(),
            region: "sandbox".to_owned(),
            tags: tags.into_iter().collect(),
        };
        self.lock().insert(
            resource.id.clone(),
            SandboxResource {
                resource,
                aspects: BTreeMap::new(),
                objects: BTreeMap::new(),
            },
        );
        self
    }

    /// Sets one aspect of a resource (by name) to a given state.
    pub fn with_aspect(self, name: &str, aspect: &str, state: Value) -> Self {
        if let Some(resource) = self
            .lock()
            .values_mut()
            .find(|found| found.resource.name == name)
        {
            resource.aspects.insert(aspect.to_owned(), state);
        }
        self
    }

    pub fn with_control(mut self, control: Control) -> Self {
        self.controls.push(control);
        self
    }

    /// The resource with this name.
    pub fn resource(&self, name: &str) -> Option<SandboxResource> {
        self.lock()
            .values()
            .find(|found| found.resource.name == name)
            .cloned()
    }

    /// Whether the named resource carries this fault's misconfiguration now.
    pub fn has_fault(&self, fault_id: &str, name: &str) -> bool {
        let (Some(fault), Some(resource)) = (model::find(fault_id), self.resource(name)) else {
            return false;
        };
        resource
            .aspect(fault.aspect())
            .is_some_and(|state| fault.is_present(&state).unwrap_or(false))
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, SandboxResource>> {
        self.resources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn not_found(resource: &ResourceRef, what: &str) -> ProviderError {
        ProviderError::Api {
            operation: "read".to_owned(),
            resource: resource.id.clone(),
            reason: format!("the sandbox has no {what}"),
            retryable: false,
            throttled: false,
        }
    }

    fn read_aspect(&self, resource: &ResourceRef, aspect: &str) -> Result<Value> {
        let resources = self.lock();
        let found = resources
            .get(&resource.id)
            .ok_or_else(|| Self::not_found(resource, "such resource"))?;
        found
            .aspect(aspect)
            .ok_or_else(|| Self::not_found(resource, &format!("{aspect} state on this resource")))
    }

    fn write_aspect(
        self: &Arc<Self>,
        resource: &ResourceRef,
        aspect: &str,
        state: Value,
    ) -> Result<()> {
        self.lock()
            .get_mut(&resource.id)
            .ok_or_else(|| Self::not_found(resource, "such resource"))?
            .aspects
            .insert(aspect.to_owned(), state);
        self.changed(resource, aspect);
        Ok(())
    }

    /// The object with this key in the named bucket, if it is there.
    pub fn object(&self, name: &str, key: &str) -> Option<String> {
        self.resource(name)
            .and_then(|resource| resource.objects.get(key).cloned())
    }

    fn with_objects<T>(
        &self,
        resource: &ResourceRef,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> T,
    ) -> Result<T> {
        self.lock()
            .get_mut(&resource.id)
            .map(|found| change(&mut found.objects))
            .ok_or_else(|| Self::not_found(resource, "such resource"))
    }

    /// How an anonymous `read` of `key` is answered: allowed when a fault whose grant allows that read is on
    /// the resource and no control neutralizes it; refused (403) otherwise.
    fn answer_anonymously(
        &self,
        resource: &ResourceRef,
        read: OutsiderRead,
        key: &str,
    ) -> AnonymousAnswer {
        let granted = rdfi_core::catalogue::all()
            .filter(|entry| entry.resource_type == resource.resource_type)
            .filter(|entry| exposure::outsider_read(entry.id) == Some(read))
            .filter_map(|entry| model::find(entry.id))
            .filter(|fault| self.misconfigured(*fault, resource))
            .any(|fault| {
                !self.controls.iter().any(|control| {
                    control.action == ControlAction::Neutralize
                        && control.watches(fault.id(), resource)
                })
            });
        if !granted {
            return AnonymousAnswer::Status {
                status: 403,
                code: "AccessDenied".to_owned(),
            };
        }
        let object = self
            .lock()
            .get(&resource.id)
            .and_then(|found| found.objects.get(key).cloned());
        match (read, object) {
            (OutsiderRead::GetObject, Some(content)) => {
                AnonymousAnswer::Object(content.into_bytes())
            }
            (OutsiderRead::GetObject, None) => AnonymousAnswer::Status {
                status: 404,
                code: "NoSuchKey".to_owned(),
            },
            (OutsiderRead::ListObjects, object) => {
                AnonymousAnswer::Listing(object.map(|_| key.to_owned()).into_iter().collect())
            }
        }
    }

    /// The preventive control that refuses this fault on this resource, if any.
    fn preventing(&self, fault_id: &str, resource: &ResourceRef) -> Option<&Control> {
        self.controls.iter().find(|control| {
            control.action == ControlAction::Prevent && control.watches(fault_id, resource)
        })
    }

    /// Lets every detective and corrective control that watches this aspect look at it after its delay.
    fn changed(self: &Arc<Self>, resource: &ResourceRef, aspect: &str) {
        for control in self.controls.iter().filter(|control| {
            matches!(
                control.action,
                ControlAction::Detect | ControlAction::Correct
            )
        }) {
            let Some(fault) = model::find(&control.fault_id) else {
                continue;
            };
            if fault.aspect() != aspect
                || !control.watches(&control.fault_id, resource)
                || !self.misconfigured(fault, resource)
            {
                continue;
            }
            let account = Arc::clone(self);
            let control = control.clone();
            let resource = resource.clone();
            tokio::spawn(async move {
                tokio::time::sleep(control.delay).await;
                if account.misconfigured(fault, &resource) {
                    account.act(fault, &control, &resource);
                }
            });
        }
    }

    fn misconfigured(&self, fault: &dyn model::DynFault, resource: &ResourceRef) -> bool {
        self.read_aspect(resource, fault.aspect())
            .ok()
            .is_some_and(|state| fault.is_present(&state).unwrap_or(false))
    }

    fn act(
        self: &Arc<Self>,
        fault: &dyn model::DynFault,
        control: &Control,
        resource: &ResourceRef,
    ) {
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
                let outcome = self
                    .read_aspect(resource, fault.aspect())
                    .and_then(|state| {
                        fault
                            .remediate(&state)
                            .map_err(|reason| ProviderError::Snapshot {
                                resource: resource.id.clone(),
                                reason,
                            })
                    })
                    .and_then(|remediated| self.write_aspect(resource, fault.aspect(), remediated));
                if let Err(error) = outcome {
                    tracing::warn!(control = %control.name, %error, "sandbox corrective control failed");
                }
            }
            ControlAction::Prevent | ControlAction::Neutralize => {}
        }
    }
}

/// Any fault on the sandbox, from its semantics.
pub struct SandboxDriver<F>(PhantomData<F>);

impl<F> SandboxDriver<F> {
    pub fn new() -> Self {
        SandboxDriver(PhantomData)
    }
}

impl<F> Default for SandboxDriver<F> {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl<F: FaultSemantics> StateDriver<Arc<SandboxAccount>> for SandboxDriver<F> {
    type Fault = F;

    async fn read(
        &self,
        account: &Arc<SandboxAccount>,
        resource: &ResourceRef,
    ) -> Result<F::State> {
        typed_state(resource, &account.read_aspect(resource, F::ASPECT)?)
    }

    async fn inject(
        &self,
        account: &Arc<SandboxAccount>,
        resource: &ResourceRef,
        before: &F::State,
    ) -> Result<()> {
        if let Some(control) = account.preventing(F::ID, resource) {
            return Err(ProviderError::Refused {
                operation: F::ID.to_owned(),
                resource: resource.id.clone(),
                reason: format!(
                    "AccessDenied: refused by the preventive control {}",
                    control.name
                ),
                attribution: Box::new(Attribution::to(
                    NamedControl {
                        name: control.name.clone(),
                        location: "the sandbox account".to_owned(),
                        control_type: ControlType::Sandbox,
                    },
                    Some(F::ID.to_owned()),
                )),
            });
        }
        account.write_aspect(
            resource,
            F::ASPECT,
            to_snapshot(resource, &F::inject(before))?,
        )
    }

    /// Writes the whole target state: the sandbox keeps each aspect as one value.
    async fn revert(
        &self,
        account: &Arc<SandboxAccount>,
        resource: &ResourceRef,
        _current: &Versioned<F::State>,
        target: &F::State,
    ) -> Result<()> {
        account.write_aspect(resource, F::ASPECT, to_snapshot(resource, target)?)
    }
}

/// The sandbox as a [`Provider`].
pub struct SandboxProvider {
    faults: DriverSet<Arc<SandboxAccount>>,
}

impl SandboxProvider {
    pub fn new(account: Arc<SandboxAccount>) -> Self {
        SandboxProvider {
            faults: DriverSet::new("sandbox", account, model::sandbox_drivers()),
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
        Ok(self
            .account()
            .lock()
            .values()
            .filter(|found| found.resource.resource_type == resource_type)
            .map(|found| found.resource.clone())
            .collect())
    }

    async fn tags(&self, resource: &ResourceRef) -> Result<BTreeMap<String, String>> {
        self.account()
            .lock()
            .get(&resource.id)
            .map(|found| found.resource.tags.clone().into_iter().collect())
            .ok_or_else(|| SandboxAccount::not_found(resource, "such resource"))
    }

    async fn place_canary(&self, resource: &ResourceRef, canary: &Canary) -> Result<()> {
        self.account().with_objects(resource, |objects| {
            objects.insert(canary.key.clone(), canary.content.clone());
        })
    }

    async fn read_anonymously(
        &self,
        resource: &ResourceRef,
        read: OutsiderRead,
        canary_key: &str,
    ) -> AnonymousAnswer {
        self.account()
            .answer_anonymously(resource, read, canary_key)
    }

    async fn remove_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<()> {
        self.account().with_objects(resource, |objects| {
            objects.remove(canary_key);
        })
    }

    async fn has_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<bool> {
        self.account()
            .with_objects(resource, |objects| objects.contains_key(canary_key))
    }

    fn detection_signals(&self) -> Option<broadcast::Receiver<DetectionSignal>> {
        Some(self.account().signals.subscribe())
    }
}
