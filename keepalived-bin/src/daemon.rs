//! The VRRP child: `keepalived` re-executed by the parent (see [`crate::process`]) with the
//! hidden `--vrrp-child PARENT_PID` option.
//!
//! It parses the configuration, maps it onto the engine (`vrrp_config`), runs the Linux
//! driver's `Runner` and writes its pidfile (`-r`) once running. `SIGTERM` or `SIGINT`: orderly
//! stop (priority-0 advert, addresses and routes removed). `SIGHUP` re-reads the file and hands
//! the new configuration to the running engine; a configuration that does not parse or map is
//! refused and the old one keeps running. `SIGUSR1`, `SIGUSR2` and `SIGRTMIN+2` write the dumps
//! of [`crate::dump`]. The driver's journal (under `/run/keepalived-rs/`, named after the `-r`
//! pidfile) records what was installed, so a child started after a crash (a respawn, or a new
//! daemon after `kill -9`) removes addresses a dead predecessor left behind.
//!
//! The child asks to receive `SIGTERM` when its parent dies (`PR_SET_PDEATHSIG`), as
//! keepalived 2.x's children do: after `kill -9` of the parent alone the child stops in order
//! (priority 0, VIPs removed) instead of running on unsupervised, where a restarted daemon would
//! find it holding the VRRP pidfile.

use std::ffi::CStr;
use std::fs::File;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use vrrp_engine::action::Level;
use vrrp_engine::linux::{self, DriverError, DumpKind, DumpView, Exit, Hooks, Options, Runner};
use vrrp_engine::{EngineConfig, LogEvent, LogRecord, Notification, NotifyEvent, NotifyTarget};

use crate::dump::{self, Histories, Snapshot};
use crate::vrrp_config::{self, HostView};

/// Default parent pidfile (keepalived's compiled-in one).
pub(crate) const DEFAULT_PIDFILE: &str = "/var/run/keepalived.pid";
/// Default VRRP pidfile (keepalived's compiled-in one, not the man page's).
pub(crate) const DEFAULT_VRRP_PIDFILE: &str = "/var/run/vrrp.pid";
/// Default checker pidfile (keepalived's compiled-in one).
pub(crate) const DEFAULT_CHECKERS_PIDFILE: &str = "/var/run/checkers.pid";
/// Where journals live.
const JOURNAL_DIR: &str = "/run/keepalived-rs";

/// What the daemon was asked to do, with every path absolute (the daemon changes directory to
/// `/` when it goes to the background, and its children get these paths).
#[derive(Clone, Debug)]
#[allow(clippy::struct_excessive_bools)] // one bool per command-line flag
pub(crate) struct DaemonArgs {
    pub config: PathBuf,
    pub config_id: Option<String>,
    pub log_console: bool,
    pub log_detail: bool,
    /// `-S` as given (passed on to the child).
    pub facility_arg: Option<String>,
    pub facility: libc::c_int,
    /// `-G`: not to syslog.
    pub no_syslog: bool,
    /// `-g`: also log to this file (the VRRP child to the same name with `_vrrp` added).
    pub log_file: Option<PathBuf>,
    /// `-d`: log the configuration as parsed at start.
    pub dump_conf: bool,
    pub pidfile: PathBuf,
    pub vrrp_pidfile: PathBuf,
    pub checkers_pidfile: PathBuf,
    /// `-n`.
    pub dont_fork: bool,
    /// `-R`.
    pub dont_respawn: bool,
    /// `-P`: VRRP only, asked for explicitly.
    pub vrrp_only: bool,
}

/// Where log lines go: the console (`-l`), a file (`-g`) and syslog (unless `-G`).
#[derive(Clone, Debug)]
pub(crate) struct Logger {
    console: bool,
    detail: bool,
    syslog: bool,
    file: Option<Arc<File>>,
}

impl Logger {
    /// Opens syslog as `ident` (unless `-G`); with `file`, appends every line there too.
    pub(crate) fn new(ident: &'static CStr, args: &DaemonArgs, file: Option<&Path>) -> Logger {
        if !args.no_syslog {
            crate::syslog::open(ident, args.facility);
        }
        let mut log = Logger {
            console: args.log_console,
            detail: args.log_detail,
            syslog: !args.no_syslog,
            file: None,
        };
        if let Some(path) = file {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(f) => log.file = Some(Arc::new(f)),
                Err(e) => log.warn(&format!("cannot open log file {}: {e}", path.display())),
            }
        }
        log
    }

    fn line(&self, priority: libc::c_int, message: &str) {
        if self.console || self.file.is_some() {
            // One write per line and target (`writeln!` on an unbuffered writer makes one per
            // piece: four system calls a line).
            let line = format!("{}: {message}\n", timestamp());
            if self.console {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
            if let Some(f) = &self.file {
                let _ = (&**f).write_all(line.as_bytes());
            }
        }
        if self.syslog {
            crate::syslog::send(priority, message);
        }
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
    /// An error that stops the start: logged, and on standard error too when the console is
    /// not already a log target (before going to the background, that is the terminal).
    pub(crate) fn fatal(&self, message: &str) {
        self.error(message);
        if !self.console {
            eprintln!("keepalived-rs: {message}");
        }
    }
}

/// The VRRP child's log file for `-g FILE`: `FILE` with `_vrrp` before its extension
/// (`/tmp/keepalived.log` -> `/tmp/keepalived_vrrp.log`), as keepalived names its children's.
pub(crate) fn child_log_file(parent: &Path) -> PathBuf {
    let stem = parent
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match parent.extension() {
        Some(ext) => format!("{stem}_vrrp.{}", ext.to_string_lossy()),
        None => format!("{stem}_vrrp"),
    };
    parent.with_file_name(name)
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

/// Parses the configuration. `Err(exit status)` (after logging why) when it cannot be read (4)
/// or has errors (5).
fn parse(args: &DaemonArgs, log: &Logger, quiet: bool) -> Result<confparse::Parsed, u8> {
    let host = confparse::LocalHost::snapshot();
    let opts = confparse::Options {
        config_id: args.config_id.as_deref(),
        host: &host,
    };
    let parsed = match confparse::parse_file(&args.config, &opts) {
        Ok(p) => p,
        Err(e) => {
            log.fatal(&e.to_string());
            return Err(crate::EXIT_FATAL);
        }
    };
    if parsed.has_errors() {
        for line in parsed.render().lines().filter(|l| !l.trim().is_empty()) {
            log.error(line);
        }
        log.fatal(&format!(
            "{}: configuration has errors; not using it (see `keepalived -t`)",
            args.config.display()
        ));
        return Err(crate::EXIT_CONFIG);
    }
    if !quiet {
        for line in parsed.render().lines().filter(|l| !l.trim().is_empty()) {
            log.warn(line);
        }
    }
    Ok(parsed)
}

/// The parent's look at the configuration before it starts anything (keepalived 2.x's parent
/// reads it too, to know which children to start): `Err(exit status)` when it is unusable.
/// Warnings are left to the child, which logs them once.
pub(crate) fn precheck(args: &DaemonArgs, log: &Logger) -> Result<(), u8> {
    let parsed = parse(args, log, true)?;
    let servers = parsed.config.virtual_servers.len();
    if servers > 0 && !args.vrrp_only {
        log.warn(&format!(
            "{servers} virtual_server block(s) are NOT acted on: the health checker is not \
             implemented yet, so no checker process is started (run with -P to say that only \
             VRRP is wanted)"
        ));
    }
    Ok(())
}

/// Parses and maps the configuration, logging every finding. `None` when it cannot be run.
fn load(args: &DaemonArgs, log: &Logger) -> Option<EngineConfig> {
    let parsed = parse(args, log, false).ok()?;
    if args.dump_conf {
        for line in confparse::to_conf(&parsed.config).lines() {
            log.info(&format!("config: {line}"));
        }
    }
    match vrrp_config::map(&parsed.config, &KernelView::snapshot()) {
        Ok(m) => {
            crate::realtime::apply(&parsed.config.global.extra, log);
            for w in &m.warnings {
                log.warn(&w.render(&parsed.sources));
            }
            if m.config.instances.is_empty() {
                log.warn("no vrrp_instance configured");
            }
            // The engine's own checks before the notify configuration changes: a reload the
            // driver refuses must not leave the notifier on the refused file's scripts.
            if let Err(e) = m.config.validate() {
                log.error(&format!("configuration refused: {e}"));
                return None;
            }
            crate::notify::configure(m.alerts, m.config.instances.iter().map(|i| &*i.name), log);
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
    /// By instance name (the engine's shared name: no copy per instance).
    history: Histories,
}

impl Hooks for DaemonHooks {
    fn notify(&mut self, n: &Notification) {
        let last = match n.target {
            NotifyTarget::Instance(_) => self.history.get(&n.name).and_then(|h| h.state),
            NotifyTarget::Group(_) => None,
        };
        crate::notify::notify(n, last);
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
        if let (NotifyTarget::Instance(_), NotifyEvent::State(s)) = (&n.target, n.event) {
            let h = self.history.entry(&n.name);
            if h.state == Some(vrrp_engine::State::Master) && s != vrrp_engine::State::Master {
                h.released_master = h.released_master.wrapping_add(1);
            }
            h.state = Some(s);
            h.set_last_transition(SystemTime::now());
        }
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
    fn dump(&mut self, kind: DumpKind, view: &DumpView<'_>) {
        let interface = |id| {
            let name = view.interface_name(id)?;
            Some((name.to_owned(), view.interface_up(id).unwrap_or(false)))
        };
        let snap = Snapshot {
            engine: view.engine(),
            interface: &interface,
            history: &self.history,
        };
        match dump::write(kind, &snap, &dump::directory()) {
            Ok(path) => self.log.info(&format!("Wrote {}", path.display())),
            Err(e) => self.log.error(&format!(
                "cannot write {} in {}: {e}",
                dump::file_name(kind),
                dump::directory().display()
            )),
        }
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

/// Whether the journal at `path` records nothing (an unreadable one is kept: it may list what
/// the next start must remove).
fn journal_is_empty(path: &Path) -> bool {
    vrrp_engine::linux::journal::Journal::new(path)
        .read()
        .is_ok_and(|entries| entries.is_empty())
}

/// Whether process `pid` exists and is not a zombie (a killed process whose parent has not
/// reaped it yet, as a VRRP child is for a moment after `kill -9` of the whole daemon).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": the state follows the last ')' (comm may contain one).
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

/// Whether process `pid` runs the same program as we do (its command name is ours): after a
/// crash, the pid of a stale pidfile may belong to an unrelated process by now.
fn same_program(pid: u32) -> bool {
    let comm = |p: &str| std::fs::read_to_string(format!("/proc/{p}/comm")).ok();
    comm(&pid.to_string()).is_some_and(|c| Some(c) == comm("self"))
}

/// Whether the pid in `path` is a live process of ours other than us (a stale pidfile, or one
/// whose pid now belongs to another program, is removed).
pub(crate) fn running(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    if pid != std::process::id() && alive(pid) && same_program(pid) {
        Some(pid)
    } else {
        let _ = std::fs::remove_file(path);
        None
    }
}

/// Writes our pid to `path` (a failure is logged: the daemon runs without it).
pub(crate) fn write_pidfile(path: &Path, log: &Logger) {
    if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
        log.warn(&format!("cannot write pidfile {}: {e}", path.display()));
    }
}

/// Removes `path` if it still names this process (a successor may own it already).
pub(crate) fn remove_own_pidfile(path: &Path) {
    let mine = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
        == Some(std::process::id());
    if mine {
        let _ = std::fs::remove_file(path);
    }
}

/// The VRRP child: runs until stopped; returns the process exit status (0 after an orderly
/// stop, 4 when the driver cannot start or fails, 5 when the configuration is unusable: the
/// parent does not respawn a child that ended with 4 or 5).
pub(crate) fn run_vrrp(args: &DaemonArgs, parent: u32) -> u8 {
    let log_file = args.log_file.as_deref().map(child_log_file);
    let log = Logger::new(crate::syslog::VRRP, args, log_file.as_deref());
    // Ask for SIGTERM (blocked since main(), so it waits for the loop) when the parent dies,
    // then check that it has not died already, before the request was made.
    if let Err(e) = crate::posix::parent_death_signal(libc::SIGTERM) {
        log.warn(&format!("cannot ask to be stopped with the parent: {e}"));
    }
    if std::os::unix::process::parent_id() != parent {
        log.error("the parent process is gone; not starting");
        return 0;
    }
    log.info(&format!(
        "Starting VRRP child process, keepalived-rs v{}",
        env!("CARGO_PKG_VERSION")
    ));
    let Some(config) = load(args, &log) else {
        return crate::EXIT_CONFIG;
    };
    if let Err(e) = std::fs::create_dir_all(JOURNAL_DIR) {
        log.error(&format!("cannot create {JOURNAL_DIR}: {e}"));
        return crate::EXIT_FATAL;
    }
    let journal = journal_path(&args.vrrp_pidfile);
    let options = Options {
        handle_signals: true,
        journal: Some(journal.clone()),
    };
    let hooks = Box::new(DaemonHooks {
        args: args.clone(),
        log: log.clone(),
        history: Histories::default(),
    });
    let runner = match Runner::new(config, hooks, options) {
        Ok(r) => r,
        Err(e) => {
            log.error(&format!("cannot start the VRRP driver: {e}"));
            return crate::EXIT_FATAL;
        }
    };
    write_pidfile(&args.vrrp_pidfile, &log);
    let result = runner.run();
    remove_own_pidfile(&args.vrrp_pidfile);
    exit_status(result, &journal, &log)
}

/// The VRRP child's exit status once its driver ran: 0 after an orderly stop; a failure while
/// running is a crash to respawn from ([`crate::EXIT_RUNTIME`]), not a start that cannot work
/// (4 or 5 stop the parent for good).
fn exit_status(result: Result<Exit, DriverError>, journal: &Path, log: &Logger) -> u8 {
    match result {
        Ok(exit) => {
            // After an orderly stop the journal lists only what could not be removed (a
            // failed removal): kept for the next start, else nothing is left to clean up.
            if exit == Exit::Shutdown && journal_is_empty(journal) {
                let _ = std::fs::remove_file(journal);
            }
            log.info("Stopped");
            0
        }
        Err(e) => {
            log.error(&format!("VRRP driver failed: {e}"));
            crate::EXIT_RUNTIME
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_pidfile_naming_another_program_is_stale() {
        let mut other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("kars-pidfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keepalived.pid");
        std::fs::write(&path, format!("{}\n", other.id())).unwrap();
        let found = running(&path);
        let removed = !path.exists();
        let _ = other.kill();
        let _ = other.wait();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(same_program(std::process::id()));
        assert_eq!(found, None, "a reused pid made us think a daemon runs");
        assert!(removed, "the stale pidfile stayed");
    }

    #[test]
    fn liveness() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
    }

    #[test]
    fn child_log_file_names() {
        assert_eq!(
            child_log_file(Path::new("/tmp/keepalived.log")),
            Path::new("/tmp/keepalived_vrrp.log")
        );
        assert_eq!(
            child_log_file(Path::new("/var/log/ka")),
            Path::new("/var/log/ka_vrrp")
        );
    }

    #[test]
    fn a_driver_failing_while_running_is_respawned() {
        let log = Logger {
            console: false,
            detail: false,
            syslog: false,
            file: None,
        };
        let journal = Path::new("/nonexistent-kars-dir/j");
        let failed = Err(DriverError::Loop(scheduler::Error::Panicked {
            task: "vrrp".to_owned(),
            message: "boom".to_owned(),
        }));
        let status = exit_status(failed, journal, &log);
        assert!(
            ![crate::EXIT_FATAL, crate::EXIT_CONFIG, 0].contains(&status),
            "status {status} would stop the parent or look clean"
        );
        assert_eq!(exit_status(Ok(Exit::Shutdown), journal, &log), 0);
    }

    #[test]
    fn a_journal_listing_something_is_not_empty() {
        use vrrp_engine::linux::journal::{Entry, Journal};
        let dir = std::env::temp_dir().join(format!("kars-journal-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("j");
        assert!(journal_is_empty(&path), "no file: nothing to clean up");
        let j = Journal::new(&path);
        j.write(&[Entry::Link("vrrp.9".to_owned())]).unwrap();
        assert!(
            !journal_is_empty(&path),
            "a VMAC left behind must stay recorded"
        );
        j.write(&[]).unwrap();
        assert!(journal_is_empty(&path));
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
