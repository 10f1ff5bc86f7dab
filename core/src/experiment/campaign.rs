//! The campaign file (`kind: Campaign`): an experiment's target, faults, expectations and safety, plus how
//! the planner keeps testing: a strategy, a budget, a schedule, a duration and a cool-down.

use std::time::Duration;

use rdfi_proto::v1::{CampaignBudget, CampaignSpec};
use serde::Deserialize;

use super::{
    ExperimentErrors, FaultEntry, HumanDuration, HypothesisFile, Metadata, ObserveFile, Parts,
    Safety, Target, check_header, failing, millis, spec_of, typed,
};
use crate::schedule::Cron;

/// The strategies a campaign may name (`rdfi_planner::strategy::Strategy` implements each).
pub const STRATEGIES: &[&str] = &["risk-ranked", "random", "coverage", "explore-exploit"];
/// How long a missed (fault, resource) pair waits before it is tried again, unless `coolDown` says.
pub const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(60 * 60);
/// The longest a campaign may run.
const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 60 * 60);
/// The most faults of a campaign active at once.
const MAX_CONCURRENCY: u32 = 1_000;
const MAX_RATE_PER_MINUTE: f64 = 60_000.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CampaignFile {
    api_version: String,
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    metadata: Metadata,
    #[serde(default)]
    strategy: Option<String>,
    seed: Option<u64>,
    #[serde(default)]
    budget: BudgetFile,
    #[serde(default)]
    schedule: ScheduleFile,
    duration: Option<HumanDuration>,
    cool_down: Option<HumanDuration>,
    target: Target,
    #[serde(default)]
    faults: Vec<FaultEntry>,
    #[serde(default)]
    hypothesis: HypothesisFile,
    #[serde(default)]
    observe: ObserveFile,
    #[serde(default)]
    safety: Safety,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BudgetFile {
    faults: Option<u32>,
    rate_per_minute: Option<f64>,
    concurrency: Option<u32>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    every: Option<HumanDuration>,
    cron: Option<String>,
}

/// Parses and validates a campaign, reporting every problem found.
pub(super) fn parse(source: &str, file: &str) -> Result<CampaignSpec, ExperimentErrors> {
    let parsed: CampaignFile = typed(source, file)?;
    let fail = failing(source, file);
    let mut errors = Vec::new();
    check_header(&parsed.api_version, &parsed.metadata, &fail, &mut errors);
    let strategy = parsed
        .strategy
        .clone()
        .unwrap_or_else(|| STRATEGIES[0].to_owned());
    if !STRATEGIES.contains(&strategy.as_str()) {
        errors.push(fail(
            "strategy",
            &strategy,
            format!(
                "unknown strategy {strategy:?}, expected one of {}",
                STRATEGIES.join(", ")
            ),
        ));
    }
    let budget = &parsed.budget;
    let concurrency = budget.concurrency.unwrap_or(1);
    if concurrency == 0 || concurrency > MAX_CONCURRENCY {
        errors.push(fail(
            "budget.concurrency",
            "concurrency",
            format!("must be 1 to {MAX_CONCURRENCY} faults at once"),
        ));
    }
    let rate = budget.rate_per_minute.unwrap_or(0.0);
    if budget.rate_per_minute.is_some()
        && !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE_PER_MINUTE)
    {
        errors.push(fail(
            "budget.ratePerMinute",
            "ratePerMinute",
            format!("must be more than 0 and at most {MAX_RATE_PER_MINUTE} faults a minute"),
        ));
    }
    if budget.faults == Some(0) {
        errors.push(fail(
            "budget.faults",
            "faults",
            "must be at least 1 (leave it out to stop only at the duration)".to_owned(),
        ));
    }
    let duration = parsed.duration.as_ref().map(|duration| duration.0);
    match duration {
        Some(duration) if duration.is_zero() || duration > MAX_DURATION => errors.push(fail(
            "duration",
            "duration",
            format!(
                "must be more than 0s and at most {}",
                humantime::format_duration(MAX_DURATION)
            ),
        )),
        None if budget.faults.is_none() => errors.push(fail(
            "budget",
            "budget",
            "a campaign must end: give budget.faults, a duration, or both".to_owned(),
        )),
        _ => {}
    }
    let cool_down = parsed
        .cool_down
        .as_ref()
        .map_or(DEFAULT_COOL_DOWN, |cool_down| cool_down.0);
    let schedule = &parsed.schedule;
    let interval = schedule.every.as_ref().map(|every| every.0);
    let mut cron = String::new();
    match (&schedule.cron, interval) {
        (Some(_), Some(_)) => errors.push(fail(
            "schedule",
            "schedule",
            "give one of every (continuous, rounds this far apart) or cron, not both".to_owned(),
        )),
        (Some(expression), None) => match Cron::parse(expression) {
            Ok(parsed) if parsed.first_after(std::time::UNIX_EPOCH).is_none() => errors.push(fail(
                "schedule.cron",
                expression,
                format!("{expression:?} names no time that ever comes"),
            )),
            Ok(_) => cron = expression.trim().to_owned(),
            Err(message) => errors.push(fail("schedule.cron", expression, message)),
        },
        (None, Some(every)) if every.is_zero() || every > MAX_DURATION => errors.push(fail(
            "schedule.every",
            "every",
            "must be more than 0s and at most a year".to_owned(),
        )),
        _ => {}
    }
    let name = parsed.metadata.name.clone();
    let experiment = spec_of(
        Parts {
            name: name.clone(),
            target: parsed.target,
            faults: parsed.faults,
            hypothesis: parsed.hypothesis,
            observe: parsed.observe,
            safety: parsed.safety,
            every_fault_when_none: true,
        },
        source,
        file,
        &mut errors,
    );
    match experiment {
        Some(experiment) if errors.is_empty() => Ok(CampaignSpec {
            name: name.trim().to_owned(),
            strategy,
            seed: parsed.seed,
            budget: Some(CampaignBudget {
                faults: budget.faults.unwrap_or(0),
                rate_per_minute: rate,
                concurrency,
            }),
            cron,
            interval_ms: interval.map_or(0, millis),
            duration_ms: duration.map_or(0, millis),
            cool_down_ms: millis(cool_down),
            experiment: Some(experiment),
        }),
        _ => {
            errors.sort_by_key(|error| (error.line, error.column));
            Err(ExperimentErrors(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Document, parse_document};
    use super::*;

    const CAMPAIGN: &str = "\
apiVersion: rdfi/v1
kind: Campaign
metadata:
  name: nightly-storage
strategy: explore-exploit
seed: 7
budget:
  faults: 20
  ratePerMinute: 2
  concurrency: 3
schedule:
  cron: 0 2 * * *
duration: 2h
coolDown: 1d
target:
  provider: aws
  selector:
    tags: { team: data }
faults:
  - glob: aws.s3.*
  - id: aws.iam.user-admin-policy-attached
hypothesis:
  detect: { within: 5m }
safety:
  exposureWindow: 10m
";

    fn campaign(source: &str) -> CampaignSpec {
        match parse_document(source, "c.yaml").unwrap() {
            Document::Campaign(spec) => spec,
            Document::Experiment(_) => panic!("a campaign"),
        }
    }

    fn errors(source: &str) -> Vec<String> {
        parse_document(source, "c.yaml")
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_campaign_becomes_its_spec() {
        let spec = campaign(CAMPAIGN);
        assert_eq!(
            (spec.name.as_str(), spec.strategy.as_str(), spec.seed),
            ("nightly-storage", "explore-exploit", Some(7))
        );
        let budget = spec.budget.unwrap();
        assert_eq!(
            (budget.faults, budget.rate_per_minute, budget.concurrency),
            (20, 2.0, 3)
        );
        assert_eq!(spec.cron, "0 2 * * *");
        assert_eq!(
            (spec.interval_ms, spec.duration_ms, spec.cool_down_ms),
            (0, 7_200_000, 86_400_000)
        );
        let experiment = spec.experiment.unwrap();
        let ids: Vec<&str> = experiment
            .faults
            .iter()
            .map(|fault| fault.fault_id.as_str())
            .collect();
        let s3: Vec<&str> = crate::catalogue::all()
            .map(|model| model.id)
            .filter(|id| id.starts_with("aws.s3."))
            .collect();
        assert!(s3.len() > 3, "{s3:?}");
        assert_eq!(&ids[..s3.len()], &s3[..]);
        assert_eq!(ids[s3.len()..], ["aws.iam.user-admin-policy-attached"]);
        assert_eq!(
            experiment.hypothesis.unwrap().detect_within_ms,
            Some(300_000)
        );
    }

    #[test]
    fn defaults_and_every_fault_of_the_provider_when_none_is_listed() {
        let spec = campaign(
            "apiVersion: rdfi/v1\nkind: Campaign\nmetadata: {name: gcp}\ntarget: {provider: gcp}\n\
             budget: {faults: 5}\n",
        );
        assert_eq!(spec.strategy, "risk-ranked");
        assert_eq!(spec.seed, None);
        assert_eq!(spec.budget.unwrap().concurrency, 1);
        assert_eq!(spec.cool_down_ms, DEFAULT_COOL_DOWN.as_millis() as u64);
        let faults = spec.experiment.unwrap().faults;
        let gcp = crate::catalogue::all()
            .filter(|model| model.provider() == "gcp")
            .count();
        assert_eq!(faults.len(), gcp);
        assert!(
            faults
                .iter()
                .all(|fault| fault.fault_id.starts_with("gcp."))
        );
    }

    #[test]
    fn every_mistake_is_reported_in_one_pass_with_its_place() {
        let bad = CAMPAIGN
            .replace("strategy: explore-exploit", "strategy: greedy")
            .replace("concurrency: 3", "concurrency: 0")
            .replace("ratePerMinute: 2", "ratePerMinute: -1")
            .replace("cron: 0 2 * * *", "cron: 0 25 * * *")
            .replace("glob: aws.s3.*", "glob: aws.nothing.*")
            .replace("within: 5m", "within: 3h");
        let errors = errors(&bad);
        let expected = [
            "c.yaml:5:11: strategy: unknown strategy \"greedy\", expected one of risk-ranked, random, coverage, explore-exploit",
            "c.yaml:9:3: budget.ratePerMinute: must be more than 0 and at most 60000 faults a minute",
            "c.yaml:10:3: budget.concurrency: must be 1 to 1000 faults at once",
            "c.yaml:12:9: schedule.cron: hour \"25\" in \"0 25 * * *\": \"25\" is not a number from 0 to 23",
            "c.yaml:20:11: faults[0].glob: no fault of provider \"aws\" matches \"aws.nothing.*\"",
            "c.yaml:23:13: hypothesis.detect.within: 3h must be more than 0s and no longer than safety.exposureWindow (10m)",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, expected) in errors.iter().zip(expected) {
            assert!(
                error.starts_with(expected),
                "{error}\n  expected {expected}"
            );
        }
    }

    #[test]
    fn a_campaign_must_end_and_have_one_schedule() {
        let errors = errors(
            "apiVersion: rdfi/v1\nkind: Campaign\nmetadata: {name: x}\ntarget: {provider: sandbox}\n\
             schedule: {every: 1m, cron: '* * * * *'}\n",
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("a campaign must end"), "{errors:?}");
        assert!(
            errors[1].starts_with("c.yaml:5:1: schedule: give one of every"),
            "{errors:?}"
        );
    }
}
