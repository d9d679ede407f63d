//! Ethernet + ARP frames from arbitrary bytes; whatever parses must re-emit identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_proto::{arp, ethernet};

fuzz_target!(|data: &[u8]| {
    if let Ok((eth, payload)) = ethernet::Repr::parse(data) {
        let mut out = [0u8; 14];
        assert_eq!(eth.emit(&mut out), Some(14));
        assert_eq!(out[..], data[..14]);
        let _ = payload.len();
    }
    if let Ok(r) = arp::Repr::parse(data) {
        let mut out = [0u8; arp::PACKET_LEN];
        assert_eq!(r.emit(&mut out), Some(arp::PACKET_LEN));
        assert_eq!(out[..], data[..arp::PACKET_LEN]);
        let _ = r.is_gratuitous();
    }
    if let Ok((eth, a)) = arp::parse_frame(data) {
        let mut out = [0u8; arp::FRAME_LEN];
        if a == arp::Repr::gratuitous(eth.src, a.sender_ip)
            && eth.dst == ethernet::MacAddr::BROADCAST
        {
            assert_eq!(
                arp::emit_gratuitous(&mut out, eth.src, a.sender_ip),
                Some(arp::FRAME_LEN)
            );
            assert_eq!(out[..], data[..arp::FRAME_LEN]);
        }
    }
});
