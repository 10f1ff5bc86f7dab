//! A control's efficacy as a Beta posterior: from `met` and `failed` expectations and a uniform prior
//! (Beta(1, 1)), the chance that the control answers the next fault of the same kind within its deadline, with
//! a 90% credible interval. Pure: knowledge scores controls with it, the planner and the risk score read it.

use rdfi_proto::v1::ControlKind;

/// The name a control stands under when an expectation named none and none answered: a record of misses
/// only, never a control of its own.
pub fn stand_in(kind: ControlKind) -> String {
    let kind = match kind {
        ControlKind::Preventive => "preventive",
        ControlKind::Detective => "detective",
        ControlKind::Corrective => "corrective",
        ControlKind::Unspecified => "other",
    };
    format!("any {kind} control")
}

/// Whether `control` is one of the [`stand_in`] names.
pub fn is_stand_in(control: &str) -> bool {
    [
        ControlKind::Preventive,
        ControlKind::Detective,
        ControlKind::Corrective,
        ControlKind::Unspecified,
    ]
    .into_iter()
    .any(|kind| stand_in(kind) == control)
}

/// The posterior Beta(1 + met, 1 + failed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Posterior {
    pub met: u32,
    pub failed: u32,
}

impl Posterior {
    pub fn new(met: u32, failed: u32) -> Self {
        Posterior { met, failed }
    }

    fn alpha(self) -> f64 {
        f64::from(self.met) + 1.0
    }

    fn beta(self) -> f64 {
        f64::from(self.failed) + 1.0
    }

    /// The posterior mean, (met + 1) / (met + failed + 2): one half with no evidence.
    pub fn mean(self) -> f64 {
        self.alpha() / (self.alpha() + self.beta())
    }

    /// The value below which the efficacy lies with probability `p` (0 to 1).
    pub fn quantile(self, p: f64) -> f64 {
        beta_quantile(p, self.alpha(), self.beta())
    }

    /// The 90% credible interval: the 5th and 95th percentiles.
    pub fn interval90(self) -> (f64, f64) {
        (self.quantile(0.05), self.quantile(0.95))
    }
}

/// The x with I_x(a, b) = p, by bisection on the regularized incomplete beta function (monotone in x).
fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let (mut low, mut high) = (0.0_f64, 1.0_f64);
    // 60 halvings take the bracket below 1e-18, past f64's resolution near 1.
    for _ in 0..60 {
        let middle = (low + high) / 2.0;
        if regularized_beta(middle, a, b) < p {
            low = middle;
        } else {
            high = middle;
        }
    }
    (low + high) / 2.0
}

/// I_x(a, b), the Beta(a, b) distribution function at x, by its continued fraction (Numerical Recipes 6.4),
/// taken on the side where it converges fast.
fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * continued_fraction(x, a, b) / a
    } else {
        1.0 - front * continued_fraction(1.0 - x, b, a) / b
    }
}

/// The continued fraction of the incomplete beta function, by the modified Lentz method.
fn continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPSILON: f64 = 1e-15;
    let clamp = |value: f64| if value.abs() < TINY { TINY } else { value };
    let mut c = 1.0;
    let mut d = 1.0 / clamp(1.0 - (a + b) * x / (a + 1.0));
    let mut fraction = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / clamp(1.0 + even * d);
        c = clamp(1.0 + even / c);
        fraction *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / clamp(1.0 + odd * d);
        c = clamp(1.0 + odd / c);
        let step = d * c;
        fraction *= step;
        if (step - 1.0).abs() < EPSILON {
            break;
        }
    }
    fraction
}

/// ln Γ(x) for x > 0, by the Lanczos approximation (g = 7, nine coefficients; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (index, coefficient) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += coefficient / (x + index as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(left: f64, right: f64, tolerance: f64) -> bool {
        (left - right).abs() <= tolerance
    }

    #[test]
    fn no_evidence_is_a_coin_with_a_wide_interval() {
        let posterior = Posterior::new(0, 0);
        assert_eq!(posterior.mean(), 0.5);
        // Beta(1, 1) is uniform: its quantiles are the probabilities themselves.
        let (lower, upper) = posterior.interval90();
        assert!(close(lower, 0.05, 1e-9), "{lower}");
        assert!(close(upper, 0.95, 1e-9), "{upper}");
    }

    #[test]
    fn known_quantiles() {
        // Beta(a, 1) has the distribution function x^a, so its quantile is p^(1/a).
        let caught_four = Posterior::new(4, 0);
        assert!(close(caught_four.quantile(0.05), 0.05_f64.powf(0.2), 1e-9));
        assert!(close(caught_four.mean(), 5.0 / 6.0, 1e-12));
        // Beta(1, b) has the distribution function 1 - (1 - x)^b.
        let missed_two = Posterior::new(0, 2);
        assert!(close(
            missed_two.quantile(0.95),
            1.0 - 0.05_f64.powf(1.0 / 3.0),
            1e-9
        ));
        // Beta(3, 3) is symmetric about one half; its 5th percentile is 0.1892554 (scipy.stats.beta.ppf).
        let even = Posterior::new(2, 2);
        assert!(close(even.quantile(0.5), 0.5, 1e-9));
        assert!(close(even.quantile(0.05), 0.189_255_4, 1e-6));
        // Beta(10, 2): 0.6356405 and 0.9666808 (scipy.stats.beta.ppf).
        let good = Posterior::new(9, 1);
        let (lower, upper) = good.interval90();
        assert!(close(lower, 0.635_640_5, 1e-6), "{lower}");
        assert!(close(upper, 0.966_680_8, 1e-6), "{upper}");
    }

    #[test]
    fn ln_gamma_of_integers_is_the_log_factorial() {
        let mut factorial = 1.0_f64;
        for n in 1..20 {
            assert!(close(ln_gamma(f64::from(n)), factorial.ln(), 1e-10), "{n}");
            factorial *= f64::from(n);
        }
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
    }

    proptest! {
        #[test]
        fn the_interval_holds_the_mean_and_narrows_with_evidence(met in 0u32..500, failed in 0u32..500) {
            let posterior = Posterior::new(met, failed);
            let (lower, upper) = posterior.interval90();
            prop_assert!(0.0 <= lower && lower < posterior.mean() && posterior.mean() < upper && upper <= 1.0);
            let more = Posterior::new(met * 4 + 4, failed * 4 + 4);
            let (more_lower, more_upper) = more.interval90();
            prop_assert!(more_upper - more_lower < upper - lower);
        }

        #[test]
        fn the_quantile_inverts_the_distribution(met in 0u32..200, failed in 0u32..200, p in 0.001f64..0.999) {
            let posterior = Posterior::new(met, failed);
            let x = posterior.quantile(p);
            prop_assert!(close(regularized_beta(x, posterior.alpha(), posterior.beta()), p, 1e-7));
            // The mirror: I_x(a, b) = 1 - I_(1-x)(b, a).
            let mirror = Posterior::new(failed, met);
            prop_assert!(close(mirror.quantile(1.0 - p), 1.0 - x, 1e-7));
        }

        #[test]
        fn a_met_expectation_raises_the_estimate_and_a_failed_one_lowers_it(met in 0u32..300, failed in 0u32..300) {
            let posterior = Posterior::new(met, failed);
            prop_assert!(Posterior::new(met + 1, failed).mean() > posterior.mean());
            prop_assert!(Posterior::new(met, failed + 1).mean() < posterior.mean());
            prop_assert!(Posterior::new(met + 1, failed).quantile(0.05) > posterior.quantile(0.05));
        }
    }
}
