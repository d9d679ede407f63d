//! Statistics (RFC 6527 `vrrpv3Statistics*`, RFC 2787 authentication counters) and the
//! per-class log rate limiter.

use core::fmt;
use core::time::Duration;

use crate::Instant;

/// Why a received advert was rejected or flagged. The driver reports codec-level errors through
/// [`Engine::handle_rx_error`](crate::Engine::handle_rx_error); the engine finds the rest itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RxError {
    /// TTL/hop limit not 255 (multicast), or outside a peer's `min_ttl..=max_ttl` (RFC 6527
    /// `ipTtlError`).
    IpTtl,
    /// Version different from the configured one (`versionError`).
    Version,
    /// Checksum mismatch (`checksumError`).
    Checksum,
    /// No instance for this VRID on the interface (`vrIdError`).
    VrId,
    /// Type other than ADVERTISEMENT (`vrrpv3StatisticsRcvdInvalidTypePackets`).
    InvalidType,
    /// Length inconsistent with the address count (`vrrpv3StatisticsPacketLengthErrors`).
    PacketLength,
    /// Advert interval different from ours (`vrrpv3StatisticsAdvIntervalErrors`); dropped for
    /// VRRPv2 (RFC 3768 §7.1), only counted for VRRPv3.
    AdvInterval,
    /// Address list different from ours (`vrrpv3StatisticsAddressListErrors`); counted and
    /// logged, the advert is still processed.
    AddressList,
    /// VRRPv2 authentication failed (RFC 2787 `vrrpStatsAuthFailures`).
    AuthFailure,
    /// VRRPv2 unknown auth type (`vrrpStatsInvalidAuthType`).
    InvalidAuthType,
    /// VRRPv2 auth type differs from ours (`vrrpStatsAuthTypeMismatch`).
    AuthTypeMismatch,
    /// Unicast advert from an address that is not a configured peer (`check_unicast_src`).
    UnknownPeer,
    /// Multicast advert on a unicast instance, or the reverse.
    WrongDestination,
    /// Another router advertises with our own primary address.
    OwnAddress,
}

impl RxError {
    const ALL: usize = 14;
}

/// Log rate-limit slots: one per [`RxError`] class plus one for "lower-priority master heard".
pub(crate) const LOG_SLOTS: usize = RxError::ALL + 1;

impl fmt::Display for RxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RxError::IpTtl => "TTL/hop limit not accepted",
            RxError::Version => "version mismatch",
            RxError::Checksum => "bad checksum",
            RxError::VrId => "unknown VRID",
            RxError::InvalidType => "invalid type",
            RxError::PacketLength => "bad length",
            RxError::AdvInterval => "advert interval mismatch",
            RxError::AddressList => "address list mismatch",
            RxError::AuthFailure => "authentication failure",
            RxError::InvalidAuthType => "invalid auth type",
            RxError::AuthTypeMismatch => "auth type mismatch",
            RxError::UnknownPeer => "source is not a unicast peer",
            RxError::WrongDestination => "multicast/unicast mode mismatch",
            RxError::OwnAddress => "our own primary address as source",
        })
    }
}

/// RFC 6527 `vrrpv3StatisticsNewMasterReason`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NewMasterReason {
    /// Never been MASTER.
    #[default]
    NotMaster,
    /// Became MASTER as the address owner or by configuration at start.
    Priority,
    /// Preempted a lower-priority master.
    Preempted,
    /// The master stopped advertising or released (priority 0).
    MasterNoResponse,
}

/// Per-instance counters (RFC 6527 `vrrpv3StatisticsEntry`, plus RFC 2787 authentication).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `MasterTransitions`.
    pub master_transitions: u64,
    /// `NewMasterReason`.
    pub new_master_reason: NewMasterReason,
    /// `RcvdAdvertisements`: adverts that passed validation.
    pub rcvd_advertisements: u64,
    /// Adverts sent.
    pub sent_advertisements: u64,
    /// `AdvIntervalErrors`.
    pub adv_interval_errors: u64,
    /// `IpTtlErrors`.
    pub ip_ttl_errors: u64,
    /// `ProtoErrReason` of the last protocol error.
    pub proto_err_reason: Option<RxError>,
    /// `RcvdPriZeroPackets`.
    pub rcvd_pri_zero: u64,
    /// `SentPriZeroPackets`.
    pub sent_pri_zero: u64,
    /// `RcvdInvalidTypePackets`.
    pub rcvd_invalid_type: u64,
    /// `AddressListErrors`.
    pub address_list_errors: u64,
    /// `PacketLengthErrors`.
    pub packet_length_errors: u64,
    /// RFC 2787 `AuthFailures`.
    pub auth_failures: u64,
    /// RFC 2787 `InvalidAuthType`.
    pub invalid_auth_type: u64,
    /// RFC 2787 `AuthTypeMismatch`.
    pub auth_type_mismatch: u64,
    /// Version mismatches seen on this instance.
    pub version_errors: u64,
    /// Unicast adverts from unknown peers, wrong destination mode, or our own address.
    pub source_errors: u64,
    /// Checksum errors attributed to this instance.
    pub checksum_errors: u64,
}

impl Counters {
    pub(crate) fn count(&mut self, e: RxError) {
        let c = match e {
            RxError::IpTtl => &mut self.ip_ttl_errors,
            RxError::Version => &mut self.version_errors,
            RxError::Checksum => &mut self.checksum_errors,
            RxError::VrId => return,
            RxError::InvalidType => &mut self.rcvd_invalid_type,
            RxError::PacketLength => &mut self.packet_length_errors,
            RxError::AdvInterval => &mut self.adv_interval_errors,
            RxError::AddressList => &mut self.address_list_errors,
            RxError::AuthFailure => &mut self.auth_failures,
            RxError::InvalidAuthType => &mut self.invalid_auth_type,
            RxError::AuthTypeMismatch => &mut self.auth_type_mismatch,
            RxError::UnknownPeer | RxError::WrongDestination | RxError::OwnAddress => {
                &mut self.source_errors
            }
        };
        *c += 1;
        if matches!(
            e,
            RxError::IpTtl | RxError::Version | RxError::Checksum | RxError::VrId
        ) {
            self.proto_err_reason = Some(e);
        }
    }
}

/// Router-wide counters (RFC 6527 `vrrpv3RouterChecksumErrors`, `…VersionErrors`,
/// `…VrIdErrors`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GlobalCounters {
    /// Checksum errors not attributable to an instance.
    pub checksum_errors: u64,
    /// Version errors not attributable to an instance.
    pub version_errors: u64,
    /// Adverts for VRIDs we do not run.
    pub vrid_errors: u64,
}

/// Rate limiter for log lines, one slot per [`RxError`] class: the first occurrence is logged,
/// later ones at most once per `interval`, with the count of those suppressed. A valid advert from
/// a new master resets it, so a new problem is always reported at once.
#[derive(Clone, Debug, Default)]
pub(crate) struct LogLimiter {
    slots: [Option<(Instant, u32)>; LOG_SLOTS],
}

impl LogLimiter {
    /// Returns `Some(suppressed)` if this occurrence should be logged.
    pub(crate) fn allow(&mut self, now: Instant, slot: usize, interval: Duration) -> Option<u32> {
        let Some(slot) = self.slots.get_mut(slot) else {
            return Some(0);
        };
        match slot {
            Some((last, suppressed)) if now.saturating_duration_since(*last) < interval => {
                *suppressed = suppressed.saturating_add(1);
                None
            }
            Some((last, suppressed)) => {
                let n = *suppressed;
                *last = now;
                *suppressed = 0;
                Some(n)
            }
            None => {
                *slot = Some((now, 0));
                Some(0)
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        self.slots = Default::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_logs_first_then_once_per_interval_with_count() {
        let mut l = LogLimiter::default();
        let i = Duration::from_secs(60);
        let t0 = Instant::ZERO;
        assert_eq!(l.allow(t0, RxError::IpTtl as usize, i), Some(0));
        assert_eq!(
            l.allow(t0 + Duration::from_secs(1), RxError::IpTtl as usize, i),
            None
        );
        assert_eq!(
            l.allow(t0 + Duration::from_secs(2), RxError::IpTtl as usize, i),
            None
        );
        // Another class is independent.
        assert_eq!(l.allow(t0, RxError::AddressList as usize, i), Some(0));
        assert_eq!(
            l.allow(t0 + Duration::from_secs(61), RxError::IpTtl as usize, i),
            Some(2)
        );
        l.reset();
        assert_eq!(
            l.allow(t0 + Duration::from_secs(62), RxError::IpTtl as usize, i),
            Some(0)
        );
    }

    #[test]
    fn counters_map_errors() {
        let mut c = Counters::default();
        c.count(RxError::IpTtl);
        c.count(RxError::AddressList);
        c.count(RxError::AuthFailure);
        assert_eq!(c.ip_ttl_errors, 1);
        assert_eq!(c.address_list_errors, 1);
        assert_eq!(c.auth_failures, 1);
        assert_eq!(c.proto_err_reason, Some(RxError::IpTtl));
    }
}
