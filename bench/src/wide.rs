//! The wide lab network of the many-client scenarios (3, 4, 5): one /21
//! (2046 hosts) inside 198.18.0.0/15, where a lab network of the interop
//! crate is one /24.
//!
//! Data flow: [`WideNetwork::create`] asks Docker for an internal
//! dual-stack network `198.19.(8k).0/21` + `2001:db8:(1900+k)::/64`, trying
//! `k` until one does not overlap another network. The mesh's container and
//! each DUT join it ([`WideNetwork::connect`]); the mesh container then
//! carries one extra address per client ([`WideNetwork::add_client_addresses`]),
//! all on the same link as the DUT, so every client's next hop is on-link
//! for every daemon. The DUT gets a permanent neighbor entry per client
//! address ([`WideNetwork::pin_neighbors`]): the kernel's neighbor table
//! is shared by all namespaces and garbage-collected above
//! `gc_thresh3` (1024 by default) dynamic entries, which a thousand
//! clients on a shared machine would reach; permanent entries do not count.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use interop::Node;

use crate::error::{BenchError, Result};

/// Host offset of the DUT on the wide network.
pub const DUT_OFFSET: u32 = 2;
/// Host offset of the mesh container's own address.
pub const MESH_OFFSET: u32 = 10;
/// Host offset of client 0; client `i` is this plus `i`.
pub const FIRST_CLIENT_OFFSET: u32 = 16;
/// Most clients the /21 holds after the offsets above.
pub const MAX_CLIENTS: u32 = 2000;

/// A /21 lab network, removed when dropped.
#[derive(Debug)]
pub struct WideNetwork {
    name: String,
    ipv4_base: u32,
    ipv6_base: u128,
    /// Containers joined, disconnected before removal.
    members: RefCell<Vec<String>>,
    /// Client addresses already added to the mesh container.
    client_addresses: RefCell<u32>,
}

impl WideNetwork {
    /// Creates the network, trying the 32 /21s of 198.19.0.0/16 in turn.
    pub fn create(name: &str) -> Result<WideNetwork> {
        let mut last = String::new();
        for block in 0..32u32 {
            let ipv4_base = u32::from(Ipv4Addr::new(198, 19, 0, 0)) + block * 2048;
            let ipv6_base = u128::from(Ipv6Addr::new(0x2001, 0xdb8, 0x1900, 0, 0, 0, 0, 0))
                | (u128::from(block) << 80);
            let ipv4_subnet = format!("{}/21", Ipv4Addr::from(ipv4_base));
            let ipv6_subnet = format!("{}/64", Ipv6Addr::from(ipv6_base));
            let outcome = interop::command::run(
                "docker",
                &[
                    "network",
                    "create",
                    "--internal",
                    "--subnet",
                    &ipv4_subnet,
                    "--ipv6",
                    "--subnet",
                    &ipv6_subnet,
                    "--label",
                    "podroute-lab=1",
                    name,
                ],
            );
            match outcome {
                Ok(_) => {
                    return Ok(WideNetwork {
                        name: name.to_string(),
                        ipv4_base,
                        ipv6_base,
                        members: RefCell::new(Vec::new()),
                        client_addresses: RefCell::new(0),
                    });
                }
                Err(error) => {
                    last = error.to_string();
                    if !last.contains("overlap") {
                        break;
                    }
                }
            }
        }
        Err(BenchError::Other(format!(
            "no free /21 for the wide network: {last}"
        )))
    }

    /// The IPv4 address at host offset `offset`.
    pub fn ipv4(&self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.ipv4_base + offset)
    }

    /// The IPv6 address at host offset `offset`.
    pub fn ipv6(&self, offset: u32) -> Ipv6Addr {
        Ipv6Addr::from(self.ipv6_base + u128::from(offset))
    }

    /// Address of client `client`.
    pub fn client_ipv4(&self, client: u32) -> Ipv4Addr {
        self.ipv4(FIRST_CLIENT_OFFSET + client)
    }

    /// IPv6 address of client `client`.
    pub fn client_ipv6(&self, client: u32) -> Ipv6Addr {
        self.ipv6(FIRST_CLIENT_OFFSET + client)
    }

    /// Joins `node` to the network at `offset`.
    pub fn connect(&self, node: &Node, offset: u32) -> Result<()> {
        interop::command::run(
            "docker",
            &[
                "network",
                "connect",
                "--ip",
                &self.ipv4(offset).to_string(),
                "--ip6",
                &self.ipv6(offset).to_string(),
                &self.name,
                &node.container,
            ],
        )?;
        self.members.borrow_mut().push(node.container.clone());
        Ok(())
    }

    /// The interface of `node` that holds address `address`.
    pub fn interface(&self, node: &Node, address: Ipv4Addr) -> Result<String> {
        let name = node.shell(&format!(
            "ip -o -4 addr show | awk '$4 ~ /^{}\\// {{ print $2; exit }}'",
            address.to_string().replace('.', "\\.")
        ))?;
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(BenchError::Other(format!(
                "{address} is on no interface of {}",
                node.container
            )));
        }
        Ok(name)
    }

    /// Adds client addresses `0..clients` to the mesh node (once each).
    pub fn add_client_addresses(&self, mesh: &Node, clients: u32) -> Result<()> {
        let have = *self.client_addresses.borrow();
        if clients <= have {
            return Ok(());
        }
        if clients > MAX_CLIENTS {
            return Err(BenchError::Other(format!(
                "at most {MAX_CLIENTS} clients on the wide network"
            )));
        }
        let interface = self.interface(mesh, self.ipv4(MESH_OFFSET))?;
        let batch = address_batch(self, &interface, have..clients);
        mesh.write_file("/tmp/client-addresses.batch", &batch)?;
        mesh.shell("ip -batch /tmp/client-addresses.batch")?;
        *self.client_addresses.borrow_mut() = clients;
        Ok(())
    }

    /// Pins a permanent neighbor entry in `dut` for every client address,
    /// pointing at the mesh node's MAC on this network.
    pub fn pin_neighbors(&self, dut: &Node, mesh: &Node, clients: u32) -> Result<()> {
        let mesh_interface = self.interface(mesh, self.ipv4(MESH_OFFSET))?;
        let mac = mesh.shell(&format!("cat /sys/class/net/{mesh_interface}/address"))?;
        let interface = self.interface(dut, self.ipv4(DUT_OFFSET))?;
        let batch = neighbor_batch(self, &interface, mac.trim(), clients);
        dut.write_file("/tmp/client-neighbors.batch", &batch)?;
        dut.shell("ip -batch /tmp/client-neighbors.batch")?;
        Ok(())
    }
}

/// `ip -batch` lines adding client addresses (IPv6 without duplicate
/// address detection, so they are usable at once).
fn address_batch(network: &WideNetwork, interface: &str, clients: std::ops::Range<u32>) -> String {
    let mut text = String::new();
    for client in clients {
        let _ = writeln!(
            text,
            "addr add {}/21 dev {interface}\naddr add {}/64 dev {interface} nodad",
            network.client_ipv4(client),
            network.client_ipv6(client)
        );
    }
    text
}

fn neighbor_batch(network: &WideNetwork, interface: &str, mac: &str, clients: u32) -> String {
    let mut text = String::new();
    for client in 0..clients {
        for address in [
            network.client_ipv4(client).to_string(),
            network.client_ipv6(client).to_string(),
        ] {
            let _ = writeln!(
                text,
                "neigh replace {address} lladdr {mac} nud permanent dev {interface}"
            );
        }
    }
    text
}

impl Drop for WideNetwork {
    fn drop(&mut self) {
        for container in self.members.borrow().iter() {
            let _ = interop::command::run(
                "docker",
                &["network", "disconnect", "-f", &self.name, container],
            );
        }
        if let Err(error) = interop::network::remove(&self.name) {
            eprintln!("cannot remove network {}: {error}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> WideNetwork {
        WideNetwork {
            name: "test".into(),
            ipv4_base: u32::from(Ipv4Addr::new(198, 19, 8, 0)),
            ipv6_base: u128::from(Ipv6Addr::new(0x2001, 0xdb8, 0x1901, 0, 0, 0, 0, 0)),
            members: RefCell::new(Vec::new()),
            client_addresses: RefCell::new(0),
        }
    }

    #[test]
    fn client_addresses_run_past_the_first_24() {
        let network = network();
        assert_eq!(network.client_ipv4(0).to_string(), "198.19.8.16");
        assert_eq!(network.client_ipv4(999).to_string(), "198.19.11.247");
        assert_eq!(network.client_ipv6(999).to_string(), "2001:db8:1901::3f7");
        assert!(
            network
                .client_ipv4(MAX_CLIENTS)
                .to_string()
                .starts_with("198.19.15.")
        );
        let batch = address_batch(&network, "eth1", 0..2);
        assert_eq!(
            batch,
            "addr add 198.19.8.16/21 dev eth1\naddr add 2001:db8:1901::10/64 dev eth1 nodad\n\
             addr add 198.19.8.17/21 dev eth1\naddr add 2001:db8:1901::11/64 dev eth1 nodad\n"
        );
        let neighbors = neighbor_batch(&network, "eth1", "02:42:00:00:00:01", 1);
        assert!(neighbors.starts_with(
            "neigh replace 198.19.8.16 lladdr 02:42:00:00:00:01 nud permanent dev eth1\n"
        ));
    }
}
