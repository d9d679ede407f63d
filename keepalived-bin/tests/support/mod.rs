//! The older name of the daemon launcher the notify, SMTP and tracker tests use: a thin layer
//! over `common` (the one place our daemon is started), returning what those tests read.

#![allow(clippy::unwrap_used, dead_code)]

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use vrrp_engine::testlab::Lab;

/// Starts our `keepalived -n -l -D -P` in `host` with `text` as its configuration, files named
/// after `name` in the lab's directory; returns its pid and the path of its log (stdout and
/// stderr). The lab kills it on drop.
pub(crate) fn spawn_ours(lab: &Lab, host: usize, name: &str, text: &str) -> (u32, PathBuf) {
    spawn_ours_with(lab, host, name, text, &[])
}

/// [`spawn_ours`] with more environment variables for the daemon.
pub(crate) fn spawn_ours_with(
    lab: &Lab,
    host: usize,
    name: &str,
    text: &str,
    env: &[(&str, &str)],
) -> (u32, PathBuf) {
    let files = common::Files {
        stem: name,
        pid_stem: name,
        tmpdir: None,
        env,
    };
    let d = common::launch(lab, host, &files, text, &["-P"]);
    (d.pid, d.log)
}

/// The text of `path` (empty if it cannot be read).
pub(crate) fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
