//! Secrets as the wire types hold them: serialized as the plain strings the API expects, never
//! shown by `Debug`.
//!
//! progenitor is told (by `cargo xtask codegen`) to use these types for the contract's schemas
//! marked `x-secret: <Type>`, so no generated struct can print one. Their JSON Schema is the
//! contract's: a string, of format `password` (or `uri` for a link).

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident, format = $format:literal) => {
        $(#[$doc])*
        ///
        /// Its `Debug` prints only the type's name; the text is reachable through `expose`, so
        /// every place that reveals it is easy to find.
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a secret.
            pub fn new(secret: impl Into<String>) -> Self {
                Self(SecretString::from(secret.into()))
            }

            /// The secret in clear. Call it only where it must leave the process (a request) or be
            /// shown on purpose to the person who asked for it.
            pub fn expose(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.expose() == other.expose()
            }
        }

        impl Eq for $name {}

        impl From<String> for $name {
            fn from(secret: String) -> Self {
                Self::new(secret)
            }
        }

        impl From<&str> for $name {
            fn from(secret: &str) -> Self {
                Self::new(secret)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.expose())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::new)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "format": $format })
            }
        }
    };
}

secret_string!(
    /// A database user's password (or one the API generated and answers once).
    Password,
    format = "password"
);

secret_string!(
    /// A bearer token: a user token or a database token the API answers (a JWT), or an API
    /// token a caller gives.
    Token,
    format = "password"
);

secret_string!(
    /// A pre-signed link to a backup's archive: its query string is a credential.
    ArchiveUrl,
    format = "uri"
);

#[cfg(test)]
mod tests {
    use super::{ArchiveUrl, Password, Token};

    #[test]
    fn debug_never_shows_the_secret() {
        let password = Password::new("hunter2-hunter2-hunter2-hunter2");
        let token = Token::new("eyJhbGciOi.hunter2.sig");
        let link = ArchiveUrl::new("https://x/download?token=hunter2");
        let shown = format!(
            "{password:?} {:?} {token:?} {link:?}",
            Some(password.clone())
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(
            shown,
            "Password(<redacted>) Some(Password(<redacted>)) Token(<redacted>) ArchiveUrl(<redacted>)"
        );
        assert_eq!(password.expose(), "hunter2-hunter2-hunter2-hunter2");
    }

    #[test]
    fn serializes_as_the_plain_string() {
        let password: Password = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(serde_json::to_string(&password).unwrap(), "\"abc\"");
    }
}
