//! Request counters per operation, so tests can check what a client really sent (a retry, a
//! request it should not have made).
//!
//! One atomic per operation of the contract, indexed by [`OperationId::index`]: counting a
//! request takes no lock and allocates nothing, so the counters cost nothing a benchmark of the
//! sandbox would notice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use scalingo_db_generated::OperationId;

/// How many requests each operation received (faulted and refused ones included; a request no
/// operation serves, such as a wrong method, is not counted).
#[derive(Debug)]
pub struct Counters {
    by_operation: [AtomicU64; OperationId::COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            by_operation: [const { AtomicU64::new(0) }; OperationId::COUNT],
        }
    }
}

impl Counters {
    pub(crate) fn hit(&self, operation: OperationId) {
        self.by_operation[operation.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Requests of `operation` so far.
    pub fn get(&self, operation: OperationId) -> u64 {
        self.by_operation[operation.index()].load(Ordering::Relaxed)
    }

    /// Requests of every operation so far.
    pub fn total(&self) -> u64 {
        self.by_operation
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }

    /// Starts counting from zero.
    pub fn reset(&self) {
        for count in &self.by_operation {
            count.store(0, Ordering::Relaxed);
        }
    }

    /// Requests per operation so far, in the contract's order, for the operations that received
    /// at least one (an operation never called is absent, not 0).
    pub fn snapshot(&self) -> BTreeMap<OperationId, u64> {
        OperationId::ALL
            .into_iter()
            .map(|operation| (operation, self.get(operation)))
            .filter(|&(_, count)| count > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_is_counted_apart_and_reset_together() {
        let counters = Counters::default();
        counters.hit(OperationId::ListUsers);
        counters.hit(OperationId::ListUsers);
        counters.hit(OperationId::GetAddonToken);

        assert_eq!(counters.get(OperationId::ListUsers), 2);
        assert_eq!(counters.get(OperationId::GetAddonToken), 1);
        assert_eq!(counters.get(OperationId::CreateUser), 0);
        assert_eq!(counters.total(), 3);
        assert_eq!(
            counters.snapshot(),
            BTreeMap::from([(OperationId::ListUsers, 2), (OperationId::GetAddonToken, 1)])
        );

        counters.reset();
        assert_eq!(counters.total(), 0);
        assert!(counters.snapshot().is_empty());
    }
}
