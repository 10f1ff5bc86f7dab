//! Account-level settings as resources: the password policy, EBS encryption by default, the GuardDuty detector,
//! the AWS Config recorder and Security Hub belong to an account (and region), not to a taggable resource, so
//! they cannot carry the opt-in tag themselves.
//!
//! An account opts in to faults on its account-level settings with a marker: the customer managed IAM policy
//! named [`MARKER_POLICY`] (path `/`, attached to no one, any document). Its tags stand for the account's: every
//! account-level resource discovered carries the marker's tags, and the executor's guard reads them again
//! before each injection, so the opt-in tag, `rdfi-protected` and the experiment's selector decide as they do
//! for any resource. Without the marker, no account-level resource is discovered and none can be targeted;
//! without the opt-in tag on it, the account is seen and left alone. docs/deploy.md (step 5) says how to opt in.

use std::collections::BTreeMap;
use std::future::Future;

use async_trait::async_trait;
use aws_sdk_iam::error::ProvideErrorMetadata;
use rdfi_proto::v1::ResourceRef;

use super::switch::{AwsSwitch, SwitchDriver};
use super::{AwsClients, caller_arn, sdk_error};
use crate::model::FaultSemantics;
use crate::model::account::{self as model, EbsEncryptionByDefault, PasswordPolicy, PasswordRules};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

/// The account's own IAM password policy.
pub const PASSWORD_POLICY: &str = "aws.iam.account-password-policy";
/// Whether new EBS volumes of the region are encrypted by default.
pub const EBS_ENCRYPTION_DEFAULT: &str = "aws.ec2.ebs-encryption-default";

pub(crate) const RESOURCE_TYPES: &[&str] = &[PASSWORD_POLICY, EBS_ENCRYPTION_DEFAULT];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![
        Box::new(PasswordPolicyDriver),
        Box::new(SwitchDriver::<EbsEncryptionByDefault>::new()),
    ]
}

/// The account's password policy (one per account) or the region's EBS encryption default, when the account
/// opted in.
pub(crate) async fn discover(
    clients: &AwsClients,
    resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    if resource_type == PASSWORD_POLICY {
        discover_setting(
            clients,
            PASSWORD_POLICY,
            "account-password-policy",
            false,
            |account| format!("arn:aws:iam::{account}:account-password-policy"),
        )
        .await
    } else {
        let region = clients.region.clone();
        discover_setting(
            clients,
            EBS_ENCRYPTION_DEFAULT,
            "ebs-encryption-by-default",
            true,
            |account| format!("arn:aws:ec2:{region}:{account}:ebs-encryption-by-default"),
        )
        .await
    }
}

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
pub(crate) async fn tags(
    clients: &AwsClients,
    _resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    setting_tags(clients).await
}

/// The marker's tags, for any account-level setting; none when the marker is gone (the account left).
pub(crate) async fn setting_tags(clients: &AwsClients) -> Result<BTreeMap<String, String>> {
    Ok(marker(clients)
        .await?
        .map(|(_, tags)| tags)
        .unwrap_or_default())
}

async fn password_policy(clients: &AwsClients, resource: &ResourceRef) -> Result<PasswordPolicy> {
    let rules = match clients.iam.get_account_password_policy().send().await {
        Ok(answer) => answer.password_policy().map(|policy| PasswordRules {
            minimum_length: policy.minimum_password_length().unwrap_or(6),
            require_symbols: policy.require_symbols(),
            require_numbers: policy.require_numbers(),
            require_uppercase: policy.require_uppercase_characters(),
            require_lowercase: policy.require_lowercase_characters(),
            allow_users_to_change: policy.allow_users_to_change_password(),
            max_age_days: policy.max_password_age().filter(|days| *days > 0),
            reuse_prevention: policy
                .password_reuse_prevention()
                .filter(|count| *count > 0),
            hard_expiry: policy.hard_expiry().unwrap_or(false),
        }),
        Err(error) if error.code() == Some("NoSuchEntity") => None,
        Err(error) => return Err(sdk_error("GetAccountPasswordPolicy", &resource.id, error)),
    };
    Ok(PasswordPolicy { rules })
}

/// Writes the whole policy: UpdateAccountPasswordPolicy resets every rule it is not given to IAM's default, so
/// every rule is sent; no rules is DeleteAccountPasswordPolicy.
async fn write_password_policy(
    clients: &AwsClients,
    resource: &ResourceRef,
    policy: &PasswordPolicy,
) -> Result<()> {
    let Some(rules) = &policy.rules else {
        clients
            .iam
            .delete_account_password_policy()
            .send()
            .await
            .map_err(|error| sdk_error("DeleteAccountPasswordPolicy", &resource.id, error))?;
        return Ok(());
    };
    clients
        .iam
        .update_account_password_policy()
        .minimum_password_length(rules.minimum_length)
        .require_symbols(rules.require_symbols)
        .require_numbers(rules.require_numbers)
        .require_uppercase_characters(rules.require_uppercase)
        .require_lowercase_characters(rules.require_lowercase)
        .allow_users_to_change_password(rules.allow_users_to_change)
        .set_max_password_age(rules.max_age_days)
        .set_password_reuse_prevention(rules.reuse_prevention)
        .hard_expiry(rules.hard_expiry)
        .send()
        .await
        .map_err(|error| sdk_error("UpdateAccountPasswordPolicy", &resource.id, error))?;
    Ok(())
}

/// `aws.iam.account-password-policy-weakened`: writes the weakened policy; the revert writes the target, the
/// policy just read with the fault's rules undone, so a rule someone tightened meanwhile stays.
pub(crate) struct PasswordPolicyDriver;

#[async_trait]
impl StateDriver<AwsClients> for PasswordPolicyDriver {
    type Fault = model::AccountPasswordPolicyWeakened;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<PasswordPolicy> {
        password_policy(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &PasswordPolicy,
    ) -> Result<()> {
        write_password_policy(clients, resource, &Self::Fault::inject(before)).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<PasswordPolicy>,
        target: &PasswordPolicy,
    ) -> Result<()> {
        write_password_policy(clients, resource, target).await
    }
}

impl AwsSwitch for EbsEncryptionByDefault {
    async fn is_on(clients: &AwsClients, resource: &ResourceRef) -> Result<bool> {
        let answer = clients
            .ec2
            .get_ebs_encryption_by_default()
            .send()
            .await
            .map_err(|error| sdk_error("GetEbsEncryptionByDefault", &resource.id, error))?;
        Ok(answer.ebs_encryption_by_default().unwrap_or(false))
    }

    async fn switch(clients: &AwsClients, resource: &ResourceRef, on: bool) -> Result<()> {
        if on {
            clients
                .ec2
                .enable_ebs_encryption_by_default()
                .send()
                .await
                .map_err(|error| sdk_error("EnableEbsEncryptionByDefault", &resource.id, error))?;
        } else {
            clients
                .ec2
                .disable_ebs_encryption_by_default()
                .send()
                .await
                .map_err(|error| sdk_error("DisableEbsEncryptionByDefault", &resource.id, error))?;
        }
        Ok(())
    }
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
