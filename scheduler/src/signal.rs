//! Signals as loop events: the [`Signal`] type and what a handler receives.
//!
//! The rules for threads and children are in the crate documentation.

use crate::sys;

/// A signal number the loop can watch.
///
/// The named constants are the ones keepalived uses; [`Signal::rtmin`] builds real-time signals
/// (keepalived's JSON dump is `SIGRTMIN+2`, see [`Signal::json`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Signal {
    /// `SIGHUP`: reload.
    pub const HUP: Signal = Signal(libc::SIGHUP);
    /// `SIGINT`: stop.
    pub const INT: Signal = Signal(libc::SIGINT);
    /// `SIGTERM`: stop.
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// `SIGUSR1`: data dump.
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    /// `SIGUSR2`: statistics dump.
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    /// `SIGCHLD`: a child changed state (the loop also uses it to reap its children).
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    /// `SIGKILL` (only for sending; it cannot be watched).
    pub const KILL: Signal = Signal(libc::SIGKILL);
    /// `SIGPIPE` (only for sending; ignore it with the usual `std` runtime default).
    pub const PIPE: Signal = Signal(libc::SIGPIPE);

    /// `SIGRTMIN + offset`, if that is a valid real-time signal on this system.
    pub fn rtmin(offset: i32) -> Option<Signal> {
        let sig = libc::SIGRTMIN().checked_add(offset)?;
        (offset >= 0 && sig <= libc::SIGRTMAX()).then_some(Signal(sig))
    }

    /// keepalived's `SIGJSON`, `SIGRTMIN + 2`.
    pub fn json() -> Signal {
        // SIGRTMIN + 2 always exists: glibc gives at least 30 real-time signals.
        Signal::rtmin(2).unwrap_or(Signal(libc::SIGRTMIN() + 2))
    }

    /// The signal with number `raw`, if it is a signal number at all (1 to `SIGRTMAX`).
    pub fn from_raw(raw: i32) -> Option<Signal> {
        (1..=libc::SIGRTMAX()).contains(&raw).then_some(Signal(raw))
    }

    /// The signal number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// Whether the loop can watch this signal. `SIGKILL` and `SIGSTOP` cannot be caught, and
    /// the synchronous fault signals (`SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`, `SIGTRAP`,
    /// `SIGSYS`) must not be blocked: a fault while they are blocked kills the process.
    pub fn is_watchable(self) -> bool {
        ![
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGTRAP,
            libc::SIGSYS,
        ]
        .contains(&self.0)
    }

    /// Sends this signal to process `pid` (`kill(2)`).
    pub fn send_to(self, pid: u32) -> std::io::Result<()> {
        let pid = i32::try_from(pid)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::ESRCH))?;
        sys::kill(pid, self.0)
    }

    /// Sends this signal to the calling thread only (`pthread_kill(pthread_self())`). Useful in
    /// tests, where other threads of the process do not block the loop's signals.
    pub fn raise_in_thread(self) -> std::io::Result<()> {
        sys::raise_in_thread(self.0)
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            libc::SIGHUP => "SIGHUP",
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            libc::SIGUSR1 => "SIGUSR1",
            libc::SIGUSR2 => "SIGUSR2",
            libc::SIGCHLD => "SIGCHLD",
            libc::SIGKILL => "SIGKILL",
            libc::SIGPIPE => "SIGPIPE",
            n if n >= libc::SIGRTMIN() => return write!(f, "SIGRTMIN+{}", n - libc::SIGRTMIN()),
            n => return write!(f, "signal {n}"),
        };
        f.write_str(name)
    }
}

/// One delivered signal, as read from the signalfd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignalInfo {
    /// Which signal.
    pub signal: Signal,
    /// The sending process (0 if the kernel sent it).
    pub pid: u32,
    /// The sender's real user id.
    pub uid: u32,
}

/// Size of `struct signalfd_siginfo`.
pub(crate) const SIGINFO_LEN: usize = 128;

/// Decodes one `signalfd_siginfo` record (`ssi_signo` at 0, `ssi_pid` at 12, `ssi_uid` at 16).
pub(crate) fn parse_siginfo(rec: &[u8]) -> Option<SignalInfo> {
    let word = |at: usize| -> Option<u32> {
        let bytes: [u8; 4] = rec.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_ne_bytes(bytes))
    };
    let signal = Signal::from_raw(i32::try_from(word(0)?).ok()?)?;
    Some(SignalInfo {
        signal,
        pid: word(12)?,
        uid: word(16)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtmin_json_is_rtmin_plus_two() {
        assert_eq!(Signal::json().as_raw(), libc::SIGRTMIN() + 2);
        assert_eq!(Signal::json().to_string(), "SIGRTMIN+2");
        assert_eq!(format!("{:?}", Signal::TERM), "SIGTERM");
        assert!(Signal::rtmin(-1).is_none());
        assert!(Signal::rtmin(1000).is_none());
    }

    #[test]
    fn from_raw_rejects_non_signals() {
        assert!(Signal::from_raw(0).is_none());
        assert!(Signal::from_raw(-3).is_none());
        assert!(Signal::from_raw(libc::SIGRTMAX() + 1).is_none());
        assert_eq!(Signal::from_raw(libc::SIGHUP), Some(Signal::HUP));
    }

    #[test]
    fn unwatchable_signals() {
        assert!(!Signal::KILL.is_watchable());
        assert!(!Signal(libc::SIGSEGV).is_watchable());
        assert!(Signal::TERM.is_watchable());
        assert!(Signal::json().is_watchable());
    }

    #[test]
    fn siginfo_decoding() {
        let mut rec = [0u8; SIGINFO_LEN];
        rec[0..4].copy_from_slice(&(libc::SIGUSR1 as u32).to_ne_bytes());
        rec[12..16].copy_from_slice(&4242u32.to_ne_bytes());
        rec[16..20].copy_from_slice(&1000u32.to_ne_bytes());
        let info = parse_siginfo(&rec).unwrap();
        assert_eq!(
            info,
            SignalInfo {
                signal: Signal::USR1,
                pid: 4242,
                uid: 1000
            }
        );
        assert!(parse_siginfo(&rec[..10]).is_none());
        assert!(parse_siginfo(&[0u8; SIGINFO_LEN]).is_none());
    }

    #[test]
    fn send_to_rejects_pid_zero() {
        assert!(Signal::USR1.send_to(0).is_err());
        assert!(Signal::USR1.send_to(u32::MAX).is_err());
    }
}
