//! [`Database`]: one database of a [`Client`], and the short path for a program that manages a
//! single database.

use std::sync::Arc;

use scalingo_db_generated::{OperationId, Region};

use crate::backups::Backups;
use crate::call::Call;
use crate::error::Result;
use crate::operations::Operations;
use crate::pitr::Pitr;
use crate::transport::never;
use crate::users::Users;
use crate::{Client, DatabaseInfo, Token};

/// A database of a [`Client`]: its users and backups.
///
/// Cheap to clone. From [`Client::database`] or [`Client::database_of`]; or, for a program that
/// manages one database, from [`Database::new`] or [`Database::from_api_token`]:
///
/// ```no_run
/// # async fn run() -> Result<(), scalingo_db::Error> {
/// use scalingo_db::{Database, Region};
///
/// let db = Database::new(Region::OscFr1, "ad-0c8fe5a2-…", std::env::var("DB_TOKEN").unwrap())?;
/// for user in db.users().list().await? {
///     println!("{}", user.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Database {
    client: Client,
    app: Option<Arc<str>>,
    addon_id: Arc<str>,
}

impl Database {
    pub(crate) fn new_of(client: Client, app: Option<String>, addon_id: String) -> Database {
        Database {
            client,
            app: app.map(Arc::from),
            addon_id: Arc::from(addon_id),
        }
    }

    /// The database `addon_id` in `region`, authenticated with its database token (the addon
    /// token the main API issues), used as it is.
    pub fn new(
        region: Region,
        addon_id: impl Into<String>,
        token: impl Into<Token>,
    ) -> Result<Database> {
        let addon_id = addon_id.into();
        let client = Client::builder()
            .region(region)
            .database_token(addon_id.clone(), token)
            .build()?;
        Ok(client.database(addon_id))
    }

    /// The database `addon_id` of `app` in `region`, authenticated with an API token: it is
    /// exchanged for a user token, then for the database's token, and both are cached until
    /// shortly before they expire.
    pub fn from_api_token(
        region: Region,
        app: impl Into<String>,
        addon_id: impl Into<String>,
        api_token: impl Into<Token>,
    ) -> Result<Database> {
        let client = Client::builder()
            .region(region)
            .api_token(api_token)
            .build()?;
        Ok(client.database_of(app, addon_id))
    }

    /// Its addon id (`ad-…`): the `database_id` of the Database API's paths. Not to be mistaken
    /// for [`Backup::database_id`](crate::Backup::database_id), the database's internal id.
    pub fn addon_id(&self) -> &str {
        &self.addon_id
    }

    /// The app it is attached to, when known (the token flow needs it).
    pub fn app(&self) -> Option<&str> {
        self.app.as_deref()
    }

    /// The client it belongs to, to reach other databases with the same credential.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What the Database API says of it: engine and version, status, plan, periodic backup
    /// schedule, features, maintenance window and instances.
    pub fn show(&self) -> Call<'_, DatabaseInfo> {
        Call::new(move |options| {
            Box::pin(async move {
                self.send(
                    OperationId::GetDatabase,
                    &[],
                    options,
                    never,
                    |api| async move { api.get_database(self.addon_id()).await },
                )
                .await
            })
        })
    }

    /// Its users.
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// Its backups, and their schedule.
    pub fn backups(&self) -> Backups<'_> {
        Backups::new(self)
    }

    /// Its point-in-time recovery (PostgreSQL only).
    pub fn pitr(&self) -> Pitr<'_> {
        Pitr::new(self)
    }

    /// Its long operations (a restore, an upgrade).
    pub fn operations(&self) -> Operations<'_> {
        Operations::new(self)
    }
}
