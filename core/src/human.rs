//! Values as a person reads them in a terminal. JSON keeps its raw numbers (`*_ms` fields).

/// A duration in milliseconds as a person reads it: `401 ms` below a second, `11.7 s` below a minute,
/// `2 min 5 s` below an hour, `1 h 2 min` above.
pub fn duration(ms: u64) -> String {
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    // Rounded to what is shown, so that 59,960 ms reads `1 min`, not `60.0 s`.
    let tenths = (ms + 50) / 100;
    if tenths < 600 {
        return match (tenths / 10, tenths % 10) {
            (seconds, 0) => format!("{seconds} s"),
            (seconds, tenth) => format!("{seconds}.{tenth} s"),
        };
    }
    let seconds = (ms + 500) / 1_000;
    if seconds < 3_600 {
        return match (seconds / 60, seconds % 60) {
            (minutes, 0) => format!("{minutes} min"),
            (minutes, seconds) => format!("{minutes} min {seconds} s"),
        };
    }
    let minutes = (seconds + 30) / 60;
    match (minutes / 60, minutes % 60) {
        (hours, 0) => format!("{hours} h"),
        (hours, minutes) => format!("{hours} h {minutes} min"),
    }
}

/// `1 fault`, `3 faults`: a count and its noun, plural when it is not one.
pub fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::{count, duration};

    #[test]
    fn counts_take_the_plural_except_for_one() {
        assert_eq!(
            [count(0, "fault"), count(1, "fault"), count(2, "fault")],
            ["0 faults", "1 fault", "2 faults"]
        );
    }

    #[test]
    fn milliseconds_below_a_second() {
        assert_eq!(duration(0), "0 ms");
        assert_eq!(duration(401), "401 ms");
        assert_eq!(duration(999), "999 ms");
    }

    #[test]
    fn seconds_with_one_decimal_below_a_minute() {
        assert_eq!(duration(1_000), "1 s");
        assert_eq!(duration(1_049), "1 s");
        assert_eq!(duration(1_050), "1.1 s");
        assert_eq!(duration(11_708), "11.7 s");
        assert_eq!(duration(45_000), "45 s");
        assert_eq!(duration(59_949), "59.9 s");
    }

    #[test]
    fn minutes_and_seconds_below_an_hour() {
        assert_eq!(duration(59_950), "1 min");
        assert_eq!(duration(60_000), "1 min");
        assert_eq!(duration(125_000), "2 min 5 s");
        assert_eq!(duration(125_400), "2 min 5 s");
        assert_eq!(duration(3_599_499), "59 min 59 s");
    }

    #[test]
    fn hours_and_minutes_above() {
        assert_eq!(duration(3_599_500), "1 h");
        assert_eq!(duration(3_600_000), "1 h");
        assert_eq!(duration(3_600_000 + 29 * 60_000 + 29_000), "1 h 29 min");
        assert_eq!(duration(2 * 3_600_000 + 5 * 60_000), "2 h 5 min");
    }

    #[test]
    fn a_longer_duration_never_reads_shorter() {
        let mut previous = (0, 0.0);
        for ms in (0..4_000_000).step_by(997) {
            let shown = duration(ms);
            let value = read_back(&shown);
            assert!(
                value >= previous.1,
                "{ms} ms reads {shown}, less than {previous:?}"
            );
            previous = (ms, value);
        }
    }

    /// The milliseconds a rendered duration says.
    fn read_back(shown: &str) -> f64 {
        let words: Vec<&str> = shown.split(' ').collect();
        words
            .chunks(2)
            .map(|pair| {
                let number: f64 = pair[0].parse().unwrap();
                number
                    * match pair[1] {
                        "ms" => 1.0,
                        "s" => 1_000.0,
                        "min" => 60_000.0,
                        "h" => 3_600_000.0,
                        unit => panic!("unit {unit}"),
                    }
            })
            .sum()
    }
}
