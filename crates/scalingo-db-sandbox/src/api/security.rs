//! Who may call what: every security scheme of the contract, decided in one place. The generated
//! routes take the credential from where its scheme says and pass the path's parameters as the
//! scope; a scheme added to the contract does not compile until it is decided here.

use scalingo_db_generated::SecurityScheme;

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
            SecurityScheme::DatabaseToken => {
                Grant::Database(parameter(scheme, scope, "database_id")?.to_owned())
            }
            SecurityScheme::ArchiveLink => Grant::Archive {
                database: parameter(scheme, scope, "database_id")?.to_owned(),
                backup: parameter(scheme, scope, "backup_id")?.to_owned(),
            },
        };
        store.check_token(credential, &grant)
    }
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
