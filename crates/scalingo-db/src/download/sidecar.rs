//! The text of a part's sidecar, `<path>.part.backup`: whose archive the part holds bytes of,
//! which version of it, and which bytes.
//!
//! A download in one stream writes two lines, the backup's id then the version of its archive
//! (`etag "<tag>"` or `last-modified <date>`, see [`Validator::line`]): the part holds the
//! archive's first bytes, as many as it is long. A download in ranges writes four:
//!
//! ```text
//! <backup id>
//! ranged <archive size> <part size>
//! etag "<tag>"
//! done <bytes of range 0> <bytes of range 1> ...
//! ```
//!
//! where each count is how many bytes from the start of its range are written (and were synced
//! before the sidecar said so). Its second line is not a version, on purpose: an earlier version
//! of this crate, or a download in one stream, reads it as a sidecar that names no version and
//! starts again, rather than take a part with holes for the archive's first bytes. A sidecar
//! written by a still earlier version (the id alone) names no version either.

use super::plan::Layout;
use super::validator::Validator;

/// What a sidecar says, when it is one of this backup's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Sidecar {
    /// The part is the start of the archive, as long as the part is.
    Stream { validator: Validator },
    /// The part holds, at their places, the first `done[i]` bytes of each range `i` of `layout`.
    Ranged {
        validator: Validator,
        layout: Layout,
        done: Vec<u64>,
    },
}

/// The sidecar of a part of `backup_id`'s archive written in one stream, of the version
/// `validator` names.
pub(super) fn stream_text(backup_id: &str, validator: Option<&Validator>) -> String {
    match validator {
        Some(validator) => format!("{backup_id}\n{}\n", validator.line()),
        None => format!("{backup_id}\n"),
    }
}

/// The sidecar of a part of `backup_id`'s archive written in the ranges of `layout`, of which the
/// first `done[i]` bytes of each range `i` are written.
pub(super) fn ranged_text(
    backup_id: &str,
    validator: &Validator,
    layout: &Layout,
    done: &[u64],
) -> String {
    let mut text = format!(
        "{backup_id}\nranged {} {}\n{}\ndone",
        layout.total,
        layout.part_size,
        validator.line()
    );
    for bytes in done {
        text.push(' ');
        text.push_str(&bytes.to_string());
    }
    text.push('\n');
    text
}

/// What `text` says, if it is a sidecar of `backup_id` that names a version (and, for ranges,
/// a layout this crate could have chosen, with counts that fit their ranges).
pub(super) fn parse(text: &str, backup_id: &str) -> Option<Sidecar> {
    let mut lines = text.lines();
    if lines.next()? != backup_id {
        return None;
    }
    let second = lines.next()?;
    let Some(sizes) = second.strip_prefix("ranged ") else {
        return Some(Sidecar::Stream {
            validator: Validator::from_line(second)?,
        });
    };
    let (total, part_size) = sizes.split_once(' ')?;
    let layout = Layout {
        total: number(total)?,
        part_size: number(part_size)?,
    };
    let validator = Validator::from_line(lines.next()?)?;
    let done = lines
        .next()?
        .strip_prefix("done ")?
        .split(' ')
        .map(number)
        .collect::<Option<Vec<u64>>>()?;
    let fits = layout.is_plausible()
        && done.len() == layout.count()
        && done
            .iter()
            .enumerate()
            .all(|(index, bytes)| *bytes <= layout.range(index).end - layout.range(index).start);
    if !fits || lines.next().is_some() {
        return None;
    }
    Some(Sidecar::Ranged {
        validator,
        layout,
        done,
    })
}

/// A count as a sidecar or a `Content-Range` writes it: digits only, no sign, no space, no
/// leading `+` (which `u64::from_str` would take).
pub(super) fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etag() -> Validator {
        Validator::ETag("\"abc\"".into())
    }

    #[test]
    fn a_stream_sidecar_names_a_version_only_when_it_is_this_backup_s_and_says_one() {
        let text = stream_text("b-1", Some(&etag()));
        assert_eq!(text, "b-1\netag \"abc\"\n");
        assert_eq!(
            parse(&text, "b-1"),
            Some(Sidecar::Stream { validator: etag() })
        );
        assert_eq!(parse(&text, "b-2"), None, "another backup's");
        // Written by an earlier version (the id alone), or without a version to name.
        assert_eq!(parse("b-1", "b-1"), None);
        assert_eq!(parse(&stream_text("b-1", None), "b-1"), None);
        assert_eq!(parse("", "b-1"), None);
    }

    #[test]
    fn a_ranged_sidecar_reads_back_and_is_never_taken_for_a_stream_s() {
        let layout = Layout {
            total: 10,
            part_size: 4,
        };
        let text = ranged_text("b-1", &etag(), &layout, &[4, 1, 0]);
        assert_eq!(text, "b-1\nranged 10 4\netag \"abc\"\ndone 4 1 0\n");
        assert_eq!(
            parse(&text, "b-1"),
            Some(Sidecar::Ranged {
                validator: etag(),
                layout,
                done: vec![4, 1, 0]
            })
        );
        // What a download in one stream (and earlier versions of this crate) read of it: the
        // second line, which is not a version.
        assert_eq!(Validator::from_line("ranged 10 4"), None);
        assert_eq!(parse(&text, "b-2"), None);
    }

    #[test]
    fn a_ranged_sidecar_that_does_not_add_up_is_refused() {
        for text in [
            "b-1\nranged 10 4\netag \"abc\"\ndone 4 1\n",
            "b-1\nranged 10 4\netag \"abc\"\ndone 4 1 0 0\n",
            "b-1\nranged 10 4\netag \"abc\"\ndone 5 1 0\n",
            "b-1\nranged 10 4\netag \"abc\"\ndone 4 1 3\n",
            "b-1\nranged 10 4\netag \"abc\"\ndone 4 -1 0\n",
            "b-1\nranged 10 4\netag \"abc\"\ndone 4  1 0\n",
            "b-1\nranged 10 4\netag \"abc\"\n",
            "b-1\nranged 10 4\netag \"abc\"\ndone 4 1 0\nmore\n",
            "b-1\nranged 10 0\netag \"abc\"\ndone\n",
            "b-1\nranged 0 4\netag \"abc\"\ndone\n",
            "b-1\nranged 10\netag \"abc\"\ndone 4 1 0\n",
            "b-1\nranged 10 4\nsize 12\ndone 4 1 0\n",
            "b-1\nranged 99999999999999999999 4\netag \"abc\"\ndone 0\n",
        ] {
            assert_eq!(parse(text, "b-1"), None, "{text:?}");
        }
    }
}
