//! CloudWatch: a metric alarm's actions switched off.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::register_faults;
use super::watch::{SwitchedOff, Watcher};

register_faults![AlarmActionsDisabled];

/// Whom a metric alarm notifies (SNS topics, Auto Scaling or EC2 actions, Systems Manager), per state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmActions {
    pub alarm_actions: BTreeSet<String>,
    pub ok_actions: BTreeSet<String>,
    pub insufficient_data_actions: BTreeSet<String>,
}

impl AlarmActions {
    fn count(&self) -> usize {
        self.alarm_actions.len() + self.ok_actions.len() + self.insufficient_data_actions.len()
    }
}

/// A metric alarm's actions.
pub struct Alarm;

impl Watcher for Alarm {
    const ID: &'static str = "aws.cloudwatch.alarm-actions-disabled";
    const PRESENT: &'static str = "the alarm's actions are disabled";
    const ASPECT: &'static str = "cloudwatch.alarm-actions";
    type Settings = AlarmActions;

    fn precondition(actions: &AlarmActions) -> Option<String> {
        (actions.count() == 0)
            .then(|| "the alarm has no actions: disabling them would change nothing".to_owned())
    }

    fn describe(actions: &AlarmActions) -> String {
        format!(
            "DisableAlarmActions: the alarm's {} action(s) stop running while it keeps evaluating",
            actions.count()
        )
    }

    /// A security alarm that pages the on-call topic and tells the ticketing topic when it is OK again.
    fn example() -> AlarmActions {
        AlarmActions {
            alarm_actions: BTreeSet::from([
                "arn:aws:sns:us-east-1:123456789012:security-oncall".to_owned(),
                "arn:aws:sns:us-east-1:123456789012:security-tickets".to_owned(),
            ]),
            ok_actions: BTreeSet::from([
                "arn:aws:sns:us-east-1:123456789012:security-tickets".to_owned()
            ]),
            insufficient_data_actions: BTreeSet::new(),
        }
    }
}

/// `aws.cloudwatch.alarm-actions-disabled`.
pub type AlarmActionsDisabled = SwitchedOff<Alarm>;
