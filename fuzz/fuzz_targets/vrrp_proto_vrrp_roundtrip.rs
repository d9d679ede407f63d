//! parse -> emit -> parse for VRRP messages and whole IPv4 datagrams: the second parse must equal
//! the first, and the emitted bytes must equal the input wherever the input was canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_proto::vrrp::{ChecksumScope, Family, Packet};
use vrrp_proto::{
    AhParams, Auth, Ipv4ChecksumMode, Ipv4Header, Repr, decode_ipv4, emit_ipv4, ipv4,
};

fuzz_target!(|data: &[u8]| {
    // The bare VRRP message, both families.
    if let Ok(p) = Packet::new_checked(data) {
        for family in [Family::Ipv4, Family::Ipv6] {
            let Ok(r) = Repr::parse(&p, family) else {
                continue;
            };
            let mut out = vec![0u8; r.buffer_len()];
            let n = r
                .emit(&mut out, ChecksumScope::Message)
                .expect("a parsed Repr must emit");
            assert_eq!(n, data.len());
            let q = Packet::new_checked(&out[..]).expect("emitted message must check");
            assert!(q.verify_checksum(ChecksumScope::Message));
            assert_eq!(Repr::parse(&q, family), Ok(r));
            // Everything but the checksum, the v3 reserved bits and unused v2 auth data is kept.
            let mut a = data.to_vec();
            let mut b = out.clone();
            for v in [&mut a, &mut b] {
                v[6] = 0;
                v[7] = 0;
                if r.version() == vrrp_proto::Version::V3 {
                    v[4] &= 0x0f;
                } else if !matches!(r.auth, Auth::Simple(_)) {
                    let l = v.len();
                    v[l - 8..].fill(0);
                }
            }
            assert_eq!(a, b);
        }
    }
    // Whole IPv4 datagrams: decode -> emit -> decode.
    if let Ok(rx) = decode_ipv4(data) {
        let Ok(ip) = ipv4::Repr::parse(&ipv4::Packet::new_unchecked(data)) else {
            panic!("decode_ipv4 accepted a header ipv4::Repr rejects");
        };
        let header = Ipv4Header {
            src: ip.src,
            dst: ip.dst,
            ident: ip.ident,
            ttl: ip.ttl,
            tos: ip.tos,
        };
        let ah = rx.ah.map(|a| AhParams {
            key: *b"fuzzkey\0",
            sequence: a.sequence,
        });
        let mut out = [0u8; 2048];
        let Ok(n) = emit_ipv4(
            &mut out,
            &header,
            &rx.advert,
            Ipv4ChecksumMode::PseudoHeader,
            ah.as_ref(),
        ) else {
            // Only an AH header on a non-AH advert (or the reverse) cannot be re-emitted.
            assert!(rx.ah.is_some() != (rx.advert.auth == Auth::Ah));
            return;
        };
        let again = decode_ipv4(&out[..n]).expect("emitted datagram must decode");
        assert_eq!(again.advert, rx.advert);
        assert_eq!(again.endpoints, rx.endpoints);
        assert_eq!(again.ttl, rx.ttl);
        // The SPI is rebuilt from the source address, as keepalived does.
        assert_eq!(
            again.ah.map(|a| (a.spi, a.sequence)),
            rx.ah.map(|a| (u32::from(ip.src), a.sequence))
        );
    }
});
