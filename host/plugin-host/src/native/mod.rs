//! Native plugins: shared libraries built from the same SDK source as a
//! component, loaded with libloading through the C ABI of `docs/native-abi.md`.
//! They get the same load checks as components (each failure its own error
//! naming the plugin, what it has, what the host provides and what to do) and
//! none of the sandbox: they load only when the user trusts them (`core`
//! decides that), a panic fails only its call (the SDK catches it), a call past
//! its deadline is abandoned (up to a cap), and a library is unloaded only after
//! its last call has finished.

mod abi;
mod format;
pub(crate) mod host;
mod library;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use claw_types::{AuthInfo, ChatEvent, ChatRequest, Credential, LoginResult, ProviderInfo};

use crate::error::CallError;
use crate::sdk::compat::{self, SdkError, SdkUse};
use crate::sdk::native_json as json;
pub(crate) use library::Library;
use worker::{Pool, Ticket, Worker};

/// Calls of one plugin that may run past their deadline at once; past this
/// the plugin is degraded and gets no new calls until one finishes.
pub(crate) const MAX_STUCK: usize = 4;

/// Why a native library was refused. `step` is what `plugins list --json` shows.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    #[error("plugin \"{id}\": {why}; build the plugin for this machine ({target}) with `claw plugins build` in its folder", target = crate::manifest::HOST_TARGET)]
    Format { id: String, why: String },
    #[error(
        "plugin \"{id}\": the native library could not be loaded: {detail}; it may need a shared library this machine lacks (named above), or be built for another system: rebuild it here with `claw plugins build` in its folder"
    )]
    Open { id: String, detail: String },
    #[error(
        "plugin \"{id}\": the library has no `{symbol}` symbol: it is not a claw native plugin, or it was built without the SDK's export macro (claw_plugin_sdk::export_provider!, export_auth! or export_portal!); this host loads native ABI {min}..={max}",
        min = abi::ABI_MIN, max = abi::ABI_MAX
    )]
    MissingSymbol { id: String, symbol: &'static str },
    #[error(
        "plugin \"{id}\" was built for native ABI {found}, but this host provides native ABI {min}..={max}. {advice}",
        min = abi::ABI_MIN, max = abi::ABI_MAX,
        advice = if *found > abi::ABI_MAX {
            format!("Upgrade claw, or rebuild the plugin with claw-plugin-sdk {}.", compat::supported_range())
        } else {
            format!("Rebuild the plugin with claw-plugin-sdk {}.", compat::supported_range())
        }
    )]
    Abi { id: String, found: u32 },
    #[error(
        "plugin \"{id}\" reports SDK version {found:?}, which is not a semver version; rebuild it with claw-plugin-sdk {}",
        compat::supported_range()
    )]
    SdkVersion { id: String, found: String },
    #[error(transparent)]
    Sdk(SdkError),
    #[error("{0}")]
    Mismatch(String),
    #[error(
        "plugin \"{id}\": its claw_init refused claw's host table (status {status}: 3 means a table it cannot use, 2 a panic); rebuild the plugin with claw-plugin-sdk {} against this claw",
        compat::supported_range()
    )]
    Init { id: String, status: i32 },
    #[error("plugin \"{id}\": loading the library did not finish within {} s (its initializers hang)", limit.as_secs())]
    Hung { id: String, limit: Duration },
}

impl NativeError {
    pub fn step(&self) -> &'static str {
        match self {
            NativeError::Format { .. } => "format",
            NativeError::Open { .. } | NativeError::Init { .. } | NativeError::Hung { .. } => {
                "load"
            }
            NativeError::MissingSymbol { .. } | NativeError::Abi { .. } => "abi",
            NativeError::SdkVersion { .. } | NativeError::Sdk(_) => "sdk",
            NativeError::Mismatch(_) => "manifest-mismatch",
        }
    }
}

/// How long loading a library (its initializers, `claw_init`) may take.
const OPEN_LIMIT: Duration = Duration::from_secs(30);

/// Open a library on a thread of its own (initializers are native code too),
/// and check what it says against the host and the manifest.
pub(crate) async fn open(
    manifest: &crate::manifest::Manifest,
    bytes: &[u8],
    copies: &std::path::Path,
) -> Result<(Library, SdkUse), NativeError> {
    let id = manifest.id.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (name, bytes, copies) = (id.clone(), bytes.to_vec(), copies.to_path_buf());
    std::thread::Builder::new()
        .name(format!("claw-native-load-{id}"))
        .spawn(move || {
            let _ = tx.send(library::open(&name, &bytes, &copies));
        })
        .map_err(|e| NativeError::Open {
            id: id.clone(),
            detail: format!("cannot start a thread: {e}"),
        })?;
    let library = match tokio::time::timeout(OPEN_LIMIT, rx).await {
        Ok(Ok(result)) => result?,
        Ok(Err(_)) => {
            return Err(NativeError::Open {
                id,
                detail: "the loading thread ended without an answer".into(),
            });
        }
        Err(_) => {
            return Err(NativeError::Hung {
                id,
                limit: OPEN_LIMIT,
            });
        }
    };
    if !json::supports(&library.sdk) {
        return Err(NativeError::Sdk(SdkError::Incompatible {
            id,
            found: library.sdk.clone(),
        }));
    }
    let sdk = SdkUse {
        version: library.sdk.clone(),
        roles: library.roles.clone(),
        ignored_exports: Vec::new(),
    };
    compat::check_manifest(manifest, &sdk).map_err(|e| {
        NativeError::Mismatch(
            e.to_string()
                .replace(
                    "the component does not export",
                    "the native library does not export",
                )
                .replace("the component exports", "the native library exports")
                .replace("the component was built", "the native library was built"),
        )
    })?;
    Ok((library, sdk))
}

/// Batches a chat stream's thread may read ahead of the host: the plugin runs
/// on while the host forwards what it has, and no further.
const READ_AHEAD: usize = 8;

/// A loaded native plugin: the library, its idle threads, the count of its
/// stuck calls.
pub(crate) struct Native {
    library: Arc<Library>,
    pool: Arc<Pool>,
    stuck: Arc<AtomicUsize>,
}

impl Native {
    pub(crate) fn new(library: Library) -> Native {
        Native {
            library: Arc::new(library),
            pool: Arc::default(),
            stuck: Arc::default(),
        }
    }

    pub(crate) fn is_provider(&self) -> bool {
        self.library.describe.is_some()
    }

    pub(crate) fn is_auth(&self) -> bool {
        self.library.describe_auth.is_some()
    }

    /// Calls past their deadline that are still running.
    pub(crate) fn stuck(&self) -> usize {
        self.stuck.load(Ordering::Acquire)
    }

    /// Run `f` on `worker` within `limit`. A result nobody waits for any more
    /// (the deadline passed, or the caller went away) goes to `unclaimed`.
    async fn run<T: Send + 'static>(
        &self,
        plugin: &str,
        worker: &Worker,
        what: &'static str,
        limit: Duration,
        f: impl FnOnce() -> T + Send + 'static,
        unclaimed: impl FnOnce(T) + Send + 'static,
    ) -> Result<T, CallError> {
        let (mine, theirs) = Ticket::new(self.stuck.clone());
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let library = self.library.clone();
        // The job holds the library, so it stays loaded while the call runs.
        let sent = worker.send(move || {
            let value = f();
            if !theirs.finish() {
                unclaimed(value);
            } else if let Err(value) = tx.send(value) {
                unclaimed(value);
            }
            drop(library);
        });
        let gone = || CallError::Trap {
            plugin: plugin.to_string(),
            what,
            detail: "its call thread ended without an answer".into(),
        };
        if !sent {
            return Err(gone());
        }
        match tokio::time::timeout(limit, &mut rx).await {
            Ok(result) => result.map_err(|_| gone()),
            Err(_) if !mine.abandon() => rx.await.map_err(|_| gone()),
            Err(_) => {
                worker.session.abandon();
                tracing::warn!(
                    plugin,
                    stuck = self.stuck(),
                    "native call {what} passed its deadline; abandoned (it keeps running until it returns)"
                );
                Err(CallError::Timeout {
                    plugin: plugin.to_string(),
                    what,
                    limit,
                })
            }
        }
    }

    fn start(
        &self,
        plugin: &str,
        session: host::Session,
        what: &'static str,
    ) -> Result<Worker, CallError> {
        let stuck = self.stuck();
        if stuck >= MAX_STUCK {
            return Err(CallError::Stuck {
                plugin: plugin.to_string(),
                what,
                count: stuck,
            });
        }
        Worker::start(&self.pool, Arc::new(session)).map_err(|e| CallError::Overloaded {
            plugin: plugin.to_string(),
            what,
            detail: format!("cannot start a thread for the call: {e}"),
        })
    }

    /// One call on a thread of its own, its output parsed by `parse`.
    async fn call<T: Send + 'static>(
        &self,
        plugin: &str,
        session: host::Session,
        what: &'static str,
        limit: Duration,
        f: impl FnOnce() -> (i32, Vec<u8>) + Send + 'static,
        parse: impl FnOnce(&[u8]) -> serde_json::Result<T>,
    ) -> Result<T, CallError> {
        let worker = self.start(plugin, session, what)?;
        let output = self.run(plugin, &worker, what, limit, f, |_| ()).await?;
        let result = with_denials(outcome(plugin, what, output, parse), &worker.session);
        worker.done();
        result
    }

    pub(crate) async fn describe(
        &self,
        plugin: &str,
        session: host::Session,
        limit: Duration,
    ) -> Result<ProviderInfo, CallError> {
        let describe = entry(plugin, "describe", self.library.describe)?;
        let f = move || library::with_sink(|out| unsafe { describe(out) });
        self.call(plugin, session, "describe", limit, f, json::provider_info)
            .await
    }

    pub(crate) async fn describe_auth(
        &self,
        plugin: &str,
        session: host::Session,
        limit: Duration,
    ) -> Result<AuthInfo, CallError> {
        let describe = entry(plugin, "describe-auth", self.library.describe_auth)?;
        let f = move || library::with_sink(|out| unsafe { describe(out) });
        self.call(plugin, session, "describe-auth", limit, f, json::auth_info)
            .await
    }

    pub(crate) async fn login(
        &self,
        plugin: &str,
        session: host::Session,
        limit: Duration,
        method: &str,
    ) -> Result<LoginResult, CallError> {
        let login = entry(plugin, "login", self.library.login)?;
        let method = method.as_bytes().to_vec();
        let f =
            move || library::with_sink(|out| unsafe { login(method.as_ptr(), method.len(), out) });
        self.call(plugin, session, "login", limit, f, json::login_result)
            .await
    }

    pub(crate) async fn refresh(
        &self,
        plugin: &str,
        session: host::Session,
        limit: Duration,
        method: &str,
        credential: &Credential,
    ) -> Result<Credential, CallError> {
        let refresh = entry(plugin, "refresh", self.library.refresh)?;
        let input = json::refresh_request(method, credential);
        let f =
            move || library::with_sink(|out| unsafe { refresh(input.as_ptr(), input.len(), out) });
        self.call(plugin, session, "refresh", limit, f, json::credential)
            .await
    }

    /// Start a chat on a thread that then reads the stream ahead of the host
    /// (up to `READ_AHEAD` batches) until it ends, and closes it.
    pub(crate) async fn chat(
        &self,
        plugin: &str,
        session: host::Session,
        limit: Duration,
        request: &ChatRequest,
    ) -> Result<Stream, CallError> {
        let chat = entry(plugin, "chat", self.library.chat)?;
        let next = entry(plugin, "chat", self.library.next)?;
        let close = entry(plugin, "chat", self.library.close)?;
        let worker = self.start(plugin, session, "chat")?;
        let input = json::chat_request(request);
        let f = move || {
            let mut handle = 0u64;
            let (status, out) = library::with_sink(|out| unsafe {
                chat(input.as_ptr(), input.len(), &mut handle, out)
            });
            (status, out, handle)
        };
        // A stream started after the host gave up is closed at once.
        let unclaimed = move |(status, _, handle): (i32, Vec<u8>, u64)| {
            if status == abi::OK {
                unsafe { close(handle) }
            }
        };
        let (status, out, handle) = self
            .run(plugin, &worker, "chat", limit, f, unclaimed)
            .await?;
        with_denials(
            outcome(plugin, "chat", (status, out), |_| Ok(())),
            &worker.session,
        )?;

        let (tx, batches) = tokio::sync::mpsc::channel(READ_AHEAD);
        let (ticket, theirs) = Ticket::new(self.stuck.clone());
        // The thread holds the library until the stream is closed.
        let loaded = self.library.clone();
        worker.send(move || {
            loop {
                let (status, out) = library::with_sink(|out| unsafe { next(handle, out) });
                let last = status != abi::OK || out == b"null";
                // Stop when the host gave up or went away (a full queue waits).
                if theirs.abandoned() || tx.blocking_send((status, out)).is_err() || last {
                    break;
                }
            }
            unsafe { close(handle) };
            theirs.finish();
            drop(loaded);
        });
        Ok(Stream {
            worker,
            batches,
            ticket,
            pending: None,
        })
    }

    /// The next events: those the stream's thread has read, waiting for one
    /// batch within `limit`, and taking whatever else has arrived with it.
    pub(crate) async fn next(
        &self,
        plugin: &str,
        stream: &mut Stream,
        limit: Duration,
    ) -> Result<Option<Vec<ChatEvent>>, CallError> {
        let first = match stream.pending.take() {
            Some(item) => item,
            None => match tokio::time::timeout(limit, stream.batches.recv()).await {
                Ok(Some(item)) => item,
                Ok(None) => return Err(ended(plugin)),
                Err(_) if stream.ticket.abandon() => {
                    stream.worker.session.abandon();
                    tracing::warn!(
                        plugin,
                        stuck = self.stuck(),
                        "native call next passed its deadline; abandoned (it keeps running until it returns)"
                    );
                    return Err(CallError::Timeout {
                        plugin: plugin.to_string(),
                        what: "next",
                        limit,
                    });
                }
                // The thread finished just now: what it sent is there.
                Err(_) => stream.batches.recv().await.ok_or_else(|| ended(plugin))?,
            },
        };
        let read = |item| {
            with_denials(
                outcome(plugin, "next", item, json::events),
                &stream.worker.session,
            )
        };
        let Some(mut events) = read(first)? else {
            return Ok(None);
        };
        while let Ok(item) = stream.batches.try_recv() {
            if item.0 != abi::OK || item.1 == b"null" {
                stream.pending = Some(item);
                break;
            }
            events.extend(read(item)?.unwrap_or_default());
        }
        Ok(Some(events))
    }
}

fn ended(plugin: &str) -> CallError {
    CallError::Trap {
        plugin: plugin.to_string(),
        what: "next",
        detail: "its stream thread ended without an answer".into(),
    }
}

/// A native chat stream: the batches its thread has read ahead.
pub(crate) struct Stream {
    worker: Worker,
    batches: tokio::sync::mpsc::Receiver<(i32, Vec<u8>)>,
    ticket: Ticket,
    /// The end (or an error) that came behind batches already handed on.
    pending: Option<(i32, Vec<u8>)>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Stop its host calls: a thread waiting on the upstream returns, finds
        // nobody reading, and closes the stream.
        self.worker.session.abandon();
    }
}

/// A role's entry point; a library without it never gets this call (its
/// roles decide what the host calls), so a missing one is refused, not a crash.
fn entry<F>(plugin: &str, what: &'static str, f: Option<F>) -> Result<F, CallError> {
    f.ok_or_else(|| CallError::Trap {
        plugin: plugin.to_string(),
        what,
        detail: format!("the library does not export the {what} function of its role"),
    })
}

/// A plugin's own error, with what the host refused during the call, if it
/// refused anything (the plugin saw only "denied").
fn with_denials<T>(result: Result<T, CallError>, session: &host::Session) -> Result<T, CallError> {
    match result {
        Err(CallError::Plugin { plugin, mut error }) => {
            if let Some(denied) = session.denials.last() {
                error.message = format!("{} ({denied})", error.message);
            }
            Err(CallError::Plugin { plugin, error })
        }
        other => other,
    }
}

/// A plugin function's status and output as the host's result.
fn outcome<T>(
    plugin: &str,
    what: &'static str,
    (status, out): (i32, Vec<u8>),
    parse: impl FnOnce(&[u8]) -> serde_json::Result<T>,
) -> Result<T, CallError> {
    let trap = |detail: String| CallError::Trap {
        plugin: plugin.to_string(),
        what,
        detail,
    };
    let text = || {
        String::from_utf8_lossy(&out)
            .chars()
            .take(500)
            .collect::<String>()
    };
    match status {
        abi::OK => parse(&out).map_err(|e| {
            trap(format!(
                "returned output that is not valid JSON for {what}: {e}"
            ))
        }),
        abi::PLUGIN_ERROR => match json::plugin_error(&out) {
            Ok(error) => Err(CallError::Plugin {
                plugin: plugin.to_string(),
                error,
            }),
            Err(e) => Err(trap(format!(
                "returned an error that is not a valid plugin-error: {e}"
            ))),
        },
        abi::PANIC => Err(trap(format!("panicked: {}", text()))),
        abi::BAD_INPUT => Err(trap(format!("could not read what claw sent: {}", text()))),
        other => Err(trap(format!("returned unknown status {other}"))),
    }
}
