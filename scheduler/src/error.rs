//! The crate's error type.

use std::io;
use std::os::fd::RawFd;

use crate::signal::Signal;

/// What can go wrong when setting up or running the loop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Creating the epoll instance, timerfd or signalfd failed.
    #[error("cannot set up the event loop: {0}")]
    Setup(#[source] io::Error),
    /// Waiting for events failed.
    #[error("waiting for events failed: {0}")]
    Poll(#[source] io::Error),
    /// A descriptor could not be watched: closed (`EBADF`), a regular file (`EPERM`), or
    /// already watched in that direction by another task (`EBUSY`).
    #[error("task {task}: cannot watch fd {fd}: {source}")]
    Register {
        /// The task's name.
        task: String,
        /// The descriptor.
        fd: RawFd,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The signal cannot be caught or must not be blocked.
    #[error("{0} cannot be watched")]
    Unwatchable(Signal),
    /// Changing the signal mask or the signalfd failed.
    #[error("cannot change the watched signals: {0}")]
    Signals(#[source] io::Error),
    /// The helper thread that starts children could not be created. (A child that cannot be
    /// started is reported to its handler as [`Event::SpawnFailed`](crate::Event::SpawnFailed).)
    #[error("task {task}: cannot spawn: {source}")]
    Spawn {
        /// The task's name.
        task: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A periodic timer was given a zero period.
    #[error("task {task}: a periodic timer needs a non-zero period")]
    ZeroPeriod {
        /// The task's name.
        task: String,
    },
    /// A handler panicked. The task was removed and the loop stopped; see the crate
    /// documentation for why it does not carry on.
    #[error("task {task} panicked: {message}")]
    Panicked {
        /// The task's name.
        task: String,
        /// The panic message.
        message: String,
    },
}
