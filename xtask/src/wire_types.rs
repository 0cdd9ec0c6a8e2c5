//! Splits progenitor's output in two: the wire types (its `types` module), which the sandbox and
//! other servers need without any HTTP client, and the client itself, which the generated crate
//! builds only with its `client` feature.
//!
//! On the way, the variants of the `oneOf` enums get the names of the schemas they hold: typify
//! calls them `Variant0`, `Variant1`, which says nothing to a reader and changes meaning when the
//! contract lists the alternatives in another order.

use std::collections::HashMap;

use anyhow::Context as _;
use proc_macro2::TokenStream;
use quote::{ToTokens as _, quote};
use syn::visit_mut::{self, VisitMut};

/// (the items of the `types` module, the rest of the client referring to them).
pub fn split(tokens: TokenStream) -> anyhow::Result<(TokenStream, TokenStream)> {
    let file: syn::File = syn::parse2(tokens).context("parsing progenitor's output")?;
    let mut types = None;
    let mut client = Vec::new();
    for item in file.items {
        match item {
            syn::Item::Mod(module) if module.ident == "types" => {
                let (_, items) = module
                    .content
                    .context("progenitor's `types` module has no body")?;
                types = Some(items);
            }
            other => client.push(other),
        }
    }
    let mut types = types
        .context("progenitor no longer emits a `types` module; update xtask/src/wire_types.rs")?;
    name_variants(&mut types);
    let types = quote! {
        //! The wire types of openapi.yaml, as typify generates them for progenitor.
        #(#types)*
    };
    let client = client.iter().map(|item| item.to_token_stream());
    let client = quote! {
        //! The client of openapi.yaml, as progenitor generates it.
        use crate::types;
        #(#client)*
    };
    Ok((types, client))
}

/// Renames `VariantN(Schema)` to `Schema(Schema)` in every untagged enum whose variants each
/// hold a distinct named type, and every path to those variants.
fn name_variants(items: &mut [syn::Item]) {
    let mut renames: HashMap<String, HashMap<String, syn::Ident>> = HashMap::new();
    for item in items.iter_mut() {
        let syn::Item::Enum(item) = item else {
            continue;
        };
        let untagged = item.attrs.iter().any(|attr| {
            attr.path().is_ident("serde") && attr.to_token_stream().to_string().contains("untagged")
        });
        let names: Option<Vec<(String, syn::Ident)>> = item
            .variants
            .iter()
            .map(|variant| {
                let syn::Fields::Unnamed(fields) = &variant.fields else {
                    return None;
                };
                let [field] = Vec::from_iter(&fields.unnamed)[..] else {
                    return None;
                };
                let syn::Type::Path(path) = &field.ty else {
                    return None;
                };
                let name = path.path.segments.last()?.ident.clone();
                Some((variant.ident.to_string(), name))
            })
            .collect();
        let Some(names) = names.filter(|_| untagged) else {
            continue;
        };
        let mut distinct: Vec<String> = names.iter().map(|(_, name)| name.to_string()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != names.len() || !names.iter().all(|(old, _)| old.starts_with("Variant"))
        {
            continue;
        }
        for variant in &mut item.variants {
            if let Some((_, name)) = names.iter().find(|(old, _)| variant.ident == old) {
                variant.ident = name.clone();
            }
        }
        renames.insert(item.ident.to_string(), names.into_iter().collect());
    }
    let mut renamer = Renamer {
        renames,
        current: None,
    };
    for item in items.iter_mut() {
        renamer.visit_item_mut(item);
    }
}

/// Rewrites `Enum::VariantN` and, inside `impl .. for Enum`, `Self::VariantN`.
struct Renamer {
    renames: HashMap<String, HashMap<String, syn::Ident>>,
    /// The enum whose impl is being visited, for `Self`.
    current: Option<String>,
}

impl VisitMut for Renamer {
    fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
        let outer = self.current.take();
        if let syn::Type::Path(path) = &*item.self_ty {
            self.current = path
                .path
                .segments
                .last()
                .map(|segment| segment.ident.to_string());
        }
        visit_mut::visit_item_impl_mut(self, item);
        self.current = outer;
    }

    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        let len = path.segments.len();
        if len >= 2 {
            let owner = path.segments[len - 2].ident.to_string();
            let owner = if owner == "Self" {
                self.current.clone()
            } else {
                Some(owner)
            };
            let renamed = owner
                .and_then(|owner| self.renames.get(&owner))
                .and_then(|variants| variants.get(&path.segments[len - 1].ident.to_string()));
            if let Some(name) = renamed {
                path.segments[len - 1].ident = name.clone();
            }
        }
        visit_mut::visit_path_mut(self, path);
    }
}

#[cfg(test)]
mod tests {
    use quote::ToTokens as _;

    use super::name_variants;

    fn renamed(code: &str) -> String {
        let mut file: syn::File = syn::parse_str(code).expect("valid Rust");
        name_variants(&mut file.items);
        file.to_token_stream().to_string()
    }

    #[test]
    fn untagged_variants_take_the_names_of_the_schemas_they_hold() {
        let code = renamed(
            "#[serde(untagged)] pub enum Answer { Variant0(Wrapped), Variant1(Bare) }
             impl From<Wrapped> for Answer { fn from(value: Wrapped) -> Self { Self::Variant0(value) } }
             fn f(a: Answer) { match a { Answer::Variant1(b) => {}, _ => {} } }",
        );
        assert!(code.contains("Wrapped (Wrapped) , Bare (Bare)"), "{code}");
        assert!(code.contains("Self :: Wrapped (value)"), "{code}");
        assert!(code.contains("Answer :: Bare (b)"), "{code}");
        assert!(!code.contains("Variant"), "{code}");
    }

    #[test]
    fn variants_holding_the_same_type_or_tagged_enums_keep_their_names() {
        let same = renamed("#[serde(untagged)] pub enum A { Variant0(String), Variant1(String) }");
        assert!(same.contains("Variant0"), "{same}");
        let tagged = renamed("pub enum B { Variant0(X), Variant1(Y) }");
        assert!(tagged.contains("Variant0"), "{tagged}");
    }
}
