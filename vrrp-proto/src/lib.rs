//! The VRRP wire codec of keepalived-rs: VRRPv2 (RFC 3768), VRRPv3 (RFC 5798, RFC 9568),
//! keepalived's IPSEC-AH authentication, the IPv4 header of the raw-socket paths, gratuitous ARP
//! and unsolicited IPv6 Neighbour Advertisement frames, and receive validation with one typed
//! reason per MIB statistic.
//!
//! # What this crate does
//!
//! * Parses byte buffers into zero-copy views (`Packet<T: AsRef<[u8]>>`, field offsets in a
//!   private `mod field`) and structurally valid representations (`Repr`, with `parse`, `emit`
//!   and `buffer_len`), in the style of smoltcp's `wire` module.
//! * Decodes a received advertisement ([`decode_ipv4`], [`decode_ipv6`]) and validates it against
//!   an instance's configuration ([`validate()`] with a [`ValidationContext`]); every rejection is
//!   a [`Reject`] whose [`Reject::kind`] names the RFC 6527 / RFC 2787 counter to bump.
//! * Builds advertisements exactly as keepalived 2.2.7 puts them on the wire ([`emit_ipv4`],
//!   [`emit_ipv6`]), including keepalived's AH ICV, plus GARP ([`arp`]) and NA ([`ndisc`])
//!   frames. Captured keepalived packets re-emit byte for byte (see `tests/vectors`).
//!
//! ```text
//!  raw socket read (IPv4 datagram)  ─► decode_ipv4 ─┐   codec alone: length, version, type,
//!  raw socket read (IPv6 payload,   ─► decode_ipv6 ─┤   v2 auth type, AH header shape
//!   + hop limit, src, dst)                          ▼
//!                                               Received ─► validate(&Received, &ValidationContext)
//!                                                            TTL, version, VRID, checksum (mode),
//!                                                            auth, interval, address list
//!                                                            ─► Ok(Accepted) / Err(Reject)
//!  engine: Repr + Ipv4Header (+ AhParams) ─► emit_ipv4 ─► IP_HDRINCL datagram
//!  engine: Repr + src/dst                 ─► emit_ipv6 ─► VRRP payload (kernel adds IPv6)
//!  engine: MAC + VIP                      ─► arp::emit_gratuitous / ndisc::emit_unsolicited
//! ```
//!
//! Modules: [`vrrp`] (the advertisement), [`ipv4`], [`ipsec_ah`], [`ethernet`], [`arp`],
//! [`ipv6`], [`ndisc`], [`checksum`] (RFC 1071), [`mod@validate`] (receive/send of whole
//! adverts), [`error`].
//!
//! # What this crate does not do
//!
//! * No I/O: no sockets, no clocks, no threads. The engine and its driver own those.
//! * No state: the AH sequence-number replay rule, the down timer and the election live in the
//!   engine. [`Received::ah`] hands the engine the sequence number.
//! * No allocation anywhere; parsing borrows the receive buffer.
//! * No panics on any input. Once a `Packet::new_checked` has returned `Ok`, accessors do not
//!   panic; `Repr::emit` and the `emit_*` functions check buffer sizes and return
//!   [`EmitError`] instead. This is fuzzed (`fuzz/fuzz_targets/vrrp_proto_*`).
//! * keepalived 1.2.13's `native_ipv6` framing (VRRPv2 over IPv6 without addresses) is not
//!   supported: VRRPv2 over IPv6 is rejected as a version error.
//!
//! # Example
//!
//! Build a VRRPv3 advertisement over IPv4 as keepalived does, then receive and validate it:
//!
//! ```
//! use std::net::Ipv4Addr;
//! use vrrp_proto::{
//!     decode_ipv4, emit_ipv4, validate, AddressPolicy, Addresses, AdvertInterval, Auth,
//!     AuthConfig, Centiseconds, Ipv4ChecksumMode, Ipv4Header, Repr, ValidationContext, Version,
//! };
//!
//! let vips = [Ipv4Addr::new(192, 0, 2, 100)];
//! let advert = Repr {
//!     vrid: 51,
//!     priority: 150,
//!     interval: AdvertInterval::V3(Centiseconds::new(100).unwrap()), // 1 s
//!     auth: Auth::None,
//!     addresses: Addresses::v4(&vips),
//! };
//! let header = Ipv4Header {
//!     src: Ipv4Addr::new(192, 0, 2, 1),
//!     dst: vrrp_proto::vrrp::MULTICAST_V4,
//!     ident: 1,
//!     ttl: 255,
//!     tos: 0xc0,
//! };
//! let mut buf = [0u8; 64];
//! let n = emit_ipv4(&mut buf, &header, &advert, Ipv4ChecksumMode::PseudoHeader, None).unwrap();
//!
//! let rx = decode_ipv4(&buf[..n]).unwrap();
//! let ctx = ValidationContext {
//!     version: Version::V3,
//!     vrid: 51,
//!     check_ttl: true,
//!     checksum_mode: Ipv4ChecksumMode::PseudoHeader,
//!     auth: AuthConfig::None,
//!     interval: None,
//!     addresses: Addresses::v4(&vips),
//!     address_policy: AddressPolicy::Reject,
//! };
//! assert!(validate(&rx, &ctx).is_ok());
//! assert_eq!(rx.advert.priority, 150);
//!
//! // A different VRID is rejected with a reason that names its counter.
//! let other = ValidationContext { vrid: 52, ..ctx };
//! let err = validate(&rx, &other).unwrap_err();
//! assert_eq!(err.kind().mib_name(), "vrrpv3RouterVrIdErrors");
//! ```

/// Declares a smoltcp-style zero-copy `Packet<T>` view with `new_unchecked`, `new_checked` (which
/// calls the type's own `check_len`) and `into_inner`.
macro_rules! wire_packet {
    ($(#[$doc:meta])*) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct Packet<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> Packet<T> {
            /// Wraps a buffer without checks; accessors may panic on a short buffer.
            pub const fn new_unchecked(buffer: T) -> Packet<T> {
                Packet { buffer }
            }

            /// Wraps a buffer after [`Packet::check_len`]; use this on untrusted input.
            pub fn new_checked(buffer: T) -> Result<Packet<T>, crate::Reject> {
                let p = Self::new_unchecked(buffer);
                p.check_len()?;
                Ok(p)
            }

            /// Unwraps the buffer.
            pub fn into_inner(self) -> T {
                self.buffer
            }
        }
    };
}

pub mod arp;
pub mod checksum;
pub mod error;
pub mod ethernet;
pub mod ipsec_ah;
pub mod ipv4;
pub mod ipv6;
pub mod ndisc;
pub mod validate;
pub mod vrrp;

pub use error::{AddressListError, AuthFailure, EmitError, LengthError, Reject, RejectKind, Scope};
pub use validate::{
    Accepted, AddressPolicy, AhParams, AuthConfig, Ipv4Header, Received, ValidationContext,
    decode_ipv4, decode_ipv6, emit_ipv4, emit_ipv6, ipv4_len, validate,
};
pub use vrrp::{
    Addresses, AdvertInterval, Auth, AuthType, Centiseconds, ChecksumScope, Endpoints, Family,
    Ipv4ChecksumMode, Repr, Seconds, Version,
};
