//! Small protocol value types shared by the engine's API.

use core::fmt;

/// VRRP priority (RFC 5798 §5.2.4): 0 = release, 1..=254 = backup-capable, 255 = address owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(pub u8);

impl Priority {
    /// Priority 0: the master is releasing (RFC 5798 §6.4.3).
    pub const RELEASE: Priority = Priority(0);
    /// Priority 255: the address owner.
    pub const OWNER: Priority = Priority(255);

    /// Whether this is the owner priority (255).
    pub fn is_owner(self) -> bool {
        self.0 == 255
    }
}

/// An instance's protocol state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Configured, not started (RFC 5798 §6.4.1 Initialize).
    Init,
    /// Backup (RFC 5798 §6.4.2).
    Backup,
    /// Master (RFC 5798 §6.4.3).
    Master,
    /// A tracked interface or tracker failed: no adverts, no addresses, adverts ignored.
    Fault,
    /// Shut down by an admin command.
    Stopped,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stopped => "STOP",
        })
    }
}
