//! Captures golden BGP vectors from real daemons. Not part of the test
//! suite: run it explicitly (as root, with Docker) to regenerate
//! `bgp/tests/vectors/captured/`:
//!
//! ```text
//! cargo run -p interop --bin capture_vectors -- [--out DIR] [--pcap FILE] [--keep-pcap FILE]
//! ```
//!
//! Flow: start BIRD, FRR and GoBGP on one lab network with the sessions of
//! [`interop::capture::scenario`], record the bridge with tcpdump while they
//! establish, exchange, withdraw and shut down with shutdown communications,
//! then hand the pcap to [`interop::capture::vectors`], which splits each TCP
//! direction into BGP messages and writes one JSON file per direction with
//! facts from tshark's independent dissection. `--pcap FILE` skips the lab
//! and only converts an existing capture.

use std::path::PathBuf;

use interop::capture::{scenario, vectors};

fn main() {
    let mut out = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bgp/tests/vectors/captured"
    ));
    let mut pcap: Option<PathBuf> = None;
    let mut keep: Option<PathBuf> = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match (argument.as_str(), arguments.next()) {
            ("--out", Some(value)) => out = PathBuf::from(value),
            ("--pcap", Some(value)) => pcap = Some(PathBuf::from(value)),
            ("--keep-pcap", Some(value)) => keep = Some(PathBuf::from(value)),
            _ => {
                eprintln!("usage: capture_vectors [--out DIR] [--pcap FILE] [--keep-pcap FILE]");
                std::process::exit(2);
            }
        }
    }
    let result = (|| -> interop::Result<()> {
        let (pcap_path, plan) = match pcap {
            Some(path) => {
                let plan = scenario::plan_for_existing_capture(&path)?;
                (path, plan)
            }
            None => {
                let path = keep.unwrap_or_else(|| {
                    std::env::temp_dir()
                        .join(format!("podroute-capture-{}.pcap", std::process::id()))
                });
                let plan = scenario::run(&path)?;
                (path, plan)
            }
        };
        let written = vectors::write_all(&pcap_path, &plan, &out)?;
        for file in written {
            println!("wrote {}", file.display());
        }
        Ok(())
    })();
    if let Err(error) = result {
        eprintln!("capture_vectors: {error}");
        std::process::exit(1);
    }
}
