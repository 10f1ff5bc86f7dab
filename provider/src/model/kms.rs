//! KMS: key rotation and key policies.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::resource_policy::{PolicyDocument, PolicyOpenedToEveryone, PublicGrant};
use super::switch::{Protection, SwitchedOff};
use super::{FaultSemantics, FaultState, register_faults};

register_faults![
    KeyRotationDisabled,
    KeyPolicyPublic,
    KeyDisabled,
    KeyScheduledForDeletion,
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
