//! The SQLite file: schema, writes in batches, retention, and the reads
//! `claw usage` makes. WAL mode, so `claw usage` reads while the gateway writes,
//! and a gateway killed mid-write leaves every committed batch readable.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use super::Entry;

/// The schema this claw writes; `PRAGMA user_version` of the file.
const SCHEMA: i64 = 1;

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    client TEXT NOT NULL,
    api TEXT NOT NULL,
    stream INTEGER NOT NULL,
    requested TEXT NOT NULL,
    provider TEXT,
    model TEXT,
    attempts INTEGER NOT NULL,
    fallback INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_usd REAL,
    ttft_ms INTEGER,
    duration_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_at ON requests(at_ms);
";

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot open the usage ledger {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{path} is not a usage ledger claw can read ({source}); move it away and claw starts a new one"
    )]
    NotALedger {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{path} was written by a newer claw (ledger schema {found}; this claw knows {SCHEMA}); upgrade claw to read it"
    )]
    Newer { path: PathBuf, found: i64 },
    #[error("cannot create the usage ledger {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("usage ledger {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

pub struct Ledger {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
}

impl Ledger {
    /// Open for writing, creating the file (0600, in a 0700 folder) and schema.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        if let Some(dir) = path.parent() {
            claw_types::fs::create_private_dir(dir).map_err(|source| LedgerError::Create {
                path: dir.into(),
                source,
            })?;
        }
        // SQLite gives its -wal and -shm files the database file's mode.
        create_private_file(path).map_err(|source| LedgerError::Create {
            path: path.into(),
            source,
        })?;
        let ledger = Ledger::connect(path, OpenFlags::default())?;
        ledger
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .map_err(|source| ledger.not_a_ledger(source))?;
        ledger.sql(ledger.conn.execute_batch("PRAGMA synchronous=NORMAL;"))?;
        ledger.check_schema()?;
        ledger.sql(ledger.conn.execute_batch(CREATE))?;
        ledger.sql(
            ledger
                .conn
                .execute_batch(&format!("PRAGMA user_version={SCHEMA};")),
        )?;
        Ok(ledger)
    }

    /// Open an existing ledger to read it; `None` when there is none yet.
    pub fn open_read(path: &Path) -> Result<Option<Ledger>, LedgerError> {
        if !path.exists() {
            return Ok(None);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let ledger = Ledger::connect(path, flags)?;
        if ledger.check_schema()? == 0 {
            // Created, but the schema never got written: nothing recorded yet.
            return Ok(None);
        }
        Ok(Some(ledger))
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<Ledger, LedgerError> {
        let conn =
            Connection::open_with_flags(path, flags).map_err(|source| LedgerError::Open {
                path: path.into(),
                source,
            })?;
        let ledger = Ledger {
            conn,
            path: path.into(),
        };
        // A lock held by another writer (a second gateway, `sqlite3` open on
        // it) is waited for this long before giving up.
        ledger.sql(ledger.conn.busy_timeout(Duration::from_secs(2)))?;
        Ok(ledger)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's schema version; an error when it is not SQLite or is newer.
    fn check_schema(&self) -> Result<i64, LedgerError> {
        let found: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|source| self.not_a_ledger(source))?;
        if found > SCHEMA {
            return Err(LedgerError::Newer {
                path: self.path.clone(),
                found,
            });
        }
        Ok(found)
    }

    /// Write `entries` in one transaction.
    pub fn insert(&mut self, entries: &[Entry]) -> Result<(), LedgerError> {
        let path = self.path.clone();
        let sql = |source| LedgerError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO requests (at_ms, request_id, client, api, stream, requested, provider, model,
                     attempts, fallback, reasons, input_tokens, output_tokens, cache_read_tokens,
                     cache_write_tokens, reasoning_tokens, cost_usd, ttft_ms, duration_ms, outcome)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                )
                .map_err(sql)?;
            for e in entries {
                stmt.execute(params![
                    e.at_ms,
                    e.request_id,
                    e.client,
                    e.api,
                    e.stream,
                    e.requested,
                    e.provider,
                    e.model,
                    e.attempts,
                    e.fallback,
                    e.reasons,
                    e.usage.input_tokens,
                    e.usage.output_tokens,
                    e.usage.cache_read_tokens,
                    e.usage.cache_write_tokens,
                    e.usage.reasoning_tokens,
                    e.cost_usd,
                    e.ttft_ms.map(|t| t as i64),
                    e.duration_ms as i64,
                    e.outcome.as_str(),
                ])
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    /// Delete rows from before `cutoff_ms`; returns how many.
    pub fn prune(&self, cutoff_ms: i64) -> Result<usize, LedgerError> {
        self.sql(
            self.conn
                .execute("DELETE FROM requests WHERE at_ms < ?1", [cutoff_ms]),
        )
    }

    pub(super) fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T, LedgerError> {
        r.map_err(|source| LedgerError::Sql {
            path: self.path.clone(),
            source,
        })
    }

    fn not_a_ledger(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::NotALedger {
            path: self.path.clone(),
            source,
        }
    }
}

/// Create `path` owner-only if it does not exist; an existing file keeps its mode.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}
