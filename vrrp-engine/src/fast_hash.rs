//! A cheap hasher for the small integer keys looked up on every received advert and every
//! wake-up: (interface, family, VRID) to instance, socket keys, kernel ifindexes.

/// Builds [`FastHasher`]s: a multiply-and-rotate over the key's integers, about ten times
/// cheaper than the default `SipHash`. Only for keys an outsider cannot choose freely:
/// flooding is not a concern when a sender chooses at most the VRID (256 values) and the
/// other parts are our own interfaces and sockets.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHash;

impl core::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// See [`FastHash`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct FastHasher(u64);

impl core::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
