//! CloudTrail: trail logging, selectors, validation, scope.
//!
//! Three faults switch one of a trail's protections off ([`TrailSwitchOff`] over a [`TrailSwitch`]): logging
//! itself, log file integrity validation, and multi-region scope. The fourth drops management events from the
//! trail's event selectors ([`TrailManagementEventsDropped`]); its revert writes back the exact previous
//! selectors.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::switch::{Protection, SwitchedOff};
use super::{FaultSemantics, FaultState, register_faults};

register_faults![
    TrailLoggingStopped,
    TrailManagementEventsDropped,
    TrailLogFileValidationDisabled,
    TrailMultiRegionDisabled,
];

/// The trail protections the switch faults turn off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrailSwitchKind {
    /// Whether the trail records at all (GetTrailStatus IsLogging; StartLogging / StopLogging).
    Logging,
    /// Whether CloudTrail writes signed digest files (EnableLogFileValidation).
    LogFileValidation,
    /// Whether the trail records every region (IsMultiRegionTrail).
    MultiRegion,
}

/// One trail protection a fault switches off, and which of the trail's settings it is.
pub trait TrailSwitch: Protection {
    const KIND: TrailSwitchKind;
}

/// The trail stops recording.
pub struct Logging;

impl Protection for Logging {
    const ID: &'static str = "aws.cloudtrail.trail-logging-stopped";
    const PRESENT: &'static str = "the trail is not logging";
    const ASPECT: &'static str = "cloudtrail.trail-logging";
    const OPERATION: &'static str = "StopLogging: the trail stops recording API activity";
}

impl TrailSwitch for Logging {
    const KIND: TrailSwitchKind = TrailSwitchKind::Logging;
}

/// The trail stops writing digest files, so tampering with its logs goes unnoticed.
pub struct LogFileValidation;

impl Protection for LogFileValidation {
    const ID: &'static str = "aws.cloudtrail.trail-log-file-validation-disabled";
    const PRESENT: &'static str = "the trail's log file validation is disabled";
    const ASPECT: &'static str = "cloudtrail.trail-log-file-validation";
    const OPERATION: &'static str = "UpdateTrail: EnableLogFileValidation false";
}

impl TrailSwitch for LogFileValidation {
    const KIND: TrailSwitchKind = TrailSwitchKind::LogFileValidation;
}

/// The trail records its home region only, so activity elsewhere is unseen.
pub struct MultiRegion;

impl Protection for MultiRegion {
    const ID: &'static str = "aws.cloudtrail.trail-multi-region-disabled";
    const PRESENT: &'static str = "the trail records its home region only";
    const ASPECT: &'static str = "cloudtrail.trail-multi-region";
    const OPERATION: &'static str = "UpdateTrail: IsMultiRegionTrail false";
}

impl TrailSwitch for MultiRegion {
    const KIND: TrailSwitchKind = TrailSwitchKind::MultiRegion;
}

/// `aws.cloudtrail.trail-logging-stopped`.
pub type TrailLoggingStopped = SwitchedOff<Logging>;
/// `aws.cloudtrail.trail-log-file-validation-disabled`.
pub type TrailLogFileValidationDisabled = SwitchedOff<LogFileValidation>;
/// `aws.cloudtrail.trail-multi-region-disabled`.
pub type TrailMultiRegionDisabled = SwitchedOff<MultiRegion>;

/// `ReadWriteType` of a basic event selector that records everything.
pub const READ_WRITE_ALL: &str = "All";

/// Data events a basic selector records: a resource type and its resources (ARN prefixes), sorted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataResource {
    /// `AWS::S3::Object`, `AWS::Lambda::Function`, ...
    pub resource_type: String,
    pub values: BTreeSet<String>,
}

/// A basic event selector.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSelector {
    /// `ReadOnly`, `WriteOnly` or `All`.
    pub read_write_type: String,
    pub include_management_events: bool,
    pub data_resources: BTreeSet<DataResource>,
    pub exclude_management_event_sources: BTreeSet<String>,
}

/// One condition of an advanced event selector, every list sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedFieldSelector {
    /// `eventCategory`, `resources.type`, `readOnly`, ...
    pub field: String,
    pub equals: BTreeSet<String>,
    pub starts_with: BTreeSet<String>,
    pub ends_with: BTreeSet<String>,
    pub not_equals: BTreeSet<String>,
    pub not_starts_with: BTreeSet<String>,
    pub not_ends_with: BTreeSet<String>,
}

/// An advanced event selector: a name and conditions that must all hold.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedEventSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub field_selectors: BTreeSet<AdvancedFieldSelector>,
}

impl AdvancedEventSelector {
    /// Whether it selects management events (`eventCategory` equals `Management`).
    pub fn selects_management_events(&self) -> bool {
        self.field_selectors.iter().any(|condition| {
            condition.field == "eventCategory" && condition.equals.contains("Management")
        })
    }
}

/// A trail's event selectors: basic or advanced (a trail uses one kind at a time), each list sorted. Both
/// empty means CloudTrail's default: every management event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrailEventSelectors {
    pub event_selectors: BTreeSet<EventSelector>,
    pub advanced_event_selectors: BTreeSet<AdvancedEventSelector>,
}

impl TrailEventSelectors {
    /// A trail recording every management event except KMS's noisy ones, plus S3 object writes of two
    /// buckets.
    pub fn example() -> TrailEventSelectors {
        TrailEventSelectors {
            event_selectors: [
                EventSelector {
                    read_write_type: READ_WRITE_ALL.to_owned(),
                    include_management_events: true,
                    data_resources: BTreeSet::new(),
                    exclude_management_event_sources: ["kms.amazonaws.com".to_owned()].into(),
                },
                EventSelector {
                    read_write_type: "WriteOnly".to_owned(),
                    include_management_events: false,
                    data_resources: [DataResource {
                        resource_type: "AWS::S3::Object".to_owned(),
                        values: [
                            "arn:aws:s3:::finance-records/".to_owned(),
                            "arn:aws:s3:::payroll-exports/".to_owned(),
                        ]
                        .into(),
                    }]
                    .into(),
                    exclude_management_event_sources: BTreeSet::new(),
                },
            ]
            .into(),
            advanced_event_selectors: BTreeSet::new(),
        }
    }

    /// Whether the trail records management events.
    pub fn records_management_events(&self) -> bool {
        (self.event_selectors.is_empty() && self.advanced_event_selectors.is_empty())
            || self
                .event_selectors
                .iter()
                .any(|selector| selector.include_management_events)
            || self
                .advanced_event_selectors
                .iter()
                .any(AdvancedEventSelector::selects_management_events)
    }

    /// These selectors without management events, data events kept. Advanced selectors lose their
    /// management ones; when nothing would be left (or the trail used the default), one basic selector that
    /// records nothing takes their place.
    pub fn without_management_events(&self) -> TrailEventSelectors {
        let advanced: BTreeSet<_> = self
            .advanced_event_selectors
            .iter()
            .filter(|selector| !selector.selects_management_events())
            .cloned()
            .collect();
        if !advanced.is_empty() {
            return TrailEventSelectors {
                event_selectors: BTreeSet::new(),
                advanced_event_selectors: advanced,
            };
        }
        let mut basic: BTreeSet<_> = self
            .event_selectors
            .iter()
            .map(|selector| EventSelector {
                include_management_events: false,
                exclude_management_event_sources: BTreeSet::new(),
                ..selector.clone()
            })
            .collect();
        if basic.is_empty() {
            basic.insert(EventSelector {
                read_write_type: READ_WRITE_ALL.to_owned(),
                include_management_events: false,
                data_resources: BTreeSet::new(),
                exclude_management_event_sources: BTreeSet::new(),
            });
        }
        TrailEventSelectors {
            event_selectors: basic,
            advanced_event_selectors: BTreeSet::new(),
        }
    }
}

impl FaultState for TrailEventSelectors {}

/// `aws.cloudtrail.trail-management-events-dropped`: the trail stops recording management events (every
/// console sign-in, IAM change, security group change...). The revert writes back the exact previous
/// selectors.
pub struct TrailManagementEventsDropped;

impl FaultSemantics for TrailManagementEventsDropped {
    const ID: &'static str = "aws.cloudtrail.trail-management-events-dropped";
    const PRESENT: &'static str = "the trail records no management events";
    const ASPECT: &'static str = "cloudtrail.trail-event-selectors";
    type State = TrailEventSelectors;

    fn is_present(selectors: &TrailEventSelectors) -> bool {
        !selectors.records_management_events()
    }

    fn inject(before: &TrailEventSelectors) -> TrailEventSelectors {
        before.without_management_events()
    }

    /// Turns management events back on in every basic selector, or restores CloudTrail's default.
    fn remediate(current: &TrailEventSelectors) -> TrailEventSelectors {
        if current.event_selectors.is_empty() {
            return TrailEventSelectors::default();
        }
        TrailEventSelectors {
            event_selectors: current
                .event_selectors
                .iter()
                .map(|selector| EventSelector {
                    include_management_events: true,
                    ..selector.clone()
                })
                .collect(),
            advanced_event_selectors: BTreeSet::new(),
        }
    }

    fn describe(before: &TrailEventSelectors) -> String {
        format!(
            "PutEventSelectors: IncludeManagementEvents false in the {} basic selector(s), {} advanced management selector(s) removed, data events kept",
            before.event_selectors.len(),
            before
                .advanced_event_selectors
                .iter()
                .filter(|selector| selector.selects_management_events())
                .count()
        )
    }

    fn example() -> TrailEventSelectors {
        TrailEventSelectors::example()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_management_events_keeps_data_events() {
        let before = TrailEventSelectors::example();
        let dropped = before.without_management_events();
        assert!(!dropped.records_management_events());
        let data_resources = |selectors: &TrailEventSelectors| -> Vec<DataResource> {
            selectors
                .event_selectors
                .iter()
                .flat_map(|selector| selector.data_resources.iter().cloned())
                .collect()
        };
        assert_eq!(data_resources(&dropped), data_resources(&before));
    }

    #[test]
    fn the_default_selectors_record_management_events_and_can_lose_them() {
        let default = TrailEventSelectors::default();
        assert!(default.records_management_events());
        assert!(
            !default
                .without_management_events()
                .records_management_events()
        );
    }

    #[test]
    fn advanced_selectors_lose_only_their_management_selector() {
        let category = |value: &str| AdvancedFieldSelector {
            field: "eventCategory".to_owned(),
            equals: [value.to_owned()].into(),
            ..AdvancedFieldSelector::default()
        };
        let selectors = TrailEventSelectors {
            event_selectors: BTreeSet::new(),
            advanced_event_selectors: [
                AdvancedEventSelector {
                    name: Some("management".to_owned()),
                    field_selectors: [category("Management")].into(),
                },
                AdvancedEventSelector {
                    name: Some("s3 data".to_owned()),
                    field_selectors: [category("Data")].into(),
                },
            ]
            .into(),
        };
        let dropped = selectors.without_management_events();
        assert!(!dropped.records_management_events());
        assert_eq!(dropped.advanced_event_selectors.len(), 1);
    }
}
