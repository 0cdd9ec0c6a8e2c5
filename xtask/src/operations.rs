//! Generates `generated_operations.rs`: every operation of the contract as data (id, method, path
//! template, server prefix), so the sandbox's router and the client's telemetry name operations
//! and paths exactly as openapi.yaml does.

use anyhow::Context as _;
use openapiv3::OpenAPI;
use proc_macro2::TokenStream;
use quote::quote;

/// Builds the token stream of the operations table.
pub fn generate(spec: &OpenAPI) -> anyhow::Result<TokenStream> {
    let mut entries = Vec::new();
    for (path, method, operation) in spec.operations() {
        let id = operation
            .operation_id
            .as_deref()
            .with_context(|| format!("{method} {path} has no operationId"))?;
        let method = method.to_uppercase();
        let tag = operation.tags.first().cloned().unwrap_or_default();
        let path_item = match spec.paths.paths.get(path) {
            Some(openapiv3::ReferenceOr::Item(item)) => item,
            _ => anyhow::bail!("{path}: path items must not be references"),
        };
        // The most specific `servers` wins: operation, then path, then the document.
        let servers = [&operation.servers, &path_item.servers, &spec.servers]
            .into_iter()
            .find(|servers| !servers.is_empty())
            .with_context(|| format!("{id} has no server"))?;
        let prefix = server_path(&servers[0].url)?;
        let secured = operation
            .security
            .as_ref()
            .or(spec.security.as_ref())
            .is_some_and(|requirements| !requirements.is_empty());
        entries.push(quote! {
            Operation { id: #id, method: #method, path: #path, prefix: #prefix, tag: #tag, authenticated: #secured }
        });
    }
    Ok(quote! {
        //! Every operation of openapi.yaml, in the order of the document.

        /// One operation of the contract.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct Operation {
            /// The `operationId`, e.g. `list_users`.
            pub id: &'static str,
            /// The HTTP method, upper-case.
            pub method: &'static str,
            /// The path template, e.g. `/databases/{database_id}/users`.
            pub path: &'static str,
            /// The path of the operation's server URL, e.g. `/api` for the Database API, empty for
            /// the authentication and main API hosts.
            pub prefix: &'static str,
            /// The operation's first tag (`users`, `backups`, `auth`).
            pub tag: &'static str,
            /// Whether the operation requires authentication.
            pub authenticated: bool,
        }

        /// Every operation of the contract.
        pub const OPERATIONS: &[Operation] = &[#(#entries),*];

        /// The operation with this `operationId`.
        pub fn by_id(id: &str) -> Option<&'static Operation> {
            OPERATIONS.iter().find(|operation| operation.id == id)
        }
    })
}

/// `https://db-api.osc-fr1.scalingo.com/api` → `/api`; `https://auth.scalingo.com` → ``.
fn server_path(url: &str) -> anyhow::Result<String> {
    let after_scheme = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .with_context(|| format!("server URL {url} has no scheme"))?;
    Ok(after_scheme
        .find('/')
        .map(|at| after_scheme[at..].trim_end_matches('/').to_owned())
        .unwrap_or_default())
}
