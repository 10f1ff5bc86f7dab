//! Account-level settings as resources: the password policy, EBS encryption by default, the GuardDuty detector,
//! the AWS Config recorder and Security Hub belong to an account (and region), not to a taggable resource, so
//! they cannot carry the opt-in tag themselves.
//!
//! An account opts in to faults on its account-level settings with a marker: the customer managed IAM policy
//! named [`MARKER_POLICY`] (path `/`, attached to no one, any document). Its tags stand for the account's: every
//! account-level resource discovered carries the marker's tags, and the executor's guard reads them again
//! before each injection, so the opt-in tag, `rdfi-protected` and the experiment's selector decide as they do
//! for any resource. Without the marker, no account-level resource is discovered and none can be targeted;
//! without the opt-in tag on it, the account is seen and left alone. docs/targeting.md says how to opt in.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_iam::error::ProvideErrorMetadata;
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, caller_arn, sdk_error};
use crate::{ProviderError, Result};

/// The name of the customer managed IAM policy whose tags opt the account in.
pub const MARKER_POLICY: &str = "rdfi-account-opt-in";

/// The account field of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`).
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

/// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`).
fn partition_of(arn: &str) -> &str {
    arn.split(':').nth(1).unwrap_or("aws")
}

/// The ARN of the account's opt-in marker.
fn marker_arn(caller: &str, account: &str) -> String {
    format!(
        "arn:{}:iam::{account}:policy/{MARKER_POLICY}",
        partition_of(caller)
    )
}

/// The account a discovery runs in, to name its settings by ARN.
pub(crate) struct Account {
    pub id: String,
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
}

impl Account {
    /// The ARN of `resource` of `service` in this account and `region`:
    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
    pub fn arn(&self, service: &str, region: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{region}:{}:{resource}",
            self.partition, self.id
        )
    }
}

/// The account and the marker's tags, or `None` when the account has no marker (it has not opted in).
async fn marker(clients: &AwsClients) -> Result<Option<(Account, BTreeMap<String, String>)>> {
    let caller = caller_arn(clients).await?;
    let account = account_of(&caller)
        .ok_or_else(|| ProviderError::Api {
            operation: "GetCallerIdentity".to_owned(),
            resource: "caller".to_owned(),
            reason: format!("{caller} names no account"),
            retryable: false,
            throttled: false,
        })?
        .to_owned();
    let arn = marker_arn(&caller, &account);
    let mut tags = BTreeMap::new();
    let mut marker = None;
    loop {
        let answer = clients
            .iam
            .list_policy_tags()
            .policy_arn(&arn)
            .set_marker(marker.take())
            .send()
            .await;
        let page = match answer {
            Ok(page) => page,
            Err(error) if error.code() == Some("NoSuchEntity") => return Ok(None),
            Err(error) => return Err(sdk_error("ListPolicyTags", &arn, error)),
        };
        for tag in page.tags() {
            tags.insert(tag.key().to_owned(), tag.value().to_owned());
        }
        match page.marker() {
            Some(next) if page.is_truncated() => marker = Some(next.to_owned()),
            _ => {
                let account = Account {
                    partition: partition_of(&caller).to_owned(),
                    id: account,
                };
                return Ok(Some((account, tags)));
            }
        }
    }
}

/// The account-level setting `resource_type` of this account (and the clients' region where the setting is
/// regional), carrying the marker's tags, named `name` and identified by `id(account)`; none when the account
/// has no marker.
#[allow(
    dead_code,
    reason = "for the settings an account has exactly one of (its password policy, EBS encryption by default), whose faults are added beside these"
)]
pub(crate) async fn discover_setting(
    clients: &AwsClients,
    resource_type: &str,
    name: &str,
    regional: bool,
    id: impl FnOnce(&str) -> String,
) -> Result<Vec<ResourceRef>> {
    discover_settings(clients, resource_type, regional, |account| async move {
        Ok(vec![(name.to_owned(), id(&account.id))])
    })
    .await
}

/// The account-level settings `resource_type` of this account (and the clients' region where they are
/// regional) that `settings` finds, as (name, id) pairs, for a type of which an account may have several or
/// none (GuardDuty detectors, Config recorders), each carrying the marker's tags; none, and `settings` is not
/// called, when the account has no marker.
pub(crate) async fn discover_settings<F>(
    clients: &AwsClients,
    resource_type: &str,
    regional: bool,
    settings: impl FnOnce(Account) -> F,
) -> Result<Vec<ResourceRef>>
where
    F: Future<Output = Result<Vec<(String, String)>>>,
{
    let Some((account, tags)) = marker(clients).await? else {
        return Ok(Vec::new());
    };
    let region = if regional {
        clients.region.clone()
    } else {
        String::new()
    };
    Ok(settings(account)
        .await?
        .into_iter()
        .map(|(name, id)| ResourceRef {
            exposure: String::new(),
            provider: "aws".to_owned(),
            resource_type: resource_type.to_owned(),
            id,
            name,
            region: region.clone(),
            tags: tags.clone().into_iter().collect(),
        })
        .collect())
}

/// The tags of an account-level setting: the marker's, none when the marker is gone (the account left).
pub(crate) async fn setting_tags(clients: &AwsClients) -> Result<BTreeMap<String, String>> {
    Ok(marker(clients)
        .await?
        .map(|(_, tags)| tags)
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_in_the_callers_partition_and_account() {
        let caller = "arn:aws-cn:sts::123456789012:assumed-role/rdfi-executor/s";
        assert_eq!(account_of(caller), Some("123456789012"));
        assert_eq!(
            marker_arn(caller, "123456789012"),
            "arn:aws-cn:iam::123456789012:policy/rdfi-account-opt-in"
        );
        assert_eq!(account_of("arn:aws:iam:::policy/x"), None);
        assert_eq!(partition_of("arn:aws:iam::1:root"), "aws");
    }
}
