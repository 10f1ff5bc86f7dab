//! The risk score of a security gap (docs/risk.md): how bad the fault is (its CVSS v3.1 base score), how much
//! the asset matters (its criticality, from the tag or label `rdfi-criticality`), how reachable it is (its
//! exposure, as rdfi proved it), and how likely the controls that should catch it are to miss it (from their
//! measured efficacy). Pure: knowledge scores findings with it; the planner scores candidates with the same.

use std::collections::HashMap;

/// The tag (AWS) or label (Google Cloud) that says how much an asset matters.
pub const CRITICALITY_TAG: &str = "rdfi-criticality";
/// The tag or label that says what kind of data an asset holds (pii, payment, public...), kept as given.
pub const DATA_CLASS_TAG: &str = "rdfi-data-class";

/// How much an asset matters to its owners.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Criticality {
    Low,
    Medium,
    High,
    Critical,
}

impl Criticality {
    pub const ALL: [Criticality; 4] = [
        Criticality::Low,
        Criticality::Medium,
        Criticality::High,
        Criticality::Critical,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Criticality::Low => "low",
            Criticality::Medium => "medium",
            Criticality::High => "high",
            Criticality::Critical => "critical",
        }
    }

    /// The asset's criticality from its tags: the value of `rdfi-criticality`, in any case; medium when the
    /// tag is absent or says something else.
    pub fn of(tags: &HashMap<String, String>) -> Criticality {
        tags.get(CRITICALITY_TAG)
            .and_then(|value| {
                Criticality::ALL
                    .into_iter()
                    .find(|level| level.label().eq_ignore_ascii_case(value.trim()))
            })
            .unwrap_or(Criticality::Medium)
    }

    /// Its weight in the score: a quarter for low, up to one for critical.
    pub fn weight(self) -> f64 {
        match self {
            Criticality::Low => 0.25,
            Criticality::Medium => 0.5,
            Criticality::High => 0.75,
            Criticality::Critical => 1.0,
        }
    }
}

/// How reachable the misconfigured asset was, as rdfi proved it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposure {
    /// An outsider's anonymous read got rdfi's canary.
    Exposed,
    /// Not proven either way (no canary applies, or the read failed otherwise).
    Unproven,
    /// The cloud accepted the change but refused the outsider's read: another control made it ineffective.
    Neutralized,
}

impl Exposure {
    pub fn label(self) -> &'static str {
        match self {
            Exposure::Exposed => "exposed",
            Exposure::Unproven => "unproven",
            Exposure::Neutralized => "neutralized",
        }
    }

    pub fn weight(self) -> f64 {
        match self {
            Exposure::Exposed => 1.0,
            Exposure::Unproven => 0.6,
            Exposure::Neutralized => 0.3,
        }
    }
}

/// How reachable an asset is before any fault, as discovery read it (`ResourceRef.exposure`): the planner's
/// stand-in for the exposure a canary will prove or disprove once the fault is injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// A public endpoint, or public already.
    Public,
    /// Trusted by, or shared with, another account or project.
    CrossAccount,
    /// Neither, as far as discovery could read.
    Internal,
    /// Discovery did not read it.
    Unknown,
}

impl Reach {
    pub const ALL: [Reach; 4] = [
        Reach::Public,
        Reach::CrossAccount,
        Reach::Internal,
        Reach::Unknown,
    ];

    /// The words of `ResourceRef.exposure`: "public", "cross-account", "internal", "" (unknown).
    pub fn label(self) -> &'static str {
        match self {
            Reach::Public => "public",
            Reach::CrossAccount => "cross-account",
            Reach::Internal => "internal",
            Reach::Unknown => "",
        }
    }

    /// From `ResourceRef.exposure`; anything else is unknown.
    pub fn of(label: &str) -> Reach {
        Reach::ALL
            .into_iter()
            .find(|reach| reach.label() == label)
            .unwrap_or(Reach::Unknown)
    }

    /// The reach discovery reads from a resource's probes ([`crate::catalogue::reach_probes`]): for each, the
    /// reach its misconfiguration means, and whether it is present (`None` when it could not be read). The
    /// widest present reach wins (public over cross-account); with none present, internal when every probe
    /// was read, else unknown; unknown too when no probe applies.
    pub fn of_readings(readings: impl IntoIterator<Item = (Reach, Option<bool>)>) -> Reach {
        let mut probed = false;
        let mut unread = false;
        let mut widest: Option<Reach> = None;
        for (reach, present) in readings {
            probed = true;
            match present {
                Some(true) => {
                    widest = Some(match widest {
                        Some(Reach::Public) => Reach::Public,
                        _ => reach,
                    })
                }
                Some(false) => {}
                None => unread = true,
            }
        }
        match widest {
            Some(reach) => reach,
            None if probed && !unread => Reach::Internal,
            None => Reach::Unknown,
        }
    }

    /// Its weight in a candidate's score: unknown weighs as an unproven exposure does.
    pub fn weight(self) -> f64 {
        match self {
            Reach::Public => 1.0,
            Reach::CrossAccount => 0.8,
            Reach::Internal => 0.4,
            Reach::Unknown => Exposure::Unproven.weight(),
        }
    }
}

/// What a risk score is made of.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inputs {
    /// 0 to 10.
    pub cvss_base_score: f64,
    pub criticality: Criticality,
    pub exposure: Exposure,
    /// The chance that every control expected to answer misses the fault (0 to 1).
    pub miss_probability: f64,
}

/// The chance that every one of the controls misses, taking them as independent: the product of one less
/// each control's efficacy (its posterior mean). With no control expected, nothing catches it: 1.
pub fn miss_probability(efficacies: impl IntoIterator<Item = f64>) -> f64 {
    efficacies
        .into_iter()
        .map(|efficacy| 1.0 - efficacy.clamp(0.0, 1.0))
        .product()
}

/// The score, 0 to 100, to one decimal: 100 × CVSS/10 × criticality × exposure × miss probability.
pub fn score(inputs: &Inputs) -> f64 {
    let raw = 100.0
        * (inputs.cvss_base_score.clamp(0.0, 10.0) / 10.0)
        * inputs.criticality.weight()
        * inputs.exposure.weight()
        * inputs.miss_probability.clamp(0.0, 1.0);
    (raw * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tags(value: &str) -> HashMap<String, String> {
        HashMap::from([(CRITICALITY_TAG.to_owned(), value.to_owned())])
    }

    #[test]
    fn criticality_comes_from_the_tag_in_any_case_and_defaults_to_medium() {
        assert_eq!(Criticality::of(&tags("critical")), Criticality::Critical);
        assert_eq!(Criticality::of(&tags(" High ")), Criticality::High);
        assert_eq!(Criticality::of(&tags("LOW")), Criticality::Low);
        assert_eq!(Criticality::of(&tags("urgent")), Criticality::Medium);
        assert_eq!(Criticality::of(&HashMap::new()), Criticality::Medium);
    }

    #[test]
    fn the_labels_are_the_words_of_docs_risk_md() {
        let exposures =
            [Exposure::Exposed, Exposure::Unproven, Exposure::Neutralized].map(Exposure::label);
        assert_eq!(exposures, ["exposed", "unproven", "neutralized"]);
        let levels = Criticality::ALL.map(Criticality::label);
        assert_eq!(levels, ["low", "medium", "high", "critical"]);
    }

    #[test]
    fn reach_reads_the_words_of_discovery() {
        for reach in Reach::ALL {
            assert_eq!(Reach::of(reach.label()), reach);
        }
        assert_eq!(Reach::of("somewhere"), Reach::Unknown);
        let weights = Reach::ALL.map(Reach::weight);
        assert_eq!(weights, [1.0, 0.8, 0.4, 0.6]);
    }

    #[test]
    fn reach_of_readings_takes_the_widest_present_and_is_unknown_unless_all_were_read() {
        use Reach::*;
        assert_eq!(Reach::of_readings([]), Unknown);
        assert_eq!(
            Reach::of_readings([(Public, Some(false)), (CrossAccount, Some(false))]),
            Internal
        );
        assert_eq!(
            Reach::of_readings([(Public, Some(false)), (CrossAccount, None)]),
            Unknown
        );
        assert_eq!(
            Reach::of_readings([(CrossAccount, Some(true)), (Public, None)]),
            CrossAccount
        );
        assert_eq!(
            Reach::of_readings([(Public, Some(true)), (CrossAccount, Some(true))]),
            Public
        );
        assert_eq!(
            Reach::of_readings([(CrossAccount, Some(true)), (Public, Some(true))]),
            Public
        );
    }

    fn reading() -> impl Strategy<Value = (Reach, Option<bool>)> {
        (
            prop_oneof![Just(Reach::Public), Just(Reach::CrossAccount)],
            proptest::option::of(any::<bool>()),
        )
    }

    proptest! {
        #[test]
        fn reach_of_readings_does_not_depend_on_their_order(
            readings in proptest::collection::vec(reading(), 0..8),
            shift in 0usize..8,
        ) {
            let mut turned = readings.clone();
            if !turned.is_empty() {
                let by = shift % turned.len();
                turned.rotate_left(by);
            }
            let reach = Reach::of_readings(readings.clone());
            prop_assert_eq!(reach, Reach::of_readings(turned));
            let present = |wanted: Reach| readings.contains(&(wanted, Some(true)));
            prop_assert_eq!(reach == Reach::Public, present(Reach::Public));
            if present(Reach::CrossAccount) && !present(Reach::Public) {
                prop_assert_eq!(reach, Reach::CrossAccount);
            }
            if readings.iter().all(|(_, read)| *read == Some(false)) && !readings.is_empty() {
                prop_assert_eq!(reach, Reach::Internal);
            }
        }
    }

    #[test]
    fn the_worked_examples_of_docs_risk_md() {
        // A public ACL (CVSS 7.5) on a critical bucket, proven exposed, expected detector with one miss and
        // nothing else: efficacy 1/3, miss 2/3.
        let public_acl = Inputs {
            cvss_base_score: 7.5,
            criticality: Criticality::Critical,
            exposure: Exposure::Exposed,
            miss_probability: miss_probability([1.0 / 3.0]),
        };
        assert_eq!(score(&public_acl), 50.0);
        // The same gap on a low bucket, where another control made the grant ineffective.
        let neutralized = Inputs {
            criticality: Criticality::Low,
            exposure: Exposure::Neutralized,
            ..public_acl
        };
        assert_eq!(score(&neutralized), 3.8);
        // An admin policy on a user (CVSS 8.8), medium, no canary; a detector that caught 9 of 10 (10/12) and
        // a reconciler that missed its only one (1/3): they both miss with probability 2/12 × 2/3.
        let admin = Inputs {
            cvss_base_score: 8.8,
            criticality: Criticality::Medium,
            exposure: Exposure::Unproven,
            miss_probability: miss_probability([10.0 / 12.0, 1.0 / 3.0]),
        };
        assert!((admin.miss_probability - 1.0 / 9.0).abs() < 1e-12);
        assert_eq!(score(&admin), 2.9);
        assert_eq!(miss_probability([]), 1.0);
    }

    fn inputs() -> impl Strategy<Value = Inputs> {
        (
            0.0f64..=10.0,
            prop::sample::select(Criticality::ALL.to_vec()),
            prop::sample::select(vec![
                Exposure::Exposed,
                Exposure::Unproven,
                Exposure::Neutralized,
            ]),
            0.0f64..=1.0,
        )
            .prop_map(
                |(cvss_base_score, criticality, exposure, miss_probability)| Inputs {
                    cvss_base_score,
                    criticality,
                    exposure,
                    miss_probability,
                },
            )
    }

    proptest! {
        #[test]
        fn the_score_is_bounded_and_grows_with_each_factor(inputs in inputs(), more in 0.0f64..=1.0) {
            let base = score(&inputs);
            prop_assert!((0.0..=100.0).contains(&base));
            let worse_cvss = Inputs { cvss_base_score: (inputs.cvss_base_score + more).min(10.0), ..inputs };
            prop_assert!(score(&worse_cvss) >= base);
            let likelier_miss = Inputs { miss_probability: (inputs.miss_probability + more).min(1.0), ..inputs };
            prop_assert!(score(&likelier_miss) >= base);
            let critical = Inputs { criticality: Criticality::Critical, ..inputs };
            prop_assert!(score(&critical) >= base);
            let exposed = Inputs { exposure: Exposure::Exposed, ..inputs };
            prop_assert!(score(&exposed) >= base);
        }

        #[test]
        fn a_better_control_lowers_the_miss_probability(efficacies in prop::collection::vec(0.0f64..=1.0, 0..5), better in 0.0f64..=1.0) {
            let miss = miss_probability(efficacies.iter().copied());
            prop_assert!((0.0..=1.0).contains(&miss));
            let with_another = miss_probability(efficacies.iter().copied().chain([better]));
            prop_assert!(with_another <= miss);
        }
    }
}
