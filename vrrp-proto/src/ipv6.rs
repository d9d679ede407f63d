//! The fixed IPv6 header (RFC 8200 §3), for the unsolicited Neighbour Advertisement frame that
//! keepalived builds itself (the VRRPv3 advertisement's IPv6 header is the kernel's).
//!
//! ```text
//! |Version| Traffic Class |           Flow Label                  |
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! |                    Source Address (16)                        |
//! |                 Destination Address (16)                      |
//! ```

use core::net::Ipv6Addr;

use crate::error::FrameError;

/// The header length.
pub const HEADER_LEN: usize = 40;

mod field {
    use core::ops::Range;
    pub(super) const VER_TC_FLOW: Range<usize> = 0..4;
    pub(super) const PAYLOAD_LEN: Range<usize> = 4..6;
    pub(super) const NEXT_HEADER: usize = 6;
    pub(super) const HOP_LIMIT: usize = 7;
    pub(super) const SRC: Range<usize> = 8..24;
    pub(super) const DST: Range<usize> = 24..40;
}

/// A parsed IPv6 header (extension headers are not interpreted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Next header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Payload length.
    pub payload_len: u16,
}

fn addr_at(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

impl Repr {
    /// Parses the header and returns it with exactly `payload_len` bytes of payload (trailing
    /// bytes are padding and ignored).
    pub fn parse(b: &[u8]) -> Result<(Repr, &[u8]), FrameError> {
        FrameError::at_least("IPv6 header", b.len(), HEADER_LEN)?;
        let v = &b[field::VER_TC_FLOW];
        let word = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
        if word >> 28 != 6 {
            return Err(FrameError::Unsupported {
                field: "IP version",
                value: word >> 28,
            });
        }
        let pl = u16::from_be_bytes([b[field::PAYLOAD_LEN.start], b[field::PAYLOAD_LEN.start + 1]]);
        let Some(payload) = b.get(HEADER_LEN..HEADER_LEN + usize::from(pl)) else {
            return Err(FrameError::Truncated {
                what: "IPv6 payload",
                len: b.len() - HEADER_LEN,
                needed: usize::from(pl),
            });
        };
        Ok((
            Repr {
                traffic_class: (word >> 20) as u8,
                flow_label: word & 0x000f_ffff,
                next_header: b[field::NEXT_HEADER],
                hop_limit: b[field::HOP_LIMIT],
                src: addr_at(&b[field::SRC]),
                dst: addr_at(&b[field::DST]),
                payload_len: pl,
            },
            payload,
        ))
    }

    /// The header length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into `buf[..40]`; `None` if `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let h = buf.get_mut(..HEADER_LEN)?;
        let word =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff);
        h[field::VER_TC_FLOW].copy_from_slice(&word.to_be_bytes());
        h[field::PAYLOAD_LEN].copy_from_slice(&self.payload_len.to_be_bytes());
        h[field::NEXT_HEADER] = self.next_header;
        h[field::HOP_LIMIT] = self.hop_limit;
        h[field::SRC].copy_from_slice(&self.src.octets());
        h[field::DST].copy_from_slice(&self.dst.octets());
        Some(HEADER_LEN)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_parse_emit() {
        let r = Repr {
            traffic_class: 0xa5,
            flow_label: 0x12345,
            next_header: 58,
            hop_limit: 255,
            src: "fd77::100".parse().unwrap(),
            dst: "ff02::1".parse().unwrap(),
            payload_len: 2,
        };
        let mut b = [0u8; 43];
        assert_eq!(r.emit(&mut b), Some(40));
        let (p, payload) = Repr::parse(&b).unwrap();
        assert_eq!(p, r);
        assert_eq!(payload.len(), 2);
        assert!(Repr::parse(&b[..41]).is_err());
        assert!(Repr::parse(&b[..39]).is_err());
        b[0] = 0x45;
        assert!(Repr::parse(&b).is_err());
    }
}
