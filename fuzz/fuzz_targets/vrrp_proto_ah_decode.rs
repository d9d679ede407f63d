//! keepalived's AH header and ICV on arbitrary bytes: header parse, ICV over any datagram.
//! Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vrrp_proto::ipsec_ah::{Packet, Repr, compute_icv, seal, verify_icv};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::new_checked(data) {
        let _ = (
            p.next_header(),
            p.payload_len(),
            p.reserved(),
            p.spi(),
            p.sequence(),
            p.icv(),
        );
        let _ = p.payload().len();
        if let Ok(r) = Repr::parse(&p) {
            let mut out = [0u8; 24];
            assert_eq!(r.emit(&mut out), Ok(24));
            // Everything but the reserved field (ignored on receipt) survives.
            let mut want = [0u8; 24];
            want.copy_from_slice(&data[..24]);
            want[2..4].fill(0);
            assert_eq!(out, want);
        }
    }
    // The ICV functions take whole datagrams: any bytes must give a result or an error.
    let key = *b"ahsecret";
    let icv = compute_icv(key, data);
    let ok = verify_icv(key, data).is_ok();
    if ok {
        assert!(icv.is_some());
    }
    let mut copy = data.to_vec();
    if seal(key, &mut copy).is_ok() {
        assert!(
            verify_icv(key, &copy).is_ok(),
            "a sealed datagram must verify"
        );
    }
});
