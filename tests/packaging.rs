//! What `packaging/` ships: the default configuration is valid and agrees
//! with the unit and the iproute2 protocol name; `install.sh` installs into
//! a staging directory, twice, without touching an edited configuration;
//! the completions and man page the binary prints name every subcommand.
//! Nothing here writes outside a temporary directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions: a panic is a failed test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// `Key=value` lines of the unit, in order (a key may repeat).
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .collect()
}

fn podroute(arguments: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_podroute"))
        .args(arguments)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "podroute {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The subcommand names `podroute --help` lists (without `help`).
fn subcommands() -> Vec<String> {
    let help = podroute(&["--help"]);
    let names: Vec<String> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 10, "{help}");
    names
}

#[test]
fn the_default_configuration_is_valid_and_agrees_with_the_unit_and_rt_protos() {
    let config = config::load(packaging().join("podroute.toml"))
        .unwrap_or_else(|errors| panic!("packaging/podroute.toml: {errors:?}"));

    let protocols = read(&packaging().join("rt_protos.d/podroute.conf"));
    let entries: Vec<(u8, String)> = protocols
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.split_whitespace();
            let number = fields.next().unwrap().parse().unwrap();
            (number, fields.next().unwrap().to_owned())
        })
        .collect();
    assert_eq!(entries, [(config.fib.protocol, "podroute".to_owned())]);

    let unit = read(&packaging().join("podroute.service"));
    let runtime = unit_values(&unit, "RuntimeDirectory");
    assert_eq!(runtime, ["podroute"]);
    assert_eq!(
        config.api.socket.parent(),
        Some(Path::new("/run/podroute")),
        "the socket lives in the unit's RuntimeDirectory"
    );
    assert_eq!(
        unit_values(&unit, "ExecStart"),
        ["/usr/local/bin/podroute daemon --config /etc/podroute/podroute.toml"]
    );
    assert_eq!(
        unit_values(&unit, "ExecReload"),
        ["/usr/local/bin/podroute reload"]
    );
    assert_eq!(unit_values(&unit, "Restart"), ["on-failure"]);
    for key in ["AmbientCapabilities", "CapabilityBoundingSet"] {
        assert_eq!(
            unit_values(&unit, key),
            ["CAP_NET_ADMIN CAP_NET_BIND_SERVICE"],
            "{key}"
        );
    }
    let families = unit_values(&unit, "RestrictAddressFamilies");
    assert_eq!(families, ["AF_UNIX AF_INET AF_INET6 AF_NETLINK"]);
}

fn install(destination: &Path) -> String {
    let output = Command::new("bash")
        .arg(packaging().join("install.sh"))
        .args(["--prefix", "/opt/podroute", "--destdir"])
        .arg(destination)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_podroute"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "install.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn install_sh_stages_everything_and_keeps_an_edited_configuration() {
    let destination = std::env::temp_dir().join(format!("podroute-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&destination);
    let first = install(&destination);
    assert!(first.contains("installed"), "{first}");

    let binary = destination.join("opt/podroute/bin/podroute");
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("podroute "));
    let unit = read(&destination.join("etc/systemd/system/podroute.service"));
    assert_eq!(
        unit_values(&unit, "ExecStart"),
        ["/opt/podroute/bin/podroute daemon --config /etc/podroute/podroute.toml"]
    );
    assert!(!unit.contains("/usr/local"), "every path follows --prefix");
    assert_eq!(
        read(&destination.join("etc/iproute2/rt_protos.d/podroute.conf")),
        read(&packaging().join("rt_protos.d/podroute.conf"))
    );
    let config_path = destination.join("etc/podroute/podroute.toml");
    assert_eq!(read(&config_path), read(&packaging().join("podroute.toml")));
    for page in subcommands()
        .iter()
        .map(|name| format!("podroute-{name}.1"))
        .chain(["podroute.1".to_owned()])
    {
        let path = destination.join("opt/podroute/share/man/man1").join(&page);
        assert!(read(&path).contains(".TH"), "{page}");
    }
    for completion in [
        "bash-completion/completions/podroute",
        "zsh/site-functions/_podroute",
        "fish/vendor_completions.d/podroute.fish",
    ] {
        let path = destination.join("opt/podroute/share").join(completion);
        assert!(read(&path).contains("check-config"), "{completion}");
    }

    // Again, over an operator's edit: the binary is replaced, the
    // configuration is not.
    let edited = format!("{}\n# edited by the operator\n", read(&config_path));
    std::fs::write(&config_path, &edited).unwrap();
    let second = install(&destination);
    assert!(second.contains("kept the existing"), "{second}");
    assert_eq!(read(&config_path), edited);

    std::fs::remove_dir_all(&destination).unwrap();
}

#[test]
fn completions_and_the_man_page_name_every_subcommand() {
    let names = subcommands();
    for shell in ["bash", "zsh", "fish"] {
        let script = podroute(&["completions", shell]);
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell} lacks {name}");
        }
    }
    let page = podroute(&["man"]);
    assert!(page.contains(".TH podroute 1"), "{page}");
    for name in &names {
        // roff writes a hyphen as `\-`.
        let roff = format!("podroute\\-{}", name.replace('-', "\\-"));
        assert!(page.contains(&roff), "the man page lacks {roff}");
    }
}
