//! Running our `keepalived` binary in a lab host (shared by the namespace tests of this crate).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use std::fs::File;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use vrrp_engine::testlab::{Lab, wait_for};

/// How long a state change may take to show in a log.
pub const SHORT: Duration = Duration::from_secs(5);

/// One run of our daemon.
pub struct Daemon {
    pub pid: u32,
    pub log: PathBuf,
}

impl Daemon {
    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
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

/// Starts our `keepalived -n -l -D -P` in `host` with `text` as its configuration. `run`
/// numbers the log file; the pidfiles (and so the journal) stay the same across runs of one
/// host.
pub fn spawn(lab: &Lab, host: usize, run: u32, text: &str) -> Daemon {
    let dir = lab.dir();
    let conf = dir.join(format!("h{host}-{run}.conf"));
    std::fs::write(&conf, text).unwrap();
    let log = dir.join(format!("h{host}-{run}.log"));
    let out = File::create(&log).unwrap();
    let mut cmd = lab.command(host, env!("CARGO_BIN_EXE_keepalived"));
    cmd.args(["-n", "-l", "-D", "-P", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join(format!("h{host}.pid")))
        .arg("-r")
        .arg(dir.join(format!("h{host}.vrrp.pid")))
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    let pid = lab.spawn_process(cmd).unwrap();
    Daemon { pid, log }
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

/// The addresses on `dev` in `host` (none if it does not exist).
pub fn addresses_on(lab: &Lab, host: usize, dev: &str) -> Vec<IpAddr> {
    lab.addresses_on(host, dev).unwrap_or_default()
}
