//! Five-field cron expressions (minute hour day-of-month month day-of-week, UTC), pure: [`Cron::parse`] and
//! the next time one names, [`Cron::first_after`].
//!
//! Each field is `*`, a number, a range `a-b`, any of those with a step (`*/15`, `1-30/2`), or a list of
//! them (`1,15,30`). Day of week runs 0 to 7, both Sunday. As in every cron, when both day fields are
//! restricted a day matching either is taken.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A parsed cron expression: the allowed values of each field, as bit sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Day of month and day of week were both restricted: either matches.
    either_day: bool,
}

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];

impl Cron {
    /// Parses `minute hour day-of-month month day-of-week`; the error says which field is wrong and why.
    pub fn parse(expression: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "{expression:?} has {} fields; a cron expression has five: minute hour day-of-month month \
                 day-of-week (UTC), like \"0 2 * * *\" for 02:00 every day",
                fields.len()
            ));
        }
        let mut sets = [0u64; 5];
        for (index, (text, (name, low, high))) in fields.iter().zip(FIELDS).enumerate() {
            sets[index] = field(text, low, high)
                .map_err(|why| format!("{name} {text:?} in {expression:?}: {why}"))?;
        }
        let mut weekdays = sets[4];
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(Cron {
            minutes: sets[0],
            hours: sets[1],
            days: sets[2],
            months: sets[3],
            weekdays,
            either_day: !fields[2].starts_with('*') && !fields[4].starts_with('*'),
        })
    }

    /// The first minute this expression names strictly after `time`; `None` when none comes within five
    /// years (`0 0 30 2 *`, February the 30th).
    pub fn first_after(&self, time: SystemTime) -> Option<SystemTime> {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let start_minute = since.as_secs() / 60 + 1;
        let first_day = start_minute / (24 * 60);
        for day in first_day..first_day + 5 * 366 {
            if !self.day_matches(day) {
                continue;
            }
            let from = if day == first_day {
                start_minute % (24 * 60)
            } else {
                0
            };
            for minute in from..24 * 60 {
                if self.hours & (1 << (minute / 60)) != 0
                    && self.minutes & (1 << (minute % 60)) != 0
                {
                    let at = (day * 24 * 60 + minute) * 60;
                    return Some(UNIX_EPOCH + Duration::from_secs(at));
                }
            }
        }
        None
    }

    fn day_matches(&self, days_since_epoch: u64) -> bool {
        let (_, month, day) = civil(days_since_epoch);
        // 1970-01-01 was a Thursday.
        let weekday = (days_since_epoch + 4) % 7;
        if self.months & (1 << month) == 0 {
            return false;
        }
        let by_day = self.days & (1 << day) != 0;
        let by_weekday = self.weekdays & (1 << weekday) != 0;
        if self.either_day {
            by_day || by_weekday
        } else {
            by_day && by_weekday
        }
    }
}

/// The values one field allows, as a bit set.
fn field(text: &str, low: u32, high: u32) -> Result<u64, String> {
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<u32>()
                    .ok()
                    .filter(|step| *step > 0)
                    .ok_or_else(|| format!("the step {step:?} is not a whole number above 0"))?,
            ),
            None => (part, 1),
        };
        let number = |text: &str| -> Result<u32, String> {
            text.parse::<u32>()
                .ok()
                .filter(|value| (low..=high).contains(value))
                .ok_or_else(|| format!("{text:?} is not a number from {low} to {high}"))
        };
        let (from, to) = match range.split_once('-') {
            _ if range == "*" => (low, high),
            Some((from, to)) => (number(from)?, number(to)?),
            None if step > 1 => (number(range)?, high),
            None => {
                let value = number(range)?;
                (value, value)
            }
        };
        if from > to {
            return Err(format!("the range {range:?} runs backwards"));
        }
        for value in (from..=to).step_by(step as usize) {
            set |= 1 << value;
        }
    }
    Ok(set)
}

/// The (year, month 1-12, day 1-31) of a day counted from 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil(days_since_epoch: u64) -> (i64, u32, u32) {
    let z = days_since_epoch as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    fn next(expression: &str, after: &str) -> String {
        let time = Cron::parse(expression)
            .unwrap()
            .first_after(at(after))
            .unwrap();
        humantime::format_rfc3339_seconds(time).to_string()
    }

    #[test]
    fn the_next_time_an_expression_names() {
        assert_eq!(
            next("* * * * *", "2026-12-07T10:00:30Z"),
            "2026-12-07T10:01:00Z"
        );
        assert_eq!(
            next("0 2 * * *", "2026-12-07T02:00:00Z"),
            "2026-12-08T02:00:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-12-07T10:16:00Z"),
            "2026-12-07T10:30:00Z"
        );
        // Monday to Friday at 09:30; 2026-12-12 is a Saturday.
        assert_eq!(
            next("30 9 * * 1-5", "2026-12-11T10:00:00Z"),
            "2026-12-14T09:30:00Z"
        );
        // Sunday as 7 and as 0.
        assert_eq!(
            next("0 0 * * 7", "2026-12-07T00:00:00Z"),
            "2026-12-13T00:00:00Z"
        );
        assert_eq!(
            next("0 0 * * 0", "2026-12-07T00:00:00Z"),
            "2026-12-13T00:00:00Z"
        );
        // Both day fields restricted: the 1st or a Friday, whichever is first.
        assert_eq!(
            next("0 0 1 * 5", "2026-12-07T00:00:00Z"),
            "2026-12-11T00:00:00Z"
        );
        // A leap day.
        assert_eq!(
            next("0 12 29 2 *", "2026-12-07T00:00:00Z"),
            "2028-02-29T12:00:00Z"
        );
        assert_eq!(
            next("0,30 8-9 * 1,6 *", "2026-12-07T00:00:00Z"),
            "2027-01-01T08:00:00Z"
        );
    }

    #[test]
    fn a_day_that_never_comes_is_none() {
        let cron = Cron::parse("0 0 30 2 *").unwrap();
        assert_eq!(cron.first_after(at("2026-12-07T00:00:00Z")), None);
    }

    #[test]
    fn each_wrong_field_is_named() {
        for (expression, says) in [
            ("* * * *", "has 4 fields"),
            ("60 * * * *", "minute \"60\""),
            ("* 24 * * *", "hour \"24\""),
            ("* * 0 * *", "day of month \"0\""),
            ("* * * 13 *", "month \"13\""),
            ("* * * * 8", "day of week \"8\""),
            ("*/0 * * * *", "not a whole number above 0"),
            ("5-1 * * * *", "runs backwards"),
            ("a * * * *", "\"a\" is not a number from 0 to 59"),
        ] {
            let error = Cron::parse(expression).unwrap_err();
            assert!(error.contains(says), "{expression}: {error}");
        }
    }

    #[test]
    fn civil_dates_round_the_calendar() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(59), (1970, 3, 1));
        assert_eq!(civil(20_794), (2026, 12, 7));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }
}
