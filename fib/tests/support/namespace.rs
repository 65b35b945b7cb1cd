//! Runs a test body inside a fresh network namespace.
//!
//! The outer test re-executes this test binary under `unshare -n` (util-linux),
//! asking libtest for exactly the same test and marking the child with an
//! environment variable. The child sees it, builds a `dummy0` interface with
//! 198.18.0.1/24 and 2001:db8::1/64 (a dummy device, or a veth end where the
//! kernel has no dummy driver), and runs the body. Nothing touches the
//! host's namespace, and the namespace vanishes with the child process.
//!
//! Without root or `unshare` the tests fail with an explanation, unless
//! `PODROUTE_SKIP_NETLINK_TESTS=1` asks to skip them.

use std::future::Future;
use std::process::Command;

/// Set in the child to the name of the test it must run.
const INSIDE: &str = "PODROUTE_FIB_NETNS_TEST";
/// Set by the operator to skip kernel tests on machines without root.
const SKIP: &str = "PODROUTE_SKIP_NETLINK_TESTS";

/// Runs `command` (a shell-free argv) and panics with its stderr on failure.
pub fn ip(arguments: &str) {
    let output = Command::new("ip")
        .args(arguments.split_whitespace())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ip {arguments}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `ip` output as text.
pub fn ip_output(arguments: &str) -> String {
    let output = Command::new("ip")
        .args(arguments.split_whitespace())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ip {arguments}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `ip`, reporting success instead of asserting.
fn ip_succeeds(arguments: &str) -> bool {
    Command::new("ip")
        .args(arguments.split_whitespace())
        .output()
        .is_ok_and(|output| output.status.success())
}

fn setup_namespace() {
    ip("link set lo up");
    // Some kernels (e.g. minimal VM kernels) lack the dummy driver; one end
    // of a veth pair, with both ends up, serves the same purpose.
    if !ip_succeeds("link add dummy0 type dummy") {
        ip("link add dummy0 type veth peer name dummy0peer");
        ip("link set dummy0peer up");
    }
    ip("address add 198.18.0.1/24 dev dummy0");
    ip("-6 address add 2001:db8::1/64 dev dummy0 nodad");
    ip("link set dummy0 up");
}

/// Runs `body` in a fresh network namespace (see the module documentation).
pub fn in_namespace<Fut: Future<Output = ()>>(test_name: &str, body: impl FnOnce() -> Fut) {
    if std::env::var(INSIDE).as_deref() == Ok(test_name) {
        setup_namespace();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(body());
        return;
    }
    if std::env::var(SKIP).as_deref() == Ok("1") {
        eprintln!("{test_name}: skipped because {SKIP}=1");
        return;
    }
    let executable = std::env::current_exe().unwrap();
    let status = Command::new("unshare")
        .arg("-n")
        .arg(&executable)
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(INSIDE, test_name)
        .status();
    match status {
        Ok(status) => assert!(
            status.success(),
            "{test_name} failed inside its network namespace ({status}); see its output above. \
             If `unshare -n` itself failed, these tests need root (CAP_SYS_ADMIN and CAP_NET_ADMIN) \
             and util-linux's unshare; set {SKIP}=1 to skip them where that is impossible."
        ),
        Err(error) => panic!(
            "cannot run `unshare -n` for {test_name}: {error}. The netlink tests need root and \
             util-linux's unshare; set {SKIP}=1 to skip them where that is impossible."
        ),
    }
}
