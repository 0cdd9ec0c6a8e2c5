//! Generates `generated_open_enums.rs`: a Rust enum for every string schema that lists its known
//! values in `x-extensible-enum`, with an `Other(String)` variant for the values it does not know.
//!
//! A JSON Schema `enum` would make every client (typify's included) reject a status the service
//! adds tomorrow. The contract therefore says `type: string` and lists the known values in the
//! `x-extensible-enum` extension (a convention from Zalando's API guidelines); this module turns
//! that list into a type that matches on known values and still parses unknown ones.

use anyhow::Context as _;
use openapiv3::{OpenAPI, ReferenceOr, SchemaKind, Type};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

const EXTENSION: &str = "x-extensible-enum";

/// An open enum found in the contract.
pub struct OpenEnum {
    /// The component schema's name, which is also the Rust type's name.
    pub name: String,
    description: String,
    values: Vec<String>,
}

/// Finds every component schema carrying `x-extensible-enum`.
pub fn find(spec: &OpenAPI) -> anyhow::Result<Vec<OpenEnum>> {
    let mut found = Vec::new();
    let Some(components) = &spec.components else {
        return Ok(found);
    };
    for (name, schema) in &components.schemas {
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        let Some(values) = schema.schema_data.extensions.get(EXTENSION) else {
            continue;
        };
        anyhow::ensure!(
            matches!(schema.schema_kind, SchemaKind::Type(Type::String(_))),
            "{name}: {EXTENSION} is only supported on string schemas"
        );
        let values = values
            .as_array()
            .with_context(|| format!("{name}: {EXTENSION} must be a list"))?
            .iter()
            .map(|value| {
                value
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("{name}: {EXTENSION} must list strings"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // Each value becomes a variant: it must make an identifier, and a distinct one.
        let mut variants = std::collections::HashSet::new();
        for value in &values {
            let variant = pascal_case(value);
            anyhow::ensure!(
                variant.starts_with(|c: char| c.is_ascii_alphabetic()),
                "{name}: {EXTENSION} value `{value}` makes no variant name (`{variant}`)"
            );
            anyhow::ensure!(
                variants.insert(variant.clone()),
                "{name}: {EXTENSION} values collide as the variant `{variant}` (`{value}`)"
            );
        }
        found.push(OpenEnum {
            name: name.clone(),
            description: schema.schema_data.description.clone().unwrap_or_default(),
            values,
        });
    }
    Ok(found)
}

/// Builds the token stream of the open enums.
pub fn generate(enums: &[OpenEnum]) -> TokenStream {
    let items = enums.iter().map(one);
    quote! {
        //! Open enums: string schemas whose known values are listed in `x-extensible-enum`.
        #(#items)*
    }
}

fn one(open: &OpenEnum) -> TokenStream {
    let name = Ident::new(&open.name, Span::call_site());
    let doc = open
        .description
        .trim_end()
        .lines()
        .map(|line| format!(" {line}"));
    let variants: Vec<Ident> = open
        .values
        .iter()
        .map(|value| Ident::new(&pascal_case(value), Span::call_site()))
        .collect();
    let values = &open.values;
    let variant_docs = values.iter().map(|value| format!(" `{value}`"));
    let schema_name = &open.name;
    let description = open.description.trim_end();
    quote! {
        #(#[doc = #doc])*
        ///
        /// Values this version does not know are kept in [`Self::Other`].
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum #name {
            #( #[doc = #variant_docs] #variants, )*
            /// A value this version of the contract does not list.
            Other(::std::string::String),
        }

        impl #name {
            /// The value as the API sends it.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#variants => #values, )*
                    Self::Other(value) => value.as_str(),
                }
            }
        }

        impl ::std::convert::From<&str> for #name {
            fn from(value: &str) -> Self {
                match value {
                    #( #values => Self::#variants, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl ::std::str::FromStr for #name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        /// The contract's schema: a string, with the known values in `x-extensible-enum`.
        impl ::schemars::JsonSchema for #name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                #schema_name.into()
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!({
                    "type": "string",
                    "description": #description,
                    "x-extensible-enum": [#(#values),*],
                })
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                // A visitor rather than a `String`: known values are matched without allocating.
                struct Visitor;
                impl<'de> ::serde::de::Visitor<'de> for Visitor {
                    type Value = #name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: ::serde::de::Error>(self, value: &str) -> ::std::result::Result<#name, E> {
                        Ok(#name::from(value))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    }
}

/// `SCRAM-SHA-256` → `ScramSha256`, `done` → `Done`.
fn pascal_case(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first
                .into_iter()
                .chain(chars.map(|c| c.to_ascii_lowercase()))
                .collect::<String>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{find, pascal_case};

    #[test]
    fn variant_names_are_pascal_case() {
        assert_eq!(pascal_case("SCRAM-SHA-256"), "ScramSha256");
        assert_eq!(pascal_case("MD5"), "Md5");
        assert_eq!(pascal_case("done"), "Done");
    }

    #[test]
    fn values_that_make_no_variant_or_the_same_one_stop_the_generation() {
        let spec = |values: &str| -> openapiv3::OpenAPI {
            let text = format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\ncomponents:\n  \
                 schemas:\n    Status: {{type: string, x-extensible-enum: {values}}}\n"
            );
            serde_yaml::from_str(&text).expect("a valid test spec")
        };
        assert_eq!(find(&spec("[done, running]")).expect("fine").len(), 1);
        let error = |values| find(&spec(values)).err().expect("refused").to_string();
        assert!(error("['2fa', done]").contains("`2fa` makes no variant"));
        assert!(error("['--', done]").contains("`--` makes no variant"));
        assert!(error("[MD5, md5]").contains("collide as the variant `Md5`"));
    }
}
