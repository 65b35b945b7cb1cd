//! The lab image, built locally from Debian packages (no registry is
//! reachable on the lab machines).
//!
//! Flow: [`ensure_image`] hashes the [`RECIPE`] into a tag, returns at once
//! when `podroute-lab/all:<tag>` already exists, and otherwise takes a file
//! lock (so parallel tests build it once), runs `debootstrap --variant=minbase`
//! against the mirror named in the machine's own apt sources, pipes the root
//! filesystem through `tar` into `docker import`, and removes the rootfs.
//!
//! One image carries every daemon (BIRD 2, FRR, GoBGP) plus the tools a host
//! node needs. One debootstrap (about 40 s) is cheaper than four, a
//! `docker import` image is a single layer that four images could not share
//! anyway, and any container can then play any role.

use std::fs;
use std::path::{Path, PathBuf};

use crate::command::{run, run_shell};
use crate::error::{Error, Result};

/// Repository part of the lab image's name.
pub const IMAGE_REPOSITORY: &str = "podroute-lab/all";

/// Debian suite the image is built from.
pub const SUITE: &str = "bookworm";

/// Packages added to the minbase system. Changing this list changes the tag,
/// which rebuilds the image on the next run.
pub const RECIPE: &[&str] = &[
    "bird2",
    "frr",
    "gobgpd",
    "iproute2",
    "iputils-ping",
    "tcpdump",
    "procps",
    "ca-certificates",
];

/// Environment variable that overrides the mirror read from apt sources.
pub const MIRROR_VARIABLE: &str = "PODROUTE_LAB_MIRROR";

/// FNV-1a, 64 bits: stable across Rust releases, unlike `DefaultHasher`,
/// so the same recipe always yields the same tag.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The image tag: a short hash of the suite and the package list.
pub fn recipe_tag() -> String {
    let text = format!("{SUITE}\n{}\nimport-v1", RECIPE.join(","));
    format!("{:012x}", fnv1a(text.as_bytes()) & 0xffff_ffff_ffff)
}

/// Full image reference, `podroute-lab/all:<tag>`.
pub fn image_reference() -> String {
    format!("{IMAGE_REPOSITORY}:{}", recipe_tag())
}

/// Finds the Debian mirror in one apt sources text. Understands both the
/// one-line format (`deb URL SUITE ...`) and deb822 (`URIs:` with `Suites:`),
/// and skips the security archive, which has no base system.
pub fn mirror_from_sources(text: &str) -> Option<String> {
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [kind, rest @ ..] = words.as_slice() {
            if *kind != "deb" {
                continue;
            }
            let plain: Vec<&&str> = rest.iter().filter(|word| !word.starts_with('[')).collect();
            if let [uri, suite, ..] = plain.as_slice() {
                if **suite == SUITE && !uri.contains("security") {
                    return Some(uri.to_string());
                }
            }
        }
    }
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|line| {
                line.strip_prefix(name)
                    .map(|value| value.trim().to_string())
            })
        };
        let (Some(uris), Some(suites)) = (field("URIs:"), field("Suites:")) else {
            continue;
        };
        if !suites.split_whitespace().any(|suite| suite == SUITE) {
            continue;
        }
        if let Some(uri) = uris
            .split_whitespace()
            .find(|uri| !uri.contains("security"))
        {
            return Some(uri.to_string());
        }
    }
    None
}

/// Reads the mirror from `PODROUTE_LAB_MIRROR` or the machine's apt sources.
pub fn mirror() -> Result<String> {
    if let Ok(value) = std::env::var(MIRROR_VARIABLE) {
        if !value.is_empty() {
            return Ok(value);
        }
    }
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut names: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        names.sort();
        files.extend(names);
    }
    for file in files {
        if let Ok(text) = fs::read_to_string(&file) {
            if let Some(found) = mirror_from_sources(&text) {
                return Ok(found);
            }
        }
    }
    Err(Error::Environment(format!(
        "no {SUITE} mirror in /etc/apt/sources.list*; set {MIRROR_VARIABLE}"
    )))
}

/// Whether docker already has this image.
pub fn image_exists(reference: &str) -> bool {
    run(
        "docker",
        &["image", "inspect", "--format", "{{.Id}}", reference],
    )
    .is_ok()
}

/// Makes sure the lab image exists, building it when missing, and returns
/// its reference. Safe to call from many tests and processes at once.
pub fn ensure_image() -> Result<String> {
    let reference = image_reference();
    if image_exists(&reference) {
        return Ok(reference);
    }
    let _lock = BuildLock::acquire(
        &std::env::temp_dir().join(format!("podroute-lab-image-{}.lock", recipe_tag())),
    )?;
    // Another process may have finished the build while we waited.
    if image_exists(&reference) {
        return Ok(reference);
    }
    let rootfs = std::env::temp_dir().join(format!(
        "podroute-lab-rootfs-{}-{}",
        recipe_tag(),
        std::process::id()
    ));
    let result = build(&reference, &rootfs);
    let cleanup = remove_tree(&rootfs);
    result?;
    cleanup?;
    Ok(reference)
}

/// A cross-process lock: a directory created atomically, holding the
/// owner's pid so a lock left by a killed process is recognised and taken
/// over. (`File::lock` would do, but is newer than the workspace's MSRV.)
struct BuildLock {
    path: PathBuf,
}

impl BuildLock {
    fn acquire(path: &Path) -> Result<BuildLock> {
        let owner_file = path.join("pid");
        loop {
            match fs::create_dir(path) {
                Ok(()) => {
                    fs::write(&owner_file, std::process::id().to_string()).map_err(|source| {
                        Error::Io {
                            path: owner_file.clone(),
                            source,
                        }
                    })?;
                    return Ok(BuildLock {
                        path: path.to_path_buf(),
                    });
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    if BuildLock::is_stale(path, &owner_file) {
                        // The builder died (or left a lock of another shape);
                        // its half-built rootfs is cleaned by the next build.
                        let _ = fs::remove_dir_all(path).or_else(|_| fs::remove_file(path));
                        continue;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
                Err(source) => {
                    return Err(Error::Io {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
    }
}

impl BuildLock {
    /// A lock is stale when its owner is gone, or when it names no owner
    /// (not a directory, or no pid written yet) and is older than the
    /// moment between `create_dir` and writing the pid could take.
    fn is_stale(path: &Path, owner_file: &Path) -> bool {
        let owner = fs::read_to_string(owner_file).unwrap_or_default();
        let owner = owner.trim();
        if !owner.is_empty() {
            return !Path::new("/proc").join(owner).exists();
        }
        let age = fs::metadata(path)
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok());
        !path.is_dir() || age.is_some_and(|age| age > std::time::Duration::from_secs(10))
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn remove_tree(path: &Path) -> Result<()> {
    if path.exists() {
        fs::remove_dir_all(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

fn build(reference: &str, rootfs: &Path) -> Result<()> {
    let mirror = mirror()?;
    remove_tree(rootfs)?;
    let include = format!("--include={}", RECIPE.join(","));
    let rootfs_text = rootfs.to_string_lossy().to_string();
    eprintln!("interop: building {reference} with debootstrap from {mirror}");
    run(
        "debootstrap",
        &["--variant=minbase", &include, SUITE, &rootfs_text, &mirror],
    )?;
    // Downloaded packages are not needed in the image.
    let archives = rootfs.join("var/cache/apt/archives");
    if let Ok(entries) = fs::read_dir(&archives) {
        for entry in entries.flatten() {
            if entry
                .path()
                .extension()
                .is_some_and(|extension| extension == "deb")
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    run_shell(&format!(
        "tar -C '{rootfs_text}' -c . | docker import - '{reference}' >/dev/null"
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_is_read_from_one_line_sources() {
        let text = "# comment\ndeb [arch=amd64] http://mirror.example/debian bookworm main\n";
        assert_eq!(
            mirror_from_sources(text).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn mirror_skips_security_and_other_suites() {
        let text = "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n\n\
                    Types: deb\nURIs: http://node.example/x\nSuites: nodistro\n\n\
                    Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n";
        assert_eq!(
            mirror_from_sources(text).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn stale_locks_are_recognised() {
        let base =
            std::env::temp_dir().join(format!("podroute-lab-lock-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        // A plain file where the lock directory belongs names no owner.
        let file_lock = base.join("file.lock");
        fs::write(&file_lock, "").unwrap();
        assert!(BuildLock::is_stale(&file_lock, &file_lock.join("pid")));
        // A lock owned by this (live) process is not stale; a dead pid is.
        let live = base.join("live.lock");
        fs::create_dir(&live).unwrap();
        fs::write(live.join("pid"), std::process::id().to_string()).unwrap();
        assert!(!BuildLock::is_stale(&live, &live.join("pid")));
        fs::write(live.join("pid"), "4294967295").unwrap();
        assert!(BuildLock::is_stale(&live, &live.join("pid")));
        // Acquiring over the stale file lock succeeds and releases on drop.
        {
            let _lock = BuildLock::acquire(&file_lock).unwrap();
            assert!(file_lock.join("pid").exists());
        }
        assert!(!file_lock.exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn tag_is_stable_hex() {
        let tag = recipe_tag();
        assert_eq!(tag.len(), 12);
        assert!(tag.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(tag, recipe_tag());
    }
}
