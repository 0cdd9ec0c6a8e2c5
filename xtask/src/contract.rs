//! The contract as the generators see it: `openapi.yaml` read once, checked for the facts the
//! generated code relies on (every operation has an id, a tag, one server, at most one security
//! requirement and, unless it is a GET, an `x-idempotent` verdict), and resolved into plain data.
//!
//! Every generator reads this model instead of walking the document itself, so a fact is looked
//! up (and refused when it is missing) in one place.

use anyhow::{Context as _, bail, ensure};
use openapiv3::{
    MediaType, OpenAPI, Operation as SpecOperation, Parameter, PathItem, ReferenceOr, RequestBody,
    Response, Schema, StatusCode,
};

/// The extension that says whether an operation may be sent again after a lost answer.
const IDEMPOTENT: &str = "x-idempotent";
/// The extension that names a server.
const SERVER_NAME: &str = "x-name";
/// The extension that describes each value of a server variable's `enum`.
const ENUM_DESCRIPTIONS: &str = "x-enum-descriptions";

/// The contract, resolved.
pub struct Contract {
    /// The document as parsed.
    pub spec: OpenAPI,
    /// Every operation, in the order of the document.
    pub operations: Vec<Operation>,
    /// Every server, named by its `x-name`, in the order first met.
    pub servers: Vec<Server>,
    /// The values of the `region` server variable, which every regional server shares.
    pub regions: Vec<Region>,
    /// The security schemes, in the order of the document.
    pub schemes: Vec<Scheme>,
}

/// One operation.
pub struct Operation {
    /// The `operationId`, e.g. `list_users`.
    pub id: String,
    /// The HTTP method, upper-case.
    pub method: String,
    /// The path template, e.g. `/databases/{database_id}/users`.
    pub path: String,
    /// The `x-name` of the server it is served on.
    pub server: String,
    /// Its first tag.
    pub tag: String,
    /// Its one-line summary.
    pub summary: String,
    /// The security scheme it requires, if any.
    pub security: Option<String>,
    /// Whether sending it again after a lost answer is harmless.
    pub idempotent: bool,
    /// The names of its path parameters, in the order of the template.
    pub path_params: Vec<String>,
    /// The component schema of its JSON request body, if it has one.
    pub request_body: Option<String>,
    /// Its success answers.
    pub success: Vec<Success>,
}

/// One success answer of an operation.
pub struct Success {
    /// The status code.
    pub status: u16,
    /// What its body is.
    pub body: SuccessBody,
}

/// The body of a success answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuccessBody {
    /// No body (204).
    Empty,
    /// JSON of this component schema.
    Json(String),
    /// Bytes (`application/octet-stream`).
    Binary,
}

/// A server, with the `{region}` placeholder where its URL has one.
pub struct Server {
    /// Its `x-name`, e.g. `database_api`.
    pub name: String,
    /// Its URL template, e.g. `https://db-api.{region}.scalingo.com/api`.
    pub url: String,
    /// Its description.
    pub description: String,
}

/// A value of the `region` server variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Its name, e.g. `osc-fr1`.
    pub name: String,
    /// What it is, e.g. `3DS Outscale, Paris`.
    pub description: String,
    /// Whether it is the variable's default.
    pub default: bool,
}

/// A security scheme and where its credential travels.
pub struct Scheme {
    /// Its name in `components.securitySchemes`, e.g. `databaseToken`.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Where the credential travels.
    pub credential: Credential,
}

/// Where a security scheme's credential travels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic <base64(user:password)>`; the password is the credential.
    Basic,
    /// A query parameter of this name.
    Query(String),
    /// A header of this name.
    Header(String),
}

/// Reads, parses and resolves the contract.
pub fn load(path: &std::path::Path) -> anyhow::Result<Contract> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let spec: OpenAPI =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    resolve(crate::alternatives::expand(spec)?)
}

/// Resolves a parsed contract.
pub fn resolve(spec: OpenAPI) -> anyhow::Result<Contract> {
    let schemes = schemes(&spec)?;
    let mut servers: Vec<Server> = Vec::new();
    let mut regions: Option<Vec<Region>> = None;
    let mut operations = Vec::new();
    for (path, path_item) in &spec.paths.paths {
        let ReferenceOr::Item(path_item) = path_item else {
            bail!("{path}: path items must not be references");
        };
        for (method, operation) in methods(path_item) {
            let id = operation
                .operation_id
                .clone()
                .with_context(|| format!("{method} {path} has no operationId"))?;
            let server = [&operation.servers, &path_item.servers, &spec.servers]
                .into_iter()
                .find(|servers| !servers.is_empty())
                .with_context(|| format!("{id} has no server"))?;
            ensure!(
                server.len() == 1,
                "{id}: one server per operation (with a `region` variable for regional hosts)"
            );
            let server = &server[0];
            let server_name = server_name(server, &id)?;
            if let Some(found) = region_variable(server, &id)? {
                match &regions {
                    Some(known) => ensure!(
                        *known == found,
                        "{id}: the `region` variable of server {server_name} differs from the \
                         other servers'"
                    ),
                    None => regions = Some(found),
                }
            }
            match servers.iter().find(|known| known.name == server_name) {
                Some(known) => ensure!(
                    known.url == server.url,
                    "{id}: server {server_name} has two URLs"
                ),
                None => servers.push(Server {
                    name: server_name.clone(),
                    url: server.url.clone(),
                    description: server.description.clone().unwrap_or_default(),
                }),
            }
            let security = security(&spec, operation, &schemes, &id)?;
            let idempotent = idempotent(operation, method, &id)?;
            operations.push(Operation {
                path_params: path_params(path),
                request_body: request_body(&spec, operation, &id)?,
                success: success(&spec, operation, &id)?,
                tag: operation
                    .tags
                    .first()
                    .cloned()
                    .with_context(|| format!("{id} has no tag"))?,
                summary: operation
                    .summary
                    .clone()
                    .with_context(|| format!("{id} has no summary"))?,
                method: method.to_uppercase(),
                path: path.clone(),
                server: server_name,
                security,
                idempotent,
                id,
            });
        }
    }
    let regions = regions.context("no server has a `region` variable")?;
    Ok(Contract {
        spec,
        operations,
        servers,
        regions,
        schemes,
    })
}

impl Contract {
    /// The component schema named `name`.
    pub fn schema(&self, name: &str) -> anyhow::Result<&Schema> {
        component_schema(&self.spec, name)
    }

    /// The security scheme named `name`.
    pub fn scheme(&self, name: &str) -> &Scheme {
        self.schemes
            .iter()
            .find(|scheme| scheme.name == name)
            .expect("operations name only schemes that resolve() found")
    }
}

/// The methods of a path item that carry an operation, lower-case, in a fixed order.
fn methods(item: &PathItem) -> impl Iterator<Item = (&'static str, &SpecOperation)> {
    [
        ("get", &item.get),
        ("put", &item.put),
        ("post", &item.post),
        ("delete", &item.delete),
        ("options", &item.options),
        ("head", &item.head),
        ("patch", &item.patch),
        ("trace", &item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_ref().map(|operation| (method, operation)))
}

fn server_name(server: &openapiv3::Server, id: &str) -> anyhow::Result<String> {
    server
        .extensions
        .get(SERVER_NAME)
        .and_then(|name| name.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{id}: server {} has no `{SERVER_NAME}`", server.url))
}

/// The values of the server's `region` variable, if its URL has one; any other variable is
/// refused (nothing would know how to fill it in).
fn region_variable(server: &openapiv3::Server, id: &str) -> anyhow::Result<Option<Vec<Region>>> {
    let variables = server.variables.as_ref();
    let names: Vec<&String> = variables.map(|v| v.keys().collect()).unwrap_or_default();
    ensure!(
        names.iter().all(|name| *name == "region"),
        "{id}: server {} has variables other than `region`: {names:?}",
        server.url
    );
    let has_placeholder = server.url.contains("{region}");
    let Some(variable) = variables.and_then(|variables| variables.get("region")) else {
        ensure!(
            !has_placeholder,
            "{id}: server {} uses {{region}} without declaring it",
            server.url
        );
        return Ok(None);
    };
    ensure!(
        has_placeholder,
        "{id}: server {} declares `region` but its URL does not use it",
        server.url
    );
    let descriptions: Vec<String> = variable
        .extensions
        .get(ENUM_DESCRIPTIONS)
        .and_then(|list| list.as_array())
        .with_context(|| format!("{id}: the `region` variable has no `{ENUM_DESCRIPTIONS}`"))?
        .iter()
        .map(|text| text.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .with_context(|| format!("{id}: `{ENUM_DESCRIPTIONS}` must list strings"))?;
    ensure!(
        descriptions.len() == variable.enumeration.len() && !descriptions.is_empty(),
        "{id}: the `region` variable needs one description per value"
    );
    ensure!(
        variable.enumeration.contains(&variable.default),
        "{id}: the `region` variable's default is not one of its values"
    );
    Ok(Some(
        variable
            .enumeration
            .iter()
            .zip(descriptions)
            .map(|(name, description)| Region {
                default: *name == variable.default,
                name: name.clone(),
                description,
            })
            .collect(),
    ))
}

fn schemes(spec: &OpenAPI) -> anyhow::Result<Vec<Scheme>> {
    let Some(components) = &spec.components else {
        return Ok(Vec::new());
    };
    let mut schemes = Vec::new();
    for (name, scheme) in &components.security_schemes {
        let ReferenceOr::Item(scheme) = scheme else {
            bail!("security scheme {name} must not be a reference");
        };
        use openapiv3::SecurityScheme as S;
        let (credential, description) = match scheme {
            S::HTTP {
                scheme,
                description,
                ..
            } => match scheme.to_ascii_lowercase().as_str() {
                "bearer" => (Credential::Bearer, description),
                "basic" => (Credential::Basic, description),
                other => bail!("security scheme {name}: HTTP scheme `{other}` is not supported"),
            },
            S::APIKey {
                location,
                name: parameter,
                description,
                ..
            } => match location {
                openapiv3::APIKeyLocation::Query => {
                    (Credential::Query(parameter.clone()), description)
                }
                openapiv3::APIKeyLocation::Header => {
                    (Credential::Header(parameter.clone()), description)
                }
                openapiv3::APIKeyLocation::Cookie => {
                    bail!("security scheme {name}: cookies are not supported")
                }
            },
            _ => bail!("security scheme {name}: only HTTP and apiKey schemes are supported"),
        };
        schemes.push(Scheme {
            name: name.clone(),
            description: description.clone().unwrap_or_default(),
            credential,
        });
    }
    Ok(schemes)
}

/// The one scheme an operation requires (its own `security`, else the document's), or none.
fn security(
    spec: &OpenAPI,
    operation: &SpecOperation,
    schemes: &[Scheme],
    id: &str,
) -> anyhow::Result<Option<String>> {
    let requirements = operation
        .security
        .as_ref()
        .or(spec.security.as_ref())
        .cloned()
        .unwrap_or_default();
    match requirements.as_slice() {
        [] => Ok(None),
        [requirement] => {
            let names: Vec<&String> = requirement.keys().collect();
            match names.as_slice() {
                [] => Ok(None),
                [name] => {
                    ensure!(
                        schemes.iter().any(|scheme| &scheme.name == *name),
                        "{id}: unknown security scheme {name}"
                    );
                    Ok(Some((*name).clone()))
                }
                _ => bail!("{id}: an operation may require one security scheme, not {names:?}"),
            }
        }
        _ => bail!("{id}: alternative security requirements are not supported"),
    }
}

/// GET is safe by HTTP's definition; every other method must say whether it may be repeated.
fn idempotent(operation: &SpecOperation, method: &str, id: &str) -> anyhow::Result<bool> {
    match operation.extensions.get(IDEMPOTENT) {
        Some(value) => value
            .as_bool()
            .with_context(|| format!("{id}: `{IDEMPOTENT}` must be true or false")),
        None if method == "get" => Ok(true),
        None => bail!(
            "{id}: a {} operation must say whether it may be sent again (`{IDEMPOTENT}: true` or \
             `false`)",
            method.to_uppercase()
        ),
    }
}

/// `/databases/{database_id}/users/{username}` → `["database_id", "username"]`.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

fn request_body(
    spec: &OpenAPI,
    operation: &SpecOperation,
    id: &str,
) -> anyhow::Result<Option<String>> {
    let Some(body) = &operation.request_body else {
        return Ok(None);
    };
    let body: &RequestBody = match body {
        ReferenceOr::Item(body) => body,
        ReferenceOr::Reference { reference } => {
            bail!("{id}: request body {reference} must be inline")
        }
    };
    ensure!(
        body.content.len() == 1,
        "{id}: a request body has one media type"
    );
    let media = body
        .content
        .get("application/json")
        .with_context(|| format!("{id}: request bodies are JSON"))?;
    Ok(Some(json_component(spec, media, id)?))
}

fn success(spec: &OpenAPI, operation: &SpecOperation, id: &str) -> anyhow::Result<Vec<Success>> {
    let mut answers = Vec::new();
    for (status, response) in &operation.responses.responses {
        let StatusCode::Code(status) = status else {
            continue;
        };
        if !(200..300).contains(status) {
            continue;
        }
        let response: &Response = match response {
            ReferenceOr::Item(response) => response,
            ReferenceOr::Reference { reference } => {
                bail!("{id}: success response {reference} must be inline")
            }
        };
        let body = match response.content.len() {
            0 => SuccessBody::Empty,
            1 => match response.content.iter().next() {
                Some((media_type, media)) if media_type == "application/json" => {
                    SuccessBody::Json(json_component(spec, media, id)?)
                }
                Some((media_type, _)) if media_type == "application/octet-stream" => {
                    SuccessBody::Binary
                }
                Some((media_type, _)) => bail!("{id}: unsupported success media type {media_type}"),
                None => unreachable!("one media type"),
            },
            _ => bail!("{id}: a success response has one media type"),
        };
        answers.push(Success {
            status: *status,
            body,
        });
    }
    ensure!(!answers.is_empty(), "{id} has no success response");
    Ok(answers)
}

/// The component a JSON body refers to: bodies are named schemas, so that every generated type
/// has a name a person chose.
fn json_component(spec: &OpenAPI, media: &MediaType, id: &str) -> anyhow::Result<String> {
    match &media.schema {
        Some(ReferenceOr::Reference { reference }) => {
            let name = component_name(reference)?;
            component_schema(spec, name)?;
            Ok(name.to_owned())
        }
        _ => bail!("{id}: a JSON body must be a $ref to a component schema"),
    }
}

/// `#/components/schemas/Backup` → `Backup`.
pub fn component_name(reference: &str) -> anyhow::Result<&str> {
    reference
        .strip_prefix("#/components/schemas/")
        .with_context(|| format!("unsupported reference {reference}"))
}

/// The component schema `name`, following a component that is itself a reference.
pub fn component_schema<'a>(spec: &'a OpenAPI, name: &str) -> anyhow::Result<&'a Schema> {
    let schema = spec
        .components
        .as_ref()
        .and_then(|components| components.schemas.get(name))
        .with_context(|| format!("unknown schema {name}"))?;
    resolve_schema(spec, schema)
}

/// A schema, or the component it refers to; `T` is `Schema` or `Box<Schema>` (properties).
pub fn resolve_schema<'a, T: std::borrow::Borrow<Schema>>(
    spec: &'a OpenAPI,
    schema: &'a ReferenceOr<T>,
) -> anyhow::Result<&'a Schema> {
    match schema {
        ReferenceOr::Item(schema) => Ok(schema.borrow()),
        ReferenceOr::Reference { reference } => component_schema(spec, component_name(reference)?),
    }
}

/// The path parameters of an operation declared on it or its path item must match its template;
/// anything else (query, cookie parameters) has no place in this API yet.
pub fn check_parameters(contract: &Contract) -> anyhow::Result<()> {
    for (path, item) in &contract.spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (_, operation) in methods(item) {
            let id = operation.operation_id.as_deref().unwrap_or(path);
            for parameter in item.parameters.iter().chain(&operation.parameters) {
                let parameter = match parameter {
                    ReferenceOr::Item(parameter) => parameter,
                    ReferenceOr::Reference { reference } => {
                        let name = reference
                            .strip_prefix("#/components/parameters/")
                            .with_context(|| format!("unsupported reference {reference}"))?;
                        match contract
                            .spec
                            .components
                            .as_ref()
                            .and_then(|components| components.parameters.get(name))
                        {
                            Some(ReferenceOr::Item(parameter)) => parameter,
                            _ => bail!("{id}: unknown parameter {reference}"),
                        }
                    }
                };
                match parameter {
                    Parameter::Path { .. } | Parameter::Header { .. } => {}
                    Parameter::Query { parameter_data, .. } => bail!(
                        "{id}: query parameter `{}` is not supported (a credential in the query \
                         is an apiKey security scheme)",
                        parameter_data.name
                    ),
                    Parameter::Cookie { parameter_data, .. } => {
                        bail!(
                            "{id}: cookie parameter `{}` is not supported",
                            parameter_data.name
                        )
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A contract of one operation with `operation` as its YAML body.
    fn contract(operation: &str) -> anyhow::Result<Contract> {
        let text = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\n\
             servers:\n  - url: https://x.{{region}}.example/api\n    x-name: x\n    \
             variables:\n      region:\n        default: r1\n        enum: [r1]\n        \
             x-enum-descriptions: [one]\n\
             paths:\n  /things/{{thing_id}}:\n    post:\n{operation}"
        );
        resolve(serde_yaml::from_str(&text).expect("a valid test spec"))
    }

    #[test]
    fn a_post_must_say_whether_it_may_be_repeated() {
        let body = "      operationId: make\n      tags: [t]\n      summary: s\n      \
                    responses:\n        '204': {description: done}\n";
        let error = contract(body).err().expect("refused").to_string();
        assert!(error.contains("`x-idempotent: true` or `false`"), "{error}");

        let marked = format!("{body}      x-idempotent: false\n");
        let resolved = contract(&marked).expect("resolved");
        let operation = &resolved.operations[0];
        assert!(!operation.idempotent);
        assert_eq!(operation.path_params, ["thing_id"]);
        assert_eq!(operation.server, "x");
        assert_eq!(resolved.regions[0].name, "r1");
        assert_eq!(operation.success[0].body, SuccessBody::Empty);
    }
}
