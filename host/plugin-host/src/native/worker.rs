//! The thread a native call runs on. Native code cannot be interrupted, so a
//! call runs on a thread of its own (a chat stream keeps one thread from start
//! to close, since the plugin's stream need not be `Send`), and the host waits
//! for it with the call's deadline. A call past its deadline is abandoned: the
//! host answers with a timeout, the thread finishes on its own, and until it
//! does it counts against the plugin's cap of stuck calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use super::host::{self, Session};

type Job = Box<dyn FnOnce() + Send>;

/// A thread serving one call or one chat stream, in order.
pub(crate) struct Worker {
    jobs: mpsc::Sender<Job>,
    pub(crate) session: Arc<Session>,
}

impl Worker {
    pub(crate) fn start(session: Arc<Session>) -> std::io::Result<Worker> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let current = session.clone();
        std::thread::Builder::new()
            .name(format!("claw-native-{}", session.plugin))
            .spawn(move || {
                host::enter(current);
                // Ends when the last job is done and the worker is dropped.
                while let Ok(job) = queue.recv() {
                    job();
                }
            })?;
        Ok(Worker { jobs, session })
    }

    /// Queue a job; false when the thread is gone.
    pub(crate) fn send(&self, job: impl FnOnce() + Send + 'static) -> bool {
        self.jobs.send(Box::new(job)).is_ok()
    }
}

#[derive(PartialEq)]
enum State {
    Running,
    Done,
    Abandoned,
}

/// One call's hand-over between its thread and the waiting host.
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
