//! The Internet checksum (RFC 1071) and the pseudo-headers VRRP uses.
//!
//! Every function here is total: any input length, including odd lengths and empty slices, is
//! accepted.

use core::net::{Ipv4Addr, Ipv6Addr};

/// Adds the 16-bit big-endian words of `data` to the running one's-complement accumulator `acc`.
///
/// The accumulator is not folded; call [`fold`] at the end. An odd trailing byte is padded with
/// a zero byte on the right, as RFC 1071 §4.1 does.
#[inline]
pub fn accumulate(acc: u64, data: &[u8]) -> u64 {
    // The bulk is summed as native-endian 32-bit halves of 64-bit words in two independent
    // accumulators: 2^32 = 1 (mod 2^16 - 1), so this is the one's-complement sum of the native
    // 16-bit words, and RFC 1071 §2(B) says byte order only swaps the folded result. Each addend
    // is < 2^33, so the u64s cannot overflow for any slice shorter than 2^33 bytes.
    let mut chunks = data.chunks_exact(16);
    let (mut lo, mut hi) = (0u64, 0u64);
    for c in &mut chunks {
        let x = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let y = u64::from_ne_bytes([c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15]]);
        lo += (x >> 32) + (x & 0xffff_ffff);
        hi += (y >> 32) + (y & 0xffff_ffff);
    }
    let mut acc = acc + u64::from(u16::from_be(!fold(lo + hi)));
    let mut words = chunks.remainder().chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let mut pairs = words.remainder().chunks_exact(2);
    for p in &mut pairs {
        acc += u64::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds the accumulator to 16 bits and returns the one's complement: the checksum value.
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The Internet checksum of `data` (RFC 1071).
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    fold(accumulate(0, data))
}

/// Adds an IPv4 pseudo-header (RFC 768 layout: source, destination, zero, protocol, length).
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u64 {
    u64::from(src.to_bits()) + u64::from(dst.to_bits()) + u64::from(protocol) + u64::from(length)
}

/// Adds an IPv6 pseudo-header (RFC 8200 §8.1: source, destination, 32-bit upper-layer length,
/// three zero bytes, next header).
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u64 {
    let acc = accumulate(0, &src.octets());
    let acc = accumulate(acc, &dst.octets());
    acc + u64::from(length >> 16) + u64::from(length & 0xffff) + u64::from(next_header)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example words: 0001 f203 f4f5 f6f7 -> sum ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_right() {
        assert_eq!(checksum(&[0xab]), !0xab00);
        assert_eq!(checksum(&[0x12, 0x34, 0xab]), !(0x1234u16 + 0xab00));
        assert_eq!(checksum(&[]), 0xffff);
    }

    #[test]
    fn word_and_dword_sums_agree() {
        let data: Vec<u8> = (0u16..203).map(|i| (i * 37 % 251) as u8).collect();
        let mut acc = 0u64;
        for p in data.chunks(2) {
            acc += u64::from(p[0]) << 8 | u64::from(*p.get(1).unwrap_or(&0));
        }
        assert_eq!(checksum(&data), fold(acc));
    }

    #[test]
    fn every_length_and_offset_matches_the_word_sum() {
        let data: Vec<u8> = (0u32..300).map(|i| (i * 151 % 256) as u8).collect();
        for start in 0..4 {
            for end in start..data.len() {
                let d = &data[start..end];
                let mut acc = 0u64;
                for p in d.chunks(2) {
                    acc += u64::from(p[0]) << 8 | u64::from(*p.get(1).unwrap_or(&0));
                }
                assert_eq!(checksum(d), fold(acc), "{start}..{end}");
            }
        }
    }

    #[test]
    fn verifying_a_checksummed_buffer_gives_zero() {
        let mut data = vec![
            0x45, 0, 0, 0x28, 0x12, 0x34, 0, 0, 255, 112, 0, 0, 10, 0, 0, 1,
        ];
        let c = checksum(&data);
        data[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&data), 0);
    }
}
