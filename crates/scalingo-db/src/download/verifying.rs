//! [`Checks`]: how a download makes the gzip check of each pass over its archive, and, when it
//! was asked to verify the archive ([`crate::Download::verify`]), taps that check's in-order bytes
//! into a verification (`crate::verify`). Each pass from the archive's first byte (a fresh
//! download, a part read back, a start over after the archive changed) gets a new verification;
//! the one of the pass that completes gives the report.

use std::sync::{Arc, Mutex, PoisonError};

use super::gzip_check::GzipCheck;
use crate::error::Result;
use crate::verify::session::Session;
use crate::verify::{Report, VerifyOptions};

/// The checks of one download; cheap to clone (every clone taps into the same verification).
#[derive(Clone, Default)]
pub(super) struct Checks {
    verifying: Option<Arc<Verifying>>,
}

impl std::fmt::Debug for Checks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checks")
            .field("verifying", &self.verifying.is_some())
            .finish()
    }
}

struct Verifying {
    options: VerifyOptions,
    /// The verification of the latest pass.
    current: Mutex<Option<Session>>,
}

impl Checks {
    /// Checks that also verify the archive with `options`.
    pub(super) fn verifying(options: VerifyOptions) -> Checks {
        Checks {
            verifying: Some(Arc::new(Verifying {
                options,
                current: Mutex::new(None),
            })),
        }
    }

    /// The check of a pass over the archive from its first byte; when verifying, a new
    /// verification of that pass, which replaces (and so abandons) the earlier one.
    pub(super) fn fresh(&self) -> GzipCheck {
        let Some(verifying) = &self.verifying else {
            return GzipCheck::default();
        };
        let (tap, session) = Session::start(verifying.options.clone());
        let earlier = verifying
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(session);
        // Its tap went with the check it fed, so its thread ends on its own.
        drop(earlier);
        GzipCheck::default().tapped(tap)
    }

    /// The report of the last pass's verification, once its check has finished (blocking);
    /// `None` when not verifying.
    pub(super) fn report(&self) -> Option<Result<Report>> {
        let verifying = self.verifying.as_ref()?;
        let session = verifying
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        Some(session.report())
    }
}
