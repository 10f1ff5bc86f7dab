//! CloudWatch Logs: an audit log group's retention cut to one day.

use serde::{Deserialize, Serialize};

use super::{FaultSemantics, FaultState, register_faults};

register_faults![AuditLogRetentionOneDay];

/// How long a log group keeps its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRetention {
    /// Days the events are kept; `None`: never expire (no retention policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<i32>,
}

impl FaultState for LogRetention {}

/// The retention the fault sets, in days.
pub const FAULT_RETENTION_DAYS: i32 = 1;

/// `aws.logs.audit-log-retention-one-day`: the log group keeps one day of events.
pub struct AuditLogRetentionOneDay;

impl FaultSemantics for AuditLogRetentionOneDay {
    const ID: &'static str = "aws.logs.audit-log-retention-one-day";
    const PRESENT: &'static str = "the log group keeps its events for one day or less";
    const ASPECT: &'static str = "logs.log-group-retention";
    type State = LogRetention;

    fn is_present(retention: &LogRetention) -> bool {
        retention
            .retention_in_days
            .is_some_and(|days| days <= FAULT_RETENTION_DAYS)
    }

    fn inject(_before: &LogRetention) -> LogRetention {
        LogRetention {
            retention_in_days: Some(FAULT_RETENTION_DAYS),
        }
    }

    /// Never expire: a corrective control that does not know the required retention loses nothing more.
    fn remediate(_current: &LogRetention) -> LogRetention {
        LogRetention {
            retention_in_days: None,
        }
    }

    fn describe(before: &LogRetention) -> String {
        match before.retention_in_days {
            Some(days) => format!(
                "PutRetentionPolicy: keep the log group's events 1 day instead of {days}; older events may be deleted"
            ),
            None => "PutRetentionPolicy: keep the log group's events 1 day instead of forever; older events may be deleted".to_owned(),
        }
    }

    fn example() -> LogRetention {
        LogRetention {
            retention_in_days: Some(365),
        }
    }
}
