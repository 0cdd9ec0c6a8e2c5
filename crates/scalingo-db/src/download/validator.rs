//! [`Validator`]: which archive a download is of, so that a resumed range is proven to be of the
//! same object as the bytes already received (RFC 9110, `If-Range`).
//!
//! Comparing sizes is not enough: the archive behind a link can change (a sandbox restarted with
//! another archive size, an object rewritten in storage) and keep its size, or a part file can
//! outlive its object. The first answer's `ETag` (or else its `Last-Modified`) is kept, beside
//! the part file for a later run, and sent back in `If-Range` with each `Range`: a server whose
//! object changed answers the whole new object (200) instead of a range of it.

use reqwest::header::{ETAG, HeaderMap, LAST_MODIFIED};

/// What names one version of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Validator {
    /// A strong entity tag, quotes included.
    ETag(String),
    /// A `Last-Modified` date, as the server wrote it.
    LastModified(String),
}

impl Validator {
    /// The validator an answer carries: its strong `ETag`, else its `Last-Modified`. A weak tag
    /// (`W/"..."`) is left out: RFC 9110 forbids it in `If-Range`, as it names a representation
    /// whose bytes may differ.
    pub(crate) fn of(headers: &HeaderMap) -> Option<Validator> {
        let text = |name| {
            headers
                .get(name)
                .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        if let Some(etag) = text(ETAG).filter(|etag| etag.starts_with('"')) {
            return Some(Validator::ETag(etag.to_owned()));
        }
        text(LAST_MODIFIED).map(|date| Validator::LastModified(date.to_owned()))
    }

    /// The value of `If-Range`.
    pub(crate) fn if_range(&self) -> &str {
        match self {
            Validator::ETag(value) | Validator::LastModified(value) => value,
        }
    }

    /// Whether an answer names another object: it carries a validator of the same kind, with
    /// another value. An answer without one says nothing either way.
    pub(crate) fn contradicted_by(&self, headers: &HeaderMap) -> bool {
        match (self, Validator::of(headers)) {
            (Validator::ETag(ours), Some(Validator::ETag(theirs))) => ours != &theirs,
            (Validator::LastModified(ours), _) => headers
                .get(LAST_MODIFIED)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|theirs| ours != theirs.trim()),
            _ => false,
        }
    }

    /// Whether an answer names this very version: the same `ETag` (or, for a date, the same
    /// `Last-Modified`). A range of a download in ranges must, to be joined to the others: an
    /// answer that names none proves nothing.
    pub(crate) fn carried_by(&self, headers: &HeaderMap) -> bool {
        let header = |name| {
            headers
                .get(name)
                .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
                .map(str::trim)
        };
        match self {
            Validator::ETag(ours) => header(ETAG) == Some(ours.as_str()),
            Validator::LastModified(ours) => header(LAST_MODIFIED) == Some(ours.as_str()),
        }
    }

    /// The validator as a line of the part's sidecar: `etag <tag>` or `last-modified <date>`.
    pub(crate) fn line(&self) -> String {
        match self {
            Validator::ETag(value) => format!("etag {value}"),
            Validator::LastModified(value) => format!("last-modified {value}"),
        }
    }

    /// A line written by [`Validator::line`]; `None` for anything else.
    pub(crate) fn from_line(line: &str) -> Option<Validator> {
        let (kind, value) = line.split_once(' ')?;
        let value = value.trim();
        // Only what a header value can hold: a sidecar edited by hand cannot inject a header.
        if value.is_empty()
            || !value
                .bytes()
                .all(|byte| byte.is_ascii_graphic() || byte == b' ')
        {
            return None;
        }
        match kind {
            "etag" if value.starts_with('"') => Some(Validator::ETag(value.to_owned())),
            "last-modified" => Some(Validator::LastModified(value.to_owned())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().expect("a header value"));
        }
        headers
    }

    const DATE: &str = "Sun, 01 Mar 2026 12:00:03 GMT";

    #[test]
    fn a_strong_etag_is_preferred_then_the_date() {
        let both = headers(&[("etag", "\"abc\""), ("last-modified", DATE)]);
        assert_eq!(
            Validator::of(&both),
            Some(Validator::ETag("\"abc\"".into()))
        );
        let weak = headers(&[("etag", "W/\"abc\""), ("last-modified", DATE)]);
        assert_eq!(
            Validator::of(&weak),
            Some(Validator::LastModified(DATE.into()))
        );
        assert_eq!(Validator::of(&headers(&[("etag", "W/\"abc\"")])), None);
        assert_eq!(Validator::of(&HeaderMap::new()), None);
    }

    #[test]
    fn only_a_validator_of_the_same_kind_and_another_value_contradicts() {
        let etag = Validator::ETag("\"abc\"".into());
        assert!(!etag.contradicted_by(&headers(&[("etag", "\"abc\"")])));
        assert!(etag.contradicted_by(&headers(&[("etag", "\"abd\"")])));
        assert!(!etag.contradicted_by(&headers(&[("last-modified", DATE)])));
        assert!(!etag.contradicted_by(&HeaderMap::new()));
        let date = Validator::LastModified(DATE.into());
        assert!(!date.contradicted_by(&headers(&[("last-modified", DATE)])));
        assert!(date.contradicted_by(&headers(&[(
            "last-modified",
            "Sun, 01 Mar 2026 12:00:04 GMT"
        )])));
        assert!(!date.contradicted_by(&headers(&[("etag", "\"abc\"")])));
    }

    #[test]
    fn only_the_same_validator_is_carried() {
        let etag = Validator::ETag("\"abc\"".into());
        assert!(etag.carried_by(&headers(&[("etag", "\"abc\""), ("last-modified", DATE)])));
        assert!(!etag.carried_by(&headers(&[("etag", "\"abd\"")])));
        assert!(!etag.carried_by(&headers(&[("etag", "W/\"abc\"")])));
        assert!(
            !etag.carried_by(&headers(&[("last-modified", DATE)])),
            "none is no proof"
        );
        assert!(!etag.carried_by(&HeaderMap::new()));
        let date = Validator::LastModified(DATE.into());
        assert!(date.carried_by(&headers(&[("etag", "\"abc\""), ("last-modified", DATE)])));
        assert!(!date.carried_by(&headers(&[("etag", "\"abc\"")])));
    }

    #[test]
    fn a_sidecar_line_reads_back_and_nothing_else_does() {
        for validator in [
            Validator::ETag("\"0123456789abcdef\"".into()),
            Validator::LastModified(DATE.into()),
        ] {
            assert_eq!(Validator::from_line(&validator.line()), Some(validator));
        }
        for line in [
            "",
            "etag",
            "etag ",
            "etag abc",
            "size 12",
            "etag \"a\u{7f}\"",
            "last-modified \u{e9}t\u{e9}",
        ] {
            assert_eq!(Validator::from_line(line), None, "{line:?}");
        }
    }
}
