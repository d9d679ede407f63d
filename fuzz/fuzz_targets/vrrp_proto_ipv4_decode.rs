//! The whole IPv4 receive path on arbitrary bytes: IPv4 header, optional AH, VRRP, then
//! validation against contexts with every auth type and policy. Must never panic.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use vrrp_proto::ipv4::{Packet, Repr as Ipv4Repr};
use vrrp_proto::{
    AddressPolicy, Addresses, AdvertInterval, AuthConfig, Ipv4ChecksumMode, Seconds,
    ValidationContext, Version, decode_ipv4, validate,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::new_checked(data) {
        let _ = (
            p.version(),
            p.header_len(),
            p.tos(),
            p.total_len(),
            p.ident(),
            p.flags_frag(),
        );
        let _ = (
            p.ttl(),
            p.protocol(),
            p.checksum(),
            p.src(),
            p.dst(),
            p.verify_checksum(),
        );
        let _ = (p.header().len(), p.payload().len(), p.datagram().len());
        if let Ok(r) = Ipv4Repr::parse(&p) {
            assert!(r.payload_len + 20 <= data.len());
        }
    }
    let Ok(rx) = decode_ipv4(data) else {
        return;
    };
    let vips = [Ipv4Addr::new(10, 0, 0, 100), Ipv4Addr::new(10, 0, 0, 101)];
    let auths = [
        AuthConfig::None,
        AuthConfig::Simple(*b"secret\0\0"),
        AuthConfig::Ah(*b"ahkey\0\0\0"),
    ];
    let policies = [
        AddressPolicy::Skip,
        AddressPolicy::Reject,
        AddressPolicy::Report,
    ];
    for (i, auth) in auths.into_iter().enumerate() {
        for version in [Version::V2, Version::V3] {
            for mode in [
                Ipv4ChecksumMode::PseudoHeader,
                Ipv4ChecksumMode::NoPseudoHeader,
                Ipv4ChecksumMode::OldUnicast,
            ] {
                let ctx = ValidationContext {
                    version,
                    vrid: rx.advert.vrid,
                    check_ttl: i != 1,
                    checksum_mode: mode,
                    auth,
                    interval: if i == 0 {
                        Some(AdvertInterval::V2(Seconds(1)))
                    } else {
                        None
                    },
                    addresses: Addresses::v4(&vips),
                    address_policy: policies[i],
                };
                match validate(&rx, &ctx) {
                    Ok(a) => {
                        let _ = a.address_mismatch.map(|e| e.to_string());
                    }
                    Err(e) => {
                        let _ = (e.kind().index(), e.kind().scope(), e.to_string());
                    }
                }
            }
        }
    }
});
