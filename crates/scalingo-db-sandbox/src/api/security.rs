//! Who may call what: every security scheme of the contract, decided in one place. The generated
//! routes take the credential from where its scheme says and pass the path's parameters as the
//! scope; a scheme added to the contract does not compile until it is decided here.

use scalingo_db_generated::{Credential, SecurityScheme};

use crate::error::ApiError;
use crate::generated_api::Security;
use crate::service::Service;
use crate::tokens::Grant;

impl Security for Service {
    fn authorize(
        &self,
        scheme: SecurityScheme,
        credential: Option<&str>,
        scope: &[(&'static str, &str)],
    ) -> Result<(), ApiError> {
        let store = self.store();
        let grant = match scheme {
            SecurityScheme::ApiToken => return store.check_api_token(credential),
            SecurityScheme::UserToken => Grant::User,
            // A path that names no database (`get_backup_by_id`) is the token's database's.
            SecurityScheme::DatabaseToken if !names(scope, "database_id") => {
                return store.token_database(credential).map(drop);
            }
            SecurityScheme::DatabaseToken => {
                Grant::Database(parameter(scheme, scope, "database_id")?.to_owned())
            }
            SecurityScheme::ArchiveLink => Grant::Archive {
                database: parameter(scheme, scope, "database_id")?.to_owned(),
                backup: parameter(scheme, scope, "backup_id")?.to_owned(),
            },
        };
        let Some(token) = credential else {
            return Err(ApiError::Unauthorized(missing(scheme)));
        };
        store.check_token(token, &grant)
    }
}

/// What a request without `scheme`'s credential lacks, said where the client would look: a link's
/// token is part of the link, not a header the client forgot.
fn missing(scheme: SecurityScheme) -> String {
    match (scheme, scheme.credential()) {
        (SecurityScheme::ArchiveLink, Credential::Query(parameter)) => format!(
            "the link's token is missing: an archive link carries it as its `{parameter}` query \
             parameter (get_backup_archive_url answers a new link)"
        ),
        (_, Credential::Bearer) => "a bearer token is required".to_owned(),
        (_, Credential::Basic) => "a token is required as the HTTP Basic password".to_owned(),
        (_, Credential::Query(parameter)) => {
            format!("the `{parameter}` query parameter is required")
        }
        (_, Credential::Header(header)) => format!("the `{header}` header is required"),
    }
}

/// Whether the path has the parameter `name`.
fn names(scope: &[(&'static str, &str)], name: &str) -> bool {
    scope.iter().any(|(parameter, _)| *parameter == name)
}

/// The path parameter `name` that `scheme`'s tokens are bound to. Its absence is a contract the
/// sandbox does not fit (an operation of that scheme on a path without it): a 500, never a pass.
fn parameter<'a>(
    scheme: SecurityScheme,
    scope: &[(&'static str, &'a str)],
    name: &str,
) -> Result<&'a str, ApiError> {
    scope
        .iter()
        .find(|(parameter, _)| *parameter == name)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            ApiError::Internal(format!(
                "the sandbox binds {} credentials to the path parameter `{name}`, which this \
                 operation lacks",
                scheme.name()
            ))
        })
}
