//! keepalived's IPSEC-AH authentication for VRRPv2 (auth type 2).
//!
//! The header has the RFC 2402 §2 layout, but the integrity check value is computed the way
//! keepalived computes it, which is not RFC 2402 §3.3.3: HMAC-MD5-96 (RFC 2403) keyed with the
//! 8-byte zero-padded `auth_pass`, over the **whole IPv4 datagram** (header + AH + VRRP) with
//! only the TOS, flags/fragment-offset and header-checksum fields of the IPv4 header and the
//! ICV itself set to zero. TTL and identification are **included** (RFC 2402 would zero TTL).
//! The SPI is the IPv4 source address; the sequence number is a per-instance counter managed by
//! the engine.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Next Header=112 | Payload Len=4 |          RESERVED = 0       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Security Parameters Index = IPv4 source address        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Sequence Number Field                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |              ICV: HMAC-MD5-96, 12 bytes                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::net::Ipv4Addr;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use crate::error::{AuthFailure, EmitError, LengthError, Reject};
use crate::ipv4;

/// The IP protocol number of AH.
pub const IP_PROTOCOL: u8 = 51;
/// The length of keepalived's AH header (12 fixed bytes + a 12-byte ICV).
pub const HEADER_LEN: usize = 24;
/// The ICV length (HMAC-MD5-96).
pub const ICV_LEN: usize = 12;
/// The payload-length field keepalived sends: the AH length in 32-bit words minus 2.
pub const PAYLOAD_LEN_FIELD: u8 = 4;

mod field {
    use core::ops::Range;
    pub(super) const NEXT_HEADER: usize = 0;
    pub(super) const PAYLOAD_LEN: usize = 1;
    pub(super) const RESERVED: Range<usize> = 2..4;
    pub(super) const SPI: Range<usize> = 4..8;
    pub(super) const SEQUENCE: Range<usize> = 8..12;
    pub(super) const ICV: Range<usize> = 12..24;
}

wire_packet! {
    /// A read/write view over the AH header.
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks that the buffer holds the 24-byte header.
    pub fn check_len(&self) -> Result<(), Reject> {
        let len = self.buffer.as_ref().len();
        LengthError::at_least("AH header", len, HEADER_LEN)?;
        Ok(())
    }

    /// The next-header field (112 for VRRP).
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NEXT_HEADER]
    }

    /// The payload-length field (4 for a 12-byte ICV).
    pub fn payload_len(&self) -> u8 {
        self.buffer.as_ref()[field::PAYLOAD_LEN]
    }

    /// The reserved field.
    pub fn reserved(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::RESERVED.start], b[field::RESERVED.start + 1]])
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::SPI];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The sequence number.
    pub fn sequence(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::SEQUENCE];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The ICV.
    pub fn icv(&self) -> [u8; ICV_LEN] {
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(&self.buffer.as_ref()[field::ICV]);
        icv
    }

    /// The bytes after the AH header (the VRRP message).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }
}

/// A parsed AH header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The SPI (keepalived: the IPv4 source address as a big-endian integer).
    pub spi: u32,
    /// The sequence number.
    pub sequence: u32,
    /// The ICV as received (zero before [`seal`]).
    pub icv: [u8; ICV_LEN],
}

impl Repr {
    /// Parses a checked header: next header must be 112 and payload length 4 (what keepalived
    /// sends); anything else is an authentication failure, since no other AH can authenticate.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Reject> {
        packet.check_len()?;
        if packet.next_header() != crate::vrrp::IP_PROTOCOL
            || packet.payload_len() != PAYLOAD_LEN_FIELD
        {
            return Err(AuthFailure::AhHeader.into());
        }
        Ok(Repr {
            spi: packet.spi(),
            sequence: packet.sequence(),
            icv: packet.icv(),
        })
    }

    /// The SPI keepalived uses for a source address.
    pub const fn spi_for(src: Ipv4Addr) -> u32 {
        src.to_bits()
    }

    /// The header length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header, with the ICV as stored in `self`, into `buf[..24]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let Some(h) = buf.get_mut(..HEADER_LEN) else {
            return Err(EmitError::BufferTooSmall {
                len: buf.len(),
                needed: HEADER_LEN,
            });
        };
        h[field::NEXT_HEADER] = crate::vrrp::IP_PROTOCOL;
        h[field::PAYLOAD_LEN] = PAYLOAD_LEN_FIELD;
        h[field::RESERVED].copy_from_slice(&[0, 0]);
        h[field::SPI].copy_from_slice(&self.spi.to_be_bytes());
        h[field::SEQUENCE].copy_from_slice(&self.sequence.to_be_bytes());
        h[field::ICV].copy_from_slice(&self.icv);
        Ok(HEADER_LEN)
    }
}

fn mac(key: [u8; 8]) -> Hmac<Md5> {
    // HMAC pads a short key with zeros to the block size (RFC 2104 §2), so the 64-byte
    // zero-padded key gives the same MAC as the 8-byte key, and this constructor cannot fail.
    let mut block = [0u8; 64];
    block[..8].copy_from_slice(&key);
    Hmac::<Md5>::new(&block.into())
}

/// Feeds keepalived's ICV input to `mac`: `datagram` (IPv4 header + AH + payload) with TOS,
/// flags/fragment offset, header checksum and the ICV read as zero. `None` if the datagram is
/// too short to hold an IPv4 header and an AH header.
/// The IPv4 header length of `datagram` if it holds that header and an AH header after it.
fn ah_offset(datagram: &[u8]) -> Option<usize> {
    let hl = usize::from(datagram.first()? & 0x0f) * 4;
    (hl >= ipv4::HEADER_LEN && datagram.len() >= hl + HEADER_LEN).then_some(hl)
}

fn feed(mut m: Hmac<Md5>, datagram: &[u8]) -> Option<Hmac<Md5>> {
    let hl = ah_offset(datagram)?;
    let mut ip = [0u8; 60];
    let ip = ip.get_mut(..hl)?;
    ip.copy_from_slice(&datagram[..hl]);
    ip[ipv4::mutable::TOS] = 0;
    ip[ipv4::mutable::FLAGS_FRAG].copy_from_slice(&[0, 0]);
    ip[ipv4::mutable::CHECKSUM].copy_from_slice(&[0, 0]);
    m.update(ip);
    let mut ah = [0u8; HEADER_LEN];
    ah.copy_from_slice(&datagram[hl..hl + HEADER_LEN]);
    ah[field::ICV].fill(0);
    m.update(&ah);
    m.update(&datagram[hl + HEADER_LEN..]);
    Some(m)
}

/// keepalived's ICV for `datagram` (IPv4 header + AH + VRRP, the ICV field's content ignored):
/// the first 12 bytes of HMAC-MD5 keyed with `key`. `None` if the datagram cannot hold the
/// headers.
pub fn compute_icv(key: [u8; 8], datagram: &[u8]) -> Option<[u8; ICV_LEN]> {
    let out = feed(mac(key), datagram)?.finalize().into_bytes();
    let mut icv = [0u8; ICV_LEN];
    icv.copy_from_slice(out.get(..ICV_LEN)?);
    Some(icv)
}

/// Checks the ICV of a received datagram in constant time.
pub fn verify_icv(key: [u8; 8], datagram: &[u8]) -> Result<(), Reject> {
    let hl = ah_offset(datagram).ok_or(Reject::AuthFailure(AuthFailure::AhHeader))?;
    let icv = &datagram[hl + field::ICV.start..hl + field::ICV.end];
    let m = feed(mac(key), datagram).ok_or(Reject::AuthFailure(AuthFailure::AhHeader))?;
    m.verify_truncated_left(icv)
        .map_err(|_| Reject::AuthFailure(AuthFailure::AhIcv))
}

/// Computes the ICV of a complete datagram in `buf` and writes it into the AH header.
pub fn seal(key: [u8; 8], datagram: &mut [u8]) -> Result<(), EmitError> {
    let icv =
        compute_icv(key, datagram).ok_or(EmitError::Inconsistent("datagram too short for AH"))?;
    let hl = ah_offset(datagram).ok_or(EmitError::Inconsistent("datagram too short for AH"))?;
    datagram[hl + field::ICV.start..hl + field::ICV.end].copy_from_slice(&icv);
    Ok(())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn hmac_md5_rfc2202_case_2() {
        // RFC 2202 §2 test case 2 uses a 4-byte key "Jefe"; zero padding to 8 is the same MAC.
        let key = *b"Jefe\0\0\0\0";
        let mut m = mac(key);
        m.update(b"what do ya want for nothing?");
        let out = m.finalize().into_bytes();
        let want = [
            0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03, 0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d,
            0xb7, 0x38,
        ];
        assert_eq!(out[..], want[..]);
    }

    #[test]
    fn test_deconstruct_emit() {
        let r = Repr {
            spi: Repr::spi_for(Ipv4Addr::new(10, 77, 0, 1)),
            sequence: 7,
            icv: [9; 12],
        };
        let mut b = [0u8; 24];
        r.emit(&mut b).unwrap();
        assert_eq!(&b[..12], &[112, 4, 0, 0, 10, 77, 0, 1, 0, 0, 0, 7]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), r);
        assert!(Packet::new_checked(&b[..23]).is_err());
        b[1] = 5;
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&b[..])),
            Err(AuthFailure::AhHeader.into())
        );
    }

    #[test]
    fn seal_then_verify_and_mutable_fields() {
        let mut d = vec![0u8; 20 + 24 + 20];
        ipv4::Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            protocol: IP_PROTOCOL,
            ttl: 255,
            tos: 0xc0,
            ident: 1,
            dont_frag: false,
            payload_len: 44,
        }
        .emit(&mut d)
        .unwrap();
        Repr {
            spi: 0x0a00_0001,
            sequence: 1,
            icv: [0; 12],
        }
        .emit(&mut d[20..])
        .unwrap();
        let key = Auth::key_from_password(b"pw");
        seal(key, &mut d).unwrap();
        assert!(verify_icv(key, &d).is_ok());
        assert!(verify_icv(*b"other\0\0\0", &d).is_err());
        // TOS, flags and checksum are outside the ICV...
        let mut m = d.clone();
        m[1] = 0;
        m[6] = 0x40;
        m[10] ^= 0xff;
        assert!(verify_icv(key, &m).is_ok());
        // ...TTL and the payload are inside.
        let mut m = d.clone();
        m[8] = 254;
        assert_eq!(verify_icv(key, &m), Err(AuthFailure::AhIcv.into()));
        let mut m = d.clone();
        m[50] ^= 1;
        assert!(verify_icv(key, &m).is_err());
        assert!(verify_icv(key, &d[..43]).is_err());
        assert!(compute_icv(key, &[0x4f; 30]).is_none());
        // Regression (fuzz, vrrp_proto_ah_decode): short datagrams must not panic.
        for n in 0..44 {
            assert!(compute_icv(key, &d[..n]).is_none());
            assert!(verify_icv(key, &d[..n]).is_err());
            assert!(seal(key, &mut d.clone()[..n]).is_err());
        }
    }

    use crate::vrrp::Auth;
}
