//! Running our `keepalived` binary in a lab host: the one place the namespace tests of this
//! crate start, stop and kill our daemon.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use std::fs::File;
use std::net::IpAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrp_engine::testlab::{Lab, run, wait_for};

/// How long a state change may take to show in a log (generous: CI machines are loaded).
pub const SHORT: Duration = Duration::from_secs(8);

/// One run of our daemon (parent and VRRP child) and its files.
pub struct Daemon {
    /// The parent's pid (also its process group).
    pub pid: u32,
    /// Its stdout and stderr (`-l`: the log).
    pub log: PathBuf,
    /// Its configuration file.
    pub conf: PathBuf,
    /// `-p`.
    pub pidfile: PathBuf,
    /// `-r` (the journal's name follows it).
    pub vrrp_pidfile: PathBuf,
}

impl Daemon {
    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to [`SHORT`] until `cond` holds; fails showing the log otherwise.
    pub fn wait_until(&self, cond: impl FnMut() -> bool) {
        assert!(
            wait_for(SHORT, cond),
            "not so in time; log:\n{}",
            self.log()
        );
    }

    /// Waits until `needle` is logged.
    pub fn wait_log(&self, needle: &str) {
        assert!(
            wait_for(SHORT, || self.log().contains(needle)),
            "'{needle}' not logged in time; log:\n{}",
            self.log()
        );
    }
}

/// Where one run keeps its files, all in the lab's directory.
pub struct Files<'a> {
    /// `{stem}.conf` and `{stem}.log`.
    pub stem: &'a str,
    /// `{pid_stem}.pid` and `{pid_stem}.vrrp.pid`: the same across the runs of one host keeps
    /// the journal, as a restarted service would.
    pub pid_stem: &'a str,
    /// `TMPDIR` for the daemon (where its dumps go), if not the default.
    pub tmpdir: Option<&'a Path>,
    /// More environment variables for the daemon.
    pub env: &'a [(&'a str, &'a str)],
}

/// Starts our `keepalived -n -l -D ARGS` in `host` with `text` as its configuration, in a
/// process group of its own (so that [`kill9`] takes parent and child at once; the lab kills
/// whatever is left in its namespaces when it is dropped).
pub fn launch(lab: &Lab, host: usize, files: &Files<'_>, text: &str, args: &[&str]) -> Daemon {
    let dir = lab.dir();
    let d = Daemon {
        pid: 0,
        log: dir.join(format!("{}.log", files.stem)),
        conf: dir.join(format!("{}.conf", files.stem)),
        pidfile: dir.join(format!("{}.pid", files.pid_stem)),
        vrrp_pidfile: dir.join(format!("{}.vrrp.pid", files.pid_stem)),
    };
    std::fs::write(&d.conf, text).unwrap();
    let out = File::create(&d.log).unwrap();
    let mut cmd = lab.command(host, env!("CARGO_BIN_EXE_keepalived"));
    cmd.args(["-n", "-l", "-D"])
        .args(args)
        .arg("-f")
        .arg(&d.conf)
        .arg("-p")
        .arg(&d.pidfile)
        .arg("-r")
        .arg(&d.vrrp_pidfile)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .process_group(0);
    if let Some(t) = files.tmpdir {
        cmd.env("TMPDIR", t);
    }
    cmd.envs(files.env.iter().copied());
    Daemon {
        pid: lab.spawn_process(cmd).unwrap(),
        ..d
    }
}

/// Starts our `keepalived -n -l -D -P` in `host` with `text` as its configuration. `run`
/// numbers the log file; the pidfiles (and so the journal) stay the same across runs of one
/// host.
pub fn spawn(lab: &Lab, host: usize, run: u32, text: &str) -> Daemon {
    let files = Files {
        stem: &format!("h{host}-{run}"),
        pid_stem: &format!("h{host}"),
        tmpdir: None,
        env: &[],
    };
    launch(lab, host, &files, text, &["-P"])
}

/// SIGTERM, then waits for the exit and the "Stopped" line.
pub fn stop(lab: &Lab, d: &Daemon) {
    lab.terminate(d.pid).unwrap();
    assert!(
        lab.wait_exit(d.pid, SHORT).unwrap(),
        "no exit after SIGTERM:\n{}",
        d.log()
    );
    d.wait_log("Stopped");
}

/// `kill -9` of the whole daemon (parent and VRRP child at once, through their process group),
/// as a crash of the machine's service would be.
pub fn kill9(lab: &Lab, d: &Daemon) {
    run("kill", &["-KILL", "--", &format!("-{}", d.pid)]).unwrap();
    assert!(lab.wait_exit(d.pid, SHORT).unwrap());
}

/// The addresses on `dev` in `host` (none if it does not exist).
pub fn addresses_on(lab: &Lab, host: usize, dev: &str) -> Vec<IpAddr> {
    lab.addresses_on(host, dev).unwrap_or_default()
}
