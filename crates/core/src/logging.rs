//! Logging: `tracing` to stderr and, for long-running processes, a rolling file in the state dir.

use std::io::IsTerminal;
use std::path::Path;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Keeps the file writer flushing; drop it last (at exit).
#[must_use = "dropping the guard stops writing the log file"]
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// How many log lines may wait for the file writer.
const LOG_QUEUE_LINES: usize = 1024;

/// How many daily log files to keep.
pub const KEEP_DAYS: usize = 7;

/// Sets up logging once per process. `RUST_LOG` overrides `default_filter`. With `log_dir`, a
/// daily-rolling `tokentray.YYYY-MM-DD.log` is written there too (last [`KEEP_DAYS`] kept).
pub fn init(default_filter: &str, log_dir: Option<&Path>) -> LogGuard {
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .with_filter(filter());

    let mut file_error = None;
    let (file_layer, guard) = match log_dir.map(file_writer) {
        Some(Ok((writer, guard))) => (
            Some(
                fmt::layer()
                    .with_writer(writer)
                    .with_ansi(false)
                    .with_filter(filter()),
            ),
            Some(guard),
        ),
        Some(Err(e)) => {
            file_error = Some(e);
            (None, None)
        }
        None => (None, None),
    };
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    if let Some(e) = file_error {
        tracing::warn!("logging to stderr only: {e}");
    }
    LogGuard { _file: guard }
}

fn file_writer(
    dir: &Path,
) -> Result<
    (
        tracing_appender::non_blocking::NonBlocking,
        tracing_appender::non_blocking::WorkerGuard,
    ),
    String,
> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("tokentray")
        .filename_suffix("log")
        .max_log_files(KEEP_DAYS)
        .build(dir)
        .map_err(|e| format!("cannot write logs in {}: {e}", dir.display()))?;
    // The default queue holds 128,000 lines and is allocated (and touched) up front: 4 MiB of an
    // idle tray app's memory. A thousand lines is plenty for an engine that logs a few lines a
    // minute; a burst beyond it drops lines rather than block the engine.
    Ok(
        tracing_appender::non_blocking::NonBlockingBuilder::default()
            .buffered_lines_limit(LOG_QUEUE_LINES)
            .lossy(true)
            .finish(appender),
    )
}
