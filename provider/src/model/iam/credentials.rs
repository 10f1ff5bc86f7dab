//! A user's credentials: access keys and console login profile, and the faults that create them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{FaultSemantics, FaultState};

/// The value of the access key description tag that marks a key the access-key fault created.
pub const FAULT_ACCESS_KEY_DESCRIPTION: &str = "rdfi fault aws.iam.user-access-key-created";

/// A user's access keys.
///
/// IAM cannot tag an access key, but it keeps an access key's description as a user tag whose key is the
/// access key id (what the console's "description tag" writes). The fault marks the key it creates that way,
/// with [`FAULT_ACCESS_KEY_DESCRIPTION`], so that the probe can tell the fault's key from the user's own
/// keys, and the revert deletes exactly that key: never a key the user had in the snapshot, nor one someone
/// else created meanwhile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeys {
    /// Every access key of the user, active or not.
    pub access_key_ids: BTreeSet<String>,
    /// The keys among them whose description tag marks them as created by the fault.
    pub fault_key_ids: BTreeSet<String>,
}

impl AccessKeys {
    /// The keys the revert deletes: created by the fault and not in the snapshot.
    pub fn fault_keys_since(&self, before: &AccessKeys) -> BTreeSet<String> {
        self.fault_key_ids
            .difference(&before.access_key_ids)
            .cloned()
            .collect()
    }

    fn without(&self, removed: &BTreeSet<String>) -> AccessKeys {
        AccessKeys {
            access_key_ids: self.access_key_ids.difference(removed).cloned().collect(),
            fault_key_ids: self.fault_key_ids.difference(removed).cloned().collect(),
        }
    }
}

impl FaultState for AccessKeys {}

/// AWS lets a user have at most this many access keys.
pub const ACCESS_KEYS_PER_USER: usize = 2;

/// `aws.iam.user-access-key-created`: a new long-lived access key on a user.
pub struct UserAccessKeyCreated;

impl FaultSemantics for UserAccessKeyCreated {
    const ID: &'static str = "aws.iam.user-access-key-created";
    const PRESENT: &'static str = "the user has an access key the fault created";
    const ASPECT: &'static str = "iam.user-access-keys";
    type State = AccessKeys;

    fn is_present(keys: &AccessKeys) -> bool {
        !keys.fault_key_ids.is_empty()
    }

    /// Adds a key with a made-up id (a real cloud chooses it), marked as the fault's.
    fn inject(keys: &AccessKeys) -> AccessKeys {
        let new_key = (0..)
            .map(|number| format!("AKIARDFIFAULT{number:07}"))
            .find(|id| !keys.access_key_ids.contains(id))
            .unwrap_or_default();
        let mut keys = keys.clone();
        keys.access_key_ids.insert(new_key.clone());
        keys.fault_key_ids.insert(new_key);
        keys
    }

    /// Deletes only the keys the fault created since the snapshot; keys created meanwhile by others stay.
    fn revert(current: &AccessKeys, before: &AccessKeys) -> AccessKeys {
        current.without(&current.fault_keys_since(before))
    }

    fn remediate(current: &AccessKeys) -> AccessKeys {
        current.without(&current.fault_key_ids)
    }

    fn describe(keys: &AccessKeys) -> String {
        format!(
            "CreateAccessKey: create a long-lived access key (secret discarded) beside the user's {} key(s), described by a user tag",
            keys.access_key_ids.len()
        )
    }

    fn example() -> AccessKeys {
        AccessKeys {
            access_key_ids: BTreeSet::from(["AKIAEXAMPLEDEPLOY01".to_owned()]),
            fault_key_ids: BTreeSet::new(),
        }
    }
}

/// Whether a user can sign in to the console: whether it has a login profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginProfile {
    pub has_login_profile: bool,
}

impl FaultState for LoginProfile {}

/// `aws.iam.user-login-profile-created`: a console password added to a user that had none.
pub struct UserLoginProfileCreated;

impl FaultSemantics for UserLoginProfileCreated {
    const ID: &'static str = "aws.iam.user-login-profile-created";
    const PRESENT: &'static str = "the user has a console password (login profile)";
    const ASPECT: &'static str = "iam.user-login-profile";
    type State = LoginProfile;

    fn is_present(profile: &LoginProfile) -> bool {
        profile.has_login_profile
    }

    fn inject(_profile: &LoginProfile) -> LoginProfile {
        LoginProfile {
            has_login_profile: true,
        }
    }

    fn remediate(_current: &LoginProfile) -> LoginProfile {
        LoginProfile {
            has_login_profile: false,
        }
    }

    fn describe(_profile: &LoginProfile) -> String {
        "CreateLoginProfile: give the user a random console password (discarded) it did not have"
            .to_owned()
    }

    /// A programmatic-only user: no console password (the state has nothing more to vary).
    fn example() -> LoginProfile {
        LoginProfile {
            has_login_profile: false,
        }
    }
}
