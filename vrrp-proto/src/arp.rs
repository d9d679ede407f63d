//! Gratuitous ARP (RFC 826 packet layout; RFC 5798 §8.1.2 / RFC 3768 §8.1.2 "gratuitous ARP").
//!
//! keepalived sends a 42-byte frame on a `PF_PACKET` socket (the NIC pads it to 60):
//!
//! ```text
//! Ethernet: dst ff:ff:ff:ff:ff:ff, src = interface MAC (the VMAC with use_vmac), type 0x0806
//! ARP:      htype 1, ptype 0x0800, hlen 6, plen 4, op 1 (REQUEST)
//!           sha = interface MAC, spa = VIP, tha = ff:ff:ff:ff:ff:ff, tpa = VIP
//! ```
//!
//! Note the target hardware address: keepalived puts the broadcast address there, not zeros.

use core::net::Ipv4Addr;

use crate::error::FrameError;
use crate::ethernet::{self, MacAddr};

/// The ARP packet length for Ethernet/IPv4.
pub const PACKET_LEN: usize = 28;
/// The gratuitous ARP frame length (Ethernet + ARP, unpadded).
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + PACKET_LEN;

mod field {
    use core::ops::Range;
    pub(super) const HTYPE: Range<usize> = 0..2;
    pub(super) const PTYPE: Range<usize> = 2..4;
    pub(super) const HLEN: usize = 4;
    pub(super) const PLEN: usize = 5;
    pub(super) const OPER: Range<usize> = 6..8;
    pub(super) const SHA: Range<usize> = 8..14;
    pub(super) const SPA: Range<usize> = 14..18;
    pub(super) const THA: Range<usize> = 18..24;
    pub(super) const TPA: Range<usize> = 24..28;
}

/// The ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1: request (what keepalived sends as gratuitous ARP).
    Request,
    /// 2: reply.
    Reply,
    /// Any other value.
    Other(u16),
}

impl Operation {
    /// The wire value.
    pub const fn number(self) -> u16 {
        match self {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Other(n) => n,
        }
    }

    const fn from_number(n: u16) -> Operation {
        match n {
            1 => Operation::Request,
            2 => Operation::Reply,
            n => Operation::Other(n),
        }
    }
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The operation.
    pub operation: Operation,
    /// Sender hardware address.
    pub sender_hw: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_hw: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

fn ip_at(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

impl Repr {
    /// keepalived's gratuitous ARP for `vip` owned by `mac`.
    pub const fn gratuitous(mac: MacAddr, vip: Ipv4Addr) -> Repr {
        Repr {
            operation: Operation::Request,
            sender_hw: mac,
            sender_ip: vip,
            target_hw: MacAddr::BROADCAST,
            target_ip: vip,
        }
    }

    /// Whether this is gratuitous: sender and target protocol addresses are equal.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }

    /// Parses an ARP packet (Ethernet hardware, IPv4 protocol); trailing bytes (padding) are
    /// ignored.
    pub fn parse(b: &[u8]) -> Result<Repr, FrameError> {
        FrameError::at_least("ARP packet", b.len(), PACKET_LEN)?;
        let htype = u16::from_be_bytes([b[field::HTYPE.start], b[field::HTYPE.start + 1]]);
        let ptype = u16::from_be_bytes([b[field::PTYPE.start], b[field::PTYPE.start + 1]]);
        if htype != 1 || b[field::HLEN] != 6 {
            return Err(FrameError::Unsupported {
                field: "ARP hardware type",
                value: u32::from(htype),
            });
        }
        if ptype != ethernet::ETHERTYPE_IPV4 || b[field::PLEN] != 4 {
            return Err(FrameError::Unsupported {
                field: "ARP protocol type",
                value: u32::from(ptype),
            });
        }
        let op = u16::from_be_bytes([b[field::OPER.start], b[field::OPER.start + 1]]);
        Ok(Repr {
            operation: Operation::from_number(op),
            sender_hw: MacAddr::from_slice(&b[field::SHA]),
            sender_ip: ip_at(&b[field::SPA]),
            target_hw: MacAddr::from_slice(&b[field::THA]),
            target_ip: ip_at(&b[field::TPA]),
        })
    }

    /// The packet length.
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the packet into `buf[..28]`; `None` if `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let b = buf.get_mut(..PACKET_LEN)?;
        b[field::HTYPE].copy_from_slice(&1u16.to_be_bytes());
        b[field::PTYPE].copy_from_slice(&ethernet::ETHERTYPE_IPV4.to_be_bytes());
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
        b[field::OPER].copy_from_slice(&self.operation.number().to_be_bytes());
        b[field::SHA].copy_from_slice(&self.sender_hw.0);
        b[field::SPA].copy_from_slice(&self.sender_ip.octets());
        b[field::THA].copy_from_slice(&self.target_hw.0);
        b[field::TPA].copy_from_slice(&self.target_ip.octets());
        Some(PACKET_LEN)
    }
}

/// Parses an Ethernet frame carrying ARP.
pub fn parse_frame(frame: &[u8]) -> Result<(ethernet::Repr, Repr), FrameError> {
    let (eth, payload) = ethernet::Repr::parse(frame)?;
    if eth.ethertype != ethernet::ETHERTYPE_ARP {
        return Err(FrameError::Unsupported {
            field: "ethertype",
            value: u32::from(eth.ethertype),
        });
    }
    Ok((eth, Repr::parse(payload)?))
}

/// Writes keepalived's 42-byte gratuitous ARP frame for `vip` from `mac` into `buf`. Returns the
/// frame length, or `None` if `buf` is shorter than [`FRAME_LEN`].
pub fn emit_gratuitous(buf: &mut [u8], mac: MacAddr, vip: Ipv4Addr) -> Option<usize> {
    let frame = buf.get_mut(..FRAME_LEN)?;
    let eth = ethernet::Repr {
        dst: MacAddr::BROADCAST,
        src: mac,
        ethertype: ethernet::ETHERTYPE_ARP,
    };
    let n = eth.emit(frame)?;
    Repr::gratuitous(mac, vip).emit(&mut frame[n..])?;
    Some(FRAME_LEN)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_emit_parse_gratuitous() {
        let mac = MacAddr([0x02, 0, 0, 0, 0, 1]);
        let vip = Ipv4Addr::new(10, 77, 0, 100);
        let mut b = [0u8; 60];
        assert_eq!(emit_gratuitous(&mut b, mac, vip), Some(42));
        assert_eq!(&b[..6], &[0xff; 6]);
        assert_eq!(&b[12..22], &[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        let (eth, arp) = parse_frame(&b).unwrap();
        assert_eq!(eth.src, mac);
        assert_eq!(arp, Repr::gratuitous(mac, vip));
        assert!(arp.is_gratuitous());
        assert_eq!(emit_gratuitous(&mut b[..41], mac, vip), None);
    }

    #[test]
    fn test_check_len_and_types() {
        let mut b = [0u8; 42];
        emit_gratuitous(&mut b, MacAddr::default(), Ipv4Addr::LOCALHOST).unwrap();
        for n in 0..42 {
            assert!(parse_frame(&b[..n]).is_err());
        }
        let mut c = b;
        c[14 + 1] = 6; // htype 6
        assert!(matches!(
            parse_frame(&c),
            Err(FrameError::Unsupported { .. })
        ));
        let mut c = b;
        c[12] = 0x86;
        assert!(parse_frame(&c).is_err());
        let mut c = b;
        c[14 + 7] = 9;
        assert_eq!(parse_frame(&c).unwrap().1.operation, Operation::Other(9));
    }
}
