//! [`RangedPart`]: the part file of a download in ranges, written at many places at once, and
//! its sidecar, which records which bytes of each range are written.
//!
//! The part is created (with a sidecar that counts nothing yet) once the first range's answer has
//! shown an archive; ranges are then written at their places with positioned writes on one
//! handle, opened without `O_APPEND`. The file is never pre-sized: it grows as writes land past
//! its end, the gaps between them holes, and the archive's last byte is written last
//! ([`super::part_table`]), so a part is shorter than its archive until it is whole.
//!
//! The sidecar is rewritten now and then ([`RangedPart::record`]), always after the part's data
//! is synced, and whole (a new file renamed over the old one): whatever happens, it never counts
//! a byte that is not on disk, and a crash leaves the last record or the one before.

use std::fs::File;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::part::{PART_REFUSED, PartPaths, blocking, io};
use super::plan::Layout;
use super::safe_fs::{self, Access};
use super::sidecar;
use super::stream_part::create;
use super::validator::Validator;
use crate::error::Result;

/// The part file of a download in ranges.
pub(super) struct RangedPart {
    paths: PartPaths,
    /// Whether the part on disk was written or continued by this download.
    owned: bool,
}

impl RangedPart {
    /// The part at `paths`; `continued` when it is a leftover this download goes on with.
    pub(super) fn new(paths: PartPaths, continued: bool) -> RangedPart {
        RangedPart {
            paths,
            owned: continued,
        }
    }

    /// How each pass over the archive is checked.
    pub(super) fn checks(&self) -> &super::verifying::Checks {
        &self.paths.checks
    }

    /// Where the part is.
    pub(super) fn path(&self) -> &std::path::Path {
        &self.paths.part
    }

    /// Replaces whatever is there by an empty part of the version `validator` names, cut as
    /// `layout` says, named by its sidecar first.
    pub(super) async fn create(
        &mut self,
        validator: &Validator,
        layout: &Layout,
    ) -> Result<Arc<File>> {
        let paths = self.paths.clone();
        let text = sidecar::ranged_text(
            &paths.backup_id,
            validator,
            layout,
            &vec![0; layout.count()],
        );
        let file = blocking(&self.paths.part, move || {
            create(&paths, &text, Access::Positioned)
        })
        .await?;
        self.owned = true;
        Ok(Arc::new(file))
    }

    /// Records, in the sidecar, that the first `done[i]` bytes of each range `i` are written,
    /// once they are synced; on the blocking pool, to be awaited whenever suits.
    pub(super) fn record(
        &self,
        file: &Arc<File>,
        validator: &Validator,
        layout: &Layout,
        done: &[u64],
    ) -> JoinHandle<Result<()>> {
        let file = Arc::clone(file);
        let paths = self.paths.clone();
        let text = sidecar::ranged_text(&paths.backup_id, validator, layout, done);
        tokio::task::spawn_blocking(move || {
            file.sync_data().map_err(io(&paths.part))?;
            safe_fs::replace_small(&paths.sidecar, text.as_bytes(), PART_REFUSED)
                .map_err(io(&paths.sidecar))
        })
    }

    /// Syncs the part, whole, and puts it in place ([`PartPaths::place`]); it is no longer
    /// this download's to remove.
    pub(super) async fn finish(&mut self, file: Arc<File>) -> Result<()> {
        let paths = self.paths.clone();
        blocking(&self.paths.part, move || {
            file.sync_all().map_err(io(&paths.part))?;
            let written = file.metadata().map_err(io(&paths.part))?;
            paths.place(&written)
        })
        .await?;
        self.owned = false;
        Ok(())
    }

    /// Removes the part and its sidecar when this download wrote or continued them (their
    /// content is not worth resuming, or of another version); someone else's is left alone.
    pub(super) async fn discard(&mut self) {
        if std::mem::take(&mut self.owned) {
            let paths = self.paths.clone();
            let _ = blocking(&self.paths.part, move || {
                paths.remove();
                Ok(())
            })
            .await;
        }
    }
}
