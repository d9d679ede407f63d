//! The `keepalived` command of keepalived-rs.
//!
//! It takes keepalived's command-line options (the 1.2.13 letters plus the modern `-t`, `-i`,
//! `-g`, `-G`, `--signum`), so that service files and scripts written for keepalived keep working.
//!
//! * `keepalived -t [-f FILE]` reads the configuration, prints every finding with
//!   `file:line:column`, the source line and a hint, and exits like keepalived 2.x: 0 when the
//!   configuration is clean, 4 when it cannot be read, 5 when there are errors or warnings.
//!   With `-d` it also prints the configuration as parsed, in canonical form.
//! * `keepalived [-n] [-P] [-l] [-D] [-S FACILITY] [-g[=FILE]] [-R] [-f FILE] [-p FILE]
//!   [-r FILE]` runs the daemon with keepalived's process model ([`process`]): a parent that
//!   supervises a VRRP child ([`daemon`]), respawning it when it dies (not with `-R`) and
//!   forwarding `SIGHUP`, `SIGTERM`/`SIGINT`, `SIGUSR1`, `SIGUSR2` and `SIGRTMIN+2` to it.
//!   Without `-n` the parent first forks into the background (new session, `/` as working
//!   directory, standard streams on `/dev/null`); the command returns once the daemon has
//!   written its pidfile. The health checker does not exist yet: `-C` alone is refused (exit
//!   4), and `virtual_server` blocks are reported as not acted on.
//! * `keepalived --signum=NAME` prints the number of the signal for `STOP`, `RELOAD`, `DATA`,
//!   `STATS` or `JSON`, as keepalived 2.x does.
//!
//! A configuration with errors is refused before anything starts (exit 5).
//!
//! ## Inside the daemon
//!
//! * [`process`]: the parent (respawn with backoff, signal forwarding, bounded stop);
//!   [`posix`]: the few system calls it needs that `std` lacks (all its `unsafe`).
//! * [`daemon`]: the VRRP child: loads the configuration ([`vrrp_config`] maps confparse's
//!   model onto the engine's), runs `vrrp_engine::linux::Runner` with a journal under
//!   `/run/keepalived-rs` (what a crashed run left is removed at the next start), pidfiles and
//!   logging ([`syslog`], console, `-g` file).
//! * [`notify`]: notify scripts and FIFOs on a thread of their own (the VRRP loop never waits
//!   for them); [`script`]: script users and `enable_script_security`; [`mailer`]: e-mail
//!   alerts, handed to the `keepalived-smtp` program (src/smtp.rs).
//! * [`dump`]: `SIGUSR1`, `SIGUSR2` and `SIGRTMIN+2` dumps (keepalived-behaviour.md §7.7).
//!
//! Not done yet: the health checker (IPVS, `virtual_server`), SNMP and D-Bus.

mod daemon;
mod dump;
mod mail;
mod mailer;
mod notify;
mod posix;
mod process;
mod realtime;
mod script;
mod syslog;
mod vrrp_config;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

/// Exit status: the configuration is clean.
const EXIT_OK: u8 = 0;
/// Exit status: the configuration cannot be used at all (e.g. the file cannot be read).
const EXIT_FATAL: u8 = 4;
/// Exit status: the configuration has errors or warnings.
const EXIT_CONFIG: u8 = 5;
/// Exit status of a VRRP child whose running driver failed (a handler panicked, the event
/// loop broke): unlike 4 and 5, the parent respawns it, as keepalived respawns a crashed child.
const EXIT_RUNTIME: u8 = 1;

/// keepalived-rs: VRRP and IPVS health checking, a drop-in for keepalived.
#[derive(Debug, Parser)]
#[command(name = "keepalived", version, disable_version_flag = true)]
#[allow(clippy::struct_excessive_bools)] // one bool per command-line flag
struct Cli {
    /// Configuration file (a glob pattern is expanded, like keepalived does).
    #[arg(
        short = 'f',
        long = "use-file",
        value_name = "FILE",
        default_value = "/etc/keepalived/keepalived.conf"
    )]
    use_file: PathBuf,
    /// Only run the VRRP subsystem.
    #[arg(short = 'P', long = "vrrp")]
    vrrp: bool,
    /// Only run the health-checker subsystem.
    #[arg(short = 'C', long = "check")]
    check: bool,
    /// Log to the console as well as syslog.
    #[arg(short = 'l', long = "log-console")]
    log_console: bool,
    /// Detailed logging.
    #[arg(short = 'D', long = "log-detail")]
    log_detail: bool,
    /// Syslog facility: 0-7 for `LOG_LOCAL0`..7, or local0..7, user, daemon.
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY")]
    log_facility: Option<String>,
    /// Do not remove VIPs and routes on shutdown.
    #[arg(short = 'V', long = "dont-release-vrrp")]
    dont_release_vrrp: bool,
    /// Do not remove IPVS services on shutdown.
    #[arg(short = 'I', long = "dont-release-ipvs")]
    dont_release_ipvs: bool,
    /// Exit instead of respawning a child that died.
    #[arg(short = 'R', long = "dont-respawn")]
    dont_respawn: bool,
    /// Stay in the foreground.
    #[arg(short = 'n', long = "dont-fork")]
    dont_fork: bool,
    /// Dump the parsed configuration (with -t: to standard output, in keepalived.conf form).
    #[arg(short = 'd', long = "dump-conf")]
    dump_conf: bool,
    /// Parent pidfile.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pid: Option<PathBuf>,
    /// VRRP child pidfile.
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    vrrp_pid: Option<PathBuf>,
    /// Checker child pidfile.
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    checkers_pid: Option<PathBuf>,
    /// Config id for `@ID` conditional lines (default: the host name up to the first dot).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    config_id: Option<String>,
    /// Check the configuration and exit (0 clean, 4 unreadable, 5 errors or warnings); with a
    /// value, write the report to that file instead of standard error.
    // clap's idiom for a flag with an optional value: None = absent, Some(None) = bare -t.
    #[allow(clippy::option_option)]
    #[arg(short = 't', long = "config-test", value_name = "LOG_FILE", num_args = 0..=1, require_equals = true)]
    config_test: Option<Option<PathBuf>>,
    /// Print the version and exit.
    #[arg(short = 'v', long = "version")]
    version: bool,
    /// Also log to a file (default /tmp/keepalived.log; the VRRP child's name gets `_vrrp`).
    // clap's idiom for a flag with an optional value: None = absent, Some(None) = bare -g.
    #[allow(clippy::option_option)]
    #[arg(short = 'g', long = "log-file", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    log_file: Option<Option<PathBuf>>,
    /// Do not log to syslog (with -l or -g, the only log is there).
    #[arg(short = 'G', long = "no-syslog")]
    no_syslog: bool,
    /// Print the number of the signal for STOP, RELOAD, DATA, STATS or JSON, and exit.
    #[arg(long = "signum", value_name = "NAME")]
    signum: Option<String>,
    /// Internal: run as the VRRP child of the parent with this pid.
    #[arg(long = "vrrp-child", value_name = "PARENT_PID", hide = true)]
    vrrp_child: Option<u32>,
}

/// `--signum=NAME`: the signal keepalived 2.x uses for each function. `STATS_CLEAR` (`SIGRTMAX-1`)
/// is refused: we do not act on it, and that signal would kill a daemon that does not.
fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "JSON" => scheduler::Signal::json().as_raw(),
        _ => return None,
    })
}

fn default_config_id() -> Option<String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let short = host.trim().split('.').next()?.to_owned();
    (!short.is_empty()).then_some(short)
}

/// Expands `-f` like keepalived: a glob; every match is read.
fn config_files(pattern: &Path) -> Vec<PathBuf> {
    if pattern.to_string_lossy().contains(['*', '?', '[']) {
        confparse::SourceLoader::glob(&confparse::FsLoader, pattern)
    } else {
        vec![pattern.to_path_buf()]
    }
}

fn config_test(cli: &Cli, report: &mut dyn std::io::Write) -> u8 {
    let config_id = cli.config_id.clone().or_else(default_config_id);
    let host = confparse::LocalHost::snapshot();
    let opts = confparse::Options {
        config_id: config_id.as_deref(),
        host: &host,
    };
    let files = config_files(&cli.use_file);
    if files.is_empty() {
        let _ = writeln!(
            report,
            "error: no configuration file matches '{}'",
            cli.use_file.display()
        );
        return EXIT_FATAL;
    }
    let mut status = EXIT_OK;
    for file in files {
        match confparse::parse_file(&file, &opts) {
            Err(e) => {
                let _ = writeln!(report, "error: {e}");
                return EXIT_FATAL;
            }
            Ok(parsed) => {
                let _ = report.write_all(parsed.render().as_bytes());
                let errors = parsed
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == confparse::Severity::Error)
                    .count();
                let warnings = parsed.diagnostics.len() - errors;
                let _ = writeln!(
                    report,
                    "{}: {errors} error(s), {warnings} warning(s)",
                    file.display()
                );
                if !parsed.diagnostics.is_empty() {
                    status = EXIT_CONFIG;
                }
                if cli.dump_conf {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(confparse::to_conf(&parsed.config).as_bytes());
                }
            }
        }
    }
    status
}

/// The signals the daemon (parent and VRRP child) acts on, blocked before anything else runs:
/// one sent while it starts (a dump signal's default action is to terminate) waits for its
/// event loop instead of killing it halfway.
fn block_daemon_signals() {
    use scheduler::Signal;
    let _ = scheduler::block_signals(&[
        Signal::TERM,
        Signal::INT,
        Signal::HUP,
        Signal::USR1,
        Signal::USR2,
        Signal::json(),
    ]);
}

fn main() -> ExitCode {
    posix::fix_malloc_thresholds();
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "--vrrp-child")
    {
        block_daemon_signals();
    }
    let cli = Cli::parse();
    if let Some(name) = &cli.signum {
        let Some(n) = signum(name) else {
            eprintln!("Unknown signal function {name} (known: STOP, RELOAD, DATA, STATS, JSON)");
            return ExitCode::FAILURE;
        };
        println!("{n}");
        return ExitCode::SUCCESS;
    }
    if cli.version {
        println!(
            "Keepalived-rs v{} (reads keepalived 1.2.13 and 2.x configurations)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    if let Some(log) = &cli.config_test {
        let code = match log {
            Some(path) => match std::fs::File::create(path) {
                Ok(mut f) => config_test(&cli, &mut f),
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    EXIT_FATAL
                }
            },
            None => config_test(&cli, &mut std::io::stderr().lock()),
        };
        return ExitCode::from(code);
    }
    if cli.check && !cli.vrrp {
        eprintln!(
            "keepalived-rs: the health checker (-C/--check) is not implemented yet; run the VRRP side with -P or without -C"
        );
        return ExitCode::from(EXIT_FATAL);
    }
    let Some(facility) = facility(cli.log_facility.as_deref()) else {
        eprintln!("keepalived-rs: unknown log facility; use 0-7, local0-local7, user or daemon");
        return ExitCode::from(EXIT_FATAL);
    };
    let files = config_files(&cli.use_file);
    let [config] = files.as_slice() else {
        eprintln!(
            "keepalived-rs: '{}' must name exactly one configuration file (it matches {})",
            cli.use_file.display(),
            files.len()
        );
        return ExitCode::from(EXIT_FATAL);
    };
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let path_or = |p: &Option<PathBuf>, default: &str| {
        absolute(p.as_deref().unwrap_or_else(|| Path::new(default)))
    };
    let args = daemon::DaemonArgs {
        config: absolute(config),
        config_id: cli.config_id.clone().or_else(default_config_id),
        log_console: cli.log_console,
        log_detail: cli.log_detail,
        facility_arg: cli.log_facility.clone(),
        facility,
        no_syslog: cli.no_syslog,
        log_file: cli.log_file.as_ref().map(|f| {
            absolute(
                f.as_deref()
                    .unwrap_or_else(|| Path::new("/tmp/keepalived.log")),
            )
        }),
        dump_conf: cli.dump_conf,
        pidfile: path_or(&cli.pid, daemon::DEFAULT_PIDFILE),
        vrrp_pidfile: path_or(&cli.vrrp_pid, daemon::DEFAULT_VRRP_PIDFILE),
        checkers_pidfile: path_or(&cli.checkers_pid, daemon::DEFAULT_CHECKERS_PIDFILE),
        dont_fork: cli.dont_fork,
        dont_respawn: cli.dont_respawn,
        vrrp_only: cli.vrrp,
    };
    if let Some(parent) = cli.vrrp_child {
        return ExitCode::from(daemon::run_vrrp(&args, parent));
    }
    ExitCode::from(run_parent(&args))
}

/// The parent: checks, goes to the background unless `-n`, writes its pidfile and supervises
/// the VRRP child until stopped.
fn run_parent(args: &daemon::DaemonArgs) -> u8 {
    block_daemon_signals();
    let log = daemon::Logger::new(syslog::PARENT, args, args.log_file.as_deref());
    if let Err(code) = daemon::precheck(args, &log) {
        return code;
    }
    for p in [&args.pidfile, &args.vrrp_pidfile] {
        if let Some(pid) = daemon::running(p) {
            log.fatal(&format!(
                "daemon is already running (pid {pid} in {})",
                p.display()
            ));
            return EXIT_FATAL;
        }
    }
    let ready = if args.dont_fork {
        None
    } else {
        match daemonize() {
            Ok(Daemonized::Launcher(code)) => return code,
            Ok(Daemonized::Daemon(ready)) => Some(ready),
            Err(e) => {
                log.fatal(&format!("cannot go to the background: {e}"));
                return EXIT_FATAL;
            }
        }
    };
    daemon::write_pidfile(&args.pidfile, &log);
    log.info(&format!(
        "Starting keepalived-rs v{} (parent, VRRP only)",
        env!("CARGO_PKG_VERSION")
    ));
    if let Some(mut ready) = ready {
        // The launcher returns now: the pidfile exists, as service managers expect.
        let _ = ready.write_all(b"1");
    }
    let status = process::supervise(args, &log);
    daemon::remove_own_pidfile(&args.pidfile);
    // The VRRP child's pidfile, if it could not remove it (killed): it is ours (no other daemon
    // held it when we started); keepalived's parent removes its children's too. We start no
    // checker, so its pidfile is only removed when stale.
    let _ = std::fs::remove_file(&args.vrrp_pidfile);
    let _ = daemon::running(&args.checkers_pidfile);
    log.info("Stopped");
    status
}

/// Which side of [`daemonize`] returned.
enum Daemonized {
    /// The command the user ran: exit with this status.
    Launcher(u8),
    /// The daemon: write to this pipe once the pidfile exists.
    Daemon(std::io::PipeWriter),
}

/// Forks into the background as keepalived does (keepalived-behaviour.md §2.1, step 4): the
/// daemon runs in a new session with `/` as its working directory and its standard streams on
/// `/dev/null`. Called before any thread exists. The launcher waits until the daemon says it
/// has written its pidfile (exit 0), or has died first (exit 4).
fn daemonize() -> std::io::Result<Daemonized> {
    use std::io::Read as _;
    let (mut reader, writer) = std::io::pipe()?;
    match posix::fork()? {
        posix::Forked::Parent(_) => {
            drop(writer);
            let mut byte = [0u8; 1];
            let n = loop {
                match reader.read(&mut byte) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    other => break other.unwrap_or(0),
                }
            };
            Ok(Daemonized::Launcher(if n == 1 {
                EXIT_OK
            } else {
                EXIT_FATAL
            }))
        }
        posix::Forked::Child => {
            drop(reader);
            posix::setsid()?;
            std::env::set_current_dir("/")?;
            posix::stdio_to_dev_null()?;
            Ok(Daemonized::Daemon(writer))
        }
    }
}

/// The syslog facility of `-S` (keepalived: a digit for `LOG_LOCAL0`..7; names accepted too).
fn facility(arg: Option<&str>) -> Option<libc::c_int> {
    const LOCAL: [libc::c_int; 8] = [
        libc::LOG_LOCAL0,
        libc::LOG_LOCAL1,
        libc::LOG_LOCAL2,
        libc::LOG_LOCAL3,
        libc::LOG_LOCAL4,
        libc::LOG_LOCAL5,
        libc::LOG_LOCAL6,
        libc::LOG_LOCAL7,
    ];
    let Some(arg) = arg else {
        return Some(libc::LOG_DAEMON);
    };
    match arg {
        "user" => return Some(libc::LOG_USER),
        "daemon" => return Some(libc::LOG_DAEMON),
        _ => {}
    }
    let digit = arg.strip_prefix("local").unwrap_or(arg);
    digit
        .parse::<usize>()
        .ok()
        .and_then(|i| LOCAL.get(i).copied())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::path::{Path, PathBuf};

    use clap::Parser as _;

    use super::{Cli, daemon, facility, signum};

    /// What the parent passes its VRRP child is read back by the child as the same settings.
    #[test]
    fn the_child_understands_its_command_line() {
        let args = daemon::DaemonArgs {
            config: PathBuf::from("/etc/k a/keepalived.conf"),
            config_id: Some("lb1".into()),
            log_console: true,
            log_detail: true,
            facility_arg: Some("local3".into()),
            facility: libc::LOG_LOCAL3,
            no_syslog: true,
            log_file: Some(PathBuf::from("/var/log/k.log")),
            dump_conf: true,
            pidfile: PathBuf::from("/run/p.pid"),
            vrrp_pidfile: PathBuf::from("/run/v.pid"),
            checkers_pidfile: PathBuf::from("/run/c.pid"),
            dont_fork: false,
            dont_respawn: true,
            vrrp_only: true,
        };
        let mut argv = vec![std::ffi::OsString::from("keepalived")];
        argv.extend(crate::process::child_args(&args, 4242));
        let cli = Cli::try_parse_from(argv).unwrap();
        assert_eq!(cli.vrrp_child, Some(4242));
        assert_eq!(cli.use_file, Path::new("/etc/k a/keepalived.conf"));
        assert_eq!(cli.vrrp_pid.as_deref(), Some(Path::new("/run/v.pid")));
        assert_eq!(cli.config_id.as_deref(), Some("lb1"));
        assert_eq!(cli.log_facility.as_deref(), Some("local3"));
        assert_eq!(cli.log_file, Some(Some(PathBuf::from("/var/log/k.log"))));
        assert!(cli.log_console && cli.log_detail && cli.dump_conf && cli.vrrp && cli.no_syslog);
        assert!(
            cli.config_test.is_none(),
            "the child must not run the config test"
        );
    }

    #[test]
    fn signal_numbers_like_keepalived() {
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("DATA"), Some(10));
        assert_eq!(signum("STATS"), Some(12));
        assert_eq!(signum("JSON"), Some(libc::SIGRTMIN() + 2));
        assert_eq!(signum("STATS_CLEAR"), None);
        assert_eq!(signum("json"), None);
    }

    #[test]
    fn log_facilities() {
        assert_eq!(facility(None), Some(libc::LOG_DAEMON));
        assert_eq!(facility(Some("0")), Some(libc::LOG_LOCAL0));
        assert_eq!(facility(Some("local7")), Some(libc::LOG_LOCAL7));
        assert_eq!(facility(Some("user")), Some(libc::LOG_USER));
        assert_eq!(facility(Some("8")), None);
        assert_eq!(facility(Some("kern")), None);
    }
}
