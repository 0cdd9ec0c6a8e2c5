//! Generates `generated_rules.rs`: for every JSON request body of the contract, the rules of its
//! constrained fields (string lengths, patterns, formats and allowed values; integer ranges and
//! allowed values; array sizes, uniqueness and item rules; "same as another field"), and of its
//! optional fields that may not be null, as data.
//!
//! progenitor would turn a constrained string into a newtype that cannot even be built when it
//! breaks its rule. We want the rules checked before a request leaves, with messages naming the
//! field and the rule, but also the ability to skip the check on purpose (the service, not the
//! documentation, is the final judge of a user name). So the rules travel as tables that the
//! client's validator and the sandbox read, and the contract stays their only source.
//!
//! A keyword of a request body that the tables cannot express (`multipleOf`, `oneOf`, a format
//! the checker does not know, ...) stops the generation: a rule is enforced or refused, never
//! dropped without a word.

use anyhow::{Context as _, bail, ensure};
use openapiv3::{
    ArrayType, IntegerType, ObjectType, OpenAPI, Schema, SchemaKind, StringFormat, StringType,
    Type, VariantOrUnknownOrEmpty,
};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::contract::{Contract, resolve_schema};

/// The extension naming the field a property must equal (`password_confirmation` → `password`).
const SAME_AS: &str = "x-same-as";
/// The extension listing an open set's known values: documentation, not a rule.
const OPEN_SET: &str = "x-extensible-enum";

/// The string formats the checker verifies, and `password`, which only marks a secret.
const FORMATS: &[&str] = &["date-time", "date", "password"];

/// One constrained field, as found in the contract.
struct Field {
    path: Vec<String>,
    required: bool,
    nullable: bool,
    check: Check,
    same_as: Option<String>,
    rule: String,
}

/// What a value must be; mirrors `scalingo_db_generated::rules::Check`.
#[derive(Clone, Debug, Default, PartialEq)]
enum Check {
    /// Only presence or `x-same-as` is checked.
    #[default]
    Any,
    String {
        min_length: Option<usize>,
        max_length: Option<usize>,
        pattern: Option<String>,
        format: Option<String>,
        allowed: Vec<String>,
    },
    Integer {
        minimum: Option<i64>,
        maximum: Option<i64>,
        allowed: Vec<i64>,
    },
    Boolean,
    Array {
        min_items: Option<usize>,
        max_items: Option<usize>,
        unique: bool,
        items: Box<Check>,
    },
}

impl Check {
    /// The type it checks, in words.
    fn kind(&self) -> &'static str {
        match self {
            Check::Any => "any value",
            Check::String { .. } => "a string",
            Check::Integer { .. } => "an integer",
            Check::Boolean => "a boolean",
            Check::Array { .. } => "an array",
        }
    }

    /// Whether it checks anything beyond the value's type.
    fn constrains(&self) -> bool {
        match self {
            Check::Any | Check::Boolean => false,
            Check::String {
                min_length,
                max_length,
                pattern,
                format,
                allowed,
            } => {
                min_length.is_some()
                    || max_length.is_some()
                    || pattern.is_some()
                    || format.as_deref().is_some_and(|format| format != "password")
                    || !allowed.is_empty()
            }
            Check::Integer {
                minimum,
                maximum,
                allowed,
            } => minimum.is_some() || maximum.is_some() || !allowed.is_empty(),
            Check::Array {
                min_items,
                max_items,
                unique,
                items,
            } => min_items.is_some() || max_items.is_some() || *unique || items.constrains(),
        }
    }
}

/// Builds the token stream of the rule tables.
pub fn generate(contract: &Contract) -> anyhow::Result<TokenStream> {
    let mut tables = Vec::new();
    let mut all = Vec::new();
    for operation in &contract.operations {
        let Some(body) = &operation.request_body else {
            continue;
        };
        let id = &operation.id;
        let name = Ident::new(&id.to_uppercase(), Span::call_site());
        all.push(quote!((#id, #name)));
        let mut fields = Vec::new();
        collect_object(
            &contract.spec,
            contract.schema(body)?,
            &mut Vec::new(),
            true,
            &mut fields,
        )
        .with_context(|| format!("the `{}` request body", operation.id))?;
        tables.push(table(&operation.id, &fields));
    }
    Ok(quote! {
        //! Rules of the JSON request bodies, one table per operation, read from openapi.yaml.
        // Each table uses the kinds of rules its fields need.
        #[allow(unused_imports)]
        use crate::rules::{ArrayRule, Check, FieldRule, IntegerRule, StringRule};
        #(#tables)*
        /// Every table, by the operation whose body it checks.
        pub const ALL: &[(&str, &[FieldRule])] = &[#(#all),*];
    })
}

fn table(operation_id: &str, fields: &[Field]) -> TokenStream {
    let name = Ident::new(&operation_id.to_uppercase(), Span::call_site());
    let doc = format!(" The rules of the `{operation_id}` request body.");
    let entries = fields.iter().map(|field| {
        let path = &field.path;
        let required = field.required;
        let nullable = field.nullable;
        let check = check_tokens(&field.check);
        let same_as = option(field.same_as.as_ref().map(|s| quote!(#s)));
        let rule = &field.rule;
        quote! {
            FieldRule {
                path: &[#(#path),*],
                required: #required,
                nullable: #nullable,
                check: #check,
                same_as: #same_as,
                rule: #rule,
            }
        }
    });
    quote! {
        #[doc = #doc]
        pub const #name: &[FieldRule] = &[#(#entries),*];
    }
}

fn check_tokens(check: &Check) -> TokenStream {
    match check {
        Check::Any => quote!(Check::Any),
        Check::Boolean => quote!(Check::Boolean),
        Check::String {
            min_length,
            max_length,
            pattern,
            format,
            allowed,
        } => {
            let min_length = option(min_length.map(|n| quote!(#n)));
            let max_length = option(max_length.map(|n| quote!(#n)));
            let pattern = option(pattern.as_ref().map(|p| quote!(#p)));
            let format = option(format.as_ref().map(|f| quote!(#f)));
            quote!(Check::String(StringRule {
                min_length: #min_length,
                max_length: #max_length,
                pattern: #pattern,
                format: #format,
                allowed: &[#(#allowed),*],
            }))
        }
        Check::Integer {
            minimum,
            maximum,
            allowed,
        } => {
            let minimum = option(minimum.map(|n| quote!(#n)));
            let maximum = option(maximum.map(|n| quote!(#n)));
            quote!(Check::Integer(IntegerRule {
                minimum: #minimum,
                maximum: #maximum,
                allowed: &[#(#allowed),*],
            }))
        }
        Check::Array {
            min_items,
            max_items,
            unique,
            items,
        } => {
            let min_items = option(min_items.map(|n| quote!(#n)));
            let max_items = option(max_items.map(|n| quote!(#n)));
            let items = check_tokens(items);
            quote!(Check::Array(ArrayRule {
                min_items: #min_items,
                max_items: #max_items,
                unique: #unique,
                items: &#items,
            }))
        }
    }
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(value) => quote!(Some(#value)),
        None => quote!(None),
    }
}

fn collect_object(
    spec: &OpenAPI,
    schema: &Schema,
    path: &mut Vec<String>,
    required: bool,
    out: &mut Vec<Field>,
) -> anyhow::Result<()> {
    let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
        bail!("a request body is a JSON object");
    };
    check_object_keywords(object, path)?;
    for (name, property) in &object.properties {
        let property_required = required && object.required.contains(name);
        path.push(name.clone());
        let resolved = resolve_schema(spec, property)?;
        if matches!(resolved.schema_kind, SchemaKind::Type(Type::Object(_))) {
            collect_object(spec, resolved, path, property_required, out)?;
        } else {
            let mut found = Found::default();
            found
                .absorb(spec, resolved)
                .with_context(|| format!("field `{}`", path.join(".")))?;
            let never_null = !property_required && !found.nullable && found.check != Check::Any;
            if found.check.constrains() || found.same_as.is_some() {
                let rule = found.rule.with_context(|| {
                    format!(
                        "field `{}`: a constrained schema needs a description, quoted as its rule",
                        path.join(".")
                    )
                })?;
                out.push(Field {
                    path: path.clone(),
                    required: property_required,
                    nullable: found.nullable,
                    check: found.check,
                    same_as: found.same_as,
                    rule,
                });
            } else if never_null {
                // Its type is its only rule, which reading the body checks, but for null: an
                // optional field reads as an `Option`, where null passes for absent.
                out.push(Field {
                    path: path.clone(),
                    required: false,
                    nullable: false,
                    rule: format!("{}, or left out; never null", found.check.kind()),
                    check: Check::Any,
                    same_as: None,
                });
            }
        }
        path.pop();
    }
    Ok(())
}

fn check_object_keywords(object: &ObjectType, path: &[String]) -> anyhow::Result<()> {
    let at = || {
        if path.is_empty() {
            "the body".to_owned()
        } else {
            format!("`{}`", path.join("."))
        }
    };
    ensure!(
        object.min_properties.is_none() && object.max_properties.is_none(),
        "{}: minProperties and maxProperties cannot be checked from the rule tables",
        at()
    );
    ensure!(
        matches!(
            object.additional_properties,
            None | Some(openapiv3::AdditionalProperties::Any(true))
        ),
        "{}: additionalProperties cannot be checked from the rule tables",
        at()
    );
    Ok(())
}

/// The rules of one field, gathered through `$ref` and `allOf`.
#[derive(Default)]
struct Found {
    check: Check,
    nullable: bool,
    same_as: Option<String>,
    /// The description of the first schema that constrains the value.
    rule: Option<String>,
    /// The description of the schema that says `x-same-as`: the rule of a field that has no
    /// other.
    same_as_rule: Option<String>,
}

impl Found {
    /// Everything `schema` says of the field, then the rule to quote.
    fn absorb(&mut self, spec: &OpenAPI, schema: &Schema) -> anyhow::Result<()> {
        self.gather(spec, schema)?;
        if self.rule.is_none() {
            self.rule = self.same_as_rule.clone();
        }
        Ok(())
    }

    fn gather(&mut self, spec: &OpenAPI, schema: &Schema) -> anyhow::Result<()> {
        let data = &schema.schema_data;
        self.nullable |= data.nullable;
        ensure!(
            data.discriminator.is_none(),
            "a discriminator cannot be checked from the rule tables"
        );
        if let Some(other) = data.extensions.get(SAME_AS) {
            let other = other
                .as_str()
                .with_context(|| format!("{SAME_AS} is not a string"))?;
            self.same_as.get_or_insert_with(|| other.to_owned());
            if self.same_as_rule.is_none() {
                self.same_as_rule = data.description.clone();
            }
        }
        let constrained_before = self.check.constrains();
        match &schema.schema_kind {
            SchemaKind::Type(Type::String(string)) => self.string(string, data)?,
            SchemaKind::Type(Type::Integer(integer)) => self.integer(integer)?,
            SchemaKind::Type(Type::Boolean(boolean)) => {
                ensure!(
                    boolean.enumeration.is_empty(),
                    "an enum of booleans cannot be checked from the rule tables"
                );
                self.merge(Check::Boolean)?;
            }
            SchemaKind::Type(Type::Array(array)) => self.array(spec, array, data)?,
            SchemaKind::Type(Type::Number(number)) => {
                ensure!(
                    number.minimum.is_none()
                        && number.maximum.is_none()
                        && number.multiple_of.is_none()
                        && number.enumeration.is_empty(),
                    "constraints on numbers cannot be checked from the rule tables yet"
                );
            }
            SchemaKind::Type(Type::Object(_)) => {
                bail!("an object inside a field's allOf cannot be checked from the rule tables")
            }
            SchemaKind::AllOf { all_of } => {
                for part in all_of {
                    self.gather(spec, resolve_schema(spec, part)?)?;
                }
            }
            SchemaKind::OneOf { .. } => bail!("oneOf cannot be checked from the rule tables"),
            SchemaKind::AnyOf { .. } => bail!("anyOf cannot be checked from the rule tables"),
            SchemaKind::Not { .. } => bail!("not cannot be checked from the rule tables"),
            SchemaKind::Any(any) => ensure!(
                *any == openapiv3::AnySchema::default(),
                "a schema without a type cannot be checked from the rule tables"
            ),
        }
        if self.rule.is_none() && !constrained_before && self.check.constrains() {
            self.rule = data.description.clone();
        }
        Ok(())
    }

    fn string(&mut self, string: &StringType, data: &openapiv3::SchemaData) -> anyhow::Result<()> {
        let format = match &string.format {
            VariantOrUnknownOrEmpty::Empty => None,
            VariantOrUnknownOrEmpty::Item(StringFormat::DateTime) => Some("date-time".to_owned()),
            VariantOrUnknownOrEmpty::Item(StringFormat::Date) => Some("date".to_owned()),
            VariantOrUnknownOrEmpty::Item(StringFormat::Password) => Some("password".to_owned()),
            VariantOrUnknownOrEmpty::Item(other) => {
                bail!("format {other:?} cannot be checked from the rule tables")
            }
            VariantOrUnknownOrEmpty::Unknown(other) => {
                ensure!(
                    FORMATS.contains(&other.as_str()),
                    "format `{other}` cannot be checked from the rule tables"
                );
                Some(other.clone())
            }
        };
        if let Some(pattern) = &string.pattern {
            // The same engine as the checker: a pattern it cannot compile would reject every
            // value at run time, so it stops the generation instead.
            regress::Regex::new(pattern)
                .map_err(|error| anyhow::anyhow!("the pattern does not compile: {error}"))?;
        }
        // An open set lists values for readers; it allows others.
        let allowed = if data.extensions.contains_key(OPEN_SET) {
            Vec::new()
        } else {
            string
                .enumeration
                .iter()
                .map(|value| value.clone().context("a null in an enum cannot be checked"))
                .collect::<anyhow::Result<Vec<_>>>()?
        };
        self.merge(Check::String {
            min_length: string.min_length,
            max_length: string.max_length,
            pattern: string.pattern.clone(),
            format,
            allowed,
        })
    }

    fn integer(&mut self, integer: &IntegerType) -> anyhow::Result<()> {
        ensure!(
            integer.multiple_of.is_none(),
            "multipleOf cannot be checked from the rule tables"
        );
        let minimum = integer.minimum.map(|min| {
            if integer.exclusive_minimum {
                min + 1
            } else {
                min
            }
        });
        let maximum = integer.maximum.map(|max| {
            if integer.exclusive_maximum {
                max - 1
            } else {
                max
            }
        });
        let allowed = integer
            .enumeration
            .iter()
            .map(|value| value.context("a null in an enum cannot be checked"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.merge(Check::Integer {
            minimum,
            maximum,
            allowed,
        })
    }

    fn array(
        &mut self,
        spec: &OpenAPI,
        array: &ArrayType,
        data: &openapiv3::SchemaData,
    ) -> anyhow::Result<()> {
        let items = array
            .items
            .as_ref()
            .context("an array must say what its items are")?;
        let items = resolve_schema(spec, items)?;
        let mut item = Found::default();
        if let SchemaKind::Type(Type::Object(object)) = &items.schema_kind {
            check_object_keywords(object, &[])?;
            let mut nested = Vec::new();
            collect_object(spec, items, &mut Vec::new(), false, &mut nested)?;
            ensure!(
                nested.is_empty(),
                "rules inside the objects of an array cannot be checked from the rule tables"
            );
        } else {
            item.absorb(spec, items)?;
            ensure!(
                item.same_as.is_none(),
                "{SAME_AS} inside an array cannot be checked"
            );
        }
        // The array's own description states the rule; its items' is the fallback.
        if self.rule.is_none() && item.check.constrains() {
            self.rule = data.description.clone().or(item.rule);
        }
        self.merge(Check::Array {
            min_items: array.min_items,
            max_items: array.max_items,
            unique: array.unique_items,
            items: Box::new(item.check),
        })
    }

    /// Adds what another schema of the same field says; the outer schema's value wins where both
    /// say something.
    fn merge(&mut self, check: Check) -> anyhow::Result<()> {
        self.check = match (std::mem::take(&mut self.check), check) {
            (Check::Any, check) => check,
            (
                Check::String {
                    min_length,
                    max_length,
                    pattern,
                    format,
                    allowed,
                },
                Check::String {
                    min_length: min_length2,
                    max_length: max_length2,
                    pattern: pattern2,
                    format: format2,
                    allowed: allowed2,
                },
            ) => Check::String {
                min_length: min_length.or(min_length2),
                max_length: max_length.or(max_length2),
                pattern: pattern.or(pattern2),
                format: format.or(format2),
                allowed: if allowed.is_empty() {
                    allowed2
                } else {
                    allowed
                },
            },
            (
                Check::Integer {
                    minimum,
                    maximum,
                    allowed,
                },
                Check::Integer {
                    minimum: minimum2,
                    maximum: maximum2,
                    allowed: allowed2,
                },
            ) => Check::Integer {
                minimum: minimum.or(minimum2),
                maximum: maximum.or(maximum2),
                allowed: if allowed.is_empty() {
                    allowed2
                } else {
                    allowed
                },
            },
            (Check::Boolean, Check::Boolean) => Check::Boolean,
            (outer, inner) => {
                bail!("the schemas of one field disagree on its type ({outer:?}, {inner:?})")
            }
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::generate;
    use crate::contract::resolve;

    /// A contract whose one operation posts an object with `properties` (YAML, indented for
    /// the `properties:` key).
    fn generated(properties: &str) -> anyhow::Result<String> {
        let text = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\n\
             servers:\n  - url: https://x.{{region}}.example\n    x-name: x\n    variables:\n      \
             region: {{default: r, enum: [r], x-enum-descriptions: [one]}}\n\
             paths:\n  /x:\n    post:\n      operationId: make_x\n      tags: [t]\n      \
             summary: s\n      x-idempotent: false\n      requestBody:\n        content:\n          \
             application/json:\n            schema: {{$ref: '#/components/schemas/Body'}}\n      \
             responses:\n        '204': {{description: done}}\n\
             components:\n  schemas:\n    Body:\n      type: object\n      required: [name]\n      \
             properties:\n{properties}"
        );
        let contract = resolve(serde_yaml::from_str(&text).expect("a valid test spec"))?;
        Ok(generate(&contract)?.to_string())
    }

    #[test]
    fn patterns_the_checker_cannot_compile_stop_the_generation() {
        let field = |pattern: &str| {
            format!("        name: {{type: string, description: a name, pattern: '{pattern}'}}\n")
        };
        assert!(generated(&field("^[a-z]+$")).is_ok());
        let error = format!("{:#}", generated(&field("^[a-z+$")).expect_err("refused"));
        assert!(error.contains("does not compile"), "{error}");
    }

    #[test]
    fn integers_enums_arrays_and_dates_become_rules() {
        let table = generated(
            "        hour: {type: integer, minimum: 0, maximum: 23, description: an hour}\n        \
             kind: {type: string, enum: [full, partial], description: a kind}\n        \
             hours:\n          type: array\n          maxItems: 3\n          uniqueItems: true\n          \
             description: hours\n          items: {type: integer, minimum: 0, maximum: 23}\n        \
             at: {type: string, format: date-time, description: a time}\n        \
             flag: {type: boolean}\n        \
             status: {type: string, x-extensible-enum: [a, b], enum: [a, b], description: open}\n",
        )
        .expect("generated");
        for expected in [
            "minimum : Some (0i64) , maximum : Some (23i64)",
            "allowed : & [\"full\" , \"partial\"]",
            "max_items : Some (3usize)",
            "unique : true",
            "format : Some (\"date-time\")",
        ] {
            assert!(table.contains(expected), "{expected} in {table}");
        }
        assert!(
            table.contains("\"a boolean, or left out; never null\""),
            "an optional boolean may not be null: {table}"
        );
        assert!(
            !table.contains("allowed : & [\"a\" , \"b\"]"),
            "an open set's values are no rule: {table}"
        );
    }

    #[test]
    fn keywords_the_tables_cannot_express_stop_the_generation() {
        for (field, says) in [
            (
                "        n: {type: integer, multipleOf: 5, description: n}\n",
                "multipleOf",
            ),
            (
                "        u: {type: string, format: uri, description: u}\n",
                "format",
            ),
            (
                "        o:\n          description: o\n          oneOf: [{type: string}, {type: integer}]\n",
                "oneOf",
            ),
            (
                "        f: {type: number, maximum: 2.5, description: f}\n",
                "numbers",
            ),
            (
                "        s: {type: string, minLength: 2}\n",
                "needs a description",
            ),
        ] {
            let error = format!("{:#}", generated(field).expect_err(says));
            assert!(error.contains(says), "{says}: {error}");
        }
    }
}
