//! Generates the sandbox's `generated_api.rs`: for every tag of the contract a trait with one
//! method per operation (so an operation without a handler does not compile), a struct of each
//! operation's path parameters, and the routes that do for every operation what the contract
//! says: read the path, check the credential of the operation's security scheme, check the body
//! against its rule table and open its envelope, call the method, and answer in the contract's
//! status and envelope.
//!
//! The generated code calls a few hand-written helpers of the sandbox (`crate::http`) and its
//! error type (`crate::error::ApiError`), as the generated client calls `crate::RequestContext`.

use anyhow::{bail, ensure};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::contract::{Contract, Operation, SuccessBody};
use crate::envelopes::{Carried, carried};
use crate::operations::{ident, pascal_case};
use crate::replacements::{Replacement, rust_type};

/// Builds the token stream of the sandbox's operation traits and routes.
pub fn generate(contract: &Contract, replacements: &[Replacement]) -> anyhow::Result<TokenStream> {
    let mut tags: Vec<&str> = Vec::new();
    for operation in &contract.operations {
        if !tags.contains(&operation.tag.as_str()) {
            tags.push(&operation.tag);
        }
    }
    let mut items = Vec::new();
    let mut bounds = vec![quote!(Security)];
    for tag in &tags {
        let name = trait_name(tag);
        bounds.push(quote!(#name));
        let mut methods = Vec::new();
        for operation in contract.operations.iter().filter(|op| op.tag == *tag) {
            let shape = Shape::of(contract, replacements, operation)?;
            items.push(path_struct(operation));
            methods.push(shape.method(operation));
        }
        let doc = format!(" The operations tagged `{tag}`: the sandbox answers each in a method.");
        items.push(quote! {
            #[doc = #doc]
            pub trait #name: Send + Sync + 'static {
                #(#methods)*
            }
        });
    }
    let mut routes = Vec::new();
    let mut handlers = Vec::new();
    for operation in &contract.operations {
        let shape = Shape::of(contract, replacements, operation)?;
        let (route, handler) = shape.route(contract, operation, &bounds)?;
        routes.push(route);
        handlers.push(handler);
    }
    let count = contract.operations.len();
    Ok(quote! {
        //! The sandbox's side of every operation of openapi.yaml: a trait per tag, whose methods
        //! the sandbox implements, and the routes that call them as the contract says.

        use std::sync::Arc;

        use axum::body::Bytes;
        use axum::extract::rejection::{BytesRejection, PathRejection};
        use axum::extract::{Path, RawQuery};
        use axum::http::{HeaderMap, StatusCode};
        use axum::response::{IntoResponse as _, Response};
        use axum::routing::{MethodFilter, MethodRouter, on};
        use scalingo_db_generated::{Envelope as _, OperationId, SecurityScheme};

        use crate::error::ApiError;

        /// What a method receives: the path's parameters, the body's content (what its envelope
        /// carries, checked against the contract's rules) and the headers.
        #[derive(Debug)]
        pub struct Request<P, B = ()> {
            /// The path parameters.
            pub path: P,
            /// The body's content.
            pub body: B,
            /// The request's headers.
            pub headers: HeaderMap,
        }

        /// Checks credentials, as the contract's security schemes require them.
        pub trait Security: Send + Sync + 'static {
            /// Whether `credential` (taken from where `scheme` says it travels; `None` when
            /// absent) may call an operation whose path names `scope` (parameter, value).
            fn authorize(
                &self,
                scheme: SecurityScheme,
                credential: Option<&str>,
                scope: &[(&'static str, &str)],
            ) -> Result<(), ApiError>;
        }

        #(#items)*

        /// Every operation of the contract and its handler on the contract's method.
        pub fn routes<A>(api: Arc<A>) -> Vec<(OperationId, MethodRouter)>
        where
            A: #(#bounds)+*,
        {
            let mut routes = Vec::with_capacity(#count);
            #(#routes)*
            routes
        }

        #(#handlers)*
    })
}

/// `users` → `UsersApi`.
fn trait_name(tag: &str) -> Ident {
    Ident::new(&format!("{}Api", pascal_case(tag)), Span::call_site())
}

/// `list_users` → `ListUsersPath`.
fn path_name(operation: &Operation) -> Ident {
    Ident::new(
        &format!("{}Path", pascal_case(&operation.id)),
        Span::call_site(),
    )
}

/// The type of an operation's path parameters: its struct, or `()` when it has none.
fn path_type(operation: &Operation) -> TokenStream {
    if operation.path_params.is_empty() {
        quote!(())
    } else {
        let name = path_name(operation);
        quote!(#name)
    }
}

fn path_struct(operation: &Operation) -> TokenStream {
    if operation.path_params.is_empty() {
        return quote!();
    }
    let name = path_name(operation);
    let doc = format!(" The path parameters of `{}`.", operation.id);
    let fields = operation
        .path_params
        .iter()
        .map(|param| Ident::new(param, Span::call_site()));
    let field_docs = operation
        .path_params
        .iter()
        .map(|param| format!(" `{{{param}}}`."));
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, serde::Deserialize)]
        pub struct #name {
            #( #[doc = #field_docs] pub #fields: String, )*
        }
    }
}

/// What an operation's method takes and gives.
struct Shape {
    /// The request body's schema and its content's type, if there is a body.
    body: Option<(syn::Type, syn::Type)>,
    answer: Answer,
}

enum Answer {
    /// No body, with this status.
    Empty(u16),
    /// JSON of this schema (its content given by the method), with this status.
    Json {
        status: u16,
        schema: Box<syn::Type>,
        content: Box<syn::Type>,
    },
    /// The method builds the response itself (a binary body, several statuses).
    Raw,
}

impl Shape {
    fn of(
        contract: &Contract,
        replacements: &[Replacement],
        operation: &Operation,
    ) -> anyhow::Result<Shape> {
        let body = match &operation.request_body {
            Some(schema) => Some((
                sandbox_type(&rust_type(replacements, schema))?,
                sandbox_type(&content_type(contract, replacements, schema)?)?,
            )),
            None => None,
        };
        let answer = match operation.success.as_slice() {
            [only] => match &only.body {
                SuccessBody::Empty => Answer::Empty(only.status),
                SuccessBody::Json(schema) => Answer::Json {
                    status: only.status,
                    schema: Box::new(sandbox_type(&rust_type(replacements, schema))?),
                    content: Box::new(sandbox_type(&content_type(
                        contract,
                        replacements,
                        schema,
                    )?)?),
                },
                SuccessBody::Binary => Answer::Raw,
            },
            several => {
                ensure!(
                    several
                        .iter()
                        .all(|success| success.body == SuccessBody::Binary),
                    "{}: several success statuses are supported for binary bodies only",
                    operation.id
                );
                Answer::Raw
            }
        };
        Ok(Shape { body, answer })
    }

    fn method(&self, operation: &Operation) -> TokenStream {
        let name = Ident::new(&operation.id, Span::call_site());
        let path = path_type(operation);
        let request = match &self.body {
            Some((_, content)) => quote!(Request<#path, #content>),
            None => quote!(Request<#path>),
        };
        let output = match &self.answer {
            Answer::Empty(_) => quote!(()),
            Answer::Json { content, .. } => quote!(#content),
            Answer::Raw => quote!(Response),
        };
        let doc = format!(
            " `{}`: {} (`{} {}`).",
            operation.id, operation.summary, operation.method, operation.path
        );
        quote! {
            #[doc = #doc]
            fn #name(&self, request: #request)
                -> impl Future<Output = Result<#output, ApiError>> + Send;
        }
    }

    /// The statement that adds the operation's route, and the function it calls.
    fn route(
        &self,
        contract: &Contract,
        operation: &Operation,
        bounds: &[TokenStream],
    ) -> anyhow::Result<(TokenStream, TokenStream)> {
        let name = Ident::new(&operation.id, Span::call_site());
        let variant = ident(&operation.id);
        let path = path_type(operation);
        let filter = match operation.method.as_str() {
            "GET" => quote!(MethodFilter::GET),
            "POST" => quote!(MethodFilter::POST),
            "PUT" => quote!(MethodFilter::PUT),
            "PATCH" => quote!(MethodFilter::PATCH),
            "DELETE" => quote!(MethodFilter::DELETE),
            other => bail!("{}: method {other} is not supported", operation.id),
        };
        let authorize = match &operation.security {
            Some(scheme) => {
                let scheme_variant = ident(&contract.scheme(scheme).name);
                let scope = operation.path_params.iter().map(|param| {
                    let field = Ident::new(param, Span::call_site());
                    quote!((#param, path.#field.as_str()))
                });
                quote! {
                    let scheme = SecurityScheme::#scheme_variant;
                    let credential = crate::http::credential(scheme.credential(), &headers, query.as_deref());
                    api.authorize(scheme, credential.as_deref(), &[#(#scope),*])?;
                }
            }
            // Nothing reads the query of an operation without a credential in it.
            None => quote!(let _ = query;),
        };
        // A body that cannot be read (too large, a broken chunked encoding, one that stopped
        // arriving) is refused in the contract's error shape, after the credential is checked.
        let body = match &self.body {
            Some((schema, _)) => {
                let table = Ident::new(&operation.id.to_uppercase(), Span::call_site());
                quote! {
                    let body = body.map_err(crate::http::bad_body)?;
                    let body = crate::http::json_body::<#schema>(
                        &body,
                        scalingo_db_generated::rules::tables::#table,
                    )?
                    .into_inner();
                }
            }
            None => quote!(body.map_err(crate::http::bad_body)?; let body = ();),
        };
        let call = quote!(api.#name(Request { path, body, headers }).await?);
        let answer = match &self.answer {
            Answer::Empty(status) => quote! {
                #call;
                Ok(StatusCode::from_u16(#status).unwrap_or(StatusCode::NO_CONTENT).into_response())
            },
            Answer::Json { status, schema, .. } => quote! {
                let answer = #call;
                Ok(crate::http::json_answer(#status, &<#schema as scalingo_db_generated::Envelope>::wrap(answer)))
            },
            Answer::Raw => quote!(Ok(#call)),
        };
        // axum refuses a `Path` extractor on a route without parameters.
        let (path_argument, path_parameter, read_path) = if operation.path_params.is_empty() {
            (quote!(), quote!(), quote!(let path = ();))
        } else {
            (
                quote!(path: Result<Path<#path>, PathRejection>,),
                quote!(path,),
                quote!(let Path(path) = path.map_err(crate::http::bad_path)?;),
            )
        };
        let route = quote! {
            {
                let api = Arc::clone(&api);
                routes.push((
                    OperationId::#variant,
                    on(#filter, move |#path_argument
                                      RawQuery(query): RawQuery,
                                      headers: HeaderMap,
                                      body: Result<Bytes, BytesRejection>| async move {
                        #name(&*api, #path_parameter query, headers, body).await
                    }),
                ));
            }
        };
        let doc = format!(" Serves `{}`.", operation.id);
        let handler = quote! {
            #[doc = #doc]
            async fn #name<A>(
                api: &A,
                #path_argument
                query: Option<String>,
                headers: HeaderMap,
                body: Result<Bytes, BytesRejection>,
            ) -> Response
            where
                A: #(#bounds)+*,
            {
                let outcome: Result<Response, ApiError> = async {
                    #read_path
                    #authorize
                    #body
                    #answer
                }
                .await;
                outcome.unwrap_or_else(|error| error.into_response())
            }
        };
        Ok((route, handler))
    }
}

/// The Rust type of what a body schema carries.
fn content_type(
    contract: &Contract,
    replacements: &[Replacement],
    schema: &str,
) -> anyhow::Result<String> {
    Ok(match carried(contract, replacements, schema)? {
        Carried::Itself => rust_type(replacements, schema),
        Carried::Field { rust_type, .. } | Carried::WrappedOrBare { rust_type, .. } => rust_type,
    })
}

/// A type of the generated crate, as the sandbox crate names it.
fn sandbox_type(text: &str) -> anyhow::Result<syn::Type> {
    Ok(syn::parse_str(
        &text.replace("crate::", "scalingo_db_generated::"),
    )?)
}
