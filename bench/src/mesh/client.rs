//! One mesh client as a tokio task: establish from its own address, then
//! obey the coordinator's commands (announce, withdraw, cut, flap, watch)
//! while counting what the route reflector sends it.
//!
//! Data flow: the coordinator ([`super`]) owns one command channel per
//! client and one shared event channel back. A client reports
//! `Established`, `Complete` (it holds every other client's routes) and,
//! while a [`ChangeWatch`] is armed, `Seen` (it saw another client's
//! change). Every UPDATE is decoded and counted where it arrives, so the
//! timestamps are the moment the bytes reached this client.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp::rib::fast_hash::FastSet;
use bgp::wire::{CodecContext, Message};
use bytes::BytesMut;
use ipnetwork::IpNetwork;
use nix::sys::socket::{Shutdown, shutdown};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::session::{MeshSession, decode, establish};
use super::watch::ChangeWatch;
use crate::count::PrefixCounter;
use crate::error::{Result, wire_context};
use crate::roles::{BGP_PORT, now_nanoseconds};
use crate::session::KEEPALIVE_INTERVAL;
use crate::tables;

/// Pause between attempts to (re-)establish a refused session.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Everything one client sends, encoded before the run.
#[derive(Debug)]
pub struct ClientPlan {
    /// Index of the client.
    pub client: u32,
    /// Source address, BGP identifier and IPv4 next hop.
    pub ipv4: Ipv4Addr,
    /// The client's routes, announced (End-of-RIB included).
    pub announce: Vec<u8>,
    /// The same routes withdrawn.
    pub withdraw: Vec<u8>,
    /// The client's own prefixes.
    pub own: Vec<IpNetwork>,
}

impl ClientPlan {
    /// Encodes client `client`'s routes with next hops `ipv4` and `ipv6`.
    /// With `ipv4_only`, the IPv6 routes are left out.
    pub fn new(
        client: u32,
        ipv4: Ipv4Addr,
        ipv6: std::net::Ipv6Addr,
        asn: u32,
        ipv4_only: bool,
    ) -> Result<ClientPlan> {
        let (ipv4_prefixes, mut ipv6_prefixes) = tables::client_prefixes(client)?;
        if ipv4_only {
            ipv6_prefixes.clear();
        }
        let (announce, _) = tables::encode_announcements(
            &tables::attributes(asn, true),
            &ipv4_prefixes,
            ipv4,
            &ipv6_prefixes,
            ipv6,
        )?;
        let withdraw = tables::encode_withdrawals(&ipv4_prefixes, &ipv6_prefixes)?;
        let own = ipv4_prefixes
            .iter()
            .chain(&ipv6_prefixes)
            .map(|nlri| nlri.prefix)
            .collect();
        Ok(ClientPlan {
            client,
            ipv4,
            announce,
            withdraw,
            own,
        })
    }
}

/// What the coordinator tells a client.
#[derive(Debug)]
pub enum Command {
    /// Send our routes now.
    Announce,
    /// Withdraw every route we announced.
    Withdraw,
    /// Close the TCP connection without a NOTIFICATION and stay down.
    Cut,
    /// Close without a NOTIFICATION, reconnect at once, announce again.
    Flap,
    /// Report when the routes in the set have gone (`false`) or have gone
    /// and come back announced anew (`true`); the phase number tags reports.
    Watch(u32, Arc<FastSet<IpNetwork>>, bool),
}

/// What a client tells the coordinator.
#[derive(Debug)]
pub enum Event {
    /// The session reached Established (first KEEPALIVE after our OPEN).
    Established {
        /// When, realtime ns.
        at_ns: u64,
    },
    /// The client holds every other client's routes.
    Complete {
        /// When it sent its own first UPDATE byte.
        first_byte_ns: u64,
        /// When it became complete.
        at_ns: u64,
    },
    /// A watch is armed: the client knows what it holds of the affected
    /// routes now, so the action may start (the coordinator times the
    /// change from then, not from the arming, which is the harness's work).
    Armed {
        /// Phase number from the watch.
        phase: u32,
    },
    /// A watched change was seen.
    Seen {
        /// Phase number from the watch.
        phase: u32,
        /// First moment none of the watched routes was held.
        withdrawn_ns: Option<u64>,
        /// First moment all were held again, announced anew.
        restored_ns: Option<u64>,
    },
    /// The session failed for a reason other than a command.
    Failed {
        /// Client index.
        client: u32,
        /// Why.
        error: String,
    },
}

/// How a client behaves once Established.
#[derive(Debug)]
pub struct ClientSettings {
    /// The route reflector.
    pub remote: IpAddr,
    /// AS of the clients and the reflector.
    pub asn: u32,
    /// IPv4 prefixes that make a client complete.
    pub expects_ipv4: usize,
    /// IPv6 prefixes that make a client complete.
    pub expects_ipv6: usize,
    /// Announce as soon as Established (session storm) instead of on command.
    pub announce_at_once: bool,
    /// Give up (re-)establishing after this moment.
    pub deadline: Instant,
    /// Every client's socket, for the coordinator to close at once.
    pub closers: Closers,
}

/// A duplicate of each client's current socket, so that the coordinator
/// can shut the sockets of a cut or a flap down itself, one after another
/// in one loop. Left to the clients' tasks, the closes went out between the
/// observers' reads on this one thread, spread over several milliseconds
/// (more, the sooner the daemon answered the first ones), and that spread
/// was timed as the daemon's.
#[derive(Debug)]
pub struct Closers {
    sockets: std::sync::Mutex<Vec<Option<OwnedFd>>>,
}

impl Closers {
    /// Room for `clients` sockets.
    pub fn new(clients: u32) -> Closers {
        let sockets = (0..clients).map(|_| None).collect();
        Closers {
            sockets: std::sync::Mutex::new(sockets),
        }
    }

    /// Keeps a duplicate of `client`'s socket (a failed duplicate only
    /// leaves the close to the client's task).
    fn register(&self, client: u32, socket: BorrowedFd<'_>) {
        let duplicate = socket.try_clone_to_owned().ok();
        if let (Ok(mut sockets), Ok(index)) = (self.sockets.lock(), usize::try_from(client)) {
            if let Some(slot) = sockets.get_mut(index) {
                *slot = duplicate;
            }
        }
    }

    /// Shuts `client`'s connection down now (FIN both ways); its task then
    /// drops the session when it gets the command.
    pub fn shut_down(&self, client: u32) {
        let socket = match (self.sockets.lock(), usize::try_from(client)) {
            (Ok(mut sockets), Ok(index)) => sockets.get_mut(index).and_then(Option::take),
            _ => None,
        };
        if let Some(socket) = socket {
            let _ = shutdown(socket.as_raw_fd(), Shutdown::Both);
        }
    }
}

/// Establishes, retrying refused or failed attempts until the deadline.
async fn establish_retrying(plan: &ClientPlan, settings: &ClientSettings) -> Result<MeshSession> {
    let remote = SocketAddr::new(settings.remote, BGP_PORT);
    loop {
        match establish(plan.ipv4, remote, settings.asn).await {
            Ok(session) => return Ok(session),
            Err(error) if Instant::now() >= settings.deadline => return Err(error),
            Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
        }
    }
}

/// Runs one client until its command channel closes or it is cut.
pub async fn run(
    plan: Arc<ClientPlan>,
    settings: Arc<ClientSettings>,
    mut commands: UnboundedReceiver<Command>,
    events: UnboundedSender<Event>,
) {
    if let Err(error) = serve(&plan, &settings, &mut commands, &events).await {
        let _ = events.send(Event::Failed {
            client: plan.client,
            error: error.to_string(),
        });
    }
}

async fn serve(
    plan: &ClientPlan,
    settings: &ClientSettings,
    commands: &mut UnboundedReceiver<Command>,
    events: &UnboundedSender<Event>,
) -> Result<()> {
    let mut session = establish_retrying(plan, settings).await?;
    settings.closers.register(plan.client, session.socket());
    let _ = events.send(Event::Established {
        at_ns: session.established_ns,
    });
    let mut counter = PrefixCounter::ignoring(plan.own.iter().copied());
    let mut first_byte_ns = 0u64;
    let mut complete = false;
    if settings.announce_at_once {
        first_byte_ns = now_nanoseconds();
        session.write(&plan.announce).await?;
    }
    let mut watch: Option<(u32, ChangeWatch)> = None;
    // A client back from a flap reads what the daemon sends but no longer
    // decodes it: nothing times its table, and decoding a full table per
    // flapped client, on the thread the observers share, delayed their
    // view of the flap's withdrawal the more, the sooner the daemon let
    // the client back (the coordinator never makes it an observer again).
    let mut counting = true;
    let keepalive_bytes = keepalive()?;
    let mut keepalives = tokio::time::interval_at(
        tokio::time::Instant::now() + KEEPALIVE_INTERVAL,
        KEEPALIVE_INTERVAL,
    );
    loop {
        tokio::select! {
            // Commands first: a flap's or cut's close happens when the
            // coordinator says, not after the UPDATEs already waiting on
            // this client's socket, so the 50 closes of a flap leave within
            // one pass of the runtime instead of between other clients'
            // reads.
            biased;
            command = commands.recv() => {
                let Some(command) = command else {
                    return Ok(());
                };
                match command {
                    Command::Announce => {
                        first_byte_ns = now_nanoseconds();
                        session.write(&plan.announce).await?;
                        if !complete && counter.reached(settings.expects_ipv4, settings.expects_ipv6) {
                            complete = true;
                            let _ = events.send(Event::Complete { first_byte_ns, at_ns: first_byte_ns });
                        }
                    }
                    Command::Withdraw => session.write(&plan.withdraw).await?,
                    Command::Cut => {
                        drop(session);
                        // Stay down, but keep the channel until the coordinator ends.
                        while commands.recv().await.is_some() {}
                        return Ok(());
                    }
                    Command::Flap => {
                        drop(session);
                        session = establish_retrying(plan, settings).await?;
                        settings.closers.register(plan.client, session.socket());
                        counter = PrefixCounter::ignoring(plan.own.iter().copied());
                        counting = false;
                        session.write(&plan.announce).await?;
                    }
                    Command::Watch(phase, affected, restore) => {
                        let mut change = ChangeWatch::new(affected, restore, &counter);
                        let _ = events.send(Event::Armed { phase });
                        change.check(now_nanoseconds());
                        if change.done() {
                            report_seen(events, phase, &change);
                        } else {
                            watch = Some((phase, change));
                        }
                    }
                }
            }
            _ = keepalives.tick() => session.write(&keepalive_bytes).await?,
            frame = session.next_frame() => {
                let frame = frame?;
                if !counting {
                    continue;
                }
                let Message::Update(update) = decode(&frame, session.context())? else {
                    continue;
                };
                counter.record(&update);
                let now = now_nanoseconds();
                if !complete && first_byte_ns != 0 && counter.reached(settings.expects_ipv4, settings.expects_ipv6) {
                    complete = true;
                    let _ = events.send(Event::Complete { first_byte_ns, at_ns: now });
                }
                if let Some((phase, change)) = watch.as_mut() {
                    change.observe(&update, &counter, now);
                    if change.done() {
                        report_seen(events, *phase, change);
                        watch = None;
                    }
                }
            }
        }
    }
}

fn report_seen(events: &UnboundedSender<Event>, phase: u32, change: &ChangeWatch) {
    let _ = events.send(Event::Seen {
        phase,
        withdrawn_ns: change.withdrawn_ns,
        restored_ns: change.restored_ns,
    });
}

fn keepalive() -> Result<Vec<u8>> {
    let mut out = BytesMut::new();
    Message::Keepalive
        .encode(&CodecContext::new(), &mut out)
        .map_err(wire_context("encoding a KEEPALIVE"))?;
    Ok(out.to_vec())
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::Closers;

    #[tokio::test]
    async fn a_shut_down_socket_ends_the_connection_while_its_owner_still_holds_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let client = TcpStream::connect(address).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let closers = Closers::new(3);
        closers.register(2, client.as_fd());
        closers.shut_down(2);
        let mut buffer = [0u8; 8];
        assert_eq!(
            server.read(&mut buffer).await.unwrap(),
            0,
            "the peer sees the end of the stream"
        );
        // Once taken, a second shutdown has nothing to do; unknown clients are ignored.
        closers.shut_down(2);
        closers.shut_down(7);
        drop(client);
    }
}
