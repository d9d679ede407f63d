//! Receiving and sending whole advertisements: decode (what the packet alone can tell) and
//! validate (what needs the instance's configuration), each rejection with a typed [`Reject`].
//!
//! ```text
//!  raw IPv4 datagram ──► decode_ipv4() ─┐                         ┌─► Ok(Accepted)
//!                                       ├─► Received ──► validate(&Received, &ValidationContext)
//!  IPv6 payload + hop limit ──► decode_ipv6() ─┘                   └─► Err(Reject) ─► counters, log
//! ```
//!
//! [`decode_ipv4`] / [`decode_ipv6`] need no configuration: IPv4 header sanity, AH header shape,
//! VRRP version (2 or 3, and 2 only over IPv4), type, v2 auth type, and the length against the
//! address count. Rejections there are [`RejectKind::PacketLength`], `Version`, `InvalidType`,
//! `InvalidAuthType` or `AuthFailure` (malformed AH).
//!
//! [`validate`] then applies the instance's [`ValidationContext`] in RFC 5798 §7.1 / RFC 3768
//! §7.1 order: TTL/hop limit, version, VRID, checksum (its mode is configuration), auth type
//! and authentication, advertisement interval, address list. The AH sequence-number
//! (anti-replay) rule is state, so the engine applies it after `validate` using
//! [`Received::ah`].
//!
//! [`RejectKind::PacketLength`]: crate::RejectKind::PacketLength

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{AddressListError, AuthFailure, EmitError, LengthError, Reject};
use crate::vrrp::{
    self, Addresses, AdvertInterval, Auth, AuthType, ChecksumScope, Endpoints, Family,
    Ipv4ChecksumMode, Version,
};
use crate::{ipsec_ah, ipv4};

/// A decoded advertisement with the IP information validation needs. Borrows the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<'a> {
    /// Source and destination addresses.
    pub endpoints: Endpoints,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The AH header, if the datagram carried one (IPv4 protocol 51).
    pub ah: Option<ipsec_ah::Repr>,
    /// The advertisement.
    pub advert: vrrp::Repr<'a>,
    /// IPv4: the whole datagram (for the AH ICV); IPv6: the VRRP message.
    bytes: &'a [u8],
    /// Where the VRRP message starts in `bytes`. (A slice and an offset rather than two slices
    /// keep `Received` small enough to move without a `memcpy` call: it is on the hot path.)
    vrrp_at: u16,
}

impl<'a> Received<'a> {
    /// The VRRP message bytes.
    pub fn vrrp_bytes(&self) -> &'a [u8] {
        self.bytes.get(usize::from(self.vrrp_at)..).unwrap_or(&[])
    }

    /// The IPv4 datagram the advertisement came in (empty for IPv6).
    pub fn datagram(&self) -> &'a [u8] {
        match self.endpoints {
            Endpoints::V4 { .. } => self.bytes,
            Endpoints::V6 { .. } => &[],
        }
    }

    /// The checksum scope for this packet under `mode`.
    pub fn checksum_scope(&self, mode: Ipv4ChecksumMode) -> ChecksumScope {
        ChecksumScope::new(self.advert.version(), self.endpoints, mode)
    }

    /// Checks the VRRP checksum (RFC 5798 §7.1 / RFC 3768 §7.1). `mode` matters only for VRRPv3
    /// over IPv4.
    #[inline]
    pub fn check_checksum(&self, mode: Ipv4ChecksumMode) -> Result<(), Reject> {
        let p = vrrp::Packet::new_unchecked(self.vrrp_bytes());
        let scope = self.checksum_scope(mode);
        if p.verify_checksum(scope) {
            Ok(())
        } else {
            Err(Reject::Checksum {
                received: p.checksum(),
                expected: p.compute_checksum(scope),
            })
        }
    }
}

/// Decodes an IPv4 datagram as read from a raw socket (header included): IPv4 header, optional
/// AH header, VRRP message. Trailing bytes after the IPv4 total length are ignored.
#[inline]
pub fn decode_ipv4(datagram: &[u8]) -> Result<Received<'_>, Reject> {
    let ip = ipv4::Packet::new_checked(datagram)?;
    let ip_repr = ipv4::Repr::parse_checked(&ip)?;
    let hl = ip.header_len();
    // check_len guarantees header_len <= total_len <= datagram.len().
    let datagram = datagram
        .get(..usize::from(ip.total_len()))
        .unwrap_or(datagram);
    let payload = datagram.get(hl..).unwrap_or(&[]);
    let (ah, vrrp_bytes) = match ip_repr.protocol {
        vrrp::IP_PROTOCOL => (None, payload),
        ipsec_ah::IP_PROTOCOL => {
            let ahp = ipsec_ah::Packet::new_checked(payload)?;
            let ah = ipsec_ah::Repr::parse(&ahp)?;
            (Some(ah), &payload[ipsec_ah::HEADER_LEN..])
        }
        other => return Err(LengthError::Protocol(other).into()),
    };
    let vp = vrrp::Packet::new_checked(vrrp_bytes)?;
    let advert = vrrp::Repr::parse(&vp, Family::Ipv4)?;
    Ok(Received {
        endpoints: Endpoints::V4 {
            src: ip_repr.src,
            dst: ip_repr.dst,
        },
        ttl: ip_repr.ttl,
        ah,
        advert,
        bytes: datagram,
        // At most 60 + 24: the IPv4 header and the AH header.
        vrrp_at: (datagram.len() - vrrp_bytes.len()) as u16,
    })
}

/// Decodes a VRRP message received over IPv6 (the kernel strips the IPv6 header; the hop limit
/// comes from `IPV6_RECVHOPLIMIT`, the addresses from the socket).
pub fn decode_ipv6(
    payload: &[u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
) -> Result<Received<'_>, Reject> {
    let vp = vrrp::Packet::new_checked(payload)?;
    let advert = vrrp::Repr::parse(&vp, Family::Ipv6)?;
    Ok(Received {
        endpoints: Endpoints::V6 { src, dst },
        ttl: hop_limit,
        ah: None,
        advert,
        bytes: payload,
        vrrp_at: 0,
    })
}

/// The instance's configured authentication (VRRPv2 only).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AuthConfig {
    /// No authentication.
    None,
    /// `auth_type PASS`: the 8-byte zero-padded password.
    Simple([u8; 8]),
    /// `auth_type AH`: the 8-byte zero-padded password is the HMAC key.
    Ah([u8; 8]),
}

impl core::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AuthConfig::None => f.write_str("None"),
            AuthConfig::Simple(_) => f.write_str("Simple(<redacted>)"),
            AuthConfig::Ah(_) => f.write_str("Ah(<redacted>)"),
        }
    }
}

impl AuthConfig {
    /// The auth type.
    pub const fn auth_type(&self) -> AuthType {
        match self {
            AuthConfig::None => AuthType::None,
            AuthConfig::Simple(_) => AuthType::Simple,
            AuthConfig::Ah(_) => AuthType::Ah,
        }
    }
}

/// What to do when the address list differs from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Do not compare (keepalived's `skip_check_adv_addr`).
    Skip,
    /// Reject, unless the sender is the address owner (priority 255), as RFC 3768 §7.1 and
    /// RFC 5798 §7.1 allow.
    Reject,
    /// Accept, but report the mismatch in [`Accepted::address_mismatch`] so it can be counted
    /// and logged (modern keepalived's behaviour).
    Report,
}

/// The instance configuration that validation needs. The engine builds one per virtual router.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext<'a> {
    /// The configured version.
    pub version: Version,
    /// The configured VRID.
    pub vrid: u8,
    /// Require TTL / hop limit 255 (RFC 5798 §7.1). keepalived skips this in unicast mode.
    pub check_ttl: bool,
    /// VRRPv3 over IPv4: which checksum to expect.
    pub checksum_mode: Ipv4ChecksumMode,
    /// VRRPv2 authentication (ignored for VRRPv3).
    pub auth: AuthConfig,
    /// If set, the advertised interval must equal it (RFC 3768 §7.1 for v2). RFC 5798 lets a v3
    /// backup adopt the master's interval, so v3 instances normally pass `None`.
    pub interval: Option<AdvertInterval>,
    /// The configured virtual addresses, in configuration order.
    pub addresses: Addresses<'a>,
    /// What to do when they differ from the packet's.
    pub address_policy: AddressPolicy,
}

/// A valid advertisement and anything worth reporting about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Set when the address list differed but the packet was accepted anyway (priority 255, or
    /// [`AddressPolicy::Report`]); count it as an address-list error.
    ///
    /// Boxed: a mismatch is rare (the peers' configurations differ), and a one-word `Accepted`
    /// comes back from [`validate`] in a register on every advert. Held in place (24 bytes), it
    /// was copied through the stack in overlapping pieces that defeat the CPU's store-to-load
    /// forwarding: 6% of a BACKUP's time per advert (`vrrp-engine`'s `rx` bench).
    pub address_mismatch: Option<Box<AddressListError>>,
}

/// Validates a decoded advertisement against the instance's configuration (RFC 5798 §7.1,
/// RFC 3768 §7.1). See the module documentation for the order of checks.
#[inline]
pub fn validate(rx: &Received<'_>, ctx: &ValidationContext<'_>) -> Result<Accepted, Reject> {
    let advert = &rx.advert;
    // RFC 5798 §7.1: "MUST verify that the IPv4 TTL / IPv6 Hop Limit is 255".
    if ctx.check_ttl && rx.ttl != vrrp::REQUIRED_TTL {
        return Err(Reject::Ttl { received: rx.ttl });
    }
    // "MUST verify the VRRP version" (configured, since v2 and v3 do not mix on one instance).
    if advert.version() != ctx.version {
        return Err(Reject::Version {
            received: advert.version().number(),
            expected: Some(ctx.version),
        });
    }
    // "MUST verify that the VRID is configured on the receiving interface".
    if advert.vrid != ctx.vrid || advert.vrid == 0 {
        return Err(Reject::Vrid {
            received: advert.vrid,
            expected: ctx.vrid,
        });
    }
    // "MUST verify that the received packet contains the complete VRRP packet (including
    // fixed fields, and IPvX address(es))" was done by decode; now "MUST verify the VRRP
    // checksum".
    rx.check_checksum(ctx.checksum_mode)?;
    if ctx.version == Version::V2 {
        check_auth(rx, ctx.auth)?;
    } else if rx.ah.is_some() {
        return Err(Reject::AuthTypeMismatch {
            received: AuthType::Ah,
            expected: AuthType::None,
        });
    }
    // RFC 3768 §7.1: "MUST verify that the Adver Interval in the packet is the same as the
    // locally configured for this virtual router". Zero is never valid.
    if advert.interval.is_zero() {
        return Err(Reject::AdvertInterval {
            received: advert.interval,
            expected: ctx.interval,
        });
    }
    if let Some(want) = ctx.interval
        && want != advert.interval
    {
        return Err(Reject::AdvertInterval {
            received: advert.interval,
            expected: Some(want),
        });
    }
    // RFC 5798 §7.1: "MAY verify that "Count IPvX Addrs" and the list of IPvX address(es)
    // matches the IPvX Address(es) configured for the VRID"; on mismatch, drop unless the
    // sender is the owner (priority 255).
    let address_mismatch = match ctx.address_policy {
        AddressPolicy::Skip => None,
        AddressPolicy::Reject | AddressPolicy::Report => {
            match compare_addresses(&advert.addresses, &ctx.addresses) {
                Ok(()) => None,
                Err(e) if ctx.address_policy == AddressPolicy::Reject && advert.priority != 255 => {
                    return Err(e.into());
                }
                Err(e) => Some(Box::new(e)),
            }
        }
    };
    Ok(Accepted { address_mismatch })
}

#[inline]
fn check_auth(rx: &Received<'_>, cfg: AuthConfig) -> Result<(), Reject> {
    let got = rx.advert.auth.auth_type();
    // The AH header's presence must agree with the VRRP auth type.
    if rx.ah.is_some() != (got == AuthType::Ah) {
        return Err(Reject::AuthTypeMismatch {
            received: if rx.ah.is_some() { AuthType::Ah } else { got },
            expected: cfg.auth_type(),
        });
    }
    if got != cfg.auth_type() {
        return Err(Reject::AuthTypeMismatch {
            received: got,
            expected: cfg.auth_type(),
        });
    }
    match (cfg, rx.advert.auth, rx.ah) {
        (AuthConfig::Simple(want), Auth::Simple(have), _) => {
            if constant_time_eq(want, have) {
                Ok(())
            } else {
                Err(AuthFailure::Password.into())
            }
        }
        (AuthConfig::Ah(key), Auth::Ah, Some(ah)) => {
            if let Endpoints::V4 { src, .. } = rx.endpoints
                && ah.spi != ipsec_ah::Repr::spi_for(src)
            {
                return Err(AuthFailure::AhSpi { spi: ah.spi }.into());
            }
            ipsec_ah::verify_icv(key, rx.datagram())
        }
        _ => Ok(()),
    }
}

fn constant_time_eq(a: [u8; 8], b: [u8; 8]) -> bool {
    let diff = a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

/// Compares the advertised addresses with the configured ones: same count, and every configured
/// address present. Linear when both lists are in the same order (the usual case), quadratic at
/// worst (255 x 255).
#[inline]
fn compare_addresses(got: &Addresses<'_>, want: &Addresses<'_>) -> Result<(), AddressListError> {
    if got.family() != want.family() {
        return Err(AddressListError::Family);
    }
    if got.len() != want.len() {
        return Err(AddressListError::Count {
            received: got.len() as u8,
            expected: want.len(),
        });
    }
    if got == want {
        return Ok(());
    }
    for w in want.iter() {
        if !got.iter().any(|g| g == w) {
            return Err(AddressListError::Missing(w));
        }
    }
    Ok(())
}

/// The IPv4 header fields of an advertisement the caller chooses; the rest (protocol, lengths,
/// checksum) follow from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination (224.0.0.18 or a unicast peer).
    pub dst: Ipv4Addr,
    /// Identification (keepalived: a per-instance counter, never 0).
    pub ident: u16,
    /// TTL (255; keepalived's `unicast_ttl` may change it for unicast).
    pub ttl: u8,
    /// TOS (keepalived: 0xc0).
    pub tos: u8,
}

/// The AH parameters of an outgoing advertisement.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AhParams {
    /// The 8-byte zero-padded password.
    pub key: [u8; 8],
    /// The sequence number to send.
    pub sequence: u32,
}

impl core::fmt::Debug for AhParams {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AhParams")
            .field("key", &"<redacted>")
            .field("sequence", &self.sequence)
            .finish()
    }
}

/// The length of the IPv4 datagram [`emit_ipv4`] writes.
pub const fn ipv4_len(advert: &vrrp::Repr<'_>) -> usize {
    let ah = match advert.auth {
        Auth::Ah => ipsec_ah::HEADER_LEN,
        _ => 0,
    };
    ipv4::HEADER_LEN + ah + advert.buffer_len()
}

/// Writes a complete IPv4 datagram as keepalived sends it with `IP_HDRINCL`: IPv4 header,
/// AH header when `advert.auth` is [`Auth::Ah`] (then `ah` must be `Some`), VRRP message with
/// its checksum, and the AH ICV. Returns the datagram length. Never panics.
pub fn emit_ipv4(
    buf: &mut [u8],
    header: &Ipv4Header,
    advert: &vrrp::Repr<'_>,
    checksum_mode: Ipv4ChecksumMode,
    ah: Option<&AhParams>,
) -> Result<usize, EmitError> {
    advert.check()?;
    if advert.addresses.family() != Family::Ipv4 {
        return Err(EmitError::Inconsistent(
            "IPv4 advertisement with IPv6 addresses",
        ));
    }
    let len = ipv4_len(advert);
    let Some(out) = buf.get_mut(..len) else {
        return Err(EmitError::BufferTooSmall {
            len: buf.len(),
            needed: len,
        });
    };
    let ah = match (advert.auth, ah) {
        (Auth::Ah, Some(p)) => Some(p),
        (Auth::Ah, None) => return Err(EmitError::Inconsistent("AH auth without AH parameters")),
        (_, Some(_)) => return Err(EmitError::Inconsistent("AH parameters without AH auth")),
        (_, None) => None,
    };
    let ip = ipv4::Repr {
        src: header.src,
        dst: header.dst,
        protocol: if ah.is_some() {
            ipsec_ah::IP_PROTOCOL
        } else {
            vrrp::IP_PROTOCOL
        },
        ttl: header.ttl,
        tos: header.tos,
        ident: header.ident,
        dont_frag: false,
        payload_len: len - ipv4::HEADER_LEN,
    };
    let mut at = ip.emit(out)?;
    if let Some(p) = ah {
        at += ipsec_ah::Repr {
            spi: ipsec_ah::Repr::spi_for(header.src),
            sequence: p.sequence,
            icv: [0; ipsec_ah::ICV_LEN],
        }
        .emit(&mut out[at..])?;
    }
    let endpoints = Endpoints::V4 {
        src: header.src,
        dst: header.dst,
    };
    let scope = ChecksumScope::new(advert.version(), endpoints, checksum_mode);
    advert.emit(&mut out[at..], scope)?;
    if let Some(p) = ah {
        ipsec_ah::seal(p.key, out)?;
    }
    Ok(len)
}

/// Writes the VRRP message of an IPv6 advertisement (the kernel adds the IPv6 header), with the
/// pseudo-header checksum for `src` -> `dst` (RFC 5798 §5.2.8).
pub fn emit_ipv6(
    buf: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    advert: &vrrp::Repr<'_>,
) -> Result<usize, EmitError> {
    if advert.version() != Version::V3 || advert.addresses.family() != Family::Ipv6 {
        return Err(EmitError::Inconsistent(
            "IPv6 advertisements are VRRPv3 with IPv6 addresses",
        ));
    }
    advert.emit(buf, ChecksumScope::PseudoV6 { src, dst })
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::RejectKind;
    use crate::vrrp::{Centiseconds, Seconds};
    use core::net::IpAddr;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const VIPS: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 77, 0, 100), Ipv4Addr::new(10, 77, 0, 101)];

    fn hdr() -> Ipv4Header {
        Ipv4Header {
            src: SRC,
            dst: vrrp::MULTICAST_V4,
            ident: 1,
            ttl: 255,
            tos: ipv4::TOS_INTERNETWORK_CONTROL,
        }
    }

    fn v2(auth: Auth) -> vrrp::Repr<'static> {
        vrrp::Repr {
            vrid: 51,
            priority: 100,
            interval: AdvertInterval::V2(Seconds(1)),
            auth,
            addresses: Addresses::v4(&VIPS),
        }
    }

    fn ctx(auth: AuthConfig) -> ValidationContext<'static> {
        ValidationContext {
            version: Version::V2,
            vrid: 51,
            check_ttl: true,
            checksum_mode: Ipv4ChecksumMode::PseudoHeader,
            auth,
            interval: Some(AdvertInterval::V2(Seconds(1))),
            addresses: Addresses::v4(&VIPS),
            address_policy: AddressPolicy::Reject,
        }
    }

    fn build(advert: &vrrp::Repr<'_>, ah: Option<&AhParams>) -> Vec<u8> {
        let mut buf = vec![0u8; 256];
        let n = emit_ipv4(&mut buf, &hdr(), advert, Ipv4ChecksumMode::PseudoHeader, ah).unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    fn v2_none_accepts_and_rejects() {
        let d = build(&v2(Auth::None), None);
        let rx = decode_ipv4(&d).unwrap();
        assert_eq!(rx.advert, v2(Auth::None));
        assert_eq!(
            validate(&rx, &ctx(AuthConfig::None)),
            Ok(Accepted {
                address_mismatch: None
            })
        );

        let mut c = ctx(AuthConfig::None);
        c.vrid = 52;
        assert_eq!(validate(&rx, &c).unwrap_err().kind(), RejectKind::Vrid);
        let mut c = ctx(AuthConfig::None);
        c.version = Version::V3;
        assert_eq!(validate(&rx, &c).unwrap_err().kind(), RejectKind::Version);
        let mut c = ctx(AuthConfig::None);
        c.interval = Some(AdvertInterval::V2(Seconds(2)));
        assert_eq!(
            validate(&rx, &c).unwrap_err().kind(),
            RejectKind::AdvertInterval
        );
        let c = ctx(AuthConfig::Simple(*b"secret\0\0"));
        assert_eq!(
            validate(&rx, &c).unwrap_err().kind(),
            RejectKind::AuthTypeMismatch
        );
    }

    #[test]
    fn ttl_checked_only_when_asked() {
        let mut d = build(&v2(Auth::None), None);
        d[8] = 254;
        ipv4::refill_checksum(&mut d[..20]);
        let rx = decode_ipv4(&d).unwrap();
        assert_eq!(
            validate(&rx, &ctx(AuthConfig::None)),
            Err(Reject::Ttl { received: 254 })
        );
        let mut c = ctx(AuthConfig::None);
        c.check_ttl = false;
        assert!(validate(&rx, &c).is_ok());
    }

    #[test]
    fn checksum_error() {
        let mut d = build(&v2(Auth::None), None);
        d[20 + 7] ^= 1;
        let rx = decode_ipv4(&d).unwrap();
        assert_eq!(
            validate(&rx, &ctx(AuthConfig::None)).unwrap_err().kind(),
            RejectKind::Checksum
        );
    }

    #[test]
    fn simple_password() {
        let d = build(&v2(Auth::Simple(*b"secret\0\0")), None);
        let rx = decode_ipv4(&d).unwrap();
        assert!(validate(&rx, &ctx(AuthConfig::Simple(*b"secret\0\0"))).is_ok());
        assert_eq!(
            validate(&rx, &ctx(AuthConfig::Simple(*b"secreT\0\0"))),
            Err(AuthFailure::Password.into())
        );
    }

    #[test]
    fn ah_roundtrip_and_failures() {
        let key = Auth::key_from_password(b"secret");
        let p = AhParams { key, sequence: 42 };
        let d = build(&v2(Auth::Ah), Some(&p));
        assert_eq!(d.len(), 20 + 24 + 8 + 8 + 8);
        let rx = decode_ipv4(&d).unwrap();
        assert_eq!(rx.ah.map(|a| a.sequence), Some(42));
        assert!(validate(&rx, &ctx(AuthConfig::Ah(key))).is_ok());
        assert_eq!(
            validate(&rx, &ctx(AuthConfig::Ah(*b"wrong\0\0\0"))),
            Err(AuthFailure::AhIcv.into())
        );
        assert_eq!(
            validate(&rx, &ctx(AuthConfig::None)).unwrap_err().kind(),
            RejectKind::AuthTypeMismatch
        );
        // AH header present but VRRP says no auth.
        let mut e = d.clone();
        e[44 + 4] = 0;
        vrrp::Packet::new_unchecked(&mut e[44..]).fill_checksum(ChecksumScope::Message);
        let rx = decode_ipv4(&e).unwrap();
        assert_eq!(
            validate(&rx, &ctx(AuthConfig::Ah(key))).unwrap_err().kind(),
            RejectKind::AuthTypeMismatch
        );
        // Wrong SPI.
        let mut e = d.clone();
        e[20 + 7] ^= 1;
        let rx = decode_ipv4(&e).unwrap();
        assert!(matches!(
            validate(&rx, &ctx(AuthConfig::Ah(key))),
            Err(Reject::AuthFailure(AuthFailure::AhSpi { .. }))
        ));
        // AH parameters must agree with the auth.
        let mut buf = [0u8; 128];
        assert!(
            emit_ipv4(
                &mut buf,
                &hdr(),
                &v2(Auth::Ah),
                Ipv4ChecksumMode::PseudoHeader,
                None
            )
            .is_err()
        );
        assert!(
            emit_ipv4(
                &mut buf,
                &hdr(),
                &v2(Auth::None),
                Ipv4ChecksumMode::PseudoHeader,
                Some(&p)
            )
            .is_err()
        );
    }

    #[test]
    fn emit_into_short_buffers_errs_without_panicking() {
        let key = Auth::key_from_password(b"k");
        let p = AhParams { key, sequence: 9 };
        for (advert, ah) in [(v2(Auth::None), None), (v2(Auth::Ah), Some(&p))] {
            let len = ipv4_len(&advert);
            let mut buf = vec![0u8; len];
            for n in 0..len {
                let r = emit_ipv4(
                    &mut buf[..n],
                    &hdr(),
                    &advert,
                    Ipv4ChecksumMode::PseudoHeader,
                    ah,
                );
                assert_eq!(
                    r,
                    Err(EmitError::BufferTooSmall {
                        len: n,
                        needed: len
                    })
                );
            }
            assert_eq!(
                emit_ipv4(
                    &mut buf,
                    &hdr(),
                    &advert,
                    Ipv4ChecksumMode::PseudoHeader,
                    ah
                ),
                Ok(len)
            );
        }
    }

    #[test]
    fn ah_packets_get_every_check() {
        // keepalived 1.2.13 returns right after the AH check ([Q] §3.5); we do not.
        let key = Auth::key_from_password(b"secret");
        let p = AhParams { key, sequence: 1 };
        let d = build(&v2(Auth::Ah), Some(&p));
        let rx = decode_ipv4(&d).unwrap();
        let mut c = ctx(AuthConfig::Ah(key));
        c.interval = Some(AdvertInterval::V2(Seconds(3)));
        assert_eq!(
            validate(&rx, &c).unwrap_err().kind(),
            RejectKind::AdvertInterval
        );
        let mut c = ctx(AuthConfig::Ah(key));
        c.vrid = 50;
        assert_eq!(validate(&rx, &c).unwrap_err().kind(), RejectKind::Vrid);
        let c = ctx(AuthConfig::Ah(key));
        let other = [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)];
        let c = ValidationContext {
            addresses: Addresses::v4(&other),
            ..c
        };
        assert_eq!(
            validate(&rx, &c).unwrap_err().kind(),
            RejectKind::AddressList
        );
    }

    #[test]
    fn vrid_zero_and_zero_interval_are_rejected() {
        let d = build(
            &vrrp::Repr {
                vrid: 0,
                ..v2(Auth::None)
            },
            None,
        );
        let mut c = ctx(AuthConfig::None);
        c.vrid = 0;
        assert_eq!(
            validate(&decode_ipv4(&d).unwrap(), &c).unwrap_err().kind(),
            RejectKind::Vrid
        );
        let zero = vrrp::Repr {
            interval: AdvertInterval::V2(Seconds(0)),
            ..v2(Auth::None)
        };
        let d = build(&zero, None);
        let mut c = ctx(AuthConfig::None);
        c.interval = None;
        assert_eq!(
            validate(&decode_ipv4(&d).unwrap(), &c).unwrap_err().kind(),
            RejectKind::AdvertInterval
        );
    }

    #[test]
    fn address_policies() {
        let other = [VIPS[1], Ipv4Addr::new(10, 77, 0, 9)];
        let advert = vrrp::Repr {
            addresses: Addresses::v4(&other),
            ..v2(Auth::None)
        };
        let d = build(&advert, None);
        let rx = decode_ipv4(&d).unwrap();
        let want = AddressListError::Missing(IpAddr::V4(VIPS[0]));
        assert_eq!(validate(&rx, &ctx(AuthConfig::None)), Err(want.into()));
        let mut c = ctx(AuthConfig::None);
        c.address_policy = AddressPolicy::Report;
        assert_eq!(
            validate(&rx, &c),
            Ok(Accepted {
                address_mismatch: Some(Box::new(want))
            })
        );
        c.address_policy = AddressPolicy::Skip;
        assert_eq!(
            validate(&rx, &c),
            Ok(Accepted {
                address_mismatch: None
            })
        );
        // The owner is accepted, with the mismatch reported.
        let owner = vrrp::Repr {
            priority: 255,
            ..advert
        };
        let d = build(&owner, None);
        let rx = decode_ipv4(&d).unwrap();
        assert_eq!(
            validate(&rx, &ctx(AuthConfig::None)),
            Ok(Accepted {
                address_mismatch: Some(Box::new(want))
            })
        );
        // Reordered lists match.
        let swapped = [VIPS[1], VIPS[0]];
        let d = build(
            &vrrp::Repr {
                addresses: Addresses::v4(&swapped),
                ..v2(Auth::None)
            },
            None,
        );
        assert!(validate(&decode_ipv4(&d).unwrap(), &ctx(AuthConfig::None)).is_ok());
        // Count.
        let d = build(
            &vrrp::Repr {
                addresses: Addresses::v4(&VIPS[..1]),
                ..v2(Auth::None)
            },
            None,
        );
        assert_eq!(
            validate(&decode_ipv4(&d).unwrap(), &ctx(AuthConfig::None)),
            Err(AddressListError::Count {
                received: 1,
                expected: 2
            }
            .into())
        );
    }

    #[test]
    fn v3_ipv4_checksum_modes() {
        let advert = vrrp::Repr {
            interval: AdvertInterval::V3(Centiseconds::new(100).unwrap()),
            ..v2(Auth::None)
        };
        let mut c = ctx(AuthConfig::None);
        c.version = Version::V3;
        c.interval = None;
        // Unicast, so that the old unicast checksum (224.0.0.18 as destination) differs too.
        let unicast = Ipv4Header {
            dst: Ipv4Addr::new(10, 77, 0, 2),
            ..hdr()
        };
        let (ph, none, old) = (
            Ipv4ChecksumMode::PseudoHeader,
            Ipv4ChecksumMode::NoPseudoHeader,
            Ipv4ChecksumMode::OldUnicast,
        );
        for (mode, wrong) in [(ph, none), (none, ph), (old, ph), (ph, old), (old, none)] {
            let mut buf = [0u8; 128];
            let n = emit_ipv4(&mut buf, &unicast, &advert, mode, None).unwrap();
            let rx = decode_ipv4(&buf[..n]).unwrap();
            c.checksum_mode = mode;
            assert!(validate(&rx, &c).is_ok());
            c.checksum_mode = wrong;
            assert_eq!(validate(&rx, &c).unwrap_err().kind(), RejectKind::Checksum);
        }
    }

    #[test]
    fn v3_ipv6() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let vips: [Ipv6Addr; 1] = ["fd77::100".parse().unwrap()];
        let advert = vrrp::Repr {
            vrid: 9,
            priority: 200,
            interval: AdvertInterval::V3(Centiseconds::new(5).unwrap()),
            auth: Auth::None,
            addresses: Addresses::v6(&vips),
        };
        let mut buf = [0u8; 64];
        let n = emit_ipv6(&mut buf, src, vrrp::MULTICAST_V6, &advert).unwrap();
        let rx = decode_ipv6(&buf[..n], src, vrrp::MULTICAST_V6, 255).unwrap();
        let c = ValidationContext {
            version: Version::V3,
            vrid: 9,
            check_ttl: true,
            checksum_mode: Ipv4ChecksumMode::NoPseudoHeader,
            auth: AuthConfig::None,
            interval: None,
            addresses: Addresses::v6(&vips),
            address_policy: AddressPolicy::Reject,
        };
        assert!(validate(&rx, &c).is_ok());
        let rx = decode_ipv6(&buf[..n], src, vrrp::MULTICAST_V6, 1).unwrap();
        assert_eq!(validate(&rx, &c), Err(Reject::Ttl { received: 1 }));
        // A different destination breaks the pseudo-header checksum.
        let rx = decode_ipv6(&buf[..n], src, "ff02::1".parse().unwrap(), 255).unwrap();
        assert_eq!(validate(&rx, &c).unwrap_err().kind(), RejectKind::Checksum);
        assert_eq!(rx.endpoints.src(), IpAddr::V6(src));
    }

    #[test]
    fn decode_rejections() {
        let d = build(&v2(Auth::None), None);
        let mut e = d.clone();
        e[9] = 6;
        ipv4::refill_checksum(&mut e[..20]);
        assert_eq!(decode_ipv4(&e), Err(LengthError::Protocol(6).into()));
        assert!(decode_ipv4(&d[..d.len() - 1]).is_err());
        // AH datagram cut inside the AH header.
        let key = Auth::key_from_password(b"k");
        let a = build(&v2(Auth::Ah), Some(&AhParams { key, sequence: 1 }));
        let mut t = a[..30].to_vec();
        t[3] = 30;
        ipv4::refill_checksum(&mut t[..20]);
        assert_eq!(
            decode_ipv4(&t).unwrap_err().kind(),
            RejectKind::PacketLength
        );
    }
}
