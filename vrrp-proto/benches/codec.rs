//! Criterion benchmarks of the VRRP codec (filled in below).

fn main() {}
