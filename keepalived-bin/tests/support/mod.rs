//! What the daemon tests of this branch share: our `keepalived -n` started in a lab host.

#![allow(clippy::unwrap_used, dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};

use vrrp_engine::testlab::Lab;

/// Starts our `keepalived -n -l -D -P` in `host` with `text` as its configuration, files named
/// after `name` in the lab's directory; returns its pid and the path of its log (stdout and
/// stderr). The lab kills it on drop.
pub(crate) fn spawn_ours(lab: &Lab, host: usize, name: &str, text: &str) -> (u32, PathBuf) {
    let dir = lab.dir();
    let conf = dir.join(format!("{name}.conf"));
    std::fs::write(&conf, text).unwrap();
    let log = dir.join(format!("{name}.log"));
    let out = File::create(&log).unwrap();
    let mut cmd = lab.command(host, env!("CARGO_BIN_EXE_keepalived"));
    cmd.args(["-n", "-l", "-D", "-P", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join(format!("{name}.pid")))
        .arg("-r")
        .arg(dir.join(format!("{name}.vrrp.pid")))
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    (lab.spawn_process(cmd).unwrap(), log)
}

/// The text of `path` (empty if it cannot be read).
pub(crate) fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
