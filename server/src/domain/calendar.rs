//! The consortium's calendar: "today", "this month" and "valid through 30 June" mean
//! the libraries' civil time, not UTC. A Chinese consortium is at UTC+08:00 all year
//! (no daylight saving), so a fixed offset is exact; it is configured
//! (`local_utc_offset`).

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Offset, Utc};

/// Civil time at the consortium's libraries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar(FixedOffset);

impl Default for Calendar {
    /// China Standard Time, UTC+08:00.
    fn default() -> Self {
        Self(FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix()))
    }
}

impl Calendar {
    /// A calendar at `offset` from UTC, parsed from `+08:00`, `-05:30` or `Z`.
    pub fn parse(offset: &str) -> Option<Self> {
        let offset = offset.trim();
        if offset.eq_ignore_ascii_case("z") {
            return Some(Self(Utc.fix()));
        }
        offset.parse::<FixedOffset>().ok().map(Self)
    }

    /// The offset.
    pub fn offset(self) -> FixedOffset {
        self.0
    }

    /// The local date at `at`.
    pub fn date_of(self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }

    /// When local date `date` begins.
    pub fn start_of(self, date: NaiveDate) -> DateTime<Utc> {
        let midnight = date.and_time(chrono::NaiveTime::MIN);
        (midnight - self.0).and_utc()
    }

    /// When local date `date` ends (the next day's start): the instant a thing valid
    /// "through `date`" stops being valid.
    pub fn end_of(self, date: NaiveDate) -> DateTime<Utc> {
        self.start_of(date.checked_add_days(Days::new(1)).unwrap_or(date))
    }

    /// The last local date something that ends at `end` is valid on ("through" date).
    pub fn through_date(self, end: DateTime<Utc>) -> NaiveDate {
        self.date_of(end - chrono::Duration::nanoseconds(1))
    }

    /// When today (local) began, as of `now`.
    pub fn today_start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.start_of(self.date_of(now))
    }

    /// When this month (local) began, as of `now`.
    pub fn month_start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = self.date_of(now);
        self.start_of(today.with_day(1).unwrap_or(today))
    }

    /// `at` in local time, to the minute (`2026-06-30 18:05`).
    pub fn format_minute(self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.0)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn a_beijing_day_begins_at_16_utc_the_day_before() {
        let cst = Calendar::default();
        let date = NaiveDate::from_ymd_opt(2026, 7, 1).expect("date");
        assert_eq!(cst.start_of(date), utc(2026, 6, 30, 16));
        assert_eq!(cst.end_of(date), utc(2026, 7, 1, 16));
        // 01:00 in Beijing on 1 July is still 30 June in UTC.
        assert_eq!(cst.date_of(utc(2026, 6, 30, 17)), date);
        assert_eq!(cst.today_start(utc(2026, 6, 30, 17)), utc(2026, 6, 30, 16));
        assert_eq!(cst.month_start(utc(2026, 6, 30, 17)), utc(2026, 6, 30, 16));
        assert_eq!(cst.month_start(utc(2026, 6, 30, 15)), utc(2026, 5, 31, 16));
        assert_eq!(cst.format_minute(utc(2026, 6, 30, 17)), "2026-07-01 01:00");
    }

    #[test]
    fn valid_through_a_date_round_trips() {
        let cst = Calendar::default();
        let date = NaiveDate::from_ymd_opt(2029, 11, 29).expect("date");
        assert_eq!(cst.through_date(cst.end_of(date)), date);
    }

    #[test]
    fn offsets_parse() {
        assert_eq!(Calendar::parse("+08:00"), Some(Calendar::default()));
        assert_eq!(
            Calendar::parse("Z").map(|c| c.offset().local_minus_utc()),
            Some(0)
        );
        assert_eq!(
            Calendar::parse("-05:30").map(|c| c.offset().local_minus_utc()),
            Some(-(5 * 3600 + 1800))
        );
        assert_eq!(Calendar::parse("Asia/Shanghai"), None);
    }
}
