//! A password as the wire types hold it: serialized as the plain string the API expects, never
//! shown by `Debug` or `Display`.

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A password (or a generated one the API answers). Its `Debug` prints `Password(<redacted>)`.
///
/// The text is reachable only through [`Password::expose`], so every place that reveals a
/// password is easy to find.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(SecretString::from(password.into()))
    }

    /// The password in clear. Call it only where the password must leave the process (the
    /// request body) or be shown on purpose to the person who asked for it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Password {}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self::new(password)
    }
}

impl From<&str> for Password {
    fn from(password: &str) -> Self {
        Self::new(password)
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn debug_never_shows_the_password() {
        let password = Password::new("hunter2-hunter2-hunter2-hunter2");
        let shown = format!("{password:?} {:?}", Some(password.clone()));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(password.expose(), "hunter2-hunter2-hunter2-hunter2");
    }

    #[test]
    fn serializes_as_the_plain_string() {
        let password: Password = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(serde_json::to_string(&password).unwrap(), "\"abc\"");
    }
}
