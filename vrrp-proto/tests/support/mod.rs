//! Shared by the vector tests and the benchmarks: reading the hex vectors and the validation
//! context of the captured VRRPv2 instances.

use std::net::Ipv4Addr;

use vrrp_proto::{
    AddressPolicy, Addresses, AdvertInterval, AuthConfig, Ipv4ChecksumMode, Seconds,
    ValidationContext, Version,
};

/// The frames of a vector file: one hex Ethernet frame per non-comment line.
pub(crate) fn frames(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

/// The frames of `tests/vectors/<name>.hex`, embedded at compile time.
#[macro_export]
macro_rules! vector {
    ($name:literal) => {
        $crate::support::frames(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/",
            $name,
            ".hex"
        )))
    };
}

/// The context of a captured VRRPv2 instance (`advert_int` 1, strict address check).
pub(crate) fn v2_context(vrid: u8, auth: AuthConfig, vips: &[Ipv4Addr]) -> ValidationContext<'_> {
    ValidationContext {
        version: Version::V2,
        vrid,
        check_ttl: true,
        checksum_mode: Ipv4ChecksumMode::PseudoHeader,
        auth,
        interval: Some(AdvertInterval::V2(Seconds(1))),
        addresses: Addresses::v4(vips),
        address_policy: AddressPolicy::Reject,
    }
}
