//! KMS: key rotation, key policies and grants.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::iam::EXTERNAL_ACCOUNT_ROOT;
use super::resource_policy::{PolicyDocument, PolicyOpenedToEveryone, PublicGrant};
use super::s3::EXTERNAL_ACCOUNT_ID;
use super::switch::{Protection, SwitchedOff};
use super::{FaultSemantics, FaultState, register_faults};

register_faults![
    KeyRotationDisabled,
    KeyPolicyPublic,
    KeyDisabled,
    KeyScheduledForDeletion,
    KeyGrantExternalAccount,
];

/// Whether a customer managed key's material rotates automatically, and how often.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotation {
    pub rotation_enabled: bool,
    /// Days between rotations, where KMS reports it (it may not, e.g. emulators); kept so that the revert
    /// re-enables rotation with the same period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<i32>,
}

impl FaultState for KeyRotation {}

/// `aws.kms.key-rotation-disabled`: automatic rotation turned off on a key that had it.
pub struct KeyRotationDisabled;

impl FaultSemantics for KeyRotationDisabled {
    const ID: &'static str = "aws.kms.key-rotation-disabled";
    const PRESENT: &'static str = "automatic rotation of the key is disabled";
    const ASPECT: &'static str = "kms.key-rotation";
    type State = KeyRotation;

    fn is_present(rotation: &KeyRotation) -> bool {
        !rotation.rotation_enabled
    }

    fn inject(rotation: &KeyRotation) -> KeyRotation {
        KeyRotation {
            rotation_enabled: false,
            ..rotation.clone()
        }
    }

    fn remediate(current: &KeyRotation) -> KeyRotation {
        KeyRotation {
            rotation_enabled: true,
            ..current.clone()
        }
    }

    fn describe(rotation: &KeyRotation) -> String {
        match rotation.rotation_period_in_days {
            Some(days) => format!("DisableKeyRotation: stop rotating the key every {days} days"),
            None => "DisableKeyRotation: stop rotating the key".to_owned(),
        }
    }

    fn example() -> KeyRotation {
        KeyRotation {
            rotation_enabled: true,
            rotation_period_in_days: Some(365),
        }
    }
}

/// A key's `default` key policy document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPolicy {
    pub document: Value,
}

impl FaultState for KeyPolicy {}

impl PolicyDocument for KeyPolicy {
    fn document(&self) -> Option<&Value> {
        Some(&self.document)
    }

    /// A key always has its policy: one left without statements is written as such.
    fn with_document(&self, document: Value) -> Self {
        KeyPolicy { document }
    }
}

/// `aws.kms.key-policy-public`: anyone may decrypt with the key.
pub type KeyPolicyPublic = PolicyOpenedToEveryone<PublicDecrypt>;

/// Everyone allowed kms:Decrypt on the key.
pub struct PublicDecrypt;

impl PublicGrant for PublicDecrypt {
    const ID: &'static str = "aws.kms.key-policy-public";
    const PRESENT: &'static str = "the key policy lets anyone (*) decrypt with the key";
    const ASPECT: &'static str = "kms.key-policy";
    const SID: &'static str = "RdfiFaultPublicDecrypt";
    const ACTIONS: &'static [&'static str] = &["kms:Decrypt"];
    const OPERATION: &'static str = "PutKeyPolicy";
    type State = KeyPolicy;

    /// In a key policy, `"Resource": "*"` is the key itself.
    fn statement_resource(_policy: &KeyPolicy) -> Option<Value> {
        Some(json!("*"))
    }

    /// The usual shape: the account's IAM policies decide, one admin role manages, one app role uses.
    fn example() -> KeyPolicy {
        KeyPolicy {
            document: json!({
                "Version": "2012-10-17",
                "Id": "key-default-1",
                "Statement": [
                    {
                        "Sid": "EnableIamPolicies",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "KeyAdministrators",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/key-admin"},
                        "Action": ["kms:Describe*", "kms:Enable*", "kms:Put*", "kms:ScheduleKeyDeletion"],
                        "Resource": "*",
                    },
                    {
                        "Sid": "KeyUsers",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"},
                        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                    },
                ],
            }),
        }
    }
}

/// The key can be used: it encrypts and decrypts.
pub struct KeyEnabled;

impl Protection for KeyEnabled {
    const ID: &'static str = "aws.kms.key-disabled";
    const PRESENT: &'static str = "the key is disabled";
    const ASPECT: &'static str = "kms.key-state";
    const OPERATION: &'static str =
        "DisableKey: data encrypted under the key cannot be decrypted until it is enabled again";
}

/// `aws.kms.key-disabled`.
pub type KeyDisabled = SwitchedOff<KeyEnabled>;

/// The key is enabled and not scheduled for deletion. A disabled key reads as off too, so the fault is injected
/// only into an enabled key and its revert (cancel the deletion, enable) brings back exactly that.
pub struct KeyNotPendingDeletion;

impl Protection for KeyNotPendingDeletion {
    const ID: &'static str = "aws.kms.key-scheduled-for-deletion";
    const PRESENT: &'static str = "the key is not enabled (scheduled for deletion, or disabled)";
    const ASPECT: &'static str = "kms.key-deletion";
    const OPERATION: &'static str = "ScheduleKeyDeletion: the key is disabled and deleted in 7 days unless the deletion is cancelled";
}

/// `aws.kms.key-scheduled-for-deletion`.
pub type KeyScheduledForDeletion = SwitchedOff<KeyNotPendingDeletion>;
/// One grant on a key, as the grant fault tells grants apart: its name, who it lets do what, and who may
/// retire it. KMS gives each grant an id of its own making, which the fault's semantics cannot know before
/// the grant exists: the driver finds the ids of the grants to revoke again from these fields.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyGrant {
    pub name: String,
    pub grantee_principal: String,
    /// The grant operations (`Decrypt`), sorted.
    pub operations: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
}

impl KeyGrant {
    /// The grant with its operations sorted.
    pub fn canonical(mut self) -> KeyGrant {
        self.operations.sort_unstable();
        self.operations.dedup();
        self
    }

    /// Whether the grant lets a principal of the external account use the key.
    fn is_external(&self) -> bool {
        self.grantee_principal.split(':').nth(4) == Some(EXTERNAL_ACCOUNT_ID)
    }
}

/// The grants of a key, sorted; KMS may hold two grants alike, so a list, not a set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGrants {
    pub grants: Vec<KeyGrant>,
}

impl FaultState for KeyGrants {
    fn canonical(self) -> Self {
        let mut grants: Vec<KeyGrant> = self.grants.into_iter().map(KeyGrant::canonical).collect();
        grants.sort_unstable();
        KeyGrants { grants }
    }
}

/// The name of the grant the external-account fault creates.
pub const EXTERNAL_GRANT_NAME: &str = "rdfi-fault-external-decrypt";

/// `aws.kms.key-grant-external-account`: a grant lets the external account [`EXTERNAL_ACCOUNT_ROOT`] decrypt
/// with the key. Grants bypass the key policy: the key policy still reads as before.
pub struct KeyGrantExternalAccount;

impl KeyGrantExternalAccount {
    /// The grant the fault creates.
    pub fn grant() -> KeyGrant {
        KeyGrant {
            name: EXTERNAL_GRANT_NAME.to_owned(),
            grantee_principal: EXTERNAL_ACCOUNT_ROOT.to_owned(),
            operations: vec!["Decrypt".to_owned()],
            retiring_principal: None,
        }
    }
}

impl FaultSemantics for KeyGrantExternalAccount {
    const ID: &'static str = "aws.kms.key-grant-external-account";
    const PRESENT: &'static str = "a grant lets account 999999999999 use the key";
    const ASPECT: &'static str = "kms.key-grants";
    type State = KeyGrants;

    fn is_present(grants: &KeyGrants) -> bool {
        grants.grants.iter().any(KeyGrant::is_external)
    }

    fn inject(before: &KeyGrants) -> KeyGrants {
        let mut grants = before.grants.clone();
        grants.push(Self::grant());
        KeyGrants { grants }.canonical()
    }

    /// Every grant to the external account revoked; the others kept.
    fn remediate(current: &KeyGrants) -> KeyGrants {
        KeyGrants {
            grants: current
                .grants
                .iter()
                .filter(|grant| !grant.is_external())
                .cloned()
                .collect(),
        }
    }

    fn describe(before: &KeyGrants) -> String {
        format!(
            "CreateGrant: let {EXTERNAL_ACCOUNT_ROOT} Decrypt with the key beside {} grant(s)",
            before.grants.len()
        )
    }

    /// An application role encrypting and decrypting, and EC2 Auto Scaling's service-linked role using the key
    /// for encrypted volumes (the grant AWS documents for it, retirable by the role itself).
    fn example() -> KeyGrants {
        let autoscaling = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
        KeyGrants {
            grants: vec![
                KeyGrant {
                    name: "order-service".to_owned(),
                    grantee_principal: "arn:aws:iam::123456789012:role/order-service".to_owned(),
                    operations: ["Encrypt", "Decrypt", "GenerateDataKey"]
                        .map(str::to_owned)
                        .to_vec(),
                    retiring_principal: None,
                },
                KeyGrant {
                    name: "autoscaling-volumes".to_owned(),
                    grantee_principal: autoscaling.to_owned(),
                    operations: [
                        "Decrypt",
                        "GenerateDataKeyWithoutPlaintext",
                        "ReEncryptFrom",
                        "ReEncryptTo",
                        "CreateGrant",
                        "DescribeKey",
                    ]
                    .map(str::to_owned)
                    .to_vec(),
                    retiring_principal: Some(autoscaling.to_owned()),
                },
            ],
        }
        .canonical()
    }
}
