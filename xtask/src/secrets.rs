//! Which schemas of the contract are secrets: those marked `x-secret: <Type>`, replaced in the
//! generated code by that hand-written type of `scalingo-db-generated` (`secret.rs`), whose
//! `Debug` never shows the value. Also generates `generated_secrets.rs`: the names of the JSON
//! fields that hold such values and of the query parameters that carry credentials, which the
//! client scrubs from the body snippets and URLs its errors quote.
//!
//! The marker sits in the contract, next to the schema, so a new secret cannot be forgotten in a
//! list here; and a schema that looks secret (`format: password`, or an `allOf` of a secret) but
//! carries no marker stops the generation instead of becoming a plain `String` that prints.

use std::collections::BTreeSet;

use anyhow::Context as _;
use openapiv3::{OpenAPI, ReferenceOr, SchemaKind, StringFormat, Type, VariantOrUnknownOrEmpty};
use proc_macro2::TokenStream;
use quote::quote;

use crate::contract::{Contract, Credential};

const EXTENSION: &str = "x-secret";

/// A secret schema and the Rust type that stands for it.
pub struct Secret {
    /// The component schema's name.
    pub schema: String,
    /// The type in `scalingo-db-generated`, e.g. `Password`.
    pub rust_type: String,
}

/// Finds every component schema marked `x-secret`, and refuses unmarked ones that look secret.
pub fn find(spec: &OpenAPI) -> anyhow::Result<Vec<Secret>> {
    let Some(components) = &spec.components else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        if let Some(rust_type) = schema.schema_data.extensions.get(EXTENSION) {
            let rust_type = rust_type
                .as_str()
                .with_context(|| format!("{name}: {EXTENSION} must name a type"))?;
            found.push(Secret {
                schema: name.clone(),
                rust_type: rust_type.to_owned(),
            });
        }
    }
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        if schema.schema_data.extensions.contains_key(EXTENSION) {
            continue;
        }
        let password_format = matches!(
            &schema.schema_kind,
            SchemaKind::Type(Type::String(string))
                if string.format == VariantOrUnknownOrEmpty::Item(StringFormat::Password)
        );
        let all_of_secret = match &schema.schema_kind {
            SchemaKind::AllOf { all_of } => all_of.iter().any(|part| {
                matches!(part, ReferenceOr::Reference { reference }
                    if found.iter().any(|secret| reference.ends_with(&format!("/{}", secret.schema))))
            }),
            _ => false,
        };
        anyhow::ensure!(
            !password_format && !all_of_secret,
            "{name} holds a secret but has no `{EXTENSION}: <Type>`: it would be generated as a \
             plain String whose Debug shows it"
        );
    }
    Ok(found)
}

/// Builds the token stream of the secret field and parameter lists.
pub fn generate(contract: &Contract, secrets: &[Secret]) -> TokenStream {
    let is_secret = |reference: &str| {
        secrets
            .iter()
            .any(|secret| reference == format!("#/components/schemas/{}", secret.schema))
    };
    let mut fields = BTreeSet::new();
    for schema in contract
        .spec
        .components
        .iter()
        .flat_map(|components| components.schemas.values())
    {
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
            continue;
        };
        for (name, property) in &object.properties {
            if matches!(property, ReferenceOr::Reference { reference } if is_secret(reference)) {
                fields.insert(name.as_str());
            }
        }
    }
    let fields = fields.into_iter();
    let parameters: BTreeSet<&str> = contract
        .schemes
        .iter()
        .filter_map(|scheme| match &scheme.credential {
            Credential::Query(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let parameters = parameters.into_iter();
    quote! {
        //! Where secrets travel, so that what quotes a body or a URL can leave them out.

        /// The JSON fields whose values are secrets (`x-secret` in the contract), wherever they
        /// appear.
        pub const SECRET_FIELDS: &[&str] = &[#(#fields),*];

        /// The query parameters that carry a credential (`apiKey` security schemes in the
        /// query).
        pub const SECRET_QUERY_PARAMETERS: &[&str] = &[#(#parameters),*];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(schemas: &str) -> OpenAPI {
        let text = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\ncomponents:\n  schemas:\n{schemas}"
        );
        serde_yaml::from_str(&text).expect("a valid test spec")
    }

    #[test]
    fn marked_schemas_are_found_and_unmarked_secrets_refused() {
        let marked = spec(
            "    Pw: {type: string, format: password, x-secret: Password}\n    \
             Again: {allOf: [{$ref: '#/components/schemas/Pw'}], x-secret: Password}\n    \
             Name: {type: string}\n",
        );
        let found: Vec<(String, String)> = find(&marked)
            .expect("all marked")
            .into_iter()
            .map(|secret| (secret.schema, secret.rust_type))
            .collect();
        assert_eq!(
            found,
            [
                ("Pw".to_owned(), "Password".to_owned()),
                ("Again".to_owned(), "Password".to_owned())
            ]
        );

        let unmarked = spec("    Pw: {type: string, format: password}\n");
        let error = find(&unmarked).err().expect("refused").to_string();
        assert!(error.starts_with("Pw holds a secret"), "{error}");

        let copy = spec(
            "    Pw: {type: string, format: password, x-secret: Password}\n    \
             Again: {allOf: [{$ref: '#/components/schemas/Pw'}]}\n",
        );
        let error = find(&copy).err().expect("refused").to_string();
        assert!(error.starts_with("Again holds a secret"), "{error}");
    }
}
