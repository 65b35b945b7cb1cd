//! Records the commit podroute is built from, for `podroute --version` and
//! for the benchmark harness, which must name the build it measured rather
//! than whatever is checked out when it runs.

use std::process::Command;

fn main() {
    // Set by scripts/build-static with the ordering file that lays the
    // start-up code out between two markers (src/daemon/startup_code.rs).
    println!("cargo:rustc-check-cfg=cfg(podroute_code_tiers)");
    // Rebuilt when HEAD moves or the index changes (a commit or `git add`).
    for path in [".git/HEAD", ".git/index", ".git/refs/heads"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let git = |arguments: &[&str]| {
        Command::new("git")
            .args(arguments)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let commit = match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|status| !status.is_empty());
            if dirty {
                format!("{commit}-modified")
            } else {
                commit
            }
        }
        None => "unknown".to_owned(),
    };
    println!("cargo:rustc-env=PODROUTE_COMMIT={commit}");
}
