//! `plan-bench [CANDIDATES] [PICKS]`: how long each strategy takes to pick from a million (resource, fault)
//! candidates, and the memory that takes (docs/benchmarks.md, "Ranking candidates").
//!
//! The estate: every AWS fault of the catalogue, as many opted-in resources of each type as make CANDIDATES
//! pairs, each with a criticality and an exposure; knowledge holds a scorecard for every fault kind (one to
//! three controls with 0 to 40 trials) and trials of one pair in ten.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use rdfi_core::catalogue::{self, FaultModel};
use rdfi_planner::strategy::{Beliefs, Candidate, LastTrial, PairRecord, Request, Strategy, pick};
use rdfi_proto::v1::{ResourceRef, Verdict};

/// A small deterministic stream, so every run builds the same estate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let wanted: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let picks: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100);
    let faults: Vec<&'static FaultModel> =
        catalogue::all().filter(|f| f.provider() == "aws").collect();
    let per_type = wanted.div_ceil(faults.len());
    let mut types: Vec<&str> = faults.iter().map(|f| f.resource_type).collect();
    types.sort_unstable();
    types.dedup();
    let mut rng = Lcg(7);
    let criticality = ["low", "medium", "high", "critical"];
    let exposure = ["", "public", "internal", "cross-account"];
    let before = rdfi_tests::peak_memory_kib().unwrap_or(0);
    let resources: Vec<ResourceRef> = types
        .iter()
        .flat_map(|resource_type| (0..per_type).map(move |i| (resource_type, i)))
        .map(|(resource_type, i)| ResourceRef {
            provider: "aws".into(),
            resource_type: (*resource_type).to_owned(),
            id: format!("arn:aws:{resource_type}:{i:07}"),
            name: format!("{resource_type}-{i}"),
            tags: [(
                "rdfi-criticality".to_owned(),
                criticality[rng.next(4) as usize].to_owned(),
            )]
            .into(),
            exposure: exposure[rng.next(4) as usize].to_owned(),
            ..Default::default()
        })
        .collect();
    let mut by_type: std::collections::HashMap<&str, Vec<&ResourceRef>> = Default::default();
    for resource in &resources {
        by_type
            .entry(resource.resource_type.as_str())
            .or_default()
            .push(resource);
    }
    let candidates: Vec<Candidate> = faults
        .iter()
        .flat_map(|fault| {
            by_type[fault.resource_type]
                .iter()
                .map(move |resource| Candidate { fault, resource })
        })
        .collect();
    let mut beliefs = Beliefs::default();
    let now = SystemTime::now();
    for fault in &faults {
        for control in 0..=rng.next(3) {
            beliefs.control(
                fault.id,
                &format!("control-{control}"),
                rng.next(30) as u32,
                rng.next(10) as u32,
            );
        }
    }
    for candidate in candidates.iter().step_by(10) {
        let missed = rng.next(3) == 0;
        beliefs.pair(
            candidate.fault.id,
            &candidate.resource.id,
            PairRecord {
                caught: u32::from(!missed),
                missed: u32::from(missed),
                last: Some(LastTrial {
                    run_id: "r".into(),
                    verdict: if missed {
                        Verdict::Missed
                    } else {
                        Verdict::Detected
                    },
                    at: now - Duration::from_secs(rng.next(7200)),
                    controls: Vec::new(),
                }),
            },
        );
    }
    let estate = rdfi_tests::peak_memory_kib().unwrap_or(0);
    println!(
        "{} candidates ({} faults x {} resources of each of {} types), {} pair records; estate and beliefs {} MiB",
        candidates.len(),
        faults.len(),
        per_type,
        types.len(),
        candidates.len().div_ceil(10),
        (estate - before) / 1024
    );
    println!("| strategy | picks | time | peak memory (process) |");
    println!("|---|---|---|---|");
    let busy = HashSet::new();
    for strategy in Strategy::ALL {
        let request = Request {
            strategy,
            seed: 42,
            picks,
            now,
            cool_down: Duration::from_secs(3600),
            busy: &busy,
        };
        let mut times = Vec::new();
        let mut got = 0;
        for _ in 0..3 {
            let started = Instant::now();
            got = pick(&candidates, &beliefs, &request).picks.len();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "| {} | {got} | {:.0} ms (best of 3; worst {:.0} ms) | {} MiB |",
            strategy.name(),
            times[0].as_secs_f64() * 1000.0,
            times[2].as_secs_f64() * 1000.0,
            rdfi_tests::peak_memory_kib().unwrap_or(0) / 1024
        );
    }
    Ok(())
}
