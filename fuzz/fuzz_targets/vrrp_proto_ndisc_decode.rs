//! Ethernet + IPv6 + ICMPv6 Neighbour Advertisement frames from arbitrary bytes. Must never
//! panic; whatever parses as keepalived's unsolicited NA must re-emit identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_proto::{ipv6, ndisc};

fuzz_target!(|data: &[u8]| {
    if let Ok((ip, payload)) = ipv6::Repr::parse(data) {
        assert_eq!(payload.len(), usize::from(ip.payload_len));
        let mut out = [0u8; ipv6::HEADER_LEN];
        assert_eq!(ip.emit(&mut out), Some(ipv6::HEADER_LEN));
        assert_eq!(out[..], data[..ipv6::HEADER_LEN]);
        let _ = ndisc::Repr::parse(payload, ip.src, ip.dst);
    }
    if let Ok(f) = ndisc::parse_frame(data) {
        let mut out = [0u8; ndisc::FRAME_LEN];
        let canonical = ndisc::Repr::unsolicited(f.na.target, f.ethernet.src, f.na.router);
        if f.na == canonical
            && f.ip.src == f.na.target
            && usize::from(f.ip.payload_len) == ndisc::MESSAGE_LEN
        {
            let n = ndisc::emit_unsolicited(&mut out, f.ethernet.src, f.na.target, f.na.router);
            assert_eq!(n, Some(ndisc::FRAME_LEN));
            let again = ndisc::parse_frame(&out).map(|g| g.na);
            assert_eq!(again, Ok(canonical));
        }
    }
});
