//! One mesh client's BGP session on tokio: connect from the client's own
//! address, exchange OPEN and KEEPALIVE until Established (RFC 4271 §8.2.2),
//! then hand out whole frames.
//!
//! The blocking [`crate::session`] serves the one-session roles; the mesh
//! holds up to thousands of sessions in one thread, so its sessions are
//! tasks on a single-threaded runtime rather than two threads each.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use bgp::wire::framing::split_message;
use bgp::wire::{AS_TRANS, Capability, CodecContext, Family, Message, Open};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::error::{BenchError, Result, io_context, wire_context};
use crate::roles::now_nanoseconds;
use crate::session::HOLD_TIME;

/// Size of one socket read.
const READ_CHUNK: usize = 64 * 1024;
/// Longest a connect attempt may take before it is retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the OPEN/KEEPALIVE exchange may take before the attempt is
/// dropped and retried. Needed when the daemon's listen queue overflows in
/// a storm: our side of the handshake completes, the daemon's final ACK is
/// dropped, and our OPEN would wait on a connection the daemon never
/// accepts; a real speaker's ConnectRetry timer (RFC 4271 §8.2.2, 120 s by
/// default) plays this part, shorter here to keep runs bounded.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// An Established mesh session.
pub struct MeshSession {
    stream: TcpStream,
    buffer: BytesMut,
    context: CodecContext,
    /// When the peer's KEEPALIVE confirmed our OPEN (Established), realtime ns.
    pub established_ns: u64,
}

impl MeshSession {
    /// The connection's socket (for [`super::client::Closers`]).
    pub fn socket(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

/// Connects from `local` to `remote` and establishes (one attempt, bounded
/// by [`CONNECT_TIMEOUT`] plus [`HANDSHAKE_TIMEOUT`]).
pub async fn establish(local: Ipv4Addr, remote: SocketAddr, asn: u32) -> Result<MeshSession> {
    let stream = connect(local, remote).await?;
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(stream, local, asn))
        .await
        .map_err(|_| {
            BenchError::Other(format!(
                "{local}: no OPEN and KEEPALIVE from {remote} in time"
            ))
        })?
}

async fn connect(local: Ipv4Addr, remote: SocketAddr) -> Result<TcpStream> {
    let socket = match remote {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(io_context("creating a client socket"))?;
    socket
        .bind(SocketAddr::new(IpAddr::V4(local), 0))
        .map_err(io_context(format!("binding {local}")))?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(remote))
        .await
        .map_err(|_| BenchError::Other(format!("connecting {local} -> {remote} timed out")))?
        .map_err(io_context(format!("connecting {local} -> {remote}")))?;
    stream
        .set_nodelay(true)
        .map_err(io_context("setting TCP_NODELAY"))?;
    Ok(stream)
}

async fn handshake(stream: TcpStream, local: Ipv4Addr, asn: u32) -> Result<MeshSession> {
    let mut session = MeshSession {
        stream,
        buffer: BytesMut::with_capacity(READ_CHUNK),
        context: CodecContext::legacy(),
        established_ns: 0,
    };
    let open = Open {
        version: 4,
        my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
        hold_time: HOLD_TIME,
        bgp_identifier: local,
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
    session.send(&Message::Open(open)).await?;
    loop {
        let frame = session.next_frame().await?;
        match decode(&frame, &session.context)? {
            Message::Open(peer) => {
                let four_octet = peer
                    .capabilities
                    .iter()
                    .any(|capability| matches!(capability, Capability::FourOctetAs { .. }));
                session.context = CodecContext {
                    four_octet_as: four_octet,
                    ..CodecContext::new()
                };
                session.send(&Message::Keepalive).await?;
            }
            Message::Keepalive => {
                session.established_ns = now_nanoseconds();
                return Ok(session);
            }
            Message::Notification(notification) => {
                return Err(BenchError::Other(format!(
                    "{local}: the peer refused the session: {notification:?}"
                )));
            }
            _ => {}
        }
    }
}

impl MeshSession {
    /// The negotiated codec context (what the peer sends us).
    pub fn context(&self) -> &CodecContext {
        &self.context
    }

    /// Encodes and writes one message.
    pub async fn send(&mut self, message: &Message) -> Result<()> {
        let mut out = BytesMut::new();
        message
            .encode(&self.context, &mut out)
            .map_err(wire_context("encoding a message"))?;
        self.write(&out).await
    }

    /// Writes pre-encoded bytes.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(io_context("writing to the peer"))
    }

    /// The next whole message (RFC 4271 §4.1 framing). Cancel-safe: a frame
    /// half read stays in the buffer for the next call.
    pub async fn next_frame(&mut self) -> Result<Bytes> {
        loop {
            if let Some(frame) = split_message(&mut self.buffer, &self.context)
                .map_err(wire_context("framing the peer's stream"))?
            {
                return Ok(frame);
            }
            self.buffer.reserve(READ_CHUNK);
            let read = self
                .stream
                .read_buf(&mut self.buffer)
                .await
                .map_err(io_context("reading from the peer"))?;
            if read == 0 {
                return Err(BenchError::Other("the peer closed the session".into()));
            }
        }
    }
}

/// Decodes one frame with `context`.
pub fn decode(frame: &[u8], context: &CodecContext) -> Result<Message> {
    Message::decode(frame, context).map_err(wire_context("decoding a message from the peer"))
}
