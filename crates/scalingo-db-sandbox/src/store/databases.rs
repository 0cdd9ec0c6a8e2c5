//! A database as the Database API describes it: what the sandbox keeps of it (its engine, app,
//! creation time, backup schedule and operations) and what it makes up the way the platform sets
//! it (a plan, a version, an instance, a maintenance window), stable from run to run.

use chrono::{DateTime, Utc};
use scalingo_db_generated::types::{
    Database as DatabaseView, DatabaseFeature, DatabaseInstance, MaintenanceWindow,
};
use scalingo_db_generated::{
    DatabaseStatus, DatabaseTypeName, FeatureStatus, InstanceStatus, InstanceType,
};

use super::{Database, Lifecycle, OperationLifecycle, fnv, hex_id};
use crate::config::DatabaseType;

impl Database {
    /// The database as `get_database` answers it at `now`: `restoring` while an operation is
    /// under way (which it names), and for PostgreSQL the start of its recovery window.
    pub fn view(
        &self,
        lifecycle: Lifecycle,
        operations: OperationLifecycle,
        now: DateTime<Utc>,
    ) -> DatabaseView {
        let current_operation = self.current_operation(operations, now);
        let status = match current_operation {
            Some(_) => DatabaseStatus::Restoring,
            None => DatabaseStatus::Running,
        };
        let first_pitr_backup = if self.kind.supports_pitr() {
            self.recovery_window(lifecycle, now).earliest_recoverable_at
        } else {
            None
        };
        let kind = self.kind.name();
        let resource_id = self.default_user_name();
        let host = format!("{}.{kind}.sandbox.localhost", resource_id.replace('_', "-"));
        let port = 30_000 + i32::try_from(fnv(&self.id) % 1000).unwrap_or_default();
        let version = engine_version(self.kind);
        let mongo_repl_set_name =
            (self.kind == DatabaseType::Mongodb).then(|| format!("{resource_id}-rs"));
        DatabaseView {
            id: self.internal_id(),
            resource_id: Some(resource_id),
            app_name: Some(self.app.clone()),
            created_at: Some(self.created_at(now)),
            encryption_at_rest: Some(true),
            plan: Some(format!("{kind}-sandbox")),
            status: Some(status),
            type_id: Some(hex_id(kind)),
            type_name: Some(DatabaseTypeName::from(kind)),
            version_id: Some(hex_id(&format!("{kind}:{version}"))),
            readable_version: Some(version.to_owned()),
            next_version_id: None,
            hostname: Some(format!("{host}:{port}")),
            instances: vec![DatabaseInstance {
                id: Some(hex_id(&format!("{}:node", self.id))),
                hostname: Some(host),
                port: Some(port),
                status: Some(InstanceStatus::Running),
                type_: Some(InstanceType::DbNode),
                private_ip: Some(format!("10.0.{}.{}", fnv(&self.id) % 250, 10)),
            }],
            features: features(self.kind),
            current_operation_id: current_operation.map(|operation| operation.id.clone()),
            cluster: Some(false),
            periodic_backups_enabled: Some(self.schedule.enabled),
            periodic_backups_scheduled_at: self.schedule.hours.clone(),
            maintenance_window: Some(MaintenanceWindow {
                weekday_utc: i32::try_from(fnv(&self.app) % 7).ok(),
                starting_hour_utc: Some(21),
                duration_in_hour: Some(8),
            }),
            mongo_repl_set_name,
            first_pitr_backup,
            flags: Vec::new(),
        }
    }

    /// When it was created; a state file written before the sandbox kept it gives the time of
    /// its oldest backup, or `now`.
    pub fn created_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.created_at
            .or_else(|| self.backups.first().map(|backup| backup.created_at))
            .unwrap_or(now)
    }
}

/// The version a sandbox database of `kind` runs, as the platform writes it.
fn engine_version(kind: DatabaseType) -> &'static str {
    match kind {
        DatabaseType::Postgresql => "15.10.0-1",
        DatabaseType::Mysql => "8.0.39-1",
        DatabaseType::Mongodb => "7.0.14-1",
        DatabaseType::Influxdb => "1.8.10-1",
        DatabaseType::Redis => "7.2.6-1",
        DatabaseType::Opensearch => "2.17.1-1",
        DatabaseType::Elasticsearch => "7.10.2-1",
    }
}

/// The features a sandbox database of `kind` has on: TLS everywhere, persistence for Redis.
fn features(kind: DatabaseType) -> Vec<DatabaseFeature> {
    let on = |name: &str| DatabaseFeature {
        name: name.to_owned(),
        status: Some(FeatureStatus::Activated),
    };
    match kind {
        DatabaseType::Redis => vec![on("force-ssl"), on("redis-rdb")],
        _ => vec![on("force-ssl")],
    }
}
