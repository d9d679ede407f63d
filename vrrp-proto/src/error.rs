//! Error types: why a received packet was rejected, and why a packet could not be built.

use core::net::IpAddr;

use crate::vrrp::{AdvertInterval, AuthType, Version};

/// Why a received advertisement was rejected.
///
/// Every variant maps onto exactly one statistic of the VRRP MIBs (RFC 6527 `vrrpv3Statistics*`
/// and `vrrpv3Router*`, plus RFC 2787 `vrrpStats*` for the VRRPv2 authentication counters), given
/// by [`Reject::kind`]. The engine counts and logs them; [`RejectKind::scope`] says whether the
/// counter is router-wide or per virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reject {
    /// The VRRP checksum does not verify (RFC 6527 `vrrpv3RouterChecksumErrors`).
    #[error("invalid VRRP checksum: received {received:#06x}, expected {expected:#06x}")]
    Checksum {
        /// The checksum field of the packet.
        received: u16,
        /// The checksum the packet should carry under the checksum mode in use.
        expected: u16,
    },
    /// Unknown version, VRRPv2 over IPv6, or a version other than the configured one
    /// (RFC 6527 `vrrpv3RouterVersionErrors`).
    #[error("invalid VRRP version {received}{}", expected_version(*.expected))]
    Version {
        /// The version nibble of the packet.
        received: u8,
        /// The configured version, when the rejection came from the instance's configuration.
        expected: Option<Version>,
    },
    /// VRID 0, or a VRID other than the instance's (RFC 6527 `vrrpv3RouterVrIdErrors`).
    #[error("VRID mismatch: received {received}, expected {expected}")]
    Vrid {
        /// The VRID of the packet.
        received: u8,
        /// The VRID expected (0 when the packet's VRID is itself invalid).
        expected: u8,
    },
    /// TTL (IPv4) or hop limit (IPv6) is not 255 (RFC 6527 `vrrpv3StatisticsIpTtlErrors`).
    #[error("invalid TTL/hop limit {received}, expected 255")]
    Ttl {
        /// The TTL or hop limit of the packet.
        received: u8,
    },
    /// The authentication data does not authenticate (RFC 2787 `vrrpStatsAuthFailures`).
    #[error("authentication failure: {0}")]
    AuthFailure(AuthFailure),
    /// A VRRPv2 auth type other than 0, 1 or 2 (RFC 2787 `vrrpStatsInvalidAuthType`).
    #[error("invalid auth type {received}")]
    InvalidAuthType {
        /// The auth type of the packet.
        received: u8,
    },
    /// A valid auth type that differs from the configured one, or an AH header present or absent
    /// against the VRRP auth type (RFC 2787 `vrrpStatsAuthTypeMismatch`).
    #[error("auth type mismatch: received {received:?}, expected {expected:?}")]
    AuthTypeMismatch {
        /// The auth type the packet carries (AH if an AH header is present).
        received: AuthType,
        /// The auth type configured.
        expected: AuthType,
    },
    /// The type nibble is not 1 = ADVERTISEMENT (RFC 6527 `vrrpv3StatisticsRcvdInvalidTypePackets`).
    #[error("invalid VRRP packet type {received}")]
    InvalidType {
        /// The type nibble of the packet.
        received: u8,
    },
    /// The address list does not match the configured virtual addresses
    /// (RFC 6527 `vrrpv3StatisticsAddressListErrors`).
    #[error("address list error: {0}")]
    AddressList(AddressListError),
    /// The packet is shorter or longer than its headers and address count say
    /// (RFC 6527 `vrrpv3StatisticsPacketLengthErrors`).
    #[error("packet length error: {0}")]
    PacketLength(LengthError),
    /// The advertisement interval differs from the configured one, or is zero
    /// (RFC 6527 `vrrpv3StatisticsAdvIntervalErrors`).
    #[error("advertisement interval error: received {received}, expected {expected:?}")]
    AdvertInterval {
        /// The interval in the packet.
        received: AdvertInterval,
        /// The configured interval (`None` when the received value is invalid by itself).
        expected: Option<AdvertInterval>,
    },
}

fn expected_version(v: Option<Version>) -> &'static str {
    match v {
        Some(Version::V2) => ", expected 2",
        Some(Version::V3) => ", expected 3",
        None => "",
    }
}

/// What an authentication failure was, in detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The simple-text password (auth type 1) does not match.
    #[error("password mismatch")]
    Password,
    /// The AH SPI is not the IPv4 source address (keepalived's rule).
    #[error("AH SPI {spi:#010x} is not the source address")]
    AhSpi {
        /// The SPI received.
        spi: u32,
    },
    /// The AH integrity check value does not match.
    #[error("AH ICV mismatch")]
    AhIcv,
    /// The AH header is malformed (next header not 112, payload length not 4).
    #[error("malformed AH header")]
    AhHeader,
    /// The AH sequence number is older than the last one accepted (checked by the engine).
    #[error("AH sequence number {received} already seen (last {last})")]
    AhReplay {
        /// The sequence number received.
        received: u32,
        /// The last sequence number accepted.
        last: u32,
    },
}

/// What an address-list error was, in detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressListError {
    /// The address count differs from the number of configured addresses.
    #[error("address count {received}, expected {expected}")]
    Count {
        /// The count in the packet.
        received: u8,
        /// The number of addresses configured.
        expected: usize,
    },
    /// A configured address is not in the packet.
    #[error("configured address {0} not in the advertisement")]
    Missing(IpAddr),
    /// The packet's address family differs from the instance's.
    #[error("address family mismatch")]
    Family,
}

/// What a length error was, in detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LengthError {
    /// Fewer bytes than the fixed part of a header.
    #[error("{what}: {len} bytes, need at least {needed}")]
    Truncated {
        /// Which header or packet was cut short.
        what: &'static str,
        /// The bytes available.
        len: usize,
        /// The bytes needed.
        needed: usize,
    },
    /// The VRRP message length does not match its address count (and auth data, for v2).
    #[error("VRRP message is {len} bytes, its address count implies {expected}")]
    Mismatch {
        /// The bytes available for the VRRP message.
        len: usize,
        /// The length implied by the header.
        expected: usize,
    },
    /// The IPv4 header is malformed (version, IHL or total length).
    #[error("malformed IPv4 header")]
    Ipv4Header,
    /// The IPv4 protocol is neither VRRP (112) nor AH (51).
    #[error("IP protocol {0} is neither VRRP nor AH")]
    Protocol(u8),
    /// The datagram is a fragment.
    #[error("fragmented datagram")]
    Fragment,
}

impl LengthError {
    /// `Ok` if `len >= needed`, else a [`LengthError::Truncated`] rejection for `what`.
    pub(crate) fn at_least(what: &'static str, len: usize, needed: usize) -> Result<(), Reject> {
        if len < needed {
            return Err(Reject::PacketLength(LengthError::Truncated {
                what,
                len,
                needed,
            }));
        }
        Ok(())
    }
}

impl FrameError {
    /// `Ok` if `len >= needed`, else a [`FrameError::Truncated`] for `what`.
    pub(crate) fn at_least(
        what: &'static str,
        len: usize,
        needed: usize,
    ) -> Result<(), FrameError> {
        if len < needed {
            return Err(FrameError::Truncated { what, len, needed });
        }
        Ok(())
    }
}

impl From<AuthFailure> for Reject {
    fn from(e: AuthFailure) -> Self {
        Reject::AuthFailure(e)
    }
}

impl From<AddressListError> for Reject {
    fn from(e: AddressListError) -> Self {
        Reject::AddressList(e)
    }
}

impl From<LengthError> for Reject {
    fn from(e: LengthError) -> Self {
        Reject::PacketLength(e)
    }
}

/// The statistic a [`Reject`] counts against, without details: usable as a counter index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum RejectKind {
    /// `vrrpv3RouterChecksumErrors` (RFC 6527).
    Checksum = 0,
    /// `vrrpv3RouterVersionErrors` (RFC 6527).
    Version = 1,
    /// `vrrpv3RouterVrIdErrors` (RFC 6527).
    Vrid = 2,
    /// `vrrpv3StatisticsIpTtlErrors` (RFC 6527).
    Ttl = 3,
    /// `vrrpStatsAuthFailures` (RFC 2787).
    AuthFailure = 4,
    /// `vrrpStatsInvalidAuthType` (RFC 2787).
    InvalidAuthType = 5,
    /// `vrrpStatsAuthTypeMismatch` (RFC 2787).
    AuthTypeMismatch = 6,
    /// `vrrpv3StatisticsRcvdInvalidTypePackets` (RFC 6527).
    InvalidType = 7,
    /// `vrrpv3StatisticsAddressListErrors` (RFC 6527).
    AddressList = 8,
    /// `vrrpv3StatisticsPacketLengthErrors` (RFC 6527).
    PacketLength = 9,
    /// `vrrpv3StatisticsAdvIntervalErrors` (RFC 6527).
    AdvertInterval = 10,
}

/// Whether a statistic belongs to the router as a whole or to one virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Counted once per router (RFC 6527 `vrrpv3RouterStatistics`).
    Router,
    /// Counted per virtual router (RFC 6527 `vrrpv3StatisticsTable`, RFC 2787 `vrrpRouterStatsTable`).
    VirtualRouter,
}

impl RejectKind {
    /// Number of kinds: the size of a counter array indexed by [`RejectKind::index`].
    pub const COUNT: usize = 11;

    /// All kinds, in index order.
    pub const ALL: [RejectKind; Self::COUNT] = [
        Self::Checksum,
        Self::Version,
        Self::Vrid,
        Self::Ttl,
        Self::AuthFailure,
        Self::InvalidAuthType,
        Self::AuthTypeMismatch,
        Self::InvalidType,
        Self::AddressList,
        Self::PacketLength,
        Self::AdvertInterval,
    ];

    /// A dense index in `0..COUNT`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether the MIB counts this router-wide or per virtual router.
    pub const fn scope(self) -> Scope {
        match self {
            Self::Checksum | Self::Version | Self::Vrid => Scope::Router,
            _ => Scope::VirtualRouter,
        }
    }

    /// The MIB object name of the counter.
    pub const fn mib_name(self) -> &'static str {
        match self {
            Self::Checksum => "vrrpv3RouterChecksumErrors",
            Self::Version => "vrrpv3RouterVersionErrors",
            Self::Vrid => "vrrpv3RouterVrIdErrors",
            Self::Ttl => "vrrpv3StatisticsIpTtlErrors",
            Self::AuthFailure => "vrrpStatsAuthFailures",
            Self::InvalidAuthType => "vrrpStatsInvalidAuthType",
            Self::AuthTypeMismatch => "vrrpStatsAuthTypeMismatch",
            Self::InvalidType => "vrrpv3StatisticsRcvdInvalidTypePackets",
            Self::AddressList => "vrrpv3StatisticsAddressListErrors",
            Self::PacketLength => "vrrpv3StatisticsPacketLengthErrors",
            Self::AdvertInterval => "vrrpv3StatisticsAdvIntervalErrors",
        }
    }
}

impl Reject {
    /// The statistic this rejection counts against.
    pub const fn kind(&self) -> RejectKind {
        match self {
            Self::Checksum { .. } => RejectKind::Checksum,
            Self::Version { .. } => RejectKind::Version,
            Self::Vrid { .. } => RejectKind::Vrid,
            Self::Ttl { .. } => RejectKind::Ttl,
            Self::AuthFailure(_) => RejectKind::AuthFailure,
            Self::InvalidAuthType { .. } => RejectKind::InvalidAuthType,
            Self::AuthTypeMismatch { .. } => RejectKind::AuthTypeMismatch,
            Self::InvalidType { .. } => RejectKind::InvalidType,
            Self::AddressList(_) => RejectKind::AddressList,
            Self::PacketLength(_) => RejectKind::PacketLength,
            Self::AdvertInterval { .. } => RejectKind::AdvertInterval,
        }
    }
}

/// Why a packet could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The output buffer is too small.
    #[error("buffer of {len} bytes, need {needed}")]
    BufferTooSmall {
        /// The buffer length.
        len: usize,
        /// The bytes needed.
        needed: usize,
    },
    /// More than 255 addresses.
    #[error("{0} addresses, at most 255 fit the count field")]
    TooManyAddresses(usize),
    /// The representation is inconsistent (for example v2 with IPv6 addresses, v3 with
    /// authentication, or an endpoint family that differs from the address family).
    #[error("inconsistent representation: {0}")]
    Inconsistent(&'static str),
}

/// Why an Ethernet, ARP, IPv6 or Neighbour Discovery frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Fewer bytes than the headers need.
    #[error("{what}: {len} bytes, need at least {needed}")]
    Truncated {
        /// Which header was cut short.
        what: &'static str,
        /// The bytes available.
        len: usize,
        /// The bytes needed.
        needed: usize,
    },
    /// A field holds a value this codec does not handle (ethertype, hardware type, ICMPv6
    /// type, option length...).
    #[error("unsupported {field} {value:#x}")]
    Unsupported {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u32,
    },
    /// A checksum does not verify.
    #[error("bad checksum")]
    Checksum,
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn kinds_are_dense_and_ordered() {
        for (i, k) in RejectKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
        assert_eq!(RejectKind::Checksum.scope(), Scope::Router);
        assert_eq!(RejectKind::Ttl.scope(), Scope::VirtualRouter);
    }

    #[test]
    fn reject_is_small() {
        assert!(core::mem::size_of::<Reject>() <= 40);
    }

    #[test]
    fn messages_read_well() {
        let r = Reject::Version {
            received: 4,
            expected: Some(Version::V3),
        };
        assert_eq!(r.to_string(), "invalid VRRP version 4, expected 3");
        assert_eq!(r.kind(), RejectKind::Version);
    }
}
