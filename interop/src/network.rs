//! Lab networks: user-defined Docker bridges with an explicit subnet inside
//! 198.18.0.0/15 and 2001:db8::/32, created `--internal` so no packet can
//! leave the lab. Docker 20.10 on these machines supports `--ipv6` on
//! user-defined networks directly (no daemon flag needed), so every network
//! is dual-stack: `198.18.X.0/24` and `2001:db8:X::/64`.
//!
//! A free `X` is found by asking Docker: a subnet that overlaps another
//! network (this test's, another test's, another helper's) is refused with
//! "overlaps", and the next `X` is tried.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::command::run;
use crate::error::{Error, Result};

/// One lab network and its address plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Docker network name, `podroute-lab-<test>-<pid>-<name>`.
    pub name: String,
    /// The third octet `X` of `198.18.X.0/24` (also the `2001:db8:X::/64` group).
    pub index: u8,
}

impl Network {
    /// `198.18.X.host`.
    pub fn ipv4(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, self.index, host)
    }

    /// `2001:db8:X::host`.
    pub fn ipv6(&self, host: u8) -> Ipv6Addr {
        Ipv6Addr::new(
            0x2001,
            0xdb8,
            u16::from(self.index),
            0,
            0,
            0,
            0,
            u16::from(host),
        )
    }

    /// The IPv4 subnet text.
    pub fn ipv4_subnet(&self) -> String {
        format!("198.18.{}.0/24", self.index)
    }

    /// The IPv6 subnet text.
    pub fn ipv6_subnet(&self) -> String {
        format!("2001:db8:{:x}::/64", self.index)
    }

    /// The Linux bridge Docker made for this network on the host, where
    /// `tcpdump` sees every packet between the lab's containers.
    pub fn bridge_interface(&self) -> Result<String> {
        let id = run(
            "docker",
            &["network", "inspect", "--format", "{{.Id}}", &self.name],
        )?;
        let short: String = id.trim().chars().take(12).collect();
        if short.len() != 12 {
            return Err(Error::Parse {
                what: "docker network id".into(),
                detail: id,
            });
        }
        Ok(format!("br-{short}"))
    }
}

/// Creates a dual-stack internal network, trying third octets from `start`
/// until Docker accepts one. Octets 0 and 255 are never used.
pub fn create(name: &str, start: u8) -> Result<Network> {
    let mut last_error = None;
    for step in 0..254u16 {
        let index = u8::try_from((u16::from(start) + step) % 254 + 1).unwrap_or(1);
        let network = Network {
            name: name.to_string(),
            index,
        };
        let result = run(
            "docker",
            &[
                "network",
                "create",
                "--internal",
                "--subnet",
                &network.ipv4_subnet(),
                "--ipv6",
                "--subnet",
                &network.ipv6_subnet(),
                "--label",
                "podroute-lab=1",
                name,
            ],
        );
        match result {
            Ok(_) => return Ok(network),
            Err(Error::CommandFailed {
                stderr,
                command,
                status,
            }) if stderr.contains("overlap") => {
                last_error = Some(Error::CommandFailed {
                    command,
                    status,
                    stderr,
                });
            }
            Err(other) => return Err(other),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Environment("no free 198.18.X.0/24 subnet".into())))
}

/// Removes a network; a network already gone is not an error.
pub fn remove(name: &str) -> Result<()> {
    match run("docker", &["network", "rm", name]) {
        Ok(_) => Ok(()),
        Err(Error::CommandFailed { stderr, .. })
            if stderr.contains("No such network") || stderr.contains("not found") =>
        {
            Ok(())
        }
        Err(other) => Err(other),
    }
}
