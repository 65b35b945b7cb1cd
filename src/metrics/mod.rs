//! The metrics listener: `/metrics`, `/healthz` and `/readyz` over plain
//! HTTP on `[api] metrics` (a TCP address, default `127.0.0.1:9179`).
//!
//! | path | answer |
//! |---|---|
//! | `/metrics` | Prometheus / OpenMetrics text; every metric is in `docs/metrics.md` |
//! | `/healthz` | 200 `ok` while the BGP speaker answers, else 503 |
//! | `/readyz` | 200 when ready, else 503; a JSON body either way ([`readiness`]) |
//!
//! Data flow: [`bind`] opens the listener at start-up (so a taken port stops
//! the daemon with a clear message before anything else starts); [`serve`]
//! runs the axum router on it. Each request asks the speaker's owner task
//! and the kernel synchronizer directly, once, through their handles: nothing
//! is counted on the hot path for the sake of metrics. A task that does not
//! answer within [`ANSWER_TIMEOUT`] turns into a 503, so a stuck owner task
//! fails the health check instead of hanging it.

mod collector;
pub mod readiness;
mod snapshot;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::daemon::Daemon;
use collector::CONTENT_TYPE;
use readiness::{FibReadiness, ReadinessFacts};
use snapshot::{FibSnapshot, NeighborSnapshot, Snapshot};

/// How long a request waits for the speaker or the kernel task.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// What every handler shares.
#[derive(Clone)]
struct Shared {
    daemon: Arc<Daemon>,
    start_time_unix_seconds: u64,
}

/// Binds the metrics listener to exactly `address`.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(address).await.map_err(|error| {
        format!(
            "metrics listener [api] metrics = \"{address}\": {error} \
             (choose another address, or \"\" to disable it)"
        )
    })
}

/// Serves the metrics endpoints on `listener` until the daemon stops.
pub async fn serve(listener: TcpListener, daemon: Arc<Daemon>) {
    let start = SystemTime::now()
        .checked_sub(daemon.started.elapsed())
        .unwrap_or(UNIX_EPOCH);
    let shared = Shared {
        daemon,
        start_time_unix_seconds: start
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or(0),
    };
    if let Ok(address) = listener.local_addr() {
        info!(%address, "serving /metrics, /healthz and /readyz");
    }
    if let Err(error) = axum::serve(listener, router(shared)).await {
        warn!("the metrics listener stopped: {error}");
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not found: try /metrics, /healthz or /readyz\n",
            )
        })
        .with_state(shared)
}

/// Waits for `answer`; `None` when it failed or took longer than [`ANSWER_TIMEOUT`].
async fn within<T, E>(answer: impl Future<Output = Result<T, E>>) -> Option<T> {
    tokio::time::timeout(ANSWER_TIMEOUT, answer)
        .await
        .ok()
        .and_then(Result::ok)
}

fn unavailable(message: &str) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("{message}\n")).into_response()
}

const SPEAKER_SILENT: &str = "the BGP speaker did not answer";

async fn metrics(State(shared): State<Shared>) -> Response {
    let daemon = &shared.daemon;
    let Some(neighbors) = within(daemon.speaker.neighbors()).await else {
        return unavailable(SPEAKER_SILENT);
    };
    let Some(rib) = within(daemon.speaker.rib_counts()).await else {
        return unavailable(SPEAKER_SILENT);
    };
    let Some(propagation) = within(daemon.speaker.propagation()).await else {
        return unavailable(SPEAKER_SILENT);
    };
    let fib = match &daemon.kernel {
        None => FibSnapshot::Disabled,
        Some(kernel) => match within(kernel.status()).await {
            Some(status) => FibSnapshot::Running(Box::new(status)),
            None => FibSnapshot::Stopped,
        },
    };
    let snapshot = Snapshot {
        neighbors: NeighborSnapshot::all(&neighbors),
        rib,
        fib,
        propagation,
        start_time_unix_seconds: shared.start_time_unix_seconds,
        log_lines_dropped: crate::daemon::logging::dropped_lines(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    match collector::render(snapshot) {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be encoded\n",
        )
            .into_response(),
    }
}

async fn healthz(State(shared): State<Shared>) -> Response {
    match within(shared.daemon.speaker.neighbors()).await {
        Some(_) => (StatusCode::OK, "ok\n").into_response(),
        None => unavailable(SPEAKER_SILENT),
    }
}

async fn readyz(State(shared): State<Shared>) -> Response {
    let daemon = &shared.daemon;
    let Some(neighbors) = within(daemon.speaker.neighbors()).await else {
        return unavailable(SPEAKER_SILENT);
    };
    let fib = match &daemon.kernel {
        None => FibReadiness::Disabled,
        Some(kernel) => match within(kernel.status()).await {
            Some(status) => FibReadiness::Running {
                pending: status.pending,
                initial_sweep_done: status.initial_sweep_done,
            },
            None => FibReadiness::Stopped,
        },
    };
    let grace = readiness::grace_period(&daemon.config().await.graceful_restart);
    let answer = readiness::readiness(ReadinessFacts {
        neighbors: &NeighborSnapshot::all(&neighbors),
        since_start: daemon.started.elapsed(),
        grace,
        fib,
    });
    let status = if answer.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(answer)).into_response()
}
