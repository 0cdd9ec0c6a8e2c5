//! The PostgreSQL server the `postgres` tests (here and in the CLI's) use: started by `tests/postgres/run.sh`, which
//! passes its superuser URL in `SCALINGO_DB_TEST_POSTGRES` and its programs' folder in
//! `SCALINGO_DB_TEST_POSTGRES_BIN`. Each test makes databases of its own, named uniquely, so the
//! tests run side by side.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use scalingo_db::verify::RestoreTarget;

/// The server, from the environment `tests/postgres/run.sh` sets.
pub struct TestPostgres {
    url: String,
    bin: PathBuf,
}

/// A table the seeded database holds, and its rows.
pub const SEEDED_ROWS: [(&str, u64); 4] = [
    ("billing.invoices", 1200),
    ("public.\"Order Lines\"", 500),
    ("public.accounts", 3000),
    ("public.empty_table", 0),
];

/// Several schemas and tables, a few thousand rows (some with newlines and an extension's type),
/// a quoted table name, an empty table, and a large object.
const SEED: &str = r#"
CREATE EXTENSION hstore;
CREATE SCHEMA billing;
CREATE TABLE public.accounts (id serial PRIMARY KEY, name text NOT NULL, attrs hstore);
INSERT INTO public.accounts (name, attrs)
  SELECT 'account ' || i, hstore('tier', (i % 3)::text) FROM generate_series(1, 3000) i;
CREATE TABLE billing.invoices (id serial PRIMARY KEY,
  account_id int REFERENCES public.accounts (id), total numeric(10, 2), note text);
INSERT INTO billing.invoices (account_id, total, note)
  SELECT 1 + i % 3000, i * 1.5, E'line\nbreak ' || i FROM generate_series(1, 1200) i;
CREATE TABLE public."Order Lines" (id int, qty int);
INSERT INTO public."Order Lines" SELECT i, i FROM generate_series(1, 500) i;
CREATE TABLE public.empty_table (id int);
SELECT lo_from_bytea(0, convert_to(repeat('large object ', 1000), 'UTF8'));
"#;

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl TestPostgres {
    /// The server; panics with how to start it when the environment does not name one.
    pub fn from_env() -> TestPostgres {
        let url = std::env::var("SCALINGO_DB_TEST_POSTGRES")
            .expect("SCALINGO_DB_TEST_POSTGRES: run the postgres tests with tests/postgres/run.sh");
        let bin = std::env::var("SCALINGO_DB_TEST_POSTGRES_BIN").expect(
            "SCALINGO_DB_TEST_POSTGRES_BIN: run the postgres tests with tests/postgres/run.sh",
        );
        RestoreTarget::parse(&url).expect("SCALINGO_DB_TEST_POSTGRES: a postgres URL");
        TestPostgres {
            url,
            bin: PathBuf::from(bin),
        }
    }

    /// The folder of its programs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// A new, empty database: its URL.
    pub fn create_database(&self, purpose: &str) -> String {
        let name = format!(
            "{purpose}_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        self.psql(&self.url, &format!("CREATE DATABASE {name}"));
        self.url_of(&name)
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        let mut url = url::Url::parse(&self.url).unwrap();
        url.set_path(name);
        url.to_string()
    }

    /// A database seeded with [`SEED`]: its URL.
    pub fn seeded_database(&self) -> String {
        let url = self.create_database("source");
        self.psql(&url, SEED);
        url
    }

    /// `pg_dump -Fc` of `url`, as Scalingo dumps a PostgreSQL database.
    pub fn dump(&self, url: &str) -> Vec<u8> {
        let output = self
            .command("pg_dump", url)
            .arg("--format=custom")
            .output()
            .expect("pg_dump runs");
        assert!(
            output.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// Runs `sql` in `url`, failing the test on any error; what it printed.
    pub fn psql(&self, url: &str, sql: &str) -> String {
        let output = self
            .command("psql", url)
            .args(["--no-psqlrc", "--quiet", "--tuples-only", "--no-align"])
            .args(["--set=ON_ERROR_STOP=1", "--command", sql])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// A command of the server's, connected to `url` with the password in its environment.
    fn command(&self, program: &str, url: &str) -> Command {
        let target = RestoreTarget::parse(url).unwrap();
        let mut command = Command::new(self.bin.join(program));
        command
            .arg(format!("--dbname={}", target.without_password()))
            .env("PGPASSWORD", self.password())
            .stdin(Stdio::null());
        command
    }

    /// The superuser's password, to check it shows nowhere.
    pub fn password(&self) -> String {
        let url = url::Url::parse(&self.url).unwrap();
        url.password().unwrap_or_default().to_owned()
    }
}
