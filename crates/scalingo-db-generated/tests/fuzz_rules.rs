//! Fuzz target of the rule checker, which both the client (before sending) and the sandbox (on
//! every body it receives) run on what they are given: bodies shaped like each table's (its
//! paths, with values of any type, extra keys, objects where values are expected and the
//! reverse) never make it panic, and every violation names a field of the table and quotes its
//! rule. A test that runs random inputs for a second (`BOLERO_RANDOM_TEST_TIME_MS` sets longer);
//! `cargo bolero test fuzz_any_body_is_judged_field_by_field` runs it under libFuzzer (nightly).

use bolero::{TypeGenerator, check};
use scalingo_db_generated::rules::{FieldRule, check, tables};
use serde_json::{Map, Value};

/// A value at the end of a path: of any JSON type, nested a little.
#[derive(Clone, Debug, TypeGenerator)]
enum Leaf {
    Null,
    Bool(bool),
    Integer(i64),
    Number(f64),
    Text(String),
    Texts(Vec<String>),
    Integers(Vec<i64>),
    Object(Vec<(String, bool)>),
}

impl Leaf {
    fn json(&self) -> Value {
        match self {
            Leaf::Null => Value::Null,
            Leaf::Bool(value) => Value::Bool(*value),
            Leaf::Integer(value) => Value::from(*value),
            Leaf::Number(value) => {
                serde_json::Number::from_f64(*value).map_or(Value::Null, Value::Number)
            }
            Leaf::Text(text) => Value::String(text.clone()),
            Leaf::Texts(texts) => texts.iter().cloned().map(Value::String).collect(),
            Leaf::Integers(numbers) => numbers.iter().copied().map(Value::from).collect(),
            Leaf::Object(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(key, value)| (key.clone(), Value::Bool(*value)))
                    .collect(),
            ),
        }
    }
}

/// A body for one table: which table, then per field what to put at its path (or nothing), and
/// keys of no rule.
#[derive(Clone, Debug, TypeGenerator)]
struct Body {
    table: u8,
    values: Vec<Option<Leaf>>,
    extra: Vec<(String, Leaf)>,
    /// Replace the whole body by this value instead of an object.
    not_an_object: Option<Leaf>,
}

/// `body` with `value` at `path`, creating objects on the way (and replacing what is not one).
fn put(body: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = body;
    for key in parents {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        at = at
            .as_object_mut()
            .expect("an object")
            .entry(*key)
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !at.is_object() {
        *at = Value::Object(Map::new());
    }
    at.as_object_mut()
        .expect("an object")
        .insert((*last).to_owned(), value);
}

fn build(input: &Body, rules: &[FieldRule]) -> Value {
    if let Some(leaf) = &input.not_an_object {
        return leaf.json();
    }
    let mut body = Value::Object(Map::new());
    for (rule, value) in rules.iter().zip(&input.values) {
        if let Some(value) = value {
            put(&mut body, rule.path, value.json());
        }
    }
    for (key, value) in &input.extra {
        put(&mut body, &[key.as_str()], value.json());
    }
    body
}

#[test]
fn fuzz_any_body_is_judged_field_by_field() {
    assert!(!tables::ALL.is_empty());
    check!().with_type::<Body>().for_each(|input| {
        let (operation, rules) = tables::ALL[usize::from(input.table) % tables::ALL.len()];
        let body = build(input, rules);
        for violation in check(&body, rules) {
            let rule = rules
                .iter()
                .find(|rule| rule.field() == violation.field)
                .unwrap_or_else(|| panic!("{operation}: {violation} names no field of the table"));
            // The field's rule, or the one of `x-same-as`, which names the other field.
            let quoted = violation.rule == rule.rule
                || rule
                    .same_as
                    .is_some_and(|other| violation.rule == format!("the same as {other}"));
            assert!(quoted, "{operation}: {violation}");
            assert!(violation.to_string().starts_with(violation.field));
        }
    });
}
