//! A misbehaving peer affects only its own session: the speaker answers
//! with the right NOTIFICATION or gives up on it, and a well-behaved
//! neighbor of the same speaker stays Established throughout.
//!
//! The misbehaving peers are raw TCP clients that speak just enough BGP
//! (through the codec) to get to the point of misbehaving.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a panic is a failed test"
)]

mod loopback;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp::session::{ExpectedPeerAs, SessionConfig};
use bgp::speaker::SpeakerHandle;
use bgp::speaker::connection::ConnectionSettings;
use bgp::wire::{CodecContext, Message, Notification, framing};
use bytes::BytesMut;
use ipnetwork::IpNetwork;
use loopback::{ASN, config, loopback, neighbor, spawn, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A speaker at 127.0.0.`local` with passive neighbors at each of `remotes`,
/// originating `originate` prefixes, giving up on a peer that reads nothing
/// for one second.
fn start(local: u8, port: u16, remotes: &[u8], originate: Vec<IpNetwork>) -> SpeakerHandle {
    let neighbors = remotes
        .iter()
        .map(|remote| neighbor(local, *remote, port, true))
        .collect();
    let mut settings = config(local, port, neighbors);
    // A second without progress, and small kernel buffers, so that a peer
    // that stops reading is noticed after kilobytes, not megabytes
    // (loopback's 64 KB segments fill default buffers slowly).
    settings.connection = ConnectionSettings {
        send_hold_time: Duration::from_secs(1),
        send_buffer_bytes: Some(16 * 1024),
        ..Default::default()
    };
    settings.originate = originate;
    spawn(settings)
}

/// The status of the neighbor at 127.0.0.`address`.
async fn status(handle: &SpeakerHandle, address: u8) -> bgp::speaker::NeighborStatus {
    loopback::status(handle, address).await.unwrap()
}

/// A raw client from 127.0.0.`local` to the speaker, after exchanging OPENs
/// and KEEPALIVEs: it is Established from the speaker's point of view.
async fn raw_established(local: u8, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    // A small window, so that a client that stops reading stalls the
    // speaker's writes quickly instead of after megabytes of kernel buffers.
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind(SocketAddr::new(loopback(local), 0)).unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    let mut open = SessionConfig::new(
        ASN,
        Ipv4Addr::new(198, 18, 0, local),
        to.ip(),
        ExpectedPeerAs::Exact(ASN),
    );
    open.capabilities.four_octet_as = true;
    let context = CodecContext::legacy();
    stream
        .write_all(
            &Message::Open(open.open_message())
                .to_bytes(&context)
                .unwrap(),
        )
        .await
        .unwrap();
    stream
        .write_all(&Message::Keepalive.to_bytes(&context).unwrap())
        .await
        .unwrap();
    stream
}

/// Reads messages until a NOTIFICATION (or the connection ends).
async fn notification_from(stream: &mut TcpStream) -> Option<Notification> {
    let context = CodecContext::new();
    let mut buffer = BytesMut::new();
    loop {
        while let Ok(Some(frame)) = framing::split_message(&mut buffer, &context) {
            if let Ok(Message::Notification(notification)) = Message::decode(&frame, &context) {
                return Some(notification);
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_buf(&mut buffer))
            .await
            .ok()?;
        if read.ok()? == 0 {
            return None;
        }
    }
}

/// A well-behaved neighbor (another speaker) that must stay up.
fn good_neighbor(local: u8, speaker: u8, port: u16) -> SpeakerHandle {
    spawn(config(
        local,
        port,
        vec![neighbor(local, speaker, port, false)],
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_an_open_flood_get_their_notification_and_others_stay_up() {
    let port = 1830;
    let speaker = start(90, port, &[91, 92], vec![]);
    let _good = good_neighbor(91, 90, port);
    wait_for(&speaker, 91, "Established", |status| {
        status.state == "Established"
    })
    .await;
    let address = SocketAddr::new(loopback(90), port);

    // Garbage after the OPEN exchange: a header with a broken marker.
    let mut bad = raw_established(92, address).await;
    wait_for(&speaker, 92, "Established", |status| {
        status.state == "Established"
    })
    .await;
    bad.write_all(&[0xff; 15]).await.unwrap();
    bad.write_all(&[0x00, 0x00, 0x13, 0x04]).await.unwrap();
    let notification = notification_from(&mut bad)
        .await
        .expect("a NOTIFICATION for the garbage");
    assert_eq!(
        (notification.code, notification.subcode),
        (1, 1),
        "Connection Not Synchronized"
    );
    assert_eq!(
        status(&speaker, 91).await.state,
        "Established",
        "the good neighbor is unaffected"
    );

    // A flood of OPENs on an Established session: an FSM error (RFC 6608).
    // The neighbor waits out its idle hold time first, then listens again.
    wait_for(&speaker, 92, "listening again", |status| {
        status.state == "Active"
    })
    .await;
    let mut flood = raw_established(92, address).await;
    wait_for(&speaker, 92, "Established again", |status| {
        status.state == "Established"
    })
    .await;
    let open = SessionConfig::new(
        ASN,
        Ipv4Addr::new(198, 18, 0, 92),
        address.ip(),
        ExpectedPeerAs::Exact(ASN),
    )
    .open_message();
    let bytes = Message::Open(open).to_bytes(&CodecContext::new()).unwrap();
    for _ in 0..100 {
        if flood.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let notification = notification_from(&mut flood)
        .await
        .expect("a NOTIFICATION for the OPEN flood");
    assert_eq!(
        (notification.code, notification.subcode),
        (5, 3),
        "unexpected message in Established"
    );
    assert_eq!(
        status(&speaker, 91).await.state,
        "Established",
        "the good neighbor is unaffected"
    );
    assert_eq!(status(&speaker, 91).await.flaps, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_is_given_up_on_and_others_stay_up() {
    let port = 1831;
    // Enough routes that their UPDATEs overflow the socket buffers of a
    // peer that reads nothing.
    let prefixes: Vec<IpNetwork> = (0..60_000u32)
        .map(|index| {
            IpNetwork::V4(
                ipnetwork::Ipv4Network::new(Ipv4Addr::from((10u32 << 24) | (index << 8)), 24)
                    .unwrap(),
            )
        })
        .collect();
    let speaker = start(93, port, &[94, 95], prefixes);
    let _good = good_neighbor(94, 93, port);
    wait_for(&speaker, 94, "Established", |status| {
        status.state == "Established"
    })
    .await;

    let _silent = raw_established(95, SocketAddr::new(loopback(93), port)).await;
    wait_for(&speaker, 95, "given up on", |status| {
        status
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("send hold timer expired"))
    })
    .await;
    let good = status(&speaker, 94).await;
    assert_eq!(good.state, "Established", "the good neighbor is unaffected");
    assert_eq!(good.flaps, 0);
}
