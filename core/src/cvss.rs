//! CVSS v3.1 base scores, computed from the vector as the specification says (section 7.1 and Appendix A's
//! Roundup).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CVSS v3.1 vector {vector:?}: {reason}")]
pub struct CvssError {
    pub vector: String,
    pub reason: String,
}

/// The qualitative severity rating of a base score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn of(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The specification's Roundup: the smallest number with one decimal that is at least the input, computed on
/// integers to avoid floating-point surprises.
fn round_up(value: f64) -> f64 {
    let integer = (value * 100_000.0).round() as i64;
    if integer % 10_000 == 0 {
        integer as f64 / 100_000.0
    } else {
        ((integer / 10_000) + 1) as f64 / 10.0
    }
}

/// The base score of a `CVSS:3.1/AV:_/AC:_/PR:_/UI:_/S:_/C:_/I:_/A:_` vector.
pub fn base_score(vector: &str) -> Result<f64, CvssError> {
    let fail = |reason: String| CvssError {
        vector: vector.to_owned(),
        reason,
    };
    let metrics = vector
        .strip_prefix("CVSS:3.1/")
        .ok_or_else(|| fail("it must start with CVSS:3.1/".to_owned()))?;
    let mut values = std::collections::HashMap::new();
    for part in metrics.split('/') {
        let (metric, value) = part
            .split_once(':')
            .ok_or_else(|| fail(format!("{part:?} is not METRIC:VALUE")))?;
        if values.insert(metric, value).is_some() {
            return Err(fail(format!("{metric} is given twice")));
        }
    }
    let get = |metric: &str| {
        values
            .get(metric)
            .copied()
            .ok_or_else(|| fail(format!("the base metric {metric} is missing")))
    };
    let unknown =
        |metric: &str, value: &str| fail(format!("{metric}:{value} is not a valid value"));
    let scope_changed = match get("S")? {
        "U" => false,
        "C" => true,
        other => return Err(unknown("S", other)),
    };
    let attack_vector = match get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        other => return Err(unknown("AV", other)),
    };
    let attack_complexity = match get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        other => return Err(unknown("AC", other)),
    };
    let privileges = match (get("PR")?, scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        (other, _) => return Err(unknown("PR", other)),
    };
    let interaction = match get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        other => return Err(unknown("UI", other)),
    };
    let impact_of = |metric: &str| match get(metric)? {
        "H" => Ok(0.56),
        "L" => Ok(0.22),
        "N" => Ok(0.0),
        other => Err(unknown(metric, other)),
    };
    let (confidentiality, integrity, availability) =
        (impact_of("C")?, impact_of("I")?, impact_of("A")?);
    if values.len() != 8 {
        return Err(fail("only the eight base metrics are allowed".to_owned()));
    }
    let iss: f64 = 1.0 - (1.0 - confidentiality) * (1.0 - integrity) * (1.0 - availability);
    let impact = if scope_changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability: f64 = 8.22 * attack_vector * attack_complexity * privileges * interaction;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    Ok(if scope_changed {
        round_up((1.08 * (impact + exploitability)).min(10.0))
    } else {
        round_up((impact + exploitability).min(10.0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of the CVSS v3.1 specification's companion document, with their published base scores.
    #[test]
    fn the_specifications_examples_score_as_published() {
        for (vector, expected) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1), // CVE-2013-1937
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4), // CVE-2013-0375
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1), // CVE-2014-3566
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9), // CVE-2012-1516
            ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2), // CVE-2009-0783
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8), // CVE-2012-0384
            ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8), // CVE-2015-1098
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5), // CVE-2014-0160
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8), // CVE-2014-6271
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8), // CVE-2008-1447
            ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8), // CVE-2014-2005
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8), // CVE-2010-0467
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:L/A:N", 5.8), // CVE-2012-1342
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ] {
            assert_eq!(base_score(vector).unwrap(), expected, "{vector}");
        }
    }

    #[test]
    fn round_up_follows_appendix_a() {
        assert_eq!(round_up(4.02), 4.1);
        assert_eq!(round_up(4.00), 4.0);
        assert_eq!(round_up(4.000_000_1), 4.0);
        assert_eq!(round_up(7.099_999_999_999_999), 7.1);
    }

    /// Over every base vector: a score between 0 and 10 with one decimal, and more impact never lowers it.
    #[test]
    fn every_vector_scores_in_range_and_impact_is_monotonic() {
        let impacts = ["N", "L", "H"];
        for av in ["N", "A", "L", "P"] {
            for ac in ["L", "H"] {
                for pr in ["N", "L", "H"] {
                    for ui in ["N", "R"] {
                        for s in ["U", "C"] {
                            for i in impacts {
                                for a in impacts {
                                    let mut previous = -1.0;
                                    for c in impacts {
                                        let vector = format!(
                                            "CVSS:3.1/AV:{av}/AC:{ac}/PR:{pr}/UI:{ui}/S:{s}/C:{c}/I:{i}/A:{a}"
                                        );
                                        let score = base_score(&vector).unwrap();
                                        assert!((0.0..=10.0).contains(&score), "{vector}: {score}");
                                        assert_eq!(
                                            (score * 10.0).round() / 10.0,
                                            score,
                                            "{vector}"
                                        );
                                        assert!(
                                            score >= previous,
                                            "{vector}: {score} < {previous}"
                                        );
                                        previous = score;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn malformed_vectors_are_refused_with_the_reason() {
        assert!(
            base_score("AV:N/AC:L")
                .unwrap_err()
                .reason
                .contains("CVSS:3.1/")
        );
        assert!(
            base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N")
                .unwrap_err()
                .reason
                .contains("A is missing")
        );
        assert!(
            base_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N")
                .unwrap_err()
                .reason
                .contains("AV:X")
        );
        assert_eq!(Severity::of(9.8), Severity::Critical);
        assert_eq!(Severity::of(7.5), Severity::High);
        assert_eq!(Severity::of(0.0), Severity::None);
    }
}
