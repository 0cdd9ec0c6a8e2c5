//! What tells one archive from another over HTTP: its `Last-Modified` date, and whether a
//! resumed request's `If-Range` still names the archive the sandbox would send now (RFC 9110,
//! section 13.1.5), as object storage answers it.
//!
//! A client resuming a download sends `Range` with `If-Range` set to the `ETag` (or the
//! `Last-Modified`) of its first answer. When the archive changed since (another
//! `--archive-size` or `--archive-from`, a restarted sandbox), the condition fails and the whole new archive is sent
//! with `200`, instead of a range of it that the client would join to another archive's start.
//! The `ETag` itself is [`crate::served::ServedArchive::etag`], which knows what the bytes depend
//! on.

use chrono::{DateTime, Utc};

/// `at` as an HTTP date (IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Whether the `Range` of a request may be honoured given its `If-Range` (`None` when it has
/// none), for the archive whose strong tag is `etag` and whose `Last-Modified` is
/// `last_modified`.
///
/// An entity tag matches only by strong comparison: the same opaque tag, neither of them weak.
/// A date matches only if it is exactly the `Last-Modified` sent (to the second, as HTTP dates
/// go). Anything else, a weak tag or a value that is neither, fails the condition: the whole
/// archive is then sent, which is always safe.
pub fn if_range_holds(if_range: Option<&str>, etag: &str, last_modified: DateTime<Utc>) -> bool {
    let Some(value) = if_range.map(str::trim) else {
        return true;
    };
    if value.starts_with('"') || value.starts_with("W/") {
        return value == etag && !etag.starts_with("W/");
    }
    DateTime::parse_from_rfc2822(value)
        .is_ok_and(|date| date.timestamp() == last_modified.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "\"00000000000000030000000000018600\"";

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:03.250Z")
            .expect("a date")
            .to_utc()
    }

    #[test]
    fn an_http_date_is_the_imf_fixdate_of_the_second() {
        assert_eq!(http_date(at()), "Sun, 01 Mar 2026 12:00:03 GMT");
    }

    #[test]
    fn if_range_holds_for_the_same_strong_tag_or_the_exact_date_only() {
        let cases = [
            (None, true),
            (Some(ETAG), true),
            (Some(" \"00000000000000030000000000018600\" "), true),
            (Some("\"00000000000000040000000000018600\""), false),
            (Some("W/\"00000000000000030000000000018600\""), false),
            (Some("\"0000000000000003\""), false),
            (Some("Sun, 01 Mar 2026 12:00:03 GMT"), true),
            (Some("Sun, 01 Mar 2026 12:00:04 GMT"), false),
            (Some("Sun, 01 Mar 2026 12:00:02 GMT"), false),
            (Some("yesterday"), false),
            (Some(""), false),
        ];
        for (if_range, holds) in cases {
            assert_eq!(if_range_holds(if_range, ETAG, at()), holds, "{if_range:?}");
        }
        // A weak tag of the server's never matches, even itself.
        let weak = "W/\"abc\"";
        assert!(!if_range_holds(Some(weak), weak, at()));
    }
}
