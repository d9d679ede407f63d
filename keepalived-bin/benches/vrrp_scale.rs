//! VRRP at scale, our `keepalived` against Debian's keepalived 2.2.7 in the same run.
//!
//! Run as root: `cargo bench -p keepalived-bin --bench vrrp_scale` (the release build of our
//! `keepalived` is built by that command). Without root, `ip` or keepalived it prints
//! "skipped" (and fails when `KARS_PRIVILEGED_TESTS=require`).
//!
//! Topology: two network namespaces, router A and router B, joined by `SCALE_K` veth pairs
//! (`vs<k>` on both sides, A `10.200.<k>.1/24`, B `10.200.<k>.2/24`, IPv6 off). Instance `i`
//! runs on `vs<i % K>` with VRID `i / K + 1` and the VIP `10.<100+k>.0.<vrid>/32`, no
//! authentication; A is `state MASTER` priority 150, B `state BACKUP` priority 100. Each daemon
//! (ours, then keepalived; `SCALE_DAEMONS=ours,keepalived`, either can be left out while
//! developing) runs on both routers with the same generated
//! configuration, started as `ip netns exec NS DAEMON -n -l -f CONF -p PID -r PID -c PID`.
//!
//! Modes (`SCALE_MODES`, default `v2,v3`): `v2` = `SCALE_N_V2` (1,000) instances of `VRRPv2` at
//! `advert_int 1`; `v3` = `SCALE_N_V3` (100) instances of `VRRPv3` at `SCALE_ADV_V3` (0.01 s).
//!
//! Per mode and daemon:
//! 1. A alone: convergence = A's start to all N VIPs on A (polled every 50 ms).
//! 2. B joins; `SCALE_SETTLE_S` (5) of settling, B must never hold a VIP.
//! 3. A `SCALE_WINDOW_S` (10; 60 for the record) window without capture: CPU of each router's
//!    whole process tree (children included), user and system time from `/proc/PID/stat` and
//!    the exact run time from `/proc/PID/task/*/schedstat`, as % of one core; RSS and PSS of the
//!    tree (`smaps_rollup`) sampled every `SCALE_SAMPLE_S` (2), median; the machine's own busy
//!    time over the window from `/proc/stat`.
//!    Then `SCALE_SPLIT_S` (10) of `perf` sampling for the share of that run time spent in user
//!    space (`user_shares`; the tick-based split of `/proc` is printed too, but aliases).
//! 4. A `SCALE_PCAP_S` (5) capture on A's `vs0` (`AF_PACKET`, kernel timestamps): A's advert
//!    rate on that interface, interval jitter `|interval - advert_int|` (VRID 1: median, p99, max;
//!    all VRIDs of `vs0`: p99, max) and drift (median interval less `advert_int`, intervals
//!    outside 0.5-1.5 x `advert_int` left out, gaps counted); the shape of A's bursts (adverts
//!    less than `advert_int / 10` apart): span, largest gap inside, changes of VRID order.
//! 5. Crash failover: `kill -STOP`, then `kill -9`, of every process of A's tree while
//!    capturing on `vs0` (so no process of it runs in between: no priority-0 advert); per VRID
//!    the time from A's last advert to B's first, against `3 x advert_int + skew` of B.
//! 6. SIGTERM B, tear down.
//!
//! Finally a table per mode: ours, keepalived, the ratio, and the goals of issue #6.
//! Router A runs on CPU 0 alone, router B and this harness on the other CPUs (`taskset`), as if
//! they were two machines, and each router's packet receive runs on its own CPUs (RPS on every
//! veth end; `SCALE_RPS=0` leaves it on the sender's CPU); `SCALE_PIN=0` leaves placement to the
//! kernel (see `pin_routers`). Before each run a bare timer loop on A's CPU measures the
//! machine's own wake-up lateness (`timer_floor`).
//! `SCALE_RT_PRIORITY=N` adds `vrrp_rt_priority N` and `vrrp_rlimit_rttime 1000000` to both
//! daemons' `global_defs`.
//! Other settings: `SCALE_K` (8), `SCALE_OURS` (our binary; default the one cargo built),
//! `SCALE_KEEPALIVED` (`keepalived` in PATH or /usr/sbin), `SCALE_QUIET_PCT` (10) and
//! `SCALE_QUIET_WAIT_S` (0): wait up to that long for the machine to be at most that busy
//! before each run, and warn otherwise. Logs, configurations and the adverts of both captures (`steady.tsv`, `failover.tsv`: µs since the first, source, VRID, priority) stay in `SCALE_OUT`
//! (`/tmp/vrrp-scale`).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::too_many_lines,
    clippy::many_single_char_names
)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vrrp_engine::testlab::{Capture, find_tool, privileged_with, run, vrrp_in_frame};

/// `/proc` times are in `USER_HZ`, 100 on every Linux architecture this runs on.
const USER_HZ: f64 = 100.0;
const PRIO_A: u8 = 150;
const PRIO_B: u8 = 100;
/// `vrrp_rlimit_rttime` with `SCALE_RT_PRIORITY`, the same for both daemons. keepalived's default
/// (10 ms) gets its VRRP child killed over and over at 1,000 instances; our default, 200 ms, got
/// keepalived's backup killed while it set up 1,000 instances on its one CPU with A's adverts
/// arriving (the receive work runs on that CPU and counts against the cap).
const RT_CPU_LIMIT_US: u32 = 1_000_000;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Debug)]
struct Settings {
    k: usize,
    window: Duration,
    /// How long `perf` samples the user/system split after the window.
    split: Duration,
    pcap: Duration,
    settle: Duration,
    sample: Duration,
    quiet_pct: f64,
    quiet_wait: Duration,
    out: PathBuf,
    rt_priority: Option<u8>,
    /// Where each router runs (see [`pin_routers`]); `None`: wherever the kernel puts it.
    pin: Option<Pinning>,
}

/// Router A's CPUs and router B's (the harness runs with B), as `taskset -c` lists and as the
/// hexadecimal masks of `rps_cpus`.
#[derive(Clone, Debug)]
struct Pinning {
    cpus_a: String,
    cpus_b: String,
    mask_a: String,
    mask_b: String,
    /// Whether each router's packet receive runs on its own CPUs (RPS; `SCALE_RPS`, default on).
    steer_receive: bool,
}

#[derive(Clone, Copy, Debug)]
struct Mode {
    name: &'static str,
    n: usize,
    version: u8,
    /// Seconds.
    advert_int: f64,
}

#[derive(Clone, Debug)]
struct Daemon {
    label: &'static str,
    bin: PathBuf,
}

// ---------------------------------------------------------------- topology

/// Two namespaces joined by K veth pairs; everything in them is killed and they are deleted on
/// drop.
struct Topology {
    a: String,
    b: String,
}

impl Topology {
    fn new(tag: &str, k: usize, pin: Option<&Pinning>) -> Res<Topology> {
        let t = Topology {
            a: format!("{tag}a"),
            b: format!("{tag}b"),
        };
        for ns in [&t.a, &t.b] {
            run("ip", &["netns", "add", ns])?;
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1",
                ],
            )?;
            run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        }
        for i in 0..k {
            let ifc = format!("vs{i}");
            run(
                "ip",
                &[
                    "-n", &t.a, "link", "add", &ifc, "type", "veth", "peer", "name", &ifc, "netns",
                    &t.b,
                ],
            )?;
            for (ns, host) in [(&t.a, 1), (&t.b, 2)] {
                let addr = format!("10.200.{i}.{host}/24");
                run("ip", &["-n", ns, "addr", "add", &addr, "dev", &ifc])?;
                run("ip", &["-n", ns, "link", "set", &ifc, "up"])?;
            }
            // A veth transmit hands the frame to the peer's receive path on the sender's CPU:
            // without RPS, B's whole receive of A's adverts runs inside A's `sendmmsg`, on A's
            // CPU, which no cable does. RPS on each end sends it to the receiver's CPUs.
            if let Some(p) = pin.filter(|p| p.steer_receive) {
                for (ns, mask) in [(&t.a, &p.mask_a), (&t.b, &p.mask_b)] {
                    let write = format!("echo {mask} > /sys/class/net/{ifc}/queues/rx-0/rps_cpus");
                    run("ip", &["netns", "exec", ns, "sh", "-c", &write])?;
                }
            }
        }
        // veth operstate turns UP through the kernel's linkwatch, up to a second later; a
        // daemon started before that puts its instances in FAULT.
        let up = |ns: &str| {
            run("ip", &["-n", ns, "-o", "link", "show", "up"])
                .map_or(0, |o| o.lines().filter(|l| l.contains("state UP")).count())
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while up(&t.a) < k || up(&t.b) < k {
            if Instant::now() > deadline {
                return Err("veth links not UP after 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(t)
    }

    /// IPv4 /32 VIPs (10.100-163.x.x) present in `ns`.
    fn vips(ns: &str) -> usize {
        run("ip", &["-n", ns, "-o", "-4", "addr", "show"]).map_or(0, |o| {
            o.lines()
                .filter(|l| l.contains("/32 ") && l.contains("inet 10.1"))
                .count()
        })
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            if let Ok(pids) = run("ip", &["netns", "pids", ns]) {
                for pid in pids.split_whitespace() {
                    let _ = run("kill", &["-KILL", pid]);
                }
            }
            let _ = run("ip", &["netns", "del", ns]);
        }
    }
}

fn gen_conf(side: char, mode: Mode, k: usize, rt_priority: Option<u8>) -> String {
    let (state, prio) = if side == 'a' {
        ("MASTER", PRIO_A)
    } else {
        ("BACKUP", PRIO_B)
    };
    let mut s = format!(
        "# vrrp_scale: side {side}, {} instances over {k} interfaces, VRRPv{}, advert_int {}\n\
         global_defs {{\n    router_id vrrp_scale_{side}\n    vrrp_garp_master_delay 1\n    \
         vrrp_garp_master_repeat 1\n    vrrp_version {}\n{}}}\n\n",
        mode.n,
        mode.version,
        mode.advert_int,
        mode.version,
        rt_priority.map_or(String::new(), |p| format!(
            "    vrrp_rt_priority {p}\n    vrrp_rlimit_rttime {RT_CPU_LIMIT_US}\n"
        ))
    );
    for i in 0..mode.n {
        let (ifc, vrid) = (i % k, i / k + 1);
        let _ = write!(
            s,
            "vrrp_instance vs_k{ifc}_v{vrid} {{\n    state {state}\n    interface vs{ifc}\n    \
             virtual_router_id {vrid}\n    priority {prio}\n    advert_int {}\n    \
             virtual_ipaddress {{\n        10.{}.0.{vrid}/32 dev vs{ifc}\n    }}\n}}\n\n",
            mode.advert_int,
            100 + ifc
        );
    }
    s
}

// ---------------------------------------------------------------- /proc

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    // Index 0 is field 3 (state).
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// `root` and all its descendants.
fn tree(root: u32) -> Vec<u32> {
    let mut kids: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse().ok()) {
                kids.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        if Path::new(&format!("/proc/{p}")).exists() {
            out.push(p);
        }
        stack.extend(kids.get(&p).into_iter().flatten());
    }
    out
}

#[derive(Clone, Copy, Debug, Default)]
struct CpuSample {
    /// User and system clock ticks, reaped children included.
    user: u64,
    system: u64,
    /// Scheduler run time of every thread, ns.
    runtime_ns: u64,
    threads: u64,
}

fn cpu(pids: &[u32]) -> CpuSample {
    let mut c = CpuSample::default();
    for &p in pids {
        if let Some(f) = stat_fields(p) {
            let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            c.user += n(11) + n(13);
            c.system += n(12) + n(14);
            c.threads += n(17);
        }
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for t in tasks.flatten() {
                let path = t.path().join("schedstat");
                if let Some(ns) = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                {
                    c.runtime_ns += ns;
                }
            }
        }
    }
    c
}

/// (RSS, PSS) in KiB, summed over `pids`.
fn memory(pids: &[u32]) -> (u64, u64) {
    let (mut rss, mut pss) = (0, 0);
    for &p in pids {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) {
            for l in s.lines() {
                let v = || {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                if l.starts_with("Rss:") {
                    rss += v();
                } else if l.starts_with("Pss:") {
                    pss += v();
                }
            }
        }
    }
    (rss, pss)
}

/// The machine's `cpu` line: (busy, total) jiffies over all CPUs.
fn host_cpu() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = s
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn busy_pct(a: (u64, u64), b: (u64, u64)) -> f64 {
    let total = (b.1 - a.1).max(1);
    (b.0 - a.0) as f64 / total as f64 * 100.0
}

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------- statistics

fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((q * (s.len() - 1) as f64).round() as usize).min(s.len() - 1);
    s[i]
}

fn median_u64(v: &[u64]) -> u64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.get(s.len() / 2).copied().unwrap_or(0)
}

/// The typical period (s) of a periodic sender and its standard error: the median of its
/// intervals between 0.5 and 1.5 x `nominal` (a missed advert, a stall after which a sender
/// restarts its phase, or an extra advert sent on a state change are left out; the first two are
/// counted as gaps). A timer re-armed from its wake-up instead of its deadline shows here as
/// every interval being long by the wake-up lateness; one re-armed from its deadline has late
/// and early intervals in pairs, and a median on the nominal period.
fn mean_period(ts: &[Instant], nominal: f64) -> Option<(f64, f64)> {
    let iv: Vec<f64> = ts
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .filter(|&x| x >= 0.5 * nominal && x <= 1.5 * nominal)
        .collect();
    if iv.len() < 3 {
        return None;
    }
    let n = iv.len() as f64;
    let median = percentile(&iv, 0.5);
    // The median's standard error, 1.25 sigma / sqrt(n), with sigma estimated robustly from
    // the median absolute deviation (the heavy tail of a loaded machine would inflate it).
    let deviations: Vec<f64> = iv.iter().map(|x| (x - median).abs()).collect();
    let sigma = 1.4826 * percentile(&deviations, 0.5);
    Some((median, 1.25 * sigma / n.sqrt()))
}

/// Adverts seen in a capture: (time, source, VRID, priority).
fn adverts(capture: &Capture) -> Vec<(Instant, IpAddr, u8, u8)> {
    capture
        .frames()
        .into_iter()
        .filter_map(|(t, f)| vrrp_in_frame(&f).map(|(src, vrid, prio)| (t, src, vrid, prio)))
        .collect()
}

/// Writes a capture's adverts to `path` for offline analysis, one per line: microseconds since
/// the first, source, VRID, priority.
fn save_adverts(path: &Path, frames: &[(Instant, IpAddr, u8, u8)]) {
    let Some(&(t0, ..)) = frames.first() else {
        return;
    };
    let mut out = String::new();
    for &(t, src, vrid, prio) in frames {
        let us = (t - t0).as_secs_f64() * 1e6;
        let _ = writeln!(out, "{us:.1}\t{src}\t{vrid}\t{prio}");
    }
    let _ = std::fs::write(path, out);
}

/// How the adverts of one sender's bursts lie on the wire: a burst is a run of adverts less
/// than a tenth of `advert_int` apart. The spread of a burst and the changes in its order are
/// what the all-VRID jitter is made of.
#[derive(Clone, Copy, Debug, Default)]
struct BurstShape {
    /// First to last advert of a burst, median and max (ms).
    span_med_ms: f64,
    span_max_ms: f64,
    /// The largest gap between two adverts of a burst, median over bursts (ms): one wake-up
    /// sends a burst back to back (a few µs per advert), a burst split over several wake-ups
    /// or interrupted shows its gaps here.
    gap_med_ms: f64,
    /// Bursts whose VRID order differs from the burst before.
    reordered: usize,
}

/// [`BurstShape`] of adverts `ts` (time, VRID), in time order.
fn bursts(ts: &[(Instant, u8)], advert_int: f64) -> BurstShape {
    let mut groups: Vec<&[(Instant, u8)]> = Vec::new();
    let mut start = 0;
    for i in 1..=ts.len() {
        if i == ts.len() || (ts[i].0 - ts[i - 1].0).as_secs_f64() > advert_int / 10.0 {
            groups.push(&ts[start..i]);
            start = i;
        }
    }
    // The capture's first and last bursts may be cut.
    let whole = if groups.len() > 2 {
        &groups[1..groups.len() - 1]
    } else {
        &groups[..]
    };
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
    let spans: Vec<f64> = whole.iter().map(|g| ms(g[0].0, g[g.len() - 1].0)).collect();
    let gaps: Vec<f64> = whole
        .iter()
        .map(|g| g.windows(2).map(|w| ms(w[0].0, w[1].0)).fold(0.0, f64::max))
        .collect();
    let reordered = whole
        .windows(2)
        .filter(|w| !w[0].iter().map(|x| x.1).eq(w[1].iter().map(|x| x.1)))
        .count();
    BurstShape {
        span_med_ms: percentile(&spans, 0.5),
        span_max_ms: spans.iter().copied().fold(f64::NAN, f64::max),
        gap_med_ms: percentile(&gaps, 0.5),
        reordered,
    }
}

// ---------------------------------------------------------------- one run

/// Everything measured in one run of one daemon in one mode (NaN or 0 when not measured).
#[derive(Clone, Debug, Default)]
struct Figures {
    converge_s: f64,
    b_vip_peak: usize,
    a_vip_min: usize,
    host_busy_pre: f64,
    host_busy: f64,
    load: String,
    // A (master) and B (backup), % of one core
    /// Router A (master) and B (backup).
    a: Role,
    b: Role,
    procs_a: usize,
    threads_a: u64,
    procs_b: usize,
    adverts_per_s: f64,
    adverts_expected: f64,
    vrids_seen: usize,
    /// Intervals longer than 1.5 x `advert_int` among all VRIDs of `vs0` (adverts not sent,
    /// or lost).
    gaps: usize,
    adverts_from_b: usize,
    jit_med_ms: f64,
    jit_p99_ms: f64,
    jit_max_ms: f64,
    jit_all_p99_ms: f64,
    jit_all_max_ms: f64,
    /// What a bare timer loop gets on router A's CPU just before the run (see [`timer_floor`]).
    floor: TimerFloor,
    /// The structure of A's bursts on `vs0` (see [`bursts`]).
    burst: BurstShape,
    interval_mean_ms: f64,
    drift_us: f64,
    drift_se_us: f64,
    failover_expected_ms: f64,
    failover_med_ms: f64,
    failover_max_ms: f64,
    failover_vrids: usize,
    b_takeover_s: f64,
    stop_b_s: f64,
}

/// CPU (% of one core over the window) and memory (KiB, median sample) of one router's tree.
#[derive(Clone, Copy, Debug, Default)]
struct Role {
    usr: f64,
    sys: f64,
    cpu: f64,
    /// From the scheduler's exact run time.
    rt: f64,
    /// Share of the run time spent in user space, from `perf` samples ([`user_shares`]); `None`
    /// without `perf`.
    user_share: Option<f64>,
    rss: u64,
    pss: u64,
}

impl Role {
    /// User CPU (% of one core): the exact run time times the sampled user share, or, without
    /// `perf`, the tick count.
    fn user(&self) -> f64 {
        self.user_share.map_or(self.usr, |share| self.rt * share)
    }

    fn new(c0: CpuSample, c1: CpuSample, mem: &[(u64, u64)], secs: f64) -> Role {
        let pct = |ticks: u64| ticks as f64 / USER_HZ / secs * 100.0;
        let (usr, sys) = (
            pct(c1.user.saturating_sub(c0.user)),
            pct(c1.system.saturating_sub(c0.system)),
        );
        Role {
            usr,
            sys,
            cpu: usr + sys,
            rt: c1.runtime_ns.saturating_sub(c0.runtime_ns) as f64 / 1e9 / secs * 100.0,
            user_share: None,
            rss: median_u64(&mem.iter().map(|m| m.0).collect::<Vec<_>>()),
            pss: median_u64(&mem.iter().map(|m| m.1).collect::<Vec<_>>()),
        }
    }
}

/// The share of each router's CPU time spent in user space, from `perf record -e cpu-clock` at
/// 9,973 Hz over `secs`, each sample classed by its instruction address (kernel addresses have
/// the top bit set on x86-64 and arm64). `/proc`'s user and system times cannot give it: this
/// kernel charges a whole 4 ms tick to whatever a CPU runs when the tick fires, and a loop that
/// wakes every 10 ms is phase-locked to the ticks (0 or 3% user for the same daemon in two runs).
/// The odd rate keeps the samples off every period of the daemons. `None` without `perf` or
/// without samples.
fn user_shares(routers: [&[u32]; 2], secs: f64, dir: &Path) -> Option<[f64; 2]> {
    find_tool("perf")?;
    let data = dir.join("cpu-split.perf");
    let data = data.to_str()?;
    let pids: Vec<String> = routers
        .iter()
        .flat_map(|r| r.iter())
        .map(u32::to_string)
        .collect();
    let secs = format!("{secs}");
    run(
        "perf",
        &[
            "record",
            "-q",
            "-e",
            "cpu-clock",
            "-F",
            "9973",
            "-o",
            data,
            "-p",
            &pids.join(","),
            "--",
            "sleep",
            &secs,
        ],
    )
    .ok()?;
    let out = run("perf", &["script", "-i", data, "-F", "pid,ip"]).ok()?;
    let mut counts = [(0u64, 0u64); 2];
    for line in out.lines() {
        let mut it = line.split_whitespace();
        let (Some(pid), Some(ip)) = (it.next().and_then(|p| p.parse::<u32>().ok()), it.next())
        else {
            continue;
        };
        let Some(side) = routers.iter().position(|r| r.contains(&pid)) else {
            continue;
        };
        let kernel = u64::from_str_radix(ip, 16).is_ok_and(|a| a >> 63 == 1);
        counts[side].0 += 1;
        counts[side].1 += u64::from(!kernel);
    }
    let share = |(all, user): (u64, u64)| (all > 0).then(|| user as f64 / all as f64);
    Some([share(counts[0])?, share(counts[1])?])
}

struct Running {
    child: Child,
    pid: u32,
}

fn start(ns: &str, daemon: &Daemon, dir: &Path, side: char, s: &Settings) -> Res<Running> {
    let conf = dir.join(format!("{side}.conf"));
    let log = File::create(dir.join(format!("{side}.log")))?;
    // `taskset` and `ip netns exec` both exec, so the pid is the daemon's; its children inherit
    // the CPU list.
    let mut cmd = match &s.pin {
        Some(p) => {
            let mut c = Command::new("taskset");
            c.args(["-c", if side == 'a' { &p.cpus_a } else { &p.cpus_b }, "ip"]);
            c
        }
        None => Command::new("ip"),
    };
    cmd.args(["netns", "exec", ns])
        .arg(&daemon.bin)
        .args(["-n", "-l", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join(format!("{side}.pid")))
        .arg("-r")
        .arg(dir.join(format!("{side}-vrrp.pid")))
        .arg("-c")
        .arg(dir.join(format!("{side}-chk.pid")))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let child = cmd.spawn()?;
    let pid = child.id();
    Ok(Running { child, pid })
}

/// Gives router A a CPU of its own and puts router B and this harness (its capture thread
/// included: threads started later inherit the mask) on the others, as if the routers were two
/// machines; [`Topology::new`] steers each router's packet receive to its CPUs too. Unpinned, on
/// a machine of few CPUs, the kernel runs B's receiver on A's CPU: A's `sendmmsg` delivers the
/// advert to B's socket in A's own context, and that wake-up is a synchronous one, which draws B
/// to the waker's CPU, where it preempts A between the bursts of one second. Two real routers
/// never share a CPU. `None` (no pinning) with fewer than two CPUs, without `taskset`, or when
/// not asked.
fn pin_routers(wanted: bool, cpus: usize) -> Option<Pinning> {
    if !wanted || !(2..=32).contains(&cpus) || find_tool("taskset").is_none() {
        return None;
    }
    let cpus_b = if cpus == 2 {
        "1".to_owned()
    } else {
        format!("1-{}", cpus - 1)
    };
    let all = u32::MAX >> (32 - cpus);
    let me = std::process::id().to_string();
    run("taskset", &["-a", "-p", "-c", &cpus_b, &me]).ok()?;
    Some(Pinning {
        cpus_a: "0".to_owned(),
        cpus_b,
        mask_a: "1".to_owned(),
        mask_b: format!("{:x}", all & !1),
        steer_receive: env_or("SCALE_RPS", 1) != 0,
    })
}

fn wait_quiet(s: &Settings) -> f64 {
    let t0 = Instant::now();
    loop {
        let a = host_cpu();
        std::thread::sleep(Duration::from_secs(2));
        let busy = busy_pct(a, host_cpu());
        if busy <= s.quiet_pct || t0.elapsed() >= s.quiet_wait {
            if busy > s.quiet_pct {
                println!(
                    "  WARNING: the machine is {busy:.0}% busy before the start (load {}): other \
                     work perturbs CPU and jitter figures",
                    load_avg()
                );
            }
            return busy;
        }
    }
}

/// Timer wake-up lateness of a bare loop, all in µs: median, p99 and max, and the p99 of the change
/// from one wake-up to the next, which is what the interval jitter of a perfect daemon would be.
#[derive(Clone, Copy, Debug, Default)]
struct TimerFloor {
    late_med: f64,
    late_p99: f64,
    late_max: f64,
    jitter_p99: f64,
}

/// The machine's own share of the interval jitter: a thread on router A's CPUs, under the
/// scheduling the daemons get (`SCHED_RR` at `SCALE_RT_PRIORITY`, or the default), sleeps to
/// `n` absolute deadlines `period` apart and records how late it wakes. On a virtual machine the
/// wake-up of an idle virtual CPU alone costs tens of microseconds and varies; no daemon can be
/// more regular than this loop.
fn timer_floor(s: &Settings, n: usize, period: Duration) -> Res<TimerFloor> {
    let (cpus, rt) = (s.pin.as_ref().map(|p| p.cpus_a.clone()), s.rt_priority);
    std::thread::spawn(move || -> Result<TimerFloor, String> {
        // "PID/task/TID": this thread's id, for `taskset -p` and `chrt -p`.
        let link = std::fs::read_link("/proc/thread-self").map_err(|e| e.to_string())?;
        let tid = link
            .file_name()
            .and_then(|t| t.to_str())
            .ok_or("no thread id")?
            .to_owned();
        if let Some(cpus) = &cpus {
            run("taskset", &["-p", "-c", cpus, &tid]).map_err(|e| e.to_string())?;
        }
        if let Some(p) = rt {
            run("chrt", &["-r", "-p", &p.to_string(), &tid]).map_err(|e| e.to_string())?;
        }
        let mut late = Vec::with_capacity(n);
        let mut deadline = Instant::now() + period;
        for _ in 0..n {
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            late.push(Instant::now().duration_since(deadline).as_secs_f64() * 1e6);
            deadline += period;
        }
        let steps: Vec<f64> = late.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
        let jitter_p99 = percentile(&steps, 0.99);
        Ok(TimerFloor {
            late_med: percentile(&late, 0.5),
            late_p99: percentile(&late, 0.99),
            late_max: percentile(&late, 1.0),
            jitter_p99,
        })
    })
    .join()
    .map_err(|_| "timer probe panicked")?
    .map_err(Into::into)
}

fn run_one(s: &Settings, mode: Mode, daemon: &Daemon, tag: &str) -> Res<Figures> {
    let dir = s.out.join(format!("{}-{}", mode.name, daemon.label));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("a.conf"), gen_conf('a', mode, s.k, s.rt_priority))?;
    std::fs::write(dir.join("b.conf"), gen_conf('b', mode, s.k, s.rt_priority))?;
    let topo = Topology::new(tag, s.k, s.pin.as_ref())?;
    let mut f = Figures {
        host_busy_pre: wait_quiet(s),
        floor: timer_floor(s, 1000, Duration::from_millis(10))?,
        ..Figures::default()
    };
    let n = mode.n;
    let adv = mode.advert_int;

    // 1. A alone.
    let t0 = Instant::now();
    let mut a = start(&topo.a, daemon, &dir, 'a', s)?;
    let converge_limit = Duration::from_secs_f64(30.0 + 10.0 * adv);
    loop {
        if Topology::vips(&topo.a) >= n {
            f.converge_s = t0.elapsed().as_secs_f64();
            break;
        }
        if a.child.try_wait()?.is_some() {
            return Err(format!("{} exited on A; see {}", daemon.label, dir.display()).into());
        }
        if t0.elapsed() > converge_limit {
            return Err(format!("A did not converge; see {}", dir.display()).into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("  A alone: {n} VIPs after {:.2} s", f.converge_s);

    // 2. B joins and must stay BACKUP.
    let mut b = start(&topo.b, daemon, &dir, 'b', s)?;
    let settle_end = Instant::now() + s.settle;
    f.a_vip_min = n;
    while Instant::now() < settle_end {
        f.b_vip_peak = f.b_vip_peak.max(Topology::vips(&topo.b));
        f.a_vip_min = f.a_vip_min.min(Topology::vips(&topo.a));
        std::thread::sleep(Duration::from_millis(100));
    }
    for (r, side) in [(&mut a, 'A'), (&mut b, 'B')] {
        if r.child.try_wait()?.is_some() {
            return Err(format!("{side} exited; see {}", dir.display()).into());
        }
    }

    // 3. Steady window, no capture.
    let (ta, tb) = (tree(a.pid), tree(b.pid));
    let (ca0, cb0, h0) = (cpu(&ta), cpu(&tb), host_cpu());
    let w0 = Instant::now();
    let mut mem_a = Vec::new();
    let mut mem_b = Vec::new();
    while w0.elapsed() < s.window {
        std::thread::sleep(s.sample.min(s.window.saturating_sub(w0.elapsed())));
        mem_a.push(memory(&tree(a.pid)));
        mem_b.push(memory(&tree(b.pid)));
        f.b_vip_peak = f.b_vip_peak.max(Topology::vips(&topo.b));
    }
    let (ta, tb) = (tree(a.pid), tree(b.pid));
    let (ca1, cb1, h1) = (cpu(&ta), cpu(&tb), host_cpu());
    let el = w0.elapsed().as_secs_f64();
    f.host_busy = busy_pct(h0, h1);
    f.load = load_avg();
    f.a = Role::new(ca0, ca1, &mem_a, el);
    f.b = Role::new(cb0, cb1, &mem_b, el);
    f.procs_a = ta.len();
    f.procs_b = tb.len();
    f.threads_a = ca1.threads;
    f.a_vip_min = f.a_vip_min.min(Topology::vips(&topo.a));
    // The user/system split, sampled after the window so that `perf` does not weigh on it.
    if let Some([share_a, share_b]) = user_shares([&ta, &tb], s.split.as_secs_f64(), &dir) {
        f.a.user_share = Some(share_a);
        f.b.user_share = Some(share_b);
    }

    // 4. Capture on A's vs0.
    let src_a = IpAddr::V4(Ipv4Addr::new(10, 200, 0, 1));
    let src_b = IpAddr::V4(Ipv4Addr::new(10, 200, 0, 2));
    let n_iface = n.div_ceil(s.k);
    let cap = Capture::start_in(&topo.a, Some("vs0"))?;
    let c0 = Instant::now();
    std::thread::sleep(s.pcap);
    let frames = adverts(&cap);
    let cdur = c0.elapsed().as_secs_f64();
    drop(cap);
    save_adverts(&dir.join("steady.tsv"), &frames);
    let mut by_vrid: BTreeMap<u8, Vec<Instant>> = BTreeMap::new();
    for &(t, src, vrid, _) in &frames {
        if src == src_a {
            by_vrid.entry(vrid).or_default().push(t);
        } else {
            f.adverts_from_b += 1;
        }
    }
    let from_a: Vec<(Instant, u8)> = frames
        .iter()
        .filter(|f| f.1 == src_a)
        .map(|f| (f.0, f.2))
        .collect();
    f.burst = bursts(&from_a, adv);
    let count: usize = by_vrid.values().map(Vec::len).sum();
    f.adverts_per_s = count as f64 / cdur;
    f.adverts_expected = n_iface as f64 / adv;
    f.vrids_seen = by_vrid.len();
    let intervals = |ts: &[Instant]| -> Vec<f64> {
        ts.windows(2)
            .map(|w| (w[1] - w[0]).as_secs_f64())
            .collect::<Vec<_>>()
    };
    let jitter = |iv: &[f64]| iv.iter().map(|x| (x - adv).abs() * 1e3).collect::<Vec<_>>();
    let j1 = jitter(&intervals(by_vrid.get(&1).map_or(&[][..], Vec::as_slice)));
    f.jit_med_ms = percentile(&j1, 0.5);
    f.jit_p99_ms = percentile(&j1, 0.99);
    f.jit_max_ms = j1.iter().copied().fold(f64::NAN, f64::max);
    let mut jall = Vec::new();
    let mut slopes = Vec::new();
    for ts in by_vrid.values() {
        let iv = intervals(ts);
        f.gaps += iv.iter().filter(|&&x| x > 1.5 * adv).count();
        jall.extend(jitter(&iv));
        slopes.extend(mean_period(ts, adv));
    }
    f.jit_all_p99_ms = percentile(&jall, 0.99);
    f.jit_all_max_ms = jall.iter().copied().fold(f64::NAN, f64::max);
    let k = slopes.len().max(1) as f64;
    f.interval_mean_ms = slopes.iter().map(|s| s.0).sum::<f64>() / k * 1e3;
    f.drift_us = (f.interval_mean_ms - adv * 1e3) * 1e3;
    // The VRIDs of one burst share their delays, so their errors are not independent: the
    // mean of the per-VRID standard errors, not that over sqrt(k).
    f.drift_se_us = slopes.iter().map(|s| s.1).sum::<f64>() / k * 1e6;

    // 5. Crash failover: kill -9 of A's whole tree, watched on vs0.
    let skew =
        f64::from(256 - u32::from(PRIO_B)) / 256.0 * if mode.version == 2 { 1.0 } else { adv };
    f.failover_expected_ms = (3.0 * adv + skew) * 1e3;
    let cap = Capture::start_in(&topo.a, Some("vs0"))?;
    // Let a full advert interval pass so every VRID's last advert is in the capture.
    std::thread::sleep(Duration::from_secs_f64(adv * 1.5 + 0.05));
    // Stop the whole tree first, then kill it: killed one by one, a child that hears of its
    // parent's death (both daemons' children ask for SIGTERM then) would stop in order and
    // send priority 0, and a parent could respawn a killed child.
    let victims: Vec<String> = tree(a.pid).iter().map(u32::to_string).collect();
    let signal = |sig: &'static str| -> Res<()> {
        let mut args = vec![sig];
        args.extend(victims.iter().map(String::as_str));
        run("kill", &args)?;
        Ok(())
    };
    let k0 = Instant::now();
    signal("-STOP")?;
    signal("-KILL")?;
    let _ = a.child.wait();
    let take_limit = Duration::from_secs_f64(f.failover_expected_ms / 1e3 * 2.0 + 10.0);
    loop {
        if Topology::vips(&topo.b) >= n {
            f.b_takeover_s = k0.elapsed().as_secs_f64();
            break;
        }
        if k0.elapsed() > take_limit {
            f.b_takeover_s = f64::NAN;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_secs_f64(adv * 2.0 + 0.05));
    let frames = adverts(&cap);
    drop(cap);
    save_adverts(&dir.join("failover.tsv"), &frames);
    let mut last_a: HashMap<u8, Instant> = HashMap::new();
    let mut first_b: HashMap<u8, Instant> = HashMap::new();
    for &(t, src, vrid, prio) in &frames {
        if src == src_a && prio == PRIO_A {
            last_a.insert(vrid, t);
        } else if src == src_b && prio == PRIO_B {
            first_b.entry(vrid).or_insert(t);
        }
    }
    let fo: Vec<f64> = last_a
        .iter()
        .filter_map(|(v, ta)| {
            let tb = first_b.get(v)?;
            Some(tb.checked_duration_since(*ta)?.as_secs_f64() * 1e3)
        })
        .collect();
    f.failover_vrids = fo.len();
    f.failover_med_ms = percentile(&fo, 0.5);
    f.failover_max_ms = fo.iter().copied().fold(f64::NAN, f64::max);

    // 6. Stop B.
    let s0 = Instant::now();
    let btree = tree(b.pid);
    let _ = run("kill", &["-TERM", &b.pid.to_string()]);
    let stop_limit = Duration::from_secs(20);
    while btree
        .iter()
        .any(|p| Path::new(&format!("/proc/{p}")).exists())
        && s0.elapsed() < stop_limit
    {
        let _ = b.child.try_wait();
        std::thread::sleep(Duration::from_millis(20));
    }
    f.stop_b_s = s0.elapsed().as_secs_f64();
    let _ = b.child.wait();
    drop(topo);
    // Our daemon's crash journal of A (named after its VRRP pidfile) points into namespaces
    // that are gone now.
    if let Ok(d) = std::fs::read_dir("/run/keepalived-rs") {
        let token = dir
            .to_string_lossy()
            .trim_start_matches('/')
            .replace('/', "_");
        for e in d.flatten() {
            if e.file_name().to_string_lossy().starts_with(&token) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(f)
}

// ---------------------------------------------------------------- report

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 && ours.is_finite() && theirs.is_finite() {
        format!("{:.2}", ours / theirs)
    } else {
        "-".to_owned()
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn report(mode: Mode, s: &Settings, ours: &Figures, theirs: &Figures) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\n=== {}: {} instances, VRRPv{}, advert_int {} s, {} veth pairs; window {} s, capture {} s{}",
        mode.name,
        mode.n,
        mode.version,
        mode.advert_int,
        s.k,
        s.window.as_secs_f64(),
        s.pcap.as_secs_f64(),
        s.rt_priority.map_or(String::new(), |p| format!(
            "; both with vrrp_rt_priority {p}"
        )) + &s.pin.as_ref().map_or_else(
            || "; routers not pinned".to_owned(),
            |p| format!(
                "; router A on CPU {}, router B and the harness on CPU {}",
                p.cpus_a, p.cpus_b
            )
        )
    );
    let _ = writeln!(
        t,
        "| measure | ours | keepalived | ours/keepalived | goal |\n|---|---|---|---|---|"
    );
    let mut row = |name: &str, o: f64, k: f64, prec: usize, goal: &str| {
        let _ = writeln!(
            t,
            "| {name} | {o:.prec$} | {k:.prec$} | {} | {goal} |",
            ratio(o, k)
        );
    };
    row(
        "convergence, A alone (s)",
        ours.converge_s,
        theirs.converge_s,
        2,
        "",
    );
    for (name, o, k) in [("master", ours.a, theirs.a), ("backup", ours.b, theirs.b)] {
        let user_goal = format!("<= 0.5x: {}", verdict(o.user() <= 0.5 * k.user()));
        let total_goal = format!("<= 1x: {}", verdict(o.rt <= k.rt));
        let pss_goal = format!("<= 0.5x: {}", verdict(o.pss as f64 <= 0.5 * k.pss as f64));
        let label = |what: &str| format!("{name} {what}");
        row(
            &label("CPU, user (% of a core; run time x sampled user share)"),
            o.user(),
            k.user(),
            2,
            &user_goal,
        );
        row(
            &label("CPU, user share of run time (perf samples)"),
            o.user_share.unwrap_or(f64::NAN),
            k.user_share.unwrap_or(f64::NAN),
            3,
            "",
        );
        row(&label("CPU, user (ticks, %)"), o.usr, k.usr, 2, "");
        row(&label("CPU, system (ticks, %)"), o.sys, k.sys, 2, "");
        row(&label("CPU, user+system (ticks, %)"), o.cpu, k.cpu, 2, "");
        row(
            &label("CPU, schedstat run time (%)"),
            o.rt,
            k.rt,
            2,
            &total_goal,
        );
        row(&label("RSS (KiB)"), o.rss as f64, k.rss as f64, 0, "");
        row(
            &label("PSS (KiB)"),
            o.pss as f64,
            k.pss as f64,
            0,
            &pss_goal,
        );
    }
    row(
        "master processes",
        ours.procs_a as f64,
        theirs.procs_a as f64,
        0,
        "",
    );
    row(
        "master threads",
        ours.threads_a as f64,
        theirs.threads_a as f64,
        0,
        "",
    );
    row(
        "adverts/s on vs0 (expected)",
        ours.adverts_per_s,
        theirs.adverts_per_s,
        1,
        &format!("{:.1}", ours.adverts_expected),
    );
    row(
        "jitter VRID 1, median (ms)",
        ours.jit_med_ms,
        theirs.jit_med_ms,
        3,
        "",
    );
    let jit_goal = format!("< 0.1 ms: {}", verdict(ours.jit_p99_ms < 0.1));
    row(
        "jitter VRID 1, p99 (ms)",
        ours.jit_p99_ms,
        theirs.jit_p99_ms,
        3,
        &jit_goal,
    );
    row(
        "jitter VRID 1, max (ms)",
        ours.jit_max_ms,
        theirs.jit_max_ms,
        3,
        "",
    );
    let jit_all_goal = format!("< 0.1 ms: {}", verdict(ours.jit_all_p99_ms < 0.1));
    row(
        "jitter all VRIDs of vs0, p99 (ms)",
        ours.jit_all_p99_ms,
        theirs.jit_all_p99_ms,
        3,
        &jit_all_goal,
    );
    row(
        "jitter all VRIDs of vs0, max (ms)",
        ours.jit_all_max_ms,
        theirs.jit_all_max_ms,
        3,
        "",
    );
    row(
        "floor: bare timer loop on A's CPU, jitter p99 (ms)",
        ours.floor.jitter_p99 / 1e3,
        theirs.floor.jitter_p99 / 1e3,
        3,
        "the machine's share",
    );
    let (o, k) = (ours.floor, theirs.floor);
    for (what, o, k) in [
        ("median", o.late_med, k.late_med),
        ("p99", o.late_p99, k.late_p99),
        ("max", o.late_max, k.late_max),
    ] {
        let name = format!("floor: its wake-up lateness, {what} (ms)");
        row(&name, o / 1e3, k / 1e3, 3, "");
    }
    row(
        "A's bursts on vs0: span, median (ms)",
        ours.burst.span_med_ms,
        theirs.burst.span_med_ms,
        3,
        "",
    );
    row(
        "A's bursts on vs0: span, max (ms)",
        ours.burst.span_max_ms,
        theirs.burst.span_max_ms,
        3,
        "",
    );
    row(
        "A's bursts on vs0: largest gap inside, median (ms)",
        ours.burst.gap_med_ms,
        theirs.burst.gap_med_ms,
        3,
        "",
    );
    row(
        "A's bursts on vs0: in another VRID order than the one before",
        ours.burst.reordered as f64,
        theirs.burst.reordered as f64,
        0,
        "",
    );
    row(
        "intervals over 1.5 x advert_int",
        ours.gaps as f64,
        theirs.gaps as f64,
        0,
        "",
    );
    row(
        "median interval (ms)",
        ours.interval_mean_ms,
        theirs.interval_mean_ms,
        4,
        "",
    );
    // No drift: the mean interval within 1 µs of the configured one, or within three standard
    // errors where the capture cannot resolve 1 µs (keepalived re-arms from "now" and drifts by
    // its wake-up lateness, 30-190 µs per interval).
    let tolerance = (3.0 * ours.drift_se_us).max(1.0);
    let drift_goal = format!(
        "|drift| < {tolerance:.1} µs: {}",
        verdict(ours.drift_us.abs() < tolerance)
    );
    row(
        "drift standard error (µs)",
        ours.drift_se_us,
        theirs.drift_se_us,
        2,
        "",
    );
    row(
        "drift per interval (µs)",
        ours.drift_us,
        theirs.drift_us,
        1,
        &drift_goal,
    );
    let exp = ours.failover_expected_ms;
    let fo_goal = format!(
        "{exp:.3} + <= 1 ms: {}",
        verdict(ours.failover_max_ms - exp <= 1.0 && ours.failover_max_ms >= exp - 0.05)
    );
    row(
        "crash failover, median over VRIDs (ms)",
        ours.failover_med_ms,
        theirs.failover_med_ms,
        3,
        &format!("{exp:.3}"),
    );
    row(
        "crash failover, max (ms)",
        ours.failover_max_ms,
        theirs.failover_max_ms,
        3,
        &fo_goal,
    );
    row(
        "VIPs all on B after kill -9 (s)",
        ours.b_takeover_s,
        theirs.b_takeover_s,
        3,
        "",
    );
    row(
        "SIGTERM of B to exit (s)",
        ours.stop_b_s,
        theirs.stop_b_s,
        3,
        "",
    );
    let _ = writeln!(
        t,
        "checks: ours vrids {}/{} adverts from B {} B VIP peak {} A VIP min {} failover VRIDs {}; \
         keepalived vrids {}/{} adverts from B {} B VIP peak {} A VIP min {} failover VRIDs {}",
        ours.vrids_seen,
        mode.n.div_ceil(s.k),
        ours.adverts_from_b,
        ours.b_vip_peak,
        ours.a_vip_min,
        ours.failover_vrids,
        theirs.vrids_seen,
        mode.n.div_ceil(s.k),
        theirs.adverts_from_b,
        theirs.b_vip_peak,
        theirs.a_vip_min,
        theirs.failover_vrids
    );
    let _ = writeln!(
        t,
        "machine: busy before start {:.1}% / {:.1}%, during the window {:.1}% / {:.1}% of all CPUs, \
         load average {} / {} (ours / keepalived)",
        ours.host_busy_pre,
        theirs.host_busy_pre,
        ours.host_busy,
        theirs.host_busy,
        ours.load,
        theirs.load
    );
    t
}

fn main() {
    if !privileged_with("vrrp_scale", &["ip", "keepalived"]).unwrap() {
        return;
    }
    let secs = |name: &str, d: f64| Duration::from_secs_f64(env_or(name, d));
    // Before pinning: afterwards this process sees only router B's CPUs.
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let s = Settings {
        k: env_or("SCALE_K", 8),
        window: secs("SCALE_WINDOW_S", 10.0),
        split: secs("SCALE_SPLIT_S", 10.0),
        pcap: secs("SCALE_PCAP_S", 5.0),
        settle: secs("SCALE_SETTLE_S", 5.0),
        sample: secs("SCALE_SAMPLE_S", 2.0),
        quiet_pct: env_or("SCALE_QUIET_PCT", 10.0),
        quiet_wait: secs("SCALE_QUIET_WAIT_S", 0.0),
        out: PathBuf::from(env_or("SCALE_OUT", "/tmp/vrrp-scale".to_owned())),
        rt_priority: std::env::var("SCALE_RT_PRIORITY")
            .ok()
            .and_then(|v| v.parse().ok()),
        pin: pin_routers(env_or("SCALE_PIN", 1) != 0, cpus),
    };
    let ours = Daemon {
        label: "ours",
        bin: std::env::var_os("SCALE_OURS").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_keepalived")),
            PathBuf::from,
        ),
    };
    let theirs = Daemon {
        label: "keepalived",
        bin: std::env::var_os("SCALE_KEEPALIVED")
            .map(PathBuf::from)
            .or_else(|| find_tool("keepalived"))
            .unwrap(),
    };
    let daemons = std::env::var("SCALE_DAEMONS").unwrap_or_else(|_| "ours,keepalived".to_owned());
    let modes_env = std::env::var("SCALE_MODES").unwrap_or_else(|_| "v2,v3".to_owned());
    let mut modes = Vec::new();
    for m in modes_env.split(',') {
        match m.trim() {
            "v2" => modes.push(Mode {
                name: "v2",
                n: env_or("SCALE_N_V2", 1000),
                version: 2,
                advert_int: 1.0,
            }),
            "v3" => modes.push(Mode {
                name: "v3",
                n: env_or("SCALE_N_V3", 100),
                version: 3,
                advert_int: env_or("SCALE_ADV_V3", 0.01),
            }),
            other => panic!("SCALE_MODES: unknown mode {other:?} (v2, v3)"),
        }
    }
    for m in &modes {
        assert!(
            m.n.div_ceil(s.k) <= 255,
            "more than 255 VRIDs per interface: raise SCALE_K"
        );
    }
    std::fs::create_dir_all(&s.out).unwrap();
    println!(
        "vrrp_scale: kernel {} , {} CPUs, load average {}; ours = {}, keepalived = {}",
        run("uname", &["-r"]).unwrap_or_default().trim(),
        cpus,
        load_avg(),
        ours.bin.display(),
        theirs.bin.display()
    );
    let tag = format!("vs{}", std::process::id());
    let mut tables = String::new();
    let mut failed = false;
    for mode in modes {
        let mut figs = Vec::new();
        for d in [&ours, &theirs] {
            if !daemons.split(',').any(|x| x.trim() == d.label) {
                figs.push(Figures::default());
                continue;
            }
            println!("--- {} with {}", mode.name, d.label);
            match run_one(&s, mode, d, &tag) {
                Ok(f) => {
                    println!("  {f:?}");
                    figs.push(f);
                }
                Err(e) => {
                    println!("  FAILED: {e}");
                    failed = true;
                    figs.push(Figures::default());
                }
            }
        }
        let table = report(mode, &s, &figs[0], &figs[1]);
        println!("{table}");
        tables.push_str(&table);
    }
    let _ = std::fs::write(s.out.join("results.md"), &tables);
    assert!(!failed, "a run failed; logs in {}", s.out.display());
}
