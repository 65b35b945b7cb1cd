//! Keeping our own route changes off the route monitor, in the kernel.
//!
//! The kernel stamps every route notification with the netlink port id of
//! the socket whose request caused it (`nlmsg_pid`; 0 for changes the
//! kernel makes itself, such as routes flushed with an interface). Without
//! a filter, installing a full table makes the monitor receive, decode and
//! queue one notification per route we installed: a second copy of the
//! table in flight, only to be recognised as our own echo and dropped.
//!
//! A classic BPF program on the monitor socket (`SO_ATTACH_FILTER`,
//! netlink(7) and socket(7)) drops, before they are queued, the messages
//! whose `nlmsg_pid` is our FIB socket's port id. Every notification that
//! still arrives is then someone else's change. Each notification is its own
//! datagram, so the program only has to look at the first header.
//!
//! This module is one of the project's exceptions to `unsafe_code = "deny"`:
//! the one `setsockopt` call below.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

/// Offset of `nlmsg_pid` in `struct nlmsghdr` (len, type, flags, seq, pid).
const PID_OFFSET: u32 = 12;

// Classic BPF opcodes (linux/bpf_common.h): BPF_LD | BPF_W | BPF_ABS
// (the first two are zero), BPF_JMP | BPF_JEQ | BPF_K, BPF_RET | BPF_K.
const BPF_LD_WORD_ABSOLUTE: u16 = 0x20;
const BPF_JUMP_IF_EQUAL: u16 = 0x05 | 0x10;
const BPF_RETURN: u16 = 0x06;

/// Accept the whole datagram / drop it.
const ACCEPT: u32 = u32::MAX;
const DROP: u32 = 0;

fn instruction(code: u16, jump_true: u8, jump_false: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: jump_true,
        jf: jump_false,
        k,
    }
}

/// The program: load `nlmsg_pid`, drop the datagram if it equals `port`,
/// accept it otherwise. Absolute loads read in network byte order while
/// the header is in host order, so `port` is compared as the kernel's load
/// will see it.
pub fn program(port: u32) -> [libc::sock_filter; 4] {
    let port_as_loaded = u32::from_be_bytes(port.to_ne_bytes());
    [
        instruction(BPF_LD_WORD_ABSOLUTE, 0, 0, PID_OFFSET),
        instruction(BPF_JUMP_IF_EQUAL, 0, 1, port_as_loaded),
        instruction(BPF_RETURN, 0, 0, DROP),
        instruction(BPF_RETURN, 0, 0, ACCEPT),
    ]
}

/// Attaches [`program`] for `port` to the socket `descriptor`: from now on
/// the kernel never queues there a message caused by that port's requests.
pub fn drop_echoes_of(descriptor: RawFd, port: u32) -> io::Result<()> {
    let mut instructions = program(port);
    let filter = libc::sock_fprog {
        len: 4,
        filter: instructions.as_mut_ptr(),
    };
    let length = libc::socklen_t::try_from(std::mem::size_of::<libc::sock_fprog>())
        .map_err(|_| io::Error::other("sock_fprog does not fit a socklen_t"))?;
    // SAFETY: `filter` points at `instructions`, four valid instructions
    // that outlive the call; the kernel copies the program before
    // returning, and `length` is the size of the structure passed.
    let result = unsafe {
        libc::setsockopt(
            descriptor,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            std::ptr::from_ref(&filter).cast(),
            length,
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
    use super::*;

    #[test]
    fn the_program_compares_the_port_as_a_big_endian_load_reads_it() {
        let program = program(0x0102_0304);
        let compare = program.get(1).map(|instruction| instruction.k);
        let header_bytes = 0x0102_0304u32.to_ne_bytes();
        assert_eq!(compare, Some(u32::from_be_bytes(header_bytes)));
        assert_eq!(program.first().map(|instruction| instruction.k), Some(12));
        assert_eq!(program.get(2).map(|instruction| instruction.k), Some(DROP));
        assert_eq!(
            program.get(3).map(|instruction| instruction.k),
            Some(ACCEPT)
        );
    }
}
