//! The campaigns a planner runs: one task per campaign carries out [`Campaign::next`], starting each round as
//! a run (`run.started` with the campaign's id), planning it with the campaign's strategy from what knowledge
//! has learned when the monitor's inventory arrives, and counting its verdicts until `analysis.completed`
//! lets the next round start. Campaigns live in the planner's memory: a restarted planner has none.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rdfi_core::bus::Bus;
use rdfi_core::{CancellationToken, events};
use rdfi_proto::v1::{CampaignSpec, CampaignStatus, Event, InventoryObserved, Verdict};
use tokio::sync::Notify;

use crate::campaign::{Campaign, Next, State};
use crate::strategy::{Beliefs, Request, Strategy};
use crate::{PlannerError, plan};

/// What knowledge has learned, for the planner: read fresh before each round.
pub trait Learned: Send + Sync {
    /// The beliefs, once knowledge has recorded the run `after` (the previous round) when one is given.
    fn beliefs<'a>(
        &'a self,
        after: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = Result<Beliefs, String>> + Send + 'a>>;
}

struct Entry {
    campaign: Campaign,
    wake: Arc<Notify>,
    done: Arc<Notify>,
}

#[derive(Default)]
struct Registry {
    campaigns: HashMap<String, Entry>,
    /// Each round in flight: run id to campaign id.
    rounds: HashMap<String, String>,
}

/// The planner's campaigns. Cheap to clone.
#[derive(Clone)]
pub struct Campaigns {
    registry: Arc<Mutex<Registry>>,
    bus: Arc<dyn Bus>,
    learned: Option<Arc<dyn Learned>>,
    shutdown: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("no campaign {0:?} on this planner")]
    NotFound(String),
    #[error("campaign {id} is {state}: it cannot be {action}")]
    Finished {
        id: String,
        state: &'static str,
        action: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Campaigns {
    pub fn new(
        bus: Arc<dyn Bus>,
        learned: Option<Arc<dyn Learned>>,
        shutdown: CancellationToken,
    ) -> Self {
        Campaigns {
            registry: Arc::default(),
            bus,
            learned,
            shutdown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a validated campaign; its first round starts at once (or at its first scheduled time).
    pub fn submit(&self, mut spec: CampaignSpec) -> Result<CampaignStatus, CampaignError> {
        let strategy = Strategy::parse(&spec.strategy).ok_or_else(|| {
            CampaignError::Invalid(format!("unknown strategy {:?}", spec.strategy))
        })?;
        let seed = *spec.seed.get_or_insert_with(drawn_seed);
        let id = events::new_id();
        let now = SystemTime::now();
        let campaign = Campaign::new(id.clone(), spec, strategy, seed, now);
        let status = campaign.status(now);
        let wake = Arc::new(Notify::new());
        let done = Arc::new(Notify::new());
        self.lock().campaigns.insert(
            id.clone(),
            Entry {
                campaign,
                wake: wake.clone(),
                done,
            },
        );
        tracing::info!(campaign_id = %id, strategy = strategy.name(), "campaign started");
        tokio::spawn(self.clone().drive(id, wake));
        Ok(status)
    }

    pub fn list(&self) -> Vec<CampaignStatus> {
        let now = SystemTime::now();
        let mut all: Vec<CampaignStatus> = self
            .lock()
            .campaigns
            .values()
            .map(|entry| entry.campaign.status(now))
            .collect();
        all.sort_by(|a, b| a.campaign_id.cmp(&b.campaign_id));
        all
    }

    pub fn get(&self, id: &str) -> Result<CampaignStatus, CampaignError> {
        self.lock()
            .campaigns
            .get(id)
            .map(|entry| entry.campaign.status(SystemTime::now()))
            .ok_or_else(|| CampaignError::NotFound(id.to_owned()))
    }

    /// Pauses (`Paused`), resumes (`Running`) or cancels (`Cancelled`) a campaign that has not finished.
    pub fn control(&self, id: &str, to: State) -> Result<CampaignStatus, CampaignError> {
        let mut registry = self.lock();
        let entry = registry
            .campaigns
            .get_mut(id)
            .ok_or_else(|| CampaignError::NotFound(id.to_owned()))?;
        let campaign = &mut entry.campaign;
        if matches!(campaign.state, State::Completed | State::Cancelled) {
            return Err(CampaignError::Finished {
                id: id.to_owned(),
                state: campaign.state.label(),
                action: match to {
                    State::Paused => "paused",
                    State::Running => "resumed",
                    _ => "cancelled",
                },
            });
        }
        match to {
            State::Cancelled => campaign.finish(State::Cancelled, "cancelled".to_owned()),
            other => campaign.state = other,
        }
        entry.wake.notify_one();
        Ok(campaign.status(SystemTime::now()))
    }

    /// Waits until the campaign has finished (completed or cancelled) and its last round is analyzed.
    pub async fn wait(&self, id: &str) -> Result<CampaignStatus, CampaignError> {
        loop {
            let done = {
                let registry = self.lock();
                let entry = registry
                    .campaigns
                    .get(id)
                    .ok_or_else(|| CampaignError::NotFound(id.to_owned()))?;
                let campaign = &entry.campaign;
                if matches!(campaign.state, State::Completed | State::Cancelled)
                    && campaign.in_flight.is_none()
                {
                    return Ok(campaign.status(SystemTime::now()));
                }
                entry.done.clone()
            };
            let notified = done.notified();
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    async fn drive(self, id: String, wake: Arc<Notify>) {
        loop {
            let next = {
                let registry = self.lock();
                let Some(entry) = registry.campaigns.get(&id) else {
                    return;
                };
                entry.campaign.next(SystemTime::now())
            };
            let notified = wake.notified();
            match next {
                Next::Start { faults } => {
                    if let Err(error) = self.start_round(&id, faults).await {
                        tracing::warn!(campaign_id = %id, %error, "round could not start; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = self.shutdown.cancelled() => return,
                        }
                    }
                }
                Next::Wait(until) => {
                    let wait = until
                        .duration_since(SystemTime::now())
                        .unwrap_or(Duration::ZERO);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = notified => {}
                        _ = self.shutdown.cancelled() => return,
                    }
                }
                Next::Hold => {
                    tokio::select! {
                        _ = notified => {}
                        _ = self.shutdown.cancelled() => return,
                    }
                }
                Next::Finish(reason) => {
                    let mut registry = self.lock();
                    if let Some(entry) = registry.campaigns.get_mut(&id) {
                        if entry.campaign.state == State::Running {
                            tracing::info!(campaign_id = %id, %reason, "campaign completed");
                            entry.campaign.finish(State::Completed, reason);
                        }
                        entry.done.notify_waiters();
                    }
                    return;
                }
            }
        }
    }

    async fn start_round(&self, id: &str, faults: u32) -> Result<(), PlannerError> {
        let run_id = events::new_id();
        let experiment = {
            let mut registry = self.lock();
            registry.rounds.insert(run_id.clone(), id.to_owned());
            let entry = registry.campaigns.get_mut(id).expect("a driven campaign");
            entry
                .campaign
                .round_started(run_id.clone(), SystemTime::now(), faults);
            entry.campaign.spec.experiment.clone().unwrap_or_default()
        };
        tracing::info!(campaign_id = %id, run_id = %run_id, faults, "campaign round started");
        let published = self
            .bus
            .publish(&crate::run_started(&run_id, experiment, id))
            .await;
        if let Err(error) = published {
            let mut registry = self.lock();
            registry.rounds.remove(&run_id);
            if let Some(entry) = registry.campaigns.get_mut(id) {
                entry.campaign.round_abandoned(&run_id);
            }
            return Err(error.into());
        }
        Ok(())
    }

    /// The planned events of a campaign's round, when the inventory is one's (`None` otherwise).
    pub async fn plan_round(
        &self,
        event: &Event,
        inventory: &InventoryObserved,
    ) -> Option<Vec<Event>> {
        let (campaign, previous_round) = {
            let registry = self.lock();
            let id = registry.rounds.get(&event.run_id)?;
            let campaign = registry.campaigns.get(id)?.campaign.clone();
            let previous = campaign.rounds.iter().rev().nth(1).cloned();
            (campaign, previous)
        };
        let mut notes = Vec::new();
        let beliefs = match &self.learned {
            Some(learned) => {
                match learned.beliefs(previous_round.as_deref()).await {
                    Ok(beliefs) => beliefs,
                    Err(error) => {
                        notes.push(format!("knowledge could not be read ({error}); planned as if nothing were known"));
                        Beliefs::default()
                    }
                }
            }
            None => {
                notes.push(
                    "no knowledge to learn from: planned as if nothing were known".to_owned(),
                );
                Beliefs::default()
            }
        };
        let busy = HashSet::new();
        let request = Request {
            strategy: campaign.strategy,
            seed: campaign.seed.wrapping_add(campaign.rounds.len() as u64),
            picks: campaign.round_size as usize,
            now: SystemTime::now(),
            cool_down: Duration::from_millis(campaign.spec.cool_down_ms),
            busy: &busy,
        };
        let (planned, picks) = plan::round(
            &event.run_id,
            inventory,
            &campaign.id,
            &beliefs,
            &request,
            notes,
        );
        {
            let mut registry = self.lock();
            if let Some(entry) = registry.campaigns.get_mut(&campaign.id) {
                entry
                    .campaign
                    .round_planned(picks.picks.len() as u32, picks.next_eligible);
            }
        }
        Some(planned)
    }

    /// Counts a verdict of a campaign's round.
    pub fn verdict(&self, run_id: &str, verdict: Verdict) {
        let mut registry = self.lock();
        let Some(id) = registry.rounds.get(run_id).cloned() else {
            return;
        };
        if let Some(entry) = registry.campaigns.get_mut(&id) {
            *entry
                .campaign
                .verdicts
                .entry(verdict.label().to_owned())
                .or_default() += 1;
        }
    }

    /// A round's analysis completed: the next round may start.
    pub fn completed(&self, run_id: &str) {
        let mut registry = self.lock();
        let Some(id) = registry.rounds.remove(run_id) else {
            return;
        };
        if let Some(entry) = registry.campaigns.get_mut(&id) {
            entry.campaign.round_completed(run_id);
            entry.wake.notify_one();
            entry.done.notify_waiters();
        }
    }
}

/// A seed for a campaign that named none: reported in its status so its picks can be repeated.
fn drawn_seed() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}
