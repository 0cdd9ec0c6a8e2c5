//! Fault injection, so tests can make the sandbox fail the way real networks and gateways do.
//!
//! A [`FaultRule`] makes the next `times` requests of one operation (or of any) fail: with a
//! status and body, after a delay, by dropping the connection before any answer, by cutting
//! the answer's body short, or by pausing in the middle of it. Rules are set through [`crate::Sandbox::faults`] or, when the control
//! routes are enabled, `POST /_sandbox/faults`. Operations are named by [`OperationId`], so a
//! rule for an operation the contract does not have cannot be written (nor sent as JSON).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scalingo_db_generated::OperationId;
use serde::{Deserialize, Serialize};

pub use crate::counters::Counters;

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
    /// Handle the request, send this many bytes of the body, then send nothing for a while
    /// before the rest: a stalled transfer, which a client should give up on and resume.
    StallBody {
        /// How many bytes of the body are sent before the pause.
        after_bytes: usize,
        /// How long the pause lasts, in milliseconds (real time, like a network's).
        millis: u64,
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
///
/// As JSON (the control route's body): `{"operation": "create_backup", "times": 1, "fault":
/// {"kind": "status", "status": 429}}`; without `operation`, the rule applies to every
/// operation; an `operation` the contract does not have is refused, naming those it has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The operation the rule applies to; `None` for every operation.
    #[serde(default)]
    pub operation: Option<OperationId>,
    /// How many matching requests fail; the rule is then removed.
    pub times: u32,
    /// How they fail.
    pub fault: Fault,
}

impl FaultRule {
    /// The next `times` requests of `operation` fail with `fault`.
    pub fn new(operation: OperationId, times: u32, fault: Fault) -> Self {
        FaultRule {
            operation: Some(operation),
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

    fn applies_to(&self, operation: OperationId) -> bool {
        self.operation.is_none_or(|wanted| wanted == operation)
    }
}

/// The rules in force, first set first applied.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    /// How many rules are in force, read without the lock: most requests meet no rule, and a
    /// benchmark should not measure a lock that guards an empty list.
    armed: AtomicUsize,
}

impl Faults {
    /// Adds a rule after the ones in force.
    pub fn inject(&self, rule: FaultRule) {
        if rule.times > 0 {
            let mut rules = self.lock();
            rules.push(rule);
            self.armed.store(rules.len(), Ordering::Release);
        }
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut rules = self.lock();
        rules.clear();
        self.armed.store(0, Ordering::Release);
    }

    /// The fault for one request of `operation`, if a rule applies; uses up one of its times.
    pub(crate) fn take(&self, operation: OperationId) -> Option<Fault> {
        if self.armed.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = self.lock();
        let index = rules.iter().position(|rule| rule.applies_to(operation))?;
        let rule = &mut rules[index];
        rule.times -= 1;
        let fault = rule.fault.clone();
        if rule.times == 0 {
            rules.remove(index);
            self.armed.store(rules.len(), Ordering::Release);
        }
        Some(fault)
    }

    /// A poisoned lock only means another request panicked mid-update; the rules are still
    /// usable and a test sandbox must keep answering.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_in_order_and_wear_out() {
        let faults = Faults::default();
        assert_eq!(faults.take(OperationId::ListUsers), None);
        faults.inject(FaultRule::new(
            OperationId::ListUsers,
            2,
            Fault::DropConnection,
        ));
        faults.inject(FaultRule::any(1, Fault::delay(Duration::from_millis(5))));
        faults.inject(FaultRule::any(0, Fault::DropConnection));

        assert_eq!(
            faults.take(OperationId::ListBackups),
            Some(Fault::Delay { millis: 5 })
        );
        assert_eq!(faults.take(OperationId::ListBackups), None);
        assert_eq!(
            faults.take(OperationId::ListUsers),
            Some(Fault::DropConnection)
        );
        assert_eq!(
            faults.take(OperationId::ListUsers),
            Some(Fault::DropConnection)
        );
        assert_eq!(faults.take(OperationId::ListUsers), None);

        faults.inject(FaultRule::any(3, Fault::DropConnection));
        faults.clear();
        assert_eq!(faults.take(OperationId::ListUsers), None);
    }

    #[test]
    fn rules_read_from_json_like_the_control_route_takes_them() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"operation":"create_backup","times":1,"fault":{"kind":"status","status":429,"body":"Retry later","headers":[["retry-after","3"]]}}"#,
        )
        .expect("rule");
        assert_eq!(rule.operation, Some(OperationId::CreateBackup));
        assert!(
            matches!(rule.fault, Fault::Status { status: 429, ref headers, .. } if headers.len() == 1)
        );
        let any: FaultRule =
            serde_json::from_str(r#"{"times":2,"fault":{"kind":"drop_connection"}}"#)
                .expect("rule");
        assert_eq!(any, FaultRule::any(2, Fault::DropConnection));
        let stall: FaultRule = serde_json::from_str(
            r#"{"times":1,"fault":{"kind":"stall_body","after_bytes":10,"millis":500}}"#,
        )
        .expect("rule");
        assert_eq!(
            stall.fault,
            Fault::StallBody {
                after_bytes: 10,
                millis: 500
            }
        );

        let written = serde_json::to_value(FaultRule::new(
            OperationId::ListUsers,
            1,
            Fault::DropConnection,
        ))
        .expect("JSON");
        assert_eq!(written["operation"], "list_users");
    }

    #[test]
    fn a_rule_for_an_operation_the_contract_lacks_is_refused_naming_those_it_has() {
        let json = serde_json::json!({"operation": "list_user", "times": 1, "fault": {"kind": "drop_connection"}});
        let error = serde_json::from_value::<FaultRule>(json).expect_err("refused");
        let unknown = "list_user".parse::<OperationId>().expect_err("unknown");
        assert_eq!(error.to_string(), unknown.to_string());
        assert!(
            error.to_string().contains("list_users, create_user"),
            "{error}"
        );
    }
}
