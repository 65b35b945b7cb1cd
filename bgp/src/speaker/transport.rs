//! Listening and connecting: TCP sockets set up the way each neighbor needs
//! before the first byte moves (TCP-MD5 keys, GTSM, eBGP TTL, source address).
//!
//! Listener tasks only accept and hand the stream to the owner task, which
//! decides at once whether the remote address is a configured neighbor or
//! inside a listen range, and otherwise closes it. Outbound connects run as
//! short tasks that report their outcome to the owner.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use ipnetwork::IpNetwork;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

use super::socket_options::{self, GTSM_TTL};

/// How a socket to or from one neighbor is protected and where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportSettings {
    /// TCP-MD5 key (RFC 2385).
    pub password: Option<String>,
    /// GTSM (RFC 5082): the peer is at most this many hops away; packets
    /// go out with TTL 255 and must arrive with at least `256 - hops`.
    pub ttl_security: Option<u8>,
    /// TTL of outgoing packets when GTSM is off: 1 for directly connected
    /// eBGP, the multihop distance otherwise, the OS default (`None`) for iBGP.
    pub ttl: Option<u8>,
    /// Source address for outbound connections.
    pub source_address: Option<IpAddr>,
}

/// Opens a listening socket with the keys of every neighbor and listen range
/// already installed, so that the kernel answers signed SYNs from the start.
pub fn listen(address: SocketAddr, keys: &[(IpNetwork, String)]) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if address.is_ipv6() {
        // "[::]:179" and "0.0.0.0:179" are both configured by default: keep
        // the IPv6 socket to IPv6 so that the two do not collide.
        socket2::SockRef::from(&socket).set_only_v6(true)?;
    }
    socket.bind(address)?;
    for (prefix, key) in keys {
        install_listener_key(&socket, *prefix, key)?;
    }
    socket.listen(1024)
}

/// Installs a TCP-MD5 key for a prefix on a listening socket, skipping a
/// prefix of the other address family (an IPv4 neighbor on an IPv6-only socket).
pub fn install_listener_key(socket: &impl AsFd, prefix: IpNetwork, key: &str) -> io::Result<()> {
    let listening_v6 = matches!(
        socket2::SockRef::from(socket).local_addr()?.as_socket(),
        Some(SocketAddr::V6(_))
    );
    if listening_v6 != prefix.is_ipv6() {
        return Ok(());
    }
    let maximum = if prefix.is_ipv4() { 32 } else { 128 };
    let prefix_len = (prefix.prefix() < maximum).then_some(prefix.prefix());
    socket_options::set_tcp_md5(socket.as_fd(), prefix.network(), prefix_len, key.as_bytes())
}

/// Accepts connections forever, handing each to the owner task.
pub async fn accept_loop(
    listener: std::sync::Arc<TcpListener>,
    accepted: mpsc::Sender<(TcpStream, SocketAddr)>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                if accepted.send((stream, remote)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Applies the per-neighbor TTL settings to an accepted connection.
pub fn configure_accepted(stream: &TcpStream, settings: &TransportSettings) -> io::Result<()> {
    let ipv6 = stream.peer_addr()?.is_ipv6();
    apply_ttl(stream, ipv6, settings)
}

fn apply_ttl(socket: &impl AsFd, ipv6: bool, settings: &TransportSettings) -> io::Result<()> {
    if let Some(hops) = settings.ttl_security {
        socket_options::set_outgoing_ttl(socket.as_fd(), ipv6, GTSM_TTL)?;
        let minimum = u8::try_from(256 - u16::from(hops.max(1))).unwrap_or(GTSM_TTL);
        socket_options::set_minimum_incoming_ttl(socket.as_fd(), ipv6, minimum)?;
    } else if let Some(ttl) = settings.ttl {
        socket_options::set_outgoing_ttl(socket.as_fd(), ipv6, ttl)?;
    }
    Ok(())
}

/// Connects to a neighbor with its transport settings, giving up after
/// `timeout` (the session's connect retry timer takes it from there).
pub async fn connect(
    remote: SocketAddr,
    settings: &TransportSettings,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let ipv6 = remote.is_ipv6();
    let socket = if ipv6 {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    if let Some(password) = &settings.password {
        socket_options::set_tcp_md5(socket.as_fd(), remote.ip(), None, password.as_bytes())?;
    }
    apply_ttl(&socket, ipv6, settings)?;
    if let Some(source) = settings.source_address {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    match tokio::time::timeout(timeout, socket.connect(remote)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer from {remote} within {} s", timeout.as_secs()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_keyed_listener_accepts_a_keyed_connect() {
        let keys = vec![("127.0.0.1/32".parse().unwrap(), "secret".to_owned())];
        let listener = listen("127.0.0.1:0".parse().unwrap(), &keys).unwrap();
        let address = listener.local_addr().unwrap();
        let settings = TransportSettings {
            password: Some("secret".into()),
            ..Default::default()
        };
        let (connected, accepted) = tokio::join!(
            connect(address, &settings, Duration::from_secs(5)),
            listener.accept()
        );
        connected.unwrap();
        accepted.unwrap();
    }

    #[tokio::test]
    async fn an_unkeyed_connect_to_a_keyed_listener_times_out() {
        let keys = vec![("127.0.0.0/8".parse().unwrap(), "secret".to_owned())];
        let listener = listen("127.0.0.1:0".parse().unwrap(), &keys).unwrap();
        let address = listener.local_addr().unwrap();
        let error = connect(
            address,
            &TransportSettings::default(),
            Duration::from_millis(1500),
        )
        .await
        .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn ipv6_listeners_skip_ipv4_keys() {
        let keys = vec![("198.18.0.0/16".parse().unwrap(), "secret".to_owned())];
        listen("[::1]:0".parse().unwrap(), &keys).unwrap();
    }
}
