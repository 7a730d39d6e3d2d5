//! Time without a platform: cron schedules for crawl sources and the W3C datetimes of sitemaps.
//!
//! The platforms fire one cron trigger (every few minutes); each source names its own schedule as a
//! five-field cron expression, and is due when that expression matched a minute since the last
//! check. All times are UTC.

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;
/// A source whose schedule last matched longer ago than this is looked at over this span only.
const MAX_LOOKBACK_MINUTES: u64 = 31 * 24 * 60;

/// A parsed cron expression: `minute hour day-of-month month day-of-week`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether day-of-month and day-of-week were both restricted: then either may match (cron's
    /// rule).
    day_or_weekday: bool,
}

fn parse_field(field: &str, min: u32, max: u32, name: &str) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 =
                    step.parse().map_err(|_| format!("{name}: step `{step}` is not a number"))?;
                if step == 0 {
                    return Err(format!("{name}: step must be at least 1"));
                }
                (range, step)
            }
            None => (part, 1),
        };
        let number = |s: &str| -> Result<u32, String> {
            let n: u32 = s.parse().map_err(|_| format!("{name}: `{s}` is not a number"))?;
            if n < min || n > max {
                return Err(format!("{name}: {n} is outside {min}-{max}"));
            }
            Ok(n)
        };
        let (start, end) = match range {
            "*" => (min, max),
            _ => match range.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                // `5/15` means from 5 to the end in steps of 15.
                None if part.contains('/') => (number(range)?, max),
                None => {
                    let n = number(range)?;
                    (n, n)
                }
            },
        };
        if start > end {
            return Err(format!("{name}: range {start}-{end} is backwards"));
        }
        let mut value = start;
        while value <= end {
            bits |= 1 << value;
            value += step;
        }
    }
    Ok(bits)
}

impl CronSchedule {
    pub fn parse(expression: &str) -> Result<CronSchedule, String> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(format!(
                "`{expression}` needs five fields: minute hour day-of-month month day-of-week"
            ));
        };
        let mut weekdays = parse_field(weekday, 0, 7, "day-of-week")?;
        // Both 0 and 7 are Sunday.
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(CronSchedule {
            minutes: parse_field(minute, 0, 59, "minute")?,
            hours: parse_field(hour, 0, 23, "hour")?,
            days: parse_field(day, 1, 31, "day-of-month")?,
            months: parse_field(month, 1, 12, "month")?,
            weekdays,
            day_or_weekday: day != "*" && weekday != "*",
        })
    }

    /// Whether the schedule fires in the minute that starts at `minute_ms`.
    pub fn matches(&self, minute_ms: u64) -> bool {
        let days_since_epoch = minute_ms / DAY_MS;
        let minute_of_day = (minute_ms % DAY_MS) / MINUTE_MS;
        let (_, month, day) = civil_from_days(days_since_epoch as i64);
        // 1970-01-01 was a Thursday (weekday 4).
        let weekday = (days_since_epoch + 4) % 7;
        let bit = |set: u64, n: u64| set & (1 << n) != 0;
        let day_matches = if self.day_or_weekday {
            bit(self.days, u64::from(day)) || bit(self.weekdays, weekday)
        } else {
            bit(self.days, u64::from(day)) && bit(self.weekdays, weekday)
        };
        bit(self.minutes, minute_of_day % 60)
            && bit(self.hours, minute_of_day / 60)
            && bit(self.months, u64::from(month))
            && day_matches
    }

    /// Whether the schedule fired in any minute after `since_ms` up to and including `now_ms`.
    pub fn due(&self, since_ms: u64, now_ms: u64) -> bool {
        let last = now_ms / MINUTE_MS;
        let first = (since_ms / MINUTE_MS + 1).max(last.saturating_sub(MAX_LOOKBACK_MINUTES));
        (first..=last).any(|minute| self.matches(minute * MINUTE_MS))
    }

    /// The first minute after `after_ms` at which the schedule fires, looking up to a year ahead
    /// (a schedule such as `0 0 30 2 *` never fires: `None`).
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        let first = after_ms / MINUTE_MS + 1;
        (first..first + 366 * 24 * 60).map(|m| m * MINUTE_MS).find(|ms| self.matches(*ms))
    }
}

/// The UTC calendar day of `ms` as `YYYY-MM-DD` (the key of per-day totals).
pub fn utc_day(ms: u64) -> String {
    let (year, month, day) = civil_from_days((ms / 86_400_000) as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

/// (year, month, day) of a day counted from 1970-01-01 (Howard Hinnant's civil-from-days
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to a civil date (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Parses a W3C datetime as sitemaps use it (`2026-11-01`, `2026-11-01T10:00Z`,
/// `2026-11-01T10:00:00.5+01:00`) into milliseconds since the epoch; `None` if it is not one.
pub fn parse_w3c_datetime(text: &str) -> Option<u64> {
    let text = text.trim();
    let number = |s: &str| -> Option<u32> {
        s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse().ok()).flatten()
    };
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    // Four digits, as W3C datetimes have them: a longer year would overflow the arithmetic below.
    let year = number(parts.next()?).filter(|y| date.len() >= 4 && (1..=9999).contains(y))?;
    let month = parts.next().map(number).unwrap_or(Some(1)).filter(|m| (1..=12).contains(m))?;
    let day = parts.next().map(number).unwrap_or(Some(1)).filter(|d| (1..=31).contains(d))?;
    if parts.next().is_some() {
        return None;
    }
    let mut ms = days_from_civil(i64::from(year), month, day) * DAY_MS as i64;
    if let Some(time) = time {
        let (clock, offset_minutes) = if let Some(clock) = time.strip_suffix('Z') {
            (clock, 0i64)
        } else {
            let sign_at = time.rfind(['+', '-'])?;
            let (clock, offset) = time.split_at(sign_at);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (h, m) = offset[1..].split_once(':')?;
            let (h, m) = (number(h).filter(|h| *h < 24)?, number(m).filter(|m| *m < 60)?);
            (clock, sign * (i64::from(h) * 60 + i64::from(m)))
        };
        let mut fields = clock.split(':');
        let hour = number(fields.next()?).filter(|h| *h < 24)?;
        let minute = number(fields.next()?).filter(|m| *m < 60)?;
        let seconds: f64 = match fields.next() {
            Some(s) => s.parse().ok().filter(|s: &f64| (0.0..61.0).contains(s))?,
            None => 0.0,
        };
        ms += (i64::from(hour) * 3_600_000)
            + (i64::from(minute) * 60_000)
            + (seconds * 1000.0) as i64
            - offset_minutes * 60_000;
    }
    u64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> u64 {
        parse_w3c_datetime(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn w3c_datetimes_from_sitemaps() {
        assert_eq!(at("1970-01-01"), 0);
        assert_eq!(at("2026-11-23"), 1_795_392_000_000);
        assert_eq!(at("2026-11-23T10:30Z"), 1_795_392_000_000 + 37_800_000);
        assert_eq!(
            at("2026-11-23T10:30:15.5+01:00"),
            1_795_392_000_000 + 37_800_000 + 15_500 - 3_600_000
        );
        assert_eq!(at("2026-11-23T10:30:00-05:30"), 1_795_392_000_000 + 37_800_000 + 19_800_000);
        // Found by fuzzing: years past four digits overflowed the day arithmetic.
        for bad in ["4294967295-01-01", "99999-12-31", "0000-01-01", "2026-11-23T10:30+99:00"] {
            assert_eq!(parse_w3c_datetime(bad), None, "{bad}");
        }
        assert_eq!(at("9999-12-31"), 253_402_214_400_000);
        assert_eq!(at("2024-02-29"), at("2024-03-01") - DAY_MS);
        assert_eq!(at("2026-11"), at("2026-11-01"));
        for bad in
            ["", "yesterday", "2026-13-01", "2026-11-23T25:00Z", "2026-11-23T10:00", "26-1-1-1"]
        {
            assert_eq!(parse_w3c_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(1_795_478_400_000 - 1), "2026-11-23", "the last millisecond of a day");
        assert_eq!(utc_day(1_795_478_400_000), "2026-11-24");
        for days in [-1_000_000, -1, 0, 59, 365, 11_016, 20_415, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
    }

    #[test]
    fn cron_fields() {
        let monday_9am = at("2026-11-23T09:00Z"); // a Monday
        assert!(CronSchedule::parse("0 9 * * 1-5").unwrap().matches(monday_9am));
        assert!(!CronSchedule::parse("0 9 * * 0,6").unwrap().matches(monday_9am));
        assert!(CronSchedule::parse("*/15 */3 * 11 *").unwrap().matches(monday_9am));
        assert!(!CronSchedule::parse("5/15 * * * *").unwrap().matches(monday_9am));
        assert!(CronSchedule::parse("5/15 * * * *").unwrap().matches(monday_9am + 20 * MINUTE_MS));
        // Sunday is 0 or 7.
        assert!(CronSchedule::parse("0 9 * * 7").unwrap().matches(monday_9am - DAY_MS));
        // Day-of-month and day-of-week both set: either matches.
        assert!(CronSchedule::parse("0 9 1 * 1").unwrap().matches(monday_9am));
        assert!(!CronSchedule::parse("0 9 1 * *").unwrap().matches(monday_9am));
        for bad in ["* * * *", "60 * * * *", "* * 0 * *", "*/0 * * * *", "5-1 * * * *", "a * * * *"]
        {
            assert!(CronSchedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn due_when_a_minute_since_the_last_check_matched() {
        let hourly = CronSchedule::parse("0 * * * *").unwrap();
        let nine = at("2026-11-23T09:00Z");
        // Checked at 8:57 and at 9:02: the 9:00 run is due, once.
        assert!(hourly.due(nine - 3 * MINUTE_MS, nine + 2 * MINUTE_MS));
        assert!(!hourly.due(nine + 2 * MINUTE_MS, nine + 7 * MINUTE_MS));
        // A check exactly at 9:00 sees it; the next one, at 9:05, does not see it again.
        assert!(hourly.due(nine - 5 * MINUTE_MS, nine));
        assert!(!hourly.due(nine, nine + 5 * MINUTE_MS));
        // A monthly schedule missed during a long outage is still found.
        let monthly = CronSchedule::parse("0 0 1 * *").unwrap();
        assert!(monthly.due(at("2026-10-20"), at("2026-11-05")));
    }

    #[test]
    fn the_next_run_is_the_first_matching_minute_after() {
        // 2026-12-05T06:04:30Z
        let now = 1_796_450_670_000;
        let hourly = CronSchedule::parse("0 * * * *").unwrap();
        assert_eq!(
            hourly.next_after(now).map(crate::domain::format_timestamp).as_deref(),
            Some("2026-12-05T07:00:00.000Z")
        );
        let daily = CronSchedule::parse("30 2 * * *").unwrap();
        assert_eq!(
            daily.next_after(now).map(crate::domain::format_timestamp).as_deref(),
            Some("2026-12-06T02:30:00.000Z")
        );
        assert_eq!(CronSchedule::parse("0 0 30 2 *").unwrap().next_after(now), None);
    }
}
