//! Writes finished requests to the ledger on a thread of its own, so a slow
//! or failing disk never holds a request up. The queue is bounded: past it,
//! rows are dropped and counted (requests still succeed), and a failing
//! ledger says so once in the log, then once when it works again.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use super::{Entry, Ledger, now_ms};

/// Finished requests waiting for the writer; at 10k req/s that is a second
/// of a stalled disk.
const QUEUE: usize = 10_000;
/// How long the first row of a batch waits for others; well under the
/// second after which a killed gateway must still have a row.
const LINGER: Duration = Duration::from_millis(200);
/// How often old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

enum Message {
    Entry(Box<Entry>),
    /// Answered once everything queued before it is written (or given up on).
    Flush(SyncSender<()>),
}

/// The gateway's handle on the writer thread; cheap to share.
pub struct Recorder {
    tx: SyncSender<Message>,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Rows dropped because the queue was full or the ledger failed.
    lost: AtomicU64,
    warned_full: AtomicBool,
}

impl Recorder {
    /// Start the writer for the ledger at `path`, deleting rows older than `retention`.
    pub fn start(path: PathBuf, retention: Duration) -> std::io::Result<Recorder> {
        let (tx, rx) = sync_channel(QUEUE);
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            path,
            retention,
            ledger: None,
            failing: false,
            shared: shared.clone(),
        };
        std::thread::Builder::new()
            .name("claw-usage".into())
            .spawn(move || writer.run(rx))?;
        Ok(Recorder { tx, shared })
    }

    /// Queue `entry`; never blocks.
    pub fn record(&self, entry: Entry) {
        match self.tx.try_send(Message::Entry(Box::new(entry))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.shared.lost.fetch_add(1, Ordering::Relaxed);
                if !self.shared.warned_full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "usage ledger: {QUEUE} requests are waiting to be written (the disk is slow); \
                         requests are still served, and their usage rows are dropped until it catches up"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.shared.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Wait (at most `timeout`) until what was queued is written: at shutdown.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (done_tx, done_rx) = sync_channel(1);
        if self.tx.send(Message::Flush(done_tx)).is_err() {
            return false;
        }
        done_rx.recv_timeout(timeout).is_ok()
    }

    /// Rows lost so far (queue full or ledger failing).
    pub fn lost(&self) -> u64 {
        self.shared.lost.load(Ordering::Relaxed)
    }
}

struct Writer {
    path: PathBuf,
    retention: Duration,
    ledger: Option<Ledger>,
    /// The last write failed; its warning has been logged.
    failing: bool,
    shared: Arc<Shared>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Message>) {
        let mut pruned = Instant::now();
        self.prune();
        loop {
            let first = match rx.recv_timeout(PRUNE_EVERY) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    self.prune();
                    pruned = Instant::now();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            // Rows arriving within `LINGER` of the first go in one transaction:
            // one commit per batch, and no wake-up of this thread per request
            // (it sleeps instead of waiting on the queue).
            if !matches!(first, Message::Flush(_)) {
                std::thread::sleep(LINGER);
            }
            let mut batch = Vec::new();
            let mut flushes = Vec::new();
            for m in std::iter::once(first).chain(rx.try_iter().take(QUEUE)) {
                match m {
                    Message::Entry(e) => batch.push(*e),
                    Message::Flush(done) => flushes.push(done),
                }
            }
            if !batch.is_empty() {
                self.write(&batch);
            }
            for done in flushes {
                let _ = done.send(());
            }
            if pruned.elapsed() >= PRUNE_EVERY {
                self.prune();
                pruned = Instant::now();
            }
        }
    }

    fn write(&mut self, batch: &[Entry]) {
        let result = self.ledger().and_then(|l| l.insert(batch));
        match result {
            Ok(()) if self.failing => {
                self.failing = false;
                self.shared.warned_full.store(false, Ordering::Relaxed);
                tracing::info!(
                    "usage ledger: writing to {} again ({} request rows were lost in all)",
                    self.path.display(),
                    self.shared.lost.load(Ordering::Relaxed)
                );
            }
            Ok(()) => {}
            Err(e) => {
                self.shared
                    .lost
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                // Reopen next time: the file may have been moved or repaired.
                self.ledger = None;
                if !self.failing {
                    self.failing = true;
                    tracing::warn!(
                        "{e}; requests are still served, but their usage is not recorded until the ledger can be written"
                    );
                }
            }
        }
    }

    fn ledger(&mut self) -> Result<&mut Ledger, super::LedgerError> {
        if self.ledger.is_none() {
            self.ledger = Some(Ledger::open(&self.path)?);
        }
        Ok(self.ledger.as_mut().expect("just opened"))
    }

    fn prune(&mut self) {
        let cutoff = now_ms() - self.retention.as_millis() as i64;
        match self.ledger().and_then(|l| l.prune(cutoff)) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "usage ledger: deleted {n} rows older than {} days",
                self.retention.as_secs() / 86_400
            ),
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::warn!(
                    "{e}; requests are still served, but their usage is not recorded until the ledger can be written"
                );
            }
            Err(_) => {}
        }
    }
}
