//! Golden trace: a classic two-router story (election, crash, return, preemption, shutdown) with
//! every state change and every address, GARP and priority-0 action, timestamped in virtual
//! time, compared with `tests/golden/two_routers.txt`. A behaviour change shows up as a diff to
//! review. To accept a deliberate change: `KA_BLESS=1 cargo test -p vrrp-engine --test golden`.

#![allow(clippy::unwrap_used)]

mod common;

use core::fmt::Write as _;
use core::time::Duration;

use common::{DELAY, lan_with};
use vrrp_engine::sim::Lan;
use vrrp_engine::{Command, Instant, NotifyTarget};

fn stamp(lan: &Lan) -> String {
    let d = lan.now() - Instant::ZERO;
    format!("{:>9.3}", d.as_secs_f64())
}

#[test]
fn two_routers_story_matches_the_golden_trace() {
    let (mut lan, r) = lan_with(1, &[200, 100]);
    let mut out = String::new();
    let mut seen = 0;
    let note = |lan: &Lan, out: &mut String, what: &str| {
        writeln!(out, "{} --- {what}", stamp(lan)).unwrap();
    };
    let flush = |lan: &Lan, out: &mut String, seen: &mut usize| {
        for t in &lan.transitions()[*seen..] {
            let who = &lan.router(t.router).name;
            let target = match &t.target {
                NotifyTarget::Instance(i) => format!("instance {}", i.0),
                NotifyTarget::Group(g) => format!("group {}", g.0),
            };
            let at = (t.at - Instant::ZERO).as_secs_f64();
            writeln!(out, "{at:>9.3} {who} {target} -> {}", t.state).unwrap();
        }
        *seen = lan.transitions().len();
    };
    lan.start();
    note(&lan, &mut out, "start: r0 priority 200, r1 priority 100");
    lan.run_for(Duration::from_secs(10));
    flush(&lan, &mut out, &mut seen);
    note(&lan, &mut out, "crash r0");
    lan.crash(r[0]);
    lan.run_for(Duration::from_secs(10));
    flush(&lan, &mut out, &mut seen);
    note(&lan, &mut out, "restart r0");
    lan.restart(r[0]);
    lan.run_for(Duration::from_secs(10));
    flush(&lan, &mut out, &mut seen);
    note(&lan, &mut out, "shutdown r0");
    lan.command(r[0], Command::Shutdown).unwrap();
    lan.run_for(Duration::from_secs(5) + DELAY);
    flush(&lan, &mut out, &mut seen);
    for (k, router) in lan.routers().iter().enumerate() {
        writeln!(
            out,
            "r{k}: adverts sent {}, GARP/NA bursts {}, addresses {:?}",
            router.adverts_sent, router.announces, router.addresses
        )
        .unwrap();
    }

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/two_routers.txt");
    if std::env::var_os("KA_BLESS").is_some() {
        std::fs::write(path, &out).unwrap();
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        out, want,
        "golden trace differs; review, then bless with KA_BLESS=1"
    );
}
