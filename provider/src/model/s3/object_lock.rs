//! A bucket's Object Lock default retention: how long new objects are kept from deletion and overwrite.

use serde::{Deserialize, Serialize};

use crate::model::{FaultSemantics, FaultState};

/// The default retention new objects get: a mode (`GOVERNANCE` or `COMPLIANCE`) and a period in days or
/// years (S3 takes one of the two).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultRetention {
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<i32>,
}

impl DefaultRetention {
    /// The period in days, a year counted as 365.
    fn period_days(&self) -> i64 {
        i64::from(self.days.unwrap_or_default()) + 365 * i64::from(self.years.unwrap_or_default())
    }
}

/// A bucket's Object Lock configuration (GetObjectLockConfiguration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectLock {
    /// Whether Object Lock is enabled on the bucket (it cannot be turned off once on).
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_retention: Option<DefaultRetention>,
}

impl FaultState for ObjectLock {}

/// A default retention shorter than this many days is the misconfiguration; the remediation restores at
/// least this.
pub const MINIMUM_RETENTION_DAYS: i32 = 7;

/// `aws.s3.bucket-object-lock-retention-shortened`: the default retention cut to one day, its mode kept, so
/// objects written meanwhile can be deleted tomorrow.
pub struct BucketObjectLockRetentionShortened;

impl FaultSemantics for BucketObjectLockRetentionShortened {
    const ID: &'static str = "aws.s3.bucket-object-lock-retention-shortened";
    const PRESENT: &'static str =
        "the bucket's default Object Lock retention is shorter than 7 days";
    const ASPECT: &'static str = "s3.bucket-object-lock";
    type State = ObjectLock;

    fn is_present(lock: &ObjectLock) -> bool {
        lock.default_retention
            .as_ref()
            .is_some_and(|retention| retention.period_days() < i64::from(MINIMUM_RETENTION_DAYS))
    }

    fn precondition(before: &ObjectLock) -> Option<String> {
        if !before.enabled {
            Some("Object Lock is not enabled on the bucket".to_owned())
        } else if before.default_retention.is_none() {
            Some("the bucket has no default Object Lock retention to shorten".to_owned())
        } else {
            None
        }
    }

    fn inject(before: &ObjectLock) -> ObjectLock {
        ObjectLock {
            default_retention: Some(DefaultRetention {
                mode: before.default_retention.as_ref().map_or_else(
                    || "GOVERNANCE".to_owned(),
                    |retention| retention.mode.clone(),
                ),
                days: Some(1),
                years: None,
            }),
            ..before.clone()
        }
    }

    fn remediate(current: &ObjectLock) -> ObjectLock {
        let mut lock = current.clone();
        if let Some(retention) = lock.default_retention.as_mut()
            && retention.period_days() < i64::from(MINIMUM_RETENTION_DAYS)
        {
            retention.days = Some(MINIMUM_RETENTION_DAYS);
            retention.years = None;
        }
        lock
    }

    fn describe(before: &ObjectLock) -> String {
        match &before.default_retention {
            Some(retention) => format!(
                "PutObjectLockConfiguration: default {} retention {} day(s) -> 1 day",
                retention.mode,
                retention.period_days()
            ),
            None => "PutObjectLockConfiguration: a default retention of 1 day".to_owned(),
        }
    }

    /// Compliance mode for a year: no one, root included, may delete an object version for a year.
    fn example() -> ObjectLock {
        ObjectLock {
            enabled: true,
            default_retention: Some(DefaultRetention {
                mode: "COMPLIANCE".to_owned(),
                days: None,
                years: Some(1),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_shortened_to_a_day_is_restored_to_the_year_and_a_mode_changed_meanwhile_stays() {
        let before = BucketObjectLockRetentionShortened::example();
        let shortened = BucketObjectLockRetentionShortened::inject(&before);
        assert!(BucketObjectLockRetentionShortened::is_present(&shortened));
        assert_eq!(
            BucketObjectLockRetentionShortened::revert(&shortened, &before),
            before
        );
        let mut current = shortened;
        if let Some(retention) = current.default_retention.as_mut() {
            retention.mode = "GOVERNANCE".to_owned();
        }
        let reverted = BucketObjectLockRetentionShortened::revert(&current, &before);
        let retention = reverted.default_retention.unwrap();
        assert_eq!(
            (retention.mode.as_str(), retention.years),
            ("GOVERNANCE", Some(1))
        );
        assert!(
            BucketObjectLockRetentionShortened::precondition(&ObjectLock {
                enabled: true,
                default_retention: None
            })
            .is_some()
        );
    }
}
