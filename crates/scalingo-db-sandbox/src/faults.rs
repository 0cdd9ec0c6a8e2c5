//! Fault injection and request counters, so tests can make the sandbox fail the way real networks
//! and gateways do, and count what a client really sent.
//!
//! A [`FaultRule`] makes the next `times` requests of one operation (or of any) fail: with a
//! status and body, after a delay, by dropping the connection before any answer, or by cutting
//! the answer's body short. Rules are set through [`crate::Sandbox::faults`] or, when the control
//! routes are enabled, `POST /_sandbox/faults`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a request fails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer this status and body instead of handling the request.
    Status {
        /// The HTTP status.
        status: u16,
        /// The body, sent as it is.
        #[serde(default)]
        body: String,
        /// The `Content-Type`, if any.
        #[serde(default)]
        content_type: Option<String>,
        /// Extra headers (e.g. `Retry-After`).
        #[serde(default)]
        headers: Vec<(String, String)>,
    },
    /// Wait, then handle the request normally.
    Delay {
        /// How long to wait, in milliseconds.
        millis: u64,
    },
    /// Close the connection without answering (after reading the request).
    DropConnection,
    /// Handle the request, announce the full `Content-Length`, then close the connection after
    /// this many bytes of the body. An answer without a body (204) is not sent at all: the work
    /// is done, the answer lost.
    TruncateBody {
        /// How many bytes of the body are sent.
        after_bytes: usize,
    },
}

impl Fault {
    /// A status fault with a JSON `{"error": message}` body.
    pub fn json_error(status: u16, message: &str) -> Self {
        Fault::Status {
            status,
            body: serde_json::json!({ "error": message }).to_string(),
            content_type: Some("application/json".to_owned()),
            headers: Vec::new(),
        }
    }

    /// A delay fault.
    pub fn delay(delay: Duration) -> Self {
        Fault::Delay {
            millis: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// Which requests fail, how, and how many times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The `operationId` the rule applies to (`list_users`, ...); absent for every operation.
    #[serde(default)]
    pub operation: Option<String>,
    /// How many matching requests fail; the rule is then removed.
    pub times: u32,
    /// How they fail.
    pub fault: Fault,
}

impl FaultRule {
    /// The next `times` requests of `operation` fail with `fault`.
    pub fn new(operation: &str, times: u32, fault: Fault) -> Self {
        FaultRule {
            operation: Some(operation.to_owned()),
            times,
            fault,
        }
    }

    /// The next `times` requests of any operation fail with `fault`.
    pub fn any(times: u32, fault: Fault) -> Self {
        FaultRule {
            operation: None,
            times,
            fault,
        }
    }
}

/// The rules in force, first set first applied.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    /// Adds a rule after the ones in force.
    pub fn inject(&self, rule: FaultRule) {
        if rule.times > 0 {
            lock(&self.rules).push(rule);
        }
    }

    /// Removes every rule.
    pub fn clear(&self) {
        lock(&self.rules).clear();
    }

    /// The fault for one request of `operation`, if a rule applies; uses up one of its times.
    pub(crate) fn take(&self, operation: &str) -> Option<Fault> {
        let mut rules = lock(&self.rules);
        let index = rules.iter().position(|rule| {
            rule.operation
                .as_deref()
                .is_none_or(|wanted| wanted == operation)
        })?;
        let rule = &mut rules[index];
        rule.times -= 1;
        let fault = rule.fault.clone();
        if rule.times == 0 {
            rules.remove(index);
        }
        Some(fault)
    }
}

/// How many requests each operation received (faulted ones included).
#[derive(Debug, Default)]
pub struct Counters {
    by_operation: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub(crate) fn hit(&self, operation: &str) {
        *lock(&self.by_operation)
            .entry(operation.to_owned())
            .or_default() += 1;
    }

    /// Requests per `operationId` so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        lock(&self.by_operation).clone()
    }

    /// Requests of one operation so far.
    pub fn get(&self, operation: &str) -> u64 {
        lock(&self.by_operation)
            .get(operation)
            .copied()
            .unwrap_or_default()
    }

    /// Requests of every operation so far.
    pub fn total(&self) -> u64 {
        lock(&self.by_operation).values().sum()
    }

    /// Starts counting from zero.
    pub fn reset(&self) {
        lock(&self.by_operation).clear();
    }
}

/// A poisoned lock only means another request panicked mid-update; the data is still usable and
/// a test sandbox must keep answering.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_in_order_and_wear_out() {
        let faults = Faults::default();
        faults.inject(FaultRule::new("list_users", 2, Fault::DropConnection));
        faults.inject(FaultRule::any(1, Fault::delay(Duration::from_millis(5))));

        assert_eq!(
            faults.take("list_backups"),
            Some(Fault::Delay { millis: 5 })
        );
        assert_eq!(faults.take("list_backups"), None);
        assert_eq!(faults.take("list_users"), Some(Fault::DropConnection));
        assert_eq!(faults.take("list_users"), Some(Fault::DropConnection));
        assert_eq!(faults.take("list_users"), None);
    }

    #[test]
    fn rules_read_from_json_like_the_control_route_takes_them() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"operation":"create_backup","times":1,"fault":{"kind":"status","status":429,"body":"Retry later","headers":[["retry-after","3"]]}}"#,
        )
        .expect("rule");
        assert_eq!(rule.operation.as_deref(), Some("create_backup"));
        assert!(
            matches!(rule.fault, Fault::Status { status: 429, ref headers, .. } if headers.len() == 1)
        );
    }
}
