//! The IPv4 header (RFC 791 §3.1), for the raw-socket paths: keepalived sends VRRPv2/v3 over
//! IPv4 with `IP_HDRINCL` and reads the whole datagram back.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |      TOS      |          Total Length         |
//! |         Identification        |Flags|      Fragment Offset    |
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! |                       Source Address                          |
//! |                    Destination Address                        |
//! |                    Options (IHL > 5)                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Once [`Packet::new_checked`] has returned `Ok`, no accessor panics and
//! [`Packet::payload`] is exactly the datagram's payload.

use core::net::Ipv4Addr;

use crate::checksum;
use crate::error::{EmitError, LengthError, Reject};

/// The length of a header without options.
pub const HEADER_LEN: usize = 20;
/// The TOS keepalived sends adverts with (precedence 6, "internetwork control").
pub const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;

mod field {
    use core::ops::Range;
    pub(super) const VER_IHL: usize = 0;
    pub(super) const TOS: usize = 1;
    pub(super) const TOTAL_LEN: Range<usize> = 2..4;
    pub(super) const IDENT: Range<usize> = 4..6;
    pub(super) const FLAGS_FRAG: Range<usize> = 6..8;
    pub(super) const TTL: usize = 8;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const CHECKSUM: Range<usize> = 10..12;
    pub(super) const SRC: Range<usize> = 12..16;
    pub(super) const DST: Range<usize> = 16..20;
}

/// Byte offsets of the fields that keepalived's AH ICV zeroes (see [`crate::ipsec_ah`]).
pub(crate) mod mutable {
    pub(crate) const TOS: usize = super::field::TOS;
    pub(crate) const FLAGS_FRAG: core::ops::Range<usize> = super::field::FLAGS_FRAG;
    pub(crate) const CHECKSUM: core::ops::Range<usize> = super::field::CHECKSUM;
}

wire_packet! {
    /// A read/write view over an IPv4 datagram.
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks version 4, IHL >= 5, and `IHL*4 <= total length <= buffer length`. Bytes after the
    /// total length (Ethernet padding) are allowed and ignored.
    pub fn check_len(&self) -> Result<(), Reject> {
        let b = self.buffer.as_ref();
        LengthError::at_least("IPv4 header", b.len(), HEADER_LEN)?;
        let hl = self.header_len();
        let total = usize::from(self.total_len());
        if self.version() != 4 || hl < HEADER_LEN || total < hl || total > b.len() {
            return Err(LengthError::Ipv4Header.into());
        }
        Ok(())
    }

    /// The version nibble.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL x 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The TOS / DSCP+ECN byte.
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// The total length field.
    pub fn total_len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::TOTAL_LEN.start], b[field::TOTAL_LEN.start + 1]])
    }

    /// The identification field.
    pub fn ident(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::IDENT.start], b[field::IDENT.start + 1]])
    }

    /// The flags and fragment offset field.
    pub fn flags_frag(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::FLAGS_FRAG.start], b[field::FLAGS_FRAG.start + 1]])
    }

    /// Whether DF is set.
    pub fn dont_frag(&self) -> bool {
        self.flags_frag() & 0x4000 != 0
    }

    /// Whether this is a fragment (MF set or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & 0x3fff != 0
    }

    /// The TTL.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol.
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::CHECKSUM.start], b[field::CHECKSUM.start + 1]])
    }

    /// The source address.
    pub fn src(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The destination address.
    pub fn dst(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// Whether the header checksum verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        let hl = self.header_len().min(self.buffer.as_ref().len());
        checksum::checksum(&self.buffer.as_ref()[..hl]) == 0
    }

    /// The header bytes (with options).
    pub fn header(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..self.header_len().min(b.len())]
    }

    /// The payload: from the end of the header to the total length.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.total_len()).min(b.len());
        let start = self.header_len().min(end);
        &b[start..end]
    }

    /// The datagram: header and payload, without trailing padding.
    pub fn datagram(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..usize::from(self.total_len()).min(b.len())]
    }
}

/// A parsed IPv4 header (options are skipped on parse and never emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol (112 VRRP, 51 AH).
    pub protocol: u8,
    /// TTL (255 for VRRP, RFC 5798 §5.1.1.3).
    pub ttl: u8,
    /// TOS byte (keepalived: 0xc0).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag (keepalived leaves it clear).
    pub dont_frag: bool,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl Repr {
    /// Parses a checked packet; rejects fragments (VRRP never fragments) and a bad header
    /// checksum (reported as a malformed header: the kernel has normally dropped these already).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Reject> {
        packet.check_len()?;
        Self::parse_checked(packet)
    }

    /// [`Repr::parse`] for a packet whose `check_len` has already passed.
    #[inline]
    pub(crate) fn parse_checked<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Reject> {
        if packet.is_fragment() {
            return Err(LengthError::Fragment.into());
        }
        if !packet.verify_checksum() {
            return Err(LengthError::Ipv4Header.into());
        }
        Ok(Repr {
            src: packet.src(),
            dst: packet.dst(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            payload_len: packet.payload().len(),
        })
    }

    /// The emitted header length (no options).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header with its checksum into `buf[..20]`. Never panics.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let total = HEADER_LEN.saturating_add(self.payload_len);
        let Ok(total16) = u16::try_from(total) else {
            return Err(EmitError::Inconsistent(
                "IPv4 datagram longer than 65535 bytes",
            ));
        };
        let Some(h) = buf.get_mut(..HEADER_LEN) else {
            return Err(EmitError::BufferTooSmall {
                len: buf.len(),
                needed: HEADER_LEN,
            });
        };
        h[field::VER_IHL] = 0x45;
        h[field::TOS] = self.tos;
        h[field::TOTAL_LEN].copy_from_slice(&total16.to_be_bytes());
        h[field::IDENT].copy_from_slice(&self.ident.to_be_bytes());
        let ff: u16 = if self.dont_frag { 0x4000 } else { 0 };
        h[field::FLAGS_FRAG].copy_from_slice(&ff.to_be_bytes());
        h[field::TTL] = self.ttl;
        h[field::PROTOCOL] = self.protocol;
        h[field::CHECKSUM].copy_from_slice(&[0, 0]);
        h[field::SRC].copy_from_slice(&self.src.octets());
        h[field::DST].copy_from_slice(&self.dst.octets());
        let c = checksum::checksum(h);
        h[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
        Ok(HEADER_LEN)
    }
}

/// Recomputes the header checksum of `header` (the IPv4 header bytes) in place, after an edit.
/// Does nothing if `header` is shorter than 20 bytes.
pub fn refill_checksum(header: &mut [u8]) {
    if header.len() < HEADER_LEN {
        return;
    }
    header[field::CHECKSUM].copy_from_slice(&[0, 0]);
    let c = checksum::checksum(header);
    header[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
}

/// Sets the Identification field of `header` (the IPv4 header bytes) to `ident` and updates the
/// header checksum incrementally (RFC 1624 §3, eqn. 3: `HC' = ~(~HC + ~m + m')`), so that a
/// datagram encoded once can be sent again with a new ident without summing the header again.
/// Does nothing if `header` is shorter than 20 bytes.
pub fn set_ident(header: &mut [u8], ident: u16) {
    if header.len() < HEADER_LEN {
        return;
    }
    let old = u16::from_be_bytes([header[field::IDENT.start], header[field::IDENT.start + 1]]);
    let hc = u16::from_be_bytes([
        header[field::CHECKSUM.start],
        header[field::CHECKSUM.start + 1],
    ]);
    let sum = u32::from(!hc) + u32::from(!old) + u32::from(ident);
    let folded = (sum & 0xffff) + (sum >> 16);
    let folded = (folded & 0xffff) + (folded >> 16);
    // `folded` fits in 16 bits after two folds of a sum of three 16-bit values.
    let c = !(folded as u16);
    header[field::IDENT].copy_from_slice(&ident.to_be_bytes());
    header[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn set_ident_updates_the_checksum_as_a_full_sum_would() {
        let mut d = datagram();
        for ident in [0u16, 1, 7, 0x00ff, 0x8000, 0xfffe, 0xffff, 0x1234] {
            set_ident(&mut d[..HEADER_LEN], ident);
            let mut full = d.clone();
            refill_checksum(&mut full[..HEADER_LEN]);
            assert_eq!(d, full, "ident {ident:#x}");
            let p = Packet::new_checked(&d[..]).unwrap();
            assert!(p.verify_checksum());
            assert_eq!(p.ident(), ident);
        }
        // Too short: untouched, no panic.
        let mut short = [0u8; 19];
        set_ident(&mut short, 9);
        assert_eq!(short, [0u8; 19]);
    }

    const HDR: [u8; 20] = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x07, 0x00, 0x00, 0xff, 0x70, 0x00, 0x00, 10, 77, 0, 1, 224,
        0, 0, 18,
    ];

    fn datagram() -> Vec<u8> {
        let mut d = HDR.to_vec();
        refill_checksum(&mut d);
        d.extend_from_slice(&[0u8; 20]);
        d
    }

    #[test]
    fn test_parse_emit() {
        let d = datagram();
        let p = Packet::new_checked(&d[..]).unwrap();
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.src, Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(r.dst, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(
            (r.ttl, r.protocol, r.tos, r.ident, r.payload_len),
            (255, 112, 0xc0, 7, 20)
        );
        let mut out = [0u8; 20];
        r.emit(&mut out).unwrap();
        assert_eq!(out[..], d[..20]);
    }

    #[test]
    fn test_check_len() {
        let d = datagram();
        for n in 0..20 {
            assert!(Packet::new_checked(&d[..n]).is_err());
        }
        // total length larger than the buffer
        assert!(Packet::new_checked(&d[..39]).is_err());
        // trailing padding is fine and excluded from the payload
        let mut padded = d.clone();
        padded.extend_from_slice(&[0; 6]);
        let p = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.payload().len(), 20);
        // IHL < 5
        let mut bad = d.clone();
        bad[0] = 0x44;
        assert!(Packet::new_checked(&bad[..]).is_err());
        // IHL larger than the total length
        bad[0] = 0x4f;
        assert!(Packet::new_checked(&bad[..]).is_err());
    }

    #[test]
    fn emit_rejects_oversized_payloads() {
        let d = datagram();
        let mut r = Repr::parse(&Packet::new_checked(&d[..]).unwrap()).unwrap();
        for len in [65_516, usize::MAX] {
            r.payload_len = len;
            assert!(matches!(
                r.emit(&mut [0u8; 20]),
                Err(EmitError::Inconsistent(_))
            ));
        }
        r.payload_len = 65_515;
        assert_eq!(r.emit(&mut [0u8; 20]), Ok(20));
    }

    #[test]
    fn rejects_fragments_and_bad_checksum() {
        let mut d = datagram();
        d[6] = 0x20; // MF
        refill_checksum(&mut d[..20]);
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&d[..])),
            Err(LengthError::Fragment.into())
        );
        let mut d = datagram();
        d[10] ^= 1;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&d[..])),
            Err(LengthError::Ipv4Header.into())
        );
    }
}
