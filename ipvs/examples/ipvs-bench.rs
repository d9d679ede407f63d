//! Programs, lists and clears a large IPVS table, and does the same with ipvsadm, printing
//! one `RESULT` line per measurement. Run inside the IPVS VM by `ipvs/vm/bench.sh`, each
//! mode in a fresh network namespace:
//!
//! ```text
//! ipvs-bench ours SERVICES DESTS       # this crate: batched changes, dumps, plan/apply
//! ipvs-bench ipvsadm SERVICES DESTS    # ipvsadm -R / -Ln / -C on the same table
//! ipvs-bench restore SERVICES DESTS    # only our restore (for strace -c)
//! ipvs-bench rules SERVICES DESTS      # print the table as an ipvsadm -R file
//! ipvs-bench probe SERVICES DESTS      # where listing time goes
//! ```
//!
//! Table: TCP services `10.A.B.C:80` (wlc), each with DESTS masquerading destinations
//! `192.168.d.(s % 254 + 1):8080`, weight 1: the layout of the project's reference
//! measurements.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, ExitCode};
use std::time::Instant;

use ipvs::{Change, Destination, Forward, Ipvs, Scheduler, Service, ServiceId, VirtualService};

fn vip(s: usize) -> Ipv4Addr {
    Ipv4Addr::new(
        10,
        (s / 62_500 % 256) as u8,
        (s / 250 % 250) as u8,
        (s % 250 + 1) as u8,
    )
}

fn rip(s: usize, d: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, (d % 256) as u8, (s % 254 + 1) as u8)
}

fn table(services: usize, dests: usize) -> Vec<VirtualService> {
    (0..services)
        .map(|s| VirtualService {
            service: Service::new(
                ServiceId::tcp(IpAddr::V4(vip(s)), 80),
                Scheduler::WeightedLeastConnection,
            ),
            destinations: (0..dests)
                .map(|d| Destination::new(IpAddr::V4(rip(s, d)), 8080, Forward::Masquerade))
                .collect(),
        })
        .collect()
}

fn restore_file(services: usize, dests: usize) -> String {
    let mut f = String::new();
    for s in 0..services {
        let _ = writeln!(f, "-A -t {}:80 -s wlc", vip(s));
        for d in 0..dests {
            let _ = writeln!(f, "-a -t {}:80 -r {}:8080 -m -w 1", vip(s), rip(s, d));
        }
    }
    f
}

/// User and system CPU of this process and its waited-for children, in milliseconds
/// (`/proc/self/stat` fields 14-17, clock ticks of 10 ms).
fn cpu_ms() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name start at field 3.
    let f: Vec<u64> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|v| v.parse::<u64>().unwrap_or(0) * 10)
        .collect();
    match f[..] {
        [utime, stime, cutime, cstime] => (utime + cutime, stime + cstime),
        _ => (0, 0),
    }
}

struct Timer {
    wall: Instant,
    cpu: (u64, u64),
}

impl Timer {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: cpu_ms(),
        }
    }
    fn report(self, tool: &str, op: &str, services: usize, dests: usize, extra: &str) {
        let wall = self.wall.elapsed();
        let rules = services * (dests + 1);
        let tenths = wall.as_micros() * 10 / rules.max(1) as u128;
        let (user, sys) = cpu_ms();
        println!(
            "RESULT tool={tool} op={op} S={services} D={dests} rules={rules} wall_ms={} user_ms={} sys_ms={} us_per_rule={}.{}{extra}",
            wall.as_millis(),
            user - self.cpu.0,
            sys - self.cpu.1,
            tenths / 10,
            tenths % 10,
        );
    }
}

fn counts(ipvs: &mut Ipvs) -> Result<(usize, usize), ipvs::Error> {
    let t = ipvs.snapshot()?;
    Ok((t.len(), t.iter().map(|v| v.destinations.len()).sum()))
}

fn sh(cmd: &str) -> Result<(), String> {
    let st = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .map_err(|e| e.to_string())?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("`{cmd}` failed: {st}"))
    }
}

fn check(ipvs: &mut Ipvs, services: usize, dests: usize) -> Result<(), String> {
    let (s, d) = counts(ipvs).map_err(|e| e.to_string())?;
    if (s, d) == (services, services * dests) {
        Ok(())
    } else {
        Err(format!(
            "table has {s} services / {d} destinations, expected {services} / {}",
            services * dests
        ))
    }
}

fn ours(services: usize, dests: usize) -> Result<(), String> {
    let e = |e: ipvs::Error| e.to_string();
    let want = table(services, dests);
    let mut changes = Vec::with_capacity(services * (dests + 1));
    for v in &want {
        changes.push(Change::AddService(v.service.clone()));
        for d in &v.destinations {
            changes.push(Change::AddDestination(v.service.id, d.clone()));
        }
    }
    let t = Timer::start();
    let mut ipvs = Ipvs::new().map_err(e)?;
    let failures = ipvs.apply_changes(&changes).map_err(e)?;
    t.report("ipvs-rs", "restore", services, dests, "");
    if let Some(f) = failures.first() {
        return Err(format!(
            "{} changes failed, first: {}",
            failures.len(),
            f.error
        ));
    }
    check(&mut ipvs, services, dests)?;

    let t = Timer::start();
    let snap = ipvs.snapshot().map_err(e)?;
    t.report("ipvs-rs", "list", services, dests, "");

    // Planning alone (no I/O): the table read back against the same table.
    let t = Timer::start();
    let p = ipvs::plan(&snap, &want);
    t.report(
        "ipvs-rs",
        "plan_unchanged",
        services,
        dests,
        &format!(" changes={}", p.len()),
    );
    drop(snap);

    // A reload that changes the weight of one destination in ten, in place.
    let mut next = want.clone();
    for v in &mut next {
        v.destinations[0].weight = 2;
    }
    let t = Timer::start();
    let report = ipvs.apply(&next).map_err(e)?;
    t.report(
        "ipvs-rs",
        "apply_reweight",
        services,
        dests,
        &format!(
            " changes={} failures={}",
            report.changes.len(),
            report.failures.len()
        ),
    );

    let t = Timer::start();
    ipvs.flush().map_err(e)?;
    t.report("ipvs-rs", "clear", services, dests, "");
    check(&mut ipvs, 0, dests)
}

fn restore_only(services: usize, dests: usize) -> Result<(), String> {
    let changes: Vec<Change> = table(services, dests)
        .into_iter()
        .flat_map(|v| {
            let id = v.service.id;
            std::iter::once(Change::AddService(v.service)).chain(
                v.destinations
                    .into_iter()
                    .map(move |d| Change::AddDestination(id, d)),
            )
        })
        .collect();
    let mut ipvs = Ipvs::new().map_err(|e| e.to_string())?;
    let failures = ipvs.apply_changes(&changes).map_err(|e| e.to_string())?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} changes failed", failures.len()))
    }
}

/// Where listing time goes: the service dump, then destination dumps in five chunks.
fn probe(services: usize, dests: usize) -> Result<(), String> {
    let e = |e: ipvs::Error| e.to_string();
    let want = table(services, dests);
    let mut ipvs = Ipvs::new().map_err(e)?;
    let changes: Vec<Change> = want
        .iter()
        .flat_map(|v| {
            std::iter::once(Change::AddService(v.service.clone())).chain(
                v.destinations
                    .iter()
                    .map(|d| Change::AddDestination(v.service.id, d.clone())),
            )
        })
        .collect();
    ipvs.apply_changes(&changes).map_err(e)?;
    let t = Timer::start();
    let list = ipvs.services().map_err(e)?;
    t.report("ipvs-rs", "dump_services", services, dests, "");
    for (i, chunk) in list.chunks(services.div_ceil(5).max(1)).enumerate() {
        let t = Timer::start();
        for s in chunk {
            ipvs.destinations(&s.id).map_err(e)?;
        }
        t.report(
            "ipvs-rs",
            &format!("dump_dests_chunk{i}"),
            chunk.len(),
            dests,
            "",
        );
    }
    let t = Timer::start();
    for _ in 0..5 {
        ipvs.info().map_err(e)?;
    }
    t.report("ipvs-rs", "5_get_info", services, dests, "");
    let t = Timer::start();
    let mut n = 0;
    for s in list.iter().take(1000) {
        n += usize::from(ipvs.service(&s.id).is_ok());
    }
    t.report(
        "ipvs-rs",
        "get_service_x1000",
        services,
        dests,
        &format!(" ok={n}"),
    );
    Ok(())
}

fn ipvsadm(services: usize, dests: usize) -> Result<(), String> {
    let path = "/tmp/ipvs-bench.rules";
    std::fs::write(path, restore_file(services, dests)).map_err(|e| e.to_string())?;
    let t = Timer::start();
    sh(&format!("ipvsadm -R < {path}"))?;
    t.report("ipvsadm", "restore", services, dests, "");
    let mut ipvs = Ipvs::new().map_err(|e| e.to_string())?;
    check(&mut ipvs, services, dests)?;
    let t = Timer::start();
    sh("ipvsadm -Ln > /dev/null")?;
    t.report("ipvsadm", "list", services, dests, "");
    let t = Timer::start();
    sh("ipvsadm -C")?;
    t.report("ipvsadm", "clear", services, dests, "");
    check(&mut ipvs, 0, dests)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let parse = |i: usize, default: usize| {
        args.get(i).map_or(Ok(default), |a| {
            a.parse::<usize>().map_err(|e| e.to_string())
        })
    };
    let run = || -> Result<(), String> {
        let (s, d) = (parse(2, 10_000)?, parse(3, 10)?);
        match args.get(1).map(String::as_str) {
            Some("ours") => ours(s, d),
            Some("ipvsadm") => ipvsadm(s, d),
            Some("probe") => probe(s, d),
            // For syscall counts: only the restore, and the ipvsadm rules file.
            Some("restore") => restore_only(s, d),
            Some("rules") => {
                print!("{}", restore_file(s, d));
                Ok(())
            }
            _ => Err("usage: ipvs-bench ours|ipvsadm [SERVICES [DESTS]]".into()),
        }
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipvs-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
