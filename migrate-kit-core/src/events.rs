//! What the crate tells a bot's logs, through `tracing` (feature
//! `tracing`, on by default at the facade): a span per run, and an event
//! per migration, lock wait, drift finding and backup, with the same facts
//! the command line prints. Every event has the target `migrate`. Without
//! the feature each function here does nothing; the crate itself never
//! prints.
//!
//! A `log` user gets the events through tracing's `log` feature (add
//! `tracing = { version = "0.1", features = ["log"] }` to the bot).

use std::fmt::Display;
use std::time::Duration;

/// Runs `run` inside the span of a run: `operation` (`upgrade`,
/// `downgrade`) towards `target`. The span is entered at each poll, so an
/// async run on a shared runtime keeps its own.
pub(crate) async fn in_run_span<F: std::future::Future>(
    operation: &'static str,
    target: &(dyn Display + Sync),
    run: F,
) -> F::Output {
    #[cfg(feature = "tracing")]
    {
        use tracing::Instrument;
        let span = tracing::info_span!(target: "migrate", "migrate", operation, target = %target);
        run.instrument(span).await
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (operation, target);
        run.await
    }
}

/// One migration ran.
pub(crate) fn step(
    revision: &str,
    message: &str,
    direction: &str,
    elapsed: Duration,
    transactional: bool,
) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "migrate",
        revision,
        description = message,
        direction,
        ms = elapsed.as_millis() as u64,
        transactional,
        "{direction} {revision} ({message}) in {} ms",
        elapsed.as_millis()
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (revision, message, direction, elapsed, transactional);
}

/// A run finished: the heads before and after, and how many migrations ran.
pub(crate) fn run_finished(before: &[String], after: &[String], steps: usize) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "migrate",
        before = %before.join(","),
        after = %after.join(","),
        steps,
        "at {} after {steps} migration(s)",
        if after.is_empty() { "base".to_owned() } else { after.join(", ") }
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (before, after, steps);
}

/// Whether a subscriber listens for [`lock_wait`].
#[cfg(feature = "postgres")]
pub(crate) fn lock_wait_heard() -> bool {
    #[cfg(feature = "tracing")]
    return tracing::enabled!(target: "migrate", tracing::Level::WARN);
    #[cfg(not(feature = "tracing"))]
    false
}

/// Another process holds the migration lock; the run waits up to `limit`.
pub(crate) fn lock_wait(limit: Duration, holder: Option<&str>) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        target: "migrate",
        limit_ms = limit.as_millis() as u64,
        holder = holder.unwrap_or(""),
        "waiting up to {} s for the migration lock{}",
        limit.as_secs(),
        holder.map(|h| format!(", held by {h}")).unwrap_or_default()
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (limit, holder);
}

/// One finding of a drift check (a line of `migrate verify`).
pub(crate) fn drift_finding(line: &str) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "migrate", finding = line, "drift: {line}");
    #[cfg(not(feature = "tracing"))]
    let _ = line;
}

/// A backup was written and read back.
pub(crate) fn backup_written(path: &dyn Display) {
    #[cfg(feature = "tracing")]
    tracing::info!(target: "migrate", path = %path, "backup written to {path}");
    #[cfg(not(feature = "tracing"))]
    let _ = path;
}
