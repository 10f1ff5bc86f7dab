//! Lifecycle rules and the fault that adds an expire-everything rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{FaultSemantics, FaultState};

/// A bucket's lifecycle rules; empty when it has no lifecycle configuration. Rules hold the fields rdfi can
/// write back exactly; the AWS driver refuses a bucket whose rules use others (dates, object sizes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLifecycle {
    /// Sorted by id.
    pub rules: Vec<LifecycleRule>,
    /// Whether the bucket's versioning is `Enabled`: an expiration then only turns current versions into
    /// noncurrent ones, which can be restored; on any other bucket it deletes objects for good. Read with the
    /// rules, never written by the lifecycle faults.
    #[serde(default)]
    pub versioning_enabled: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleRule {
    pub id: String,
    /// `Enabled` or `Disabled`.
    pub status: String,
    /// The key prefix the rule applies to; `None` for every object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Object tags the rule applies to (all must match).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_object_delete_marker: Option<bool>,
    /// (days, storage class), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<(i32, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration_days: Option<i32>,
    /// (noncurrent days, storage class), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noncurrent_version_transitions: Vec<(i32, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload_days: Option<i32>,
}

/// The id of the rule `aws.s3.bucket-lifecycle-expire-one-day` adds.
pub const EXPIRE_ONE_DAY_RULE_ID: &str = "rdfi-expire-all-objects-after-one-day";

impl LifecycleRule {
    /// Whether the rule deletes every current object a day after it is written.
    fn expires_everything_within_a_day(&self) -> bool {
        self.status == "Enabled"
            && self.prefix.is_none()
            && self.tags.is_empty()
            && self.expiration_days.is_some_and(|days| days <= 1)
    }
}

impl BucketLifecycle {
    /// These rules, sorted, on a bucket whose versioning is not enabled.
    pub fn new(rules: Vec<LifecycleRule>) -> BucketLifecycle {
        BucketLifecycle {
            rules: Vec::new(),
            versioning_enabled: false,
        }
        .with_rules(rules)
    }

    /// The same bucket with these rules (sorted) instead.
    pub fn with_rules(&self, mut rules: Vec<LifecycleRule>) -> BucketLifecycle {
        rules.sort();
        BucketLifecycle {
            rules,
            versioning_enabled: self.versioning_enabled,
        }
    }
}

impl FaultState for BucketLifecycle {
    fn canonical(self) -> Self {
        self.with_rules(
            self.rules
                .clone()
                .into_iter()
                .map(|mut rule| {
                    rule.transitions.sort();
                    rule.noncurrent_version_transitions.sort();
                    rule
                })
                .collect(),
        )
    }
}

/// `aws.s3.bucket-lifecycle-expire-one-day`: a lifecycle rule expiring every object one day after creation is
/// added; the bucket's other rules stay.
pub struct BucketLifecycleExpireOneDay;

impl FaultSemantics for BucketLifecycleExpireOneDay {
    const ID: &'static str = "aws.s3.bucket-lifecycle-expire-one-day";
    const PRESENT: &'static str = "a lifecycle rule expires every object within a day";
    const ASPECT: &'static str = "s3.bucket-lifecycle";
    type State = BucketLifecycle;

    fn is_present(lifecycle: &BucketLifecycle) -> bool {
        lifecycle
            .rules
            .iter()
            .any(LifecycleRule::expires_everything_within_a_day)
    }

    /// The fault is destructive on a bucket without versioning: its rule would delete every object for good
    /// a day after it was written, beyond what any revert can bring back.
    fn precondition(lifecycle: &BucketLifecycle) -> Option<String> {
        (!lifecycle.versioning_enabled).then(|| {
            "versioning is not enabled on the bucket, so the rule would delete objects for good; only \
             versioned buckets (where expired objects stay as noncurrent versions) are targets"
                .to_owned()
        })
    }

    fn inject(lifecycle: &BucketLifecycle) -> BucketLifecycle {
        let mut rules = lifecycle.rules.clone();
        rules.push(LifecycleRule {
            id: EXPIRE_ONE_DAY_RULE_ID.to_owned(),
            status: "Enabled".to_owned(),
            prefix: None,
            expiration_days: Some(1),
            ..LifecycleRule::default()
        });
        lifecycle.with_rules(rules)
    }

    fn remediate(lifecycle: &BucketLifecycle) -> BucketLifecycle {
        lifecycle.with_rules(
            lifecycle
                .rules
                .iter()
                .filter(|rule| !rule.expires_everything_within_a_day())
                .cloned()
                .collect(),
        )
    }

    fn describe(lifecycle: &BucketLifecycle) -> String {
        format!(
            "PutBucketLifecycleConfiguration: add rule {EXPIRE_ONE_DAY_RULE_ID} (every object expires after 1 \
             day) to the {} existing rule(s)",
            lifecycle.rules.len()
        )
    }

    /// Two rules on a versioned bucket.
    fn example() -> BucketLifecycle {
        let unversioned = BucketLifecycle::new(vec![
            LifecycleRule {
                id: "archive-logs".to_owned(),
                status: "Enabled".to_owned(),
                prefix: Some("logs/".to_owned()),
                expiration_days: Some(365),
                transitions: vec![(30, "STANDARD_IA".to_owned()), (90, "GLACIER".to_owned())],
                ..LifecycleRule::default()
            },
            LifecycleRule {
                id: "clean-tmp".to_owned(),
                status: "Enabled".to_owned(),
                prefix: Some("tmp/".to_owned()),
                expiration_days: Some(7),
                abort_incomplete_multipart_upload_days: Some(2),
                ..LifecycleRule::default()
            },
        ]);
        BucketLifecycle {
            versioning_enabled: true,
            ..unversioned
        }
    }
}
