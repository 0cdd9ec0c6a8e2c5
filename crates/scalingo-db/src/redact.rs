//! Keeps secrets out of what errors show: the values of secret fields in a body snippet, and a
//! URL's query (a pre-signed link's credential) wherever a URL is shown.
//!
//! Which fields and parameters are secret is the contract's to say (`x-secret` schemas, `apiKey`
//! schemes in the query); the lists come from the generated crate, so a new secret field is
//! scrubbed without a change here.

use std::fmt::Write as _;

use scalingo_db_generated::{SECRET_FIELDS, SECRET_QUERY_PARAMETERS};

/// How much of a body an error shows.
const SNIPPET_CHARS: usize = 200;

/// The start of `body` as text, with the values of secret fields and query credentials
/// replaced.
///
/// The body may be truncated or not JSON at all, so this scans the text instead of parsing it.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let scrubbed = scrub(&text);
    let mut out: String = scrubbed.chars().take(SNIPPET_CHARS).collect();
    if scrubbed.chars().nth(SNIPPET_CHARS).is_some() {
        out.push('…');
    }
    control_free(&out)
}

/// `text` with its control characters escaped: newlines and escape sequences from a server would
/// garble a terminal or a log line.
pub(crate) fn control_free(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars().fold(String::new(), |mut acc, c| {
        if c.is_control() {
            let _ = write!(acc, "{}", c.escape_default());
        } else {
            acc.push(c);
        }
        acc
    })
}

/// Replaces the string value of every secret field, and the value of every credential query
/// parameter.
fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((start, end)) = next_secret(rest) {
        out.push_str(&rest[..start]);
        out.push_str("<redacted>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The byte range of the first secret value in `text`.
fn next_secret(text: &str) -> Option<(usize, usize)> {
    let fields = SECRET_FIELDS
        .iter()
        .filter_map(|field| json_string_value(text, field));
    let parameters = SECRET_QUERY_PARAMETERS
        .iter()
        .filter_map(|parameter| query_value(text, parameter));
    fields.chain(parameters).min()
}

/// The range of the string value of the first field named `field` that has one (to the end of
/// a truncated body).
fn json_string_value(text: &str, field: &str) -> Option<(usize, usize)> {
    let key = format!("\"{field}\"");
    let mut from = 0;
    while let Some(found) = text[from..].find(&key) {
        let after_key = from + found + key.len();
        from = after_key;
        let rest = text[after_key..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let Some(inside) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let start = text.len() - inside.len();
        let mut escaped = false;
        for (at, c) in inside.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => return Some((start, start + at)),
                _ => escaped = false,
            }
        }
        return Some((start, text.len()));
    }
    None
}

/// The range of the value of the first `parameter=` of a query string in `text`.
fn query_value(text: &str, parameter: &str) -> Option<(usize, usize)> {
    let key = format!("{parameter}=");
    let mut from = 0;
    while let Some(found) = text[from..].find(&key) {
        let at = from + found;
        from = at + key.len();
        // A parameter starts a query or follows another one: `xtoken=` is not `token=`.
        if at > 0 && !matches!(text.as_bytes()[at - 1], b'?' | b'&') {
            continue;
        }
        let start = at + key.len();
        let len = text[start..]
            .find(|c: char| c == '&' || c == '"' || c == '#' || c.is_whitespace())
            .unwrap_or(text.len() - start);
        return Some((start, start + len));
    }
    None
}

/// `url` for a person reading an error: scheme, host, port and path, with the query left out
/// (shown as `?…`) and no user name, password or fragment. A pre-signed link's query is its
/// credential, and a URL's own serialisation would percent-encode any placeholder put there.
pub(crate) fn url_text(url: &url::Url) -> String {
    let mut shown = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        shown.push_str(host);
    }
    if let Some(port) = url.port() {
        let _ = write!(shown, ":{port}");
    }
    shown.push_str(url.path());
    if url.query().is_some() {
        shown.push_str("?…");
    }
    control_free(&shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_removed_even_from_truncated_json() {
        let body = br#"{"database_user":{"name":"bob","password":"s3cr\"et","password_confirmation": "s3cr"#;
        let shown = snippet(body);
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(shown.contains("bob"), "{shown}");
        assert_eq!(shown.matches("<redacted>").count(), 2, "{shown}");
    }

    #[test]
    fn link_tokens_are_removed_wherever_a_url_appears() {
        let body = br#"{"error":"expired: https://x/download?token=abc123&x=1, mytoken=keep"}"#;
        let shown = snippet(body);
        assert!(!shown.contains("abc123"), "{shown}");
        assert!(shown.contains("token=<redacted>&x=1"), "{shown}");
        assert!(shown.contains("mytoken=keep"), "{shown}");
    }

    #[test]
    fn every_field_the_contract_marks_secret_is_removed() {
        assert!(SECRET_FIELDS.contains(&"password"), "{SECRET_FIELDS:?}");
        for field in SECRET_FIELDS {
            let body = format!(r#"{{"name":"bob","{field}":"hunter2","other":1}}"#);
            let shown = snippet(body.as_bytes());
            assert!(!shown.contains("hunter2"), "{field}: {shown}");
            assert!(shown.contains("bob"), "{field}: {shown}");
        }
    }

    #[test]
    fn tokens_of_the_token_flow_are_removed() {
        // What a token answer looks like when it does not decode (here, no `id`).
        let body = br#"{"addon":{"token":"eyJhbGciOiJIUzI1NiJ9.e30.c2ln"}}"#;
        let shown = snippet(body);
        assert!(!shown.contains("eyJ"), "{shown}");
        assert!(shown.contains(r#""token":"<redacted>""#), "{shown}");
    }

    #[test]
    fn urls_read_plainly_without_their_query() {
        let url = url::Url::parse(
            "https://bob:pw@storage.example:8443/b/archive.tar.gz?token=abc123&x=1#frag",
        )
        .unwrap();
        assert_eq!(
            url_text(&url),
            "https://storage.example:8443/b/archive.tar.gz?…"
        );
        let plain = url::Url::parse("http://127.0.0.1:1/api/databases/ad-1/users").unwrap();
        assert_eq!(
            url_text(&plain),
            "http://127.0.0.1:1/api/databases/ad-1/users"
        );
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "x".repeat(1000);
        assert_eq!(snippet(body.as_bytes()).chars().count(), SNIPPET_CHARS + 1);
    }
}
