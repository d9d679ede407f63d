//! `vrrp_script` and `track_file` trackers on the driver's event loop.
//!
//! ```text
//!   periodic timer (interval) ──► spawn script (timeout, uid/gid) ──exit──► RiseFall ──┐
//!   inotify on the file's directory ──► re-read the integer ─────────────────────────────┤
//!                                                   engine.handle_tracker(id, status) ◄┘
//! ```
//!
//! The counting is sans-IO ([`RiseFall`]); this module only runs scripts and reads files. A
//! script run is skipped while the previous one still runs; a run that outlives its timeout is
//! sent `SIGTERM`, then `SIGKILL` 2 s later (the scheduler does this), and counts as a
//! failure, as keepalived does (keepalived-behaviour.md §4.8).
//!
//! Reload: a script whose name and settings are unchanged keeps running with its counter (the
//! engine keeps its last status likewise); a changed or new one starts afresh; a removed one is
//! stopped (its timer cancelled, a running child killed). File watches are rebuilt and the
//! files re-read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use scheduler::{ChildSpec, Ctx, Event, TaskId};

use super::sys::{Inotify, TRACK_FILE_EVENTS, inotify_events};
use crate::TrackerStatus;
use crate::config::{FileTracker, ScriptTracker, TrackerConfig, TrackerId, TrackerKind};

/// keepalived's rise/fall counter for one script (keepalived-behaviour.md §4.8): `result` runs
/// over `0..rise+fall`, and the script is up when `result >= rise`.
///
/// * A success moves `result` up by one, or straight to the top once it reaches `rise - 1`
///   (so `rise` consecutive successes bring a down script up).
/// * A failure moves it down by one, or straight to 0 once at `rise` (so `fall` consecutive
///   failures bring an up script down).
/// * The first result after start decides at once (keepalived 2.x logs the script as
///   succeeded or failed after its first run), unless `init_fail` asked to start down: then
///   `rise` successes are needed, as after any failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    result: u32,
    fresh: bool,
}

impl RiseFall {
    /// A counter; `rise` and `fall` below 1 count as 1. `init_fail` starts it down.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> RiseFall {
        let (rise, fall) = (rise.max(1), fall.max(1));
        RiseFall {
            rise,
            fall,
            result: if init_fail { 0 } else { rise },
            fresh: !init_fail,
        }
    }

    /// Whether the script counts as up.
    pub fn is_up(&self) -> bool {
        self.result >= self.rise
    }

    /// Records one run's outcome; returns the new status when it changed (or when this is the
    /// first result, which always reports).
    pub fn record(&mut self, success: bool) -> Option<bool> {
        let before = self.is_up();
        let top = self.rise + self.fall - 1;
        if core::mem::take(&mut self.fresh) {
            self.result = if success { top } else { 0 };
            return Some(success);
        }
        if success {
            self.result = if self.result + 1 < self.rise {
                self.result + 1
            } else {
                top
            };
        } else {
            self.result = if self.result > self.rise {
                self.result - 1
            } else {
                0
            };
        }
        (self.is_up() != before).then_some(self.is_up())
    }
}

/// The integer a `track_file` holds: the first whitespace-separated word parsed as a signed
/// decimal (leading `+` allowed); anything else counts as 0, as `strtol` would give.
pub fn parse_track_value(text: &str) -> i64 {
    let word = text.split_whitespace().next().unwrap_or("");
    let digits_end = word
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(word.len(), |(i, _)| i);
    word[..digits_end].parse().unwrap_or(0)
}

/// What the trackers need from the driver that runs them.
pub(super) trait TrackHost: Sized + 'static {
    /// The trackers' state.
    fn trackers(&mut self) -> &mut Trackers;
    /// A tracker has a new result: hand it to the engine and perform what follows.
    fn tracker_result(&mut self, ctx: &mut Ctx<Self>, id: TrackerId, status: TrackerStatus);
    /// Something worth logging.
    fn warning(&mut self, message: &str);
}

struct Script {
    id: TrackerId,
    name: String,
    spec: ScriptTracker,
    counter: RiseFall,
    timer: Option<TaskId>,
    running: Option<TaskId>,
    /// The last failure reason logged, so that a script failing the same way is logged once.
    last_failure: Option<String>,
}

struct File {
    id: TrackerId,
    name: String,
    path: PathBuf,
    wd: Option<i32>,
    last: Option<i64>,
}

/// The `vrrp_script` and `track_file` trackers of one driver.
#[derive(Default)]
pub(super) struct Trackers {
    scripts: HashMap<u64, Script>,
    next_key: u64,
    files: Vec<File>,
    inotify: Option<Inotify>,
    inotify_task: Option<TaskId>,
    /// The configuration to start with (taken by [`Trackers::start`]).
    pending: Vec<TrackerConfig>,
}

impl Trackers {
    /// Trackers for `config` (the engine configuration's `trackers`), started by
    /// [`Trackers::start`].
    pub(super) fn new(config: Vec<TrackerConfig>) -> Trackers {
        Trackers {
            pending: config,
            ..Trackers::default()
        }
    }

    /// Starts the trackers given to [`Trackers::new`]: call it before the engine starts.
    pub(super) fn start<H: TrackHost>(host: &mut H, ctx: &mut Ctx<H>) {
        let config = core::mem::take(&mut host.trackers().pending);
        Self::apply(host, ctx, &config);
    }

    /// Starts (or, on reload, adjusts) the trackers for `config`; `TrackerId`s are indexes in
    /// it. Files are read at once, so call this before the engine starts.
    pub(super) fn apply<H: TrackHost>(host: &mut H, ctx: &mut Ctx<H>, config: &[TrackerConfig]) {
        let mut keep: Vec<u64> = Vec::new();
        let mut start: Vec<(TrackerId, String, ScriptTracker, bool)> = Vec::new();
        let mut files: Vec<(TrackerId, String, FileTracker)> = Vec::new();
        {
            let t = host.trackers();
            for (i, cfg) in config.iter().enumerate() {
                let id = TrackerId(u32::try_from(i).unwrap_or(u32::MAX));
                match &cfg.kind {
                    TrackerKind::Script(spec) => {
                        let same = t.scripts.iter_mut().find(|(k, s)| {
                            !keep.contains(k) && s.name == cfg.name && s.spec == *spec
                        });
                        if let Some((k, s)) = same {
                            s.id = id;
                            keep.push(*k);
                        } else {
                            let init_fail = cfg.initial == TrackerStatus::Down;
                            start.push((id, cfg.name.clone(), spec.clone(), init_fail));
                        }
                    }
                    TrackerKind::File(f) => files.push((id, cfg.name.clone(), f.clone())),
                    _ => {}
                }
            }
        }
        // Stop the scripts that are gone or changed.
        let gone: Vec<u64> = host
            .trackers()
            .scripts
            .keys()
            .filter(|k| !keep.contains(k))
            .copied()
            .collect();
        for k in gone {
            if let Some(s) = host.trackers().scripts.remove(&k) {
                for task in [s.timer, s.running].into_iter().flatten() {
                    ctx.cancel(task);
                }
            }
        }
        for (id, name, spec, init_fail) in start {
            let t = host.trackers();
            let key = t.next_key;
            t.next_key += 1;
            let counter = RiseFall::new(spec.rise, spec.fall, init_fail);
            let interval = spec.interval.max(core::time::Duration::from_millis(1));
            t.scripts.insert(
                key,
                Script {
                    id,
                    name: name.clone(),
                    spec,
                    counter,
                    timer: None,
                    running: None,
                    last_failure: None,
                },
            );
            let first = ctx.now();
            match ctx.add_periodic("vrrp_script", first, interval, move |h: &mut H, ctx, _| {
                run_script(h, ctx, key);
            }) {
                Ok(task) => {
                    if let Some(s) = host.trackers().scripts.get_mut(&key) {
                        s.timer = Some(task);
                    }
                }
                Err(e) => host.warning(&format!("VRRP_Script({name}) cannot be scheduled: {e}")),
            }
        }
        Self::apply_files(host, ctx, files);
    }

    fn apply_files<H: TrackHost>(
        host: &mut H,
        ctx: &mut Ctx<H>,
        files: Vec<(TrackerId, String, FileTracker)>,
    ) {
        let t = host.trackers();
        let old = core::mem::take(&mut t.files);
        if let Some(ino) = &t.inotify {
            for f in &old {
                if let Some(wd) = f.wd {
                    ino.rm_watch(wd);
                }
            }
        }
        if files.is_empty() {
            return;
        }
        if t.inotify.is_none() {
            match Inotify::new() {
                Ok(ino) => t.inotify = Some(ino),
                Err(e) => {
                    host.warning(&format!("track_file: inotify unavailable: {e}"));
                    return;
                }
            }
        }
        let mut warnings = Vec::new();
        let t = host.trackers();
        if let Some(ino) = &t.inotify {
            for (id, name, f) in files {
                if let Some(v) = f.init_value
                    && (f.init_overwrite || !f.path.exists())
                    && let Err(e) = std::fs::write(&f.path, format!("{v}\n"))
                {
                    warnings.push(format!(
                        "track_file {name}: cannot initialise {}: {e}",
                        f.path.display()
                    ));
                }
                let dir = directory_of(&f.path);
                let wd = match ino.add_watch(&dir, TRACK_FILE_EVENTS) {
                    Ok(wd) => Some(wd),
                    Err(e) => {
                        warnings.push(format!(
                            "track_file {name}: cannot watch {}: {e}",
                            dir.display()
                        ));
                        None
                    }
                };
                // A value already known (reload) is re-read and only reported if it changed.
                let last = old
                    .iter()
                    .find(|o| o.name == name && o.path == f.path)
                    .and_then(|o| o.last);
                t.files.push(File {
                    id,
                    name,
                    path: f.path,
                    wd,
                    last,
                });
            }
        }
        for w in warnings {
            host.warning(&w);
        }
        let t = host.trackers();
        if t.inotify_task.is_none()
            && let Some(fd) = t.inotify.as_ref().map(std::os::fd::AsRawFd::as_raw_fd)
        {
            match ctx.add_read("track_file", fd, None, |h: &mut H, ctx, ev| {
                if ev == Event::Readable {
                    inotify_readable(h, ctx);
                }
                if let Some(me) = ctx.current()
                    && let Err(e) = ctx.rearm_io(me, None)
                {
                    h.warning(&format!("track_file: cannot re-arm: {e}"));
                }
            }) {
                Ok(task) => host.trackers().inotify_task = Some(task),
                Err(e) => host.warning(&format!("track_file: {e}")),
            }
        }
        let all: Vec<usize> = (0..host.trackers().files.len()).collect();
        read_files(host, ctx, &all);
    }
}

/// The directory to watch for `path` (its parent, or `.` for a bare name).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn inotify_readable<H: TrackHost>(host: &mut H, ctx: &mut Ctx<H>) {
    let mut buf = [0u8; 4096];
    let mut hit: Vec<usize> = Vec::new();
    loop {
        let t = host.trackers();
        let Some(ino) = &t.inotify else { return };
        let n = match ino.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                host.warning(&format!("track_file: reading inotify events: {e}"));
                break;
            }
        };
        for (wd, name) in inotify_events(&buf[..n]) {
            for (i, f) in t.files.iter().enumerate() {
                let matches = f.wd == Some(wd)
                    && (name.is_empty()
                        || f.path
                            .file_name()
                            .is_some_and(|n| n.as_encoded_bytes() == name.as_slice()));
                if matches && !hit.contains(&i) {
                    hit.push(i);
                }
            }
        }
    }
    read_files(host, ctx, &hit);
}

/// Re-reads files `which` (indexes) and reports the values that changed.
fn read_files<H: TrackHost>(host: &mut H, ctx: &mut Ctx<H>, which: &[usize]) {
    let mut results = Vec::new();
    let mut warnings = Vec::new();
    for &i in which {
        let Some(f) = host.trackers().files.get_mut(i) else {
            continue;
        };
        let value = match read_track_file(&f.path) {
            Ok(text) => parse_track_value(&text),
            Err(e) => {
                warnings.push(format!(
                    "track_file {}: cannot read {}: {e}; using 0",
                    f.name,
                    f.path.display()
                ));
                0
            }
        };
        if f.last != Some(value) {
            f.last = Some(value);
            results.push((f.id, value));
        }
    }
    for w in warnings {
        host.warning(&w);
    }
    for (id, value) in results {
        host.tracker_result(ctx, id, TrackerStatus::Value(value));
    }
}

/// The start of a `track_file` (its first [`TRACK_FILE_READ`] bytes: the value is one
/// number), read without ever blocking the driver's loop: opened non-blocking, so a FIFO
/// without a writer reads as empty instead of waiting for one, and a huge file costs no more
/// than its start.
fn read_track_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let mut bytes = Vec::new();
    match file.take(TRACK_FILE_READ).read_to_end(&mut bytes) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// How much of a `track_file` is read.
const TRACK_FILE_READ: u64 = 4096;

/// The command for one run of `spec`.
fn child_spec(spec: &ScriptTracker) -> Option<ChildSpec> {
    let mut child = if spec.shell {
        ChildSpec::shell(spec.argv.join(" "))
    } else {
        let (program, args) = spec.argv.split_first()?;
        ChildSpec::new(program).args(args)
    };
    child = child.timeout(spec.timeout.max(core::time::Duration::from_millis(1)));
    if let Some(gid) = spec.gid {
        child = child.gid(gid);
    }
    if let Some(uid) = spec.uid {
        child = child.uid(uid);
    }
    Some(child)
}

fn run_script<H: TrackHost>(host: &mut H, ctx: &mut Ctx<H>, key: u64) {
    let Some(s) = host.trackers().scripts.get_mut(&key) else {
        return;
    };
    if s.running.is_some() {
        return; // still running: this tick is skipped
    }
    let Some(spec) = child_spec(&s.spec) else {
        return;
    };
    let name = s.name.clone();
    match ctx.spawn("vrrp_script", spec, move |h: &mut H, ctx, ev| {
        let outcome = match ev {
            Event::Exit(e) if e.timed_out => Err("timed out".to_owned()),
            Event::Exit(e) => match (e.code(), e.signal()) {
                (Some(0), _) => Ok(()),
                (Some(c), _) => Err(format!("exited with status {c}")),
                (None, Some(sig)) => Err(format!("killed by signal {sig}")),
                (None, None) => Err("ended abnormally".to_owned()),
            },
            Event::SpawnFailed { errno } => Err(format!(
                "could not be started: {}",
                std::io::Error::from_raw_os_error(errno)
            )),
            _ => return,
        };
        script_done(h, ctx, key, &outcome);
    }) {
        Ok(task) => {
            if let Some(s) = host.trackers().scripts.get_mut(&key) {
                s.running = Some(task);
            }
        }
        Err(e) => host.warning(&format!("VRRP_Script({name}) cannot be run: {e}")),
    }
}

fn script_done<H: TrackHost>(
    host: &mut H,
    ctx: &mut Ctx<H>,
    key: u64,
    outcome: &Result<(), String>,
) {
    let Some(s) = host.trackers().scripts.get_mut(&key) else {
        return;
    };
    s.running = None;
    let id = s.id;
    let name = s.name.clone();
    let mut log = None;
    if let Err(why) = outcome
        && s.last_failure.as_ref() != Some(why)
    {
        s.last_failure = Some(why.clone());
        log = Some(format!("Script `{name}` {why}"));
    }
    if outcome.is_ok() {
        s.last_failure = None;
    }
    let change = s.counter.record(outcome.is_ok());
    if let Some(line) = log {
        host.warning(&line);
    }
    if let Some(up) = change {
        // keepalived's wording: "VRRP_Script(chk) failed (exited with status 1)".
        match outcome {
            Ok(()) => host.warning(&format!("VRRP_Script({name}) succeeded")),
            Err(why) => host.warning(&format!("VRRP_Script({name}) failed ({why})")),
        }
        let status = if up {
            TrackerStatus::Up
        } else {
            TrackerStatus::Down
        };
        host.tracker_result(ctx, id, status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_track_file_read_never_blocks() {
        let dir = std::env::temp_dir().join(format!("kars-track-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("plain");
        std::fs::write(&plain, format!("-12 {}\n", "x".repeat(10_000))).unwrap();
        assert_eq!(parse_track_value(&read_track_file(&plain).unwrap()), -12);
        // A FIFO nobody writes to: a blocking open would wait for a writer forever.
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(read_track_file(&path).map(|t| parse_track_value(&t)));
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(5));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got.expect("reading the FIFO blocked").unwrap(), 0);
    }

    #[test]
    fn first_result_decides_then_rise_and_fall_count() {
        let mut c = RiseFall::new(2, 3, false);
        assert!(c.is_up());
        assert_eq!(c.record(true), Some(true));
        // Up: three failures in a row bring it down.
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), Some(false));
        // Down: two successes in a row bring it up; a failure in between starts again.
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), Some(true));
        // A success while up resets the fall count.
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), None);
        assert_eq!(c.record(false), Some(false));
    }

    #[test]
    fn first_failure_goes_down_at_once() {
        let mut c = RiseFall::new(1, 5, false);
        assert_eq!(c.record(false), Some(false));
        assert!(!c.is_up());
        assert_eq!(c.record(true), Some(true));
    }

    #[test]
    fn init_fail_needs_rise_successes() {
        let mut c = RiseFall::new(3, 1, true);
        assert!(!c.is_up());
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), None);
        assert_eq!(c.record(true), Some(true));
        assert_eq!(c.record(false), Some(false));
    }

    #[test]
    fn zero_rise_and_fall_mean_one() {
        let mut c = RiseFall::new(0, 0, true);
        assert_eq!(c.record(true), Some(true));
        assert_eq!(c.record(false), Some(false));
    }

    #[test]
    fn track_values_parse_like_strtol() {
        assert_eq!(parse_track_value("42\n"), 42);
        assert_eq!(parse_track_value("  -7 trailing"), -7);
        assert_eq!(parse_track_value("+3"), 3);
        assert_eq!(parse_track_value("12abc"), 12);
        assert_eq!(parse_track_value("abc"), 0);
        assert_eq!(parse_track_value(""), 0);
        assert_eq!(parse_track_value("99999999999999999999999"), 0);
    }

    #[test]
    fn inotify_records_split() {
        let mut buf = Vec::new();
        for (wd, name) in [(1i32, &b"a\0\0\0"[..]), (2, &b""[..])] {
            buf.extend_from_slice(&wd.to_ne_bytes());
            buf.extend_from_slice(&8u32.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(&(name.len() as u32).to_ne_bytes());
            buf.extend_from_slice(name);
        }
        buf.extend_from_slice(&[1, 2, 3]); // a truncated header is ignored
        assert_eq!(
            inotify_events(&buf),
            vec![(1, b"a".to_vec()), (2, Vec::new())]
        );
    }

    #[test]
    fn child_specs() {
        let mut s = ScriptTracker::new(vec!["/bin/echo".into(), "a b".into()]);
        assert_eq!(child_spec(&s).unwrap().program(), "/bin/echo");
        s.shell = true;
        assert_eq!(child_spec(&s).unwrap().program(), "/bin/sh");
        s.argv.clear();
        s.shell = false;
        assert!(child_spec(&s).is_none());
    }
}
