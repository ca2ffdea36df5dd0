//! Bodies read on in the background when their reader stops early, bounded. A
//! plugin's request body that the host stops reading (the request was denied,
//! the connection failed) is read to its end and discarded. Language runtimes write a body after `outgoing-handler.handle`
//! returned; when its receiver is gone the write fails, and StarlingMonkey's
//! `fetch` traps on that instead of reporting the request's own error.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, WasiBody};

/// Enough for any body a plugin's memory cap lets it build; the call's own
/// deadline ends a body that never finishes sooner.
const DRAIN_MAX_BYTES: usize = 256 << 20;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// `body`, read to its end in the background if dropped before that.
pub(crate) fn swallow_on_drop(body: WasiBody) -> WasiBody {
    SwallowOnDrop(Some(body)).boxed_unsync()
}

struct SwallowOnDrop(Option<WasiBody>);

impl Drop for SwallowOnDrop {
    fn drop(&mut self) {
        if let Some(body) = self.0.take() {
            in_background(body, DRAIN_MAX_BYTES, DRAIN_TIMEOUT);
        }
    }
}

/// Read the rest of `body` on the runtime and discard it, up to about
/// `max_bytes` or for at most `timeout` (a request's or a response's body,
/// whichever side stopped reading it).
pub(crate) fn in_background<B>(mut body: B, max_bytes: usize, timeout: Duration)
where
    B: Body<Data = Bytes> + Unpin + Send + 'static,
{
    if body.is_end_stream() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let drain = async {
            let mut read = 0;
            while read <= max_bytes {
                match body.frame().await {
                    Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                    _ => return,
                }
            }
        };
        let _ = tokio::time::timeout(timeout, drain).await;
    });
}

impl Body for SwallowOnDrop {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let Some(body) = self.0.as_mut() else {
            return Poll::Ready(None);
        };
        let next = Pin::new(body).poll_frame(cx);
        if matches!(next, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            // Ended (or failed): nothing is left to swallow.
            self.0 = None;
        }
        next
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .as_ref()
            .map_or(SizeHint::with_exact(0), Body::size_hint)
    }
}
