//! Statistics (RFC 6527 `vrrpv3Statistics*`, RFC 2787 authentication counters) and the
//! per-class log rate limiter.

use core::fmt;
use core::time::Duration;

use vrrp_proto::{Reject, RejectKind};

use crate::Instant;

/// Why a received advert was rejected or flagged: a codec/validation [`Reject`] (which names its
/// RFC 6527 / RFC 2787 counter), or one of the checks only the engine can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RxError {
    /// Rejected by `vrrp-proto` decoding or validation, or by the engine with a reason the codec
    /// defines (VRRPv3 interval mismatch, per-peer TTL, AH replay).
    Rejected(Reject),
    /// Unicast advert from an address that is not a configured peer (`check_unicast_src`).
    UnknownPeer,
    /// Multicast advert on a unicast instance, or the reverse.
    WrongDestination,
    /// Another router advertises with our own primary address.
    OwnAddress,
}

impl RxError {
    /// Index of this class's log rate-limit slot.
    fn slot(self) -> usize {
        match self {
            RxError::Rejected(r) => r.kind().index(),
            RxError::UnknownPeer => RejectKind::COUNT,
            RxError::WrongDestination => RejectKind::COUNT + 1,
            RxError::OwnAddress => RejectKind::COUNT + 2,
        }
    }
}

impl From<Reject> for RxError {
    fn from(r: Reject) -> Self {
        RxError::Rejected(r)
    }
}

impl fmt::Display for RxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RxError::Rejected(r) => r.fmt(f),
            RxError::UnknownPeer => f.write_str("source is not a unicast peer"),
            RxError::WrongDestination => f.write_str("multicast/unicast mode mismatch"),
            RxError::OwnAddress => f.write_str("our own primary address as source"),
        }
    }
}

/// Log rate-limit slots: one per [`RxError`] class plus one for "lower-priority master heard".
pub(crate) const LOG_SLOTS: usize = RejectKind::COUNT + 4;

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
    /// `ProtoErrReason` of the last protocol error (TTL, version, checksum or VRID).
    pub proto_err_reason: Option<RejectKind>,
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
    /// VRID errors attributed to this instance.
    pub vrid_errors: u64,
}

impl Counters {
    pub(crate) fn count(&mut self, e: RxError) {
        let kind = match e {
            RxError::Rejected(r) => r.kind(),
            RxError::UnknownPeer | RxError::WrongDestination | RxError::OwnAddress => {
                self.source_errors += 1;
                return;
            }
        };
        let c = match kind {
            RejectKind::Checksum => &mut self.checksum_errors,
            RejectKind::Version => &mut self.version_errors,
            RejectKind::Vrid => &mut self.vrid_errors,
            RejectKind::Ttl => &mut self.ip_ttl_errors,
            RejectKind::AuthFailure => &mut self.auth_failures,
            RejectKind::InvalidAuthType => &mut self.invalid_auth_type,
            RejectKind::AuthTypeMismatch => &mut self.auth_type_mismatch,
            RejectKind::InvalidType => &mut self.rcvd_invalid_type,
            RejectKind::AddressList => &mut self.address_list_errors,
            RejectKind::PacketLength => &mut self.packet_length_errors,
            RejectKind::AdvertInterval => &mut self.adv_interval_errors,
        };
        *c += 1;
        if matches!(
            kind,
            RejectKind::Ttl | RejectKind::Version | RejectKind::Checksum | RejectKind::Vrid
        ) {
            self.proto_err_reason = Some(kind);
        }
    }
}

/// An instance's counters as the engine keeps them: the ones that move in normal operation
/// inline, the error counters (which stay 0 on a healthy network) in a [`Counters`] allocated on
/// the first error. 40 bytes per instance instead of 144; [`InstanceCounters::snapshot`] gives
/// the public view.
#[derive(Clone, Debug, Default)]
pub(crate) struct InstanceCounters {
    pub(crate) rcvd_advertisements: u64,
    pub(crate) sent_advertisements: u64,
    /// RFC 6527 `MasterTransitions` is a Counter32: wrapping is its defined behaviour.
    pub(crate) master_transitions: u32,
    /// Counted as Counter32s too (they move only when a master releases).
    pub(crate) rcvd_pri_zero: u32,
    pub(crate) sent_pri_zero: u32,
    pub(crate) new_master_reason: NewMasterReason,
    /// The error counters (only those fields of it are used).
    errors: Option<Box<Counters>>,
}

impl InstanceCounters {
    /// Counts a rejected or flagged advert.
    pub(crate) fn count(&mut self, e: RxError) {
        self.errors.get_or_insert_default().count(e);
    }

    /// `MasterTransitions` + 1 (wrapping, as a Counter32 does).
    pub(crate) fn became_master(&mut self, reason: NewMasterReason) {
        self.master_transitions = self.master_transitions.wrapping_add(1);
        self.new_master_reason = reason;
    }

    /// The public view.
    pub(crate) fn snapshot(&self) -> Counters {
        let mut c = self.errors.as_deref().cloned().unwrap_or_default();
        c.rcvd_advertisements = self.rcvd_advertisements;
        c.sent_advertisements = self.sent_advertisements;
        c.master_transitions = u64::from(self.master_transitions);
        c.rcvd_pri_zero = u64::from(self.rcvd_pri_zero);
        c.sent_pri_zero = u64::from(self.sent_pri_zero);
        c.new_master_reason = self.new_master_reason;
        c
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
    /// Other undecodable packets not attributable to an instance.
    pub other_errors: u64,
}

/// Rate limiter for log lines, one slot per [`RxError`] class: the first occurrence is logged,
/// later ones at most once per `interval`, with the count of those suppressed. A valid advert from
/// a new master resets it, so a new problem is always reported at once.
#[derive(Clone, Debug, Default)]
pub(crate) struct LogLimiter {
    /// Allocated on the first error: most instances never see one, and this keeps them small.
    slots: Option<Box<[Slot; LOG_SLOTS]>>,
}

/// When a class was last logged and how many occurrences were suppressed since.
type Slot = Option<(Instant, u32)>;

impl LogLimiter {
    /// Returns `Some(suppressed)` if this occurrence should be logged.
    pub(crate) fn allow_error(
        &mut self,
        now: Instant,
        e: RxError,
        interval: Duration,
    ) -> Option<u32> {
        self.allow(now, e.slot(), interval)
    }

    /// As [`LogLimiter::allow_error`] for a raw slot index.
    pub(crate) fn allow(&mut self, now: Instant, slot: usize, interval: Duration) -> Option<u32> {
        let slots = self
            .slots
            .get_or_insert_with(|| Box::new([None; LOG_SLOTS]));
        let Some(slot) = slots.get_mut(slot) else {
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
        self.slots = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: RxError = RxError::Rejected(Reject::Ttl { received: 1 });

    #[test]
    fn limiter_logs_first_then_once_per_interval_with_count() {
        let mut l = LogLimiter::default();
        let i = Duration::from_secs(60);
        let t0 = Instant::ZERO;
        assert_eq!(l.allow_error(t0, TTL, i), Some(0));
        assert_eq!(l.allow_error(t0 + Duration::from_secs(1), TTL, i), None);
        assert_eq!(l.allow_error(t0 + Duration::from_secs(2), TTL, i), None);
        // Another class is independent.
        assert_eq!(l.allow_error(t0, RxError::UnknownPeer, i), Some(0));
        assert_eq!(l.allow_error(t0 + Duration::from_secs(61), TTL, i), Some(2));
        l.reset();
        assert_eq!(l.allow_error(t0 + Duration::from_secs(62), TTL, i), Some(0));
        // Out-of-range slots are always allowed rather than panicking.
        assert_eq!(l.allow(t0, usize::MAX, i), Some(0));
    }

    #[test]
    fn counters_map_errors() {
        let mut c = Counters::default();
        c.count(TTL);
        c.count(RxError::Rejected(Reject::AuthFailure(
            vrrp_proto::AuthFailure::Password,
        )));
        c.count(RxError::UnknownPeer);
        assert_eq!(c.ip_ttl_errors, 1);
        assert_eq!(c.auth_failures, 1);
        assert_eq!(c.source_errors, 1);
        assert_eq!(c.proto_err_reason, Some(RejectKind::Ttl));
    }

    #[test]
    fn instance_counters_keep_errors_apart() {
        let mut c = InstanceCounters::default();
        assert!(c.errors.is_none());
        c.rcvd_advertisements = 7;
        c.sent_pri_zero = 2;
        c.became_master(NewMasterReason::Preempted);
        assert!(c.errors.is_none(), "no error, no allocation");
        c.count(TTL);
        let s = c.snapshot();
        assert_eq!(s.rcvd_advertisements, 7);
        assert_eq!(s.sent_pri_zero, 2);
        assert_eq!(s.master_transitions, 1);
        assert_eq!(s.new_master_reason, NewMasterReason::Preempted);
        assert_eq!(s.ip_ttl_errors, 1);
        c.master_transitions = u32::MAX;
        c.became_master(NewMasterReason::Priority);
        assert_eq!(c.snapshot().master_transitions, 0, "a Counter32 wraps");
    }
}
