//! `rdfi plan FILE --explain`: what a campaign (or an experiment's faults, ranked) would test next and why,
//! from what knowledge has learned, injecting nothing. And what campaigns learn from: [`KnowledgeBeliefs`].

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use rdfi_planner::Learned;
use rdfi_planner::plan::candidates;
use rdfi_planner::strategy::{self, Beliefs, Pick, Picks, Request, Strategy};
use rdfi_proto::v1::{CampaignSpec, ExperimentSpec, RunStatus};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::query::{Knowledge, KnowledgeArgs};
use crate::{Failure, usage};

/// Knowledge, read for each campaign round: in this process, or a knowledge service reached at each round.
pub enum KnowledgeBeliefs {
    Open(Mutex<Knowledge>),
    Remote(KnowledgeArgs),
}

impl KnowledgeBeliefs {
    pub fn open(knowledge: Knowledge) -> Self {
        KnowledgeBeliefs::Open(Mutex::new(knowledge))
    }

    async fn read(knowledge: &mut Knowledge, after: Option<&str>) -> Result<Beliefs, String> {
        if let Some(run_id) = after {
            let deadline = tokio::time::Instant::now() + RECORDED_WAIT;
            loop {
                let completed = knowledge.get_run(run_id).await.ok().is_some_and(|run| {
                    run.run
                        .is_some_and(|summary| summary.status() == RunStatus::Completed)
                });
                if completed {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!(
                        "knowledge has not recorded run {run_id} as completed"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        knowledge.beliefs().await.map_err(|failure| failure.message)
    }
}

/// How long a round waits for knowledge to have recorded the previous one.
const RECORDED_WAIT: Duration = Duration::from_secs(10);

impl Learned for KnowledgeBeliefs {
    fn beliefs<'a>(
        &'a self,
        after: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = Result<Beliefs, String>> + Send + 'a>> {
        Box::pin(async move {
            match self {
                KnowledgeBeliefs::Open(knowledge) => {
                    KnowledgeBeliefs::read(&mut *knowledge.lock().await, after).await
                }
                KnowledgeBeliefs::Remote(remote) => {
                    let mut knowledge = Knowledge::open(remote)
                        .await
                        .map_err(|failure| failure.message)?;
                    KnowledgeBeliefs::read(&mut knowledge, after).await
                }
            }
        })
    }
}

/// A document `rdfi plan` can explain: a campaign, or an experiment's faults.
pub struct Plannable {
    pub experiment: ExperimentSpec,
    pub strategy: Strategy,
    pub seed: u64,
    pub picks: usize,
    pub cool_down: Duration,
}

impl Plannable {
    pub fn of_campaign(spec: &CampaignSpec) -> Result<Plannable, Failure> {
        let strategy = Strategy::parse(&spec.strategy)
            .ok_or_else(|| usage(format!("unknown strategy {:?}", spec.strategy)))?;
        let budget = spec.budget.unwrap_or_default();
        Ok(Plannable {
            experiment: spec.experiment.clone().unwrap_or_default(),
            strategy,
            seed: spec.seed.unwrap_or_default(),
            picks: budget.concurrency.max(1) as usize,
            cool_down: Duration::from_millis(spec.cool_down_ms),
        })
    }

    /// An experiment's faults, ranked risk-first; as many picks as its faults ask targets.
    pub fn of_experiment(spec: &ExperimentSpec) -> Plannable {
        Plannable {
            experiment: spec.clone(),
            strategy: Strategy::RiskRanked,
            seed: 0,
            picks: spec.faults.iter().map(|f| f.max_targets as usize).sum(),
            cool_down: Duration::ZERO,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explained {
    pub strategy: &'static str,
    pub seed: u64,
    pub picks: Vec<PickView>,
    /// Candidates left out: missed within the cool-down.
    pub cooling_down: usize,
    pub candidates: usize,
    /// coverage: the ATT&CK techniques of the candidates and whether each has been tested.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub techniques: Vec<TechniqueView>,
    pub notes: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TechniqueView {
    pub technique: String,
    pub tested: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PickView {
    pub fault_id: &'static str,
    pub resource: String,
    pub resource_name: String,
    /// 0 to 100 for risk-ranked, coverage and explore-exploit; the uniform draw (0 to 1) for random.
    pub score: f64,
    pub reason: String,
    pub inputs: InputsView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputsView {
    pub cvss: f64,
    pub criticality: &'static str,
    pub criticality_weight: f64,
    /// public, cross-account, internal, or unknown.
    pub exposure: &'static str,
    pub exposure_weight: f64,
    pub controls: Vec<ControlInput>,
    /// The fault kind's measured miss probability.
    pub kind_miss: f64,
    pub prior_weight: f64,
    pub caught_here: u32,
    pub missed_here: u32,
    /// The belief that the controls miss this fault here: Beta(a, b), its mean and standard deviation.
    pub miss_a: f64,
    pub miss_b: f64,
    pub miss_mean: f64,
    pub miss_sd: f64,
    pub uncertainty_bonus: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draw: Option<f64>,
    pub tested_before: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlInput {
    pub control: String,
    pub efficacy: f64,
    pub observations: u32,
}

fn view(pick: &Pick) -> PickView {
    let inputs = &pick.inputs;
    let miss = &inputs.miss;
    PickView {
        fault_id: pick.candidate.fault.id,
        resource: pick.candidate.resource.id.clone(),
        resource_name: pick.candidate.resource.name.clone(),
        score: (pick.score * 1000.0).round() / 1000.0,
        reason: pick.reason.clone(),
        inputs: InputsView {
            cvss: inputs.cvss,
            criticality: inputs.criticality.label(),
            criticality_weight: inputs.criticality.weight(),
            exposure: match inputs.reach.label() {
                "" => "unknown",
                label => label,
            },
            exposure_weight: inputs.reach.weight(),
            controls: miss
                .controls
                .iter()
                .map(|(control, efficacy, observations)| ControlInput {
                    control: control.clone(),
                    efficacy: *efficacy,
                    observations: *observations,
                })
                .collect(),
            kind_miss: miss.kind_miss,
            prior_weight: miss.prior_weight,
            caught_here: miss.caught_here,
            missed_here: miss.missed_here,
            miss_a: miss.a,
            miss_b: miss.b,
            miss_mean: miss.mean(),
            miss_sd: miss.sd(),
            uncertainty_bonus: inputs.bonus,
            draw: inputs.draw,
            tested_before: inputs.tested_before,
        },
    }
}

/// The picks, explained, from the discovered inventory and what knowledge has learned.
pub fn explain(
    plannable: &Plannable,
    resources: &[rdfi_proto::v1::ResourceRef],
    beliefs: &Beliefs,
    mut notes: Vec<String>,
) -> Explained {
    let (candidates, unknown) = candidates(&plannable.experiment, resources);
    notes.extend(unknown);
    let busy = HashSet::new();
    let picks: Picks = strategy::pick(
        &candidates,
        beliefs,
        &Request {
            strategy: plannable.strategy,
            seed: plannable.seed,
            picks: plannable.picks,
            now: SystemTime::now(),
            cool_down: plannable.cool_down,
            busy: &busy,
        },
    );
    Explained {
        strategy: plannable.strategy.name(),
        seed: plannable.seed,
        picks: picks.picks.iter().map(view).collect(),
        cooling_down: picks.cooling_down,
        candidates: candidates.len(),
        techniques: picks
            .techniques
            .iter()
            .map(|(technique, tested)| TechniqueView {
                technique: technique.clone(),
                tested: *tested,
            })
            .collect(),
        notes,
    }
}

/// The beliefs from `--state-dir`/`--knowledge`; nothing learned yet when the state directory has no
/// database (a note says so).
pub async fn beliefs_from(
    args: &KnowledgeArgs,
    notes: &mut Vec<String>,
) -> Result<Beliefs, Failure> {
    let missing_database = args.knowledge.is_none()
        && !args
            .state_dir
            .clone()
            .unwrap_or_else(crate::serve::default_state_dir)
            .join(crate::query::DATABASE)
            .is_file();
    if missing_database {
        notes.push("no knowledge database yet: ranked as if nothing were known".to_owned());
        return Ok(Beliefs::default());
    }
    Knowledge::open(args).await?.beliefs().await
}

/// The picks as a table, then what was left out; `why` adds each pick's reason.
pub fn table(explained: &Explained, why: bool) -> String {
    let mut out = format!(
        "strategy {} (seed {}): {} of {} candidates picked\n",
        explained.strategy,
        explained.seed,
        explained.picks.len(),
        explained.candidates
    );
    let mut rows = vec![[
        "#".to_owned(),
        "SCORE".to_owned(),
        "FAULT".to_owned(),
        "RESOURCE".to_owned(),
        if why { "WHY" } else { "" }.to_owned(),
    ]];
    for (index, pick) in explained.picks.iter().enumerate() {
        rows.push([
            (index + 1).to_string(),
            format!("{:.1}", pick.score),
            pick.fault_id.to_owned(),
            pick.resource_name.clone(),
            if why {
                pick.reason.clone()
            } else {
                String::new()
            },
        ]);
    }
    out.push_str(&crate::columns(&rows));
    if explained.cooling_down > 0 {
        out.push_str(&rdfi_planner::plan::cooling_down_note(
            explained.cooling_down,
        ));
        out.push('\n');
    }
    if !explained.techniques.is_empty() {
        let tested = explained.techniques.iter().filter(|t| t.tested).count();
        out.push_str(&format!(
            "ATT&CK techniques tested: {tested} of {}\n",
            explained.techniques.len()
        ));
    }
    for note in &explained.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}
