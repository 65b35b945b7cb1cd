//! The daemon's side of the control API.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/status` | version, router id, AS, uptime, neighbor counts |
//! | GET | `/neighbors` | every neighbor (docs/api.md has the schema) |
//! | GET | `/neighbors/{address}` | one neighbor, 404 if unknown |
//! | POST | `/neighbors/{address}/shutdown` | `{"message": "..."}` optional |
//! | POST | `/neighbors/{address}/enable` | start a shut-down neighbor |
//! | POST | `/neighbors/{address}/reset` | Cease / Administrative Reset, `{"message"}` optional; `{"soft": "in"|"out"}` resets no session |
//! | GET | `/neighbors/{address}/received?before_policy=true` | the neighbor's Adj-RIB-In |
//! | GET | `/neighbors/{address}/advertised` | the neighbor's Adj-RIB-Out |
//! | GET | `/routes?prefix=P&family=ipv4|ipv6&explain=true` | Loc-RIB paths per prefix |
//! | GET | `/fib` | routes podroute has in the kernel, failures, conflicts |
//! | POST | `/reload` | re-read the config file: `{"changes": [...]}`, or 422 with `{"errors": [...]}` |
//!
//! Every error is `{"error": "..."}` with a fitting status code.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::UnixListener;

use crate::daemon::{Daemon, ReloadError};

/// Serves the API on `listener` until the daemon stops.
pub async fn serve(listener: UnixListener, daemon: Arc<Daemon>) -> std::io::Result<()> {
    axum::serve(listener, router(daemon)).await
}

/// The routes, separate from the listener so tests can call them directly.
pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/neighbors", get(neighbors))
        .route("/neighbors/{address}", get(neighbor))
        .route("/neighbors/{address}/shutdown", post(shutdown))
        .route("/neighbors/{address}/enable", post(enable))
        .route("/neighbors/{address}/reset", post(reset))
        .route("/neighbors/{address}/received", get(received))
        .route("/neighbors/{address}/advertised", get(advertised))
        .route("/routes", get(routes))
        .route("/fib", get(fib))
        .route("/reload", post(reload))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such API path; see docs/api.md".into(),
            )
        })
        .with_state(daemon)
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn stopped() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the BGP speaker has stopped".into(),
    )
}

fn parse_address(text: &str) -> Result<IpAddr, Box<Response>> {
    text.parse().map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("{text:?} is not an IP address"),
        ))
    })
}

/// The answer of `GET /status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    /// podroute's version.
    pub version: String,
    /// Our BGP identifier.
    pub router_id: String,
    /// Our AS.
    pub asn: u32,
    /// Seconds since the daemon started.
    pub uptime_seconds: u64,
    /// Neighbors known (configured and dynamic).
    pub neighbors: usize,
    /// Of those, the ones in Established.
    pub neighbors_established: usize,
}

async fn status(State(daemon): State<Arc<Daemon>>) -> Response {
    let Ok(neighbors) = daemon.speaker.neighbors().await else {
        return stopped();
    };
    let config = daemon.config().await;
    Json(Status {
        version: env!("CARGO_PKG_VERSION").into(),
        router_id: config.router.router_id.to_string(),
        asn: config.router.asn,
        uptime_seconds: daemon.started.elapsed().as_secs(),
        neighbors: neighbors.len(),
        neighbors_established: neighbors
            .iter()
            .filter(|neighbor| neighbor.state == "Established")
            .count(),
    })
    .into_response()
}

async fn neighbors(State(daemon): State<Arc<Daemon>>) -> Response {
    match daemon.speaker.neighbors().await {
        Ok(neighbors) => Json(neighbors).into_response(),
        Err(_) => stopped(),
    }
}

async fn neighbor(State(daemon): State<Arc<Daemon>>, Path(address): Path<String>) -> Response {
    let address = match parse_address(&address) {
        Ok(address) => address,
        Err(response) => return *response,
    };
    match daemon.speaker.neighbors().await {
        Ok(neighbors) => match neighbors
            .into_iter()
            .find(|neighbor| neighbor.address == address)
        {
            Some(neighbor) => Json(neighbor).into_response(),
            None => error(StatusCode::NOT_FOUND, format!("no neighbor {address}")),
        },
        Err(_) => stopped(),
    }
}

/// The optional body of shutdown and reset.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Communication {
    /// Shutdown communication for the peer's operator (RFC 9003).
    pub message: Option<String>,
    /// With reset: `"in"` or `"out"` for a soft reset, which keeps the session.
    pub soft: Option<String>,
}

fn found(
    result: Result<bool, bgp::speaker::SpeakerStopped>,
    address: IpAddr,
    done: &str,
) -> Response {
    match result {
        Ok(true) => Json(json!({ "neighbor": address, "result": done })).into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no neighbor {address}")),
        Err(_) => stopped(),
    }
}

async fn shutdown(
    State(daemon): State<Arc<Daemon>>,
    Path(address): Path<String>,
    body: Option<Json<Communication>>,
) -> Response {
    neighbor_action(daemon, &address, body, NeighborVerb::Shutdown).await
}

async fn enable(State(daemon): State<Arc<Daemon>>, Path(address): Path<String>) -> Response {
    neighbor_action(daemon, &address, None, NeighborVerb::Enable).await
}

async fn reset(
    State(daemon): State<Arc<Daemon>>,
    Path(address): Path<String>,
    body: Option<Json<Communication>>,
) -> Response {
    let soft = body.as_ref().and_then(|Json(body)| body.soft.clone());
    let Some(soft) = soft else {
        return neighbor_action(daemon, &address, body, NeighborVerb::Reset).await;
    };
    let parsed = match parse_address(&address) {
        Ok(address) => address,
        Err(response) => return *response,
    };
    let direction = match soft.as_str() {
        "in" => bgp::speaker::SoftDirection::In,
        "out" => bgp::speaker::SoftDirection::Out,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("soft must be \"in\" or \"out\", not {other:?}"),
            );
        }
    };
    match daemon.speaker.soft_reset(parsed, direction).await {
        Ok(Ok(done)) => {
            Json(json!({ "neighbor": parsed, "result": format!("soft reset {soft}: {done}") }))
                .into_response()
        }
        Ok(Err(why)) => error(StatusCode::CONFLICT, why),
        Err(_) => stopped(),
    }
}

/// The query of `GET /neighbors/{address}/received`.
#[derive(Debug, Default, Deserialize)]
pub struct ReceivedQuery {
    /// Before import policy (needs `soft_reconfiguration_inbound`).
    pub before_policy: Option<bool>,
}

async fn received(
    State(daemon): State<Arc<Daemon>>,
    Path(address): Path<String>,
    Query(query): Query<ReceivedQuery>,
) -> Response {
    let table = if query.before_policy.unwrap_or(false) {
        bgp::speaker::AdjRibTable::ReceivedBeforePolicy
    } else {
        bgp::speaker::AdjRibTable::Received
    };
    adj_rib(daemon, &address, table).await
}

async fn advertised(State(daemon): State<Arc<Daemon>>, Path(address): Path<String>) -> Response {
    adj_rib(daemon, &address, bgp::speaker::AdjRibTable::Advertised).await
}

async fn adj_rib(daemon: Arc<Daemon>, address: &str, table: bgp::speaker::AdjRibTable) -> Response {
    let address = match parse_address(address) {
        Ok(address) => address,
        Err(response) => return *response,
    };
    match daemon.speaker.adj_rib(address, table).await {
        Ok(Some(routes)) => Json(routes).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no neighbor {address}")),
        Err(_) => stopped(),
    }
}

enum NeighborVerb {
    Shutdown,
    Enable,
    Reset,
}

async fn neighbor_action(
    daemon: Arc<Daemon>,
    address: &str,
    body: Option<Json<Communication>>,
    verb: NeighborVerb,
) -> Response {
    let address = match parse_address(address) {
        Ok(address) => address,
        Err(response) => return *response,
    };
    let message = body.and_then(|Json(body)| body.message);
    let speaker = &daemon.speaker;
    let (result, done) = match verb {
        NeighborVerb::Shutdown => (
            speaker.shutdown_neighbor(address, message).await,
            "shut down",
        ),
        NeighborVerb::Enable => (speaker.enable_neighbor(address).await, "enabled"),
        NeighborVerb::Reset => (speaker.reset_neighbor(address, message).await, "reset"),
    };
    found(result, address, done)
}

async fn reload(State(daemon): State<Arc<Daemon>>) -> Response {
    match daemon.reload().await {
        Ok(changes) => Json(json!({ "changes": changes })).into_response(),
        Err(ReloadError::Invalid(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": "the new configuration is invalid; the old one keeps running", "errors": errors })))
                .into_response()
        }
        Err(ReloadError::NeedsRestart(keys)) => error(
            StatusCode::CONFLICT,
            format!("these changes need a restart of the daemon, nothing was applied: {}", keys.join(", ")),
        ),
        Err(ReloadError::Stopped) => stopped(),
    }
}

/// The query of `GET /routes`.
#[derive(Debug, Default, Deserialize)]
pub struct RoutesQuery {
    /// One prefix, exactly.
    pub prefix: Option<String>,
    /// `ipv4` or `ipv6`.
    pub family: Option<String>,
    /// Say at which decision step each non-best path lost.
    pub explain: Option<bool>,
}

async fn routes(State(daemon): State<Arc<Daemon>>, Query(query): Query<RoutesQuery>) -> Response {
    let prefix = match query
        .prefix
        .as_deref()
        .map(str::parse::<ipnetwork::IpNetwork>)
    {
        None => None,
        Some(Ok(prefix)) => Some(prefix),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("{:?} is not a prefix", query.prefix.unwrap_or_default()),
            );
        }
    };
    let family = match query.family.as_deref() {
        None => None,
        Some("ipv4") => Some(bgp::wire::Family::IPV4_UNICAST),
        Some("ipv6") => Some(bgp::wire::Family::IPV6_UNICAST),
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("family {other:?} is not ipv4 or ipv6"),
            );
        }
    };
    let filter = bgp::rib::RouteFilter {
        prefix,
        family,
        explain: query.explain.unwrap_or(false),
    };
    match daemon.speaker.routes(filter).await {
        Ok(routes) => Json(routes).into_response(),
        Err(_) => stopped(),
    }
}

async fn fib(State(daemon): State<Arc<Daemon>>) -> Response {
    let Some(kernel) = &daemon.kernel else {
        return error(
            StatusCode::NOT_FOUND,
            "kernel programming is off ([fib] enabled = false)".into(),
        );
    };
    match kernel.status().await {
        Ok(status) => Json(status).into_response(),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the kernel synchronizer has stopped".into(),
        ),
    }
}
