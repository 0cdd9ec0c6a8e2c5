//! Times and hours as people type them, for `backups schedule --at` and `pitr restore --at`.
//!
//! An hour of the day: `3`, `03:00`, `3 UTC`, `10 UTC`, `03:00 Europe/Paris`; without a zone it
//! is the local time, as the official CLI reads it. A point in time: RFC 3339
//! (`2026-11-30T14:05:00Z`), a date and time in a zone (`2026-11-30 14:05 Europe/Paris`, or local
//! without a zone), or a span back from now (`-2h`, `-90m`, `-1d`). Zones come from the system's
//! time-zone database. Every error names what was typed and what is expected.

use chrono::{DateTime, Utc};
use jiff::civil::{Date, DateTime as CivilDateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ZonedDateTime};

/// An hour of the day typed in a zone, and the UTC hour it is today there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hour {
    /// The hour in UTC: 0 to 23, or the typed hour as it is when it is not an hour of the day,
    /// for the contract's rule to refuse by name.
    pub utc: u8,
    /// The zone it was typed in (`UTC`, `Europe/Paris`, or the local zone's name).
    pub zone: String,
}

/// `--at` of `backups schedule`, read on `today` (a zone's offset from UTC depends on the date).
pub fn parse_hour(text: &str, today: Date) -> Result<Hour, String> {
    let text = text.trim();
    let (time, zone) = match text.split_once(char::is_whitespace) {
        Some((time, zone)) => (time, Some(zone.trim())),
        None => (text, None),
    };
    let (hour, minutes) = match time.split_once(':') {
        Some((hour, minutes)) => (hour, Some(minutes)),
        None => (time, None),
    };
    let hour: u8 = hour.parse().map_err(|_| {
        format!("`{text}`: the first field must be an hour of the day (e.g. 3, 03:00 or \"3 UTC\")")
    })?;
    if let Some(minutes) = minutes
        && minutes != "00"
    {
        return Err(format!(
            "`{text}`: backups run on the hour, so the minutes must be 00"
        ));
    }
    let zone = time_zone(zone)?;
    let name = zone.iana_name().unwrap_or("local time").to_owned();
    let Some(at) = i8::try_from(hour)
        .ok()
        .and_then(|hour| Time::new(hour, 0, 0, 0).ok())
    else {
        return Ok(Hour {
            utc: hour,
            zone: name,
        });
    };
    let zoned = today
        .to_datetime(at)
        .to_zoned_datetime(zone)
        .map_err(|error| format!("`{text}`: {error}"))?;
    let utc = zoned.with_time_zone(TimeZone::UTC);
    if utc.minute() != 0 {
        return Err(format!(
            "`{text}` is {:02}:{:02} UTC today, and backups run on the hour in UTC",
            utc.hour(),
            utc.minute()
        ));
    }
    Ok(Hour {
        // 0 to 23: a civil hour is never negative.
        utc: utc.hour().unsigned_abs(),
        zone: name,
    })
}

/// `--at` of `pitr restore`: a point in time, read at `now`.
pub fn parse_time(text: &str, now: &ZonedDateTime) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    let timestamp = if let Some(span) = text.strip_prefix('-') {
        let span: Span = span.parse().map_err(|_| {
            format!("`{text}`: a time back from now is a span such as -2h, -90m or -1d")
        })?;
        now.checked_sub(span)
            .map_err(|error| format!("`{text}`: {error}"))?
            .timestamp()
    } else if let Ok(timestamp) = text.parse::<Timestamp>() {
        timestamp
    } else {
        let (civil, zone) = match text.rsplit_once(char::is_whitespace) {
            Some((civil, zone)) if zone.contains('/') || zone.eq_ignore_ascii_case("UTC") => {
                (civil, Some(zone))
            }
            _ => (text, None),
        };
        let civil: CivilDateTime = civil.parse().map_err(|_| {
            format!(
                "`{text}` is not a time: give RFC 3339 (2026-11-30T14:05:00Z), a date and time \
                 in a zone (\"2026-11-30 14:05 Europe/Paris\") or a span back from now (-2h)"
            )
        })?;
        civil
            .to_zoned_datetime(time_zone(zone)?)
            .map_err(|error| format!("`{text}`: {error}"))?
            .timestamp()
    };
    // jiff signs both parts of a time before 1970 (-1.5 s is -1 s and -0.5 s); chrono counts
    // nanoseconds forward from a floored second.
    let nanoseconds = timestamp.as_nanosecond();
    let seconds = i64::try_from(nanoseconds.div_euclid(1_000_000_000)).ok();
    let subsecond = u32::try_from(nanoseconds.rem_euclid(1_000_000_000)).ok();
    seconds
        .zip(subsecond)
        .and_then(|(seconds, subsecond)| DateTime::from_timestamp(seconds, subsecond))
        .ok_or_else(|| format!("`{text}` is out of range"))
}

/// The zone named `name` (`UTC`, or from the system's database), or the local one.
fn time_zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None => Ok(TimeZone::system()),
        Some(name) if name.eq_ignore_ascii_case("UTC") => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name)
            .map_err(|_| format!("unknown time zone `{name}` (e.g. UTC, Europe/Paris)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn winter() -> Date {
        Date::new(2026, 1, 15).expect("a date")
    }

    fn summer() -> Date {
        Date::new(2026, 7, 15).expect("a date")
    }

    #[test]
    fn hours_in_utc_keep_every_digit() {
        // The official CLI stripped every `0`: "10 UTC" became hour 1 (Scalingo/cli#1106).
        for (typed, utc) in [
            ("10 UTC", 10),
            ("0 UTC", 0),
            ("3 UTC", 3),
            ("20:00 UTC", 20),
        ] {
            assert_eq!(
                parse_hour(typed, winter()).map(|hour| hour.utc),
                Ok(utc),
                "{typed}"
            );
        }
    }

    #[test]
    fn hours_in_a_zone_follow_its_offset_on_the_day() {
        let paris = |date| parse_hour("03:00 Europe/Paris", date).map(|hour| hour.utc);
        assert_eq!(paris(winter()), Ok(2));
        assert_eq!(paris(summer()), Ok(1));
        // No summer time: the same hour all year.
        assert_eq!(
            parse_hour("03:00 Asia/Tokyo", summer()).map(|hour| hour.utc),
            Ok(18)
        );
        assert_eq!(
            parse_hour("4:00 UTC", winter()),
            Ok(Hour {
                utc: 4,
                zone: "UTC".to_owned()
            })
        );
    }

    #[test]
    fn bad_hours_say_what_is_wrong() {
        let error = |typed| parse_hour(typed, winter()).expect_err(typed);
        assert!(
            error("3:30 UTC").contains("on the hour"),
            "{}",
            error("3:30 UTC")
        );
        assert!(error("three").contains("an hour of the day"));
        assert!(error("-3 UTC").contains("an hour of the day"));
        assert!(error("3 Mars/Base").contains("unknown time zone `Mars/Base`"));
        assert!(
            error("03:00 Asia/Kolkata").contains("21:30 UTC today"),
            "{}",
            error("03:00 Asia/Kolkata")
        );
        // Out of a day's range, the API's own rule refuses it, by name.
        assert_eq!(parse_hour("24 UTC", winter()).map(|hour| hour.utc), Ok(24));
    }

    #[test]
    fn points_in_time_read_rfc_3339_zoned_civil_times_and_spans_back() {
        let now: ZonedDateTime = "2026-11-30T15:00:00Z[UTC]".parse().expect("a time");
        let utc = |text| parse_time(text, &now).map(|at| at.to_rfc3339());
        assert_eq!(
            utc("2026-11-30T14:05:00Z"),
            Ok("2026-11-30T14:05:00+00:00".to_owned())
        );
        assert_eq!(
            utc("2026-11-30T14:05:00+01:00"),
            Ok("2026-11-30T13:05:00+00:00".to_owned())
        );
        assert_eq!(
            utc("2026-11-30 14:05 Europe/Paris"),
            Ok("2026-11-30T13:05:00+00:00".to_owned())
        );
        assert_eq!(utc("-2h"), Ok("2026-11-30T13:00:00+00:00".to_owned()));
        assert_eq!(utc("-90m"), Ok("2026-11-30T13:30:00+00:00".to_owned()));
        assert_eq!(utc("-1d"), Ok("2026-11-29T15:00:00+00:00".to_owned()));
        // Before 1970, with a fraction of a second (found by fuzzing).
        assert_eq!(
            utc("1969-12-31T23:59:58.5Z"),
            Ok("1969-12-31T23:59:58.500+00:00".to_owned())
        );
        assert!(
            utc("yesterday")
                .expect_err("refused")
                .contains("is not a time")
        );
        assert!(
            utc("2026-11-30 14:05 Mars/Base")
                .expect_err("refused")
                .contains("unknown time zone")
        );
        assert_eq!(utc("-2 hours"), Ok("2026-11-30T13:00:00+00:00".to_owned()));
        assert!(utc("-soon").expect_err("refused").contains("span"));
    }
}
