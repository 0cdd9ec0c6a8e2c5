//! Splits progenitor's output in two: the wire types (its `types` module), which the sandbox and
//! other servers need without any HTTP client, and the client itself, which the generated crate
//! builds only with its `client` feature.

use anyhow::Context as _;
use proc_macro2::TokenStream;
use quote::{ToTokens as _, quote};

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
    let types = types
        .context("progenitor no longer emits a `types` module; update xtask/src/wire_types.rs")?;
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
