//! Removes progenitor's `api-version` request header from the generated client.
//!
//! progenitor stamps every request with `api-version: <info.version>`. The Scalingo API has no
//! such header and the contract lists none; sending it would put a request outside the contract,
//! and removing it at run time costs every call a header-map lookup. So the statement that adds
//! it is dropped from the generated code, where it is cheapest to be sure it is gone.

use proc_macro2::TokenStream;
use quote::ToTokens as _;
use syn::visit_mut::{self, VisitMut};

const HEADER: &str = "\"api-version\"";

/// The generated client without the statements that append `api-version`.
pub fn strip(tokens: TokenStream) -> anyhow::Result<TokenStream> {
    let mut file: syn::File = syn::parse2(tokens)?;
    let mut stripper = Stripper { removed: 0 };
    stripper.visit_file_mut(&mut file);
    anyhow::ensure!(
        stripper.removed > 0,
        "progenitor no longer adds an `api-version` header the way this xtask expects; \
         check the generated client and update xtask/src/api_version.rs"
    );
    Ok(file.into_token_stream())
}

struct Stripper {
    removed: usize,
}

impl VisitMut for Stripper {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        let before = block.stmts.len();
        block
            .stmts
            .retain(|statement| !appends_api_version(statement));
        self.removed += before - block.stmts.len();
        visit_mut::visit_block_mut(self, block);
    }
}

/// `header_map.append(HeaderName::from_static("api-version"), ...);`
fn appends_api_version(statement: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), _) = statement else {
        return false;
    };
    call.method == "append"
        && call
            .args
            .first()
            .is_some_and(|name| name.to_token_stream().to_string().contains(HEADER))
}
