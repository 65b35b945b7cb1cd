//! A blocking rtnetlink socket that keeps many requests in flight.
//!
//! Requests flow out in chunks: each chunk is one `sendmsg` carrying up to
//! `chunk_limit` messages. Only the chunk's last message asks for an ACK;
//! the kernel processes messages in order and always reports failures
//! (linux `netlink_rcv_skb` acks on error even without `NLM_F_ACK`), so
//! once the last message's ACK arrives every earlier failure has been read.
//! This is the "send N, then collect acks" pattern that lets the kernel
//! install routes at its own speed instead of one round trip per route.
//!
//! The chunk size is derived from the receive buffer, so even a chunk in
//! which every message fails cannot overflow it and lose an error.
//! The socket is blocking and used from `tokio::task::spawn_blocking`.

use std::io;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// Receive buffer we ask for; Linux caps it at `net.core.rmem_max`.
const RECEIVE_BUFFER_BYTES: usize = 4 << 20;
/// Room one failed request's error reply may take in the receive buffer
/// (`skb` truesize of a small `NLMSG_ERROR` with extended-ack TLVs).
const ERROR_REPLY_COST: usize = 2048;
/// Upper bound on messages per `sendmsg`.
const MAX_CHUNK_MESSAGES: usize = 512;
/// Upper bound on bytes per `sendmsg`; below the default `wmem_default`.
const MAX_CHUNK_BYTES: usize = 128 << 10;
/// Largest datagram we read at once (dump replies are at most a few pages).
const READ_BUFFER_BYTES: usize = 1 << 20;
/// How often an interrupted dump (`NLM_F_DUMP_INTR`) is restarted.
const DUMP_ATTEMPTS: usize = 5;

/// One request: the message and its extra `NLM_F_*` flags.
pub type Request = (RouteNetlinkMessage, u16);

/// `nlmsghdr` length.
const HEADER_BYTES: usize = 16;
/// `NLMSG_ERROR`: an acknowledgement (errno 0) or a failure.
const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
const NLMSG_DONE: u16 = 3;

/// A request the route crate cannot encode: the message type, the extra
/// `NLM_F_*` flags and the payload after `nlmsghdr` (family header and
/// attributes, already padded to four octets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    /// `nlmsg_type`, e.g. `RTM_NEWNEXTHOP`.
    pub message_type: u16,
    /// Extra flags besides `NLM_F_REQUEST` (and `NLM_F_ACK`, which the
    /// transport sets itself).
    pub flags: u16,
    /// The message body.
    pub payload: Vec<u8>,
}

/// One message read back, undecoded.
struct Frame {
    message_type: u16,
    flags: u16,
    sequence: u32,
    /// The whole message, header included.
    bytes: Vec<u8>,
}

impl Frame {
    /// The errno of an `NLMSG_ERROR` (negative, or 0 for an ACK).
    fn error_code(&self) -> Option<i32> {
        let code = self.bytes.get(HEADER_BYTES..HEADER_BYTES + 4)?;
        Some(i32::from_ne_bytes(code.try_into().ok()?))
    }
}

/// A request of either kind, encoded on the way out.
enum Outgoing {
    Route(Request),
    Raw(RawRequest),
}

impl Outgoing {
    /// Appends the message with sequence number `sequence`.
    fn encode_into(self, encoded: &mut Vec<u8>, sequence: u32, acknowledge: u16) {
        let start = encoded.len();
        match self {
            Outgoing::Route((body, flags)) => {
                let mut header = NetlinkHeader::default();
                header.flags = NLM_F_REQUEST | flags | acknowledge;
                header.sequence_number = sequence;
                let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(body));
                message.finalize();
                encoded.resize(start.saturating_add(message.buffer_len()), 0);
                if let Some(slot) = encoded.get_mut(start..) {
                    message.serialize(slot);
                }
            }
            Outgoing::Raw(raw) => {
                let length = HEADER_BYTES.saturating_add(raw.payload.len());
                encoded.extend_from_slice(&u32::try_from(length).unwrap_or(u32::MAX).to_ne_bytes());
                encoded.extend_from_slice(&raw.message_type.to_ne_bytes());
                encoded.extend_from_slice(&(NLM_F_REQUEST | raw.flags | acknowledge).to_ne_bytes());
                encoded.extend_from_slice(&sequence.to_ne_bytes());
                encoded.extend_from_slice(&0u32.to_ne_bytes());
                encoded.extend_from_slice(&raw.payload);
            }
        }
    }
}

/// A connected `NETLINK_ROUTE` socket (see the module documentation).
#[derive(Debug)]
pub struct Transport {
    socket: Socket,
    port: u32,
    next_sequence: u32,
    chunk_limit: usize,
    read_buffer: Vec<u8>,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl Transport {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Transport> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        let port = socket.bind_auto()?.port_number();
        socket.connect(&SocketAddr::new(0, 0))?;
        // Filters dumps by table/protocol in the kernel (linux >= 4.20);
        // older kernels ignore it and we filter in user space anyway.
        let _ = socket.set_netlink_get_strict_chk(true);
        // Error replies then carry only the failed request's header.
        let _ = socket.set_cap_ack(true);
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_rx_buf_sz(RECEIVE_BUFFER_BYTES);
        let granted = socket.get_rx_buf_sz().unwrap_or(0);
        let chunk_limit = (granted / ERROR_REPLY_COST).clamp(8, MAX_CHUNK_MESSAGES);
        Ok(Transport {
            socket,
            port,
            next_sequence: 1,
            chunk_limit,
            read_buffer: Vec::with_capacity(READ_BUFFER_BYTES),
        })
    }

    /// The port id the kernel gave this socket: the `nlmsg_pid` of the
    /// route notifications our requests cause ([`super::echo_filter`]).
    pub fn port(&self) -> u32 {
        self.port
    }

    fn sequence(&mut self) -> u32 {
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        sequence
    }

    /// Reads one datagram and splits it into frames, undecoded.
    fn read_frames(&mut self) -> io::Result<Vec<Frame>> {
        self.read_buffer.clear();
        self.read_buffer.reserve(READ_BUFFER_BYTES);
        let length = self.socket.recv(&mut self.read_buffer, 0)?;
        let data = self.read_buffer.get(..length).unwrap_or(&self.read_buffer);
        let mut frames = Vec::new();
        let mut offset = 0;
        while let Some(rest) = data.get(offset..).filter(|rest| !rest.is_empty()) {
            let buffer =
                NetlinkBuffer::new_checked(rest).map_err(|error| invalid(error.to_string()))?;
            let message_length = usize::try_from(buffer.length()).unwrap_or(usize::MAX);
            let bytes = rest
                .get(..message_length)
                .ok_or_else(|| invalid("truncated netlink message".into()))?;
            frames.push(Frame {
                message_type: buffer.message_type(),
                flags: buffer.flags(),
                sequence: buffer.sequence_number(),
                bytes: bytes.to_vec(),
            });
            // Messages are padded to four octets (NLMSG_ALIGN).
            let aligned = message_length.saturating_add(3) & !3;
            offset = offset.saturating_add(aligned.max(16));
        }
        Ok(frames)
    }

    /// Reads one datagram and returns the messages in it.
    fn read(&mut self) -> io::Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        self.read_frames()?
            .iter()
            .map(|frame| {
                NetlinkMessage::deserialize(&frame.bytes)
                    .map_err(|error| invalid(error.to_string()))
            })
            .collect()
    }

    /// Sends every request and returns, per request and in order, `Ok(())`
    /// or the kernel's errno (positive). An `Err` means the socket failed and
    /// the outcome of the requests not yet answered is unknown.
    pub fn execute(&mut self, requests: Vec<Request>) -> io::Result<Vec<Result<(), i32>>> {
        self.execute_any(requests.into_iter().map(Outgoing::Route).collect())
    }

    /// [`Transport::execute`] for messages the route crate cannot encode
    /// (nexthop objects): each is a message type, flags and a payload.
    pub fn execute_raw(&mut self, requests: Vec<RawRequest>) -> io::Result<Vec<Result<(), i32>>> {
        self.execute_any(requests.into_iter().map(Outgoing::Raw).collect())
    }

    fn execute_any(&mut self, requests: Vec<Outgoing>) -> io::Result<Vec<Result<(), i32>>> {
        let mut results = Vec::with_capacity(requests.len());
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            let mut encoded = Vec::new();
            let mut count = 0usize;
            let first_sequence = self.next_sequence;
            let mut last_sequence = first_sequence;
            while let Some(outgoing) = requests.next() {
                last_sequence = self.sequence();
                let start = encoded.len();
                outgoing.encode_into(&mut encoded, last_sequence, 0);
                count += 1;
                let is_last = count >= self.chunk_limit
                    || encoded.len() >= MAX_CHUNK_BYTES
                    || requests.peek().is_none();
                if is_last {
                    // Only the chunk's last message asks for an ACK; its
                    // flags sit at octets 6..8 of the header.
                    let flags_at = start.saturating_add(6)..start.saturating_add(8);
                    if let Some([first, second]) = encoded.get_mut(flags_at) {
                        let value = u16::from_ne_bytes([*first, *second]) | NLM_F_ACK;
                        [*first, *second] = value.to_ne_bytes();
                    }
                    break;
                }
            }
            self.socket.send(&encoded, 0)?;
            let mut chunk: Vec<Result<(), i32>> = vec![Ok(()); count];
            'acks: loop {
                for frame in self.read_frames()? {
                    if frame.message_type != NLMSG_ERROR {
                        continue;
                    }
                    let sequence = frame.sequence;
                    // Wrapping keeps the offset right across a u32 wrap.
                    let Some(index) = usize::try_from(sequence.wrapping_sub(first_sequence))
                        .ok()
                        .filter(|index| *index < count)
                    else {
                        continue;
                    };
                    if let (Some(slot), Some(code)) = (chunk.get_mut(index), frame.error_code()) {
                        if code != 0 {
                            *slot = Err(code.checked_abs().unwrap_or(i32::MAX));
                        }
                    }
                    if sequence == last_sequence {
                        break 'acks;
                    }
                }
            }
            results.append(&mut chunk);
        }
        Ok(results)
    }

    /// Sends one request that the kernel answers with messages (a `GET`
    /// without `NLM_F_DUMP`, or a dump when `dump` is set) and returns the
    /// payloads of the answers of type `reply_type`, or the kernel's errno.
    pub fn request_raw(
        &mut self,
        request: RawRequest,
        reply_type: u16,
    ) -> io::Result<Result<Vec<Vec<u8>>, i32>> {
        let dump = request.flags & NLM_F_DUMP == NLM_F_DUMP;
        for _ in 0..DUMP_ATTEMPTS {
            let sequence = self.sequence();
            let mut encoded = Vec::new();
            // A plain GET is answered with one message or an error; asking
            // for an ACK as well gives it a definite end.
            let acknowledge = if dump { 0 } else { NLM_F_ACK };
            Outgoing::Raw(request.clone()).encode_into(&mut encoded, sequence, acknowledge);
            self.socket.send(&encoded, 0)?;
            let mut replies = Vec::new();
            let mut interrupted = false;
            'reply: loop {
                for frame in self.read_frames()? {
                    if frame.sequence != sequence {
                        continue;
                    }
                    interrupted |= frame.flags & NLM_F_DUMP_INTR != 0;
                    match frame.message_type {
                        NLMSG_DONE => break 'reply,
                        NLMSG_ERROR => match frame.error_code() {
                            Some(0) => break 'reply,
                            Some(code) => {
                                return Ok(Err(code.checked_abs().unwrap_or(i32::MAX)));
                            }
                            None => return Err(invalid("short netlink error message".into())),
                        },
                        kind if kind == reply_type => {
                            replies.push(frame.bytes.get(HEADER_BYTES..).unwrap_or(&[]).to_vec());
                        }
                        _ => {}
                    }
                }
            }
            if !interrupted {
                return Ok(Ok(replies));
            }
        }
        Err(io::Error::other(
            "dump kept being interrupted by concurrent changes",
        ))
    }

    /// Runs a dump request and returns every route message of the reply,
    /// restarting when the kernel flags the dump as interrupted.
    pub fn dump(&mut self, request: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        for _ in 0..DUMP_ATTEMPTS {
            let mut header = NetlinkHeader::default();
            header.flags = NLM_F_REQUEST | NLM_F_DUMP;
            let sequence = self.sequence();
            header.sequence_number = sequence;
            let mut message =
                NetlinkMessage::new(header, NetlinkPayload::InnerMessage(request.clone()));
            message.finalize();
            let mut encoded = vec![0; message.buffer_len()];
            message.serialize(&mut encoded);
            self.socket.send(&encoded, 0)?;
            let mut replies = Vec::new();
            let mut interrupted = false;
            'reply: loop {
                for message in self.read()? {
                    if message.header.sequence_number != sequence {
                        continue;
                    }
                    interrupted |= message.header.flags & NLM_F_DUMP_INTR != 0;
                    match message.payload {
                        NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                        NetlinkPayload::Done(_) => break 'reply,
                        NetlinkPayload::Error(error) if error.code.is_some() => {
                            return Err(error.to_io());
                        }
                        _ => {}
                    }
                }
            }
            if !interrupted {
                return Ok(replies);
            }
        }
        Err(io::Error::other(
            "route dump kept being interrupted by concurrent changes",
        ))
    }
}
