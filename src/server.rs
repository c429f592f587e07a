//! The gateway's listener with the limits a public port needs (issue 15: 1,000 half-open
//! connections were held for 65 s and none was closed).
//!
//! `axum::serve` has no header-read, idle or request timeouts and no per-client connection
//! cap, so the accept loop is ours, on hyper-util's connection builder:
//! - **header read**: a client that does not finish a request's headers within
//!   `header_read_timeout_secs` is disconnected (hyper's `header_read_timeout`);
//! - **idle**: a connection with no bytes in either direction and no request in flight for
//!   `idle_timeout_secs` is closed ([`IdleIo`]); a request being answered (an action waiting
//!   for its outcome) is not idleness;
//! - **whole request**: a request not answered within `request_timeout_secs` gets a 408 in the
//!   native envelope. Accepted actions are durable and keep running in the executor;
//!   only the wait is cut. The default is above the engine's longest wait (`Prefer: wait`);
//! - **per-IP cap**: a client address already holding `max_connections_per_ip` connections
//!   gets a 503 with `Connection: close` on the next one.
//!
//! All four are `[server]` settings of the config file.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// `[server]`: the listener's limits. Every field is optional; the defaults are below.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerLimits {
    /// Seconds a client has to send a request's headers.
    pub header_read_timeout_secs: f64,
    /// Seconds a connection may sit with no traffic and no request in flight.
    pub idle_timeout_secs: f64,
    /// Seconds a request may take, from its headers to its answer.
    pub request_timeout_secs: f64,
    /// Connections one client address may hold at once.
    pub max_connections_per_ip: usize,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            header_read_timeout_secs: 10.0,
            idle_timeout_secs: 60.0,
            // Above engine::MAX_WAIT (200 s), so an action's longest allowed wait still answers.
            request_timeout_secs: 240.0,
            max_connections_per_ip: 64,
        }
    }
}

impl ServerLimits {
    fn header_read(&self) -> Duration {
        secs(self.header_read_timeout_secs)
    }

    fn idle(&self) -> Duration {
        secs(self.idle_timeout_secs)
    }

    fn request(&self) -> Duration {
        secs(self.request_timeout_secs)
    }

    /// Refuses settings that would disable a limit (zero or negative): never fail open.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, v) in [
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("request_timeout_secs", self.request_timeout_secs),
        ] {
            if !(v.is_finite() && v > 0.0) {
                anyhow::bail!("[server] {name} must be a positive number of seconds (got {v})");
            }
        }
        if self.max_connections_per_ip == 0 {
            anyhow::bail!("[server] max_connections_per_ip must be at least 1");
        }
        Ok(())
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.001))
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes; connections in
/// progress are not waited for.
pub async fn serve(
    router: axum::Router,
    listener: TcpListener,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    limits.validate()?;
    let limits = Arc::new(limits);
    let per_ip = PerIp::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let Some(slot) = per_ip.take(peer.ip(), limits.max_connections_per_ip) else {
            tokio::spawn(refuse(stream, peer));
            continue;
        };
        tokio::spawn(connection(router.clone(), stream, limits.clone(), slot));
    }
}

/// Serve until Ctrl-C.
pub async fn serve_until_ctrl_c(
    router: axum::Router,
    listener: TcpListener,
    limits: ServerLimits,
) -> anyhow::Result<()> {
    serve(router, listener, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("serving")
}

/// One connection: hyper with the header-read timeout, our idle watchdog, and the
/// whole-request timeout around the router.
async fn connection(router: axum::Router, stream: TcpStream, limits: Arc<ServerLimits>, _slot: Slot) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let io = TokioIo::new(IdleIo::new(stream, limits.idle(), in_flight.clone()));
    let request_timeout = limits.request();
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let router = router.clone();
        let guard = InFlight::enter(in_flight.clone());
        async move {
            let answer = tokio::time::timeout(request_timeout, router.oneshot(req.map(Body::new))).await;
            drop(guard);
            Ok::<_, std::convert::Infallible>(match answer {
                Ok(Ok(resp)) => resp,
                Ok(Err(never)) => match never {},
                Err(_) => request_timed_out(request_timeout),
            })
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read());
    builder.http2().timer(TokioTimer::new());
    if let Err(e) = builder.serve_connection_with_upgrades(io, service).await {
        tracing::debug!(error = %e, "connection closed");
    }
}

fn request_timed_out(after: Duration) -> Response<Body> {
    let mut err = gateway::error::for_status(StatusCode::REQUEST_TIMEOUT);
    err.message = format!("the request was not answered within {} s", after.as_secs_f64());
    err.hint = Some(
        "an accepted action keeps running: GET /v1/operations/{id} shows it; ask for a shorter Prefer: wait".into(),
    );
    err.into_response()
}

/// The answer to a connection over the per-IP cap: 503, `Connection: close`, then close.
async fn refuse(mut stream: TcpStream, peer: SocketAddr) {
    tracing::warn!(ip = %peer.ip(), "connection refused: too many connections from this address");
    let body = r#"{"error":{"code":"TooManyConnections","message":"too many connections from this address","hint":"reuse connections (keep-alive) instead of opening more"}}"#;
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: \
         close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(resp.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Open connections per client address.
#[derive(Clone, Default)]
struct PerIp(Arc<parking_lot::Mutex<HashMap<IpAddr, usize>>>);

impl PerIp {
    /// A slot for one more connection from `ip`, or `None` at the cap.
    fn take(&self, ip: IpAddr, cap: usize) -> Option<Slot> {
        let mut open = self.0.lock();
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Slot { ip, per_ip: self.clone() })
    }
}

/// One connection's place in the per-IP count, given back when the connection ends.
struct Slot {
    ip: IpAddr,
    per_ip: PerIp,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.per_ip.0.lock();
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Counts a request in flight on its connection for as long as it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(n: Arc<AtomicUsize>) -> InFlight {
        n.fetch_add(1, Ordering::SeqCst);
        InFlight(n)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A stream that fails with `TimedOut` once it has seen no traffic for `idle` while no
/// request was in flight. Every read or write of at least one byte restarts the clock.
struct IdleIo<T> {
    inner: T,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    in_flight: Arc<AtomicUsize>,
}

impl<T> IdleIo<T> {
    fn new(inner: T, idle: Duration, in_flight: Arc<AtomicUsize>) -> IdleIo<T> {
        IdleIo { inner, idle, deadline: Box::pin(tokio::time::sleep(idle)), in_flight }
    }

    fn touch(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// `Ready(Err)` when the connection has been idle too long; registers the wake-up otherwise.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            // A request is being answered: not idle. Look again after another period.
            self.touch();
            let _ = self.deadline.as_mut().poll(cx);
            return Poll::Pending;
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "idle connection closed")),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.poll_idle(cx) {
                Poll::Ready(e) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
