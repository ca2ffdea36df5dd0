//! The threads native calls run on. Native code cannot be interrupted, so a
//! call runs on a thread of its own (a chat stream keeps its thread from start
//! to close, since the plugin's stream need not be `Send`), and the host waits
//! for it with the call's deadline. A call past its deadline is abandoned: the
//! host answers with a timeout, the thread finishes on its own, and until it
//! does it counts against the plugin's cap of stuck calls. Threads are kept
//! for the plugin's next calls (a few idle ones), since starting one costs
//! more than the call itself.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak, mpsc};

use super::host::{self, Session};

type Job = Box<dyn FnOnce() + Send>;

enum Msg {
    Run(Job),
    /// The session is over: back to the pool once its jobs are done (the
    /// sender travels with the message, so an idle thread is owned by the pool
    /// alone and ends with it).
    Release(mpsc::Sender<Msg>),
}

/// Idle threads kept per plugin.
const MAX_IDLE: usize = 8;

/// A plugin's idle threads.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<mpsc::Sender<Msg>>>,
}

impl Pool {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::Sender<Msg>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A thread serving one call or one chat stream, its jobs in order.
pub(crate) struct Worker {
    /// `None` once the thread is handed back.
    jobs: Option<mpsc::Sender<Msg>>,
    pub(crate) session: Arc<Session>,
    pool: Arc<Pool>,
}

impl Worker {
    pub(crate) fn start(pool: &Arc<Pool>, session: Arc<Session>) -> std::io::Result<Worker> {
        let idle = pool.idle().pop();
        let jobs = match idle {
            Some(jobs) => jobs,
            None => spawn(Arc::downgrade(pool), &session.plugin)?,
        };
        let current = session.clone();
        let worker = Worker {
            jobs: Some(jobs),
            session,
            pool: pool.clone(),
        };
        worker.send(move || host::enter(Some(current)));
        Ok(worker)
    }

    /// Queue a job; false when the thread is gone.
    pub(crate) fn send(&self, job: impl FnOnce() + Send + 'static) -> bool {
        let job = Msg::Run(Box::new(job));
        self.jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok())
    }
}

impl Worker {
    /// The call has returned, so the thread is free: straight back to the pool
    /// (a thread still busy goes back through `Release`, when it is done).
    pub(crate) fn done(mut self) {
        self.send(|| host::enter(None));
        if let Some(jobs) = self.jobs.take() {
            let mut idle = self.pool.idle();
            if idle.len() < MAX_IDLE {
                idle.push(jobs);
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.send(|| host::enter(None));
        if let Some(jobs) = self.jobs.take() {
            let _ = jobs.send(Msg::Release(jobs.clone()));
        }
    }
}

fn spawn(pool: Weak<Pool>, plugin: &str) -> std::io::Result<mpsc::Sender<Msg>> {
    let (jobs, queue) = mpsc::channel::<Msg>();
    std::thread::Builder::new()
        .name(format!("claw-native-{plugin}"))
        .spawn(move || {
            // Ends once no sender is left: the pool dropped it, or was full.
            while let Ok(msg) = queue.recv() {
                match msg {
                    Msg::Run(job) => job(),
                    Msg::Release(me) => {
                        if let Some(pool) = pool.upgrade() {
                            let mut idle = pool.idle();
                            if idle.len() < MAX_IDLE {
                                idle.push(me);
                            }
                        }
                    }
                }
            }
        })?;
    Ok(jobs)
}

#[derive(PartialEq)]
enum State {
    Running,
    Done,
    Abandoned,
}

/// One call's (or stream's) hand-over between its thread and the waiting host.
pub(crate) struct Ticket {
    state: Arc<Mutex<State>>,
    stuck: Arc<AtomicUsize>,
}

impl Ticket {
    pub(crate) fn new(stuck: Arc<AtomicUsize>) -> (Ticket, Ticket) {
        let state = Arc::new(Mutex::new(State::Running));
        let pair = || Ticket {
            state: state.clone(),
            stuck: stuck.clone(),
        };
        (pair(), pair())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The thread finished: false when the host gave up on it (the result is
    /// then the thread's to clean up).
    pub(crate) fn finish(&self) -> bool {
        let mut state = self.lock();
        if *state == State::Abandoned {
            self.stuck.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        *state = State::Done;
        true
    }

    /// Whether the host gave up on the call.
    pub(crate) fn abandoned(&self) -> bool {
        *self.lock() == State::Abandoned
    }

    /// The deadline passed: true when the call is now abandoned (still
    /// running), false when it finished just in time.
    pub(crate) fn abandon(&self) -> bool {
        let mut state = self.lock();
        if *state == State::Running {
            *state = State::Abandoned;
            self.stuck.fetch_add(1, Ordering::AcqRel);
            return true;
        }
        false
    }
}
