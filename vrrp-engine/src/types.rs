//! Small protocol value types shared by the engine's API.

use core::fmt;
use core::time::Duration;

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

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768: IPv4 only, interval in whole seconds, optional (deprecated) authentication.
    V2,
    /// RFC 5798 / RFC 9568: IPv4 and IPv6, interval in centiseconds.
    V3,
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

/// The on-wire units of an advert interval: seconds (1..=255) for VRRPv2, centiseconds
/// (1..=4095) for VRRPv3. `None` if `interval` is not exactly representable.
pub fn interval_units(version: Version, interval: Duration) -> Option<u16> {
    let (unit_nanos, max) = match version {
        Version::V2 => (1_000_000_000u128, 255u128),
        Version::V3 => (10_000_000u128, 4095u128),
    };
    let n = interval.as_nanos();
    if n == 0 || !n.is_multiple_of(unit_nanos) || n / unit_nanos > max {
        return None;
    }
    u16::try_from(n / unit_nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_units_per_version() {
        assert_eq!(interval_units(Version::V2, Duration::from_secs(1)), Some(1));
        assert_eq!(
            interval_units(Version::V2, Duration::from_millis(1500)),
            None
        );
        assert_eq!(interval_units(Version::V2, Duration::from_secs(256)), None);
        assert_eq!(
            interval_units(Version::V3, Duration::from_millis(50)),
            Some(5)
        );
        assert_eq!(
            interval_units(Version::V3, Duration::from_millis(40_950)),
            Some(4095)
        );
        assert_eq!(
            interval_units(Version::V3, Duration::from_millis(40_960)),
            None
        );
        assert_eq!(interval_units(Version::V3, Duration::from_millis(15)), None);
        assert_eq!(interval_units(Version::V3, Duration::ZERO), None);
    }
}
