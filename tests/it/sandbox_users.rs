//! The users operations of the facade against the in-process sandbox: the protected default
//! user, generated passwords, duplicate names, updates and resets, unknown users, the server-side
//! rules (with client validation skipped), engines without user management, and user names that
//! need URL encoding.

use std::collections::BTreeSet;

use crate::support::{database, sandbox_builder_of};
use scalingo_db::requests::{CreateUserRequest, UserCreation};
use scalingo_db::{
    Database, DatabaseUser, Error, NewUser, Password, PasswordEncryption, Validation,
};
use scalingo_db_sandbox::{
    DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE, OperationId, Sandbox, SandboxConfig,
};

/// A valid password (24 characters).
const PASSWORD: &str = "correct-horse-battery-st";
/// Another valid password (26 characters).
const OTHER_PASSWORD: &str = "another-valid-password-026";

/// A sandbox with the default configuration and its database `id`, with `validation`.
async fn start(id: &str, validation: Validation) -> (Sandbox, Database) {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let db = database(sandbox_builder_of(&sandbox, id).validation(validation), id);
    (sandbox, db)
}

fn names(users: &[DatabaseUser]) -> Vec<&str> {
    users.iter().map(|user| user.name.as_str()).collect()
}

/// `sandbox_app_1234`: the app's name with `_` for `-`, then four digits.
fn is_default_user_name(name: &str) -> bool {
    name.strip_prefix("sandbox_app_")
        .is_some_and(|digits| digits.len() == 4 && digits.bytes().all(|byte| byte.is_ascii_digit()))
}

async fn protected_user(client: &Database) -> DatabaseUser {
    let users = client.users().list().await.expect("list");
    users
        .into_iter()
        .find(|user| user.protected)
        .expect("a protected user")
}

fn field_keys(error: &Error) -> BTreeSet<&str> {
    match error {
        Error::Unprocessable { errors, .. } => errors.keys().map(String::as_str).collect(),
        other => panic!("expected a 422, got {other:?}"),
    }
}

#[tokio::test]
async fn list_shows_the_protected_default_user_then_created_users_until_deleted() {
    let (_sandbox, client) = start(DEFAULT_DATABASE, Validation::Enforce).await;

    let users = client.users().list().await.expect("list");
    assert_eq!(users.len(), 1, "{:?}", names(&users));
    let default = &users[0];
    assert!(is_default_user_name(&default.name), "{}", default.name);
    assert!(default.protected);
    assert!(!default.read_only);
    assert!(default.password.is_none(), "a list never shows passwords");
    let encryption = default
        .dbms_attributes
        .as_ref()
        .and_then(|attributes| attributes.password_encryption.clone());
    assert_eq!(encryption, Some(PasswordEncryption::ScramSha256));

    let created = client
        .users()
        .create(NewUser::new("reporting").read_only(true))
        .await
        .expect("create");
    assert_eq!(created.name, "reporting");
    assert!(created.read_only);
    assert!(!created.protected);

    let users = client.users().list().await.expect("list");
    assert_eq!(names(&users).len(), 2, "{:?}", names(&users));
    let listed = users
        .iter()
        .find(|user| user.name == "reporting")
        .expect("the created user is listed");
    assert!(listed.read_only && !listed.protected);
    assert!(listed.password.is_none(), "a list never shows passwords");
    assert_eq!(
        listed
            .dbms_attributes
            .as_ref()
            .and_then(|attributes| attributes.password_encryption.clone()),
        Some(PasswordEncryption::ScramSha256)
    );

    client.users().delete("reporting").await.expect("delete");
    let users = client.users().list().await.expect("list");
    assert_eq!(names(&users), vec![default.name.as_str()]);
}

#[tokio::test]
async fn create_generates_a_password_only_when_none_is_given_and_refuses_taken_names() {
    let (_sandbox, client) = start(DEFAULT_DATABASE, Validation::Enforce).await;

    let generated = client
        .users()
        .create(NewUser::new("generated-one"))
        .await
        .expect("create without password");
    let password = generated.password.expect("a generated password");
    let length = password.expose().chars().count();
    assert!((24..=64).contains(&length), "{length}");
    assert_eq!(length, 32);

    let chosen = client
        .users()
        .create(NewUser::new("chosen-one").password(PASSWORD))
        .await
        .expect("create with password");
    assert!(
        chosen.password.is_none(),
        "a chosen password is not answered back"
    );

    let error = client
        .users()
        .create(NewUser::new("chosen-one").password(OTHER_PASSWORD))
        .await
        .expect_err("the name is taken");
    match &error {
        Error::Unprocessable { errors, .. } => {
            let messages = errors.get("name").expect("a message about the name");
            assert!(
                messages
                    .iter()
                    .any(|message| message.contains("has already been taken")),
                "{messages:?}"
            );
        }
        other => panic!("expected a 422, got {other:?}"),
    }
    assert_eq!(field_keys(&error), BTreeSet::from(["name"]));

    let users = client.users().list().await.expect("list");
    assert_eq!(users.len(), 3, "{:?}", names(&users));
}

#[tokio::test]
async fn passwords_can_be_updated_and_reset_but_not_for_unknown_users() {
    let (_sandbox, client) = start(DEFAULT_DATABASE, Validation::Enforce).await;
    client
        .users()
        .create(NewUser::new("app-user").password(PASSWORD))
        .await
        .expect("create");

    let updated = client
        .users()
        .update_password("app-user", OTHER_PASSWORD)
        .await
        .expect("update");
    assert_eq!(updated.name, "app-user");
    assert!(
        updated.password.is_none(),
        "a chosen password is not answered back"
    );

    let first = client
        .users()
        .reset_password("app-user")
        .await
        .expect("reset")
        .password
        .expect("a reset answers the new password");
    let second = client
        .users()
        .reset_password("app-user")
        .await
        .expect("reset again")
        .password
        .expect("a reset answers the new password");
    for password in [&first, &second] {
        assert!(
            (24..=64).contains(&password.expose().chars().count()),
            "a generated password follows the contract's rule"
        );
    }
    assert_ne!(first, second, "each reset generates a new password");
    assert_ne!(first, Password::new(OTHER_PASSWORD));

    let outcomes = [
        (
            "reset",
            client.users().reset_password("nobody-here").await.err(),
        ),
        (
            "update",
            client
                .users()
                .update_password("nobody-here", PASSWORD)
                .await
                .err(),
        ),
        ("delete", client.users().delete("nobody-here").await.err()),
    ];
    for (action, error) in outcomes {
        match error {
            Some(Error::NotFound { resource, .. }) => {
                assert_eq!(resource.as_deref(), Some("database_user"), "{action}");
            }
            other => panic!("{action}: expected a 404, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_protected_user_cannot_be_updated_reset_or_deleted() {
    let (_sandbox, client) = start(DEFAULT_DATABASE, Validation::Enforce).await;
    let protected = protected_user(&client).await;
    let name = protected.name.as_str();

    let outcomes = [
        (
            "update",
            client.users().update_password(name, PASSWORD).await.err(),
        ),
        ("reset", client.users().reset_password(name).await.err()),
        ("delete", client.users().delete(name).await.err()),
    ];
    for (action, error) in outcomes {
        match error {
            Some(Error::Refused {
                status, message, ..
            }) => {
                assert_eq!(status, 400, "{action}");
                let message = message.unwrap_or_default();
                assert!(message.contains("protected"), "{action}: {message}");
                assert!(message.contains(name), "{action}: {message}");
            }
            other => panic!("{action}: expected a 400, got {other:?}"),
        }
    }

    let users = client.users().list().await.expect("list");
    assert_eq!(users, vec![protected], "the protected user is unchanged");
}

#[tokio::test]
async fn the_sandbox_applies_the_contract_rules_when_the_client_skips_them() {
    let (_sandbox, client) = start(DEFAULT_DATABASE, Validation::Skip).await;

    // A name breaking the pattern (an underscore and a hyphen), with a valid password.
    let error = client
        .users()
        .create(NewUser::new("bad_name-mixed").password(PASSWORD))
        .await
        .expect_err("the name breaks the rule");
    assert_eq!(field_keys(&error), BTreeSet::from(["name"]));
    if let Error::Unprocessable { errors, .. } = &error {
        assert!(
            errors["name"][0].contains("a letter then letters, digits and underscores"),
            "the message quotes the rule: {:?}",
            errors["name"]
        );
    }

    // A valid name with a 5-character password (and the same confirmation, which is judged only
    // by being equal to it).
    let error = client
        .users()
        .create(NewUser::new("good-name").password("short"))
        .await
        .expect_err("the password is too short");
    assert_eq!(field_keys(&error), BTreeSet::from(["password"]));
    if let Error::Unprocessable { errors, .. } = &error {
        let message = &errors["password"][0];
        assert!(message.contains("has 5 characters"), "{message}");
        assert!(message.contains("24 to 64 characters"), "{message}");
        assert!(
            !message.contains("short"),
            "never quotes the value: {message}"
        );
    }

    // Both at once.
    let error = client
        .users()
        .create(NewUser::new("bad_name-mixed").password("short"))
        .await
        .expect_err("both break their rules");
    assert_eq!(field_keys(&error), BTreeSet::from(["name", "password"]));

    // A too-short password update is refused the same way.
    let error = client
        .users()
        .update_password(&protected_user(&client).await.name, "short")
        .await
        .expect_err("the password is too short");
    assert_eq!(
        field_keys(&error),
        BTreeSet::from(["password"]),
        "the body is checked before the user"
    );

    let users = client.users().list().await.expect("list");
    assert_eq!(users.len(), 1, "nothing was created: {:?}", names(&users));
}

#[tokio::test]
async fn a_mismatched_confirmation_is_refused_by_the_client_and_by_the_sandbox() {
    let request = CreateUserRequest {
        database_user: UserCreation {
            database_id: Some(DEFAULT_DATABASE.to_owned()),
            name: "mismatch".to_owned(),
            read_only: Some(false),
            password: Some(Password::new(PASSWORD)),
            password_confirmation: Some(Password::new(OTHER_PASSWORD)),
        },
    };

    // Checked by the client: nothing reaches the sandbox.
    let (sandbox, client) = start(DEFAULT_DATABASE, Validation::Enforce).await;
    let error = client
        .users()
        .create_from_request(request.clone())
        .await
        .expect_err("the confirmation differs");
    match &error {
        Error::Validation(validation) => {
            assert_eq!(validation.field(), "password_confirmation");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(
        sandbox.counters().get(OperationId::CreateUser),
        0,
        "nothing was sent"
    );

    // Checked by the sandbox.
    let (_sandbox, client) = start(DEFAULT_DATABASE, Validation::Skip).await;
    let error = client
        .users()
        .create_from_request(request.clone())
        .await
        .expect_err("the confirmation differs");
    assert_eq!(
        field_keys(&error),
        BTreeSet::from(["password_confirmation"])
    );
    if let Error::Unprocessable { errors, .. } = &error {
        let message = &errors["password_confirmation"][0];
        assert!(message.contains("differs from password"), "{message}");
    }
    let users = client.users().list().await.expect("list");
    assert!(!names(&users).contains(&"mismatch"));
}

#[tokio::test]
async fn redis_databases_have_no_user_management() {
    let (_sandbox, client) = start(DEFAULT_REDIS_DATABASE, Validation::Enforce).await;

    let outcomes = [
        ("list", client.users().list().await.err()),
        (
            "create",
            client
                .users()
                .create(NewUser::new("cache-user").password(PASSWORD))
                .await
                .err(),
        ),
    ];
    for (action, error) in outcomes {
        match error {
            Some(Error::Refused {
                status, message, ..
            }) => {
                assert_eq!(status, 400, "{action}");
                assert_eq!(
                    message.as_deref(),
                    Some("user management is not supported for redis databases"),
                    "{action}"
                );
            }
            other => panic!("{action}: expected a 400, got {other:?}"),
        }
    }

    // Its backups are still managed.
    let backups = client.backups().list().await.expect("backups of redis");
    assert_eq!(backups.len(), 1);
}

#[tokio::test]
async fn user_names_are_url_encoded_into_the_path() {
    let (sandbox, client) = start(DEFAULT_DATABASE, Validation::Enforce).await;

    for name in ["no such/user", "no such user", "a?b#c", "100%"] {
        match client.users().delete(name).await {
            Err(Error::NotFound { resource, .. }) => assert_eq!(
                resource.as_deref(),
                Some("database_user"),
                "`{name}` reached the users handler, not an unknown route"
            ),
            other => panic!("`{name}`: expected a 404 of the user, got {other:?}"),
        }
    }
    assert_eq!(sandbox.counters().get(OperationId::DeleteUser), 4);

    match client.users().reset_password("no such/user").await {
        Err(Error::NotFound { resource, .. }) => {
            assert_eq!(resource.as_deref(), Some("database_user"));
        }
        other => panic!("expected a 404 of the user, got {other:?}"),
    }
    assert_eq!(sandbox.counters().get(OperationId::ResetUserPassword), 1);
}
