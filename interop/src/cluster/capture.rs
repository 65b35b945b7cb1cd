//! Packet captures inside a host: `tcpdump` on the host's fabric interface,
//! started in the background and stopped by its recorded pid, then read
//! back with link-layer headers (`-e`) so a test sees, per packet, the
//! ethertype the wire carried and the IP source and destination directly
//! behind it.
//!
//! Flow: [`Capture::start`] spawns `tcpdump --immediate-mode -w` (without
//! immediate mode, packets still in the kernel's ring buffer when tcpdump
//! is stopped are lost) and waits until the file exists (the interface is
//! open); traffic runs; [`Capture::stop`] sends SIGINT and waits for
//! tcpdump to exit; [`Capture::read`] prints the file through a filter, and
//! [`parse_icmp`] turns the printed packets into [`CapturedIcmp`] values.
//! A packet that is encapsulated (VXLAN, IP-in-IP) would show the hosts'
//! addresses and UDP or protocol 4 here, never an ICMP line between pod
//! addresses.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::node::Node;

/// How long tcpdump gets to open its interface.
const START_BOUND: Duration = Duration::from_secs(10);

/// A running capture on one node.
#[derive(Debug)]
pub struct Capture {
    node: Node,
    name: String,
}

/// One ICMP packet as seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CapturedIcmp {
    /// `IPv4` when the frame carried IPv4 directly (ethertype 0x0800).
    pub ethertype: String,
    /// IP source.
    pub source: Ipv4Addr,
    /// IP destination.
    pub destination: Ipv4Addr,
    /// `echo request`, `echo reply`, ...
    pub kind: String,
}

impl Capture {
    /// Starts `tcpdump -i INTERFACE FILTER` on `node`, naming its files
    /// after `name`.
    pub fn start(node: &Node, name: &str, interface: &str, filter: &str) -> Result<Capture> {
        let capture = Capture {
            node: node.clone(),
            name: name.to_string(),
        };
        let script = format!(
            "echo $$ > {pid}; exec tcpdump -n -U --immediate-mode -i {interface} -w {file} {filter} 2> {file}.log",
            pid = capture.pid_file(),
            file = capture.file(),
        );
        node.spawn(&["sh", "-c", &script])?;
        let deadline = Instant::now() + START_BOUND;
        // tcpdump writes the file header once the interface is open.
        while node.shell(&format!("test -s {}", capture.file())).is_err() {
            if Instant::now() >= deadline {
                return Err(Error::Environment(format!(
                    "tcpdump did not start on {}: {}",
                    node.container,
                    node.read_file(&format!("{}.log", capture.file()))
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(capture)
    }

    fn pid_file(&self) -> String {
        format!("/run/capture-{}.pid", self.name)
    }

    fn file(&self) -> String {
        format!("/tmp/capture-{}.pcap", self.name)
    }

    /// Stops tcpdump; the capture file stays for [`Capture::read`].
    pub fn stop(&self) -> Result<()> {
        self.node
            .shell(&format!(
                "pid=$(cat {pid}); kill -INT \"$pid\"; for i in $(seq 50); do kill -0 \"$pid\" 2>/dev/null || break; sleep 0.1; done; rm -f {pid}",
                pid = self.pid_file()
            ))
            .map(|_| ())
    }

    /// The captured packets matching `filter` (a tcpdump expression; empty
    /// for all), printed with link-layer headers.
    pub fn read(&self, filter: &str) -> Result<String> {
        let file = self.file();
        let mut command = vec!["tcpdump", "-n", "-e", "-r", file.as_str()];
        command.extend(filter.split_whitespace());
        self.node.exec(&command)
    }
}

/// Reads the ICMP packets of `tcpdump -n -e` output, e.g.
/// `... ethertype IPv4 (0x0800), length 98: 198.19.1.11 > 198.19.2.11: ICMP echo request, id 7, seq 1, length 64`.
pub fn parse_icmp(text: &str) -> Vec<CapturedIcmp> {
    let mut packets = Vec::new();
    for line in text.lines() {
        let Some((_, after_type)) = line.split_once("ethertype ") else {
            continue;
        };
        let ethertype = after_type
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let Some((addresses, rest)) = after_type
            .split_once(": ")
            .and_then(|(_, payload)| payload.split_once(": ICMP "))
        else {
            continue;
        };
        let Some((source, destination)) = addresses.split_once(" > ") else {
            continue;
        };
        let (Ok(source), Ok(destination)) = (source.trim().parse(), destination.trim().parse())
        else {
            continue;
        };
        let kind = rest
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        packets.push(CapturedIcmp {
            ethertype,
            source,
            destination,
            kind,
        });
    }
    packets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_between_pods_is_read_with_its_ethertype() {
        let text = "\
12:00:00.000001 02:42:c6:12:05:0b > 02:42:c6:12:05:0c, ethertype IPv4 (0x0800), length 98: 198.19.1.11 > 198.19.2.11: ICMP echo request, id 7, seq 1, length 64
12:00:00.000050 02:42:c6:12:05:0c > 02:42:c6:12:05:0b, ethertype IPv4 (0x0800), length 98: 198.19.2.11 > 198.19.1.11: ICMP echo reply, id 7, seq 1, length 64
12:00:00.000100 02:42:c6:12:05:0c > 02:42:c6:12:05:0b, ethertype ARP (0x0806), length 42: Request who-has 198.18.5.11 tell 198.18.5.12, length 28
12:00:00.000200 02:42:c6:12:05:0b > 02:42:c6:12:05:0c, ethertype IPv4 (0x0800), length 148: 198.18.5.11.40000 > 198.18.5.12.4789: VXLAN, flags [I] (0x08), vni 1
";
        let packets = parse_icmp(text);
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0].ethertype, "IPv4");
        assert_eq!(packets[0].source, Ipv4Addr::new(198, 19, 1, 11));
        assert_eq!(packets[0].destination, Ipv4Addr::new(198, 19, 2, 11));
        assert_eq!(packets[0].kind, "echo request");
        assert_eq!(packets[1].kind, "echo reply");
    }
}
