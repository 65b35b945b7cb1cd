//! The tokio side of the protocol: sockets, per-peer I/O tasks, and the one
//! owner task that drives every session and the RIB.
//!
//! ```text
//!  listener tasks ──(stream)──┐
//!  connect tasks ──(outcome)──┤
//!  connection readers ─(msg)──┼──> owner task ──> session FSMs (pure)
//!  control API ──(Command)────┘        │      ──> RIB (pure)
//!                                      └──(bytes)──> connection writers
//! ```
//!
//! Bytes arrive on a per-peer reader task, which frames and decodes them
//! with [`crate::wire`] and sends typed messages to the owner task. The owner
//! feeds them to the pure session state machines and the RIB, and hands the
//! resulting messages to per-peer writer tasks. Socket set-up that the
//! standard library cannot express (TCP-MD5, GTSM) lives in [`socket_options`].

pub mod config;
pub mod connection;
pub mod neighbor;
mod owner;
pub mod routing;
pub mod socket_options;
pub mod status;
pub mod transport;

use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use config::{
    HostAddress, ListenRangeSettings, NeighborRouting, NeighborSettings, SpeakerConfig,
};
pub use owner::{AdjRibTable, Command, SoftDirection, SpeakerOutputs};
pub use status::NeighborStatus;

/// The error a handle returns once the speaker has stopped.
#[derive(Debug, thiserror::Error)]
#[error("the BGP speaker is not running")]
pub struct SpeakerStopped;

/// A cheap, cloneable way to talk to the running speaker.
#[derive(Debug, Clone)]
pub struct SpeakerHandle {
    commands: mpsc::Sender<Command>,
    listening: Vec<std::net::SocketAddr>,
}

/// Binds the listeners and starts the speaker. Fails when a listen address
/// cannot be bound (in use, or not on this host).
pub fn spawn(
    mut config: SpeakerConfig,
    outputs: SpeakerOutputs,
) -> io::Result<(SpeakerHandle, JoinHandle<()>)> {
    // Nobody takes forwarding changes: the RIB need not record them.
    config.rib.forwarding = outputs.fib.is_some();
    let keys = owner::listener_keys(&config);
    let (accepted_sender, accepted) = mpsc::channel(256);
    let mut listeners = Vec::new();
    for address in &config.listen {
        let listener = transport::listen(*address, &keys).map_err(|error| {
            io::Error::new(error.kind(), format!("listen on {address}: {error}"))
        })?;
        listeners.push(Arc::new(listener));
    }
    let accept_tasks = listeners
        .iter()
        .map(|listener| {
            let listener = Arc::clone(listener);
            let accepted_sender = accepted_sender.clone();
            tokio::spawn(async move { transport::accept_loop(listener, accepted_sender).await })
        })
        .collect();
    let listening = listeners
        .iter()
        .map(|listener| listener.local_addr())
        .collect::<io::Result<Vec<_>>>()?;
    let (commands_sender, commands) = mpsc::channel(64);
    let (owner, inboxes) =
        owner::Owner::new(config, listeners, accept_tasks, commands, accepted, outputs);
    let task = tokio::spawn(owner.run(inboxes));
    Ok((
        SpeakerHandle {
            commands: commands_sender,
            listening,
        },
        task,
    ))
}

impl SpeakerHandle {
    async fn ask<T>(
        &self,
        build: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SpeakerStopped> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(build(reply))
            .await
            .map_err(|_| SpeakerStopped)?;
        answer.await.map_err(|_| SpeakerStopped)
    }

    /// The addresses the listeners are bound to (with the port the kernel
    /// chose where the configuration said 0).
    pub fn listening(&self) -> &[std::net::SocketAddr] {
        &self.listening
    }

    /// Every neighbor's status, sorted by address.
    pub async fn neighbors(&self) -> Result<Vec<NeighborStatus>, SpeakerStopped> {
        self.ask(Command::Neighbors).await
    }

    /// Loc-RIB routes matching `filter`, with every path and, when asked,
    /// why each loser lost.
    pub async fn routes(
        &self,
        filter: crate::rib::RouteFilter,
    ) -> Result<Vec<crate::rib::PrefixView>, SpeakerStopped> {
        self.ask(|reply| Command::Routes { filter, reply }).await
    }

    /// Replaces the prefixes imported from kernel routes; they are
    /// advertised like `[[originate]]` prefixes.
    pub async fn set_imported(
        &self,
        prefixes: std::collections::BTreeSet<ipnetwork::IpNetwork>,
    ) -> Result<(), SpeakerStopped> {
        self.commands
            .send(Command::SetImported(prefixes))
            .await
            .map_err(|_| SpeakerStopped)
    }

    /// A neighbor's received or advertised routes; `None` for an unknown neighbor.
    pub async fn adj_rib(
        &self,
        address: IpAddr,
        table: AdjRibTable,
    ) -> Result<Option<Vec<crate::rib::AdjRibRoute>>, SpeakerStopped> {
        self.ask(|reply| Command::AdjRib {
            address,
            table,
            reply,
        })
        .await
    }

    /// A soft reset of one direction of a neighbor's routes.
    pub async fn soft_reset(
        &self,
        address: IpAddr,
        direction: SoftDirection,
    ) -> Result<Result<String, String>, SpeakerStopped> {
        self.ask(|reply| Command::SoftReset {
            address,
            direction,
            reply,
        })
        .await
    }

    /// Time from UPDATEs arriving to the re-advertisement they caused.
    pub async fn propagation(&self) -> Result<status::LatencyHistogram, SpeakerStopped> {
        self.ask(Command::Propagation).await
    }

    /// Prefixes, paths and distinct attribute sets in the RIB, per family.
    pub async fn rib_counts(&self) -> Result<crate::rib::RibCounts, SpeakerStopped> {
        self.ask(Command::RibCounts).await
    }

    /// Shuts a neighbor down administratively (Cease / Administrative
    /// Shutdown with an RFC 9003 message). Returns whether it exists.
    pub async fn shutdown_neighbor(
        &self,
        address: IpAddr,
        communication: Option<String>,
    ) -> Result<bool, SpeakerStopped> {
        self.ask(|reply| Command::Shutdown {
            address,
            communication,
            reply,
        })
        .await
    }

    /// Starts an administratively shut-down neighbor.
    pub async fn enable_neighbor(&self, address: IpAddr) -> Result<bool, SpeakerStopped> {
        self.ask(|reply| Command::Enable { address, reply }).await
    }

    /// Resets a neighbor's session (Cease / Administrative Reset).
    pub async fn reset_neighbor(
        &self,
        address: IpAddr,
        communication: Option<String>,
    ) -> Result<bool, SpeakerStopped> {
        self.ask(|reply| Command::Reset {
            address,
            communication,
            reply,
        })
        .await
    }

    /// Applies a new configuration; returns what changed.
    pub async fn reconfigure(&self, config: SpeakerConfig) -> Result<Vec<String>, SpeakerStopped> {
        self.ask(|reply| Command::Reconfigure {
            config: Box::new(config),
            reply,
        })
        .await
    }

    /// Stops every session with a Cease and ends the speaker.
    pub async fn stop(&self, communication: Option<String>) -> Result<(), SpeakerStopped> {
        self.ask(|reply| Command::Stop {
            graceful: false,
            communication,
            reply,
        })
        .await
    }

    /// Ends the speaker for a graceful restart (RFC 4724): connections are
    /// closed without a NOTIFICATION so that helpers keep our routes.
    pub async fn stop_for_restart(&self) -> Result<(), SpeakerStopped> {
        self.ask(|reply| Command::Stop {
            graceful: true,
            communication: None,
            reply,
        })
        .await
    }
}
