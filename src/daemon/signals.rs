//! The signals the daemon acts on, SIGHUP (reload) and SIGTERM or SIGINT
//! (stop), read from a `signalfd(2)` registered with the async runtime.
//!
//! tokio's own signal handling (its `signal` feature) sets up, when the
//! runtime is built, a table of every signal number with a channel each
//! and a driver that wakes on every signal; with its `process` feature it
//! also reaps orphaned children on every turn of the runtime. A daemon
//! that waits for three signals needs none of that: the three are blocked
//! in every thread (the mask is inherited, so they are blocked before any
//! thread starts) and arrive as records to read from one descriptor. A
//! signal sent while the daemon is still starting waits in the descriptor
//! until the daemon is up to act on it, rather than killing a half-started
//! daemon with the default action.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// What a signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// SIGHUP: read the configuration again.
    Reload,
    /// SIGTERM or SIGINT: stop.
    Stop,
}

/// The blocked signals' descriptor, before the runtime exists.
pub struct Blocked(OwnedFd);

/// The set of the three signals.
#[allow(unsafe_code)]
fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set it is given; sigaddset only
    // adds valid signal numbers to it.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        set
    }
}

/// Blocks SIGHUP, SIGTERM and SIGINT in the calling thread and opens a
/// signalfd for them. Call before any other thread starts: threads inherit
/// the mask, and a thread without it would take the signal's default
/// action (for these three, ending the process).
#[allow(unsafe_code)]
pub fn block() -> io::Result<Blocked> {
    let set = signal_set();
    // SAFETY: `set` is an initialised signal set; the old mask is not wanted.
    let result = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if result != 0 {
        return Err(io::Error::from_raw_os_error(result));
    }
    // SAFETY: -1 asks for a new descriptor; `set` is initialised.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: signalfd returned a new descriptor that nothing else owns.
    Ok(Blocked(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// The signals as the running daemon reads them.
pub struct Signals(AsyncFd<OwnedFd>);

impl Signals {
    /// Registers the descriptor with the runtime (inside it), for reading.
    #[allow(unsafe_code)]
    pub fn new(blocked: Blocked) -> io::Result<Self> {
        // SAFETY: the OwnedFd is the signalfd `block` opened; the AsyncFd
        // owns it from here on, so it stays open, the same descriptor, for
        // as long as it is registered.
        let registered = unsafe { AsyncFd::register_with_interest(blocked.0, Interest::READABLE) };
        registered.map(Self).map_err(io::Error::from)
    }

    /// Waits for the next signal.
    pub async fn next(&mut self) -> io::Result<Request> {
        loop {
            let mut guard = self.0.readable().await?;
            match guard.try_io(|fd| read_one(fd.get_ref())) {
                Ok(Ok(Some(request))) => return Ok(request),
                // Another signal number cannot arrive (only these three are
                // in the descriptor's set); read on.
                Ok(Ok(None)) => {}
                Ok(Err(error)) => return Err(error),
                Err(_would_block) => {}
            }
        }
    }
}

/// Reads one record from the signalfd (it hands out whole records only).
#[allow(unsafe_code)]
fn read_one(fd: &OwnedFd) -> io::Result<Option<Request>> {
    // SAFETY: signalfd_siginfo is plain data; all zeroes is a valid value.
    let mut info = unsafe { std::mem::zeroed::<libc::signalfd_siginfo>() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: `info` is `size` writable bytes owned by this frame.
    let read = unsafe {
        libc::read(
            fd.as_raw_fd(),
            std::ptr::from_mut(&mut info).cast::<libc::c_void>(),
            size,
        )
    };
    if read < 0 {
        return Err(io::Error::last_os_error());
    }
    if usize::try_from(read).ok() != Some(size) {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("signalfd: read {read} bytes of a {size}-byte record"),
        ));
    }
    Ok(request(info.ssi_signo))
}

/// What a signal number asks for, if it is one of the three.
fn request(signal: u32) -> Option<Request> {
    match i32::try_from(signal).ok()? {
        libc::SIGHUP => Some(Request::Reload),
        libc::SIGTERM | libc::SIGINT => Some(Request::Stop),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_numbers_map_to_requests() {
        assert_eq!(request(libc::SIGHUP as u32), Some(Request::Reload));
        assert_eq!(request(libc::SIGTERM as u32), Some(Request::Stop));
        assert_eq!(request(libc::SIGINT as u32), Some(Request::Stop));
        assert_eq!(request(libc::SIGUSR1 as u32), None);
        assert_eq!(request(u32::MAX), None);
    }

    /// A signal sent to the process after `block` is read from the
    /// descriptor instead of ending the process. The test runs in a thread
    /// of its own (the harness's threads do not have the mask) and sends
    /// the signal to that thread, so that no other thread takes it.
    #[test]
    #[allow(unsafe_code)]
    fn a_blocked_signal_is_read_from_the_descriptor() {
        let handle = std::thread::spawn(|| {
            let blocked = block().expect("signalfd");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut signals = Signals::new(blocked).expect("register");
                // SAFETY: sends SIGHUP to this very thread, which blocks it.
                let sent = unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGHUP) };
                assert_eq!(sent, 0);
                signals.next().await.expect("read")
            })
        });
        assert_eq!(handle.join().expect("thread"), Request::Reload);
    }
}
