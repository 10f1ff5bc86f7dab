//! EC2: security groups, EBS snapshots, AMIs.

use std::collections::BTreeMap;

use rdfi_proto::v1::ResourceRef;

use super::AwsClients;
use crate::{FaultDriver, ProviderError, Result};

pub(crate) const RESOURCE_TYPES: &[&str] = &[];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    Vec::new()
}

pub(crate) async fn discover(
    _clients: &AwsClients,
    resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    Err(ProviderError::Config(format!(
        "no {resource_type} in this module yet"
    )))
}

pub(crate) async fn tags(
    _clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    Err(ProviderError::Config(format!(
        "no {} in this module yet",
        resource.resource_type
    )))
}
