//! The users operations on the wire: method, path, headers, exact bodies, both answer shapes.

use httpmock::MockServer;
use scalingo_db::{NewUser, PasswordEncryption};
use scalingo_db_generated_httpmock::MockServerExt as _;
use serde_json::{Value, json};

use crate::support::{DB, PASSWORD, TOKEN, api_headers, client, json_body_headers};

fn user_json(name: &str, password: Option<&str>) -> Value {
    let mut user = json!({
        "name": name,
        "read_only": false,
        "protected": false,
        "dbms_attributes": {"password_encryption": "SCRAM-SHA-256"},
        "some_future_field": {"nested": [1, 2, 3]},
    });
    if let Some(password) = password {
        user["password"] = json!(password);
    }
    user
}

/// The service wraps the user in `database_user`; the documentation shows it bare.
fn shapes(user: Value) -> [(&'static str, Value); 2] {
    [
        ("wrapped", json!({"database_user": user.clone()})),
        ("bare", user),
    ]
}

#[tokio::test]
async fn list_reads_every_user_including_underscored_and_unknown_values() {
    let server = MockServer::start_async().await;
    let mock = server.list_users(|when, then| {
        api_headers(when.database_id(DB).into_inner());
        then.into_inner().status(200).json_body(json!({
            "database-users": [
                {"name": "my_app_4553", "read_only": false, "protected": true,
                 "dbms_attributes": {"password_encryption": "SCRAM-SHA-256"}},
                {"name": "metabase", "read_only": true, "protected": false,
                 "dbms_attributes": {"password_encryption": "ARGON2-FROM-THE-FUTURE",
                                     "anonymizer_enabled": true}, "extra": 1},
                {"name": "mongo-user"}
            ],
            "meta": {"unexpected": true}
        }));
    });

    let users = client(&server).users().list().await.expect("list users");

    mock.assert_async().await;
    let names: Vec<_> = users.iter().map(|user| user.name.as_str()).collect();
    assert_eq!(names, ["my_app_4553", "metabase", "mongo-user"]);
    assert!(users[0].protected && !users[0].read_only);
    let encryption = |index: usize| {
        users[index]
            .dbms_attributes
            .as_ref()
            .and_then(|attributes| attributes.password_encryption.clone())
    };
    assert_eq!(encryption(0), Some(PasswordEncryption::ScramSha256));
    assert_eq!(
        encryption(1),
        Some(PasswordEncryption::Other(
            "ARGON2-FROM-THE-FUTURE".to_owned()
        ))
    );
    // Absent booleans default to false; absent attributes stay absent.
    assert!(!users[2].protected && !users[2].read_only && users[2].dbms_attributes.is_none());
}

#[tokio::test]
async fn create_sends_the_wrapped_body_with_its_confirmation_and_reads_both_shapes() {
    for (shape, answer) in shapes(user_json("my-user", None)) {
        let server = MockServer::start_async().await;
        let mock = server.mock(|when, then| {
            json_body_headers(when.method("POST").path(format!("/databases/{DB}/users")))
                .json_body(json!({"database_user": {
                    "database_id": DB,
                    "name": "my-user",
                    "read_only": true,
                    "password": PASSWORD,
                    "password_confirmation": PASSWORD,
                }}));
            then.status(201).json_body(answer.clone());
        });

        let user = client(&server)
            .users()
            .create(NewUser::new("my-user").password(PASSWORD).read_only(true))
            .await
            .unwrap_or_else(|err| panic!("{shape}: {err}"));

        mock.assert_async().await;
        assert_eq!(user.name, "my-user", "{shape}");
        assert!(user.password.is_none(), "{shape}");
    }
}

#[tokio::test]
async fn create_without_password_omits_it_and_returns_the_generated_one_once() {
    let generated = "Kgaef6ripo7Ao4Uaxai6KieyXq";
    for (shape, answer) in shapes(user_json("reporting", Some(generated))) {
        let server = MockServer::start_async().await;
        let mock = server.create_user(|when, then| {
            json_body_headers(when.database_id(DB).into_inner()).json_body(json!({
                "database_user": {"database_id": DB, "name": "reporting", "read_only": false}
            }));
            then.into_inner().status(201).json_body(answer.clone());
        });

        let user = client(&server)
            .users()
            .create(NewUser::new("reporting"))
            .await
            .unwrap_or_else(|err| panic!("{shape}: {err}"));

        mock.assert_async().await;
        let password = user.password.as_ref().expect("the generated password");
        assert_eq!(password.expose(), generated, "{shape}");
        let debug = format!("{user:?}");
        assert!(
            !debug.contains(generated),
            "{shape}: Debug shows the password: {debug}"
        );
    }
}

#[tokio::test]
async fn update_password_patches_the_user_with_its_confirmation() {
    for (shape, answer) in shapes(user_json("my_app_4553", None)) {
        let server = MockServer::start_async().await;
        let mock = server.update_user_password(|when, then| {
            json_body_headers(
                when.into_inner()
                    .method("PATCH")
                    .path(format!("/databases/{DB}/users/my_app_4553")),
            )
            .json_body(json!({"database_user": {
                "database_id": DB, "password": PASSWORD, "password_confirmation": PASSWORD,
            }}));
            then.into_inner().status(200).json_body(answer.clone());
        });

        let user = client(&server)
            .users()
            .update_password("my_app_4553", PASSWORD)
            .await
            .unwrap_or_else(|err| panic!("{shape}: {err}"));

        mock.assert_async().await;
        assert_eq!(user.name, "my_app_4553", "{shape}");
    }
}

#[tokio::test]
async fn reset_password_posts_no_body_and_returns_the_new_password() {
    let generated = "Ohxoh4ahhoo1ooMaiphi5thaephaef";
    for (shape, answer) in shapes(user_json("my_app_4553", Some(generated))) {
        let server = MockServer::start_async().await;
        let mock = server.reset_user_password(|when, then| {
            api_headers(
                when.into_inner()
                    .method("POST")
                    .path(format!("/databases/{DB}/users/my_app_4553/reset_password")),
            )
            .body("");
            then.into_inner().status(200).json_body(answer.clone());
        });

        let user = client(&server)
            .users()
            .reset_password("my_app_4553")
            .await
            .unwrap_or_else(|err| panic!("{shape}: {err}"));

        mock.assert_async().await;
        assert_eq!(
            user.password.map(|p| p.expose().to_owned()).as_deref(),
            Some(generated)
        );
    }
}

#[tokio::test]
async fn delete_answers_no_content() {
    let server = MockServer::start_async().await;
    let mock = server.delete_user(|when, then| {
        api_headers(
            when.into_inner()
                .method("DELETE")
                .path(format!("/databases/{DB}/users/my_app_4553")),
        )
        .body("");
        then.no_content();
    });

    client(&server)
        .users()
        .delete("my_app_4553")
        .await
        .expect("delete");

    mock.assert_async().await;
}

#[tokio::test]
async fn usernames_are_url_encoded_in_paths() {
    let server = MockServer::start_async().await;
    // A space, a slash, a question mark and a non-ASCII letter would each change the URL's
    // meaning if sent as they are.
    let encoded = "odd%20name%2Fwith%3Fstuff%C3%A9";
    let delete = server.mock(|when, then| {
        when.method("DELETE")
            .path(format!("/databases/{DB}/users/{encoded}"));
        then.status(204);
    });
    let reset = server.mock(|when, then| {
        when.method("POST")
            .path(format!("/databases/{DB}/users/{encoded}/reset_password"));
        then.status(200)
            .json_body(user_json("odd name/with?stuffé", Some(PASSWORD)));
    });

    let client = client(&server);
    let name = "odd name/with?stuffé";
    client.users().delete(name).await.expect("delete");
    let user = client.users().reset_password(name).await.expect("reset");

    delete.assert_async().await;
    reset.assert_async().await;
    assert_eq!(user.name, name);
}

#[tokio::test]
async fn the_token_never_appears_in_debug_output() {
    let server = MockServer::start_async().await;
    let client = client(&server);
    let shown = format!(
        "{client:?} {:?}",
        NewUser::new("my-user").password(PASSWORD)
    );
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains(PASSWORD), "{shown}");
}
