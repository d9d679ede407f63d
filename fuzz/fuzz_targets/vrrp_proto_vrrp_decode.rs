//! Decodes arbitrary bytes as a VRRP message (both families), reads every accessor, checks the
//! checksum under every scope, and validates against fixed contexts. Must never panic.
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use vrrp_proto::vrrp::{ChecksumScope, Family, Packet};
use vrrp_proto::{
    AddressPolicy, Addresses, AuthConfig, Ipv4ChecksumMode, Repr, ValidationContext, Version,
    decode_ipv6, validate,
};

fuzz_target!(|data: &[u8]| {
    let src4 = Ipv4Addr::new(10, 0, 0, 1);
    let src6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let Ok(p) = Packet::new_checked(data) else {
        return;
    };
    let _ = (p.version(), p.kind(), p.vrid(), p.priority(), p.count_ip());
    let _ = (
        p.v2_auth_type(),
        p.v2_adver_int(),
        p.v3_max_adver_int(),
        p.v3_reserved(),
    );
    let _ = (
        p.addresses(Family::Ipv4),
        p.addresses(Family::Ipv6),
        p.auth_data(),
    );
    for scope in [
        ChecksumScope::Message,
        ChecksumScope::PseudoV4 {
            src: src4,
            dst: vrrp_proto::vrrp::MULTICAST_V4,
        },
        ChecksumScope::PseudoV6 {
            src: src6,
            dst: vrrp_proto::vrrp::MULTICAST_V6,
        },
    ] {
        let c = p.compute_checksum(scope);
        if p.verify_checksum(scope) {
            // One's-complement arithmetic has two zeros: 0x0000 and 0xffff both verify.
            let same = c == p.checksum() || (c | p.checksum() == 0xffff && c & p.checksum() == 0);
            assert!(
                same,
                "verified checksum {:#x} vs computed {c:#x}",
                p.checksum()
            );
        }
    }
    for family in [Family::Ipv4, Family::Ipv6] {
        if let Ok(r) = Repr::parse(&p, family) {
            assert_eq!(r.buffer_len(), data.len());
            let _ = r.addresses.iter().count();
            let _ = format!("{r:?}");
        }
    }
    let vips6 = [Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)];
    if let Ok(rx) = decode_ipv6(data, src6, vrrp_proto::vrrp::MULTICAST_V6, data[0]) {
        let ctx = ValidationContext {
            version: Version::V3,
            vrid: rx.advert.vrid,
            check_ttl: true,
            checksum_mode: Ipv4ChecksumMode::PseudoHeader,
            auth: AuthConfig::None,
            interval: None,
            addresses: Addresses::v6(&vips6),
            address_policy: AddressPolicy::Report,
        };
        if let Err(e) = validate(&rx, &ctx) {
            let _ = (e.kind().mib_name(), e.to_string());
        }
    }
});
