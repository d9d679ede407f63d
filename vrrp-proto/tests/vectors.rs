//! Packets captured from Debian's keepalived 2.2.7 on the wire (`tests/capture/capture-vectors.sh`)
//! must decode, validate, and re-emit byte for byte.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

#[macro_use]
mod support;

use support::{check_variant, ipv4_datagram, roundtrip_ipv4, v2_context, v3_context, v4};
use vrrp_proto::{
    AdvertInterval, Auth, AuthConfig, AuthFailure, Ipv4ChecksumMode, RejectKind, Seconds,
    decode_ipv4, ipv6, validate,
};

#[test]
fn v2_no_auth() {
    let vips = [v4("10.99.0.10")];
    let ctx = v2_context(10, AuthConfig::None, &vips);
    let f = vector!("v2-none");
    assert_eq!(roundtrip_ipv4(&f, &ctx, None), [100, 100, 100]);
    let rx = decode_ipv4(ipv4_datagram(&f[0])).unwrap();
    assert_eq!(rx.ttl, 255);
    assert_eq!(rx.advert.interval, AdvertInterval::V2(Seconds(1)));
    assert_eq!(rx.advert.auth, Auth::None);
    assert_eq!(
        rx.advert.addresses.iter().collect::<Vec<_>>(),
        [IpAddr::V4(vips[0])]
    );
    // keepalived's IPv4 header: TOS 0xc0, DF clear, ID counting from 1.
    let d = ipv4_datagram(&f[0]);
    assert_eq!(
        (d[1], d[6] & 0x40, u16::from_be_bytes([d[4], d[5]])),
        (0xc0, 0, 1)
    );
}

#[test]
fn v2_priority_zero_on_shutdown() {
    assert_eq!(
        check_variant("v2-none-prio0", &vector!("v2-none-prio0")),
        [0]
    );
}

#[test]
fn v2_simple_password() {
    let vips = [v4("10.99.0.11")];
    let key = Auth::key_from_password(b"pass1234");
    let f = vector!("v2-pass");
    roundtrip_ipv4(&f, &v2_context(11, AuthConfig::Simple(key), &vips), None);
    let rx = decode_ipv4(ipv4_datagram(&f[0])).unwrap();
    assert_eq!(rx.advert.auth, Auth::Simple(*b"pass1234"));
    let wrong = v2_context(11, AuthConfig::Simple(*b"pass1235"), &vips);
    assert_eq!(validate(&rx, &wrong), Err(AuthFailure::Password.into()));
    let none = v2_context(11, AuthConfig::None, &vips);
    assert_eq!(
        validate(&rx, &none).unwrap_err().kind(),
        RejectKind::AuthTypeMismatch
    );
}

#[test]
fn v2_ipsec_ah() {
    let vips = [v4("10.99.0.12")];
    let key = Auth::key_from_password(b"ahsecret");
    let ctx = v2_context(12, AuthConfig::Ah(key), &vips);
    let f = vector!("v2-ah");
    roundtrip_ipv4(&f, &ctx, Some(key));
    assert_eq!(
        roundtrip_ipv4(&vector!("v2-ah-prio0"), &ctx, Some(key)),
        [0]
    );
    let rx = decode_ipv4(ipv4_datagram(&f[0])).unwrap();
    let ah = rx.ah.unwrap();
    // keepalived: SPI = source address, sequence numbers from 1.
    assert_eq!(ah.spi, u32::from(v4("10.99.0.1")));
    assert_eq!(ah.sequence, 1);
    assert_eq!(rx.advert.auth, Auth::Ah);
    let wrong = v2_context(12, AuthConfig::Ah(*b"ahsecreT"), &vips);
    assert_eq!(validate(&rx, &wrong), Err(AuthFailure::AhIcv.into()));
    // A flipped bit anywhere in the authenticated part fails; TOS does not count.
    let d = ipv4_datagram(&f[0]).to_vec();
    for i in [4, 8, 12, 16, 20, 30, 44, 50, d.len() - 1] {
        let mut e = d.clone();
        e[i] ^= 0x01;
        vrrp_proto::ipv4::refill_checksum(&mut e[..20]);
        if let Ok(rx) = decode_ipv4(&e) {
            assert!(validate(&rx, &ctx).is_err(), "byte {i}");
        }
    }
    let mut e = d.clone();
    e[1] = 0;
    vrrp_proto::ipv4::refill_checksum(&mut e[..20]);
    assert!(validate(&decode_ipv4(&e).unwrap(), &ctx).is_ok());
}

#[test]
fn v2_twenty_addresses() {
    assert_eq!(
        check_variant("v2-20addr", &vector!("v2-20addr")),
        [100, 100, 100]
    );
}

#[test]
fn v3_ipv4_pseudo_header_checksum() {
    let vips = [v4("10.99.0.20"), v4("10.99.0.21")];
    let ctx = v3_context(20, Ipv4ChecksumMode::PseudoHeader, &vips);
    let f = vector!("v3-ipv4");
    roundtrip_ipv4(&f, &ctx, None);
    // keepalived's default checksum is not the RFC 9568 one.
    let rfc = v3_context(20, Ipv4ChecksumMode::NoPseudoHeader, &vips);
    let rx = decode_ipv4(ipv4_datagram(&f[0])).unwrap();
    assert_eq!(
        validate(&rx, &rfc).unwrap_err().kind(),
        RejectKind::Checksum
    );
    assert_eq!(
        rx.advert.interval.to_duration(),
        std::time::Duration::from_millis(500)
    );
}

#[test]
fn v3_ipv4_without_pseudo_header() {
    let vips = [v4("10.99.0.20"), v4("10.99.0.21")];
    let ctx = v3_context(20, Ipv4ChecksumMode::NoPseudoHeader, &vips);
    let f = vector!("v3-ipv4-nopseudo");
    roundtrip_ipv4(&f, &ctx, None);
    let keepalived = v3_context(20, Ipv4ChecksumMode::PseudoHeader, &vips);
    let rx = decode_ipv4(ipv4_datagram(&f[0])).unwrap();
    assert_eq!(
        validate(&rx, &keepalived).unwrap_err().kind(),
        RejectKind::Checksum
    );
}

#[test]
fn v3_ipv4_unicast() {
    let vips = [v4("10.99.0.22")];
    let mut ctx = v3_context(21, Ipv4ChecksumMode::PseudoHeader, &vips);
    ctx.check_ttl = false;
    let f = vector!("v3-ipv4-unicast");
    roundtrip_ipv4(&f, &ctx, None);
    let rx = decode_ipv4(ipv4_datagram(&f[0])).unwrap();
    // The pseudo-header carries the unicast peer as destination.
    assert_eq!(rx.endpoints.dst(), IpAddr::V4(v4("10.99.0.2")));
}

#[test]
fn v3_ipv4_unicast_old_checksum() {
    let f = vector!("v3-ipv4-unicast-old");
    check_variant("v3-ipv4-unicast-old", &f);
    // keepalived's old_unicast_checksum: the pseudo-header says 224.0.0.18, not the peer.
    let vips = [v4("10.99.0.23")];
    let mut ctx = v3_context(22, Ipv4ChecksumMode::PseudoHeader, &vips);
    ctx.check_ttl = false;
    let rx = decode_ipv4(ipv4_datagram(&f[0])).unwrap();
    assert_eq!(
        validate(&rx, &ctx).unwrap_err().kind(),
        RejectKind::Checksum
    );
}

#[test]
fn v3_ipv6() {
    let f = vector!("v3-ipv6");
    assert_eq!(check_variant("v3-ipv6", &f), [100, 100, 100]);
    // The kernel's IPv6 header: hop limit 255, traffic class 0xc0 (from keepalived's socket).
    let (ip, _) = ipv6::Repr::parse(&f[0][14..]).unwrap();
    assert_eq!((ip.hop_limit, ip.traffic_class), (255, 0xc0));
}

#[test]
fn gratuitous_arp() {
    check_variant("garp", &vector!("garp"));
}

#[test]
fn unsolicited_neighbour_advertisement() {
    check_variant("na", &vector!("na"));
}

#[test]
fn every_prefix_of_every_vector_is_rejected_not_panicking() {
    let all = [
        vector!("v2-none"),
        vector!("v2-pass"),
        vector!("v2-ah"),
        vector!("v2-20addr"),
        vector!("v3-ipv4"),
        vector!("v3-ipv4-unicast"),
    ];
    for frames in &all {
        let d = ipv4_datagram(&frames[0]);
        for n in 0..d.len() {
            assert!(decode_ipv4(&d[..n]).is_err(), "prefix {n} accepted");
        }
    }
}
