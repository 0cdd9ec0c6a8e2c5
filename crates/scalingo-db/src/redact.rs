//! Keeps secrets out of what errors show: passwords and tokens in a body snippet, the token of a
//! pre-signed link in a URL.

use std::fmt::Write as _;

/// How much of a body an error shows.
const SNIPPET_CHARS: usize = 200;

/// The start of `body` as text, with the values of password fields and link tokens replaced.
///
/// The body may be truncated or not JSON at all, so this scans the text instead of parsing it.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let scrubbed = scrub(&text);
    let mut out: String = scrubbed.chars().take(SNIPPET_CHARS).collect();
    if scrubbed.chars().nth(SNIPPET_CHARS).is_some() {
        out.push('…');
    }
    // Control characters (newlines, escape sequences) would garble a terminal or a log line.
    out.chars().fold(String::new(), |mut acc, c| {
        if c.is_control() {
            let _ = write!(acc, "{}", c.escape_default());
        } else {
            acc.push(c);
        }
        acc
    })
}

/// Replaces the string value of every `"password"`, `"password_confirmation"` and `"token"` key
/// (the token flow's answers carry tokens there), and every `token=` query value.
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
    [
        json_string_value(text, "\"password\""),
        json_string_value(text, "\"password_confirmation\""),
        json_string_value(text, "\"token\""),
        query_value(text, "token="),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// The range of the string value of the first `key` that has one (to the end of a truncated body).
fn json_string_value(text: &str, key: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(found) = text[from..].find(key) {
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

fn query_value(text: &str, key: &str) -> Option<(usize, usize)> {
    let start = text.find(key)? + key.len();
    let len = text[start..]
        .find(|c: char| c == '&' || c == '"' || c == '#' || c.is_whitespace())
        .unwrap_or(text.len() - start);
    Some((start, start + len))
}

/// reqwest shows the URL in its errors; a pre-signed link's query string is its credential.
pub(crate) fn reqwest_error(mut error: reqwest::Error) -> reqwest::Error {
    if let Some(url) = error.url_mut()
        && url.query().is_some()
    {
        url.set_query(Some("<redacted>"));
    }
    error
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
    fn link_tokens_are_removed() {
        let body = br#"{"download_url":"https://x/download?token=abc123&x=1"}"#;
        let shown = snippet(body);
        assert!(!shown.contains("abc123"), "{shown}");
        assert!(shown.contains("token=<redacted>&x=1"), "{shown}");
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
    fn long_bodies_are_cut() {
        let body = "x".repeat(1000);
        assert_eq!(snippet(body.as_bytes()).chars().count(), SNIPPET_CHARS + 1);
    }
}
