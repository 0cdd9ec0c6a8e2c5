//! A summary of what `pg_restore --list` prints: the table of contents of a custom-format dump,
//! counted by entry type, so that a report can say "3 schemas, 12 tables, 12 data entries" and a
//! restore can be compared with it.

use std::collections::{BTreeMap, BTreeSet};

/// Entry types of more than one word, longest first so that a longer one wins over its prefix
/// (`MATERIALIZED VIEW DATA` over `MATERIALIZED VIEW`). The list is pg_dump's own (`pg_dump.c`,
/// PostgreSQL 9.6 to 17); an unknown multi-word type is counted under its first word, which
/// only blurs the summary, never the verdict.
const MULTI_WORD_TYPES: [&str; 22] = [
    "PUBLICATION TABLES IN SCHEMA",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "MATERIALIZED VIEW DATA",
    "TEXT SEARCH TEMPLATE",
    "FOREIGN DATA WRAPPER",
    "TEXT SEARCH PARSER",
    "PROCEDURAL LANGUAGE",
    "DATABASE PROPERTIES",
    "SEQUENCE OWNED BY",
    "MATERIALIZED VIEW",
    "PUBLICATION TABLE",
    "OPERATOR FAMILY",
    "OPERATOR CLASS",
    "BLOB METADATA",
    "FK CONSTRAINT",
    "FOREIGN TABLE",
    "EVENT TRIGGER",
    "ACCESS METHOD",
    "LARGE OBJECTS",
    "LARGE OBJECT",
    "TABLE DATA",
];
/// Those of two words that the list above does not need to order.
const TWO_WORD_TYPES: [&str; 6] = [
    "SEQUENCE SET",
    "DEFAULT ACL",
    "USER MAPPING",
    "ROW SECURITY",
    "SHELL TYPE",
    "INDEX ATTACH",
];

/// The table of contents, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TocSummary {
    /// Entries per type (`TABLE`, `TABLE DATA`, `INDEX`, `BLOB`, ...), plus `schemas`: the
    /// schemas the tables live in.
    pub(super) counts: BTreeMap<String, u64>,
}

/// Reads the output of `pg_restore --list`.
pub(super) fn summarise(list: &str) -> TocSummary {
    let mut counts = BTreeMap::new();
    let mut schemas = BTreeSet::new();
    for line in list.lines() {
        let Some((entry_type, rest)) = entry(line) else {
            continue;
        };
        if entry_type == "TABLE"
            && let Some(schema) = rest.split(' ').next()
        {
            schemas.insert(schema.to_owned());
        }
        *counts.entry(entry_type.to_owned()).or_insert(0) += 1;
    }
    counts.insert("schemas".to_owned(), schemas.len() as u64);
    TocSummary { counts }
}

/// An entry line, `<dump id>; <catalog oid> <oid> <TYPE> <schema> <name> <owner>`, as its type
/// and what follows it; `None` for comments (`;` lines) and anything else.
fn entry(line: &str) -> Option<(&str, &str)> {
    let (id, rest) = line.split_once("; ")?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut words = rest.splitn(3, ' ');
    let (_catalog, _oid, described) = (words.next()?, words.next()?, words.next()?);
    let entry_type = MULTI_WORD_TYPES
        .iter()
        .chain(TWO_WORD_TYPES.iter())
        .find(|known| {
            described
                .strip_prefix(**known)
                .is_some_and(|after| after.is_empty() || after.starts_with(' '))
        })
        .copied()
        .unwrap_or_else(|| described.split(' ').next().unwrap_or(described));
    let after = described[entry_type.len()..].trim_start();
    Some((entry_type, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As PostgreSQL 15's `pg_restore --list` prints a small dump with an extension, a large
    /// object and two schemas.
    const LIST: &str = "\
;
; Archive created at 2026-11-30 15:00:00 UTC
;     dbname: shop
;     TOC Entries: 14
;
; Selected TOC Entries:
;
2; 3079 16384 EXTENSION - pg_trgm 
3370; 0 0 COMMENT - EXTENSION pg_trgm 
6; 2615 16470 SCHEMA - billing postgres
216; 1259 16386 TABLE public accounts postgres
217; 1259 16393 TABLE billing invoices postgres
215; 1259 16385 SEQUENCE public accounts_id_seq postgres
3371; 0 0 SEQUENCE OWNED BY public accounts_id_seq postgres
3365; 0 16386 TABLE DATA public accounts postgres
3366; 0 16393 TABLE DATA billing invoices postgres
3372; 0 0 SEQUENCE SET public accounts_id_seq postgres
3360; 2606 16391 CONSTRAINT public accounts accounts_pkey postgres
3361; 2606 16400 FK CONSTRAINT billing invoices invoices_account_fkey postgres
3367; 2613 16410 BLOB - 16410 postgres
3368; 0 0 BLOBS - BLOBS 
";

    #[test]
    fn entries_are_counted_by_type_and_tables_by_schema() {
        let counts = summarise(LIST).counts;
        let expected: BTreeMap<String, u64> = [
            ("BLOB", 1),
            ("BLOBS", 1),
            ("COMMENT", 1),
            ("CONSTRAINT", 1),
            ("EXTENSION", 1),
            ("FK CONSTRAINT", 1),
            ("SCHEMA", 1),
            ("SEQUENCE", 1),
            ("SEQUENCE OWNED BY", 1),
            ("SEQUENCE SET", 1),
            ("TABLE", 2),
            ("TABLE DATA", 2),
            ("schemas", 2),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn comments_and_other_lines_are_not_entries() {
        assert_eq!(entry(";     dbname: shop"), None);
        assert_eq!(entry("x; 1 2 TABLE a b c"), None);
        assert_eq!(entry(""), None);
        assert_eq!(
            entry("9; 1259 3 MATERIALIZED VIEW DATA public totals me"),
            Some(("MATERIALIZED VIEW DATA", "public totals me"))
        );
        assert_eq!(
            entry("9; 1259 3 TABLESPACE - fast me"),
            Some(("TABLESPACE", "- fast me"))
        );
    }
}
