//! `get_database` against the sandbox: what it says of each engine, that it names the database
//! with the id its backups report, that the clock dates it, and its refusals.

use scalingo_db::{DatabaseStatus, DatabaseTypeName, Error, FeatureStatus, InstanceType};
use scalingo_db_sandbox::{DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE, Sandbox, SandboxConfig};

use crate::support::{database, manual_clock, sandbox_builder, sandbox_builder_of};

async fn start() -> Sandbox {
    let config = SandboxConfig {
        clock: manual_clock(),
        ..SandboxConfig::default()
    };
    Sandbox::start(config).await.expect("sandbox starts")
}

#[tokio::test]
async fn a_database_shows_its_engine_schedule_and_instance_and_the_id_its_backups_report() {
    let sandbox = start().await;
    let db = database(sandbox_builder(&sandbox), DEFAULT_DATABASE);

    let info = db.show().await.expect("shown");

    assert_eq!(info.type_name, Some(DatabaseTypeName::Postgresql));
    assert_eq!(info.status, Some(DatabaseStatus::Running));
    assert_eq!(info.periodic_backups_enabled, Some(true));
    assert_eq!(info.periodic_backups_scheduled_at, [0]);
    assert_eq!(info.app_name.as_deref(), Some("sandbox-app"));
    assert!(
        info.created_at
            .is_some_and(|created| created < sandbox.clock().now()),
        "{info:?}"
    );
    let [instance] = info.instances.as_slice() else {
        panic!("one instance: {info:?}");
    };
    assert_eq!(instance.type_, Some(InstanceType::DbNode));
    assert_eq!(
        info.features
            .iter()
            .map(|feature| (feature.name.as_str(), feature.status.clone()))
            .collect::<Vec<_>>(),
        [("force-ssl", Some(FeatureStatus::Activated))]
    );
    // The internal id: what backups report as `database_id`, never the addon id of the paths.
    let backup = db.backups().list().await.expect("listed").remove(0);
    assert_eq!(backup.database_id.as_deref(), Some(info.id.as_str()));
    assert_ne!(info.id, DEFAULT_DATABASE);
    // Backups are named after the resource.
    let resource = info.resource_id.expect("a resource id");
    assert!(
        backup.name.ends_with(&resource),
        "{} / {resource}",
        backup.name
    );
}

#[tokio::test]
async fn each_engine_is_named_and_has_its_features() {
    let sandbox = start().await;
    let redis = database(
        sandbox_builder_of(&sandbox, DEFAULT_REDIS_DATABASE),
        DEFAULT_REDIS_DATABASE,
    );
    let info = redis.show().await.expect("shown");
    assert_eq!(info.type_name, Some(DatabaseTypeName::Redis));
    let features: Vec<&str> = info.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(features, ["force-ssl", "redis-rdb"]);
}

#[tokio::test]
async fn a_database_keeps_its_creation_time_across_runs_and_others_are_refused() {
    let sandbox = start().await;
    let db = database(sandbox_builder(&sandbox), DEFAULT_DATABASE);
    let created = db.show().await.expect("shown").created_at;

    let config = SandboxConfig {
        state: Some(sandbox.state()),
        ..SandboxConfig::default()
    };
    let later = Sandbox::start(config).await.expect("sandbox starts");
    let again = database(sandbox_builder(&later), DEFAULT_DATABASE);
    assert_eq!(again.show().await.expect("shown").created_at, created);

    // A database token opens its own database only; an unknown one is not found.
    let other = database(
        sandbox_builder(&sandbox)
            .database_token("ad-elsewhere", sandbox.database_token(DEFAULT_DATABASE)),
        "ad-elsewhere",
    );
    match other.show().await {
        Err(Error::Unauthorized { .. }) => {}
        outcome => panic!("expected 401 for another database's token, got {outcome:?}"),
    }
    let unknown = database(sandbox_builder_of(&sandbox, "ad-unknown"), "ad-unknown");
    match unknown.show().await {
        Err(Error::NotFound { resource, .. }) => assert_eq!(resource.as_deref(), Some("database")),
        outcome => panic!("expected 404, got {outcome:?}"),
    }
}
