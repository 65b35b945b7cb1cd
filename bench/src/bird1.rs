//! The second lab image, for BIRD 1.6 (the lineage Calico runs): Debian
//! bookworm ships only BIRD 2, so this image is Debian bullseye, whose
//! `bird` package is 1.6.8, built the way the interop crate builds the main
//! lab image (`debootstrap --variant=minbase`, `tar | docker import`) and
//! named by a hash of its recipe, so it is built once per machine.
//!
//! BIRD 1.6 runs one daemon per address family (`bird` for IPv4, `bird6`
//! for IPv6), and `bird6` only speaks BGP over IPv6 transport. Every
//! benchmark peer opens one IPv4 session carrying both families, so BIRD 1.6
//! is measured on the IPv4 half of the workloads only, in tables of its own
//! next to BIRD 2 and podroute on that same IPv4-only workload.

use std::path::Path;

use crate::error::{BenchError, Result};

/// Repository of the image.
pub const IMAGE_REPOSITORY: &str = "podroute-lab/bird1";
/// Debian suite with BIRD 1.6.
pub const SUITE: &str = "bullseye";
/// Packages on top of minbase.
pub const RECIPE: &[&str] = &["bird", "iproute2", "procps"];

/// FNV-1a, 64 bits: stable across Rust releases, so the same recipe always
/// gives the same tag.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// `podroute-lab/bird1:<hash of suite and recipe>`.
pub fn image_reference() -> String {
    let text = format!("{SUITE}\n{}\nimport-v1", RECIPE.join(","));
    format!(
        "{IMAGE_REPOSITORY}:{:012x}",
        fnv1a(text.as_bytes()) & 0xffff_ffff_ffff
    )
}

/// Returns the image, building it first when missing (about a minute).
pub fn ensure_image() -> Result<String> {
    let reference = image_reference();
    if interop::image::image_exists(&reference) {
        return Ok(reference);
    }
    // The bookworm mirror of the machine's apt sources carries bullseye too.
    let mirror = interop::image::mirror()?;
    let rootfs = std::env::temp_dir().join(format!("podroute-bench-bird1-{}", std::process::id()));
    let result = build(&reference, &rootfs, &mirror);
    let cleanup = std::fs::remove_dir_all(&rootfs);
    result?;
    if let Err(error) = cleanup {
        eprintln!("cannot remove {}: {error}", rootfs.display());
    }
    Ok(reference)
}

fn build(reference: &str, rootfs: &Path, mirror: &str) -> Result<()> {
    let rootfs_text = rootfs.display().to_string();
    eprintln!("bench: building {reference} with debootstrap {SUITE} from {mirror}");
    interop::command::run(
        "debootstrap",
        &[
            "--variant=minbase",
            &format!("--include={}", RECIPE.join(",")),
            SUITE,
            &rootfs_text,
            mirror,
        ],
    )
    .map_err(|error| BenchError::Other(format!("debootstrap {SUITE}: {error}")))?;
    interop::command::run_shell(&format!(
        "rm -f '{rootfs_text}'/var/cache/apt/archives/*.deb && tar -C '{rootfs_text}' -c . | docker import - '{reference}' >/dev/null"
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_a_stable_hash_of_the_recipe() {
        let reference = image_reference();
        assert!(reference.starts_with("podroute-lab/bird1:"));
        assert_eq!(reference.len(), "podroute-lab/bird1:".len() + 12);
        assert_eq!(reference, image_reference());
        assert_ne!(reference, interop::image::image_reference());
    }
}
