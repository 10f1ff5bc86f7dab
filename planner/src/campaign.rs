//! A campaign's life, pure: when its next round starts and how many faults it may plan, within its budget
//! (faults in total, faults per minute, faults at once), its schedule and its duration. The planner's worker
//! ([`crate::campaigns`]) carries the decisions out.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use rdfi_proto::v1::{CampaignSpec, CampaignStatus};

use rdfi_core::schedule::Cron;

use crate::strategy::Strategy;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Running,
    Paused,
    Completed,
    Cancelled,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Paused => "paused",
            State::Completed => "completed",
            State::Cancelled => "cancelled",
        }
    }
}

/// A campaign and what it has done so far.
#[derive(Clone, Debug)]
pub struct Campaign {
    pub id: String,
    pub spec: CampaignSpec,
    pub strategy: Strategy,
    /// The seed its picks use (the spec's, or one drawn at submission and reported).
    pub seed: u64,
    pub state: State,
    pub reason: String,
    pub started_at: SystemTime,
    /// Its rounds' run ids, oldest first.
    pub rounds: Vec<String>,
    pub planned: u32,
    /// The round whose analysis is not complete yet.
    pub in_flight: Option<String>,
    /// When the last round started and how many faults it planned.
    pub last_round: Option<(SystemTime, u32)>,
    /// No pair was eligible in the last round: the soonest one will be again (a cool-down ending), if any.
    pub idle: Option<Option<SystemTime>>,
    pub verdicts: BTreeMap<String, u32>,
    /// The most faults the round in flight may plan.
    pub round_size: u32,
    /// The last round before the one in flight, to restore when that one could not start.
    before_round: Option<(SystemTime, u32)>,
}

/// What the campaign does next.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Start a round that plans at most this many faults.
    Start { faults: u32 },
    /// Nothing before this time (or a control request).
    Wait(SystemTime),
    /// Nothing until its round in flight is analyzed, or it is resumed.
    Hold,
    /// It is over, for this reason.
    Finish(String),
}

impl Campaign {
    pub fn new(
        id: String,
        spec: CampaignSpec,
        strategy: Strategy,
        seed: u64,
        now: SystemTime,
    ) -> Self {
        Campaign {
            id,
            spec,
            strategy,
            seed,
            state: State::Running,
            reason: String::new(),
            started_at: now,
            rounds: Vec::new(),
            planned: 0,
            in_flight: None,
            last_round: None,
            idle: None,
            verdicts: BTreeMap::new(),
            round_size: 0,
            before_round: None,
        }
    }

    /// When the campaign's duration ends, if it has one.
    fn ends_at(&self) -> Option<SystemTime> {
        (self.spec.duration_ms > 0)
            .then(|| self.started_at + Duration::from_millis(self.spec.duration_ms))
    }

    /// Faults left in the budget; `None` when only the duration limits it.
    fn remaining(&self) -> Option<u32> {
        let budget = self.spec.budget.unwrap_or_default();
        (budget.faults > 0).then(|| budget.faults.saturating_sub(self.planned))
    }

    /// The earliest the next round may start: after the schedule's next time, after the last round's faults
    /// have been paced at the attack rate, after a cool-down when nothing was eligible.
    fn earliest(&self) -> Option<SystemTime> {
        let budget = self.spec.budget.unwrap_or_default();
        let Some((last, faults)) = self.last_round else {
            return Some(first_round(&self.spec, self.started_at));
        };
        let scheduled = next_scheduled(&self.spec, last);
        let paced = if budget.rate_per_minute > 0.0 {
            last + Duration::from_secs_f64(f64::from(faults.max(1)) * 60.0 / budget.rate_per_minute)
        } else {
            last
        };
        let mut earliest = scheduled.max(paced);
        if let Some(idle) = self.idle {
            // Nothing was eligible: wait for a cool-down to end; with none pending, nothing ever will be.
            earliest = earliest.max(idle?);
        }
        Some(earliest)
    }

    /// The decision, at `now`.
    pub fn next(&self, now: SystemTime) -> Next {
        match self.state {
            State::Completed | State::Cancelled => return Next::Finish(self.reason.clone()),
            State::Paused => return Next::Hold,
            State::Running => {}
        }
        if self.in_flight.is_some() {
            return Next::Hold;
        }
        if let Some(end) = self.ends_at()
            && now >= end
        {
            return Next::Finish("its duration is over".to_owned());
        }
        let remaining = self.remaining();
        if remaining == Some(0) {
            return Next::Finish(format!(
                "its budget of {} faults is spent",
                self.spec.budget.unwrap_or_default().faults
            ));
        }
        let Some(earliest) = self.earliest() else {
            return Next::Finish(
                "nothing is left to pick: every candidate was tested or is not eligible".to_owned(),
            );
        };
        if let Some(end) = self.ends_at()
            && earliest >= end
        {
            return Next::Wait(end);
        }
        if now < earliest {
            return Next::Wait(earliest);
        }
        let budget = self.spec.budget.unwrap_or_default();
        let mut faults = budget.concurrency.max(1);
        if budget.rate_per_minute >= 1.0 {
            faults = faults.min(budget.rate_per_minute.floor() as u32);
        } else if budget.rate_per_minute > 0.0 {
            faults = 1;
        }
        if let Some(remaining) = remaining {
            faults = faults.min(remaining);
        }
        Next::Start { faults }
    }

    /// A round started: its run id and the most faults it may plan.
    pub fn round_started(&mut self, run_id: String, now: SystemTime, faults: u32) {
        self.rounds.push(run_id.clone());
        self.in_flight = Some(run_id);
        self.before_round = self.last_round.replace((now, 0));
        self.round_size = faults;
    }

    /// The round could not start (its run.started was not published): as if it had not been tried.
    pub fn round_abandoned(&mut self, run_id: &str) {
        if self.in_flight.as_deref() == Some(run_id) {
            self.rounds.pop();
            self.in_flight = None;
            self.last_round = self.before_round.take();
        }
    }

    /// The round was planned: how many faults, and when a pair left out for its cool-down is eligible again
    /// (only read when it planned none).
    pub fn round_planned(&mut self, faults: u32, next_eligible: Option<SystemTime>) {
        self.planned += faults;
        if let Some((_, planned)) = self.last_round.as_mut() {
            *planned = faults;
        }
        self.idle = (faults == 0).then_some(next_eligible);
    }

    /// The round's analysis completed.
    pub fn round_completed(&mut self, run_id: &str) {
        if self.in_flight.as_deref() == Some(run_id) {
            self.in_flight = None;
        }
    }

    pub fn finish(&mut self, state: State, reason: String) {
        self.state = state;
        self.reason = reason;
    }

    pub fn status(&self, now: SystemTime) -> CampaignStatus {
        let next_round_at = match self.next(now) {
            Next::Wait(at) => Some(at.into()),
            Next::Start { .. } => Some(now.into()),
            Next::Hold | Next::Finish(_) => None,
        };
        CampaignStatus {
            campaign_id: self.id.clone(),
            name: self.spec.name.clone(),
            strategy: self.strategy.name().to_owned(),
            state: self.state.label().to_owned(),
            reason: self.reason.clone(),
            faults_planned: self.planned,
            rounds: self.rounds.len() as u32,
            run_ids: self.rounds.clone(),
            started_at: Some(self.started_at.into()),
            next_round_at,
            verdicts: self.verdicts.clone().into_iter().collect(),
            spec: Some(self.spec.clone()),
        }
    }
}

/// When the first round may start: at once, or at the cron expression's first time after the start.
fn first_round(spec: &CampaignSpec, started: SystemTime) -> SystemTime {
    match cron(spec) {
        Some(cron) => cron.first_after(started).unwrap_or(started),
        None => started,
    }
}

/// When the schedule allows the round after one that started at `last`: the cron expression's next time, or
/// `interval_ms` later.
fn next_scheduled(spec: &CampaignSpec, last: SystemTime) -> SystemTime {
    match cron(spec) {
        Some(cron) => cron
            .first_after(last)
            .unwrap_or(last + Duration::from_secs(366 * 24 * 60 * 60)),
        None => last + Duration::from_millis(spec.interval_ms),
    }
}

/// The campaign's cron expression, when it has one (the parser checked it).
fn cron(spec: &CampaignSpec) -> Option<Cron> {
    (!spec.cron.is_empty())
        .then(|| Cron::parse(&spec.cron).ok())
        .flatten()
}

#[cfg(test)]
mod tests;
