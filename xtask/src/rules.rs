//! Generates `generated_rules.rs`: for every JSON request body of the contract, the string rules
//! (length, pattern, "same as another field") of its fields, as data.
//!
//! progenitor would turn a constrained string into a newtype that cannot even be built when it
//! breaks its rule. We want the rules checked before a request leaves, with messages naming the
//! field and the rule, but also the ability to skip the check on purpose (the service, not the
//! documentation, is the final judge of a user name). So the rules travel as tables that the
//! client's validator and the sandbox read, and the contract stays their only source.

use anyhow::Context as _;
use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// The extension naming the field a property must equal (`password_confirmation` → `password`).
const SAME_AS: &str = "x-same-as";

/// One constrained field, as found in the contract.
struct Field {
    path: Vec<String>,
    required: bool,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<String>,
    rule: String,
    same_as: Option<String>,
}

/// Builds the token stream of the rule tables.
pub fn generate(spec: &OpenAPI) -> anyhow::Result<TokenStream> {
    let mut tables = Vec::new();
    for (path, method, operation) in spec.operations() {
        let Some(body) = &operation.request_body else {
            continue;
        };
        let body = resolve_body(spec, body)?;
        let Some(media) = body.content.get("application/json") else {
            continue;
        };
        let Some(schema) = &media.schema else {
            continue;
        };
        let operation_id = operation
            .operation_id
            .as_deref()
            .with_context(|| format!("{method} {path} has no operationId"))?;
        let mut fields = Vec::new();
        collect_object(
            spec,
            resolve(spec, schema)?,
            &mut Vec::new(),
            true,
            &mut fields,
        )?;
        for field in &fields {
            // The same engine as the checker: a pattern it cannot compile would reject every
            // value at run time, so it stops the generation instead.
            if let Some(pattern) = &field.pattern {
                regress::Regex::new(pattern).map_err(|error| {
                    anyhow::anyhow!("the pattern of {:?} does not compile: {error}", field.path)
                })?;
            }
        }
        tables.push(table(operation_id, &fields));
    }
    Ok(quote! {
        //! Rules of the JSON request bodies, one table per operation, read from openapi.yaml.
        use crate::rules::FieldRule;
        #(#tables)*
    })
}

fn table(operation_id: &str, fields: &[Field]) -> TokenStream {
    let name = Ident::new(&operation_id.to_uppercase(), Span::call_site());
    let doc = format!(" The rules of the `{operation_id}` request body.");
    let entries = fields.iter().map(|field| {
        let path = &field.path;
        let required = field.required;
        let min_length = option(field.min_length.map(|n| quote!(#n)));
        let max_length = option(field.max_length.map(|n| quote!(#n)));
        let pattern = option(field.pattern.as_ref().map(|p| quote!(#p)));
        let same_as = option(field.same_as.as_ref().map(|s| quote!(#s)));
        let rule = &field.rule;
        quote! {
            FieldRule {
                path: &[#(#path),*],
                required: #required,
                min_length: #min_length,
                max_length: #max_length,
                pattern: #pattern,
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
        return Ok(());
    };
    for (name, property) in &object.properties {
        let property_required = required && object.required.contains(name);
        path.push(name.clone());
        let resolved = resolve(spec, property)?;
        if matches!(resolved.schema_kind, SchemaKind::Type(Type::Object(_))) {
            collect_object(spec, resolved, path, property_required, out)?;
        } else {
            let mut field = Field {
                path: path.clone(),
                required: property_required,
                min_length: None,
                max_length: None,
                pattern: None,
                rule: String::new(),
                same_as: None,
            };
            constraints(spec, resolved, &mut field)?;
            if field.min_length.is_some()
                || field.max_length.is_some()
                || field.pattern.is_some()
                || field.same_as.is_some()
            {
                out.push(field);
            }
        }
        path.pop();
    }
    Ok(())
}

/// Gathers the string constraints of a schema, following `$ref` and `allOf`.
fn constraints(spec: &OpenAPI, schema: &Schema, field: &mut Field) -> anyhow::Result<()> {
    if let Some(other) = schema.schema_data.extensions.get(SAME_AS) {
        let other = other
            .as_str()
            .with_context(|| format!("{SAME_AS} of {:?} is not a string", field.path))?;
        field.same_as = Some(other.to_owned());
    }
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(string)) => {
            let constrained = string.min_length.is_some()
                || string.max_length.is_some()
                || string.pattern.is_some();
            if constrained {
                field.min_length = field.min_length.or(string.min_length);
                field.max_length = field.max_length.or(string.max_length);
                field.pattern = field.pattern.take().or_else(|| string.pattern.clone());
                if field.rule.is_empty() {
                    field.rule = schema.schema_data.description.clone().with_context(|| {
                        format!("the constrained schema of {:?} has no description to quote as its rule", field.path)
                    })?;
                }
            }
        }
        SchemaKind::AllOf { all_of } => {
            for part in all_of {
                constraints(spec, resolve(spec, part)?, field)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A schema, or the component it refers to; `T` is `Schema` or `Box<Schema>` (properties).
fn resolve<'a, T: std::borrow::Borrow<Schema>>(
    spec: &'a OpenAPI,
    schema: &'a ReferenceOr<T>,
) -> anyhow::Result<&'a Schema> {
    match schema {
        ReferenceOr::Item(schema) => Ok(schema.borrow()),
        ReferenceOr::Reference { reference } => component(spec, reference),
    }
}

fn component<'a>(spec: &'a OpenAPI, reference: &str) -> anyhow::Result<&'a Schema> {
    let name = reference
        .strip_prefix("#/components/schemas/")
        .with_context(|| format!("unsupported reference {reference}"))?;
    let schema = spec
        .components
        .as_ref()
        .and_then(|components| components.schemas.get(name))
        .with_context(|| format!("unknown schema {reference}"))?;
    resolve(spec, schema)
}

fn resolve_body<'a>(
    spec: &'a OpenAPI,
    body: &'a ReferenceOr<openapiv3::RequestBody>,
) -> anyhow::Result<&'a openapiv3::RequestBody> {
    match body {
        ReferenceOr::Item(body) => Ok(body),
        ReferenceOr::Reference { reference } => {
            let name = reference
                .strip_prefix("#/components/requestBodies/")
                .with_context(|| format!("unsupported reference {reference}"))?;
            match spec
                .components
                .as_ref()
                .and_then(|components| components.request_bodies.get(name))
            {
                Some(ReferenceOr::Item(body)) => Ok(body),
                _ => anyhow::bail!("unknown request body {reference}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::generate;

    #[test]
    fn a_pattern_the_checker_cannot_compile_stops_the_generation() {
        let spec = |pattern: &str| -> openapiv3::OpenAPI {
            let text = format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n  /x:\n    post:\n      \
                 operationId: make_x\n      requestBody:\n        content:\n          \
                 application/json:\n            schema:\n              type: object\n              \
                 required: [name]\n              properties:\n                name:\n                  \
                 type: string\n                  description: a name\n                  \
                 pattern: '{pattern}'\n      responses:\n        '204': {{description: done}}\n"
            );
            serde_yaml::from_str(&text).expect("a valid test spec")
        };
        assert!(generate(&spec("^[a-z]+$")).is_ok());
        let error = generate(&spec("^[a-z+$")).expect_err("refused").to_string();
        assert!(error.contains("does not compile"), "{error}");
    }
}
