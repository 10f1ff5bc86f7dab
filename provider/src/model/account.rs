//! Account-level settings: the IAM password policy and EBS encryption by default.

use serde::{Deserialize, Serialize};

use super::switch::{Protection, SwitchedOff};
use super::{FaultSemantics, FaultState, register_faults};

register_faults![
    AccountPasswordPolicyWeakened,
    EbsEncryptionByDefaultDisabled
];

/// The rules of an account's own password policy (IAM GetAccountPasswordPolicy). `None` fields are absent
/// from the policy: no expiry, no reuse prevention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordRules {
    pub minimum_length: i32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub allow_users_to_change: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_prevention: Option<i32>,
    pub hard_expiry: bool,
}

/// An account's password policy: its own rules, or `None` when it has none (IAM's default applies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub rules: Option<PasswordRules>,
}

impl FaultState for PasswordPolicy {}

/// The shortest password IAM accepts, which the weakened policy requires.
pub const WEAKEST_LENGTH: i32 = 6;
/// The length CIS AWS Foundations 1.8 asks for, which the remediation restores at least.
pub const CIS_LENGTH: i32 = 14;
/// The remembered passwords CIS AWS Foundations 1.9 asks for.
pub const CIS_REUSE_PREVENTION: i32 = 24;

impl PasswordRules {
    /// Whether these rules are as weak as IAM allows: the shortest length, no character class, no reuse
    /// prevention.
    fn weakest(&self) -> bool {
        self.minimum_length <= WEAKEST_LENGTH
            && !(self.require_symbols
                || self.require_numbers
                || self.require_uppercase
                || self.require_lowercase)
            && self.reuse_prevention.is_none()
    }
}

/// `aws.iam.account-password-policy-weakened`: the account's password policy rewritten as weak as IAM allows;
/// who may change their password, expiry and hard expiry stay as they were.
pub struct AccountPasswordPolicyWeakened;

impl FaultSemantics for AccountPasswordPolicyWeakened {
    const ID: &'static str = "aws.iam.account-password-policy-weakened";
    const PRESENT: &'static str =
        "the password policy requires 6 characters, no character class and no reuse prevention";
    const ASPECT: &'static str = "iam.account-password-policy";
    type State = PasswordPolicy;

    fn is_present(policy: &PasswordPolicy) -> bool {
        policy.rules.as_ref().is_some_and(PasswordRules::weakest)
    }

    fn precondition(before: &PasswordPolicy) -> Option<String> {
        before.rules.is_none().then(|| {
            "the account has no password policy of its own: there is nothing to weaken".to_owned()
        })
    }

    fn inject(before: &PasswordPolicy) -> PasswordPolicy {
        let kept = before.rules.clone().unwrap_or_else(cis_rules);
        PasswordPolicy {
            rules: Some(PasswordRules {
                minimum_length: WEAKEST_LENGTH,
                require_symbols: false,
                require_numbers: false,
                require_uppercase: false,
                require_lowercase: false,
                reuse_prevention: None,
                ..kept
            }),
        }
    }

    /// Every character class required, at least 14 characters and 24 remembered passwords; the rest kept.
    fn remediate(current: &PasswordPolicy) -> PasswordPolicy {
        let rules = current.rules.clone().unwrap_or_else(cis_rules);
        PasswordPolicy {
            rules: Some(PasswordRules {
                minimum_length: rules.minimum_length.max(CIS_LENGTH),
                require_symbols: true,
                require_numbers: true,
                require_uppercase: true,
                require_lowercase: true,
                reuse_prevention: Some(
                    rules
                        .reuse_prevention
                        .unwrap_or_default()
                        .max(CIS_REUSE_PREVENTION),
                ),
                ..rules
            }),
        }
    }

    fn describe(before: &PasswordPolicy) -> String {
        match &before.rules {
            Some(rules) => format!(
                "UpdateAccountPasswordPolicy: minimum length {} -> {WEAKEST_LENGTH}, no character class, {} remembered password(s) -> none",
                rules.minimum_length,
                rules.reuse_prevention.unwrap_or_default()
            ),
            None => "UpdateAccountPasswordPolicy: a policy of 6 characters, no character class"
                .to_owned(),
        }
    }

    /// A policy stricter than CIS asks in length, with yearly expiry that users may not skip.
    fn example() -> PasswordPolicy {
        PasswordPolicy {
            rules: Some(PasswordRules {
                minimum_length: 16,
                max_age_days: Some(365),
                hard_expiry: false,
                ..cis_rules()
            }),
        }
    }
}

/// The rules CIS AWS Foundations 1.8 and 1.9 ask for, users allowed to change their own password.
fn cis_rules() -> PasswordRules {
    PasswordRules {
        minimum_length: CIS_LENGTH,
        require_symbols: true,
        require_numbers: true,
        require_uppercase: true,
        require_lowercase: true,
        allow_users_to_change: true,
        max_age_days: None,
        reuse_prevention: Some(CIS_REUSE_PREVENTION),
        hard_expiry: false,
    }
}

/// New EBS volumes of the region are encrypted by default.
pub struct EbsEncryptionByDefault;

impl Protection for EbsEncryptionByDefault {
    const ID: &'static str = "aws.ec2.ebs-encryption-by-default-disabled";
    const PRESENT: &'static str = "EBS encryption by default is disabled in the region";
    const ASPECT: &'static str = "ec2.ebs-encryption-by-default";
    const OPERATION: &'static str =
        "DisableEbsEncryptionByDefault: new volumes of the region are created unencrypted";
}

/// `aws.ec2.ebs-encryption-by-default-disabled`.
pub type EbsEncryptionByDefaultDisabled = SwitchedOff<EbsEncryptionByDefault>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weakening_keeps_expiry_and_a_fix_made_meanwhile_survives_the_revert() {
        let before = AccountPasswordPolicyWeakened::example();
        let weak = AccountPasswordPolicyWeakened::inject(&before);
        let rules = weak.rules.clone().unwrap();
        assert_eq!(rules.minimum_length, WEAKEST_LENGTH);
        assert_eq!(rules.max_age_days, Some(365));
        assert!(AccountPasswordPolicyWeakened::is_present(&weak));
        // Someone required symbols again while the fault was on, and shortened the expiry to 90 days.
        let mut current = weak;
        if let Some(rules) = current.rules.as_mut() {
            rules.require_symbols = true;
            rules.max_age_days = Some(90);
        }
        let reverted = AccountPasswordPolicyWeakened::revert(&current, &before);
        let rules = reverted.rules.unwrap();
        assert_eq!(rules.minimum_length, 16);
        assert_eq!(rules.reuse_prevention, Some(CIS_REUSE_PREVENTION));
        assert_eq!(
            rules.max_age_days,
            Some(90),
            "the change made meanwhile stays"
        );
    }

    #[test]
    fn an_account_without_a_policy_of_its_own_is_refused_and_the_fix_meets_cis() {
        let none = PasswordPolicy { rules: None };
        assert!(AccountPasswordPolicyWeakened::precondition(&none).is_some());
        assert!(!AccountPasswordPolicyWeakened::is_present(&none));
        let fixed = AccountPasswordPolicyWeakened::remediate(
            &AccountPasswordPolicyWeakened::inject(&AccountPasswordPolicyWeakened::example()),
        );
        let rules = fixed.rules.unwrap();
        assert!(rules.minimum_length >= CIS_LENGTH && rules.require_symbols);
        assert_eq!(rules.reuse_prevention, Some(CIS_REUSE_PREVENTION));
    }
}
