//! One TCP connection to a peer: a reader task and a writer task.
//!
//! The reader frames and decodes what the peer sends and passes typed
//! messages to the owner task over a bounded channel, so a peer that floods
//! us only stalls its own reader. After an OPEN the reader waits for the
//! owner to tell it the negotiated decoding context (4-octet AS, ADD-PATH,
//! extended messages): the very next UPDATE may already depend on it.
//!
//! The writer takes pre-encoded bytes (shared between the peers of an update
//! group) from an unbounded queue ([`Outbox`]), so the owner never waits on a
//! slow peer, and counts what is queued so the owner can see one. It writes
//! them where they are, with vectored writes ([`WriteQueue`]): a thousand sessions
//! sent one shared table each hold references to it, not copies. A peer
//! that stops reading for longer than the send hold time is given up on
//! (RFC 9687).

use std::collections::VecDeque;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::wire::{CodecContext, Message, WireError, framing};

/// Identifies one socket for the lifetime of the speaker; a peer may have
/// two at once while a collision is resolved (RFC 4271 §6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketId(pub u64);

/// What a connection tells the owner task.
///
/// Nearly every event is a `Message`, so boxing it to shrink the rarer
/// variants would only add an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ConnectionEvent {
    /// A whole message arrived and decoded.
    Message {
        /// The connection it arrived on.
        connection: SocketId,
        /// The message.
        message: Message,
    },
    /// A message failed to decode; the reader stops (the session decides
    /// whether that resets it, RFC 7606 §3).
    DecodeError {
        /// The connection it arrived on.
        connection: SocketId,
        /// What was wrong and where.
        error: WireError,
    },
    /// The connection is gone: closed by the peer, a socket error, or the
    /// send hold time passed with the peer not reading.
    Closed {
        /// The connection.
        connection: SocketId,
        /// Why, for the neighbor's `last_error`.
        reason: String,
    },
}

/// Tunables of a connection's tasks.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSettings {
    /// How long a write may make no progress before the peer is given up on
    /// (RFC 9687 suggests the larger of 8 minutes and twice the hold time).
    pub send_hold_time: Duration,
    /// How many bytes the writer gathers into one `write` call.
    pub write_batch_bytes: usize,
    /// Cap on the kernel's send buffer per connection (`SO_SNDBUF`), which
    /// bounds what a peer that stops reading can hold in kernel memory;
    /// `None` leaves the kernel's autotuning alone.
    pub send_buffer_bytes: Option<usize>,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            send_hold_time: Duration::from_secs(480),
            write_batch_bytes: 64 * 1024,
            send_buffer_bytes: None,
        }
    }
}

/// One item of a writer's queue: one pointer, 8 bytes. A thousand members
/// of an update group each queue one item per flush, and while writers lag
/// the queues hold a hundred or more each (heaptrack at the peak of a
/// 1000-client reflection: 6.45 MB of queue slots when an item was a
/// 32-byte `Bytes` or a fat pointer and a length).
enum Outbound {
    /// Messages, often queued for every peer of an update group, held once.
    Shared(SharedMessages),
    Close,
}

impl Outbound {
    /// The messages of an item; none for `Close`.
    fn messages(&self) -> Option<&[Bytes]> {
        match self {
            Outbound::Shared(shared) => Some(&shared.0.messages),
            Outbound::Close => None,
        }
    }
}

/// What a connection's handle and its tasks share, in one allocation.
///
/// The queue is a plain locked `VecDeque` rather than tokio's unbounded
/// channel: the channel's list allocates 32 slots at a time, about 1.3 KB
/// per connection before anything is sent, plus its own state; a thousand
/// idle sessions kept about 2 MB in them. The lock is held only to push or
/// to take a batch, never across an await.
#[derive(Debug, Default)]
struct Shared {
    outbox: Mutex<Outbox>,
    /// A push or the handle's drop: the writer looks at the outbox again.
    ready: Notify,
    /// Bytes queued and not yet written ([`ConnectionHandle::queued_bytes`]).
    queued_bytes: AtomicUsize,
    /// The reader is to stop and drain ([`ConnectionHandle::close_after_flush`]).
    closing: Notify,
}

#[derive(Debug, Default)]
struct Outbox {
    items: VecDeque<Outbound>,
    /// The handle is gone: once the outbox is empty, the writer ends.
    sender_gone: bool,
}

impl Shared {
    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        // A panic under this lock cannot leave the queue half-changed
        // (push_back and pop_front are whole), so a poisoned lock is usable.
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, item: Outbound) {
        self.outbox().items.push_back(item);
        self.ready.notify_one();
    }

    /// Moves queued items into the writer's queue until it holds `limit`
    /// unwritten bytes or a `Close`. Whether the handle is gone is read
    /// under the same lock: read apart, a `Close` pushed just before the
    /// handle was dropped could be missed, and with it the NOTIFICATION.
    fn take(&self, queue: &mut WriteQueue, limit: usize) -> Taken {
        let mut outbox = self.outbox();
        while queue.unwritten_bytes < limit && !queue.closing {
            match outbox.items.pop_front() {
                Some(item) => queue.push(item),
                None => break,
            }
        }
        if outbox.items.is_empty() && outbox.items.capacity() > IDLE_CAPACITY {
            // A burst's backlog is not kept per idle session.
            outbox.items = VecDeque::new();
        }
        if !queue.is_empty() {
            Taken::Something
        } else if outbox.sender_gone {
            Taken::Ended
        } else {
            Taken::Nothing
        }
    }
}

/// What [`Shared::take`] left the writer with.
enum Taken {
    Something,
    Nothing,
    /// Nothing, and nothing will come: the handle is gone.
    Ended,
}

/// Queue slots a connection keeps between bursts.
const IDLE_CAPACITY: usize = 16;

/// Whole messages queued for several peers ([`ConnectionHandle::send_shared`]):
/// held once, with their length counted once.
#[derive(Debug, Clone)]
pub struct SharedMessages(Arc<Batch>);

#[derive(Debug)]
struct Batch {
    messages: Box<[Bytes]>,
    length: usize,
}

impl SharedMessages {
    /// Takes `messages` to be shared.
    pub fn new(messages: Vec<Bytes>) -> SharedMessages {
        let length = messages.iter().map(Bytes::len).sum();
        SharedMessages(Arc::new(Batch {
            messages: messages.into_boxed_slice(),
            length,
        }))
    }

    /// Bytes of all the messages.
    fn length(&self) -> usize {
        self.0.length
    }
}

/// The owner task's handle on a running connection. Dropping it stops both
/// tasks and closes the socket.
#[derive(Debug)]
pub struct ConnectionHandle {
    /// This connection's id.
    pub id: SocketId,
    /// The peer's address and port.
    pub remote: SocketAddr,
    /// Our address and port.
    pub local: SocketAddr,
    shared: Arc<Shared>,
    decode_context: watch::Sender<CodecContext>,
    reader: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outbound::Shared(shared) => write!(formatter, "Shared({})", shared.0.messages.len()),
            Outbound::Close => formatter.write_str("Close"),
        }
    }
}

impl ConnectionHandle {
    /// Starts the reader and writer tasks of an established TCP connection.
    pub fn spawn(
        id: SocketId,
        stream: TcpStream,
        events: mpsc::Sender<ConnectionEvent>,
        settings: ConnectionSettings,
    ) -> std::io::Result<ConnectionHandle> {
        let remote = stream.peer_addr()?;
        let local = stream.local_addr()?;
        stream.set_nodelay(true)?;
        if let Some(bytes) = settings.send_buffer_bytes {
            socket2::SockRef::from(&stream).set_send_buffer_size(bytes)?;
        }
        let (read_half, write_half) = stream.into_split();
        let (decode_context, context_receiver) = watch::channel(CodecContext::legacy());
        let shared = Arc::new(Shared::default());
        let reader_shared = Arc::clone(&shared);
        let reader_events = events.clone();
        let reader = tokio::spawn(async move {
            if let Some(socket) = read_loop(
                id,
                read_half,
                context_receiver,
                reader_events,
                &reader_shared.closing,
            )
            .await
            {
                drain(socket).await;
            }
        });
        let writer = tokio::spawn(write_loop(
            id,
            write_half,
            Arc::clone(&shared),
            events,
            settings,
        ));
        Ok(ConnectionHandle {
            id,
            remote,
            local,
            shared,
            decode_context,
            reader: Some(reader),
            writer: Some(writer),
        })
    }

    /// Queues encoded bytes (one or more whole messages) for the peer.
    pub fn send(&self, bytes: Bytes) {
        self.send_shared(&SharedMessages::new(vec![bytes]));
    }

    /// Queues whole messages that other peers' writers are sent too: the
    /// writer writes from them, so no peer holds a copy.
    pub fn send_shared(&self, messages: &SharedMessages) {
        self.shared
            .queued_bytes
            .fetch_add(messages.length(), Ordering::Relaxed);
        self.shared.push(Outbound::Shared(messages.clone()));
    }

    /// Stops reading, writes everything queued so far (a NOTIFICATION,
    /// RFC 4271 §6), then closes the socket. The writer finishes on its own;
    /// the send hold time bounds how long that can take.
    pub fn close_after_flush(mut self) {
        self.shared.push(Outbound::Close);
        // Both tasks finish on their own: the writer once the queue is
        // written, the reader once it has drained what the peer still sends
        // (closing with unread bytes would make the kernel answer with a RST,
        // and the peer might lose our NOTIFICATION with it).
        self.shared.closing.notify_one();
        self.writer = None;
        self.reader = None;
    }

    /// Sets the context the reader decodes with; the reader waits for this
    /// after every OPEN it delivers.
    pub fn set_decode_context(&self, context: CodecContext) {
        self.decode_context.send_replace(context);
    }

    /// Bytes queued for the peer and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued_bytes.load(Ordering::Relaxed)
    }
}

impl Drop for ConnectionHandle {
    fn drop(&mut self) {
        // A writer left running (after `close_after_flush`) ends once it has
        // written what is queued.
        self.shared.outbox().sender_gone = true;
        self.shared.ready.notify_one();
        if let Some(reader) = &self.reader {
            reader.abort();
        }
        if let Some(writer) = &self.writer {
            writer.abort();
        }
    }
}

/// Reads, frames and decodes until the peer closes, the socket fails, a
/// message is malformed, or we close. Returns the socket when we are the
/// ones closing (after an error of the peer's, or `closing`), so that it can
/// be drained rather than reset.
async fn read_loop(
    id: SocketId,
    mut socket: OwnedReadHalf,
    mut context: watch::Receiver<CodecContext>,
    events: mpsc::Sender<ConnectionEvent>,
    closing: &Notify,
) -> Option<OwnedReadHalf> {
    let mut read_size = READ_SIZE_MIN;
    let mut buffer = BytesMut::with_capacity(read_size);
    let reason = loop {
        let current = context.borrow_and_update().clone();
        let frame = match framing::split_message(&mut buffer, &current) {
            Ok(frame) => frame,
            Err(error) => {
                if let Ok(permit) = events.reserve().await {
                    permit.send(ConnectionEvent::DecodeError {
                        connection: id,
                        error,
                    });
                }
                return Some(socket);
            }
        };
        let Some(frame) = frame else {
            if buffer.is_empty() && buffer.capacity() > read_size.saturating_mul(2) {
                // A burst is over: give its buffer back rather than keep
                // one burst's worth per idle session.
                buffer = BytesMut::with_capacity(read_size);
            }
            if buffer.capacity() - buffer.len() < read_size {
                buffer.reserve(read_size);
            }
            tokio::select! {
                read = socket.read_buf(&mut buffer) => match read {
                    Ok(0) => break "connection closed by peer".to_owned(),
                    Ok(count) => {
                        read_size = next_read_size(read_size, count);
                        continue;
                    }
                    Err(error) => break format!("read: {error}"),
                },
                () = closing.notified() => return Some(socket),
            }
        };
        // Room in the channel first, then the decoding: a decoded message
        // (432 bytes) or event (440) held across an await would be part of
        // every reader task's state for the whole session.
        let Ok(permit) = events.reserve().await else {
            return Some(socket);
        };
        match Message::decode(&frame, &current) {
            Ok(message) => {
                let is_open = matches!(message, Message::Open(_));
                permit.send(ConnectionEvent::Message {
                    connection: id,
                    message,
                });
                if is_open {
                    tokio::select! {
                        changed = context.changed() => if changed.is_err() { return Some(socket) },
                        () = closing.notified() => return Some(socket),
                    }
                }
            }
            Err(error) => {
                permit.send(ConnectionEvent::DecodeError {
                    connection: id,
                    error,
                });
                return Some(socket);
            }
        }
    };
    report_closed(&events, id, reason).await;
    None
}

/// Tells the owner the connection is gone. The event is built once there
/// is room for it, so it is no part of the task's state while it waits.
async fn report_closed(events: &mpsc::Sender<ConnectionEvent>, id: SocketId, reason: String) {
    if let Ok(permit) = events.reserve().await {
        permit.send(ConnectionEvent::Closed {
            connection: id,
            reason,
        });
    }
}

/// The read size of a new or idle session: keepalives and small UPDATEs.
/// A larger message takes a few reads while the size doubles.
const READ_SIZE_MIN: usize = 1024;

/// The read size a table transfer grows to: fewer, larger reads.
const READ_SIZE_MAX: usize = 64 * 1024;

/// The next read size after a read of `count` bytes: doubled when the read
/// filled what was asked (more is waiting), halved when it used under a
/// quarter, within [`READ_SIZE_MIN`, `READ_SIZE_MAX`]. A thousand idle
/// sessions then hold 1 KiB each, not 64.
fn next_read_size(current: usize, count: usize) -> usize {
    if count >= current {
        current.saturating_mul(2).min(READ_SIZE_MAX)
    } else if count < current / 4 {
        (current / 2).max(READ_SIZE_MIN)
    } else {
        current
    }
}

/// How long a closing connection keeps reading what the peer still sends.
const DRAIN_TIME: Duration = Duration::from_secs(3);

/// Reads and discards until the peer closes its side or [`DRAIN_TIME`]
/// passes, so the socket closes with an empty receive queue: a FIN, not a RST.
async fn drain(mut socket: OwnedReadHalf) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    // On the heap and only now: an array here would be part of every
    // reader task's state for the whole session.
    let mut scratch = vec![0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut scratch)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(_)) => {}
        }
    }
}

async fn write_loop(
    id: SocketId,
    mut socket: OwnedWriteHalf,
    shared: Arc<Shared>,
    events: mpsc::Sender<ConnectionEvent>,
    settings: ConnectionSettings,
) {
    let queued_bytes = &shared.queued_bytes;
    let mut queue = WriteQueue::default();
    loop {
        if queue.is_empty() {
            queue.shrink_when_idle();
        }
        // Take in what is already queued, up to one write's worth: under
        // load, thousands of small UPDATEs go out in a few writes.
        loop {
            match shared.take(&mut queue, settings.write_batch_bytes) {
                Taken::Something => break,
                Taken::Ended => return,
                // A push since `take` left its permit: no wake-up is lost.
                Taken::Nothing => shared.ready.notified().await,
            }
        }
        // Empty items have nothing to write.
        queue.advance(0);
        if queue.is_empty() {
            continue;
        }
        if queue.at_close() {
            let _ = socket.shutdown().await;
            return;
        }
        let written = {
            let slices = queue.slices(settings.write_batch_bytes);
            tokio::time::timeout(settings.send_hold_time, socket.write_vectored(&slices)).await
        };
        let reason = match written {
            Ok(Ok(0)) => "write: the socket took no bytes".to_owned(),
            Ok(Ok(count)) => {
                queue.advance(count);
                queued_bytes.fetch_sub(
                    count.min(queued_bytes.load(Ordering::Relaxed)),
                    Ordering::Relaxed,
                );
                continue;
            }
            Ok(Err(error)) => format!("write: {error}"),
            Err(_) => format!(
                "send hold timer expired: the peer read nothing for {} s (RFC 9687)",
                settings.send_hold_time.as_secs()
            ),
        };
        report_closed(&events, id, reason).await;
        return;
    }
}

/// Most slices one vectored write passes (Linux takes up to 1024).
const MAX_SLICES: usize = 256;

/// The writer's messages taken off the queue and not yet written, kept as
/// the (often shared) buffers they came in, with how far the first is
/// written.
#[derive(Default)]
struct WriteQueue {
    items: VecDeque<Outbound>,
    /// Messages of the front item already written whole.
    message: usize,
    /// Bytes of the front message already written.
    offset: usize,
    /// Bytes taken in and not yet written.
    unwritten_bytes: usize,
    /// A `Close` was taken in: nothing after it is.
    closing: bool,
}

impl WriteQueue {
    fn push(&mut self, item: Outbound) {
        match &item {
            Outbound::Shared(shared) => self.unwritten_bytes += shared.length(),
            Outbound::Close => self.closing = true,
        }
        self.items.push_back(item);
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Everything before a `Close` is written.
    fn at_close(&self) -> bool {
        matches!(self.items.front(), Some(Outbound::Close))
    }

    /// A burst's queue is not kept per idle session.
    fn shrink_when_idle(&mut self) {
        if self.items.capacity() > IDLE_CAPACITY {
            self.items = VecDeque::new();
        }
    }

    /// The unwritten bytes in order, up to about `limit` bytes and
    /// [`MAX_SLICES`] slices, stopping at a `Close`.
    fn slices(&self, limit: usize) -> Vec<IoSlice<'_>> {
        let mut slices = Vec::new();
        let mut total = 0usize;
        let mut skip_messages = self.message;
        let mut skip_bytes = self.offset;
        'items: for item in &self.items {
            let Some(messages) = item.messages() else {
                break;
            };
            for message in messages.iter().skip(skip_messages) {
                let rest = message.get(skip_bytes..).unwrap_or_default();
                skip_bytes = 0;
                if rest.is_empty() {
                    continue;
                }
                slices.push(IoSlice::new(rest));
                total += rest.len();
                if total >= limit || slices.len() >= MAX_SLICES {
                    break 'items;
                }
            }
            skip_messages = 0;
        }
        slices
    }

    /// `count` more bytes were written.
    fn advance(&mut self, mut count: usize) {
        self.unwritten_bytes = self.unwritten_bytes.saturating_sub(count);
        while let Some(item) = self.items.front() {
            let Some(messages) = item.messages() else {
                return;
            };
            while let Some(message) = messages.get(self.message) {
                let rest = message.len().saturating_sub(self.offset);
                if count < rest {
                    self.offset += count;
                    return;
                }
                count -= rest;
                self.offset = 0;
                self.message += 1;
            }
            self.items.pop_front();
            self.message = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::net::TcpListener;

    use super::*;

    const KEEPALIVE: [u8; 19] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0, 19, 4,
    ];

    /// What `queue` would write next, as one buffer.
    fn next_write(queue: &WriteQueue, limit: usize) -> Vec<u8> {
        queue
            .slices(limit)
            .iter()
            .flat_map(|slice| slice.iter().copied())
            .collect()
    }

    #[test]
    fn the_write_queue_resumes_inside_a_message_and_stops_at_close() {
        let mut queue = WriteQueue::default();
        queue.push(Outbound::Shared(SharedMessages::new(vec![
            Bytes::from_static(b"ab"),
        ])));
        let shared = SharedMessages::new(vec![
            Bytes::from_static(b"cde"),
            Bytes::new(),
            Bytes::from_static(b"fg"),
        ]);
        queue.push(Outbound::Shared(shared.clone()));
        queue.push(Outbound::Close);
        queue.push(Outbound::Shared(SharedMessages::new(vec![
            Bytes::from_static(b"never"),
        ])));
        assert_eq!(queue.unwritten_bytes, 12);
        assert_eq!(next_write(&queue, 1024), b"abcdefg");
        // A short write ends inside the shared item's first message.
        queue.advance(3);
        assert_eq!(next_write(&queue, 1024), b"defg");
        // The limit is reached at a message's end.
        assert_eq!(next_write(&queue, 1), b"de");
        queue.advance(2);
        assert!(!queue.at_close());
        queue.advance(2);
        assert!(queue.at_close());
        assert!(next_write(&queue, 1024).is_empty());
        // The other peers' reference is all that is left of the shared item.
        assert_eq!(Arc::strong_count(&shared.0), 1);
    }

    #[test]
    fn a_queue_item_is_one_pointer() {
        assert_eq!(
            std::mem::size_of::<Outbound>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn the_read_size_follows_the_traffic_within_its_bounds() {
        // A table transfer: every read fills what was asked.
        let mut size = READ_SIZE_MIN;
        let mut grown = Vec::new();
        for _ in 0..8 {
            size = next_read_size(size, size);
            grown.push(size / 1024);
        }
        assert_eq!(grown, [2, 4, 8, 16, 32, 64, 64, 64]);
        // Then keepalives: back down to the floor, never below.
        let mut shrunk = Vec::new();
        for _ in 0..8 {
            size = next_read_size(size, 19);
            shrunk.push(size / 1024);
        }
        assert_eq!(shrunk, [32, 16, 8, 4, 2, 1, 1, 1]);
        // A read between a quarter and all of the size keeps it.
        assert_eq!(next_read_size(16 * 1024, 8 * 1024), 16 * 1024);
    }

    async fn pair() -> (ConnectionHandle, TcpStream, mpsc::Receiver<ConnectionEvent>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let client = TcpStream::connect(address).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (events, receiver) = mpsc::channel(16);
        let handle =
            ConnectionHandle::spawn(SocketId(7), server, events, ConnectionSettings::default())
                .unwrap();
        (handle, client, receiver)
    }

    #[tokio::test]
    async fn messages_split_across_reads_arrive_whole() {
        let (_handle, mut peer, mut events) = pair().await;
        peer.write_all(&KEEPALIVE[..5]).await.unwrap();
        peer.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut rest = KEEPALIVE[5..].to_vec();
        rest.extend_from_slice(&KEEPALIVE);
        peer.write_all(&rest).await.unwrap();
        for _ in 0..2 {
            match events.recv().await.unwrap() {
                ConnectionEvent::Message {
                    connection,
                    message,
                } => {
                    assert_eq!(connection, SocketId(7));
                    assert_eq!(message, Message::Keepalive);
                }
                other => panic!("expected a KEEPALIVE, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_bad_marker_is_reported_and_reading_stops() {
        let (_handle, mut peer, mut events) = pair().await;
        let mut broken = KEEPALIVE;
        broken[3] = 0;
        peer.write_all(&broken).await.unwrap();
        match events.recv().await.unwrap() {
            ConnectionEvent::DecodeError { error, .. } => {
                assert_eq!((error.code, error.subcode), (1, 1))
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn queued_bytes_are_written_and_close_flushes_first() {
        let (handle, mut peer, _events) = pair().await;
        handle.send(Bytes::from_static(&KEEPALIVE));
        handle.send_shared(&SharedMessages::new(vec![
            Bytes::from_static(&KEEPALIVE),
            Bytes::from_static(&KEEPALIVE),
        ]));
        let shared = Arc::clone(&handle.shared);
        handle.close_after_flush();
        let mut received = Vec::new();
        peer.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, KEEPALIVE.repeat(3));
        assert_eq!(shared.queued_bytes.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn closing_with_unread_bytes_sends_a_fin_not_a_reset() {
        let (handle, mut peer, mut events) = pair().await;
        let open = Message::Open(crate::wire::Open {
            version: 4,
            my_as: 65002,
            hold_time: 90,
            bgp_identifier: std::net::Ipv4Addr::new(198, 18, 0, 2),
            capabilities: Vec::new(),
        });
        peer.write_all(&open.to_bytes(&CodecContext::legacy()).unwrap())
            .await
            .unwrap();
        assert!(matches!(
            events.recv().await.unwrap(),
            ConnectionEvent::Message { .. }
        ));
        // The reader now waits for the negotiated context, so this KEEPALIVE
        // stays unread in the kernel, as when an OPEN is refused.
        peer.write_all(&KEEPALIVE).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let notification = Message::Notification(crate::wire::Notification::new(2, 2, Vec::new()));
        handle.send(notification.to_bytes(&CodecContext::legacy()).unwrap());
        handle.close_after_flush();
        // Read late, as a busy peer does: a RST would have arrived by now and
        // left its mark as the socket's pending error (FRR, seeing it, drops
        // the session before reading our NOTIFICATION).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let pending = socket2::SockRef::from(&peer).take_error().unwrap();
        assert!(
            pending.is_none(),
            "the peer's socket saw a reset: {pending:?}"
        );
        let mut received = Vec::new();
        peer.read_to_end(&mut received)
            .await
            .expect("a FIN after the NOTIFICATION, not a connection reset");
        assert_eq!(received.len(), 21, "the whole NOTIFICATION arrived");
    }

    #[tokio::test]
    async fn the_peer_closing_is_reported() {
        let (_handle, peer, mut events) = pair().await;
        drop(peer);
        match events.recv().await.unwrap() {
            ConnectionEvent::Closed { reason, .. } => {
                assert!(reason.contains("closed by peer"), "{reason}")
            }
            other => panic!("expected Closed, got {other:?}"),
        }
    }
}
