//! Fuzz targets of what the CLI reads from people and servers: the times and hours of `--at`, the
//! backup names that become file names, the text that reaches the terminal. Each is a test that
//! runs random inputs for a second (`BOLERO_RANDOM_TEST_TIME_MS` sets longer) and, under
//! `cargo bolero test <name>` on nightly, a coverage-guided libFuzzer target. They check
//! properties, not only the absence of panics.

use bolero::check;
use jiff::civil::Date;
use jiff::{Timestamp, ZonedDateTime};

use crate::{escape, human, when};

#[test]
fn fuzz_any_typed_time_or_hour_is_read_or_refused_with_a_message() {
    let now: ZonedDateTime = "2026-11-30T15:00:00Z[UTC]".parse().expect("a time");
    let today = Date::new(2026, 11, 30).expect("a date");
    check!().with_type::<String>().for_each(|text| {
        if let Err(message) = when::parse_time(text, &now) {
            assert!(!message.is_empty());
        }
        match when::parse_hour(text, today) {
            Ok(hour) => assert!(!hour.zone.is_empty()),
            Err(message) => assert!(!message.is_empty()),
        }
    });
}

#[test]
fn fuzz_an_rfc_3339_time_reads_back_as_the_same_instant() {
    let now: ZonedDateTime = "2026-11-30T15:00:00Z[UTC]".parse().expect("a time");
    check!()
        .with_type::<(i64, i32, i16)>()
        .for_each(|&(seconds, nanoseconds, offset_minutes)| {
            // Within jiff's range (years -9999 to 9999), offsets within a day.
            let seconds = seconds.rem_euclid(2 * 253_402_207_200) - 253_402_207_200;
            let nanoseconds = nanoseconds.rem_euclid(1_000_000_000);
            let Ok(instant) = Timestamp::new(seconds, nanoseconds) else {
                return;
            };
            let offset = jiff::tz::Offset::from_seconds(i32::from(offset_minutes % 1440) * 60)
                .expect("an offset within a day");
            let text = instant.display_with_offset(offset).to_string();
            if let Ok(read) = when::parse_time(&text, &now) {
                let read = i128::from(read.timestamp()) * 1_000_000_000
                    + i128::from(read.timestamp_subsec_nanos());
                assert_eq!(read, instant.as_nanosecond(), "{text}");
            }
        });
}

#[test]
fn fuzz_a_backup_name_never_leaves_the_chosen_directory() {
    check!().with_type::<String>().for_each(|name| {
        let file = human::file_name(name);
        assert!(!file.is_empty(), "{name:?}");
        assert!(!file.starts_with('.'), "{name:?} → {file:?}");
        assert!(
            file.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
            "{name:?} → {file:?}"
        );
    });
}

#[test]
fn fuzz_nothing_but_colours_reaches_the_terminal() {
    check!().with_type::<String>().for_each(|text| {
        let safe = escape::for_terminal(text);
        let mut rest: &str = &safe;
        while let Some(c) = rest.chars().next() {
            if c == '\u{1b}' {
                // Only a colour sequence: ESC [ digits/semicolons m.
                let parameters = rest.strip_prefix("\u{1b}[").expect("ESC starts a sequence");
                let end = parameters
                    .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                    .expect("the sequence ends");
                assert!(parameters[end..].starts_with('m'), "{text:?} → {safe:?}");
                rest = &parameters[end + 1..];
                continue;
            }
            assert!(
                !c.is_control() || c == '\n' || c == '\t',
                "{text:?} → {safe:?}"
            );
            rest = &rest[c.len_utf8()..];
        }
        if !text.chars().any(char::is_control) {
            assert_eq!(&*safe, text.as_str());
        }
    });
}
