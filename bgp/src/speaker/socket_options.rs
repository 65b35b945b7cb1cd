//! Socket options BGP needs beyond what std and tokio expose: TCP-MD5
//! signatures (RFC 2385) and the TTL security of GTSM (RFC 5082).
//!
//! No safe crate wraps `TCP_MD5SIG_EXT` or `IP_MINTTL`, so this module is the
//! project's one exception to `unsafe_code = "deny"`: each `unsafe` block is
//! a single `setsockopt` call on a borrowed, open descriptor with a value
//! whose size is the size passed, which is all the kernel reads.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Longest TCP-MD5 key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_MD5_KEY_LEN: usize = 80;

/// `TCP_MD5SIG_FLAG_PREFIX` from linux/tcp.h: the key covers a prefix.
const TCP_MD5SIG_FLAG_PREFIX: u8 = 1;

/// `struct tcp_md5sig` from linux/tcp.h, which libc does not define.
#[repr(C)]
struct Md5Signature {
    address: libc::sockaddr_storage,
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    interface_index: libc::c_int,
    key: [u8; MAX_MD5_KEY_LEN],
}

/// The TTL a GTSM speaker sends with and expects from a directly connected
/// peer (RFC 5082 §3).
pub const GTSM_TTL: u8 = 255;

/// Installs (or with an empty key, removes) a TCP-MD5 key (RFC 2385) on a
/// socket for one peer address, or with `prefix_len` for every address in a
/// prefix (as a listening socket needs for a dynamic-neighbor range).
pub fn set_tcp_md5(
    socket: BorrowedFd<'_>,
    peer: IpAddr,
    prefix_len: Option<u8>,
    key: &[u8],
) -> io::Result<()> {
    if key.len() > MAX_MD5_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "TCP-MD5 key is {} bytes, at most {MAX_MD5_KEY_LEN} allowed",
                key.len()
            ),
        ));
    }
    let mut signature = Md5Signature {
        // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
        address: unsafe { std::mem::zeroed() },
        flags: 0,
        prefix_len: 0,
        key_len: key.len() as u16,
        interface_index: 0,
        key: [0; MAX_MD5_KEY_LEN],
    };
    write_sockaddr(&mut signature.address, peer);
    if let Some(length) = prefix_len {
        signature.flags = TCP_MD5SIG_FLAG_PREFIX;
        signature.prefix_len = length;
    }
    for (slot, byte) in signature.key.iter_mut().zip(key) {
        *slot = *byte;
    }
    setsockopt(socket, libc::IPPROTO_TCP, libc::TCP_MD5SIG_EXT, &signature)
}

/// Sets the TTL (IPv4) or hop limit (IPv6) of outgoing packets: 255 for GTSM,
/// or the eBGP multihop distance.
pub fn set_outgoing_ttl(socket: BorrowedFd<'_>, ipv6: bool, ttl: u8) -> io::Result<()> {
    let value = libc::c_int::from(ttl);
    if ipv6 {
        setsockopt(socket, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &value)
    } else {
        setsockopt(socket, libc::IPPROTO_IP, libc::IP_TTL, &value)
    }
}

/// Makes the kernel drop packets that arrive with a TTL (hop limit) below
/// `minimum`: GTSM with `hops` allowed hops sets `256 - hops` (RFC 5082 §3).
pub fn set_minimum_incoming_ttl(socket: BorrowedFd<'_>, ipv6: bool, minimum: u8) -> io::Result<()> {
    let value = libc::c_int::from(minimum);
    if ipv6 {
        setsockopt(socket, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &value)
    } else {
        setsockopt(socket, libc::IPPROTO_IP, libc::IP_MINTTL, &value)
    }
}

fn write_sockaddr(storage: &mut libc::sockaddr_storage, address: IpAddr) {
    // The kernel reads the family first and then only the bytes that family
    // defines, so each arm fills exactly one sockaddr_in or sockaddr_in6
    // through a typed copy of the storage.
    match address {
        IpAddr::V4(v4) => {
            let socket_address = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe {
                std::ptr::write(
                    (storage as *mut libc::sockaddr_storage).cast(),
                    socket_address,
                )
            };
        }
        IpAddr::V6(v6) => {
            let socket_address = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe {
                std::ptr::write(
                    (storage as *mut libc::sockaddr_storage).cast(),
                    socket_address,
                )
            };
        }
    }
}

fn setsockopt<T>(
    socket: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: the descriptor is borrowed and open for the call; `value` points
    // to size_of::<T>() initialized bytes, the length we pass.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    //! These run on loopback: the kernel enforces MD5 and minimum TTL there
    //! exactly as on a real link, and loopback does not decrement the TTL.

    use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::time::Duration;

    use super::*;

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn listener_with<F: Fn(BorrowedFd<'_>)>(configure: F) -> TcpListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        configure(listener.as_fd());
        listener
    }

    /// Connects with `configure` applied before connect. The attempt is
    /// bounded because a refused signature or TTL shows as silence (the
    /// kernel drops the SYN), never as an error.
    fn connect_with<F: Fn(BorrowedFd<'_>)>(to: SocketAddr, configure: F) -> io::Result<TcpStream> {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        configure(socket.as_fd());
        socket.connect_timeout(&to.into(), Duration::from_millis(1500))?;
        Ok(socket.into())
    }

    #[test]
    fn md5_keys_that_match_connect_and_missing_keys_do_not() {
        let listener = listener_with(|fd| set_tcp_md5(fd, LOCALHOST, None, b"s3cret").unwrap());
        let address = listener.local_addr().unwrap();
        connect_with(address, |fd| {
            set_tcp_md5(fd, LOCALHOST, None, b"s3cret").unwrap()
        })
        .expect("matching keys connect");
        assert!(
            connect_with(address, |_| {}).is_err(),
            "a peer without a key is refused"
        );
        assert!(
            connect_with(address, |fd| set_tcp_md5(fd, LOCALHOST, None, b"wrong")
                .unwrap())
            .is_err(),
            "a peer with another key is refused"
        );
    }

    #[test]
    fn md5_prefix_keys_cover_a_listen_range() {
        let listener = listener_with(|fd| {
            set_tcp_md5(
                fd,
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                Some(8),
                b"range",
            )
            .unwrap()
        });
        let address = listener.local_addr().unwrap();
        connect_with(address, |fd| {
            set_tcp_md5(fd, LOCALHOST, None, b"range").unwrap()
        })
        .expect("an address inside the range with its key connects");
    }

    #[test]
    fn keys_longer_than_the_kernel_allows_are_refused_before_the_call() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let error = set_tcp_md5(listener.as_fd(), LOCALHOST, None, &[b'k'; 81]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn gtsm_drops_packets_below_the_minimum_ttl() {
        let listener = listener_with(|fd| set_minimum_incoming_ttl(fd, false, GTSM_TTL).unwrap());
        let address = listener.local_addr().unwrap();
        connect_with(address, |fd| set_outgoing_ttl(fd, false, GTSM_TTL).unwrap())
            .expect("TTL 255 passes the check");
        assert!(
            connect_with(address, |fd| set_outgoing_ttl(fd, false, 64).unwrap()).is_err(),
            "TTL 64 is below 255 and dropped"
        );
    }
}
