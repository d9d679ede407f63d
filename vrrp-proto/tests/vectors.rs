//! Packets captured from Debian's keepalived 2.2.7 on the wire (`tests/capture/capture-vectors.sh`)
//! must decode, validate, and re-emit byte for byte.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod support;

use support::v2_context;
use vrrp_proto::ethernet::{self, MacAddr};
use vrrp_proto::vrrp::{self, Centiseconds};
use vrrp_proto::{
    AddressPolicy, Addresses, AdvertInterval, AhParams, Auth, AuthConfig, AuthFailure,
    Ipv4ChecksumMode, Ipv4Header, RejectKind, Seconds, ValidationContext, Version, arp,
    decode_ipv4, decode_ipv6, emit_ipv4, emit_ipv6, ipv6, ndisc, validate,
};

/// The IPv4 datagram inside an Ethernet frame.
fn ipv4_datagram(frame: &[u8]) -> &[u8] {
    let (eth, payload) = ethernet::Repr::parse(frame).unwrap();
    assert_eq!(eth.ethertype, ethernet::ETHERTYPE_IPV4);
    assert_eq!(eth.src, MacAddr([0x02, 0x00, 0x5e, 0x99, 0x00, 0x01]));
    payload
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Decodes, validates and re-emits every IPv4 frame of a vector; returns the last decoded
/// priority for extra checks.
fn roundtrip_ipv4(
    frames: &[Vec<u8>],
    ctx: &ValidationContext<'_>,
    ah_key: Option<[u8; 8]>,
) -> Vec<u8> {
    assert!(!frames.is_empty());
    let mut priorities = vec![];
    for frame in frames {
        let d = ipv4_datagram(frame);
        let rx = decode_ipv4(d).unwrap();
        validate(&rx, ctx).unwrap();
        priorities.push(rx.advert.priority);
        let ip = vrrp_proto::ipv4::Repr::parse(&vrrp_proto::ipv4::Packet::new_checked(d).unwrap())
            .unwrap();
        let header = Ipv4Header {
            src: ip.src,
            dst: ip.dst,
            ident: ip.ident,
            ttl: ip.ttl,
            tos: ip.tos,
        };
        let ah = rx.ah.map(|a| AhParams {
            key: ah_key.unwrap(),
            sequence: a.sequence,
        });
        let mut out = [0u8; 256];
        let n = emit_ipv4(
            &mut out,
            &header,
            &rx.advert,
            ctx.checksum_mode,
            ah.as_ref(),
        )
        .unwrap();
        assert_eq!(&out[..n], d, "re-emitted datagram differs");
    }
    priorities
}

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
    let vips = [v4("10.99.0.10")];
    let ctx = v2_context(10, AuthConfig::None, &vips);
    assert_eq!(roundtrip_ipv4(&vector!("v2-none-prio0"), &ctx, None), [0]);
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
    let vips: Vec<Ipv4Addr> = (1..=20).map(|i| Ipv4Addr::new(10, 99, 1, i)).collect();
    let ctx = v2_context(13, AuthConfig::None, &vips);
    roundtrip_ipv4(&vector!("v2-20addr"), &ctx, None);
}

fn v3_context(vrid: u8, mode: Ipv4ChecksumMode, vips: &[Ipv4Addr]) -> ValidationContext<'_> {
    ValidationContext {
        version: Version::V3,
        vrid,
        check_ttl: true,
        checksum_mode: mode,
        auth: AuthConfig::None,
        interval: Some(AdvertInterval::V3(Centiseconds::new(50).unwrap())),
        addresses: Addresses::v4(vips),
        address_policy: AddressPolicy::Reject,
    }
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
fn v3_ipv6() {
    let vips: [Ipv6Addr; 2] = ["fd99::30".parse().unwrap(), "fd99::31".parse().unwrap()];
    let ctx = ValidationContext {
        version: Version::V3,
        vrid: 30,
        check_ttl: true,
        checksum_mode: Ipv4ChecksumMode::NoPseudoHeader,
        auth: AuthConfig::None,
        interval: Some(AdvertInterval::V3(Centiseconds::new(50).unwrap())),
        addresses: Addresses::v6(&vips),
        address_policy: AddressPolicy::Reject,
    };
    let f = vector!("v3-ipv6");
    assert_eq!(f.len(), 3);
    for frame in &f {
        let (eth, payload) = ethernet::Repr::parse(frame).unwrap();
        assert_eq!(eth.dst, MacAddr([0x33, 0x33, 0, 0, 0, 0x12]));
        let (ip, vrrp_bytes) = ipv6::Repr::parse(payload).unwrap();
        assert_eq!(ip.dst, vrrp::MULTICAST_V6);
        assert_eq!(ip.next_header, vrrp::IP_PROTOCOL);
        assert!(ip.src.is_unicast_link_local());
        let rx = decode_ipv6(vrrp_bytes, ip.src, ip.dst, ip.hop_limit).unwrap();
        validate(&rx, &ctx).unwrap();
        let mut out = [0u8; 128];
        let n = emit_ipv6(&mut out, ip.src, ip.dst, &rx.advert).unwrap();
        assert_eq!(&out[..n], vrrp_bytes);
    }
}

#[test]
fn gratuitous_arp() {
    let f = vector!("garp");
    assert!(!f.is_empty());
    for frame in &f {
        assert_eq!(frame.len(), arp::FRAME_LEN);
        let (eth, a) = arp::parse_frame(frame).unwrap();
        assert_eq!(a, arp::Repr::gratuitous(eth.src, v4("10.99.0.10")));
        let mut out = [0u8; 64];
        let n = arp::emit_gratuitous(&mut out, eth.src, a.sender_ip).unwrap();
        assert_eq!(&out[..n], &frame[..]);
    }
}

#[test]
fn unsolicited_neighbour_advertisement() {
    let f = vector!("na");
    assert!(!f.is_empty());
    for frame in &f {
        assert_eq!(frame.len(), ndisc::FRAME_LEN);
        let nf = ndisc::parse_frame(frame).unwrap();
        let vip: Ipv6Addr = "fd99::30".parse().unwrap();
        assert_eq!(nf.na, ndisc::Repr::unsolicited(vip, nf.ethernet.src, false));
        assert_eq!(nf.ip.src, vip);
        let mut out = [0u8; 128];
        let n = ndisc::emit_unsolicited(&mut out, nf.ethernet.src, vip, nf.na.router).unwrap();
        assert_eq!(&out[..n], &frame[..]);
    }
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
