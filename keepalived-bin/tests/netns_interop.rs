//! The interop proof of issue #6, failover part: our `keepalived -n` against Debian's
//! keepalived 2.2.7, both ways round, for `VRRPv2` (no authentication, PASS, AH), `VRRPv3`
//! over IPv4 at 50 ms and over IPv6, unicast and a sync group of two instances. Each case runs the
//! keepalived-to-keepalived reference in the same test (see `interop/mod.rs`), asserts both
//! sides' states, VIP placement and GARP/NA on the wire through a graceful (SIGTERM) and a crash
//! (kill -9 of the whole daemon) failover and a restart after the crash (no stale VIP), and
//! compares the failover times on the wire with the reference (within 10% + 5 ms).
//!
//! Needs root, iproute2, ping and `/usr/sbin/keepalived`; otherwise each test prints
//! "skipped: ..." unless `KARS_PRIVILEGED_TESTS=require`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod interop;

use interop::{Case, compare, failovers, privileged, run_pairs};

fn check(test: &str, case: &Case) {
    if !privileged(test) {
        return;
    }
    let results = run_pairs(|pair| failovers(case, pair));
    compare(case, test, &results);
}

#[test]
fn interop_v2_no_auth() {
    check("interop_v2_no_auth", &Case::v2());
}

#[test]
fn interop_v2_pass() {
    check(
        "interop_v2_pass",
        &Case {
            auth: Some(("PASS", "s3cret")),
            ..Case::v2()
        },
    );
}

#[test]
fn interop_v2_ah() {
    check(
        "interop_v2_ah",
        &Case {
            auth: Some(("AH", "k3y")),
            ..Case::v2()
        },
    );
}

#[test]
fn interop_v3_ipv4_50ms() {
    check("interop_v3_ipv4_50ms", &Case::v3(50));
}

#[test]
fn interop_v3_ipv6() {
    check(
        "interop_v3_ipv6",
        &Case {
            ipv6: true,
            ..Case::v3(100)
        },
    );
}

#[test]
fn interop_v3_unicast() {
    check(
        "interop_v3_unicast",
        &Case {
            unicast: true,
            ..Case::v3(100)
        },
    );
}

#[test]
fn interop_v3_sync_group() {
    check(
        "interop_v3_sync_group",
        &Case {
            sync_group: true,
            ..Case::v3(100)
        },
    );
}
