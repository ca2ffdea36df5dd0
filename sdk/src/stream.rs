//! The reply stream a provider returns from `chat`.

use std::cell::RefCell;
use std::collections::VecDeque;

use crate::types::{ChatEvent, PluginError};

type NextFn = Box<dyn FnMut() -> Result<Option<Vec<ChatEvent>>, PluginError>>;

/// A reply in progress: the host calls `next` until it returns `None`.
pub struct ChatStream {
    next: RefCell<NextFn>,
}

impl ChatStream {
    /// A stream driven by a closure: return `Ok(Some(events))` with at least one
    /// event, `Ok(None)` at the end, or an error.
    pub fn from_fn(
        f: impl FnMut() -> Result<Option<Vec<ChatEvent>>, PluginError> + 'static,
    ) -> Self {
        ChatStream {
            next: RefCell::new(Box::new(f)),
        }
    }

    /// A stream that hands out events already known, one per `next`.
    pub fn from_events(events: Vec<ChatEvent>) -> Self {
        let mut queue: VecDeque<ChatEvent> = events.into();
        Self::from_fn(move || Ok(queue.pop_front().map(|e| vec![e])))
    }

    /// The next batch of events (used by the export glue).
    #[doc(hidden)]
    pub fn next_batch(&self) -> Result<Option<Vec<ChatEvent>>, PluginError> {
        // Skip empty batches so the host never sees `Some(vec![])`.
        let mut next = self.next.borrow_mut();
        loop {
            match next()? {
                Some(batch) if batch.is_empty() => continue,
                other => return Ok(other),
            }
        }
    }
}
