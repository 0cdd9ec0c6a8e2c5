//! Rows per table, read from the SQL script `pg_restore --file=-` writes: the one pass that makes
//! `pg_restore` read (and inflate) every data block of a dump, and that tells how many rows each
//! table holds, which a restore is then compared with. `COPY` data in text format has one row per
//! line (newlines in values are written `\n`) and ends with a line `\.`.

use std::collections::BTreeMap;
use std::io::{self, BufRead};

/// Counts the rows of every `COPY ... FROM stdin;` block of `script`, by table (written as in
/// the script, e.g. `public."Order"`), and the bytes of the script.
pub(super) fn count_rows(mut script: impl BufRead) -> io::Result<(BTreeMap<String, u64>, u64)> {
    let mut rows = BTreeMap::new();
    let mut copying: Option<(String, u64)> = None;
    let mut line = Vec::with_capacity(4096);
    let mut bytes = 0;
    loop {
        line.clear();
        let read = script.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        match &mut copying {
            Some((table, count)) => {
                if line == b"\\.\n" || line == b"\\." {
                    *rows.entry(std::mem::take(table)).or_insert(0) += *count;
                    copying = None;
                } else {
                    *count += 1;
                }
            }
            None => {
                if let Some(table) = copy_target(&line) {
                    copying = Some((table.to_owned(), 0));
                }
            }
        }
    }
    Ok((rows, bytes))
}

/// The table of a `COPY <table> [(<columns>)] FROM stdin;` line.
fn copy_target(line: &[u8]) -> Option<&str> {
    let line = std::str::from_utf8(line).ok()?;
    let rest = line.strip_prefix("COPY ")?;
    if !line.trim_end().ends_with("FROM stdin;") {
        return None;
    }
    // The name ends at the first space outside double quotes (`""` is a quote inside them).
    let mut quoted = false;
    let end = rest
        .char_indices()
        .find(|&(_, c)| {
            if c == '"' {
                quoted = !quoted;
            }
            c == ' ' && !quoted
        })
        .map(|(at, _)| at)?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_per_copy_block_up_to_its_end_line() {
        let script = "\
SET statement_timeout = 0;
CREATE TABLE public.accounts (id integer, name text);
COPY public.accounts (id, name) FROM stdin;
1\tAda
2\tline\\nbreak
3\t\\N
\\.
COPY public.\"Order Lines\" (id) FROM stdin;
\\.
COPY \"we \"\"quote\"\"\".t FROM stdin;
7
\\.
SELECT pg_catalog.setval('public.accounts_id_seq', 3, true);
";
        let (rows, bytes) = count_rows(script.as_bytes()).unwrap();
        assert_eq!(bytes, script.len() as u64);
        let expected: BTreeMap<String, u64> = [
            ("public.accounts", 3),
            ("public.\"Order Lines\"", 0),
            ("\"we \"\"quote\"\"\".t", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn a_copy_block_cut_short_counts_nothing() {
        let (rows, _) = count_rows(&b"COPY public.t (a) FROM stdin;\n1\n2\n"[..]).unwrap();
        assert!(rows.is_empty(), "{rows:?}");
    }
}
