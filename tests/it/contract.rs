//! openapi.yaml, read at test time: the operations, their examples and success statuses, for
//! the tests that must cover every operation as the contract states it (`wire_matrix.rs`,
//! `errors.rs`) without keeping a copy of what it says.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use scalingo_db::OperationId;
use serde_json::Value;

/// openapi.yaml, as JSON values.
pub struct Contract {
    root: Value,
}

/// A response example: its name (`example` for a lone one) and its value, `$ref`s resolved.
pub struct Example {
    /// Its name (`example` for a lone one).
    pub name: String,
    /// Its value.
    pub value: Value,
}

/// What the contract says of one operation's success.
pub struct Success {
    /// The first success status (2xx) it lists.
    pub status: u16,
    /// Whether a success answer has a JSON body.
    pub json: bool,
    /// The examples of the JSON success bodies.
    pub examples: Vec<Example>,
}

impl Contract {
    /// The contract, read once.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| Contract {
            root: serde_yaml::from_str(include_str!("../../openapi.yaml"))
                .expect("openapi.yaml is YAML"),
        })
    }

    /// `value`, or what its `$ref` (to `#/components/...`) points at, followed until the end.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..16 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return value;
            };
            assert!(
                reference.starts_with("#/components/"),
                "a $ref outside the components: {reference}"
            );
            value = self
                .root
                .pointer(&reference[1..])
                .unwrap_or_else(|| panic!("{reference} points nowhere"));
        }
        panic!("a cycle of $refs at {value}")
    }

    /// The `operationId` of every operation of the contract.
    pub fn operation_ids(&self) -> BTreeSet<String> {
        let paths = self.root["paths"].as_object().expect("paths");
        paths
            .values()
            .flat_map(|item| item.as_object().expect("a path item").values())
            .filter_map(|operation| operation.get("operationId").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }

    /// The operation's object in the contract, after checking that the generated table gives it
    /// the contract's method and path.
    pub fn operation(&self, operation: OperationId) -> &Value {
        let paths = self.root["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, node) in item.as_object().expect("a path item") {
                if node.get("operationId").and_then(Value::as_str) == Some(operation.name()) {
                    assert_eq!(method.to_uppercase(), operation.method(), "{operation}");
                    assert_eq!(path, operation.path(), "{operation}");
                    return node;
                }
            }
        }
        panic!("{operation} is not in openapi.yaml")
    }

    /// The example of the request body, when the operation has one.
    pub fn request_example(&self, operation: OperationId) -> Option<Value> {
        let body = self.operation(operation).get("requestBody")?;
        let media = &self.resolve(body)["content"]["application/json"];
        Some(self.resolve(&media["example"]).clone())
    }

    pub fn success(&self, operation: OperationId) -> Success {
        let responses = self.operation(operation)["responses"]
            .as_object()
            .expect("responses");
        let mut statuses = Vec::new();
        let mut json = false;
        let mut examples = Vec::new();
        for (status, response) in responses {
            if !status.starts_with('2') {
                continue;
            }
            statuses.push(status.parse::<u16>().expect("a 2xx status"));
            let Some(media) = self.resolve(response)["content"].get("application/json") else {
                continue;
            };
            json = true;
            let media = self.resolve(media);
            if let Some(example) = media.get("example") {
                examples.push(Example {
                    name: "example".to_owned(),
                    value: self.resolve(example).clone(),
                });
            }
            // The shapes it also accepts (`x-also-accepted`) come with their own examples, which
            // the client must decode as well.
            let also = media
                .get("x-also-accepted")
                .and_then(|also| also.get("examples"));
            for (name, example) in [media.get("examples"), also]
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flatten()
            {
                let value = self.resolve(example).get("value");
                examples.push(Example {
                    name: name.clone(),
                    value: value
                        .map(|value| self.resolve(value).clone())
                        .unwrap_or_else(|| panic!("{operation}: example {name} has no value")),
                });
            }
        }
        statuses.sort_unstable();
        Success {
            status: *statuses
                .first()
                .unwrap_or_else(|| panic!("{operation}: no success")),
            json,
            examples,
        }
    }
}

/// The status of `operation`'s success, as openapi.yaml gives it: the first 2xx status of its
/// responses (the download's other one, 206, answers a range).
pub fn success_status(operation: OperationId) -> u16 {
    Contract::get().success(operation).status
}
