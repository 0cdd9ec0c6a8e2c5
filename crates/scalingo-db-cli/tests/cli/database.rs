//! `scalingo-db database show` against the embedded sandbox: what a person reads (a snapshot),
//! what a script reads (`--json`), and the database that does not exist.

use insta::assert_snapshot;

use crate::support::Workdir;

#[test]
fn showing_the_database_prints_its_details_and_json_the_apis_object() {
    let work = Workdir::new();
    let _snapshots = work.snapshot_settings().bind_to_scope();

    let run = work.run(["database", "show"]).expect(0);
    assert_snapshot!("database_show", run.stdout);

    let database = work.json(["database", "show"]);
    assert_eq!(database["type_name"], "postgresql", "{database}");
    assert_eq!(database["status"], "running", "{database}");
    assert_eq!(database["periodic_backups_enabled"], true, "{database}");
    // The id the backups report as theirs: the database's internal id, not the addon id.
    let backup = work.done_backup();
    assert_eq!(database["id"], backup["database_id"], "{database}");
    assert_ne!(database["id"], "ad-5a4b0d7e-sandbox-postgresql");
}

#[test]
fn showing_another_engine_names_it() {
    let work = Workdir::new();
    let redis = work.json(["--addon", "ad-5a4b0d7e-sandbox-redis", "database", "show"]);
    assert_eq!(redis["type_name"], "redis", "{redis}");
    let features: Vec<&str> = redis["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|feature| feature["name"].as_str())
        .collect();
    assert!(features.contains(&"redis-rdb"), "{redis}");
}

#[test]
fn an_unknown_database_is_not_found() {
    let work = Workdir::new();
    // The token flow asks the app's addon for a token first: that is what is not found.
    work.run(["--addon", "ad-nope", "database", "show"])
        .fails(4, &["addon was not found"]);
}
