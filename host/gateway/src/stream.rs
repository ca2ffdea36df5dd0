//! Streamed replies: the status waits until the router commits to a candidate
//! (so a request that fails everywhere gets a real error status), then frames
//! flow through a bounded channel, so a client that stops reading holds the
//! router back instead of making the gateway buffer the reply.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::access::Admission;
use crate::meter::Meter;
use crate::server::{Body, Gateway, count_tokens_of, error_response, log_outcome};
use crate::wire::WireApi;
use crate::{ApiError, ApiRequest};
use claw_core::app::App;
use claw_core::catalog::ModelRef;
use claw_core::router::Delivery;

/// Frames written but not yet taken by the connection: enough to ride out a
/// slow write, few enough that a stalled client costs little memory.
pub(crate) const CHANNEL_FRAMES: usize = 64;

pub(crate) async fn respond(
    gateway: Arc<Gateway>,
    api: &'static dyn WireApi,
    app: Arc<App>,
    chain: Vec<ModelRef>,
    req: ApiRequest,
    admission: Option<Admission>,
    mut meter: Meter,
) -> Response<Body> {
    // The error response when every candidate failed before committing.
    let (head_tx, head_rx) = oneshot::channel::<Result<(), Response<Body>>>();
    let (frames_tx, frames_rx) = mpsc::channel::<Bytes>(CHANNEL_FRAMES);
    tokio::spawn(
        async move {
            let mut encoder = api.encoder(&req);
            let mut head = Some(head_tx);
            let queue = Mutex::new(VecDeque::new());
            let routed = {
                let mut deliver = |d: Delivery| {
                    let frame = match d {
                        Delivery::Committed(_) => {
                            meter.committed();
                            if let Some(h) = head.take() {
                                let _ = h.send(Ok(()));
                            }
                            encoder.start()
                        }
                        Delivery::Event(e) => encoder.event(&e),
                    };
                    if !frame.is_empty() {
                        lock(&queue).push_back(Bytes::from(frame));
                    }
                };
                let route = gateway.route_request(&app, &chain, &req, &mut deliver);
                pump(route, &queue, &frames_tx).await
            };
            let Some(outcome) = routed else {
                tracing::info!("the client went away; stopped the reply");
                meter.finish(&gateway.sinks, &app, &chain, None, None);
                return;
            };
            log_outcome(&outcome, encoder.reply(), true);
            // The device's stream slot is held until here.
            count_tokens_of(admission.as_ref(), encoder.reply());
            let usage = encoder.reply().usage;
            meter.finish(&gateway.sinks, &app, &chain, Some(&outcome), usage.as_ref());
            let last = match (outcome.ok, head) {
                (true, _) => encoder.finish(),
                (false, Some(h)) => {
                    let _ = h.send(Err(gateway.failure_response(api, &outcome)));
                    return;
                }
                (false, None) => {
                    let error = outcome.error.clone();
                    let error = error.unwrap_or_else(|| "the reply failed".into());
                    encoder.error(&ApiError::new(502, "api_error", error))
                }
            };
            let _ = frames_tx.send(Bytes::from(last)).await;
        }
        .in_current_span(),
    );
    match head_rx.await {
        Ok(Ok(())) => {
            let stream = futures::stream::unfold(frames_rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
            });
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "text/event-stream")
                .header(header::CACHE_CONTROL, "no-cache")
                .body(StreamBody::new(stream).boxed())
                .expect("a valid response")
        }
        Ok(Err(response)) => response,
        Err(_) => error_response(
            api,
            &ApiError::new(500, "api_error", "the request ended without a reply"),
        ),
    }
}

/// Runs `route` to its end, moving the frames its deliveries queue into `tx`.
///
/// The router's `deliver` callback cannot wait, so frames first land in
/// `queue`; `route` is polled only while `queue` is empty, and `send` waits
/// while the channel is full. A client that stops reading therefore stops the
/// router (and its upstream read): memory stays within the channel's frames
/// plus what one poll of the router delivers (the upstream reads that were
/// ready). `None` when the client went away (noticed at once, even while the
/// router is quiet); `route` is then dropped, which ends its work.
async fn pump<T>(
    route: impl Future<Output = T>,
    queue: &Mutex<VecDeque<Bytes>>,
    tx: &mpsc::Sender<Bytes>,
) -> Option<T> {
    let mut route = pin!(route);
    let mut gone = pin!(tx.closed());
    let mut done = None;
    loop {
        let next = lock(queue).pop_front();
        if let Some(frame) = next {
            tx.send(frame).await.ok()?;
            continue;
        }
        if done.is_some() {
            return done;
        }
        done = std::future::poll_fn(|cx| {
            if gone.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(()));
            }
            match route.as_mut().poll(cx) {
                Poll::Ready(out) => Poll::Ready(Ok(Some(out))),
                // Send what this step queued before the next one.
                Poll::Pending if !lock(queue).is_empty() => Poll::Ready(Ok(None)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
        .ok()?;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A router stand-in that delivers `n` frames, one per step.
    async fn router(queue: &Mutex<VecDeque<Bytes>>, n: usize, made: &AtomicUsize) -> usize {
        for i in 0..n {
            lock(queue).push_back(Bytes::from(i.to_string()));
            made.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
        }
        n
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_stops_the_router() {
        let (queue, made) = (Mutex::new(VecDeque::new()), AtomicUsize::new(0));
        let (tx, _rx) = mpsc::channel(4);
        let pumping = pump(router(&queue, 1000, &made), &queue, &tx);
        let stalled = tokio::time::timeout(Duration::from_millis(100), pumping).await;
        assert!(stalled.is_err(), "nobody reads, so the reply cannot end");
        // The channel's 4 frames, and the one waiting for room.
        assert_eq!(made.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn a_reader_gets_every_frame_in_order() {
        let (queue, made) = (Mutex::new(VecDeque::new()), AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::channel::<Bytes>(4);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(b) = rx.recv().await {
                got.push(String::from_utf8(b.to_vec()).unwrap());
            }
            got
        });
        assert_eq!(pump(router(&queue, 50, &made), &queue, &tx).await, Some(50));
        drop(tx);
        let expected: Vec<String> = (0..50).map(|i| i.to_string()).collect();
        assert_eq!(reader.await.unwrap(), expected);
    }

    #[tokio::test]
    async fn a_client_that_leaves_while_the_router_is_quiet_stops_it() {
        let queue = Mutex::new(VecDeque::new());
        let (tx, rx) = mpsc::channel::<Bytes>(4);
        let quiet = std::future::pending::<()>();
        let pumping = tokio::spawn(async move {
            let queue = queue;
            pump(quiet, &queue, &tx).await.is_none()
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(rx);
        let stopped = tokio::time::timeout(Duration::from_secs(1), pumping).await;
        assert!(stopped.expect("the pump noticed").unwrap());
    }

    #[tokio::test]
    async fn a_client_that_went_away_stops_the_router() {
        let (queue, made) = (Mutex::new(VecDeque::new()), AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel(4);
        drop(rx);
        assert_eq!(pump(router(&queue, 1000, &made), &queue, &tx).await, None);
        assert!(made.load(Ordering::SeqCst) <= 1);
    }
}
