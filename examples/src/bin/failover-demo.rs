//! A live VRRP failover demo in network namespaces, with our `keepalived` binary.
//!
//! ```text
//! cargo build -p keepalived-bin && sudo cargo run -p keepalived-rs-examples --bin failover-demo
//! ```
//!
//! Builds a switch and three hosts (router A, router B, a client), starts `keepalived -n` on
//! both routers from ordinary keepalived.conf files (`VRRPv3`, 0.1 s adverts), shows the
//! election and who holds the virtual address, kills the master (its parent and VRRP child
//! processes, through their process group) with SIGKILL and measures the
//! failover as the client sees it: the gap between the last advert of the dead master and the
//! first advert and gratuitous ARP of the new one. Router A then restarts, removes the address
//! its crashed predecessor left behind (its journal) and joins as BACKUP. Everything is torn
//! down at the end. Needs root and iproute2. The binary is found next to this program
//! (`target/debug/keepalived`) or through `KEEPALIVED_RS_BIN`.

#![allow(clippy::print_stdout)]

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use vrrp_engine::testlab::{Capture, Lab, garp_in_frame, run, vrrp_in_frame, wait_for};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 100);
const VRID: u8 = 51;
const WAIT: Duration = Duration::from_secs(10);

type Result<T> = std::result::Result<T, String>;

fn keepalived_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("KEEPALIVED_RS_BIN") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot locate myself: {e}"))?;
    let sibling = me.with_file_name("keepalived");
    if sibling.is_file() {
        Ok(sibling)
    } else {
        Err(format!(
            "{} not found: run `cargo build -p keepalived-bin` first, or set KEEPALIVED_RS_BIN",
            sibling.display()
        ))
    }
}

fn conf(priority: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  vrrp_version 3\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {VRID}\n  \
         priority {priority}\n  advert_int 0.1\n{extra}  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

struct Demo {
    lab: Lab,
    bin: PathBuf,
}

impl Demo {
    /// Starts our keepalived on router `host` (0 = A, 1 = B); returns the parent's pid (also its
    /// process group) and the log file.
    fn start(&self, host: usize, run: u32, text: &str) -> Result<(u32, PathBuf)> {
        let dir = self.lab.dir();
        let conf = dir.join(format!("router{host}-{run}.conf"));
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        let log = dir.join(format!("router{host}-{run}.log"));
        let out = File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = self.lab.command(host, &self.bin);
        cmd.args(["-n", "-l", "-P", "-f"])
            .arg(&conf)
            .arg("-p")
            .arg(dir.join(format!("router{host}.pid")))
            .arg("-r")
            .arg(dir.join(format!("router{host}.vrrp.pid")))
            .stdout(out)
            .stderr(err)
            // A process group of its own: parent and VRRP child can be killed together.
            .process_group(0);
        let pid = self.lab.spawn_process(cmd).map_err(|e| e.to_string())?;
        Ok((pid, log))
    }

    fn owner(&self) -> &'static str {
        let a = self.lab.has_address(0, IpAddr::V4(VIP));
        let b = self.lab.has_address(1, IpAddr::V4(VIP));
        match (a, b) {
            (true, false) => "router A",
            (false, true) => "router B",
            (true, true) => "BOTH routers (!)",
            (false, false) => "nobody",
        }
    }
}

/// Waits (bounded) for `cond`.
fn expect(what: &str, cond: impl FnMut() -> bool) -> Result<()> {
    if wait_for(WAIT, cond) {
        Ok(())
    } else {
        Err(format!("timed out waiting for {what}"))
    }
}

fn logged(path: &PathBuf, needle: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle))
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

#[allow(clippy::too_many_lines)] // one narrative, step after step
fn demo() -> Result<()> {
    let bin = keepalived_binary()?;
    let lab = Lab::new(3).map_err(|e| format!("building the namespaces: {e}"))?;
    let (a_ip, b_ip, c_ip) = (lab.host(0).ipv4, lab.host(1).ipv4, lab.host(2).ipv4);
    println!("== keepalived-rs failover demo ==");
    println!("Namespaces on one bridge: router A {a_ip}, router B {b_ip}, client {c_ip}.");
    println!(
        "Both routers run `{} -n -l -P -f <conf>`: VRRPv3, VRID {VRID}, advert_int 0.1 s, VIP {VIP}; A priority 200, B 100.",
        bin.display()
    );
    let demo = Demo { lab, bin };
    let capture = Capture::start(&demo.lab, 2).map_err(|e| format!("client capture: {e}"))?;
    let adverts = |from: Ipv4Addr| {
        capture
            .frames()
            .into_iter()
            .filter(move |(_, f)| {
                vrrp_in_frame(f)
                    .is_some_and(|(src, vrid, _)| src == IpAddr::V4(from) && vrid == VRID)
            })
            .map(|(t, _)| t)
            .collect::<Vec<Instant>>()
    };

    println!("\n1. Election");
    let (a_pid, a_log) = demo.start(0, 1, &conf(200, ""))?;
    let (b_pid, b_log) = demo.start(1, 1, &conf(100, ""))?;
    expect("router A to become MASTER", || {
        logged(&a_log, "Entering MASTER STATE") && demo.lab.has_address(0, IpAddr::V4(VIP))
    })?;
    expect("router B to settle as BACKUP", || {
        logged(&b_log, "Entering BACKUP STATE")
    })?;
    expect("the client to hear A's adverts", || {
        adverts(a_ip).len() >= 5
    })?;
    println!(
        "   router A: MASTER, router B: BACKUP. The VIP {VIP} is on: {}.",
        demo.owner()
    );
    println!(
        "   The client hears A's adverts ({} so far) and none from B ({}).",
        adverts(a_ip).len(),
        adverts(b_ip).len()
    );

    println!(
        "\n2. Crash: kill -9 of router A (parent pid {a_pid} and its VRRP child, process group {a_pid})"
    );
    let killed = Instant::now();
    run("kill", &["-KILL", "--", &format!("-{a_pid}")]).map_err(|e| e.to_string())?;
    expect("router A to die", || {
        demo.lab.wait_exit(a_pid, Duration::ZERO).unwrap_or(false)
    })?;
    expect("router B to take over", || {
        logged(&b_log, "Entering MASTER STATE") && !adverts(b_ip).is_empty()
    })?;
    // Let B's first GARP burst reach the client.
    expect("B's gratuitous ARP at the client", || {
        capture
            .frames()
            .iter()
            .any(|(t, f)| *t >= killed && garp_in_frame(f) == Some(VIP))
    })?;
    let last_a = adverts(a_ip).into_iter().max().ok_or("no advert from A")?;
    let first_b = adverts(b_ip).into_iter().min().ok_or("no advert from B")?;
    let garp = capture
        .frames()
        .iter()
        .filter(|(t, f)| *t >= killed && garp_in_frame(f) == Some(VIP))
        .map(|(t, _)| *t)
        .min()
        .ok_or("no GARP")?;
    println!(
        "   router B: MASTER and holds the VIP ({}). A's namespace keeps a stale copy: a killed process cannot clean up, and the client follows B's gratuitous ARP.",
        demo.lab.has_address(1, IpAddr::V4(VIP))
    );
    println!("   Seen from the client:");
    println!(
        "     last advert from A -> first advert from B: {}",
        ms(first_b.saturating_duration_since(last_a))
    );
    println!(
        "     kill -9 -> first advert from B:            {}",
        ms(first_b.saturating_duration_since(killed))
    );
    println!(
        "     kill -9 -> gratuitous ARP for {VIP} from B: {}",
        ms(garp.saturating_duration_since(killed))
    );
    println!(
        "   (keepalived 2.2.7 measured here: 0.17 s with VRRPv3 0.05 s; 3.6 s with VRRPv2 advert_int 1.)"
    );

    println!("\n3. Router A restarts (nopreempt, so B keeps the role)");
    let (a2_pid, a2_log) = demo.start(0, 2, &conf(200, "  nopreempt\n"))?;
    expect("router A to join as BACKUP", || {
        logged(&a2_log, "Entering BACKUP STATE")
    })?;
    println!(
        "   Its journal named the VIP the crashed run had added: removed at start. The VIP is on: {}.",
        demo.owner()
    );

    println!("\n4. Orderly stop (SIGTERM) of both routers");
    for pid in [a2_pid, b_pid] {
        demo.lab.terminate(pid).map_err(|e| e.to_string())?;
        expect("the router to stop", || {
            demo.lab.wait_exit(pid, Duration::ZERO).unwrap_or(false)
        })?;
    }
    println!(
        "   The VIP is on: {}. Removing the namespaces.",
        demo.owner()
    );
    drop(capture);
    drop(demo);
    println!("Done.");
    Ok(())
}

fn main() -> ExitCode {
    match demo() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("failover-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
