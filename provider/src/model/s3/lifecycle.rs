//! Lifecycle rules and the fault that adds an expire-everything rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::FaultSemantics;

/// A bucket's lifecycle rules; empty when it has no lifecycle configuration. Rules hold the fields rdfi can
/// write back exactly; the AWS driver refuses a bucket whose rules use others (dates, object sizes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLifecycle {
    /// Sorted by id.
    pub rules: Vec<LifecycleRule>,
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
    pub fn new(mut rules: Vec<LifecycleRule>) -> BucketLifecycle {
        rules.sort();
        BucketLifecycle { rules }
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

    fn inject(lifecycle: &BucketLifecycle) -> BucketLifecycle {
        let mut rules = lifecycle.rules.clone();
        rules.push(LifecycleRule {
            id: EXPIRE_ONE_DAY_RULE_ID.to_owned(),
            status: "Enabled".to_owned(),
            prefix: None,
            expiration_days: Some(1),
            ..LifecycleRule::default()
        });
        BucketLifecycle::new(rules)
    }

    fn remediate(lifecycle: &BucketLifecycle) -> BucketLifecycle {
        BucketLifecycle::new(
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

    fn example() -> BucketLifecycle {
        BucketLifecycle::new(vec![
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
        ])
    }
}
