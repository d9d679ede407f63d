//! Unsolicited Neighbour Advertisement (RFC 4861 §4.4, §7.2.6), as keepalived sends it for IPv6
//! virtual addresses (RFC 5798 §8.2.2 / §6.4.2): a complete 86-byte Ethernet frame on a
//! `PF_PACKET` socket, so the IPv6 header is built here too.
//!
//! ```text
//! Ethernet: dst 33:33:00:00:00:01, src = interface MAC, type 0x86dd              (14)
//! IPv6:     tc 0, flow 0, payload 32, next header 58, hop limit 255,
//!           src = the VIP itself, dst ff02::1                                    (40)
//! ICMPv6:   type 136, code 0, checksum (pseudo-header), R|S|O flags + reserved,
//!           target = VIP                                                         (24)
//! Option:   type 2 (target link-layer address), length 1 (x 8 bytes), MAC         (8)
//! ```
//!
//! keepalived sets O=1, S=0, and R=1 only when IPv6 forwarding is enabled on the interface.

use core::net::Ipv6Addr;

use crate::checksum;
use crate::error::FrameError;
use crate::ethernet::{self, MacAddr};
use crate::ipv6;

/// The ICMPv6 next-header value.
pub const IP_PROTOCOL_ICMPV6: u8 = 58;
/// ICMPv6 type of a Neighbour Advertisement.
pub const TYPE_NEIGHBOR_ADVERT: u8 = 136;
/// The option type of the target link-layer address option.
pub const OPTION_TARGET_LL_ADDR: u8 = 2;
/// The length of the NA message with its one option.
pub const MESSAGE_LEN: usize = 32;
/// The length of the whole frame.
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN + MESSAGE_LEN;
/// The all-nodes multicast address, `ff02::1`.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// The Ethernet address of `ff02::1` (RFC 2464 §7).
pub const ALL_NODES_MAC: MacAddr = MacAddr([0x33, 0x33, 0, 0, 0, 1]);

const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

mod field {
    use core::ops::Range;
    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: Range<usize> = 2..4;
    pub(super) const FLAGS: usize = 4;
    pub(super) const RESERVED: Range<usize> = 5..8;
    pub(super) const TARGET: Range<usize> = 8..24;
    pub(super) const OPT_TYPE: usize = 24;
    pub(super) const OPT_LEN: usize = 25;
    pub(super) const OPT_MAC: Range<usize> = 26..32;
}

/// A Neighbour Advertisement with a target link-layer address option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// R flag: the sender is a router.
    pub router: bool,
    /// S flag: sent in response to a solicitation (0 for unsolicited).
    pub solicited: bool,
    /// O flag: override existing cache entries (keepalived: 1).
    pub override_: bool,
    /// The target address (the VIP).
    pub target: Ipv6Addr,
    /// The target link-layer address option (keepalived always sends one).
    pub target_mac: Option<MacAddr>,
}

impl Repr {
    /// keepalived's unsolicited NA for `vip` owned by `mac`.
    pub const fn unsolicited(vip: Ipv6Addr, mac: MacAddr, router: bool) -> Repr {
        Repr {
            router,
            solicited: false,
            override_: true,
            target: vip,
            target_mac: Some(mac),
        }
    }

    /// Parses an ICMPv6 NA message and checks its checksum with the IPv6 `src`/`dst`. Options
    /// other than a leading target link-layer address are skipped; a zero-length option is an
    /// error (RFC 4861 §4.6).
    pub fn parse(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<Repr, FrameError> {
        FrameError::at_least("neighbour advertisement", msg.len(), field::TARGET.end)?;
        if msg[field::TYPE] != TYPE_NEIGHBOR_ADVERT || msg[field::CODE] != 0 {
            return Err(FrameError::Unsupported {
                field: "ICMPv6 type",
                value: u32::from(msg[field::TYPE]),
            });
        }
        let Ok(len32) = u32::try_from(msg.len()) else {
            return Err(FrameError::Unsupported {
                field: "ICMPv6 length",
                value: u32::MAX,
            });
        };
        let acc = checksum::pseudo_header_v6(src, dst, IP_PROTOCOL_ICMPV6, len32);
        if checksum::fold(checksum::accumulate(acc, msg)) != 0 {
            return Err(FrameError::Checksum);
        }
        let flags = msg[field::FLAGS];
        let mut target = [0u8; 16];
        target.copy_from_slice(&msg[field::TARGET]);
        let mut target_mac = None;
        let mut opts = &msg[field::TARGET.end..];
        while let [kind, len, ..] = *opts {
            let n = usize::from(len) * 8;
            if n == 0 {
                return Err(FrameError::Unsupported {
                    field: "ND option length",
                    value: 0,
                });
            }
            let Some(opt) = opts.get(..n) else {
                return Err(FrameError::Truncated {
                    what: "ND option",
                    len: opts.len(),
                    needed: n,
                });
            };
            if kind == OPTION_TARGET_LL_ADDR && n == 8 && target_mac.is_none() {
                target_mac = Some(MacAddr::from_slice(&opt[2..8]));
            }
            opts = &opts[n..];
        }
        if !opts.is_empty() {
            return Err(FrameError::Truncated {
                what: "ND option",
                len: opts.len(),
                needed: 8,
            });
        }
        Ok(Repr {
            router: flags & FLAG_ROUTER != 0,
            solicited: flags & FLAG_SOLICITED != 0,
            override_: flags & FLAG_OVERRIDE != 0,
            target: Ipv6Addr::from(target),
            target_mac,
        })
    }

    /// The message length.
    pub const fn buffer_len(&self) -> usize {
        if self.target_mac.is_some() {
            MESSAGE_LEN
        } else {
            field::TARGET.end
        }
    }

    /// Writes the message with its checksum for `src` -> `dst`; `None` if `buf` is too short.
    pub fn emit(&self, buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> Option<usize> {
        let len = self.buffer_len();
        let m = buf.get_mut(..len)?;
        m[field::TYPE] = TYPE_NEIGHBOR_ADVERT;
        m[field::CODE] = 0;
        m[field::CHECKSUM].copy_from_slice(&[0, 0]);
        let mut flags = 0;
        if self.router {
            flags |= FLAG_ROUTER;
        }
        if self.solicited {
            flags |= FLAG_SOLICITED;
        }
        if self.override_ {
            flags |= FLAG_OVERRIDE;
        }
        m[field::FLAGS] = flags;
        m[field::RESERVED].copy_from_slice(&[0, 0, 0]);
        m[field::TARGET].copy_from_slice(&self.target.octets());
        if let Some(mac) = self.target_mac {
            m[field::OPT_TYPE] = OPTION_TARGET_LL_ADDR;
            m[field::OPT_LEN] = 1;
            m[field::OPT_MAC].copy_from_slice(&mac.0);
        }
        let acc = checksum::pseudo_header_v6(src, dst, IP_PROTOCOL_ICMPV6, len as u32);
        let c = checksum::fold(checksum::accumulate(acc, m));
        m[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
        Some(len)
    }
}

/// A decoded NA frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The Ethernet header.
    pub ethernet: ethernet::Repr,
    /// The IPv6 header.
    pub ip: ipv6::Repr,
    /// The advertisement.
    pub na: Repr,
}

/// Parses an Ethernet frame carrying an IPv6 Neighbour Advertisement (no extension headers).
pub fn parse_frame(frame: &[u8]) -> Result<Frame, FrameError> {
    let (eth, payload) = ethernet::Repr::parse(frame)?;
    if eth.ethertype != ethernet::ETHERTYPE_IPV6 {
        return Err(FrameError::Unsupported {
            field: "ethertype",
            value: u32::from(eth.ethertype),
        });
    }
    let (ip, msg) = ipv6::Repr::parse(payload)?;
    if ip.next_header != IP_PROTOCOL_ICMPV6 {
        return Err(FrameError::Unsupported {
            field: "IPv6 next header",
            value: u32::from(ip.next_header),
        });
    }
    let na = Repr::parse(msg, ip.src, ip.dst)?;
    Ok(Frame {
        ethernet: eth,
        ip,
        na,
    })
}

/// Writes keepalived's 86-byte unsolicited NA frame for `vip` from `mac` into `buf`. Returns the
/// frame length, or `None` if `buf` is shorter than [`FRAME_LEN`].
pub fn emit_unsolicited(
    buf: &mut [u8],
    mac: MacAddr,
    vip: Ipv6Addr,
    router: bool,
) -> Option<usize> {
    let frame = buf.get_mut(..FRAME_LEN)?;
    let mut at = ethernet::Repr {
        dst: ALL_NODES_MAC,
        src: mac,
        ethertype: ethernet::ETHERTYPE_IPV6,
    }
    .emit(frame)?;
    at += ipv6::Repr {
        traffic_class: 0,
        flow_label: 0,
        next_header: IP_PROTOCOL_ICMPV6,
        hop_limit: 255,
        src: vip,
        dst: ALL_NODES,
        payload_len: MESSAGE_LEN as u16,
    }
    .emit(&mut frame[at..])?;
    Repr::unsolicited(vip, mac, router).emit(&mut frame[at..], vip, ALL_NODES)?;
    Some(FRAME_LEN)
}

#[cfg(test)]
mod test {
    use super::*;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 7]);

    fn vip() -> Ipv6Addr {
        "fd77::100".parse().unwrap()
    }

    #[test]
    fn test_emit_parse() {
        let mut b = [0u8; 100];
        assert_eq!(emit_unsolicited(&mut b, MAC, vip(), false), Some(86));
        let f = parse_frame(&b[..86]).unwrap();
        assert_eq!(f.ethernet.dst, ALL_NODES_MAC);
        assert_eq!(f.ip.hop_limit, 255);
        assert_eq!(f.ip.src, vip());
        assert_eq!(f.na, Repr::unsolicited(vip(), MAC, false));
        assert_eq!(b[14 + 40 + 4], 0x20);
        assert_eq!(emit_unsolicited(&mut b[..85], MAC, vip(), false), None);
    }

    #[test]
    fn test_rejects() {
        let mut b = [0u8; 86];
        emit_unsolicited(&mut b, MAC, vip(), true).unwrap();
        for n in 0..86 {
            assert!(parse_frame(&b[..n]).is_err(), "{n}");
        }
        let mut c = b;
        c[60] ^= 1;
        assert_eq!(parse_frame(&c), Err(FrameError::Checksum));
        let mut c = b;
        c[54] = 135;
        assert!(parse_frame(&c).is_err());
        // zero-length option
        let mut c = b;
        c[54 + 25] = 0;
        let m = &mut c[54..];
        m[2..4].copy_from_slice(&[0, 0]);
        let acc = checksum::pseudo_header_v6(vip(), ALL_NODES, 58, 32);
        let s = checksum::fold(checksum::accumulate(acc, m));
        m[2..4].copy_from_slice(&s.to_be_bytes());
        assert!(matches!(
            parse_frame(&c),
            Err(FrameError::Unsupported { .. })
        ));
    }
}
