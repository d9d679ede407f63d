//! Child processes: what to run ([`ChildSpec`]) and how it ended ([`ChildExit`]).

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::sys;

/// How long a child that outlived its timeout has between `SIGTERM` and `SIGKILL`, unless
/// [`ChildSpec::kill_grace`] says otherwise: 2 s, as keepalived.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// Where a child's standard stream goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StdioMode {
    /// `/dev/null` (the default, as keepalived does for scripts).
    #[default]
    Null,
    /// The daemon's own stream.
    Inherit,
}

impl StdioMode {
    fn to_stdio(self) -> Stdio {
        match self {
            StdioMode::Null => Stdio::null(),
            StdioMode::Inherit => Stdio::inherit(),
        }
    }
}

/// A program to run as a child of the loop.
///
/// By default the program is executed directly from its argument vector (no shell, so no
/// quoting or injection surprises), inherits the daemon's environment, runs in a process group
/// of its own, has its standard streams on `/dev/null`, and has no timeout. Whatever the daemon
/// blocked or ignored, the child starts with an empty signal mask and default dispositions, and
/// it inherits no descriptor but 0, 1 and 2 (raw and netlink sockets stay in the daemon; on
/// Linux before 5.11 only descriptors marked close-on-exec, as Rust opens them, are withheld).
///
/// ```
/// use std::time::Duration;
/// use scheduler::ChildSpec;
/// let spec = ChildSpec::new("/usr/bin/logger")
///     .args(["-t", "keepalived", "MASTER"])
///     .env("STATE", "MASTER")
///     .current_dir("/")
///     .timeout(Duration::from_secs(5));
/// assert_eq!(spec.program(), "/usr/bin/logger");
/// ```
#[derive(Debug)]
pub struct ChildSpec {
    program: OsString,
    args: Vec<OsString>,
    env_clear: bool,
    env: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
    uid: Option<u32>,
    gid: Option<u32>,
    own_group: bool,
    timeout: Option<Duration>,
    kill_grace: Duration,
    stdout: StdioMode,
    stderr: StdioMode,
    death_signal: Option<i32>,
}

impl ChildSpec {
    /// Runs `program` (looked up in `PATH` if it has no `/`) with no arguments.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        ChildSpec {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env_clear: false,
            env: Vec::new(),
            cwd: None,
            uid: None,
            gid: None,
            own_group: true,
            timeout: None,
            kill_grace: DEFAULT_KILL_GRACE,
            stdout: StdioMode::Null,
            stderr: StdioMode::Null,
            death_signal: None,
        }
    }

    /// Runs `command_line` through `/bin/sh -c`, for configurations that ask for a shell.
    pub fn shell(command_line: impl AsRef<OsStr>) -> Self {
        ChildSpec::new("/bin/sh").arg("-c").arg(command_line)
    }

    /// Appends one argument.
    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends arguments.
    #[must_use]
    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the child.
    #[must_use]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable from the child's environment.
    #[must_use]
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Starts from an empty environment instead of the daemon's.
    #[must_use]
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self.env.clear();
        self
    }

    /// Runs the child in directory `dir`.
    #[must_use]
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Runs the child as user `uid`. When the daemon is root and drops to another user, the
    /// supplementary groups are cleared too.
    #[must_use]
    pub fn uid(mut self, uid: u32) -> Self {
        self.uid = Some(uid);
        self
    }

    /// Runs the child with group `gid`.
    #[must_use]
    pub fn gid(mut self, gid: u32) -> Self {
        self.gid = Some(gid);
        self
    }

    /// Whether the child gets a process group of its own (default `true`). With its own group,
    /// the timeout signals go to the whole group, so a script's own children are stopped too.
    #[must_use]
    pub fn own_process_group(mut self, yes: bool) -> Self {
        self.own_group = yes;
        self
    }

    /// Sends `SIGTERM` if the child still runs `timeout` after it was spawned, then `SIGKILL`
    /// after the [kill grace](ChildSpec::kill_grace).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time between the timeout's `SIGTERM` and `SIGKILL` (default [`DEFAULT_KILL_GRACE`]).
    #[must_use]
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Sends `signal` to the child when the thread that started it ends (`PR_SET_PDEATHSIG`;
    /// for a child spawned by a loop, the loop's spawner thread, which lives as long as the
    /// loop): a long-running helper (a FIFO reader) then ends with the daemon, as keepalived's
    /// scripts do. Off by default.
    #[must_use]
    pub fn parent_death_signal(mut self, signal: crate::Signal) -> Self {
        self.death_signal = Some(signal.as_raw());
        self
    }

    /// Where the child's standard output goes.
    #[must_use]
    pub fn stdout(mut self, mode: StdioMode) -> Self {
        self.stdout = mode;
        self
    }

    /// Where the child's standard error goes.
    #[must_use]
    pub fn stderr(mut self, mode: StdioMode) -> Self {
        self.stderr = mode;
        self
    }

    /// The program that will run.
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The timeout, if any.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The `std` command for starting this child outside a loop (for example at exit, when no
    /// loop is left to reap it): same argv, environment, user, process group, standard streams
    /// and clean signal state and descriptors; the timeout is not enforced.
    pub fn into_std(self) -> Command {
        self.into_command().0
    }

    /// The `std` command, with the clean-signal hook installed, and the limits the loop
    /// enforces.
    pub(crate) fn into_command(self) -> (Command, Limits) {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        if self.env_clear {
            cmd.env_clear();
        }
        for (key, value) in &self.env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        if let Some(gid) = self.gid {
            std::os::unix::process::CommandExt::gid(&mut cmd, gid);
        }
        if let Some(uid) = self.uid {
            std::os::unix::process::CommandExt::uid(&mut cmd, uid);
        }
        if self.own_group {
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        }
        cmd.stdin(Stdio::null());
        cmd.stdout(self.stdout.to_stdio());
        cmd.stderr(self.stderr.to_stdio());
        sys::clean_child_on_exec(&mut cmd, self.death_signal);
        let limits = Limits {
            timeout: self.timeout,
            grace: self.kill_grace,
            group: self.own_group,
        };
        (cmd, limits)
    }
}

/// What the loop enforces on a running child.
pub(crate) struct Limits {
    pub(crate) timeout: Option<Duration>,
    pub(crate) grace: Duration,
    pub(crate) group: bool,
}

/// How a child ended, delivered to its handler as [`Event::Exit`](crate::Event::Exit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChildExit {
    /// The child's process id (already reaped: no zombie remains).
    pub pid: u32,
    /// Exit code or terminating signal (see `std::os::unix::process::ExitStatusExt`).
    pub status: ExitStatus,
    /// Whether the loop had to signal it because it outlived its timeout.
    pub timed_out: bool,
}

impl ChildExit {
    /// The exit code, if the child exited normally.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The signal that killed the child, if any.
    pub fn signal(&self) -> Option<i32> {
        std::os::unix::process::ExitStatusExt::signal(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    use super::*;
    use crate::{Event, Loop};

    /// A descriptor opened without close-on-exec (as C libraries often do) must not leak into
    /// scripts: raw VRRP and netlink sockets stay in the daemon.
    /// Whether the running kernel is at least `major.minor`.
    fn kernel_at_least(major: u32, minor: u32) -> bool {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut parts = release
            .split(['.', '-'])
            .map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
    }

    #[test]
    fn child_inherits_no_descriptor_of_the_daemon() {
        if !kernel_at_least(5, 11) {
            eprintln!("close_range(CLOSE_RANGE_CLOEXEC) needs Linux 5.11: not checked here");
            return;
        }
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let leaky = sys::dup_inheritable(&file).unwrap();
        let n = leaky.as_raw_fd();
        assert!(n > 2);
        let spec = ChildSpec::new("/bin/sh")
            .args(["-c", r#"test ! -e "/proc/self/fd/$1""#, "sh"])
            .arg(n.to_string());
        let mut lp: Loop<Option<ChildExit>> = Loop::new().unwrap();
        lp.ctx()
            .spawn("fds", spec, |s: &mut Option<_>, _, ev| {
                if let Event::Exit(e) = ev {
                    *s = Some(e);
                }
            })
            .unwrap();
        let mut got = None;
        while got.is_none() {
            lp.run_once(&mut got, Some(Duration::from_secs(10)))
                .unwrap();
        }
        assert_eq!(got.unwrap().code(), Some(0), "fd {n} leaked into the child");
    }

    #[test]
    fn parent_death_signal_reaches_the_child_when_its_thread_ends() {
        let child = std::thread::spawn(|| {
            ChildSpec::new("sleep")
                .arg("30")
                .parent_death_signal(crate::Signal::TERM)
                .into_std()
                .spawn()
                .unwrap()
        })
        .join()
        .unwrap();
        let mut child = child;
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGTERM)
        );
    }

    #[test]
    fn shell_and_builder() {
        let spec = ChildSpec::shell("exit 3").timeout(Duration::from_secs(1));
        assert_eq!(spec.program(), "/bin/sh");
        assert_eq!(spec.get_timeout(), Some(Duration::from_secs(1)));
        let (cmd, limits) = spec.into_command();
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, ["-c", "exit 3"]);
        assert_eq!(limits.grace, DEFAULT_KILL_GRACE);
        assert!(limits.group);
    }
}
