//! `demo`: podroute routing a small container cluster, shown end to end.
//!
//! Flow: remove what an earlier `--keep` run (or a killed one) left behind;
//! build the lab image if missing; start the cluster ([`Cluster::start`]):
//! three podroute hosts with two pods each, a podroute route reflector (the
//! hosts are its clients), an FRR top-of-rack router peering over eBGP with
//! every host, and a fourth host running BIRD with one pod, peering with
//! the reflector as Calico does. Wait until every session is up and every
//! host routes to every other host's pods; print what an operator would
//! look at; ping from a pod on each host to a pod on every other host;
//! show that no tunnel device exists. The [`Lab`] guard removes everything
//! on exit or error; `--keep` leaves it running and prints how to look
//! inside. `scripts/demo` runs `--cleanup` if the demo is interrupted.
//!
//! Exit status: 0 only if every ping succeeded.

use std::process::ExitCode;
use std::time::Instant;

use interop::cluster::{Cluster, ClusterSpec, Host, HostSpec, Peering};
use interop::command::run;
use interop::{Lab, Result};

/// Name prefix of everything the demo creates (`Lab` adds `<pid>-<role>`).
const PREFIX: &str = "podroute-lab-demo-";

fn heading(title: &str) {
    println!("\n==== {title} ====");
}

fn show(title: &str, output: Result<String>) {
    heading(title);
    match output {
        Ok(text) => print!("{}", text.trim_end_matches('\n').to_string() + "\n"),
        Err(error) => println!("(failed: {error})"),
    }
}

/// Whether the demo process that created `name` (`PREFIX<pid>-...`) has
/// exited; names that do not parse count as left over.
fn is_left_over(name: &str) -> bool {
    let pid = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split('-').next())
        .unwrap_or_default();
    pid.is_empty() || !std::path::Path::new("/proc").join(pid).exists()
}

/// Removes containers, networks and bridge rules of demo runs that are no
/// longer running (all of them when `everything`).
fn clean_up(everything: bool) -> Result<()> {
    let wanted = |name: &&str| name.starts_with(PREFIX) && (everything || is_left_over(name));
    let containers = run("docker", &["ps", "-a", "--format", "{{.Names}}"])?;
    let mut removed = 0usize;
    for name in containers.lines().filter(wanted) {
        run("docker", &["rm", "-f", "-v", name])?;
        removed += 1;
    }
    let networks = run("docker", &["network", "ls", "--format", "{{.Name}}"])?;
    for name in networks.lines().filter(wanted) {
        run("docker", &["network", "rm", name])?;
        removed += 1;
    }
    let mut rules = 0;
    if everything {
        rules = interop::cluster::firewall::remove_rules_with(PREFIX)?;
    } else {
        // A rule's comment is its lab's prefix, `PREFIX<pid>`.
        let listing =
            run("iptables", &["-S", interop::cluster::firewall::CHAIN]).unwrap_or_default();
        for line in listing.lines() {
            if let Some(comment) = line
                .split_whitespace()
                .map(|word| word.trim_matches('"'))
                .find(|word| word.starts_with(PREFIX))
            {
                if is_left_over(comment) {
                    rules += interop::cluster::firewall::remove_rules_with(comment)?;
                }
            }
        }
    }
    if removed + rules > 0 {
        println!(
            "demo: removed {removed} containers and networks and {rules} bridge rules{}",
            if everything {
                ""
            } else {
                " left by earlier runs"
            }
        );
    }
    Ok(())
}

fn spec() -> ClusterSpec {
    let mut spec = ClusterSpec::new(
        Peering::Reflector,
        vec![
            HostSpec::podroute("host1", 2),
            HostSpec::podroute("host2", 2),
            HostSpec::podroute("host3", 2),
            HostSpec::bird("bird-host", 1),
        ],
    );
    spec.top_of_rack = true;
    spec
}

fn describe(cluster: &Cluster) {
    heading("the cluster");
    println!(
        "fabric network  {} ({})",
        cluster.fabric.name,
        cluster.fabric.ipv4_subnet()
    );
    if let Some(tor) = &cluster.top_of_rack {
        println!(
            "top of rack     {:<15} FRR, AS {}, eBGP to every host",
            tor.node.ipv4,
            interop::cluster::TOR_AS
        );
    }
    if let Some(reflector) = &cluster.reflector {
        println!(
            "reflector       {:<15} podroute, AS {}, hosts are its clients, no kernel routes",
            reflector.node.ipv4,
            interop::cluster::CLUSTER_AS
        );
    }
    for host in &cluster.hosts {
        let pods: Vec<String> = host
            .pods
            .iter()
            .map(|pod| format!("{} {}", pod.name, pod.address))
            .collect();
        println!(
            "{:<15} {:<15} {:<8} pods {} in {}",
            host.name,
            host.node.ipv4,
            host.router.kind.name(),
            pods.join(", "),
            host.pod_cidr()
        );
    }
}

fn show_views(cluster: &Cluster, host: &Host) {
    show(
        &format!("podroute neighbors  ({})", host.name),
        host.podroute(&["neighbors"]),
    );
    show(
        &format!("podroute routes  ({})", host.name),
        host.podroute(&["routes"]),
    );
    show(
        &format!("podroute fib  ({})", host.name),
        host.podroute(&["fib"]),
    );
    show(
        &format!("ip route  ({}; proto 201 = podroute)", host.name),
        host.node.exec(&["ip", "route"]),
    );
    if let Some(bird_host) = cluster.hosts.iter().find(|host| !host.runs_podroute()) {
        show(
            &format!("ip route  ({}; proto bird = BIRD)", bird_host.name),
            bird_host.node.exec(&["ip", "route"]),
        );
    }
    if let Some(tor) = &cluster.top_of_rack {
        show(
            "show bgp ipv4 unicast  (the FRR top-of-rack router)",
            interop::daemon::frr::vtysh(&tor.node, &["show bgp ipv4 unicast"]),
        );
    }
}

/// One pod per host pings the first pod of every other host.
fn ping_across(cluster: &Cluster) -> bool {
    heading("pings, pod to pod across hosts (plain IP routing)");
    let mut all_ok = true;
    for host in &cluster.hosts {
        let Some(pod) = host.pods.first() else {
            continue;
        };
        for other in cluster.hosts.iter().filter(|other| other.name != host.name) {
            let Some(target) = other.pods.first() else {
                continue;
            };
            let ping = host.ping(
                pod,
                target.address,
                &format!("{}/{}", other.name, target.name),
            );
            all_ok &= ping.ok;
            println!("{ping}");
        }
    }
    all_ok
}

fn show_no_tunnels(cluster: &Cluster) -> bool {
    heading("tunnel devices (ip -d link: vxlan, ipip, geneve, gre, wireguard, ...)");
    let mut none = true;
    for host in &cluster.hosts {
        match host.tunnel_devices() {
            Ok(devices) if devices.is_empty() => println!(
                "{:<12} none: pod packets leave as plain IP on eth0",
                host.name
            ),
            Ok(devices) => {
                none = false;
                println!("{:<12} {}", host.name, devices.join(", "));
            }
            Err(error) => {
                none = false;
                println!("{:<12} (failed: {error})", host.name);
            }
        }
    }
    none
}

fn print_keep_instructions(
    lab: &Lab,
    cluster: &Cluster,
    containers: &[String],
    networks: &[String],
) {
    heading("left running (--keep)");
    println!("containers: {}", containers.join(" "));
    println!("networks:   {}", networks.join(" "));
    if let Some(rule) = cluster.forwarding.rule() {
        println!(
            "bridge rule: iptables -I {} {rule}",
            interop::cluster::firewall::CHAIN
        );
    }
    if let Some(host) = cluster.hosts.first() {
        println!("\nlook inside:");
        println!("  docker exec {} podroute neighbors", host.node.container);
        println!("  docker exec {} podroute routes", host.node.container);
        println!(
            "  docker exec {} ip route show proto 201",
            host.node.container
        );
        if let Some(pod) = host.pods.first() {
            if let Some(target) = cluster.hosts.get(1).and_then(|other| other.pods.first()) {
                println!(
                    "  docker exec {} ip netns exec {} ping {}",
                    host.node.container, pod.name, target.address
                );
            }
        }
    }
    if let Some(tor) = &cluster.top_of_rack {
        println!(
            "  docker exec {} vtysh --vty_socket=/run/frr -c 'show bgp ipv4 unicast'",
            tor.node.container
        );
    }
    println!("\nremove everything:");
    println!(
        "  scripts/demo --cleanup     (or: cargo run --release -p interop --bin demo -- --cleanup)"
    );
    println!("lab prefix: {}", lab.prefix());
}

fn run_demo(keep: bool) -> Result<bool> {
    let started = Instant::now();
    clean_up(false)?;
    println!("demo: preparing the lab image (built once from Debian packages)...");
    let lab = Lab::new("demo")?;
    println!("demo: starting the cluster...");
    let mut cluster = Cluster::start(&lab, &spec())?;
    describe(&cluster);
    println!("\ndemo: waiting for BGP sessions and routes...");
    cluster.wait_converged(&lab)?;
    println!(
        "demo: converged {:.1} s after start",
        started.elapsed().as_secs_f64()
    );
    if let Some(host) = cluster.hosts.first() {
        show_views(&cluster, host);
    }
    let pings_ok = ping_across(&cluster);
    let no_tunnels = show_no_tunnels(&cluster);
    heading("result");
    println!(
        "{} in {:.1} s",
        if pings_ok {
            "every pod reached every other host's pod"
        } else {
            "SOME PINGS FAILED"
        },
        started.elapsed().as_secs_f64()
    );
    if !pings_ok {
        println!("\n{}", lab.report());
    }
    if keep {
        let (containers, networks) = lab.keep();
        print_keep_instructions(&lab, &cluster, &containers, &networks);
        cluster.forwarding.keep();
    } else {
        println!("demo: removing the cluster (use --keep to leave it running)");
    }
    Ok(pings_ok && no_tunnels)
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let keep = arguments.iter().any(|argument| argument == "--keep");
    if arguments.iter().any(|argument| argument == "--cleanup") {
        return match clean_up(true) {
            Ok(()) => {
                println!("demo: nothing of the demo is left");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("demo: cleanup failed: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(unknown) = arguments
        .iter()
        .find(|argument| !matches!(argument.as_str(), "--keep" | "--cleanup"))
    {
        eprintln!("usage: demo [--keep | --cleanup] (unknown argument {unknown})");
        return ExitCode::from(2);
    }
    match run_demo(keep) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("demo: {error}");
            ExitCode::FAILURE
        }
    }
}
