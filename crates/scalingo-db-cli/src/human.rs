//! How values read for people: sizes in binary units, times in the local zone, statuses in
//! colour (when colours are on; `console` decides per stream).

use chrono::{DateTime, Local, TimeZone as _, Utc};
use console::{StyledObject, style};
use scalingo_db::{BackupStatus, OperationStatus};

/// `1.00 MiB`, or `-` when the API gave no size.
pub fn size(bytes: Option<i64>) -> String {
    match bytes.and_then(|bytes| u64::try_from(bytes).ok()) {
        Some(bytes) => indicatif::HumanBytes(bytes).to_string(),
        None => "-".to_owned(),
    }
}

/// `2026-11-23 16:38`, local time, for tables.
pub fn local_minute(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// `2026-11-23 16:38:02 +01:00`, local time with its offset, for details.
pub fn local_time(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// Labelled values, one a line, the values aligned: the details of one object.
pub fn fields(fields: &[(&str, String)]) -> String {
    let width = fields
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    fields
        .iter()
        .map(|(label, value)| format!("{label:<width$}  {value}\n"))
        .collect()
}

/// Hours of the day in UTC, with the local time they are today:
/// `00:00 UTC (01:00 local, +01:00)`, or `00:00 UTC` where the local time is UTC.
pub fn utc_hours(hours: &[i32]) -> String {
    let today = Utc::now().date_naive();
    let shown: Vec<String> = hours
        .iter()
        .map(|&hour| {
            let at = u32::try_from(hour)
                .ok()
                .and_then(|hour| today.and_hms_opt(hour, 0, 0))
                .map(|at| Utc.from_utc_datetime(&at));
            match at {
                Some(at) if at.with_timezone(&Local).offset().local_minus_utc() == 0 => {
                    format!("{} UTC", at.format("%H:%M"))
                }
                Some(at) => format!(
                    "{} UTC ({} local, {})",
                    at.format("%H:%M"),
                    at.with_timezone(&Local).format("%H:%M"),
                    at.with_timezone(&Local).format("%:z")
                ),
                None => format!("hour {hour} (not an hour of the day)"),
            }
        })
        .collect();
    shown.join(", ")
}

/// `yes` or `no`.
pub fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// The status, coloured by how it stands: done green, running yellow, scheduled dim, failed red.
/// Statuses this version does not know stay plain.
pub fn status(status: &BackupStatus) -> StyledObject<String> {
    let text = style(status.to_string());
    match status {
        BackupStatus::Done => text.green(),
        BackupStatus::Running => text.yellow(),
        BackupStatus::Scheduled => text.dim(),
        BackupStatus::Error | BackupStatus::Cancelled => text.red().bold(),
        _ => text,
    }
}

/// An operation's status, coloured as a backup's: finished green, under way yellow, pending dim,
/// failed red.
pub fn operation_status(status: &OperationStatus) -> StyledObject<String> {
    let text = style(status.to_string());
    match status {
        OperationStatus::Finished => text.green(),
        OperationStatus::Running | OperationStatus::Cancelling => text.yellow(),
        OperationStatus::Pending => text.dim(),
        OperationStatus::Error | OperationStatus::UserError | OperationStatus::Cancelled => {
            text.red().bold()
        }
        _ => text,
    }
}

/// `2026-11-30 14:05:00 +01:00 (2026-11-30T13:05:00Z)`: the local time, and the UTC time as
/// `--at` takes it back; one of them when the local time is UTC.
pub fn local_and_utc(time: DateTime<Utc>) -> String {
    let utc = time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    if time.with_timezone(&Local).offset().local_minus_utc() == 0 {
        return utc;
    }
    format!("{} ({utc})", local_time(time))
}

/// A backup's name as a file name: path separators and anything unusual become `_`, so a name
/// from the server cannot point outside the chosen directory.
pub fn file_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    if safe.is_empty() {
        "backup".to_owned()
    } else {
        safe.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_units() {
        assert_eq!(size(Some(1024 * 1024)), "1.00 MiB");
        assert_eq!(size(Some(512)), "512 B");
        assert_eq!(size(None), "-");
        assert_eq!(size(Some(-1)), "-");
    }

    #[test]
    fn details_align_their_values_and_hours_read_in_utc() {
        assert_eq!(
            fields(&[("ID", "a".to_owned()), ("Status", "b".to_owned())]),
            "ID      a\nStatus  b\n"
        );
        assert!(
            utc_hours(&[3]).starts_with("03:00 UTC"),
            "{}",
            utc_hours(&[3])
        );
        assert_eq!(utc_hours(&[24]), "hour 24 (not an hour of the day)");
    }

    #[test]
    fn backup_names_cannot_escape_the_directory() {
        assert_eq!(
            file_name("20231207000608_my_app_4553"),
            "20231207000608_my_app_4553"
        );
        assert_eq!(file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_name(".."), "backup");
        assert_eq!(file_name(""), "backup");
        assert_eq!(file_name("a/b\\c d"), "a_b_c_d");
    }
}
