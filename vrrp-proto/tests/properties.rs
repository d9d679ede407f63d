//! Property tests: whatever we emit decodes to the same advert and validates against the
//! matching configuration; any single-bit corruption of it is rejected; arbitrary bytes never
//! panic the receive path.

#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vrrp_proto::vrrp::{self, Centiseconds};
use vrrp_proto::{
    AddressPolicy, Addresses, AdvertInterval, AhParams, Auth, AuthConfig, Ipv4ChecksumMode,
    Ipv4Header, Repr, Seconds, ValidationContext, Version, decode_ipv4, decode_ipv6, emit_ipv4,
    emit_ipv6, validate,
};

/// The parts of an IPv4 advert proptest generates.
#[derive(Debug, Clone)]
struct V4Case {
    vrid: u8,
    priority: u8,
    interval: AdvertInterval,
    auth: Auth,
    key: [u8; 8],
    addrs: Vec<Ipv4Addr>,
    mode: Ipv4ChecksumMode,
    header: Ipv4Header,
    sequence: u32,
}

fn v4_case() -> impl Strategy<Value = V4Case> {
    let interval = prop_oneof![
        (1u8..=255).prop_map(|s| AdvertInterval::V2(Seconds(s))),
        (1u16..=4095).prop_map(|c| AdvertInterval::V3(Centiseconds::new(c).unwrap())),
    ];
    let auth = prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::Simple),
        Just(Auth::Ah)
    ];
    let mode = prop_oneof![
        Just(Ipv4ChecksumMode::PseudoHeader),
        Just(Ipv4ChecksumMode::NoPseudoHeader)
    ];
    (
        (1u8..=255, any::<u8>(), interval, auth, any::<[u8; 8]>()),
        prop::collection::vec(any::<u32>().prop_map(Ipv4Addr::from_bits), 0..=24),
        mode,
        (any::<u32>(), any::<u32>(), 1u16.., any::<u32>()),
    )
        .prop_map(
            |((vrid, priority, interval, auth, key), addrs, mode, (src, dst, ident, sequence))| {
                // VRRPv3 has no authentication.
                let auth = match interval {
                    AdvertInterval::V3(_) => Auth::None,
                    AdvertInterval::V2(_) => auth,
                };
                V4Case {
                    vrid,
                    priority,
                    interval,
                    auth,
                    key,
                    addrs,
                    mode,
                    header: Ipv4Header {
                        src: Ipv4Addr::from_bits(src),
                        dst: Ipv4Addr::from_bits(dst),
                        ident,
                        ttl: 255,
                        tos: 0xc0,
                    },
                    sequence,
                }
            },
        )
}

impl V4Case {
    fn repr(&self) -> Repr<'_> {
        Repr {
            vrid: self.vrid,
            priority: self.priority,
            interval: self.interval,
            auth: self.auth,
            addresses: Addresses::v4(&self.addrs),
        }
    }

    fn context(&self) -> ValidationContext<'_> {
        ValidationContext {
            version: self.interval.version(),
            vrid: self.vrid,
            check_ttl: true,
            checksum_mode: self.mode,
            auth: match self.auth {
                Auth::None => AuthConfig::None,
                Auth::Simple(p) => AuthConfig::Simple(p),
                Auth::Ah => AuthConfig::Ah(self.key),
            },
            interval: Some(self.interval),
            addresses: Addresses::v4(&self.addrs),
            address_policy: AddressPolicy::Reject,
        }
    }

    fn emit(&self) -> Vec<u8> {
        let ah = AhParams {
            key: self.key,
            sequence: self.sequence,
        };
        let ah = (self.auth == Auth::Ah).then_some(&ah);
        let mut buf = vec![0u8; 512];
        let n = emit_ipv4(&mut buf, &self.header, &self.repr(), self.mode, ah).unwrap();
        buf.truncate(n);
        buf
    }
}

proptest! {
    #[test]
    fn ipv4_emit_decode_validate(case in v4_case()) {
        let d = case.emit();
        let rx = decode_ipv4(&d).unwrap();
        prop_assert_eq!(rx.advert, case.repr());
        prop_assert_eq!(rx.ah.map(|a| a.sequence), (case.auth == Auth::Ah).then_some(case.sequence));
        prop_assert!(validate(&rx, &case.context()).is_ok());
    }

    #[test]
    fn ipv4_any_single_bit_flip_is_rejected(case in v4_case(), bit in any::<prop::sample::Index>()) {
        let mut d = case.emit();
        let bit = bit.index(d.len() * 8);
        d[bit / 8] ^= 1 << (bit % 8);
        if let Ok(rx) = decode_ipv4(&d) {
            prop_assert!(validate(&rx, &case.context()).is_err(), "bit {} accepted", bit);
        }
    }

    #[test]
    fn ipv6_emit_decode_validate(
        vrid in 1u8..=255,
        priority in any::<u8>(),
        cs in 1u16..=4095,
        addrs in prop::collection::vec(any::<u128>().prop_map(Ipv6Addr::from_bits), 0..=8),
        src in any::<u128>().prop_map(Ipv6Addr::from_bits),
        bit in any::<prop::sample::Index>(),
    ) {
        let interval = AdvertInterval::V3(Centiseconds::new(cs).unwrap());
        let repr = Repr { vrid, priority, interval, auth: Auth::None, addresses: Addresses::v6(&addrs) };
        let mut buf = [0u8; 256];
        let n = emit_ipv6(&mut buf, src, vrrp::MULTICAST_V6, &repr).unwrap();
        let rx = decode_ipv6(&buf[..n], src, vrrp::MULTICAST_V6, 255).unwrap();
        prop_assert_eq!(rx.advert, repr);
        let ctx = ValidationContext {
            version: Version::V3,
            vrid,
            check_ttl: true,
            checksum_mode: Ipv4ChecksumMode::NoPseudoHeader,
            auth: AuthConfig::None,
            interval: Some(interval),
            addresses: Addresses::v6(&addrs),
            address_policy: AddressPolicy::Reject,
        };
        prop_assert!(validate(&rx, &ctx).is_ok());
        let bit = bit.index(n * 8);
        buf[bit / 8] ^= 1 << (bit % 8);
        if let Ok(rx) = decode_ipv6(&buf[..n], src, vrrp::MULTICAST_V6, 255) {
            prop_assert!(validate(&rx, &ctx).is_err(), "bit {} accepted", bit);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..200)) {
        let vips = [Ipv4Addr::new(10, 0, 0, 1)];
        if let Ok(rx) = decode_ipv4(&data) {
            let ctx = ValidationContext {
                version: rx.advert.version(),
                vrid: rx.advert.vrid,
                check_ttl: true,
                checksum_mode: Ipv4ChecksumMode::PseudoHeader,
                auth: AuthConfig::Ah(*b"key\0\0\0\0\0"),
                interval: None,
                addresses: Addresses::v4(&vips),
                address_policy: AddressPolicy::Report,
            };
            let _ = validate(&rx, &ctx);
        }
        let _ = decode_ipv6(&data, Ipv6Addr::LOCALHOST, vrrp::MULTICAST_V6, 255);
    }
}
