//! One benchmark BGP session over TCP: just enough of RFC 4271 §8 to reach
//! Established and stay there, with no RIB behind it.
//!
//! Data flow: [`connect`] or [`accept`] yields a TCP stream; [`Session::open`]
//! sends our OPEN (4-octet AS, RFC 6793; MP IPv4 and IPv6 unicast, RFC 4760),
//! reads the peer's OPEN, confirms it with a KEEPALIVE and waits for the
//! peer's KEEPALIVE. After that the reading half stays with the caller
//! ([`Session::read_message`] returns whole frames), and the writing half sits
//! behind a mutex so that the bulk writer and the keepalive thread
//! ([`spawn_keepalives`]) never interleave partial messages.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp::wire::framing::split_message;
use bgp::wire::{AS_TRANS, Capability, CodecContext, Family, Message, Open};
use bytes::{Bytes, BytesMut};
use socket2::{Domain, Socket, Type};

use crate::error::{BenchError, Result, io_context, wire_context};

/// Hold time we offer: long, so that a daemon busy with a million routes
/// never drops a quiet benchmark peer (RFC 4271 §4.2).
pub const HOLD_TIME: u16 = 240;
/// How often KEEPALIVEs go out: a third of the hold time (RFC 4271 §10).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(80);
/// Size of one socket read.
const READ_CHUNK: usize = 256 * 1024;

/// The writing half of a session, shared by the bulk writer and keepalives.
pub type SharedWriter = Arc<Mutex<TcpStream>>;

/// Connects from `local` to `remote`, retrying until `deadline` (the daemon
/// under test may still be starting).
pub fn connect(local: IpAddr, remote: SocketAddr, deadline: Instant) -> Result<TcpStream> {
    loop {
        match try_connect(local, remote) {
            Ok(stream) => return Ok(stream),
            Err(error) if Instant::now() >= deadline => {
                return Err(BenchError::Io {
                    context: format!("connecting {local} -> {remote}"),
                    source: error,
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn try_connect(local: IpAddr, remote: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(remote), Type::STREAM, None)?;
    socket.bind(&SocketAddr::new(local, 0).into())?;
    socket.connect_timeout(&remote.into(), Duration::from_secs(2))?;
    let stream: TcpStream = socket.into();
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Listens on `address` and accepts one connection.
pub fn accept(address: SocketAddr) -> Result<TcpStream> {
    let listener = TcpListener::bind(address).map_err(io_context(format!("binding {address}")))?;
    crate::role_event("ready");
    let (stream, _) = listener
        .accept()
        .map_err(io_context(format!("accepting on {address}")))?;
    stream
        .set_nodelay(true)
        .map_err(io_context("setting TCP_NODELAY"))?;
    Ok(stream)
}

/// An Established session: the reading half and the shared writing half.
pub struct Session {
    reader: TcpStream,
    writer: SharedWriter,
    buffer: BytesMut,
    scratch: Vec<u8>,
    context: CodecContext,
    /// The peer's AS from its OPEN.
    pub peer_asn: u32,
}

impl Session {
    /// Exchanges OPEN and KEEPALIVE on `stream` until Established
    /// (RFC 4271 §8.2.2: OpenSent, OpenConfirm, Established).
    pub fn open(stream: TcpStream, asn: u32, router_id: Ipv4Addr) -> Result<Session> {
        let writer = stream
            .try_clone()
            .map_err(io_context("cloning the session socket"))?;
        let mut session = Session {
            reader: stream,
            writer: Arc::new(Mutex::new(writer)),
            buffer: BytesMut::with_capacity(READ_CHUNK),
            scratch: vec![0; READ_CHUNK],
            context: CodecContext::legacy(),
            peer_asn: 0,
        };
        let open = Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time: HOLD_TIME,
            bgp_identifier: router_id,
            capabilities: vec![
                Capability::Multiprotocol {
                    family: Family::IPV4_UNICAST,
                },
                Capability::Multiprotocol {
                    family: Family::IPV6_UNICAST,
                },
                Capability::RouteRefresh,
                Capability::FourOctetAs { asn },
            ],
        };
        session.send(&Message::Open(open))?;
        loop {
            let frame = session.read_message()?;
            match decode(&frame, &session.context)? {
                Message::Open(peer) => {
                    session.peer_asn = peer.asn();
                    let four_octet = peer
                        .capabilities
                        .iter()
                        .any(|capability| matches!(capability, Capability::FourOctetAs { .. }));
                    session.context = CodecContext {
                        four_octet_as: four_octet,
                        ..CodecContext::new()
                    };
                    session.send(&Message::Keepalive)?;
                }
                Message::Keepalive => return Ok(session),
                Message::Notification(notification) => {
                    return Err(BenchError::Other(format!(
                        "peer refused the session: {notification:?}"
                    )));
                }
                _ => {}
            }
        }
    }

    /// The negotiated codec context (what the peer sends us).
    pub fn context(&self) -> &CodecContext {
        &self.context
    }

    /// The shared writing half.
    pub fn writer(&self) -> SharedWriter {
        Arc::clone(&self.writer)
    }

    /// Encodes and writes one message.
    pub fn send(&self, message: &Message) -> Result<()> {
        let mut out = BytesMut::new();
        message
            .encode(&self.context, &mut out)
            .map_err(wire_context("encoding a message"))?;
        write_locked(&self.writer, &out)
    }

    /// The next whole message from the peer (RFC 4271 §4.1 framing).
    pub fn read_message(&mut self) -> Result<Bytes> {
        loop {
            if let Some(frame) = split_message(&mut self.buffer, &self.context)
                .map_err(wire_context("framing the peer's stream"))?
            {
                return Ok(frame);
            }
            let read = self
                .reader
                .read(&mut self.scratch)
                .map_err(io_context("reading from the peer"))?;
            if read == 0 {
                return Err(BenchError::Other("the peer closed the session".into()));
            }
            self.buffer
                .extend_from_slice(self.scratch.get(..read).unwrap_or(&[]));
        }
    }
}

/// Decodes one frame with `context`.
pub fn decode(frame: &[u8], context: &CodecContext) -> Result<Message> {
    Message::decode(frame, context).map_err(wire_context("decoding a message from the peer"))
}

/// Writes `bytes` while holding the writer's lock, so they stay contiguous.
pub fn write_locked(writer: &SharedWriter, bytes: &[u8]) -> Result<()> {
    let mut stream = writer
        .lock()
        .map_err(|_| BenchError::Other("session writer lock poisoned".into()))?;
    stream
        .write_all(bytes)
        .map_err(io_context("writing to the peer"))
}

/// Sends a KEEPALIVE on every writer every [`KEEPALIVE_INTERVAL`] for the
/// life of the process (RFC 4271 §4.4); a failed writer is skipped.
pub fn spawn_keepalives(writers: Vec<SharedWriter>) {
    let mut keepalive = BytesMut::new();
    if Message::Keepalive
        .encode(&CodecContext::new(), &mut keepalive)
        .is_err()
    {
        return;
    }
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(KEEPALIVE_INTERVAL);
            for writer in &writers {
                let _ = write_locked(writer, &keepalive);
            }
        }
    });
}
