//! Shared by the vector tests, the live keepalived tests and the benchmarks: reading the hex
//! vectors, and the per-variant check "decodes, validates, re-emits byte for byte".

// Each user (tests, live tests, benches) needs a different subset; helpers may unwrap and panic
// like the tests they serve.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::net::{Ipv4Addr, Ipv6Addr};

use vrrp_proto::ethernet::{self, MacAddr};
use vrrp_proto::vrrp::{self, Centiseconds};
use vrrp_proto::{
    AddressPolicy, Addresses, AdvertInterval, AhParams, Auth, AuthConfig, Ipv4ChecksumMode,
    Ipv4Header, Seconds, ValidationContext, Version, arp, decode_ipv4, decode_ipv6, emit_ipv4,
    emit_ipv6, ipv6, ndisc, validate,
};

/// The variants `tests/capture/capture-vectors.sh` writes, one `.hex` file each.
pub(crate) const VARIANTS: [&str; 13] = [
    "v2-none",
    "v2-none-prio0",
    "v2-pass",
    "v2-ah",
    "v2-ah-prio0",
    "v2-20addr",
    "v3-ipv4",
    "v3-ipv4-unicast",
    "v3-ipv4-unicast-old",
    "v3-ipv4-nopseudo",
    "v3-ipv6",
    "garp",
    "na",
];

/// The password of the `v2-pass` instance.
pub(crate) const PASS: &[u8] = b"pass1234";
/// The password (AH key) of the `v2-ah` instance.
pub(crate) const AH_PASS: &[u8] = b"ahsecret";
/// The MAC of the capturing keepalived's interface.
pub(crate) const KEEPALIVED_MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x99, 0x00, 0x01]);

/// The frames of a vector file: one hex Ethernet frame per non-comment line.
pub(crate) fn frames(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

/// The frames of `tests/vectors/<name>.hex`, embedded at compile time.
#[macro_export]
macro_rules! vector {
    ($name:literal) => {
        $crate::support::frames(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/",
            $name,
            ".hex"
        )))
    };
}

pub(crate) fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// The IPv4 datagram inside an Ethernet frame from the capturing keepalived.
pub(crate) fn ipv4_datagram(frame: &[u8]) -> &[u8] {
    let (eth, payload) = ethernet::Repr::parse(frame).unwrap();
    assert_eq!(eth.ethertype, ethernet::ETHERTYPE_IPV4);
    assert_eq!(eth.src, KEEPALIVED_MAC);
    payload
}

/// The context of a captured VRRPv2 instance (`advert_int` 1, strict address check).
pub(crate) fn v2_context(vrid: u8, auth: AuthConfig, vips: &[Ipv4Addr]) -> ValidationContext<'_> {
    ValidationContext {
        version: Version::V2,
        vrid,
        check_ttl: true,
        checksum_mode: Ipv4ChecksumMode::PseudoHeader,
        auth,
        interval: Some(AdvertInterval::V2(Seconds(1))),
        addresses: Addresses::v4(vips),
        address_policy: AddressPolicy::Reject,
    }
}

/// The context of a captured VRRPv3 IPv4 instance (`advert_int` 0.5).
pub(crate) fn v3_context(
    vrid: u8,
    mode: Ipv4ChecksumMode,
    vips: &[Ipv4Addr],
) -> ValidationContext<'_> {
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

/// Decodes, validates and re-emits every IPv4 frame; returns the priorities seen.
pub(crate) fn roundtrip_ipv4(
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

/// The VIPs of the captured VRRPv3 IPv6 instance.
pub(crate) fn v6_vips() -> [Ipv6Addr; 2] {
    ["fd99::30".parse().unwrap(), "fd99::31".parse().unwrap()]
}

/// Checks every frame of one variant: decodes, validates against the capturing instance's
/// configuration, and re-emits byte for byte. Returns the priorities of the adverts.
pub(crate) fn check_variant(name: &str, frames: &[Vec<u8>]) -> Vec<u8> {
    assert!(!frames.is_empty(), "{name}: no frames");
    let pass = AuthConfig::Simple(Auth::key_from_password(PASS));
    let ah_key = Auth::key_from_password(AH_PASS);
    let twenty: Vec<Ipv4Addr> = (1..=20).map(|i| Ipv4Addr::new(10, 99, 1, i)).collect();
    let v3_vips = [v4("10.99.0.20"), v4("10.99.0.21")];
    let pseudo = Ipv4ChecksumMode::PseudoHeader;
    match name {
        "v2-none" | "v2-none-prio0" => roundtrip_ipv4(
            frames,
            &v2_context(10, AuthConfig::None, &[v4("10.99.0.10")]),
            None,
        ),
        "v2-pass" => roundtrip_ipv4(frames, &v2_context(11, pass, &[v4("10.99.0.11")]), None),
        "v2-ah" | "v2-ah-prio0" => roundtrip_ipv4(
            frames,
            &v2_context(12, AuthConfig::Ah(ah_key), &[v4("10.99.0.12")]),
            Some(ah_key),
        ),
        "v2-20addr" => roundtrip_ipv4(frames, &v2_context(13, AuthConfig::None, &twenty), None),
        "v3-ipv4" => roundtrip_ipv4(frames, &v3_context(20, pseudo, &v3_vips), None),
        "v3-ipv4-nopseudo" => roundtrip_ipv4(
            frames,
            &v3_context(20, Ipv4ChecksumMode::NoPseudoHeader, &v3_vips),
            None,
        ),
        "v3-ipv4-unicast" => {
            let vips = [v4("10.99.0.22")];
            let mut ctx = v3_context(21, pseudo, &vips);
            ctx.check_ttl = false;
            roundtrip_ipv4(frames, &ctx, None)
        }
        "v3-ipv4-unicast-old" => {
            let vips = [v4("10.99.0.23")];
            let mut ctx = v3_context(22, Ipv4ChecksumMode::OldUnicast, &vips);
            ctx.check_ttl = false;
            roundtrip_ipv4(frames, &ctx, None)
        }
        "v3-ipv6" => check_v3_ipv6(frames),
        "garp" => {
            check_garp(frames);
            vec![]
        }
        "na" => {
            check_na(frames);
            vec![]
        }
        other => panic!("unknown variant {other}"),
    }
}

fn check_v3_ipv6(frames: &[Vec<u8>]) -> Vec<u8> {
    let vips = v6_vips();
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
    let mut priorities = vec![];
    for frame in frames {
        let (eth, payload) = ethernet::Repr::parse(frame).unwrap();
        assert_eq!(eth.dst, MacAddr([0x33, 0x33, 0, 0, 0, 0x12]));
        let (ip, vrrp_bytes) = ipv6::Repr::parse(payload).unwrap();
        assert_eq!(ip.dst, vrrp::MULTICAST_V6);
        assert_eq!(ip.next_header, vrrp::IP_PROTOCOL);
        assert!(ip.src.is_unicast_link_local());
        let rx = decode_ipv6(vrrp_bytes, ip.src, ip.dst, ip.hop_limit).unwrap();
        validate(&rx, &ctx).unwrap();
        priorities.push(rx.advert.priority);
        let mut out = [0u8; 128];
        let n = emit_ipv6(&mut out, ip.src, ip.dst, &rx.advert).unwrap();
        assert_eq!(&out[..n], vrrp_bytes);
    }
    priorities
}

fn check_garp(frames: &[Vec<u8>]) {
    for frame in frames {
        assert_eq!(frame.len(), arp::FRAME_LEN);
        let (eth, a) = arp::parse_frame(frame).unwrap();
        assert_eq!(eth.src, KEEPALIVED_MAC);
        assert_eq!(a, arp::Repr::gratuitous(eth.src, v4("10.99.0.10")));
        let mut out = [0u8; 64];
        let n = arp::emit_gratuitous(&mut out, eth.src, a.sender_ip).unwrap();
        assert_eq!(&out[..n], &frame[..]);
    }
}

fn check_na(frames: &[Vec<u8>]) {
    let vip: Ipv6Addr = "fd99::30".parse().unwrap();
    for frame in frames {
        assert_eq!(frame.len(), ndisc::FRAME_LEN);
        let nf = ndisc::parse_frame(frame).unwrap();
        assert_eq!(nf.na, ndisc::Repr::unsolicited(vip, nf.ethernet.src, false));
        assert_eq!(nf.ip.src, vip);
        let mut out = [0u8; 128];
        let n = ndisc::emit_unsolicited(&mut out, nf.ethernet.src, vip, nf.na.router).unwrap();
        assert_eq!(&out[..n], &frame[..]);
    }
}

/// Whether a privileged test can run: root and the named tools. With
/// `KARS_PRIVILEGED_TESTS=require` a missing prerequisite fails the test; otherwise the test
/// prints why it is skipped and the caller returns.
pub(crate) fn privileged(test: &str, tools: &[&str]) -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            !std::process::Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    let why = match (root, missing.is_empty()) {
        (true, true) => return true,
        (false, _) => "root".to_string(),
        (true, false) => missing.join(", "),
    };
    assert!(
        std::env::var("KARS_PRIVILEGED_TESTS").as_deref() != Ok("require"),
        "{test}: KARS_PRIVILEGED_TESTS=require but this test needs {why}"
    );
    println!("{test}: skipped: needs {why}");
    false
}
