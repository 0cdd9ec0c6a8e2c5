//! The scratch database a verification restores into, and the guard that keeps it from being the
//! production one: a restore runs `pg_restore --clean`, which drops what the dump holds before
//! recreating it, so a mistyped URL must not reach the database the app runs on.

use std::fmt;

use percent_encoding::percent_decode_str;
use url::Url;

use crate::DatabaseInfo;
use crate::error::{Error, Result};

/// A PostgreSQL database to restore into, parsed from its URL (`postgres://user:password@host:
/// port/name`). Its password is never shown: not by `Debug`, `Display` nor in errors, and it
/// reaches `pg_restore` and `psql` through their environment, not their arguments.
#[derive(Clone)]
pub struct RestoreTarget {
    url: Url,
}

impl RestoreTarget {
    /// Parses a `postgres://` or `postgresql://` URL naming a host and a database.
    pub fn parse(text: &str) -> Result<RestoreTarget> {
        let refuse = |rule: &str| {
            Error::invalid_input(format!(
                "restore_into {rule} (e.g. postgres://user:password@localhost:5432/scratch)"
            ))
        };
        let url = Url::parse(text).map_err(|_| refuse("must be a database URL"))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(refuse(
                "must be a postgres:// URL: only PostgreSQL dumps are restored",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(refuse("must name a host"));
        }
        let target = RestoreTarget { url };
        if target.database().is_empty() {
            return Err(refuse("must name a database, after the host"));
        }
        Ok(target)
    }

    /// The database's name.
    pub fn database(&self) -> &str {
        self.url.path().trim_start_matches('/')
    }

    /// The host.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The port, PostgreSQL's own when the URL gives none.
    pub fn port(&self) -> u16 {
        self.url.port().unwrap_or(5432)
    }

    /// The URL without its password, for `--dbname` and reports.
    pub fn without_password(&self) -> String {
        let mut url = self.url.clone();
        // Cannot fail: the URL has a host (checked in `parse`).
        let _ = url.set_password(None);
        url.to_string()
    }

    /// Whether the URL carries a password.
    pub fn has_password(&self) -> bool {
        self.url.password().is_some()
    }

    /// The password, for the tools' environment (`PGPASSWORD`), if the URL has one.
    pub(super) fn password(&self) -> Option<String> {
        self.url.password().map(|password| {
            percent_decode_str(password)
                .decode_utf8_lossy()
                .into_owned()
        })
    }

    /// Refuses a target that looks like the production database: the same host and database as
    /// one of `production_urls` (the app's `SCALINGO_POSTGRESQL_URL`, `DATABASE_URL`, ...), a host
    /// of `database`'s instances, or a database named as Scalingo names the production one
    /// (its `resource_id`).
    pub fn refuse_production(
        &self,
        database: Option<&DatabaseInfo>,
        production_urls: &[String],
    ) -> Result<()> {
        let refuse = |why: String| {
            Error::invalid_input(format!(
                "restore_into {} looks like the production database: {why}; restore into a \
                 scratch database",
                self.without_password()
            ))
        };
        for production in production_urls {
            if let Ok(production) = RestoreTarget::parse(production)
                && production.host().eq_ignore_ascii_case(self.host())
                && production.port() == self.port()
                && production.database() == self.database()
            {
                return Err(refuse(
                    "the same host, port and database as the app's URL".into(),
                ));
            }
        }
        if let Some(database) = database {
            let hosts = database
                .instances
                .iter()
                .filter_map(|instance| instance.hostname.as_deref())
                .chain(database.hostname.as_deref());
            for host in hosts {
                if host.eq_ignore_ascii_case(self.host()) {
                    return Err(refuse(format!(
                        "{host} is a host of database {}",
                        database.id
                    )));
                }
            }
            if database.resource_id.as_deref() == Some(self.database()) {
                return Err(refuse(format!(
                    "`{}` is the name of database {}",
                    self.database(),
                    database.id
                )));
            }
        }
        Ok(())
    }
}

impl fmt::Debug for RestoreTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RestoreTarget")
            .field(&self.without_password())
            .finish()
    }
}

impl fmt::Display for RestoreTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.without_password())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_kept_out_of_every_rendering_and_decoded_for_the_tools() {
        let target =
            RestoreTarget::parse("postgres://me:p%40ss%2Bw@localhost:5433/scratch").unwrap();
        for shown in [
            format!("{target:?}"),
            target.to_string(),
            target.without_password(),
        ] {
            assert!(!shown.contains("p%40ss"), "{shown}");
            assert!(shown.contains("localhost:5433/scratch"), "{shown}");
        }
        assert_eq!(target.password().as_deref(), Some("p@ss+w"));
        assert_eq!(target.database(), "scratch");
    }

    #[test]
    fn urls_that_name_no_postgres_database_are_refused_by_rule() {
        for (url, rule) in [
            ("scratch", "must be a database URL"),
            ("mysql://h/db", "postgres:// URL"),
            ("postgres://localhost", "must name a database"),
            ("postgres://localhost/", "must name a database"),
        ] {
            let error = RestoreTarget::parse(url).unwrap_err().to_string();
            assert!(error.contains(rule), "{url}: {error}");
            assert!(error.contains("restore_into"), "{url}: {error}");
        }
    }

    #[test]
    fn the_production_database_is_refused_by_url_host_and_name() {
        let target =
            RestoreTarget::parse("postgres://u:secret@db.example:5432/my_app_4553").unwrap();
        let same = ["postgresql://other:pw@db.example/my_app_4553".to_owned()];
        let error = target
            .refuse_production(None, &same)
            .unwrap_err()
            .to_string();
        assert!(error.contains("same host, port and database"), "{error}");
        assert!(!error.contains("secret"), "{error}");

        let other_port = ["postgres://u:pw@db.example:5433/my_app_4553".to_owned()];
        target.refuse_production(None, &other_port).unwrap();

        let mut database: DatabaseInfo = serde_json::from_value(serde_json::json!({
            "id": "ad-1", "features": [], "flags": [], "instances": [
                {"hostname": "DB.example"}
            ], "periodic_backups_scheduled_at": []
        }))
        .unwrap();
        let error = target
            .refuse_production(Some(&database), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("is a host of database ad-1"), "{error}");

        database.instances.clear();
        database.resource_id = Some("my_app_4553".to_owned());
        let error = target
            .refuse_production(Some(&database), &[])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`my_app_4553` is the name of database ad-1"),
            "{error}"
        );

        database.resource_id = Some("other_app".to_owned());
        target.refuse_production(Some(&database), &[]).unwrap();
    }
}
