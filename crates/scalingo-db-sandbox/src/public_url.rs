//! [`PublicUrl`]: where clients reach the sandbox, for the links it answers (an archive's
//! `download_url`). It is configured, never read from a request: a `Host` header is whatever the
//! client sent (`evil.example#`), and a link built from it would send the link's token there.

use std::fmt;
use std::str::FromStr;

use axum::http::Uri;

/// The base URL of the sandbox's links: `http(s)://host[:port][/prefix]`, kept without a
/// trailing `/`, so that `{base}/api/...` is a link. It has no user, query or fragment.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// The URL, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    /// Refuses anything but an absolute `http` or `https` URL with a host and at most a path.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = |why: &str| {
            Err(format!(
                "`{text}` is not a public base URL ({why}); expected http(s)://host[:port][/prefix]"
            ))
        };
        // Checked on the text: `Uri` accepts some of them, and a link must not carry them.
        if text.contains(['#', '?', '@']) || text.chars().any(char::is_whitespace) {
            return refuse("no user, query, fragment or space");
        }
        let Ok(uri) = text.parse::<Uri>() else {
            return refuse("not a URL");
        };
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return refuse("the scheme must be http or https");
        }
        if uri.host().is_none_or(str::is_empty) {
            return refuse("a host is required");
        }
        Ok(PublicUrl(text.trim_end_matches('/').to_owned()))
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicUrl({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_url_with_a_host_and_a_path_is_kept_without_its_trailing_slash() {
        for (given, kept) in [
            ("http://127.0.0.1:8700", "http://127.0.0.1:8700"),
            ("https://sandbox.example/", "https://sandbox.example"),
            (
                "https://proxy.example:8443/sandbox/",
                "https://proxy.example:8443/sandbox",
            ),
            ("http://[::1]:8700", "http://[::1]:8700"),
        ] {
            let url: PublicUrl = given.parse().expect(given);
            assert_eq!(url.as_str(), kept);
        }
    }

    #[test]
    fn anything_else_is_refused_saying_what_is_expected() {
        for given in [
            "evil.example#",
            "http://evil.example#/",
            "http://sandbox.example/?a=1",
            "http://user@sandbox.example",
            "ftp://sandbox.example",
            "sandbox.example:8700",
            "/api",
            "http:///api",
            "",
            "http://sand box.example",
        ] {
            let refused = given.parse::<PublicUrl>().expect_err(given);
            assert!(
                refused.contains("expected http(s)://host[:port][/prefix]"),
                "{given}: {refused}"
            );
        }
    }
}
