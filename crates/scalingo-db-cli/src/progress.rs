//! Progress of the long waits, on stderr: a spinner with the status while a backup is made or an
//! operation (a restore) runs, a bar of bytes while an archive downloads. Drawn only on a terminal
//! and not with `--silent` or `-q`; when stderr is a log file instead, status changes are written
//! as lines.

use std::time::Duration;

use console::StyledObject;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scalingo_db::Progress;

use crate::escape::for_terminal;
use crate::output::Output;

/// How often a spinner moves.
const TICK: Duration = Duration::from_millis(120);

/// The display of a backup or an operation being waited for.
pub struct WaitDisplay<'a> {
    bar: ProgressBar,
    output: &'a Output,
    log_lines: bool,
}

impl<'a> WaitDisplay<'a> {
    /// A spinner (or status lines, or nothing) for waiting on a backup or an operation.
    pub fn new(output: &'a Output, silent: bool) -> WaitDisplay<'a> {
        let bar = if output.shows_progress(silent) {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("the template is valid"),
            );
            bar.enable_steady_tick(TICK);
            bar
        } else {
            ProgressBar::hidden()
        };
        WaitDisplay {
            bar,
            output,
            log_lines: output.logs_progress(silent),
        }
    }

    /// The status of `what` (`backup 5c…`, `operation 5c…`) changed.
    pub fn update(&self, what: &str, status: StyledObject<String>) {
        let message = for_terminal(&format!("{what} is {}", status.for_stderr())).into_owned();
        if self.log_lines {
            self.output.note(&message);
        }
        self.bar.set_message(message);
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The bar of an archive being downloaded.
pub struct DownloadBar {
    bar: ProgressBar,
}

impl DownloadBar {
    /// A bar of bytes (or nothing).
    pub fn new(output: &Output, silent: bool) -> DownloadBar {
        let bar = if output.shows_progress(silent) {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .expect("the template is valid"),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        DownloadBar { bar }
    }

    /// More bytes arrived. Over several connections, `progress` counts the bytes of every range
    /// written so far, so the bar shows the whole download, not one connection's share.
    pub fn update(&self, progress: Progress) {
        if let Some(total) = progress.total {
            self.bar.set_length(total);
        }
        self.bar.set_position(progress.bytes);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
