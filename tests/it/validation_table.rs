//! The contract's rules for new users, at every boundary: what breaks a rule is refused before
//! anything is sent, with an error naming the field and the rule; what keeps it is sent.

use httpmock::MockServer;
use scalingo_db::requests::{
    CreateUserRequest, UpdateUserPasswordRequest, UserCreation, UserPasswordUpdate,
};
use scalingo_db::{Error, NewUser, Password, Problem, Validation};
use serde_json::json;

use crate::support::{DB, PASSWORD, builder, client, database};

const NAME_RULE: &str = "6 to 32 characters, a letter then letters, digits and underscores (my_app_4553_rw), or lower-case words of letters and digits joined by single hyphens (my-user)";
const PASSWORD_RULE: &str = "24 to 64 characters";
/// The rule a confirmation breaks when it is not the password.
const SAME_AS_PASSWORD_RULE: &str = "the same as password";

/// A server that accepts any user creation (201) or password update (200), with the ids of its
/// two mocks.
async fn accepting_server() -> (MockServer, [usize; 2]) {
    let server = MockServer::start_async().await;
    let mut ids = [0; 2];
    for (id, (method, status)) in ids.iter_mut().zip([("POST", 201), ("PATCH", 200)]) {
        *id = server
            .mock_async(|when, then| {
                when.method(method);
                then.status(status)
                    .header("content-type", "application/json")
                    .json_body(json!({"database_user": {"name": "accepted"}}));
            })
            .await
            .id();
    }
    (server, ids)
}

/// How many creations and updates reached the server.
async fn calls(server: &MockServer, ids: [usize; 2]) -> usize {
    let mut total = 0;
    for id in ids {
        total += httpmock::Mock::new(id, server).calls_async().await;
    }
    total
}

/// `Ok(())` when the body must be sent, or the field and problem it must be refused for.
type Expected = Result<(), (&'static str, Problem)>;

/// Checks the outcome of a call: sent when valid; otherwise refused before sending, naming the
/// field and its rule, and showing none of `secrets` (the passwords the request carried).
fn check(
    what: &str,
    result: Result<scalingo_db::DatabaseUser, Error>,
    expected: &Expected,
    sent: usize,
    secrets: &[&str],
) {
    match (expected, result) {
        (Ok(()), Ok(_)) => assert_eq!(sent, 1, "{what}: valid, so it must be sent once"),
        (Err((field, problem)), Err(Error::Validation(error))) => {
            assert_eq!(sent, 0, "{what}: invalid, so nothing may be sent");
            assert_eq!(error.field(), *field, "{what}");
            assert_eq!(&error.violations()[0].problem, problem, "{what}");
            let shown = error.to_string();
            let rule = match (*field, problem) {
                (_, Problem::NotSameAs { .. }) => SAME_AS_PASSWORD_RULE,
                ("name", _) => NAME_RULE,
                _ => PASSWORD_RULE,
            };
            assert_eq!(error.rule(), rule, "{what}");
            assert!(
                shown.contains(field) && shown.contains(rule),
                "{what}: {shown}"
            );
            for secret in secrets {
                assert!(
                    !shown.contains(secret),
                    "{what}: the password {secret} leaked: {shown}"
                );
            }
        }
        (expected, result) => panic!("{what}: expected {expected:?}, got {result:?}"),
    }
}

#[tokio::test]
async fn names_at_every_boundary() {
    let pattern = Problem::PatternMismatch;
    let cases: Vec<(String, Expected)> = vec![
        ("".into(), Err(("name", Problem::TooShort { length: 0 }))),
        (
            "abcde".into(),
            Err(("name", Problem::TooShort { length: 5 })),
        ),
        ("abcdef".into(), Ok(())),
        ("a".repeat(32), Ok(())),
        (
            "a".repeat(33),
            Err(("name", Problem::TooLong { length: 33 })),
        ),
        // The API reference's rule: lower-case words joined by single hyphens.
        ("123456".into(), Ok(())),
        ("ab-cd-ef".into(), Ok(())),
        ("-abcdef".into(), Err(("name", pattern.clone()))),
        ("abcdef-".into(), Err(("name", pattern.clone()))),
        ("abc--def".into(), Err(("name", pattern.clone()))),
        // The user guides' rule: a letter, then letters, digits and underscores.
        ("my_app_4553_rw".into(), Ok(())),
        ("Abcdef".into(), Ok(())),
        ("abc_DEF_".into(), Ok(())),
        ("_abcdef".into(), Err(("name", pattern.clone()))),
        ("1abc_def".into(), Err(("name", pattern.clone()))),
        // Neither.
        ("abc_de-f".into(), Err(("name", pattern.clone()))),
        ("Abc-def".into(), Err(("name", pattern.clone()))),
        ("abc def".into(), Err(("name", pattern.clone()))),
        (
            "abcdé".into(),
            Err(("name", Problem::TooShort { length: 5 })),
        ),
        ("abcdéf".into(), Err(("name", pattern.clone()))),
    ];
    for (name, expected) in cases {
        let (server, mock) = accepting_server().await;
        let result = client(&server)
            .users()
            .create(NewUser::new(name.clone()))
            .await;
        check(
            &format!("name {name:?}"),
            result,
            &expected,
            calls(&server, mock).await,
            &[],
        );
    }
}

#[tokio::test]
async fn passwords_at_every_boundary_on_create_and_update() {
    let cases: Vec<(usize, Expected)> = vec![
        (23, Err(("password", Problem::TooShort { length: 23 }))),
        (24, Ok(())),
        (64, Ok(())),
        (65, Err(("password", Problem::TooLong { length: 65 }))),
    ];
    for (length, expected) in cases {
        let password = "p".repeat(length);
        let (server, mock) = accepting_server().await;
        let user = NewUser::new("my-user").password(password.as_str());
        let result = client(&server).users().create(user).await;
        check(
            &format!("create, password of {length}"),
            result,
            &expected,
            calls(&server, mock).await,
            &[password.as_str()],
        );

        let (server, mock) = accepting_server().await;
        let result = client(&server)
            .users()
            .update_password("my_app_4553", password.as_str())
            .await;
        check(
            &format!("update, password of {length}"),
            result,
            &expected,
            calls(&server, mock).await,
            &[password.as_str()],
        );
    }
}

#[tokio::test]
async fn a_hand_built_body_must_confirm_its_password() {
    let mismatch = Err((
        "password_confirmation",
        Problem::NotSameAs { other: "password" },
    ));
    let create = |password: Option<&str>, confirmation: Option<&str>| CreateUserRequest {
        database_user: UserCreation {
            database_id: Some(DB.to_owned()),
            name: "my-user".to_owned(),
            read_only: Some(false),
            password: password.map(Password::from),
            password_confirmation: confirmation.map(Password::from),
        },
    };
    let other = "another-password-of-24ch";
    let cases = [
        (
            "different confirmation",
            create(Some(PASSWORD), Some(other)),
            mismatch.clone(),
        ),
        (
            "confirmation alone",
            create(None, Some(PASSWORD)),
            mismatch.clone(),
        ),
        (
            "password alone",
            create(Some(PASSWORD), None),
            mismatch.clone(),
        ),
        (
            "same confirmation",
            create(Some(PASSWORD), Some(PASSWORD)),
            Ok(()),
        ),
        ("neither", create(None, None), Ok(())),
    ];
    for (what, request, expected) in cases {
        let (server, mock) = accepting_server().await;
        let result = client(&server).users().create_from_request(request).await;
        check(
            what,
            result,
            &expected,
            calls(&server, mock).await,
            &[PASSWORD, other],
        );
    }

    let (server, mock) = accepting_server().await;
    let request = UpdateUserPasswordRequest {
        database_user: UserPasswordUpdate {
            database_id: None,
            password: PASSWORD.into(),
            password_confirmation: other.into(),
        },
    };
    let result = client(&server)
        .users()
        .update_password_from_request("my_app_4553", request)
        .await;
    check(
        "update with a different confirmation",
        result,
        &mismatch,
        calls(&server, mock).await,
        &[PASSWORD, other],
    );
}

#[tokio::test]
async fn every_broken_rule_is_reported_at_once() {
    let (server, mock) = accepting_server().await;
    let user = NewUser::new("bad_name-mixed").password("short");

    let error = client(&server)
        .users()
        .create(user)
        .await
        .expect_err("two rules broken");

    let Error::Validation(error) = error else {
        panic!("{error:?}")
    };
    let fields: Vec<_> = error.violations().iter().map(|v| v.field).collect();
    // The confirmation, a copy of the password, is judged only by being equal to it.
    assert_eq!(fields, ["name", "password"]);
    assert_eq!(calls(&server, mock).await, 0);
    assert_eq!(
        error.to_string(),
        format!(
            "invalid request, nothing was sent: name does not match the rule's pattern (rule: {NAME_RULE}); \
             password has 5 characters (rule: {PASSWORD_RULE})"
        )
    );
}

#[tokio::test]
async fn skipping_validation_sends_the_body_and_lets_the_service_judge() {
    // A name neither source allows (underscores and hyphens mixed): skipping the checks sends it
    // anyway and lets the service decide.
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method("POST").json_body(json!({"database_user": {
                "database_id": DB, "name": "my_user-x", "read_only": false}}));
            then.status(422)
                .header("content-type", "application/json")
                .json_body(json!({"errors": {"name": ["is invalid"]}}));
        })
        .await;
    let client = database(builder(&server).validation(Validation::Skip), DB);

    let error = client
        .users()
        .create(NewUser::new("my_user-x"))
        .await
        .expect_err("422");

    mock.assert_async().await;
    assert!(matches!(error, Error::Unprocessable { .. }), "{error:?}");
}

/// A command-line tool checks a name before it asks for a password, and a typed password before it
/// accepts it, with the same verdicts as the calls that send.
#[test]
fn checks_without_sending_give_the_same_verdicts() {
    let bad_name = NewUser::new("bad_name-mixed").check().unwrap_err();
    assert_eq!((bad_name.field(), bad_name.rule()), ("name", NAME_RULE));
    assert!(NewUser::new("reporting").check().is_ok());
    assert!(NewUser::new("reporting").password(PASSWORD).check().is_ok());

    // The confirmation is a copy the caller never typed: only the password is named.
    let short = NewUser::new("reporting")
        .password("short")
        .check()
        .unwrap_err();
    let fields: Vec<&str> = short.violations().iter().map(|v| v.field).collect();
    assert_eq!(fields, ["password"]);
    assert_eq!(short.rule(), PASSWORD_RULE);

    let short = scalingo_db::check_password(&Password::new("short")).unwrap_err();
    let fields: Vec<&str> = short.violations().iter().map(|v| v.field).collect();
    assert_eq!(fields, ["password"]);
    assert!(scalingo_db::check_password(&Password::new(PASSWORD)).is_ok());
    let too_long = scalingo_db::check_password(&Password::new("x".repeat(65))).unwrap_err();
    assert_eq!(
        too_long.violations()[0].problem,
        Problem::TooLong { length: 65 }
    );
}
