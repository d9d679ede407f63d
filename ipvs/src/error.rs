//! Errors.

use std::fmt;

use crate::nl::Command;

/// What kind of failure the kernel (or the system) reported, for callers to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The service or destination already exists (`EEXIST`).
    Exists,
    /// The service (`ESRCH`) or destination (`ENOENT`) does not exist.
    NotFound,
    /// The scheduler or persistence-engine module is not available (`ENOENT` on a service
    /// add or edit).
    ModuleMissing,
    /// The caller lacks `CAP_NET_ADMIN` in its network namespace (`EPERM`/`EACCES`).
    Permission,
    /// The kernel has no IPVS generic-netlink family (`ip_vs` not loaded or not built).
    FamilyMissing,
    /// The kernel rejected a value (`EINVAL`; e.g. a destination add in a namespace whose
    /// `lo` is down, or a non-multicast sync group).
    Invalid,
    /// The address family is not supported (`EAFNOSUPPORT`: IPv6 disabled).
    FamilyNotSupported,
    /// The sync daemon is already running (`EEXIST` on start) or busy (`EBUSY`).
    Busy,
    /// Something else: see the errno.
    Other,
}

/// A failure reported by the kernel for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// The command that failed.
    pub command: Command,
    /// What it was applied to (e.g. `TCP 10.0.0.1:80`), empty if nothing.
    pub target: String,
    /// The positive errno.
    pub errno: i32,
}

impl KernelError {
    /// Classifies the errno for this command.
    pub fn kind(&self) -> ErrorKind {
        use Command as C;
        match (self.errno, self.command) {
            (libc::EPERM | libc::EACCES, _) => ErrorKind::Permission,
            (libc::EEXIST, C::NewDaemon) | (libc::EBUSY, _) => ErrorKind::Busy,
            (libc::EEXIST, _) => ErrorKind::Exists,
            (libc::ENOENT, C::NewService | C::SetService) => ErrorKind::ModuleMissing,
            (libc::ESRCH | libc::ENOENT, _) => ErrorKind::NotFound,
            (libc::EINVAL, _) => ErrorKind::Invalid,
            (libc::EAFNOSUPPORT, _) => ErrorKind::FamilyNotSupported,
            _ => ErrorKind::Other,
        }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind() {
            ErrorKind::Exists => "already exists",
            ErrorKind::NotFound => "no such service or destination",
            ErrorKind::ModuleMissing => {
                "scheduler or persistence engine not available (kernel module missing?)"
            }
            ErrorKind::Permission => "permission denied (needs CAP_NET_ADMIN)",
            ErrorKind::Invalid => "invalid argument",
            ErrorKind::FamilyNotSupported => "address family not supported",
            ErrorKind::Busy => "sync daemon already running or busy",
            ErrorKind::FamilyMissing | ErrorKind::Other => "failed",
        };
        let err = std::io::Error::from_raw_os_error(self.errno);
        if self.target.is_empty() {
            write!(f, "IPVS {}: {what} ({err})", self.command)
        } else {
            write!(f, "IPVS {} {}: {what} ({err})", self.command, self.target)
        }
    }
}

/// Everything that can go wrong talking to IPVS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel has no IPVS family.
    #[error(
        "IPVS is not available: the kernel has no generic netlink family \"IPVS\" (load the ip_vs module)"
    )]
    FamilyMissing,
    /// The kernel refused a command.
    #[error("{0}")]
    Kernel(KernelError),
    /// A socket call failed.
    #[error("IPVS netlink socket: {0}")]
    Io(#[from] std::io::Error),
    /// The kernel sent something this crate cannot decode.
    #[error("IPVS: cannot decode the kernel's reply: {0}")]
    Decode(String),
    /// The kernel's replies did not follow the protocol (e.g. acknowledgements were lost
    /// because the receive buffer overflowed).
    #[error("IPVS netlink protocol: {0}")]
    Protocol(String),
    /// A value cannot be sent (e.g. a scheduler name longer than 15 bytes).
    #[error("IPVS: invalid request: {0}")]
    InvalidInput(String),
}

impl Error {
    /// The kind of failure, for callers that act on it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::FamilyMissing => ErrorKind::FamilyMissing,
            Self::Kernel(k) => k.kind(),
            Self::Io(e) if e.raw_os_error() == Some(libc::EPERM) => ErrorKind::Permission,
            _ => ErrorKind::Other,
        }
    }
}

impl From<netlink_packet_core::DecodeError> for Error {
    fn from(e: netlink_packet_core::DecodeError) -> Self {
        Self::Decode(e.to_string())
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
