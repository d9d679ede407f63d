//! The VRRP advertisement: VRRPv2 (RFC 3768 §5) and VRRPv3 (RFC 5798 §5, RFC 9568 §5).
//!
//! ```text
//! VRRPv2 (RFC 3768 §5.1)                     VRRPv3 (RFC 5798 §5.1, RFC 9568 §5.1)
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2: |   Auth Type   |   Adver Int   |          Checksum             |
//! v3: |(rsvd) |     Max Adver Int     |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Count x IPv4 (4 bytes) or, v3 only, IPv6 (16 bytes)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2 only: |            Authentication Data (8 bytes)               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`Packet`] is a zero-copy view over a byte buffer; [`Repr`] is the parsed, structurally valid
//! form. Once [`Packet::new_checked`] has returned `Ok`, no accessor or setter panics; with
//! untrusted input, always use `new_checked`. [`Repr::emit`] checks the buffer length itself and
//! never panics.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use crate::checksum;
use crate::error::{EmitError, LengthError, Reject};

/// The IP protocol number of VRRP (RFC 5798 §5.1.1.4 / §5.1.2.4).
pub const IP_PROTOCOL: u8 = 112;
/// The IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The TTL / hop limit a VRRP sender uses and a receiver requires (RFC 5798 §5.1.1.3).
pub const REQUIRED_TTL: u8 = 255;
/// The length of the fixed header.
pub const HEADER_LEN: usize = 8;
/// The length of the VRRPv2 authentication data.
pub const AUTH_DATA_LEN: usize = 8;
/// The type nibble of an ADVERTISEMENT, the only type defined (RFC 5798 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;

mod field {
    use core::ops::Range;
    pub(super) const VER_TYPE: usize = 0;
    pub(super) const VRID: usize = 1;
    pub(super) const PRIORITY: usize = 2;
    pub(super) const COUNT: usize = 3;
    pub(super) const V2_AUTH_TYPE: usize = 4;
    pub(super) const V2_ADVER_INT: usize = 5;
    pub(super) const V3_MAX_ADVER_INT: Range<usize> = 4..6;
    pub(super) const CHECKSUM: Range<usize> = 6..8;
    pub(super) const ADDRESSES: usize = 8;
}

// ===== typed values =====

/// The VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2 (RFC 3768): IPv4 only, intervals in seconds, optional authentication.
    V2,
    /// VRRPv3 (RFC 5798, RFC 9568): IPv4 and IPv6, intervals in centiseconds.
    V3,
}

impl Version {
    /// The version nibble on the wire.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The version for a nibble value, if it is 2 or 3.
    pub const fn from_number(n: u8) -> Option<Version> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// A VRRPv2 advertisement interval in whole seconds (RFC 3768 §5.3.7, an 8-bit field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seconds(pub u8);

impl Seconds {
    /// The interval as a duration.
    pub const fn to_duration(self) -> Duration {
        Duration::from_secs(self.0 as u64)
    }
}

/// A VRRPv3 maximum advertisement interval in centiseconds (RFC 5798 §5.2.7, a 12-bit field:
/// 0..=4095, that is up to 40.95 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Centiseconds(u16);

impl Centiseconds {
    /// The largest value the 12-bit field holds.
    pub const MAX: Centiseconds = Centiseconds(0x0fff);

    /// A value, if it fits in 12 bits.
    pub const fn new(cs: u16) -> Option<Centiseconds> {
        if cs <= 0x0fff {
            Some(Centiseconds(cs))
        } else {
            None
        }
    }

    /// The value in centiseconds.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The interval as a duration.
    pub const fn to_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
}

/// The advertisement interval, whose unit depends on the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdvertInterval {
    /// VRRPv2: `Adver Int`, seconds.
    V2(Seconds),
    /// VRRPv3: `Max Adver Int`, centiseconds.
    V3(Centiseconds),
}

impl AdvertInterval {
    /// The version this interval belongs to.
    pub const fn version(self) -> Version {
        match self {
            AdvertInterval::V2(_) => Version::V2,
            AdvertInterval::V3(_) => Version::V3,
        }
    }

    /// The interval as a duration.
    pub const fn to_duration(self) -> Duration {
        match self {
            AdvertInterval::V2(s) => s.to_duration(),
            AdvertInterval::V3(c) => c.to_duration(),
        }
    }

    /// Whether the raw value is zero (never valid to send; rejected on receive).
    pub const fn is_zero(self) -> bool {
        match self {
            AdvertInterval::V2(s) => s.0 == 0,
            AdvertInterval::V3(c) => c.0 == 0,
        }
    }
}

impl fmt::Display for AdvertInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdvertInterval::V2(s) => write!(f, "{} s", s.0),
            AdvertInterval::V3(c) => write!(f, "{} cs", c.0),
        }
    }
}

/// The VRRPv2 authentication type (RFC 3768 §5.3.6; types 1 and 2 come from RFC 2338 and are
/// kept by keepalived).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// 0: no authentication (also the only value for VRRPv3, which has no field).
    None,
    /// 1: simple text password.
    Simple,
    /// 2: IP Authentication Header (keepalived's HMAC-MD5-96 variant, see [`crate::ipsec_ah`]).
    Ah,
}

impl AuthType {
    /// The wire value.
    pub const fn number(self) -> u8 {
        match self {
            AuthType::None => 0,
            AuthType::Simple => 1,
            AuthType::Ah => 2,
        }
    }

    /// The type for a wire value, if it is 0, 1 or 2.
    pub const fn from_number(n: u8) -> Option<AuthType> {
        match n {
            0 => Some(AuthType::None),
            1 => Some(AuthType::Simple),
            2 => Some(AuthType::Ah),
            _ => None,
        }
    }
}

/// VRRPv2 authentication as carried in the advertisement.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// No authentication; the 8 auth bytes are zero.
    None,
    /// A simple text password: the 8 auth bytes (keepalived truncates or zero-pads to 8).
    Simple([u8; 8]),
    /// IP AH authentication; the 8 auth bytes are zero and the AH header precedes VRRP.
    Ah,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password is a secret: never print it.
        match self {
            Auth::None => f.write_str("None"),
            Auth::Simple(_) => f.write_str("Simple(<redacted>)"),
            Auth::Ah => f.write_str("Ah"),
        }
    }
}

impl Auth {
    /// The auth type of this authentication.
    pub const fn auth_type(&self) -> AuthType {
        match self {
            Auth::None => AuthType::None,
            Auth::Simple(_) => AuthType::Simple,
            Auth::Ah => AuthType::Ah,
        }
    }

    /// The 8-byte key keepalived derives from a configured `auth_pass`: the first 8 bytes,
    /// zero-padded.
    pub fn key_from_password(pass: &[u8]) -> [u8; 8] {
        let mut key = [0u8; 8];
        let n = pass.len().min(8);
        key[..n].copy_from_slice(&pass[..n]);
        key
    }
}

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4: 4-byte addresses.
    Ipv4,
    /// IPv6: 16-byte addresses.
    Ipv6,
}

impl Family {
    /// The size of one address.
    pub const fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }
}

/// Source and destination of the IP packet carrying an advertisement: the input of the
/// pseudo-header checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoints {
    /// IPv4 source and destination.
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// IPv6 source and destination.
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
    },
}

impl Endpoints {
    /// The address family.
    pub const fn family(&self) -> Family {
        match self {
            Endpoints::V4 { .. } => Family::Ipv4,
            Endpoints::V6 { .. } => Family::Ipv6,
        }
    }

    /// The source address.
    pub fn src(&self) -> IpAddr {
        match *self {
            Endpoints::V4 { src, .. } => IpAddr::V4(src),
            Endpoints::V6 { src, .. } => IpAddr::V6(src),
        }
    }

    /// The destination address.
    pub fn dst(&self) -> IpAddr {
        match *self {
            Endpoints::V4 { dst, .. } => IpAddr::V4(dst),
            Endpoints::V6 { dst, .. } => IpAddr::V6(dst),
        }
    }
}

/// How a VRRPv3-over-IPv4 checksum is computed. The caller chooses; there is no default.
///
/// VRRPv2 never uses a pseudo-header and IPv6 always does, so this only matters for VRRPv3 over
/// IPv4 (see [`ChecksumScope::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ipv4ChecksumMode {
    /// Include the IPv4 pseudo-header (source, destination, 0, 112, length), as keepalived does
    /// by default (RFC 5798 §5.2.8 as keepalived reads it).
    PseudoHeader,
    /// The VRRP message alone, as RFC 9568 §5.2.8, Cisco and Juniper do; keepalived's
    /// `v3_checksum_as_v2`.
    NoPseudoHeader,
    /// The pseudo-header with the multicast group 224.0.0.18 as destination whatever the real
    /// destination is: keepalived up to 1.3.6 in unicast mode, and keepalived's
    /// `old_unicast_checksum` since. Same as `PseudoHeader` for adverts sent to that group.
    OldUnicast,
}

/// What the checksum of one advertisement covers besides the VRRP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumScope {
    /// The VRRP message only.
    Message,
    /// An IPv4 pseudo-header plus the message.
    PseudoV4 {
        /// IPv4 source.
        src: Ipv4Addr,
        /// IPv4 destination.
        dst: Ipv4Addr,
    },
    /// An IPv6 pseudo-header plus the message.
    PseudoV6 {
        /// IPv6 source.
        src: Ipv6Addr,
        /// IPv6 destination.
        dst: Ipv6Addr,
    },
}

impl ChecksumScope {
    /// The scope for an advertisement of `version` between `endpoints`: v2 covers the message
    /// only (RFC 3768 §5.3.8); v3 over IPv6 always has the pseudo-header (RFC 5798 §5.2.8);
    /// v3 over IPv4 follows `mode`.
    pub const fn new(version: Version, endpoints: Endpoints, mode: Ipv4ChecksumMode) -> Self {
        match (version, endpoints, mode) {
            (Version::V2, _, _)
            | (Version::V3, Endpoints::V4 { .. }, Ipv4ChecksumMode::NoPseudoHeader) => {
                ChecksumScope::Message
            }
            (Version::V3, Endpoints::V4 { src, dst }, Ipv4ChecksumMode::PseudoHeader) => {
                ChecksumScope::PseudoV4 { src, dst }
            }
            (Version::V3, Endpoints::V4 { src, .. }, Ipv4ChecksumMode::OldUnicast) => {
                ChecksumScope::PseudoV4 {
                    src,
                    dst: MULTICAST_V4,
                }
            }
            (Version::V3, Endpoints::V6 { src, dst }, _) => ChecksumScope::PseudoV6 { src, dst },
        }
    }

    /// The one's-complement sum of the pseudo-header (if any) and `message`, skipping the
    /// checksum field when `skip_field` is set. Not folded.
    #[inline]
    fn sum(self, message: &[u8], skip_field: bool) -> u64 {
        let len = message.len();
        let acc = match self {
            ChecksumScope::Message => 0,
            ChecksumScope::PseudoV4 { src, dst } => {
                checksum::pseudo_header_v4(src, dst, IP_PROTOCOL, len as u16)
            }
            ChecksumScope::PseudoV6 { src, dst } => {
                checksum::pseudo_header_v6(src, dst, IP_PROTOCOL, len as u32)
            }
        };
        match (
            skip_field,
            message.get(..field::CHECKSUM.start),
            message.get(field::CHECKSUM.end..),
        ) {
            (true, Some(head), Some(tail)) => {
                checksum::accumulate(checksum::accumulate(acc, head), tail)
            }
            _ => checksum::accumulate(acc, message),
        }
    }
}

// ===== addresses =====

/// The address list of an advertisement: either borrowed wire bytes (from parsing) or a slice of
/// typed addresses (for emitting). Two lists compare equal when they hold the same addresses in
/// the same order, whatever their storage.
#[derive(Clone, Copy)]
pub struct Addresses<'a>(AddrInner<'a>);

#[derive(Clone, Copy)]
enum AddrInner<'a> {
    WireV4(&'a [u8]),
    WireV6(&'a [u8]),
    V4(&'a [Ipv4Addr]),
    V6(&'a [Ipv6Addr]),
}

impl<'a> Addresses<'a> {
    /// A list of IPv4 addresses.
    pub const fn v4(addrs: &'a [Ipv4Addr]) -> Self {
        Addresses(AddrInner::V4(addrs))
    }

    /// A list of IPv6 addresses.
    pub const fn v6(addrs: &'a [Ipv6Addr]) -> Self {
        Addresses(AddrInner::V6(addrs))
    }

    /// An empty list of the given family.
    pub const fn empty(family: Family) -> Self {
        match family {
            Family::Ipv4 => Addresses(AddrInner::V4(&[])),
            Family::Ipv6 => Addresses(AddrInner::V6(&[])),
        }
    }

    /// A view over wire bytes. `bytes.len()` must be a multiple of the address size (the parser
    /// guarantees it; a trailing partial address is ignored).
    pub(crate) const fn wire(family: Family, bytes: &'a [u8]) -> Self {
        match family {
            Family::Ipv4 => Addresses(AddrInner::WireV4(bytes)),
            Family::Ipv6 => Addresses(AddrInner::WireV6(bytes)),
        }
    }

    /// The address family.
    pub const fn family(&self) -> Family {
        match self.0 {
            AddrInner::WireV4(_) | AddrInner::V4(_) => Family::Ipv4,
            AddrInner::WireV6(_) | AddrInner::V6(_) => Family::Ipv6,
        }
    }

    /// The number of addresses.
    pub const fn len(&self) -> usize {
        match self.0 {
            AddrInner::WireV4(b) => b.len() / 4,
            AddrInner::WireV6(b) => b.len() / 16,
            AddrInner::V4(a) => a.len(),
            AddrInner::V6(a) => a.len(),
        }
    }

    /// Whether the list is empty.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The IPv4 address at `i` (`None` if out of range or the list is IPv6).
    #[inline]
    pub fn get_v4(&self, i: usize) -> Option<Ipv4Addr> {
        match self.0 {
            AddrInner::WireV4(b) => {
                let s = b.get(i * 4..i * 4 + 4)?;
                Some(Ipv4Addr::new(s[0], s[1], s[2], s[3]))
            }
            AddrInner::V4(a) => a.get(i).copied(),
            _ => None,
        }
    }

    /// The IPv6 address at `i` (`None` if out of range or the list is IPv4).
    #[inline]
    pub fn get_v6(&self, i: usize) -> Option<Ipv6Addr> {
        match self.0 {
            AddrInner::WireV6(b) => {
                let s: &[u8; 16] = b.get(i * 16..i * 16 + 16)?.try_into().ok()?;
                Some(Ipv6Addr::from(*s))
            }
            AddrInner::V6(a) => a.get(i).copied(),
            _ => None,
        }
    }

    /// The address at `i`.
    pub fn get(&self, i: usize) -> Option<IpAddr> {
        match self.family() {
            Family::Ipv4 => self.get_v4(i).map(IpAddr::V4),
            Family::Ipv6 => self.get_v6(i).map(IpAddr::V6),
        }
    }

    /// Iterates over the addresses.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Writes the addresses in wire order to `out`, which must be exactly
    /// `len() * family().address_len()` bytes long.
    fn write(&self, out: &mut [u8]) {
        match self.0 {
            AddrInner::WireV4(b) | AddrInner::WireV6(b) => {
                let n = b.len().min(out.len());
                out[..n].copy_from_slice(&b[..n]);
            }
            AddrInner::V4(a) => {
                for (chunk, addr) in out.chunks_exact_mut(4).zip(a) {
                    chunk.copy_from_slice(&addr.octets());
                }
            }
            AddrInner::V6(a) => {
                for (chunk, addr) in out.chunks_exact_mut(16).zip(a) {
                    chunk.copy_from_slice(&addr.octets());
                }
            }
        }
    }
}

/// Whether wire bytes hold exactly `typed`, in order, comparing addresses as native-endian
/// integers (both sides in the same byte order, so no swapping).
fn wire_eq<const N: usize, A: Copy, I>(
    wire: &[u8],
    typed: &[A],
    read: impl Fn(&[u8]) -> I,
    bits: impl Fn(A) -> I,
) -> bool
where
    I: Copy + Default + PartialEq + core::ops::BitOr<Output = I> + core::ops::BitXor<Output = I>,
{
    // Branch-free: OR together the XOR of every pair, so the loop has no early exit and
    // vectorises; lists that differ are rare and short anyway.
    wire.len() == typed.len() * N
        && wire
            .chunks_exact(N)
            .zip(typed)
            .fold(I::default(), |diff, (w, &a)| diff | (read(w) ^ bits(a)))
            == I::default()
}

fn ne_u128(c: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&c[..16]);
    u128::from_ne_bytes(b)
}

impl PartialEq for Addresses<'_> {
    fn eq(&self, other: &Self) -> bool {
        use AddrInner::{V4, V6, WireV4, WireV6};
        // Compare bytes directly: this runs for every received advert.
        match (self.0, other.0) {
            (WireV4(a), WireV4(b)) | (WireV6(a), WireV6(b)) => a == b,
            (V4(a), V4(b)) => a == b,
            (V6(a), V6(b)) => a == b,
            (WireV4(w), V4(t)) | (V4(t), WireV4(w)) => wire_eq::<4, _, _>(
                w,
                t,
                |c: &[u8]| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]),
                |a: Ipv4Addr| u32::from_ne_bytes(a.octets()),
            ),
            (WireV6(w), V6(t)) | (V6(t), WireV6(w)) => {
                wire_eq::<16, _, _>(w, t, ne_u128, |a: Ipv6Addr| u128::from_ne_bytes(a.octets()))
            }
            _ => false,
        }
    }
}

impl Eq for Addresses<'_> {}

impl fmt::Debug for Addresses<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

// ===== Packet =====

wire_packet! {
    /// A read/write view over a VRRP message (no IP header).
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds at least the fixed header. Accessors of the fixed header
    /// never panic afterwards; [`Packet::addresses`] and [`Packet::auth_data`] check for
    /// themselves.
    pub fn check_len(&self) -> Result<(), Reject> {
        let len = self.buffer.as_ref().len();
        LengthError::at_least("VRRP header", len, HEADER_LEN)?;
        Ok(())
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version nibble (2 or 3 when valid).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The type nibble (1 = ADVERTISEMENT when valid).
    #[inline]
    pub fn kind(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// The virtual router ID.
    #[inline]
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// The priority.
    #[inline]
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// The `Count IP Addrs` field.
    #[inline]
    pub fn count_ip(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// VRRPv2 only: the raw auth type byte.
    #[inline]
    pub fn v2_auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::V2_AUTH_TYPE]
    }

    /// VRRPv2 only: the advertisement interval in seconds.
    #[inline]
    pub fn v2_adver_int(&self) -> Seconds {
        Seconds(self.buffer.as_ref()[field::V2_ADVER_INT])
    }

    /// VRRPv3 only: the 12-bit maximum advertisement interval in centiseconds.
    #[inline]
    pub fn v3_max_adver_int(&self) -> Centiseconds {
        let b = self.buffer.as_ref();
        let raw = u16::from_be_bytes([
            b[field::V3_MAX_ADVER_INT.start],
            b[field::V3_MAX_ADVER_INT.start + 1],
        ]);
        Centiseconds(raw & 0x0fff)
    }

    /// VRRPv3 only: the 4 reserved bits (sent as zero, ignored on receipt, RFC 5798 §5.2.6).
    #[inline]
    pub fn v3_reserved(&self) -> u8 {
        self.buffer.as_ref()[field::V3_MAX_ADVER_INT.start] >> 4
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::CHECKSUM.start], b[field::CHECKSUM.start + 1]])
    }

    /// The address bytes for `family` as the count field says, if the buffer holds them.
    pub fn addresses(&self, family: Family) -> Option<&[u8]> {
        let n = usize::from(self.count_ip()) * family.address_len();
        self.buffer
            .as_ref()
            .get(field::ADDRESSES..field::ADDRESSES + n)
    }

    /// VRRPv2 only: the 8 authentication bytes after the addresses, if present.
    pub fn auth_data(&self) -> Option<[u8; 8]> {
        let start = field::ADDRESSES + usize::from(self.count_ip()) * 4;
        let s = self.buffer.as_ref().get(start..start + AUTH_DATA_LEN)?;
        s.try_into().ok()
    }

    /// The checksum this message should carry for `scope` (computed with the field as zero).
    pub fn compute_checksum(&self, scope: ChecksumScope) -> u16 {
        checksum::fold(scope.sum(self.buffer.as_ref(), true))
    }

    /// Whether the checksum verifies for `scope`.
    #[inline]
    pub fn verify_checksum(&self, scope: ChecksumScope) -> bool {
        checksum::fold(scope.sum(self.buffer.as_ref(), false)) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version and type nibbles.
    #[inline]
    pub fn set_version_kind(&mut self, version: u8, kind: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (kind & 0x0f);
    }

    /// Sets the VRID.
    #[inline]
    pub fn set_vrid(&mut self, v: u8) {
        self.buffer.as_mut()[field::VRID] = v;
    }

    /// Sets the priority.
    #[inline]
    pub fn set_priority(&mut self, v: u8) {
        self.buffer.as_mut()[field::PRIORITY] = v;
    }

    /// Sets the address count.
    #[inline]
    pub fn set_count_ip(&mut self, v: u8) {
        self.buffer.as_mut()[field::COUNT] = v;
    }

    /// VRRPv2: sets auth type and interval.
    #[inline]
    pub fn set_v2_auth_and_interval(&mut self, auth_type: u8, adver_int: Seconds) {
        let b = self.buffer.as_mut();
        b[field::V2_AUTH_TYPE] = auth_type;
        b[field::V2_ADVER_INT] = adver_int.0;
    }

    /// VRRPv3: sets the interval, with the reserved bits zero.
    #[inline]
    pub fn set_v3_max_adver_int(&mut self, v: Centiseconds) {
        self.buffer.as_mut()[field::V3_MAX_ADVER_INT].copy_from_slice(&v.0.to_be_bytes());
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }

    /// Computes and stores the checksum for `scope`.
    pub fn fill_checksum(&mut self, scope: ChecksumScope) {
        let c = checksum::fold(scope.sum(self.buffer.as_ref(), true));
        self.set_checksum(c);
    }
}

// ===== Repr =====

/// A structurally valid advertisement.
///
/// "Structurally valid" means what the packet alone can tell ([`Repr::parse`]): version 2 or 3
/// (2 only over IPv4), type 1, a known v2 auth type, and a length that matches the address count.
/// The checksum and everything that needs the instance's configuration is checked by
/// [`crate::validate()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// The virtual router ID.
    pub vrid: u8,
    /// The priority (0 = master is leaving, 255 = address owner).
    pub priority: u8,
    /// The interval; its variant is the version.
    pub interval: AdvertInterval,
    /// VRRPv2 authentication; always [`Auth::None`] for VRRPv3.
    pub auth: Auth,
    /// The virtual addresses (IPv4 for v2).
    pub addresses: Addresses<'a>,
}

impl<'a> Repr<'a> {
    /// The version, given by the interval's variant.
    pub const fn version(&self) -> Version {
        self.interval.version()
    }

    /// Parses a VRRP message carried over `family`, checking what the packet alone can tell
    /// (RFC 5798 §7.1 / RFC 3768 §7.1, the parts that need no configuration).
    ///
    /// The checksum is **not** checked here: it needs the checksum mode, which is configuration.
    /// Use [`Packet::verify_checksum`] or [`crate::validate()`].
    #[inline]
    pub fn parse(packet: &Packet<&'a [u8]>, family: Family) -> Result<Repr<'a>, Reject> {
        packet.check_len()?;
        let bytes: &'a [u8] = packet.buffer;
        let version = match Version::from_number(packet.version()) {
            Some(Version::V2) if family == Family::Ipv6 => {
                return Err(Reject::Version {
                    received: 2,
                    expected: None,
                });
            }
            Some(v) => v,
            None => {
                return Err(Reject::Version {
                    received: packet.version(),
                    expected: None,
                });
            }
        };
        if packet.kind() != TYPE_ADVERTISEMENT {
            return Err(Reject::InvalidType {
                received: packet.kind(),
            });
        }
        let count = usize::from(packet.count_ip());
        let addr_len = count * family.address_len();
        let expected = HEADER_LEN
            + addr_len
            + match version {
                Version::V2 => AUTH_DATA_LEN,
                Version::V3 => 0,
            };
        if bytes.len() != expected {
            return Err(LengthError::Mismatch {
                len: bytes.len(),
                expected,
            }
            .into());
        }
        let addresses = Addresses::wire(
            family,
            &bytes[field::ADDRESSES..field::ADDRESSES + addr_len],
        );
        let (interval, auth) = match version {
            Version::V2 => {
                let auth = match AuthType::from_number(packet.v2_auth_type()) {
                    Some(AuthType::None) => Auth::None,
                    Some(AuthType::Ah) => Auth::Ah,
                    Some(AuthType::Simple) => {
                        let mut key = [0u8; 8];
                        key.copy_from_slice(&bytes[HEADER_LEN + addr_len..expected]);
                        Auth::Simple(key)
                    }
                    None => {
                        return Err(Reject::InvalidAuthType {
                            received: packet.v2_auth_type(),
                        });
                    }
                };
                (AdvertInterval::V2(packet.v2_adver_int()), auth)
            }
            Version::V3 => (AdvertInterval::V3(packet.v3_max_adver_int()), Auth::None),
        };
        Ok(Repr {
            vrid: packet.vrid(),
            priority: packet.priority(),
            interval,
            auth,
            addresses,
        })
    }

    /// The length of the emitted message.
    pub const fn buffer_len(&self) -> usize {
        let addr = self.addresses.len() * self.addresses.family().address_len();
        match self.version() {
            Version::V2 => HEADER_LEN + addr + AUTH_DATA_LEN,
            Version::V3 => HEADER_LEN + addr,
        }
    }

    /// Checks that the representation can be emitted.
    pub fn check(&self) -> Result<(), EmitError> {
        if self.addresses.len() > 255 {
            return Err(EmitError::TooManyAddresses(self.addresses.len()));
        }
        match self.version() {
            Version::V2 if self.addresses.family() == Family::Ipv6 => Err(EmitError::Inconsistent(
                "VRRPv2 carries IPv4 addresses only",
            )),
            Version::V3 if self.auth != Auth::None => {
                Err(EmitError::Inconsistent("VRRPv3 has no authentication"))
            }
            _ => Ok(()),
        }
    }

    /// Writes the message into the first [`Repr::buffer_len`] bytes of `buf` and fills in the
    /// checksum for `scope`. Returns the number of bytes written. Never panics.
    pub fn emit(&self, buf: &mut [u8], scope: ChecksumScope) -> Result<usize, EmitError> {
        self.check()?;
        let len = self.buffer_len();
        let Some(out) = buf.get_mut(..len) else {
            return Err(EmitError::BufferTooSmall {
                len: buf.len(),
                needed: len,
            });
        };
        let mut p = Packet::new_unchecked(&mut *out);
        p.set_version_kind(self.version().number(), TYPE_ADVERTISEMENT);
        p.set_vrid(self.vrid);
        p.set_priority(self.priority);
        p.set_count_ip(self.addresses.len() as u8);
        match self.interval {
            AdvertInterval::V2(s) => p.set_v2_auth_and_interval(self.auth.auth_type().number(), s),
            AdvertInterval::V3(c) => p.set_v3_max_adver_int(c),
        }
        let addr_end = HEADER_LEN + self.addresses.len() * self.addresses.family().address_len();
        self.addresses.write(&mut out[HEADER_LEN..addr_end]);
        if self.version() == Version::V2 {
            let auth = match self.auth {
                Auth::Simple(k) => k,
                Auth::None | Auth::Ah => [0; 8],
            };
            out[addr_end..len].copy_from_slice(&auth);
        }
        Packet::new_unchecked(out).fill_checksum(scope);
        Ok(len)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    // VRRPv2, VRID 51, priority 150, 1 address 10.77.0.100, no auth, 1 s.
    fn v2_bytes() -> Vec<u8> {
        let mut b = vec![
            0x21, 51, 150, 1, 0, 1, 0, 0, 10, 77, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let c = checksum::checksum(&b);
        b[6..8].copy_from_slice(&c.to_be_bytes());
        b
    }

    #[test]
    fn test_deconstruct_v2() {
        let b = v2_bytes();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert_eq!(p.kind(), 1);
        assert_eq!(p.vrid(), 51);
        assert_eq!(p.priority(), 150);
        assert_eq!(p.count_ip(), 1);
        assert_eq!(p.v2_auth_type(), 0);
        assert_eq!(p.v2_adver_int(), Seconds(1));
        assert!(p.verify_checksum(ChecksumScope::Message));
        assert_eq!(p.compute_checksum(ChecksumScope::Message), p.checksum());
        assert_eq!(p.addresses(Family::Ipv4), Some(&[10, 77, 0, 100][..]));
        assert_eq!(p.auth_data(), Some([0; 8]));
    }

    #[test]
    fn test_parse_emit_v2() {
        let b = v2_bytes();
        let p = Packet::new_checked(&b[..]).unwrap();
        let r = Repr::parse(&p, Family::Ipv4).unwrap();
        assert_eq!(r.vrid, 51);
        assert_eq!(r.interval, AdvertInterval::V2(Seconds(1)));
        assert_eq!(
            r.addresses.iter().collect::<Vec<_>>(),
            vec![IpAddr::V4(Ipv4Addr::new(10, 77, 0, 100))]
        );
        let mut out = vec![0xa5; r.buffer_len()];
        assert_eq!(r.emit(&mut out, ChecksumScope::Message), Ok(20));
        assert_eq!(out, b);
        let typed = [Ipv4Addr::new(10, 77, 0, 100)];
        let r2 = Repr {
            addresses: Addresses::v4(&typed),
            ..r
        };
        assert_eq!(r, r2);
    }

    #[test]
    fn test_check_len() {
        for n in 0..HEADER_LEN {
            assert!(matches!(
                Packet::new_checked(&[0x21u8; 8][..n]),
                Err(Reject::PacketLength(LengthError::Truncated { .. }))
            ));
        }
    }

    #[test]
    fn length_must_match_count() {
        let mut b = v2_bytes();
        b.push(0);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(matches!(
            Repr::parse(&p, Family::Ipv4),
            Err(Reject::PacketLength(LengthError::Mismatch {
                len: 21,
                expected: 20
            }))
        ));
        let p = Packet::new_checked(&b[..19]).unwrap();
        assert!(matches!(
            Repr::parse(&p, Family::Ipv4),
            Err(Reject::PacketLength(_))
        ));
    }

    #[test]
    fn bad_version_type_auth() {
        let mut b = v2_bytes();
        b[0] = 0x41;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..]), Family::Ipv4),
            Err(Reject::Version {
                received: 4,
                expected: None
            })
        );
        b[0] = 0x22;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..]), Family::Ipv4),
            Err(Reject::InvalidType { received: 2 })
        );
        b[0] = 0x21;
        b[4] = 3;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..]), Family::Ipv4),
            Err(Reject::InvalidAuthType { received: 3 })
        );
        // v2 over IPv6 is a version error.
        b[4] = 0;
        assert!(matches!(
            Repr::parse(&Packet::new_unchecked(&b[..]), Family::Ipv6),
            Err(Reject::Version { received: 2, .. })
        ));
    }

    #[test]
    fn v3_ipv6_roundtrip_and_reserved_bits() {
        let src = "fe80::1".parse().unwrap();
        let dst = MULTICAST_V6;
        let addrs = ["fd77::100".parse().unwrap(), "fd77::101".parse().unwrap()];
        let r = Repr {
            vrid: 7,
            priority: 100,
            interval: AdvertInterval::V3(Centiseconds::new(100).unwrap()),
            auth: Auth::None,
            addresses: Addresses::v6(&addrs),
        };
        let scope = ChecksumScope::new(
            Version::V3,
            Endpoints::V6 { src, dst },
            Ipv4ChecksumMode::NoPseudoHeader,
        );
        assert!(matches!(scope, ChecksumScope::PseudoV6 { .. }));
        let mut out = [0u8; 64];
        let n = r.emit(&mut out, scope).unwrap();
        assert_eq!(n, 8 + 32);
        let mut bytes = out[..n].to_vec();
        {
            let p = Packet::new_checked(&bytes[..]).unwrap();
            assert!(p.verify_checksum(scope));
            assert!(!p.verify_checksum(ChecksumScope::Message));
            assert_eq!(Repr::parse(&p, Family::Ipv6).unwrap(), r);
            assert!(Repr::parse(&p, Family::Ipv4).is_err());
        }
        bytes[4] |= 0xf0;
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.v3_reserved(), 0xf);
        assert_eq!(Repr::parse(&p, Family::Ipv6).unwrap().interval, r.interval);
    }

    #[test]
    fn emit_rejects_inconsistent_and_short() {
        let addrs = ["fd77::100".parse().unwrap()];
        let r = Repr {
            vrid: 1,
            priority: 1,
            interval: AdvertInterval::V2(Seconds(1)),
            auth: Auth::None,
            addresses: Addresses::v6(&addrs),
        };
        assert!(matches!(
            r.emit(&mut [0; 64], ChecksumScope::Message),
            Err(EmitError::Inconsistent(_))
        ));
        let r = Repr {
            interval: AdvertInterval::V3(Centiseconds::MAX),
            auth: Auth::Simple(*b"secret\0\0"),
            ..r
        };
        assert!(matches!(
            r.emit(&mut [0; 64], ChecksumScope::Message),
            Err(EmitError::Inconsistent(_))
        ));
        let r = Repr {
            auth: Auth::None,
            ..r
        };
        assert_eq!(
            r.emit(&mut [0; 10], ChecksumScope::Message),
            Err(EmitError::BufferTooSmall {
                len: 10,
                needed: 24
            })
        );
        let many = vec![Ipv4Addr::LOCALHOST; 256];
        let r = Repr {
            addresses: Addresses::v4(&many),
            ..r
        };
        assert_eq!(
            r.emit(&mut [0; 2048], ChecksumScope::Message),
            Err(EmitError::TooManyAddresses(256))
        );
    }

    #[test]
    fn both_checksum_zeros_verify() {
        // Regression (fuzz, vrrp_proto_vrrp_decode): when the rest of the message sums to
        // 0xffff, the computed checksum is 0x0000 but a stored 0xffff verifies too.
        let b = [
            0x21, 0x0b, 0x64, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x27, 0x49, 0x0a, 0x63,
            0x00, 0x0b, 0x70, 0x61, 0x73, 0x73, 0x31, 0x32, 0x33, 0x34,
        ];
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum(ChecksumScope::Message));
        assert_eq!(p.checksum(), 0xffff);
        assert_eq!(p.compute_checksum(ChecksumScope::Message), 0);
    }

    #[test]
    fn centiseconds_bounds() {
        assert_eq!(Centiseconds::new(4095), Some(Centiseconds::MAX));
        assert_eq!(Centiseconds::new(4096), None);
        assert_eq!(
            Centiseconds::new(5).unwrap().to_duration(),
            Duration::from_millis(50)
        );
        assert_eq!(Seconds(3).to_duration(), Duration::from_secs(3));
    }

    #[test]
    fn auth_debug_hides_password() {
        let s = format!("{:?}", Auth::Simple(*b"hunter22"));
        assert!(!s.contains("hunter"));
        assert_eq!(Auth::key_from_password(b"toolongpassword"), *b"toolongp");
        assert_eq!(Auth::key_from_password(b"ab"), *b"ab\0\0\0\0\0\0");
    }
}
