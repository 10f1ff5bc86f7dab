use super::*;
use crate::strategy::Strategy;
use proptest::prelude::*;
use rdfi_proto::v1::CampaignBudget;

fn spec(
    faults: u32,
    rate_per_minute: f64,
    concurrency: u32,
    duration_ms: u64,
    interval_ms: u64,
) -> CampaignSpec {
    CampaignSpec {
        name: "c".into(),
        strategy: "risk-ranked".into(),
        budget: Some(CampaignBudget {
            faults,
            rate_per_minute,
            concurrency,
        }),
        duration_ms,
        interval_ms,
        ..Default::default()
    }
}

fn at(seconds: f64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds)
}

fn campaign(spec: CampaignSpec) -> Campaign {
    Campaign::new("c1".into(), spec, Strategy::RiskRanked, 1, at(0.0))
}

/// Runs the campaign on simulated time where each round takes `round_secs` and plans what it may (or
/// `available` at most); returns (start time, faults) of each round and how it ended.
fn simulate(mut c: Campaign, round_secs: f64, available: u32) -> (Vec<(f64, u32)>, String) {
    let mut now = 0.0;
    let mut rounds = Vec::new();
    for _ in 0..10_000 {
        match c.next(at(now)) {
            Next::Start { faults } => {
                c.round_started(format!("r{}", rounds.len()), at(now), faults);
                let planned = faults.min(available);
                c.round_planned(planned, None);
                rounds.push((now, planned));
                now += round_secs;
                c.round_completed(&format!("r{}", rounds.len() - 1));
            }
            Next::Wait(until) => {
                now = until
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64();
            }
            Next::Hold => panic!("held with nothing in flight"),
            Next::Finish(reason) => return (rounds, reason),
        }
    }
    panic!("did not finish: {rounds:?}")
}

#[test]
fn a_budget_of_faults_is_spent_in_rounds_of_the_concurrency() {
    let (rounds, reason) = simulate(campaign(spec(7, 0.0, 3, 0, 0)), 1.0, 100);
    assert_eq!(rounds.iter().map(|r| r.1).collect::<Vec<_>>(), [3, 3, 1]);
    assert_eq!(reason, "its budget of 7 faults is spent");
}

#[test]
fn the_attack_rate_spaces_the_rounds() {
    // Two faults a minute, four at once: rounds of two, a minute apart.
    let (rounds, _) = simulate(campaign(spec(6, 2.0, 4, 0, 0)), 1.0, 100);
    assert_eq!(rounds, [(0.0, 2), (60.0, 2), (120.0, 2)]);
    // Half a fault a minute: one fault every two minutes.
    let (rounds, _) = simulate(campaign(spec(3, 0.5, 4, 0, 0)), 1.0, 100);
    assert_eq!(rounds, [(0.0, 1), (120.0, 1), (240.0, 1)]);
}

#[test]
fn the_duration_ends_it_and_an_interval_spaces_it() {
    let (rounds, reason) = simulate(campaign(spec(0, 0.0, 1, 10_000, 3_000)), 1.0, 100);
    assert_eq!(
        rounds.iter().map(|r| r.0).collect::<Vec<_>>(),
        [0.0, 3.0, 6.0, 9.0]
    );
    assert_eq!(reason, "its duration is over");
}

#[test]
fn a_cron_schedule_starts_each_round_at_its_next_time() {
    // Every quarter hour from the epoch's first: 00:15, 00:30, 00:45.
    let spec = CampaignSpec {
        cron: "15,30,45 * * * *".into(),
        ..spec(3, 0.0, 1, 0, 0)
    };
    let (rounds, reason) = simulate(campaign(spec), 60.0, 100);
    assert_eq!(
        rounds.iter().map(|r| r.0).collect::<Vec<_>>(),
        [900.0, 1800.0, 2700.0]
    );
    assert_eq!(reason, "its budget of 3 faults is spent");
}

#[test]
fn the_parsers_strategies_are_the_planners() {
    let names: Vec<&str> = Strategy::ALL
        .iter()
        .map(|strategy| strategy.name())
        .collect();
    assert_eq!(names, rdfi_core::experiment::STRATEGIES);
}

#[test]
fn nothing_eligible_waits_for_the_cool_down_or_ends() {
    let mut c = campaign(spec(5, 0.0, 1, 0, 0));
    c.round_started("r0".into(), at(0.0), 1);
    c.round_planned(0, Some(at(100.0)));
    c.round_completed("r0");
    assert_eq!(c.next(at(1.0)), Next::Wait(at(100.0)));
    c.round_started("r1".into(), at(100.0), 1);
    c.round_planned(0, None);
    c.round_completed("r1");
    assert!(
        matches!(c.next(at(101.0)), Next::Finish(reason) if reason.contains("nothing is left"))
    );
}

#[test]
fn paused_and_in_flight_hold_and_cancelled_finishes() {
    let mut c = campaign(spec(5, 0.0, 1, 0, 0));
    c.round_started("r0".into(), at(0.0), 1);
    assert_eq!(c.next(at(1.0)), Next::Hold);
    c.round_completed("another run");
    assert_eq!(c.next(at(1.0)), Next::Hold);
    c.round_completed("r0");
    c.state = State::Paused;
    assert_eq!(c.next(at(1.0)), Next::Hold);
    c.state = State::Running;
    assert_eq!(c.next(at(1.0)), Next::Start { faults: 1 });
    c.round_started("r1".into(), at(1.0), 1);
    c.round_abandoned("r1");
    assert_eq!((c.rounds.len(), c.last_round), (1, Some((at(0.0), 0))));
    c.finish(State::Cancelled, "cancelled by someone".into());
    assert_eq!(c.next(at(1.0)), Next::Finish("cancelled by someone".into()));
    let status = c.status(at(1.0));
    assert_eq!((status.state.as_str(), status.rounds), ("cancelled", 1));
}

proptest! {
    #[test]
    fn budget_rate_and_concurrency_always_hold(
        faults in 0u32..40,
        rate in prop::sample::select(vec![0.0, 0.5, 1.0, 2.5, 10.0, 60.0]),
        concurrency in 1u32..6,
        duration_s in prop::sample::select(vec![0u64, 30, 600, 3600]),
        interval_s in prop::sample::select(vec![0u64, 1, 45]),
        round_secs in 0.0f64..90.0,
        available in 0u32..6,
    ) {
        prop_assume!(faults > 0 || duration_s > 0);
        let c = campaign(spec(faults, rate, concurrency, duration_s * 1000, interval_s * 1000));
        let (rounds, _) = simulate(c, round_secs, available);
        let total: u32 = rounds.iter().map(|r| r.1).sum();
        if faults > 0 { prop_assert!(total <= faults); }
        for (start, planned) in &rounds {
            prop_assert!(*planned <= concurrency);
            if duration_s > 0 { prop_assert!(*start < duration_s as f64); }
            if rate > 0.0 {
                // Never more than the rate allows since the start, but for the round that is starting.
                let before: u32 = rounds.iter().filter(|r| r.0 < *start).map(|r| r.1.max(1)).sum();
                prop_assert!(f64::from(before) <= rate * start / 60.0 + 1e-6, "{rounds:?}");
            }
        }
        for pair in rounds.windows(2) {
            prop_assert!(pair[1].0 - pair[0].0 >= interval_s as f64 - 1e-6);
        }
    }
}
