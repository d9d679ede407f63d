//! Running the VRRP side: `keepalived -n -f FILE [-l] [-D] [-P] [-p FILE] [-r FILE]`.
//!
//! One process (no parent/child pair yet) parses the configuration, maps it onto the engine
//! (`vrrp_config`), writes its pidfiles and runs the Linux driver's `Runner` until `SIGTERM` or
//! `SIGINT` (orderly stop: priority-0 advert, addresses and routes removed). `SIGHUP` re-reads
//! the file and hands the new configuration to the running engine; a configuration that does
//! not parse or map is refused and the old one keeps running. The driver's journal (under
//! `/run/keepalived-rs/`) records what was installed, so a restart after `kill -9` removes
//! addresses a crashed predecessor left behind.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use vrrp_engine::action::Level;
use vrrp_engine::linux::{self, Exit, Hooks, Options, Runner};
use vrrp_engine::{EngineConfig, LogEvent, LogRecord, Notification, NotifyEvent, NotifyTarget};

use crate::vrrp_config::{self, HostView};

/// Default parent pidfile (keepalived's compiled-in one).
const DEFAULT_PIDFILE: &str = "/var/run/keepalived.pid";
/// Default VRRP pidfile (keepalived's compiled-in one, not the man page's).
const DEFAULT_VRRP_PIDFILE: &str = "/var/run/vrrp.pid";
/// Where journals live.
const JOURNAL_DIR: &str = "/run/keepalived-rs";

/// What the daemon was asked to do.
#[derive(Clone, Debug)]
pub(crate) struct DaemonArgs {
    pub config: PathBuf,
    pub config_id: Option<String>,
    pub log_console: bool,
    pub log_detail: bool,
    pub facility: libc::c_int,
    pub pidfile: Option<PathBuf>,
    pub vrrp_pidfile: Option<PathBuf>,
}

/// Where log lines go: the console (`-l`) and/or syslog.
#[derive(Clone, Debug)]
pub(crate) struct Logger {
    console: bool,
    detail: bool,
}

impl Logger {
    pub(crate) fn new(console: bool, detail: bool, facility: libc::c_int) -> Logger {
        crate::syslog::open(facility);
        Logger { console, detail }
    }

    fn line(&self, priority: libc::c_int, message: &str) {
        if self.console {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}: {message}", timestamp());
        }
        crate::syslog::send(priority, message);
    }
    pub(crate) fn info(&self, message: &str) {
        self.line(libc::LOG_INFO, message);
    }
    pub(crate) fn warn(&self, message: &str) {
        self.line(libc::LOG_WARNING, message);
    }
    pub(crate) fn error(&self, message: &str) {
        self.line(libc::LOG_ERR, message);
    }
}

/// `HH:MM:SS.mmm` (UTC) for console lines.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let s = now.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        now.subsec_millis()
    )
}

/// The running kernel, through rtnetlink.
struct KernelView {
    addresses: Vec<(u32, IpAddr)>,
}

impl KernelView {
    fn snapshot() -> KernelView {
        let addresses = linux::netlink::Rtnl::new()
            .and_then(|mut r| r.addresses())
            .map(|v| v.into_iter().map(|(i, a)| (i.0, a)).collect())
            .unwrap_or_default();
        KernelView { addresses }
    }
}

impl HostView for KernelView {
    fn if_index(&self, name: &str) -> Option<u32> {
        linux::if_index(name).ok()
    }
    fn source_addresses(&self, ifindex: u32, ipv6: bool) -> Vec<IpAddr> {
        self.addresses
            .iter()
            .filter(|(i, _)| *i == ifindex)
            .map(|(_, a)| *a)
            .filter(|a| match a {
                IpAddr::V4(_) => !ipv6,
                IpAddr::V6(v6) => ipv6 && v6.is_unicast_link_local(),
            })
            .collect()
    }
}

/// Parses and maps the configuration, logging every finding. `None` when it cannot be run.
fn load(args: &DaemonArgs, log: &Logger) -> Option<EngineConfig> {
    let host = confparse::LocalHost::snapshot();
    let opts = confparse::Options {
        config_id: args.config_id.as_deref(),
        host: &host,
    };
    let parsed = match confparse::parse_file(&args.config, &opts) {
        Ok(p) => p,
        Err(e) => {
            log.error(&e.to_string());
            return None;
        }
    };
    for line in parsed.render().lines().filter(|l| !l.trim().is_empty()) {
        log.warn(line);
    }
    if parsed.has_errors() {
        log.error(&format!(
            "{}: configuration has errors; not using it (see `keepalived -t`)",
            args.config.display()
        ));
        return None;
    }
    match vrrp_config::map(&parsed.config, &KernelView::snapshot()) {
        Ok(m) => {
            for w in &m.warnings {
                log.warn(&w.render(&parsed.sources));
            }
            if m.config.instances.is_empty() {
                log.warn("no vrrp_instance configured");
            }
            crate::notify::configure(m.alerts, log);
            Some(m.config)
        }
        Err(e) => {
            let w = vrrp_config::Warning {
                span: e.span,
                message: e.message,
            };
            log.error(&w.render(&parsed.sources));
            None
        }
    }
}

struct DaemonHooks {
    args: DaemonArgs,
    log: Logger,
}

impl Hooks for DaemonHooks {
    fn notify(&mut self, n: &Notification) {
        crate::notify::notify(n);
        let what = match n.event {
            NotifyEvent::State(s) => format!("Entering {s} STATE"),
            NotifyEvent::Priority => format!("priority is now {}", n.priority.0),
            NotifyEvent::MasterRxLowerPriority => "master received lower priority".to_owned(),
            NotifyEvent::Deleted => "removed by reload".to_owned(),
            _ => format!("{:?}", n.event),
        };
        let kind = match n.target {
            NotifyTarget::Instance(_) => "",
            NotifyTarget::Group(_) => "sync group ",
        };
        self.log.info(&format!("({kind}{}) {what}", n.name));
    }
    fn log(&mut self, record: &LogRecord) {
        // State entries are logged once, from the notification (keepalived's wording).
        if matches!(record.event, LogEvent::Entered(_)) {
            return;
        }
        match record.level {
            Level::Warning => self.log.warn(&record.to_string()),
            Level::Info => self.log.info(&record.to_string()),
            Level::Debug if self.log.detail => self.log.info(&record.to_string()),
            Level::Debug => {}
        }
    }
    fn reload(&mut self) -> Option<EngineConfig> {
        self.log.info("Reloading: re-reading the configuration");
        let c = load(&self.args, &self.log);
        if c.is_none() {
            self.log
                .error("Reload refused: keeping the running configuration");
        }
        c
    }
    fn warning(&mut self, message: &str) {
        self.log.warn(message);
    }
}

/// The journal for this daemon: one per VRRP pidfile, so that several daemons on one host (in
/// different network namespaces) keep separate journals.
fn journal_path(vrrp_pidfile: &Path) -> PathBuf {
    if vrrp_pidfile == Path::new(DEFAULT_VRRP_PIDFILE) {
        return Path::new(JOURNAL_DIR).join("vrrp.journal");
    }
    let flat: String = vrrp_pidfile
        .to_string_lossy()
        .trim_start_matches('/')
        .chars()
        .map(|c| if c == '/' { '_' } else { c })
        .collect();
    Path::new(JOURNAL_DIR).join(format!("{flat}.journal"))
}

/// Whether the pid in `path` is a live process (a stale pidfile is removed).
fn running(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() {
        Some(pid)
    } else {
        let _ = std::fs::remove_file(path);
        None
    }
}

/// Runs until stopped; returns the process exit status.
pub(crate) fn run(args: &DaemonArgs) -> u8 {
    let log = Logger::new(args.log_console, args.log_detail, args.facility);
    let pidfile = args
        .pidfile
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PIDFILE));
    let vrrp_pidfile = args
        .vrrp_pidfile
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_VRRP_PIDFILE));
    for p in [&pidfile, &vrrp_pidfile] {
        if let Some(pid) = running(p) {
            log.error(&format!(
                "daemon is already running (pid {pid} in {})",
                p.display()
            ));
            return crate::EXIT_FATAL;
        }
    }
    log.info(&format!(
        "Starting keepalived-rs v{} (VRRP only)",
        env!("CARGO_PKG_VERSION")
    ));
    let Some(config) = load(args, &log) else {
        return crate::EXIT_CONFIG;
    };
    if let Err(e) = std::fs::create_dir_all(JOURNAL_DIR) {
        log.error(&format!("cannot create {JOURNAL_DIR}: {e}"));
        return crate::EXIT_FATAL;
    }
    let journal = journal_path(&vrrp_pidfile);
    let options = Options {
        handle_signals: true,
        journal: Some(journal.clone()),
    };
    let hooks = Box::new(DaemonHooks {
        args: args.clone(),
        log: log.clone(),
    });
    let runner = match Runner::new(config, hooks, options) {
        Ok(r) => r,
        Err(e) => {
            log.error(&format!("cannot start the VRRP driver: {e}"));
            return crate::EXIT_FATAL;
        }
    };
    let pid = std::process::id().to_string();
    for p in [&pidfile, &vrrp_pidfile] {
        if let Err(e) = std::fs::write(p, format!("{pid}\n")) {
            log.warn(&format!("cannot write pidfile {}: {e}", p.display()));
        }
    }
    let result = runner.run();
    for p in [&pidfile, &vrrp_pidfile] {
        let _ = std::fs::remove_file(p);
    }
    match result {
        Ok(exit) => {
            if exit == Exit::Shutdown {
                // Everything it recorded was removed: nothing for a successor to clean up.
                let _ = std::fs::remove_file(&journal);
            }
            log.info("Stopped");
            0
        }
        Err(e) => {
            log.error(&format!("VRRP driver failed: {e}"));
            crate::EXIT_FATAL
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_names_follow_the_vrrp_pidfile() {
        assert_eq!(
            journal_path(Path::new(DEFAULT_VRRP_PIDFILE)),
            Path::new("/run/keepalived-rs/vrrp.journal")
        );
        assert_eq!(
            journal_path(Path::new("/run/ns1/vrrp.pid")),
            Path::new("/run/keepalived-rs/run_ns1_vrrp.pid.journal")
        );
    }
}
