//! The Ethernet II header (IEEE 802.3 §3.2 with an ethertype), for the frames keepalived sends on
//! `PF_PACKET` sockets: gratuitous ARP and unsolicited Neighbour Advertisement.
//!
//! ```text
//! +-------------------+-------------------+-----------+---------
//! | destination (6)   | source (6)        | type (2)  | payload
//! +-------------------+-------------------+-----------+---------
//! ```

use core::fmt;

use crate::error::FrameError;

/// The header length.
pub const HEADER_LEN: usize = 14;
/// Ethertype of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethertype of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

mod field {
    use core::ops::Range;
    pub(super) const DST: Range<usize> = 0..6;
    pub(super) const SRC: Range<usize> = 6..12;
    pub(super) const ETHERTYPE: Range<usize> = 12..14;
}

/// A 48-bit MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The VRRP virtual MAC 00-00-5E-00-01-{VRID} (RFC 5798 §7.3; keepalived 1.2.13 uses it for
    /// IPv6 too).
    pub const fn vrrp_v4(vrid: u8) -> MacAddr {
        MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, vrid])
    }

    /// The IPv6 VRRP virtual MAC 00-00-5E-00-02-{VRID} (RFC 5798 §7.3).
    pub const fn vrrp_v6(vrid: u8) -> MacAddr {
        MacAddr([0x00, 0x00, 0x5e, 0x00, 0x02, vrid])
    }

    /// The octets.
    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    pub(crate) fn from_slice(s: &[u8]) -> MacAddr {
        let mut m = [0u8; 6];
        let n = s.len().min(6);
        m[..n].copy_from_slice(&s[..n]);
        MacAddr(m)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A parsed Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Destination MAC.
    pub dst: MacAddr,
    /// Source MAC.
    pub src: MacAddr,
    /// Ethertype.
    pub ethertype: u16,
}

impl Repr {
    /// Parses the header of `frame` and returns it with the payload.
    pub fn parse(frame: &[u8]) -> Result<(Repr, &[u8]), FrameError> {
        FrameError::at_least("Ethernet header", frame.len(), HEADER_LEN)?;
        let t = &frame[field::ETHERTYPE];
        Ok((
            Repr {
                dst: MacAddr::from_slice(&frame[field::DST]),
                src: MacAddr::from_slice(&frame[field::SRC]),
                ethertype: u16::from_be_bytes([t[0], t[1]]),
            },
            &frame[HEADER_LEN..],
        ))
    }

    /// The header length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into `buf[..14]`; `None` if `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let h = buf.get_mut(..HEADER_LEN)?;
        h[field::DST].copy_from_slice(&self.dst.0);
        h[field::SRC].copy_from_slice(&self.src.0);
        h[field::ETHERTYPE].copy_from_slice(&self.ethertype.to_be_bytes());
        Some(HEADER_LEN)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_parse_emit() {
        let r = Repr {
            dst: MacAddr::BROADCAST,
            src: MacAddr::vrrp_v4(51),
            ethertype: ETHERTYPE_ARP,
        };
        let mut b = [0u8; 16];
        assert_eq!(r.emit(&mut b), Some(14));
        let (p, rest) = Repr::parse(&b).unwrap();
        assert_eq!(p, r);
        assert_eq!(rest.len(), 2);
        assert_eq!(r.src.to_string(), "00:00:5e:00:01:33");
        assert!(Repr::parse(&b[..13]).is_err());
        assert_eq!(r.emit(&mut b[..13]), None);
    }
}
