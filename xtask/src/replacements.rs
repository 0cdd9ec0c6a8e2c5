//! The component schemas that progenitor must not turn into types of its own, and what stands for
//! each instead: a secret (`x-secret`) becomes its hand-written type, an open set
//! (`x-extensible-enum`) its generated open enum, and a constrained string a plain `String`,
//! checked from the rule tables instead (so a check can be skipped on purpose).
//!
//! progenitor's settings and every generator that names a wire type read this one list, so the
//! name a generated file uses is the name progenitor gave.

use openapiv3::{ReferenceOr, SchemaKind, Type};
use progenitor::TypeImpl;

use crate::contract::Contract;
use crate::open_enums::OpenEnum;
use crate::secrets::Secret;

/// A component schema and the Rust type that stands for it.
pub struct Replacement {
    /// The component schema's name.
    pub schema: String,
    /// The Rust path of the type used instead, from inside the generated crate.
    pub rust_type: String,
    /// The impls progenitor may rely on.
    pub impls: Vec<TypeImpl>,
}

/// Every replacement, from the secrets and open enums found in the contract and its constrained
/// string schemas.
pub fn find(contract: &Contract, secrets: &[Secret], open_enums: &[OpenEnum]) -> Vec<Replacement> {
    let mut found: Vec<Replacement> = secrets
        .iter()
        .map(|secret| Replacement {
            schema: secret.schema.clone(),
            rust_type: format!("crate::{}", secret.rust_type),
            impls: Vec::new(),
        })
        .collect();
    found.extend(open_enums.iter().map(|open| Replacement {
        schema: open.name.clone(),
        rust_type: format!("crate::{}", open.name),
        impls: vec![TypeImpl::Display, TypeImpl::FromStr],
    }));
    for (name, schema) in contract
        .spec
        .components
        .iter()
        .flat_map(|components| &components.schemas)
    {
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        let SchemaKind::Type(Type::String(string)) = &schema.schema_kind else {
            continue;
        };
        let constrained =
            string.pattern.is_some() || string.min_length.is_some() || string.max_length.is_some();
        if constrained && !found.iter().any(|known| &known.schema == name) {
            found.push(Replacement {
                schema: name.clone(),
                rust_type: "::std::string::String".to_owned(),
                impls: vec![TypeImpl::Display, TypeImpl::FromStr],
            });
        }
    }
    found
}

/// The Rust type of the component schema `name`, from inside the generated crate.
pub fn rust_type(replacements: &[Replacement], name: &str) -> String {
    replacements
        .iter()
        .find(|replacement| replacement.schema == name)
        .map(|replacement| replacement.rust_type.clone())
        .unwrap_or_else(|| format!("crate::types::{name}"))
}
