//! What reaches the terminal from the server (a user's name, a status, an error message) is text,
//! never a command to the terminal: a name holding `ESC ] 0 ; … BEL` would retitle the window, one
//! holding `ESC [ 2 J` clear the screen, a `\r` overwrite what was printed. Every line for people
//! goes through [`for_terminal`], which writes control characters as Rust escapes (`\u{1b}`) and
//! keeps only the colour sequences (`ESC [ … m`) the CLI itself writes, which change nothing but
//! colours. JSON output needs none of this: JSON escapes control characters itself.

use std::borrow::Cow;

/// `text` with every control character escaped but newlines, tabs and colour sequences.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_care) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(length) = colour_sequence(rest)
        {
            safe.push_str(&rest[..length]);
            rest = &rest[length..];
            continue;
        }
        if needs_care(c) {
            safe.extend(c.escape_default());
        } else {
            safe.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(safe)
}

/// Control characters (C0, DEL, C1), but the line breaks and tabs of the CLI's own layout.
fn needs_care(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// The length of the Select Graphic Rendition sequence `text` starts with (`ESC [`, digits and
/// semicolons, `m`), if it starts with one.
fn colour_sequence(text: &str) -> Option<usize> {
    let parameters = text.strip_prefix("\u{1b}[")?;
    let end = parameters.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    (parameters[end..].starts_with('m')).then_some(2 + end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_and_colours_pass_as_they_are() {
        assert!(matches!(for_terminal("user-1\tdone\n"), Cow::Borrowed(_)));
        let coloured = console::style("done")
            .green()
            .force_styling(true)
            .to_string();
        assert_eq!(for_terminal(&coloured), coloured);
    }

    #[test]
    fn commands_to_the_terminal_are_written_out() {
        assert_eq!(
            for_terminal("a\u{1b}]0;pwned\u{7}b"),
            "a\\u{1b}]0;pwned\\u{7}b"
        );
        assert_eq!(for_terminal("\u{1b}[2Jx"), "\\u{1b}[2Jx");
        assert_eq!(for_terminal("ok\rFAKE"), "ok\\rFAKE");
        // C1: a CSI on its own, as some terminals read it.
        assert_eq!(for_terminal("\u{9b}31m"), "\\u{9b}31m");
        // An unfinished colour sequence is not one.
        assert_eq!(for_terminal("\u{1b}[31"), "\\u{1b}[31");
    }
}
