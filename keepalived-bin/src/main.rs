//! The `keepalived` command of keepalived-rs.
//!
//! It takes keepalived's command-line options (the 1.2.13 letters plus the modern `-t`, `-i`),
//! so that service files and scripts written for keepalived keep working. For now only the
//! configuration test acts: `keepalived -t [-f FILE]` reads the configuration, prints every
//! finding with `file:line:column`, the source line and a hint, and exits like keepalived 2.x:
//! 0 when the configuration is clean, 4 when it cannot be read, 5 when there are errors or
//! warnings. `--dump-conf` (`-d`) prints the configuration as parsed, in canonical form.
//!
//! `keepalived -n [-l] [-D] [-P] [-f FILE] [-p FILE] [-r FILE]` runs the VRRP side in the
//! foreground (see [`daemon`]). Forking into the background and the health checker are not
//! implemented yet and are refused with exit status 4.

mod daemon;
mod notify;
mod script;
mod smtp;
mod sys;
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

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    if cli.dump_conf {
        return ExitCode::from(config_test(
            &Cli {
                config_test: Some(None),
                ..cli
            },
            &mut std::io::sink(),
        ));
    }
    if cli.check {
        eprintln!(
            "keepalived-rs: the health checker (-C/--check) is not implemented yet; only the VRRP side runs"
        );
        return ExitCode::from(EXIT_FATAL);
    }
    if !cli.dont_fork {
        eprintln!(
            "keepalived-rs: running in the background is not implemented yet; run with -n/--dont-fork (for example under systemd with Type=simple)"
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
    let args = daemon::DaemonArgs {
        config: config.clone(),
        config_id: cli.config_id.clone().or_else(default_config_id),
        log_console: cli.log_console,
        log_detail: cli.log_detail,
        facility,
        pidfile: cli.pid.clone(),
        vrrp_pidfile: cli.vrrp_pid.clone(),
    };
    ExitCode::from(daemon::run(&args))
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
    use super::facility;

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
