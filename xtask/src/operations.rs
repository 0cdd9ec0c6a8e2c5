//! Generates `generated_operations.rs`: [`OperationId`], one variant per operation of the contract
//! with its method, path template, server, tag, security scheme and retry class, and
//! `SecurityScheme`, one variant per security scheme with where its credential travels.
//!
//! Code that dispatches on operations matches on the enum, so an operation added to the contract
//! is a compile error wherever it is not handled yet, and a misspelt one cannot compile at all.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::contract::{Contract, Credential};

/// Builds the token stream of the operation and security tables.
pub fn generate(contract: &Contract) -> TokenStream {
    let operations = &contract.operations;
    let count = operations.len();
    let variants: Vec<Ident> = operations.iter().map(|op| ident(&op.id)).collect();
    let docs = operations
        .iter()
        .map(|op| format!(" {} (`{}` `{}`).", op.summary, op.method, op.path));
    let names = operations.iter().map(|op| op.id.as_str());
    let methods = operations.iter().map(|op| op.method.as_str());
    let paths = operations.iter().map(|op| op.path.as_str());
    let tags = operations.iter().map(|op| op.tag.as_str());
    let summaries = operations.iter().map(|op| op.summary.as_str());
    let servers = operations.iter().map(|op| ident(&op.server));
    let securities = operations.iter().map(|op| match &op.security {
        Some(scheme) => {
            let scheme = ident(scheme);
            quote!(Some(SecurityScheme::#scheme))
        }
        None => quote!(None),
    });
    let idempotent = operations.iter().map(|op| op.idempotent);
    let all_names = operations
        .iter()
        .map(|op| op.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let unknown = format!("`{{}}` is not an operation of the contract; known: {all_names}");

    let schemes = &contract.schemes;
    let scheme_count = schemes.len();
    let scheme_variants: Vec<Ident> = schemes.iter().map(|s| ident(&s.name)).collect();
    let scheme_docs = schemes
        .iter()
        .map(|s| format!(" `{}`: {}", s.name, s.description.trim().replace('\n', " ")));
    let scheme_names = schemes.iter().map(|s| s.name.as_str());
    let credentials = schemes.iter().map(|s| match &s.credential {
        Credential::Bearer => quote!(Credential::Bearer),
        Credential::Basic => quote!(Credential::Basic),
        Credential::Query(name) => quote!(Credential::Query(#name)),
        Credential::Header(name) => quote!(Credential::Header(#name)),
    });

    quote! {
        //! Every operation of openapi.yaml and the security schemes they require, as data.

        use crate::Server;

        /// An operation of the contract (its `operationId`, as a type).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OperationId {
            #( #[doc = #docs] #variants, )*
        }

        impl OperationId {
            /// Every operation, in the order of the contract.
            pub const ALL: [OperationId; #count] = [#(OperationId::#variants),*];

            /// How many operations the contract has.
            pub const COUNT: usize = #count;

            /// Its position in [`OperationId::ALL`], for tables indexed by operation.
            pub const fn index(self) -> usize {
                self as usize
            }

            /// Its `operationId`, e.g. `list_users`.
            pub const fn name(self) -> &'static str {
                match self { #( OperationId::#variants => #names, )* }
            }

            /// Its HTTP method, upper-case.
            pub const fn method(self) -> &'static str {
                match self { #( OperationId::#variants => #methods, )* }
            }

            /// Its path template, e.g. `/databases/{database_id}/users`, below its server's URL.
            pub const fn path(self) -> &'static str {
                match self { #( OperationId::#variants => #paths, )* }
            }

            /// The server that serves it.
            pub const fn server(self) -> Server {
                match self { #( OperationId::#variants => Server::#servers, )* }
            }

            /// Its first tag (`users`, `backups`, `auth`, ...).
            pub const fn tag(self) -> &'static str {
                match self { #( OperationId::#variants => #tags, )* }
            }

            /// Its one-line summary.
            pub const fn summary(self) -> &'static str {
                match self { #( OperationId::#variants => #summaries, )* }
            }

            /// The security scheme it requires, if any.
            pub const fn security(self) -> Option<SecurityScheme> {
                match self { #( OperationId::#variants => #securities, )* }
            }

            /// Whether sending it again after a lost answer is harmless (`x-idempotent`, or a
            /// GET). An operation that is not creates something: it must be sent again only when
            /// the request provably never reached the server.
            pub const fn is_idempotent(self) -> bool {
                match self { #( OperationId::#variants => #idempotent, )* }
            }

            /// The operation with this `operationId`.
            pub fn from_name(name: &str) -> Option<OperationId> {
                OperationId::ALL.into_iter().find(|operation| operation.name() == name)
            }
        }

        impl ::std::fmt::Display for OperationId {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        /// A name that is not an `operationId` of the contract.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct UnknownOperation(pub ::std::string::String);

        impl ::std::fmt::Display for UnknownOperation {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, #unknown, self.0)
            }
        }

        impl ::std::error::Error for UnknownOperation {}

        impl ::std::str::FromStr for OperationId {
            type Err = UnknownOperation;
            fn from_str(name: &str) -> ::std::result::Result<Self, Self::Err> {
                OperationId::from_name(name).ok_or_else(|| UnknownOperation(name.to_owned()))
            }
        }

        impl ::serde::Serialize for OperationId {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for OperationId {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let name = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                name.parse().map_err(::serde::de::Error::custom)
            }
        }

        /// A security scheme of the contract.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum SecurityScheme {
            #( #[doc = #scheme_docs] #scheme_variants, )*
        }

        impl SecurityScheme {
            /// Every scheme, in the order of the contract.
            pub const ALL: [SecurityScheme; #scheme_count] = [#(SecurityScheme::#scheme_variants),*];

            /// Its name in the contract, e.g. `databaseToken`.
            pub const fn name(self) -> &'static str {
                match self { #( SecurityScheme::#scheme_variants => #scheme_names, )* }
            }

            /// Where its credential travels.
            pub const fn credential(self) -> Credential {
                match self { #( SecurityScheme::#scheme_variants => #credentials, )* }
            }
        }

        /// Where a security scheme's credential travels.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Credential {
            /// `Authorization: Bearer <token>`.
            Bearer,
            /// `Authorization: Basic <base64(user:password)>`; the password is the credential.
            Basic,
            /// The query parameter of this name.
            Query(&'static str),
            /// The header of this name.
            Header(&'static str),
        }
    }
}

/// `list_users` → `ListUsers`, `databaseToken` → `DatabaseToken`, `main_api` → `MainApi`.
pub fn pascal_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if c == '_' || c == '-' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The Rust identifier of a contract name.
pub fn ident(name: &str) -> Ident {
    Ident::new(&pascal_case(name), Span::call_site())
}

#[cfg(test)]
mod tests {
    use super::pascal_case;

    #[test]
    fn names_become_pascal_case() {
        assert_eq!(pascal_case("list_users"), "ListUsers");
        assert_eq!(pascal_case("databaseToken"), "DatabaseToken");
        assert_eq!(pascal_case("main_api"), "MainApi");
        assert_eq!(pascal_case("osc-secnum-fr1"), "OscSecnumFr1");
    }
}
