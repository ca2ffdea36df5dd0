//! Where logs go. One-shot commands log to stderr; a serving gateway also
//! writes JSON lines to `gateway/gateway.jsonl` (what `claw logs` reads),
//! through a bounded, lossy queue (a stalled disk drops lines, never requests)
//! into a file that rotates at `MAX_LOG_BYTES`, keeping one older file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use claw_core::state::StateDir;
use claw_gateway::daemon;

/// The log file rotates at this size; with its one older file, the gateway's
/// logs take at most twice this.
pub const MAX_LOG_BYTES: u64 = 16 * 1024 * 1024;
/// Lines waiting for the disk at most; past it, lines are dropped.
const QUEUE_LINES: usize = 16_384;

/// Who is logging.
pub enum Logging {
    /// A one-shot command: stderr only.
    Command,
    /// `claw gateway run`: stderr and the JSON log file; `detached` (started by
    /// `claw gateway start`, stderr is a file) skips stderr.
    Gateway { detached: bool },
}

/// What has to live as long as the program: dropping it flushes the log file
/// and the spans still to be exported.
#[derive(Default)]
pub struct Guard {
    _file: Option<WorkerGuard>,
    otel: Option<SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(p) = self.otel.take() {
            let _ = p.shutdown_with_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// Install the subscriber. `CLAW_LOG` takes a tracing filter (e.g.
/// `claw=debug`), else `default`. Keep the guard until the end.
pub fn init(default: &str, who: Logging) -> Guard {
    let filter = || EnvFilter::try_from_env("CLAW_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    let Logging::Gateway { detached } = who else {
        let _ = tracing_subscriber::registry()
            .with(filter())
            .with(stderr)
            .try_init();
        return Guard::default();
    };
    let file = StateDir::from_env()
        .map_err(|e| e.to_string())
        .and_then(|state| {
            let path = daemon::json_log_path(&state);
            RotatingFile::open(path.clone(), MAX_LOG_BYTES).map_err(|e| {
                format!(
                    "cannot open the log file {}: {e} (`claw logs` will not show this gateway's logs)",
                    path.display()
                )
            })
        });
    let (writer, guard, problem) = match file {
        Ok(file) => {
            let (writer, guard) = NonBlockingBuilder::default()
                .lossy(true)
                .buffered_lines_limit(QUEUE_LINES)
                .thread_name("claw-log")
                .finish(file);
            (Some(writer), Some(guard), None)
        }
        Err(problem) => (None, None, Some(problem)),
    };
    let json = writer.map(|w| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(w)
    });
    let (otel, otel_problem) = match super::otel::wanted().then(super::otel::provider) {
        Some(Ok(p)) => (Some(p), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    // Spans only: the request's and its attempts', with their GenAI fields.
    let spans = otel.as_ref().map(|p| {
        // Spans start when they close (no context activation), so the names
        // and attributes recorded along the way are all in.
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("claw"))
            .with_context_activation(false)
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(filter_fn(|meta| meta.is_span()))
    });
    claw_types::telemetry::set_exporting(otel.is_some());
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with((!detached).then_some(stderr))
        .with(json)
        .with(spans)
        .try_init();
    for problem in [problem, otel_problem].into_iter().flatten() {
        tracing::warn!("{problem}; the gateway runs without it");
    }
    Guard { _file: guard, otel }
}

/// An append-only file that starts over at `max` bytes, moving the full one
/// to `<name>.1` (replacing the older one).
struct RotatingFile {
    path: PathBuf,
    file: File,
    size: u64,
    max: u64,
}

impl RotatingFile {
    fn open(path: PathBuf, max: u64) -> std::io::Result<RotatingFile> {
        if let Some(dir) = path.parent() {
            claw_types::fs::create_private_dir(dir)?;
        }
        let file = open_append(&path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path,
            file,
            size,
            max,
        })
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        std::fs::rename(&self.path, rotated(&self.path))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.max {
            // A failed rotation keeps writing to the full file rather than lose lines.
            let _ = self.rotate();
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The older log file: `gateway.jsonl.1`.
pub fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_rotates_at_its_size_and_keeps_one_older_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.jsonl");
        let mut f = RotatingFile::open(path.clone(), 100).unwrap();
        for i in 0..25 {
            // One write per line, as the logging queue writes them.
            f.write_all(format!("line {i:02}\n").as_bytes()).unwrap();
        }
        let current = std::fs::read_to_string(&path).unwrap();
        let older = std::fs::read_to_string(rotated(&path)).unwrap();
        assert!(current.len() <= 100 && older.len() <= 100);
        assert!(current.ends_with("line 24\n"), "{current}");
        // The older file ends where the current one starts; older lines are gone.
        let number = |l: Option<&str>| l.unwrap()[5..].parse::<u32>().unwrap();
        assert_eq!(
            number(older.lines().last()) + 1,
            number(current.lines().next())
        );
        assert!(number(older.lines().next()) > 0);
    }
}
