//! `podroute daemon`: the running speaker and everything around it.
//!
//! Start-up reads and validates the configuration (refusing to start on any
//! error), starts logging, the BGP speaker and the control API, then waits
//! for signals (read from a signalfd, see [`signals`]): SIGHUP reloads the
//! configuration, SIGTERM and SIGINT stop every session with a Cease and
//! exit.

mod allocator;
mod descriptors;
pub(crate) mod logging;
mod signals;
pub mod speaker_config;
mod startup_code;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp::speaker::{SpeakerHandle, SpeakerOutputs};
use config::{Config, Effect};
use fib::{NetlinkFib, NetlinkFibConfig};
use tracing::{error, info, warn};

use crate::api;
use crate::kernel::{self, KernelHandle, KernelSettings};

/// Router-wide settings a reload applies: the graceful restart and hostname
/// capabilities go into the next OPEN of each session, the sweep settings
/// matter only at start or shutdown, the socket mode is set again, and the
/// stale time and kernel imports are handed to the running tasks.
const APPLIED_BY_RELOAD: &[&str] = &[
    "router.hostname",
    "graceful_restart.enabled",
    "graceful_restart.restart_time",
    "graceful_restart.notification",
    "graceful_restart.stale_time",
    "graceful_restart.selection_deferral_time",
    "graceful_restart.long_lived_stale_time",
    "fib.keep_on_shutdown",
    "fib.sweep_delay",
    "import_kernel",
    "api.socket_mode",
];

/// What the control API and the signal handlers share.
pub struct Daemon {
    /// The speaker.
    pub speaker: SpeakerHandle,
    /// When the daemon started.
    pub started: Instant,
    /// The kernel synchronizer, when `[fib] enabled`.
    pub kernel: Option<KernelHandle>,
    config_path: PathBuf,
    config: tokio::sync::Mutex<Config>,
    /// The `[[import_kernel]]` watcher, replaced when its settings change.
    importer: tokio::sync::Mutex<Option<Importer>>,
}

/// A running `[[import_kernel]]` watcher and the task forwarding its
/// results to the speaker; both stop when dropped.
struct Importer {
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for Importer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts watching the kernel for `[[import_kernel]]` routes, if any are
/// configured; the speaker advertises them as this host's own.
fn start_importer(config: &Config, speaker: &SpeakerHandle) -> Result<Option<Importer>, String> {
    if config.import_kernel.is_empty() {
        return Ok(None);
    }
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let watcher =
        kernel::import::spawn_importer(kernel::import::ImportFilter::from_config(config), sender)
            .map_err(|error| format!("[[import_kernel]]: cannot watch kernel routes: {error}"))?;
    let speaker = speaker.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(prefixes) = receiver.recv().await {
            if speaker.set_imported(prefixes).await.is_err() {
                return;
            }
        }
    });
    Ok(Some(Importer {
        tasks: [watcher, forwarder],
    }))
}

/// Why a reload was refused. The running configuration stays as it was.
#[derive(Debug)]
pub enum ReloadError {
    /// The file has errors, one line each with file:line:column.
    Invalid(Vec<String>),
    /// Keys that only a restart can change (router identity, kernel ownership).
    NeedsRestart(Vec<String>),
    /// The speaker is gone.
    Stopped,
}

impl Daemon {
    /// A copy of the running configuration.
    pub async fn config(&self) -> Config {
        self.config.lock().await.clone()
    }

    /// Re-reads the configuration file and applies what changed, resetting
    /// only sessions whose own settings changed. Returns one line per change.
    pub async fn reload(&self) -> Result<Vec<String>, ReloadError> {
        let outcome = self.apply_reload().await;
        // Loading and validating ran start-up code again, whatever the outcome.
        release_startup_code_soon();
        outcome
    }

    async fn apply_reload(&self) -> Result<Vec<String>, ReloadError> {
        let new = config::load(&self.config_path).map_err(|errors| {
            ReloadError::Invalid(errors.errors.iter().map(ToString::to_string).collect())
        })?;
        let mut current = self.config.lock().await;
        let diff = Config::diff(&current, &new);
        // What a running daemon applies: these settings (the others that
        // changed need a restart, whatever the config crate's Effect says
        // they could be) plus neighbors, listen ranges, policies and prefixes.
        let restart: Vec<String> = diff
            .settings
            .iter()
            .filter(|change| {
                change.effect == Effect::Restart
                    || !APPLIED_BY_RELOAD.contains(&change.key.as_str())
            })
            .map(|change| change.key.clone())
            .collect();
        if !restart.is_empty() {
            return Err(ReloadError::NeedsRestart(restart));
        }
        warn_unimplemented(&new);
        let mut speaker_settings = speaker_config::speaker_config(&new);
        speaker_settings.host_addresses = host_addresses().await;
        let mut changes: Vec<String> = diff.to_string().lines().map(str::to_owned).collect();
        let applied = self
            .speaker
            .reconfigure(speaker_settings)
            .await
            .map_err(|_| ReloadError::Stopped)?;
        // The diff already names every change; the speaker adds which
        // sessions it had to reset for them.
        changes.extend(
            applied
                .into_iter()
                .filter(|line| line.contains("reset") || line.contains("refresh")),
        );
        if let Some(kernel) = &self.kernel {
            let originated = KernelSettings::from_config(&new).originated;
            if kernel.set_originated(originated).await.is_err() {
                warn!("the kernel synchronizer has stopped; originated blackholes not updated");
            }
        }
        let import_changed = current.import_kernel != new.import_kernel
            || current.originate != new.originate
            || current.fib.protocol != new.fib.protocol;
        if import_changed {
            let mut importer = self.importer.lock().await;
            *importer = None;
            match start_importer(&new, &self.speaker) {
                Ok(started) => *importer = started,
                Err(message) => warn!("{message}"),
            }
            changes.push(match (&*importer, new.import_kernel.is_empty()) {
                (Some(_), _) => {
                    "[[import_kernel]]: watching the kernel with the new settings".into()
                }
                (None, true) => "[[import_kernel]]: no longer importing kernel routes".into(),
                (None, false) => "[[import_kernel]]: could not start; see the log".into(),
            });
            if new.import_kernel.is_empty() {
                let _ = self.speaker.set_imported(Default::default()).await;
            }
        }
        if current.api.socket_mode != new.api.socket_mode {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(new.api.socket_mode);
            if let Err(error) = std::fs::set_permissions(&new.api.socket, mode) {
                warn!(%error, "could not set the control socket's new mode");
            }
        }
        *current = new;
        Ok(changes)
    }
}

/// Settings the configuration accepts but this version does not act on yet;
/// saying so beats silently ignoring them.
fn warn_unimplemented(config: &Config) {
    if config.graceful_restart.long_lived_stale_time.is_some() {
        warn!(
            "[graceful_restart] long_lived_stale_time is not implemented yet (RFC 9494): ignored"
        );
    }
}

/// This host's interface addresses, for next hops of the other family on a
/// session's interface; empty (with a warning) when netlink cannot list them.
async fn host_addresses() -> Vec<bgp::speaker::HostAddress> {
    let listed = match NetlinkFib::new(NetlinkFibConfig::default()) {
        Ok(fib) => fib
            .interface_addresses()
            .await
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match listed {
        Ok(addresses) => addresses
            .into_iter()
            .map(|entry| bgp::speaker::HostAddress {
                interface: entry.interface,
                address: entry.address,
                global: entry.global,
            })
            .collect(),
        Err(error) => {
            warn!(%error, "cannot list interface addresses: next hops of the other family need next_hop_ipv4/next_hop_ipv6");
            Vec::new()
        }
    }
}

/// The families of our routes still in the kernel when graceful restart is
/// on: the sign that this start is a restart with forwarding kept.
async fn restarted_with_routes(
    config: &Config,
) -> Option<std::collections::BTreeSet<bgp::wire::Family>> {
    if !config.graceful_restart.enabled || !config.fib.enabled {
        return None;
    }
    let fib = NetlinkFib::new(NetlinkFibConfig {
        table: config.fib.table,
        protocol: config.fib.protocol,
        ..NetlinkFibConfig::default()
    })
    .ok()?;
    // A read-only dump: `list_owned` would also bring routes and nexthop
    // objects into this FIB's form, which is the synchronizer's business.
    let config = fib.config();
    let routes = fib.snapshot(Some(config.table)).await.ok()?;
    let families: std::collections::BTreeSet<bgp::wire::Family> = routes
        .iter()
        .filter(|route| config.owns(route) && route.route_type == fib::KernelRouteType::Unicast)
        .map(|route| {
            if route.prefix.is_ipv4() {
                bgp::wire::Family::IPV4_UNICAST
            } else {
                bgp::wire::Family::IPV6_UNICAST
            }
        })
        .collect();
    (!families.is_empty()).then_some(families)
}

/// Drops what only starting needed from memory: the start-up tier of code
/// and the code no tier lists, the executable's read-only data (see
/// [`startup_code`]), and the heap pages the start's allocations left free.
/// Called after the configuration is read, before the speaker listens,
/// once the tasks started have had their first turn and a second later
/// ([`release_startup_code_after_start`]), and after reloads
/// ([`release_startup_code_soon`]).
fn release_startup_code() {
    let started = Instant::now();
    let released = startup_code::release();
    let trimmed = allocator::trim();
    tracing::debug!(
        released_kib = released / 1024,
        heap_trimmed = trimmed,
        took_us = started.elapsed().as_micros(),
        "start-up code, read-only data and free heap pages released from memory"
    );
}

/// Releases the start-up code once a reload has settled: the reply to it
/// still runs some of that code for a moment.
fn release_startup_code_soon() {
    release_startup_code_later(startup_code::settle(), None);
}

/// Releases the start-up code as soon as the tasks spawned at the start
/// have had their first turn, and again a second later for whatever ran
/// some of it since (the kernel synchronizer's first dumps of a large
/// table, say).
///
/// Peers connect the moment the speaker listens, and a route reflector's
/// clients have exchanged their tables within milliseconds: released only
/// a second after the start, the start's code was still resident when the
/// sessions' own memory came in, and the sum was the daemon's peak.
fn release_startup_code_after_start() {
    let (first, second) = startup_code::settle_after_start();
    release_startup_code_later(first, second);
}

/// Releases the start-up code after `first`, and again `second` after that.
/// One task for the start and for reloads alike: the code that runs it is
/// then the idle daemon's (it runs once the daemon is up), not code that
/// only a reload runs, which lies in the start-up tier and would fault its
/// pages back in the moment it returned from releasing them.
fn release_startup_code_later(first: Duration, second: Option<Duration>) {
    tokio::spawn(async move {
        tokio::time::sleep(first).await;
        release_startup_code();
        if let Some(second) = second {
            tokio::time::sleep(second).await;
            release_startup_code();
        }
    });
}

/// Runs the daemon until it is told to stop; returns the exit status.
pub fn run(config_path: &Path) -> ExitCode {
    // First, while this is the only thread: every thread started later
    // inherits the mask.
    let blocked_signals = match signals::block() {
        Ok(blocked) => blocked,
        Err(error) => {
            eprintln!("podroute: cannot block SIGHUP, SIGTERM and SIGINT for a signalfd: {error}");
            return ExitCode::from(1);
        }
    };
    let config = match config::load(config_path) {
        Ok(config) => config,
        Err(errors) => {
            for error in &errors.errors {
                eprintln!("{error}");
            }
            eprintln!(
                "podroute: {} error(s) in {}; not starting",
                errors.errors.len(),
                config_path.display()
            );
            return ExitCode::from(1);
        }
    };
    // Reading the command line and the configuration is the largest part
    // of the start's code and heap; released now, before the runtime, the
    // netlink dumps and the listeners fault in theirs, it does not add to
    // the start's peak (released again once the daemon is up).
    release_startup_code();
    // Before any thread starts, the log writer's included.
    let one_arena = allocator::limit_arenas();
    let descriptors = descriptors::reserve(&config);
    // Held until the daemon returns: dropping it writes the lines still queued.
    let _log_writer = match logging::init(&config.logging) {
        Ok(guard) => guard,
        Err(message) => {
            eprintln!("podroute: {message}");
            return ExitCode::from(1);
        }
    };
    if !one_arena {
        tracing::warn!("glibc refused M_ARENA_MAX=1; memory use may vary from run to run");
    }
    if descriptors.table == 0 {
        tracing::warn!(
            open_files_limit = descriptors.limit,
            "could not grow the descriptor table at start; accepting sessions may pause while it grows"
        );
    } else {
        tracing::debug!(
            entries = descriptors.table,
            open_files_limit = descriptors.limit,
            "descriptor table grown at start"
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("podroute: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(config_path, config, blocked_signals)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            error!("{message}");
            eprintln!("podroute: {message}");
            ExitCode::from(1)
        }
    }
}

async fn serve(
    config_path: &Path,
    config: Config,
    blocked_signals: signals::Blocked,
) -> Result<(), String> {
    // Bound first: a taken metrics port stops the start before anything
    // else (the control socket file included) exists.
    let metrics_listener = match config.api.metrics {
        Some(address) => Some(crate::metrics::bind(address).await?),
        None => None,
    };
    warn_unimplemented(&config);
    let socket_path = config.api.socket.clone();
    let listener = api::socket::bind(&socket_path, config.api.socket_mode)
        .await
        .map_err(|error| format!("control socket {}: {error}", socket_path.display()))?;
    let (fib_updates, fib_receiver) = tokio::sync::mpsc::unbounded_channel();
    let (converged, converged_receiver) = tokio::sync::oneshot::channel();
    let kernel = if config.fib.enabled {
        let settings = KernelSettings::from_config(&config);
        let fib = kernel::netlink::open_fib(&settings)
            .await
            .map_err(|error| format!("netlink: {error}"))?;
        let handle = kernel::spawn_netlink(fib, settings, fib_receiver)
            .map_err(|error| format!("watching kernel routes: {error}"))?;
        Some(handle)
    } else {
        None
    };
    let outputs = SpeakerOutputs {
        fib: kernel.is_some().then_some(fib_updates),
        fib_applied: kernel.as_ref().map(kernel::KernelHandle::applied),
        converged: Some(converged),
    };
    if let Some(kernel) = kernel.clone() {
        // Routes left from before a restart are swept once every neighbor
        // has re-sent its table (or the kernel task's own timer runs out).
        tokio::spawn(async move {
            if converged_receiver.await.is_ok() {
                let _ = kernel.end_of_rib_all().await;
            }
        });
    }
    let mut speaker_settings = speaker_config::speaker_config(&config);
    speaker_settings.host_addresses = host_addresses().await;
    if let Some(kept) = restarted_with_routes(&config).await {
        info!(
            families = ?kept,
            "our routes are still in the kernel: restarting gracefully (RFC 4724), advertising after End-of-RIB"
        );
        speaker_config::mark_restarting(&mut speaker_settings, &config, &kept);
    }
    // Peers connect as soon as the speaker listens: what the start ran so
    // far (the runtime, logging, the netlink dumps) leaves before their
    // sessions come up.
    release_startup_code();
    let (speaker, speaker_task) =
        bgp::speaker::spawn(speaker_settings, outputs).map_err(|error| error.to_string())?;
    info!(
        asn = config.router.asn,
        router_id = %config.router.router_id,
        neighbors = config.neighbors.len(),
        socket = %socket_path.display(),
        "podroute started"
    );
    let daemon = Arc::new(Daemon {
        speaker: speaker.clone(),
        started: Instant::now(),
        kernel: kernel.clone(),
        importer: tokio::sync::Mutex::new(start_importer(&config, &speaker)?),
        config_path: config_path.to_owned(),
        config: tokio::sync::Mutex::new(config),
    });
    let api_task = tokio::spawn(api::server::serve(listener, Arc::clone(&daemon)));
    if let Some(metrics_listener) = metrics_listener {
        tokio::spawn(crate::metrics::serve(metrics_listener, Arc::clone(&daemon)));
    }

    let mut signals = signals::Signals::new(blocked_signals)
        .map_err(|error| format!("signalfd: cannot register with the runtime: {error}"))?;
    // The tasks spawned above (the speaker's owner and listeners, the API's
    // and metrics' routers) still run start-up code on their first turn:
    // released once they have had it, and again a second later.
    release_startup_code_after_start();
    loop {
        let request = signals
            .next()
            .await
            .map_err(|error| format!("signalfd: {error}"))?;
        if request == signals::Request::Stop {
            break;
        }
        match daemon.reload().await {
            Ok(changes) => info!(
                changes = changes.len(),
                "configuration reloaded: {}",
                changes.join("; ")
            ),
            Err(ReloadError::Invalid(errors)) => warn!(
                "reload refused, the old configuration keeps running: {}",
                errors.join("; ")
            ),
            Err(ReloadError::NeedsRestart(keys)) => {
                warn!("reload refused: {} need a restart", keys.join(", "))
            }
            Err(ReloadError::Stopped) => return Err("the BGP speaker stopped".into()),
        }
    }
    let graceful = {
        let config = daemon.config().await;
        config.graceful_restart.enabled && (!config.fib.enabled || config.fib.keep_on_shutdown)
    };
    if graceful {
        info!(
            "stopping for a graceful restart: closing sessions without NOTIFICATION, keeping kernel routes"
        );
        let _ = speaker.stop_for_restart().await;
    } else {
        info!("stopping: sending Cease to every neighbor");
        let _ = speaker.stop(Some("podroute is shutting down".into())).await;
    }
    let _ = speaker_task.await;
    if let Some(kernel) = &kernel {
        let keep = daemon.config().await.fib.keep_on_shutdown;
        match kernel.shutdown(keep).await {
            Ok(report) => info!(
                ?report,
                keep,
                "kernel routes {}",
                if keep {
                    "kept for graceful restart"
                } else {
                    "removed"
                }
            ),
            Err(_) => warn!("the kernel synchronizer had already stopped"),
        }
    }
    api_task.abort();
    let _ = std::fs::remove_file(&socket_path);
    info!("stopped");
    Ok(())
}
