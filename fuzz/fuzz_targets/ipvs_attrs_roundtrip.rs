//! Round trip over IPVS attribute sets: decode arbitrary bytes as an IPVS generic-netlink
//! payload (the first byte picks the command, which decides how top-level attributes are
//! read), re-encode, decode again, and require the same value. Also feeds every nest to
//! the typed decoders, which must never panic.
#![no_main]

use ipvs::netlink_packet_core::{Emitable, Nla, ParseableParametrized};
use ipvs::netlink_packet_generic::GenlHeader;
use ipvs::nl::{CmdAttr, Command, IpvsMessage};
use ipvs::{Destination, Family, Service, SyncDaemon};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cmd, attrs)) = data.split_first() else {
        return;
    };
    let header = GenlHeader { cmd, version: 1 };
    let Ok(msg) = IpvsMessage::parse_with_param(attrs, header) else {
        return;
    };
    assert_eq!(msg.command, Command::from_number(cmd));
    // Typed decoding of every nest must not panic (errors are fine).
    for a in &msg.attrs {
        let mut buf = vec![0u8; a.value_len()];
        a.emit_value(&mut buf);
        match a {
            CmdAttr::Service(_) => drop(Service::parse_nest(&buf)),
            CmdAttr::Dest(_) => {
                drop(Destination::parse_nest(&buf, Family::Ipv4));
                drop(Destination::parse_nest(&buf, Family::Ipv6));
            }
            CmdAttr::Daemon(_) => drop(SyncDaemon::parse_nest(&buf)),
            _ => {}
        }
    }
    // Known lossy case: a nest close to 64 KiB can grow past the 16-bit length on
    // re-encoding (e.g. empty stats nests become full ones); the kernel never sends those.
    if !msg.is_encodable() {
        return;
    }
    let mut out = vec![0u8; msg.buffer_len()];
    msg.emit(&mut out);
    let again = IpvsMessage::parse_with_param(&out[..], header)
        .unwrap_or_else(|e| panic!("re-encoded message does not decode: {e}\n{msg:?}"));
    assert_eq!(again, msg);
    // And the second encoding is identical to the first.
    let mut out2 = vec![0u8; again.buffer_len()];
    again.emit(&mut out2);
    assert_eq!(out, out2);
});
