//! Generates `generated_envelopes.rs`: an `Envelope` impl for every JSON body of an operation, so
//! that the client hands its callers what a body carries and the sandbox answers in the shape the
//! service sends, without either naming a wrapper.
//!
//! Three shapes are recognised, from the schemas alone:
//!
//! - a wrapper: an object with exactly one property, required (`{"database_user": {...}}`,
//!   `{"database-users": [...]}`, `{"token": "..."}`), carries that property;
//! - a wrapper or the bare value: a `oneOf` of such a wrapper and the schema it wraps (what the
//!   service sends, and what its documentation shows) carries the bare value, and is built
//!   wrapped, as the service sends it;
//! - anything else carries itself.
//!
//! A wrapper whose property has a shape this module cannot name a type for stops the generation.

use std::collections::BTreeSet;

use anyhow::{Context as _, bail};
use openapiv3::{ReferenceOr, Schema, SchemaKind, Type};
use proc_macro2::TokenStream;
use quote::quote;

use crate::contract::{Contract, SuccessBody, component_name};
use crate::replacements::{Replacement, rust_type};

/// What a body schema carries.
pub enum Carried {
    /// The body itself.
    Itself,
    /// Its one property: the JSON name and the Rust type of what it holds.
    Field {
        /// The property's JSON name.
        json: String,
        /// The Rust type of its value.
        rust_type: String,
    },
    /// The wrapper (first alternative) or bare (second alternative) value of this Rust type.
    WrappedOrBare {
        /// The wrapper schema's name.
        wrapper: String,
        /// The bare schema's name.
        bare: String,
        /// The property of the wrapper.
        json: String,
        /// The bare schema's Rust type.
        rust_type: String,
    },
}

/// Every schema used as a JSON body of an operation, once, in name order.
pub fn body_schemas(contract: &Contract) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for operation in &contract.operations {
        names.extend(operation.request_body.clone());
        for success in &operation.success {
            if let SuccessBody::Json(name) = &success.body {
                names.insert(name.clone());
            }
        }
    }
    names
}

/// What the component schema `name` carries.
pub fn carried(
    contract: &Contract,
    replacements: &[Replacement],
    name: &str,
) -> anyhow::Result<Carried> {
    let schema = contract.schema(name)?;
    if let Some((json, property)) = single_property(schema) {
        let rust_type = property_type(replacements, property)
            .with_context(|| format!("{name}: the wrapped property `{json}`"))?;
        return Ok(Carried::Field {
            json: json.to_owned(),
            rust_type,
        });
    }
    if let SchemaKind::OneOf { one_of } = &schema.schema_kind
        && let [
            ReferenceOr::Reference { reference: wrapper },
            ReferenceOr::Reference { reference: bare },
        ] = one_of.as_slice()
    {
        let wrapper = component_name(wrapper)?;
        let bare = component_name(bare)?;
        if let Some((json, ReferenceOr::Reference { reference })) =
            single_property(contract.schema(wrapper)?)
            && component_name(reference)? == bare
        {
            return Ok(Carried::WrappedOrBare {
                wrapper: wrapper.to_owned(),
                bare: bare.to_owned(),
                json: json.to_owned(),
                rust_type: rust_type(replacements, bare),
            });
        }
    }
    Ok(Carried::Itself)
}

/// Builds the token stream of the envelope impls.
pub fn generate(contract: &Contract, replacements: &[Replacement]) -> anyhow::Result<TokenStream> {
    let mut impls = Vec::new();
    for name in body_schemas(contract) {
        let ty = parse_type(&rust_type(replacements, &name))?;
        let item = match carried(contract, replacements, &name)? {
            Carried::Itself => quote! {
                impl Envelope for #ty {
                    type Inner = #ty;
                    fn into_inner(self) -> Self::Inner { self }
                    fn wrap(inner: Self::Inner) -> Self { inner }
                }
            },
            Carried::Field { json, rust_type } => {
                let field = syn::Ident::new(&field_name(&json), proc_macro2::Span::call_site());
                let inner = parse_type(&rust_type)?;
                quote! {
                    impl Envelope for #ty {
                        type Inner = #inner;
                        fn into_inner(self) -> Self::Inner { self.#field }
                        fn wrap(inner: Self::Inner) -> Self { Self { #field: inner } }
                    }
                }
            }
            Carried::WrappedOrBare {
                wrapper,
                bare,
                json,
                rust_type,
            } => {
                let field = syn::Ident::new(&field_name(&json), proc_macro2::Span::call_site());
                let inner = parse_type(&rust_type)?;
                // The variants are named after the schemas they hold (`wire_types.rs`).
                let wrapper_variant = syn::Ident::new(&wrapper, proc_macro2::Span::call_site());
                let bare_variant = syn::Ident::new(&bare, proc_macro2::Span::call_site());
                let wrapper = parse_type(&crate::replacements::rust_type(replacements, &wrapper))?;
                quote! {
                    impl Envelope for #ty {
                        type Inner = #inner;
                        fn into_inner(self) -> Self::Inner {
                            match self {
                                Self::#wrapper_variant(wrapper) => wrapper.#field,
                                Self::#bare_variant(bare) => bare,
                            }
                        }
                        /// Wrapped, as the service sends it.
                        fn wrap(inner: Self::Inner) -> Self {
                            Self::#wrapper_variant(#wrapper { #field: inner })
                        }
                    }
                }
            }
        };
        impls.push(item);
    }
    Ok(quote! {
        //! What each JSON body of the contract carries (see [`crate::Envelope`]).
        use crate::Envelope;
        #(#impls)*
    })
}

/// The one property of an object schema that has exactly one, required.
fn single_property(schema: &Schema) -> Option<(&str, &ReferenceOr<Box<Schema>>)> {
    let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
        return None;
    };
    let mut properties = object.properties.iter();
    match (properties.next(), properties.next()) {
        (Some((name, property)), None) if object.required.contains(name) => {
            Some((name.as_str(), property))
        }
        _ => None,
    }
}

/// The Rust type of a wrapped property: a component, an array of components, or a plain string.
fn property_type(
    replacements: &[Replacement],
    property: &ReferenceOr<Box<Schema>>,
) -> anyhow::Result<String> {
    match property {
        ReferenceOr::Reference { reference } => {
            Ok(rust_type(replacements, component_name(reference)?))
        }
        ReferenceOr::Item(schema) => match &schema.schema_kind {
            SchemaKind::Type(Type::Array(array)) => match &array.items {
                Some(ReferenceOr::Reference { reference }) => Ok(format!(
                    "::std::vec::Vec<{}>",
                    rust_type(replacements, component_name(reference)?)
                )),
                _ => bail!("an array must list a component schema"),
            },
            SchemaKind::Type(Type::String(string))
                if string.pattern.is_none()
                    && string.min_length.is_none()
                    && string.max_length.is_none()
                    && string.enumeration.is_empty() =>
            {
                // The types typify gives each format.
                use openapiv3::{StringFormat, VariantOrUnknownOrEmpty as Format};
                match &string.format {
                    Format::Empty => Ok("::std::string::String".to_owned()),
                    Format::Item(StringFormat::DateTime) => {
                        Ok("::chrono::DateTime<::chrono::offset::Utc>".to_owned())
                    }
                    Format::Item(StringFormat::Date) => Ok("::chrono::naive::NaiveDate".to_owned()),
                    other => bail!("a wrapped string of format {other:?} has no known Rust type"),
                }
            }
            _ => bail!("only components, arrays of components and plain strings can be wrapped"),
        },
    }
}

/// The Rust field typify makes of a JSON property name: `database-users` → `database_users`,
/// `type` → `type_`.
pub fn field_name(json: &str) -> String {
    let name: String = json
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if syn::parse_str::<syn::Ident>(&name).is_ok() {
        name
    } else {
        format!("{name}_")
    }
}

fn parse_type(text: &str) -> anyhow::Result<syn::Type> {
    syn::parse_str(text).with_context(|| format!("`{text}` is not a Rust type"))
}

#[cfg(test)]
mod tests {
    use super::field_name;

    #[test]
    fn fields_are_named_as_typify_names_them() {
        assert_eq!(field_name("database-users"), "database_users");
        assert_eq!(field_name("database_user"), "database_user");
        assert_eq!(field_name("type"), "type_");
    }
}
