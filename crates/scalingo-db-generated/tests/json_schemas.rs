//! The JSON Schema of every wire type agrees with the contract: for each component schema of
//! `openapi.yaml`, the Rust type that stands for it (`types::<Name>`, or what `cargo xtask codegen`
//! put in its place: a secret type, an open enum, `String`) has the same shape. This catches a
//! schema the generator translated wrongly (a lost `nullable`, a field made required, a wrong
//! integer width, a map turned into a struct, ...).
//!
//! Both sides are reduced to a normalised [`Shape`] before they are compared:
//!
//! - `$ref` is followed on both sides (`#/components/schemas/X` in the contract, `#/$defs/X` in
//!   schemars' output), `allOf` is merged, `oneOf` and `anyOf` are both "one of these" (typify makes
//!   untagged enums, which schemars writes as `anyOf`);
//! - `null` is a flag, however it is spelled: OpenAPI 3.0's `nullable: true`, a `"null"` in `type`,
//!   or a `{"type": "null"}` alternative (how schemars writes `Option<T>` of a referenced `T`);
//! - an optional property may be nullable in Rust (an `Option`) when the contract's is not: absent
//!   and null both read as `None`. A required one must be nullable exactly when the contract says;
//! - compared: types, formats, properties and which are required, array items, maps
//!   (`additionalProperties`), alternatives, `enum` and `x-extensible-enum` values;
//! - ignored on purpose: string length and pattern, and numeric bounds, which the rule tables of
//!   `scalingo_db_generated::rules` enforce in request bodies rather than the types (so that a
//!   check can be skipped on purpose; in responses the types accept what the service sends, e.g.
//!   any `i64` for a backup's `size`, whose contract says `minimum: 0`); `x-secret` and
//!   `x-same-as`, which the table and the rule tables stand for; and texts (`description`,
//!   `example`, `default`, `title`). Any other keyword fails the test, so that nothing is ignored
//!   silently.
//!
//! A failure names the schema, its Rust type and the path of the first difference, in the
//! contract's terms (`/properties/size`, `/items`, `/oneOf/1`, `/additionalProperties`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use scalingo_db_generated::{
    ArchiveUrl, BackupMethod, BackupStatus, DatabaseStatus, DatabaseTypeName, FeatureStatus,
    InstanceStatus, InstanceType, OperationStatus, OperationType, Password, PasswordEncryption,
    Token, types,
};
use serde_json::{Value, json};

/// The contract, read at compile time so that a change to it rebuilds this test.
const CONTRACT: &str = include_str!("../../../openapi.yaml");

/// How deep `$ref`s and nested schemas may go before the comparison gives up (a recursive schema
/// would otherwise never end).
const MAX_DEPTH: usize = 32;

/// A component schema's name, the Rust type that stands for it (as written in the table) and that
/// type's JSON Schema.
struct RustType {
    schema: &'static str,
    rust_type: String,
    json_schema: Value,
}

macro_rules! rust_types {
    ($($schema:literal => $ty:ty,)*) => {
        vec![$(RustType {
            schema: $schema,
            rust_type: stringify!($ty).replace(' ', ""),
            json_schema: schemars::schema_for!($ty).to_value(),
        },)*]
    };
}

/// The Rust type of every component schema of the contract. The rule (xtask's `replacements.rs`):
/// `x-secret: <Type>` is that secret type, `x-extensible-enum` the open enum of the schema's name,
/// a constrained string `String`, anything else `types::<Name>`.
fn rust_types() -> Vec<RustType> {
    rust_types! {
        "AddonTokenResponse" => types::AddonTokenResponse,
        "AddonWithToken" => types::AddonWithToken,
        "ArchiveUrl" => ArchiveUrl,
        "Backup" => types::Backup,
        "BackupArchive" => types::BackupArchive,
        "BackupEnvelope" => types::BackupEnvelope,
        "BackupMethod" => BackupMethod,
        "BackupStatus" => BackupStatus,
        "Backups" => types::Backups,
        "CreateUserRequest" => types::CreateUserRequest,
        "Database" => types::Database,
        "DatabaseFeature" => types::DatabaseFeature,
        "DatabaseInstance" => types::DatabaseInstance,
        "DatabaseResponse" => types::DatabaseResponse,
        "DatabaseStatus" => DatabaseStatus,
        "DatabaseTypeName" => DatabaseTypeName,
        "DatabaseUpdate" => types::DatabaseUpdate,
        "DatabaseUser" => types::DatabaseUser,
        "DatabaseUserEnvelope" => types::DatabaseUserEnvelope,
        "DatabaseUserList" => types::DatabaseUserList,
        "DbmsAttributes" => types::DbmsAttributes,
        "ErrorBody" => types::ErrorBody,
        "FeatureStatus" => FeatureStatus,
        "InstanceStatus" => InstanceStatus,
        "InstanceType" => InstanceType,
        "MaintenanceWindow" => types::MaintenanceWindow,
        "NewPassword" => Password,
        "NewUserName" => String,
        "Operation" => types::Operation,
        "OperationIdResponse" => types::OperationIdResponse,
        "OperationResponse" => types::OperationResponse,
        "OperationStatus" => OperationStatus,
        "OperationType" => OperationType,
        "Password" => Password,
        "PasswordConfirmation" => Password,
        "PasswordEncryption" => PasswordEncryption,
        "RecoveryWindow" => types::RecoveryWindow,
        "RecoveryWindowResponse" => types::RecoveryWindowResponse,
        "RestoreRequest" => types::RestoreRequest,
        "Token" => Token,
        "UpdateDatabaseRequest" => types::UpdateDatabaseRequest,
        "UpdateUserPasswordRequest" => types::UpdateUserPasswordRequest,
        "UserCreation" => types::UserCreation,
        "UserPasswordUpdate" => types::UserPasswordUpdate,
        "UserToken" => types::UserToken,
    }
}

fn contract() -> Value {
    serde_yaml::from_str(CONTRACT).expect("openapi.yaml is YAML")
}

fn component_schemas(contract: &Value) -> &serde_json::Map<String, Value> {
    contract
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .expect("openapi.yaml has components.schemas")
}

/// The Rust type the replacement rule gives a component schema, as the table writes it.
fn expected_rust_type(name: &str, schema: &Value) -> String {
    if let Some(secret) = schema.get("x-secret").and_then(Value::as_str) {
        return secret.to_owned();
    }
    if schema.get("x-extensible-enum").is_some() {
        return name.to_owned();
    }
    let constrained = ["pattern", "minLength", "maxLength"]
        .iter()
        .any(|keyword| schema.get(keyword).is_some());
    if schema.get("type") == Some(&json!("string")) && constrained {
        return "String".to_owned();
    }
    format!("types::{name}")
}

#[test]
fn every_component_schema_has_a_rust_type_in_the_table_and_no_more() {
    let contract = contract();
    let in_contract: BTreeSet<&str> = component_schemas(&contract)
        .keys()
        .map(String::as_str)
        .collect();
    let table = rust_types();
    let in_table: BTreeSet<&str> = table.iter().map(|rust| rust.schema).collect();
    assert_eq!(in_table.len(), table.len(), "a schema is listed twice");
    let missing: Vec<_> = in_contract.difference(&in_table).collect();
    let stale: Vec<_> = in_table.difference(&in_contract).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the table of Rust types in {} is out of date: the contract's component schemas {missing:?} \
         are not in it, and its {stale:?} are not in the contract",
        file!()
    );
}

#[test]
fn the_table_names_the_type_that_codegen_puts_in_place_of_each_schema() {
    let contract = contract();
    let schemas = component_schemas(&contract);
    let wrong: Vec<String> = rust_types()
        .iter()
        .filter_map(|rust| {
            let expected = expected_rust_type(rust.schema, schemas.get(rust.schema)?);
            (rust.rust_type != expected).then(|| {
                format!(
                    "{}: {} in the table, {expected} by the rule",
                    rust.schema, rust.rust_type
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_json_schema_of_every_wire_type_agrees_with_the_contract() {
    let contract = contract();
    let schemas = component_schemas(&contract);
    let mut differences = Vec::new();
    let mut compared = 0;
    for rust in rust_types() {
        let Some(schema) = schemas.get(rust.schema) else {
            continue; // Reported by the test of the table.
        };
        let result = Shape::of(schema, &contract).and_then(|expected| {
            let actual = Shape::of(&rust.json_schema, &rust.json_schema)?;
            compare(&expected, &actual, "", false)
        });
        compared += 1;
        if let Err(difference) = result {
            differences.push(format!(
                "{} (Rust: {}): {difference}",
                rust.schema, rust.rust_type
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {compared} component schemas differ from their Rust type's JSON Schema:\n{}",
        differences.len(),
        differences.join("\n")
    );
    assert_eq!(compared, schemas.len());
}

/// What a value may be, as far as this comparison cares.
#[derive(Clone, Debug, PartialEq)]
struct Shape {
    nullable: bool,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    /// No constraint (an empty schema, or only texts).
    Any,
    /// Only null (`{"type": "null"}`), before it is folded into `nullable`.
    Null,
    /// `string`, `integer`, `number` or `boolean`.
    Scalar {
        ty: String,
        format: Option<String>,
        /// `enum`: the only values (a closed set).
        values: Option<Vec<Value>>,
        /// `x-extensible-enum`: the known values of an open set.
        known: Option<Vec<Value>>,
    },
    Array(Box<Shape>),
    Object {
        properties: BTreeMap<String, Shape>,
        required: BTreeSet<String>,
        /// `additionalProperties`: `None` when absent or `true` (unknown fields are allowed, as
        /// the contract says everywhere), else the schema of the map's values (`false`: never).
        additional: Option<Box<Shape>>,
    },
    /// `oneOf` or `anyOf`.
    OneOf(Vec<Shape>),
    /// `false`, or `not: {}`: nothing is valid.
    Never,
}

/// Keywords that say nothing about the shape, or that the rule tables enforce instead of the
/// types (lengths, patterns, bounds).
const IGNORED: &[&str] = &[
    "$schema",
    "$defs",
    "$comment",
    "title",
    "description",
    "example",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "externalDocs",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "x-secret",
    "x-same-as",
];

/// Keywords the normalisation reads.
const READ: &[&str] = &[
    "$ref",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "type",
    "nullable",
    "format",
    "enum",
    "x-extensible-enum",
    "properties",
    "required",
    "items",
    "additionalProperties",
];

impl Shape {
    fn any() -> Shape {
        Shape {
            nullable: false,
            kind: Kind::Any,
        }
    }

    /// `schema`'s shape; `root` is the document its `$ref`s point into (`#/...`).
    fn of(schema: &Value, root: &Value) -> Result<Shape, String> {
        // Paths are built as `/properties/x`...: the schema itself is the empty path, shown `/`.
        normalise(schema, root, "", 0).map_err(|error| match error.strip_prefix("at : ") {
            Some(rest) => format!("at /: {rest}"),
            None => error,
        })
    }
}

fn normalise(schema: &Value, root: &Value, path: &str, depth: usize) -> Result<Shape, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "at {path}: nested deeper than {MAX_DEPTH} (a recursive schema?)"
        ));
    }
    let object = match schema {
        Value::Bool(true) => return Ok(Shape::any()),
        Value::Bool(false) => {
            return Ok(Shape {
                nullable: false,
                kind: Kind::Never,
            });
        }
        Value::Object(object) => object,
        other => return Err(format!("at {path}: {other} is not a schema")),
    };
    if let Some(unknown) = object
        .keys()
        .find(|keyword| !IGNORED.contains(&keyword.as_str()) && !READ.contains(&keyword.as_str()))
    {
        return Err(format!(
            "at {path}: keyword `{unknown}` is not understood by this comparison: teach it"
        ));
    }
    let sub = |value: &Value, at: &str| normalise(value, root, &format!("{path}{at}"), depth + 1);

    let mut shape = own_shape(object, path, &sub)?;

    // `$ref` (with its siblings, as JSON Schema 2020-12 reads them) and `allOf`: every part holds.
    if let Some(reference) = object.get("$ref") {
        let pointer = reference
            .as_str()
            .and_then(|reference| reference.strip_prefix('#'))
            .ok_or_else(|| format!("at {path}: only local $refs are followed, not {reference}"))?;
        let target = root
            .pointer(pointer)
            .ok_or_else(|| format!("at {path}: $ref {reference} points nowhere"))?;
        shape = merge(shape, sub(target, "")?, path)?;
    }
    for (index, part) in array(object, "allOf", path)?.iter().enumerate() {
        shape = merge(shape, sub(part, &format!("/allOf/{index}"))?, path)?;
    }

    // `oneOf` and `anyOf` alike; a null alternative is the `nullable` flag.
    for keyword in ["oneOf", "anyOf"] {
        let alternatives = array(object, keyword, path)?;
        if alternatives.is_empty() {
            continue;
        }
        let mut nullable = false;
        let mut kept = Vec::new();
        for (index, alternative) in alternatives.iter().enumerate() {
            let alternative = sub(alternative, &format!("/{keyword}/{index}"))?;
            match alternative.kind {
                Kind::Null => nullable = true,
                _ => kept.push(alternative),
            }
        }
        let one_of = match kept.len() {
            0 => Shape {
                nullable: false,
                kind: Kind::Null,
            },
            1 => kept.remove(0),
            _ => Shape {
                nullable: false,
                kind: Kind::OneOf(kept),
            },
        };
        shape = merge(shape, one_of, path)?;
        shape.nullable |= nullable;
    }

    if object.get("not").is_some_and(|not| not == &json!({})) {
        shape = merge(
            shape,
            Shape {
                nullable: false,
                kind: Kind::Never,
            },
            path,
        )?;
    } else if let Some(not) = object.get("not") {
        return Err(format!(
            "at {path}: `not: {not}` is not understood by this comparison"
        ));
    }

    // OpenAPI 3.0's `nullable`, also beside `allOf` or `$ref` (the usual way to make one nullable).
    if object.get("nullable") == Some(&Value::Bool(true)) {
        shape.nullable = true;
    }
    if shape.kind == Kind::Null {
        return Ok(Shape {
            nullable: true,
            kind: Kind::Null,
        });
    }
    Ok(shape)
}

/// The shape the schema's own keywords give (`type`, `format`, `properties`, ...), before `$ref`,
/// `allOf` and alternatives.
fn own_shape(
    object: &serde_json::Map<String, Value>,
    path: &str,
    sub: &dyn Fn(&Value, &str) -> Result<Shape, String>,
) -> Result<Shape, String> {
    let mut nullable = false;
    let ty = match object.get("type") {
        None => None,
        Some(Value::String(ty)) => Some(ty.clone()),
        Some(Value::Array(types)) => {
            let mut others = Vec::new();
            for ty in types {
                match ty.as_str() {
                    Some("null") => nullable = true,
                    Some(ty) => others.push(ty.to_owned()),
                    None => return Err(format!("at {path}: type {ty} is not a string")),
                }
            }
            match others.len() {
                0 => Some("null".to_owned()),
                1 => others.pop(),
                _ => {
                    return Err(format!(
                        "at {path}: several types {others:?} are not supported"
                    ));
                }
            }
        }
        Some(other) => return Err(format!("at {path}: type {other} is not a string")),
    };
    let object_keywords = ["properties", "required", "additionalProperties"]
        .iter()
        .any(|keyword| object.contains_key(*keyword));
    let ty = match ty {
        None if object_keywords => Some("object".to_owned()),
        None if object.contains_key("items") => Some("array".to_owned()),
        None if object.contains_key("format") || object.contains_key("x-extensible-enum") => {
            return Err(format!("at {path}: a format or values without a type"));
        }
        ty => ty,
    };
    let mut values = object.get("enum").map(|values| values.as_array().cloned());
    if let Some(Some(list)) = &mut values
        && list.contains(&Value::Null)
    {
        nullable = true;
        list.retain(|value| !value.is_null());
    }
    let values = match values {
        None => None,
        Some(Some(list)) => Some(list),
        Some(None) => return Err(format!("at {path}: enum is not an array")),
    };
    let kind = match ty.as_deref() {
        None if values.is_some() => return Err(format!("at {path}: enum without a type")),
        None => Kind::Any,
        Some("null") => Kind::Null,
        Some(ty @ ("string" | "integer" | "number" | "boolean")) => Kind::Scalar {
            ty: ty.to_owned(),
            format: match object.get("format") {
                None => None,
                Some(Value::String(format)) => Some(format.clone()),
                Some(other) => return Err(format!("at {path}: format {other} is not a string")),
            },
            values,
            known: match object.get("x-extensible-enum") {
                None => None,
                Some(Value::Array(known)) => Some(known.clone()),
                Some(other) => {
                    return Err(format!(
                        "at {path}: x-extensible-enum {other} is not an array"
                    ));
                }
            },
        },
        Some("array") => Kind::Array(Box::new(match object.get("items") {
            Some(items) => sub(items, "/items")?,
            None => Shape::any(),
        })),
        Some("object") => {
            let mut properties = BTreeMap::new();
            if let Some(listed) = object.get("properties") {
                let listed = listed
                    .as_object()
                    .ok_or_else(|| format!("at {path}: properties is not an object"))?;
                for (name, property) in listed {
                    properties.insert(name.clone(), sub(property, &format!("/properties/{name}"))?);
                }
            }
            let required = array(object, "required", path)?
                .iter()
                .map(|name| {
                    name.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("at {path}: required {name} is not a name"))
                })
                .collect::<Result<_, _>>()?;
            let additional = match object.get("additionalProperties") {
                None | Some(Value::Bool(true)) => None,
                Some(values) => Some(Box::new(sub(values, "/additionalProperties")?)),
            };
            Kind::Object {
                properties,
                required,
                additional,
            }
        }
        Some(other) => return Err(format!("at {path}: type {other} is not supported")),
    };
    if !matches!(kind, Kind::Scalar { .. }) {
        for keyword in ["format", "enum", "x-extensible-enum"] {
            if object.contains_key(keyword) {
                return Err(format!("at {path}: {keyword} on a {ty:?}"));
            }
        }
    }
    Ok(Shape { nullable, kind })
}

/// `object[keyword]` as an array (empty when absent).
fn array<'a>(
    object: &'a serde_json::Map<String, Value>,
    keyword: &str,
    path: &str,
) -> Result<&'a [Value], String> {
    match object.get(keyword) {
        None => Ok(&[]),
        Some(Value::Array(values)) => Ok(values),
        Some(other) => Err(format!("at {path}: {keyword} {other} is not an array")),
    }
}

/// A value that matches both `a` and `b` (`allOf`, or a `$ref` and its siblings).
fn merge(a: Shape, b: Shape, path: &str) -> Result<Shape, String> {
    let (a, b) = match (&a.kind, &b.kind) {
        (Kind::Any, _) => {
            return Ok(Shape {
                nullable: a.nullable || b.nullable,
                kind: b.kind,
            });
        }
        (_, Kind::Any) => {
            return Ok(Shape {
                nullable: a.nullable || b.nullable,
                kind: a.kind,
            });
        }
        _ => (a, b),
    };
    let nullable = a.nullable && b.nullable;
    let kind = match (a.kind, b.kind) {
        (
            Kind::Scalar {
                ty,
                format,
                values,
                known,
            },
            Kind::Scalar {
                ty: other_ty,
                format: other_format,
                values: other_values,
                known: other_known,
            },
        ) if ty == other_ty => Kind::Scalar {
            ty,
            format: either(format, other_format, "format", path)?,
            values: either(values, other_values, "enum", path)?,
            known: either(known, other_known, "x-extensible-enum", path)?,
        },
        (
            Kind::Object {
                mut properties,
                mut required,
                additional,
            },
            Kind::Object {
                properties: other_properties,
                required: other_required,
                additional: other_additional,
            },
        ) => {
            for (name, property) in other_properties {
                let merged = match properties.remove(&name) {
                    Some(mine) => merge(mine, property, &format!("{path}/properties/{name}"))?,
                    None => property,
                };
                properties.insert(name, merged);
            }
            required.extend(other_required);
            Kind::Object {
                properties,
                required,
                additional: either(additional, other_additional, "additionalProperties", path)?,
            }
        }
        (Kind::Array(items), Kind::Array(other_items)) => Kind::Array(Box::new(merge(
            *items,
            *other_items,
            &format!("{path}/items"),
        )?)),
        (a, b) => return Err(format!("at {path}: cannot merge {a:?} with {b:?} (allOf)")),
    };
    Ok(Shape { nullable, kind })
}

fn either<T: PartialEq + fmt::Debug>(
    a: Option<T>,
    b: Option<T>,
    what: &str,
    path: &str,
) -> Result<Option<T>, String> {
    match (a, b) {
        (Some(a), Some(b)) if a != b => Err(format!("at {path}: two {what}s, {a:?} and {b:?}")),
        (a, b) => Ok(a.or(b)),
    }
}

/// The first difference between the contract's shape (`expected`) and the Rust type's (`actual`),
/// with its path. `optional`: the value is an optional property, which the Rust type may make
/// nullable.
fn compare(expected: &Shape, actual: &Shape, path: &str, optional: bool) -> Result<(), String> {
    let at = if path.is_empty() { "/" } else { path };
    // An optional property may be an `Option` (null reads as absent) where the contract's is not
    // nullable: from here on that Rust side is compared as not nullable.
    let tolerated;
    let actual = if optional && actual.nullable && !expected.nullable {
        tolerated = Shape {
            nullable: false,
            kind: actual.kind.clone(),
        };
        &tolerated
    } else {
        actual
    };
    if expected.nullable != actual.nullable {
        return Err(format!(
            "at {at}: the contract says {}, the Rust type {}",
            summary(expected),
            summary(actual)
        ));
    }
    let differs = || {
        Err(format!(
            "at {at}: the contract says {}, the Rust type {}",
            summary(expected),
            summary(actual)
        ))
    };
    match (&expected.kind, &actual.kind) {
        (Kind::Array(expected), Kind::Array(actual)) => {
            compare(expected, actual, &format!("{path}/items"), false)
        }
        (
            Kind::Object {
                properties,
                required,
                additional,
            },
            Kind::Object {
                properties: actual_properties,
                required: actual_required,
                additional: actual_additional,
            },
        ) => {
            let names: BTreeSet<&String> =
                properties.keys().chain(actual_properties.keys()).collect();
            for name in names {
                let property_path = format!("{path}/properties/{name}");
                match (properties.get(name), actual_properties.get(name)) {
                    (Some(expected), Some(actual)) => {
                        if required.contains(name) != actual_required.contains(name) {
                            return Err(format!(
                                "at {property_path}: required in the {}, optional in the {}",
                                if required.contains(name) {
                                    "contract"
                                } else {
                                    "Rust type"
                                },
                                if required.contains(name) {
                                    "Rust type"
                                } else {
                                    "contract"
                                },
                            ));
                        }
                        compare(expected, actual, &property_path, !required.contains(name))?;
                    }
                    (Some(_), None) => {
                        return Err(format!("at {property_path}: missing from the Rust type"));
                    }
                    (None, _) => {
                        return Err(format!("at {property_path}: not in the contract"));
                    }
                }
            }
            // A required name without a property.
            if let Some(name) = required.symmetric_difference(actual_required).next() {
                return Err(format!(
                    "at {path}/required: {name} is required on one side only"
                ));
            }
            match (additional, actual_additional) {
                (None, None) => Ok(()),
                (Some(expected), Some(actual)) => compare(
                    expected,
                    actual,
                    &format!("{path}/additionalProperties"),
                    false,
                ),
                (None, Some(actual)) => Err(format!(
                    "at {path}/additionalProperties: the contract allows any field, the Rust type \
                     only {}",
                    summary(actual)
                )),
                (Some(expected), None) => Err(format!(
                    "at {path}/additionalProperties: the contract says {}, the Rust type allows \
                     anything",
                    summary(expected)
                )),
            }
        }
        (Kind::OneOf(expected), Kind::OneOf(actual)) => {
            if expected.len() != actual.len() {
                return differs();
            }
            for (index, (expected, actual)) in expected.iter().zip(actual).enumerate() {
                compare(expected, actual, &format!("{path}/oneOf/{index}"), false)?;
            }
            Ok(())
        }
        (expected, actual) if expected == actual => Ok(()),
        _ => differs(),
    }
}

/// A shape in a few words, for failure messages.
fn summary(shape: &Shape) -> String {
    let kind = match &shape.kind {
        Kind::Any => "anything".to_owned(),
        Kind::Null => "null".to_owned(),
        Kind::Never => "nothing".to_owned(),
        Kind::Scalar {
            ty,
            format,
            values,
            known,
        } => {
            let mut text = ty.clone();
            if let Some(format) = format {
                text.push_str(&format!(" ({format})"));
            }
            if let Some(values) = values {
                text.push_str(&format!(" one of {}", Value::from(values.clone())));
            }
            if let Some(known) = known {
                text.push_str(&format!(
                    " with known values {}",
                    Value::from(known.clone())
                ));
            }
            text
        }
        Kind::Array(_) => "an array".to_owned(),
        Kind::Object { additional, .. } => match additional {
            None => "an object".to_owned(),
            Some(_) => "a map".to_owned(),
        },
        Kind::OneOf(alternatives) => format!("one of {} alternatives", alternatives.len()),
    };
    if shape.nullable {
        format!("{kind} or null")
    } else {
        kind
    }
}

/// The comparison itself can fail: on two small hand-written schemas, it names the path of the
/// first difference.
#[test]
fn the_comparison_reports_the_first_difference_with_its_path() {
    let contract = json!({
        "components": {"schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "size"],
                "properties": {
                    "id": {"type": "string"},
                    "size": {"type": "integer", "format": "int64", "nullable": true},
                    "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
                },
            },
            "Tag": {"type": "string", "x-extensible-enum": ["a", "b"]},
        }},
    });
    let expected = Shape::of(&contract["components"]["schemas"]["Thing"], &contract)
        .expect("a schema this comparison reads");
    let check = |rust: Value| {
        let actual = Shape::of(&rust, &rust).expect("a schema this comparison reads");
        compare(&expected, &actual, "", false)
    };
    let agreeing = json!({
        "type": "object",
        "required": ["id", "size"],
        "properties": {
            "id": {"type": "string"},
            "size": {"type": ["integer", "null"], "format": "int64"},
            "tags": {"anyOf": [
                {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
                {"type": "null"},
            ]},
        },
        "$defs": {"Tag": {"type": "string", "x-extensible-enum": ["a", "b"]}},
    });
    assert_eq!(check(agreeing.clone()), Ok(()));

    let mut missing_required = agreeing.clone();
    missing_required["required"] = json!(["id"]);
    assert_eq!(
        check(missing_required),
        Err("at /properties/size: required in the contract, optional in the Rust type".to_owned())
    );

    let mut wrong_type = agreeing.clone();
    wrong_type["properties"]["id"] = json!({"type": "integer", "format": "int64"});
    assert_eq!(
        check(wrong_type),
        Err(
            "at /properties/id: the contract says string, the Rust type integer (int64)".to_owned()
        )
    );

    let mut not_nullable = agreeing.clone();
    not_nullable["properties"]["size"]["type"] = json!("integer");
    assert_eq!(
        check(not_nullable),
        Err(
            "at /properties/size: the contract says integer (int64) or null, the Rust type \
             integer (int64)"
                .to_owned()
        )
    );

    let mut wrong_known_values = agreeing.clone();
    wrong_known_values["$defs"]["Tag"]["x-extensible-enum"] = json!(["a"]);
    assert_eq!(
        check(wrong_known_values),
        Err(
            "at /properties/tags/items: the contract says string with known values \
             [\"a\",\"b\"], the Rust type string with known values [\"a\"]"
                .to_owned()
        )
    );

    let mut missing_property = agreeing;
    missing_property["properties"]
        .as_object_mut()
        .expect("properties")
        .remove("tags");
    assert_eq!(
        check(missing_property),
        Err("at /properties/tags: missing from the Rust type".to_owned())
    );
}

#[test]
fn keywords_the_comparison_does_not_understand_fail_it_instead_of_being_ignored() {
    let schema = json!({"type": "object", "patternProperties": {"^x-": {}}});
    assert_eq!(
        Shape::of(&schema, &schema),
        Err(
            "at /: keyword `patternProperties` is not understood by this comparison: teach it"
                .to_owned()
        )
    );
}
