//! Helpers shared by the scenario and property tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use core::time::Duration;
use std::net::IpAddr;

use vrrp_engine::sim::{Lan, RouterId};
use vrrp_engine::{EngineConfig, InstanceConfig, InterfaceId, NotifyTarget, State, VirtualAddress};

/// One-way delay of the default simulated link.
pub const DELAY: Duration = Duration::from_micros(100);
/// The LAN interface of every simulated router.
pub const IF: InterfaceId = InterfaceId(1);

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn inst(name: &str, vrid: u8, prio: u8, primary: &str, vips: &[&str]) -> InstanceConfig {
    let mut c = InstanceConfig::new(name, IF, vrid, prio, ip(primary));
    c.virtual_addresses = vips.iter().map(|v| VirtualAddress::host(ip(v))).collect();
    c
}

pub fn single(i: InstanceConfig) -> EngineConfig {
    EngineConfig {
        instances: vec![i],
        log_interval: Duration::from_secs(60),
        ..Default::default()
    }
}

/// RFC 3768 skew for a VRRPv2 instance.
pub fn skew(prio: u8) -> Duration {
    Duration::from_secs(1) * (256 - u32::from(prio)) / 256
}

/// RFC 3768 Master_Down_Interval for a 1 s VRRPv2 instance.
pub fn mdi(prio: u8) -> Duration {
    Duration::from_secs(3) + skew(prio)
}

/// `n` routers on VRID 51 with the given priorities, addresses 10.0.0.(k+1), VIP 10.0.0.100.
pub fn lan_with(seed: u64, prios: &[u8]) -> (Lan, Vec<RouterId>) {
    let mut lan = Lan::new(seed);
    let ids = prios
        .iter()
        .enumerate()
        .map(|(k, &p)| {
            let cfg = single(inst(
                "VI_1",
                51,
                p,
                &format!("10.0.0.{}", k + 1),
                &["10.0.0.100"],
            ));
            lan.add_router(format!("r{k}"), cfg).unwrap()
        })
        .collect();
    (lan, ids)
}

/// The state changes of instance `name` on router `r`, in order.
pub fn history(lan: &Lan, r: RouterId, name: &str) -> Vec<(Duration, State)> {
    let id = lan.router(r).engine.instance_by_name(name).unwrap();
    lan.transitions()
        .iter()
        .filter(|t| t.router == r && t.target == NotifyTarget::Instance(id))
        .map(|t| (t.at - vrrp_engine::Instant::ZERO, t.state))
        .collect()
}

/// When instance `name` on `r` last entered `state`.
pub fn entered_at(lan: &Lan, r: RouterId, name: &str, state: State) -> Option<Duration> {
    history(lan, r, name)
        .into_iter()
        .rev()
        .find(|(_, s)| *s == state)
        .map(|(t, _)| t)
}

/// Steps until router `r` sends an advert; returns the send time.
pub fn until_advert_from(lan: &mut Lan, r: RouterId) -> vrrp_engine::Instant {
    let before = lan.router(r).adverts_sent;
    for _ in 0..100_000 {
        lan.step();
        if lan.router(r).adverts_sent > before {
            return lan.now();
        }
    }
    panic!("router {r:?} never advertised");
}

/// Adds router `name` running `VI_1` (VRID 51) with priority `prio` on `primary`.
pub fn add_vi1(lan: &mut Lan, name: &str, prio: u8, primary: &str, vips: &[&str]) -> RouterId {
    lan.add_router(name, single(inst("VI_1", 51, prio, primary, vips)))
        .unwrap()
}

/// Proptest case count: `PROPTEST_CASES` if set (for long soak runs), else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
