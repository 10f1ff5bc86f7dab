//! Service accounts: their user-managed keys, and whether they are disabled.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{FaultSemantics, FaultState};

/// The description word that marks a key as the one the key fault created: `rdfi-fault-key=KEY_ID`.
///
/// IAM cannot label or describe a key, so the fault writes this word into the service account's description
/// (as `aws.iam.user-access-key-created` tags the user with its key's id): the probe tells the fault's key
/// from the account's own, and the revert deletes exactly that key, never one the account had in the snapshot
/// nor one someone else created meanwhile.
pub const FAULT_KEY_MARKER: &str = "rdfi-fault-key";

/// Google lets a service account have at most this many keys.
pub const KEYS_PER_SERVICE_ACCOUNT: usize = 10;

/// A service account's user-managed keys (Google-managed keys, which Google rotates itself, are not listed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountKeys {
    /// The ids of every user-managed key.
    pub key_ids: BTreeSet<String>,
    /// The keys among them the account's description marks as the fault's ([`FAULT_KEY_MARKER`]).
    pub fault_key_ids: BTreeSet<String>,
}

impl ServiceAccountKeys {
    /// The keys the revert deletes: the fault's, not in the snapshot.
    pub fn fault_keys_since(&self, before: &ServiceAccountKeys) -> BTreeSet<String> {
        self.fault_key_ids
            .difference(&before.key_ids)
            .cloned()
            .collect()
    }

    /// The keys a failed or unanswered injection may have left: on the account now, not in the snapshot, not
    /// marked. The snapshot was read just before the injection, so such a key is the one it created.
    pub fn unowned_since(&self, before: &ServiceAccountKeys) -> BTreeSet<String> {
        self.key_ids
            .difference(&before.key_ids)
            .filter(|id| !self.fault_key_ids.contains(*id))
            .cloned()
            .collect()
    }

    fn without(&self, removed: &BTreeSet<String>) -> ServiceAccountKeys {
        ServiceAccountKeys {
            key_ids: self.key_ids.difference(removed).cloned().collect(),
            fault_key_ids: self.fault_key_ids.difference(removed).cloned().collect(),
        }
    }
}

impl FaultState for ServiceAccountKeys {}

/// `gcp.iam.service-account-key-created`: a new user-managed key on a service account.
pub struct ServiceAccountKeyCreated;

impl FaultSemantics for ServiceAccountKeyCreated {
    const ID: &'static str = "gcp.iam.service-account-key-created";
    const PRESENT: &'static str = "the service account has a key the fault created";
    const ASPECT: &'static str = "gcp.service-account-keys";
    type State = ServiceAccountKeys;

    fn is_present(keys: &ServiceAccountKeys) -> bool {
        !keys.fault_key_ids.is_empty()
    }

    fn precondition(before: &ServiceAccountKeys) -> Option<String> {
        (before.key_ids.len() >= KEYS_PER_SERVICE_ACCOUNT).then(|| {
            format!(
                "the service account already has {} keys, the most Google allows; no new key can be created",
                before.key_ids.len()
            )
        })
    }

    /// Adds a key with a made-up id (Google chooses it), marked as the fault's.
    fn inject(keys: &ServiceAccountKeys) -> ServiceAccountKeys {
        let new_key = (0..)
            .map(|number| format!("0000rdfifault{number:027}"))
            .find(|id| !keys.key_ids.contains(id))
            .unwrap_or_default();
        let mut keys = keys.clone();
        keys.key_ids.insert(new_key.clone());
        keys.fault_key_ids.insert(new_key);
        keys
    }

    /// Deletes only the keys the fault created since the snapshot; keys created meanwhile by others stay.
    fn revert(current: &ServiceAccountKeys, before: &ServiceAccountKeys) -> ServiceAccountKeys {
        current.without(&current.fault_keys_since(before))
    }

    fn remediate(current: &ServiceAccountKeys) -> ServiceAccountKeys {
        current.without(&current.fault_key_ids)
    }

    fn describe(keys: &ServiceAccountKeys) -> String {
        format!(
            "serviceAccounts.keys.create: create a user-managed key (private key discarded) beside the account's {} key(s), marked in its description",
            keys.key_ids.len()
        )
    }

    fn example() -> ServiceAccountKeys {
        ServiceAccountKeys {
            key_ids: BTreeSet::from(["9f8e7d6c5b4a39281706f5e4d3c2b1a098765432".to_owned()]),
            fault_key_ids: BTreeSet::new(),
        }
    }
}

/// A service account's settings: whether it is disabled, and the names people give it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountSettings {
    pub disabled: bool,
    pub display_name: String,
    pub description: String,
}

impl FaultState for ServiceAccountSettings {}

/// `gcp.iam.service-account-enabled`: a disabled service account enabled, so its keys and the workloads
/// attached to it authenticate again. The revert disables it; a name or description changed meanwhile stays.
pub struct ServiceAccountEnabled;

impl FaultSemantics for ServiceAccountEnabled {
    const ID: &'static str = "gcp.iam.service-account-enabled";
    const PRESENT: &'static str = "the service account is enabled";
    const ASPECT: &'static str = "gcp.service-account-settings";
    type State = ServiceAccountSettings;

    fn is_present(settings: &ServiceAccountSettings) -> bool {
        !settings.disabled
    }

    fn inject(before: &ServiceAccountSettings) -> ServiceAccountSettings {
        ServiceAccountSettings {
            disabled: false,
            ..before.clone()
        }
    }

    fn remediate(current: &ServiceAccountSettings) -> ServiceAccountSettings {
        ServiceAccountSettings {
            disabled: true,
            ..current.clone()
        }
    }

    fn describe(before: &ServiceAccountSettings) -> String {
        format!(
            "serviceAccounts.enable: enable the disabled service account {:?}",
            before.display_name
        )
    }

    /// A retired batch account, disabled while its last jobs are checked.
    fn example() -> ServiceAccountSettings {
        ServiceAccountSettings {
            disabled: true,
            display_name: "Nightly export (retired)".to_owned(),
            description: "disabled 2026-11-02, delete after review rdfi-target=true".to_owned(),
        }
    }
}
