//! `ipvs-list`: lists the kernel's IPVS table the way `ipvsadm -Ln` does, through the
//! `ipvs` crate.
//!
//! ```text
//! ipvs-list              # services and destinations (= ipvsadm -Ln)
//! ipvs-list --stats      # with 64-bit counters (= ipvsadm -Ln --stats --exact)
//! ipvs-list --timeout    # connection timeouts (= ipvsadm -Ln --timeout)
//! ipvs-list --daemon     # sync daemons (= ipvsadm -Ln --daemon)
//! ```

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::process::ExitCode;

use ipvs::{
    Family, Forward, Ipvs, Netmask, Scheduler, ServiceFlags, ServiceId, SyncState, VirtualService,
};

fn addr_port(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// ipvsadm's order: fwmark, family, protocol, address, port.
fn sort_key(id: &ServiceId) -> (u32, Family, u16, IpAddr, u16) {
    match *id {
        ServiceId::Inet {
            protocol,
            addr,
            port,
        } => (0, Family::of(&addr), protocol.number(), addr, port),
        ServiceId::Fwmark { family, mark } => (
            mark,
            family,
            0,
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            0,
        ),
    }
}

fn service_head(id: &ServiceId) -> String {
    match id {
        ServiceId::Inet {
            protocol,
            addr,
            port,
        } => format!("{:<4} {}", protocol.to_string(), addr_port(addr, *port)),
        ServiceId::Fwmark {
            family: Family::Ipv4,
            mark,
        } => format!("FWM  {mark}"),
        ServiceId::Fwmark { mark, .. } => format!("FWM  {mark} IPv6"),
    }
}

fn sched_flags(sched: &Scheduler, flags: ServiceFlags) -> Vec<&'static str> {
    let names: [(ServiceFlags, &str, &str); 3] = [
        (ServiceFlags::SCHED1, "flag-1", "fallback"),
        (ServiceFlags::SCHED2, "flag-2", "port"),
        (ServiceFlags::SCHED3, "flag-3", "flag-3"),
    ];
    let prefix = match sched {
        Scheduler::SourceHash => Some("sh"),
        Scheduler::MaglevHash => Some("mh"),
        _ => None,
    };
    names
        .iter()
        .filter(|(f, _, _)| flags.contains(*f))
        .map(|(_, generic, named)| match (prefix, *named) {
            (Some("sh"), "fallback") => "sh-fallback",
            (Some("sh"), "port") => "sh-port",
            (Some("mh"), "fallback") => "mh-fallback",
            (Some("mh"), "port") => "mh-port",
            _ => generic,
        })
        .collect()
}

fn forward_name(f: Forward) -> &'static str {
    match f {
        Forward::Masquerade => "Masq",
        Forward::Local => "Local",
        Forward::Tunnel(_) => "Tunnel",
        Forward::DirectRoute => "Route",
        Forward::Other(_) => "Unknown",
    }
}

fn list(out: &mut String, table: &[VirtualService], stats: bool) {
    if stats {
        out.push_str(
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n",
        );
    } else {
        out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        );
    }
    for v in table {
        let s = &v.service;
        let head = service_head(&s.id);
        if stats {
            let st = s.stats.unwrap_or_default();
            let _ = writeln!(
                out,
                "{head:<33} {:>8} {:>8} {:>8} {:>8} {:>8}",
                st.conns, st.in_packets, st.out_packets, st.in_bytes, st.out_bytes
            );
        } else {
            let mut line = format!("{head} {}", s.scheduler);
            let flags = sched_flags(&s.scheduler, s.flags);
            if !flags.is_empty() {
                let _ = write!(line, " ({})", flags.join(","));
            }
            if s.flags.contains(ServiceFlags::PERSISTENT) {
                let _ = write!(line, " persistent {}", s.timeout);
                match s.netmask {
                    Netmask::V4(m) if m != std::net::Ipv4Addr::BROADCAST => {
                        let _ = write!(line, " mask {m}");
                    }
                    Netmask::V6Prefix(p) if p != 128 => {
                        let _ = write!(line, " mask {p}");
                    }
                    _ => {}
                }
            }
            if s.flags.contains(ServiceFlags::ONE_PACKET) {
                line.push_str(" ops");
            }
            if let Some(pe) = &s.persistence_engine {
                let _ = write!(line, " pe {pe}");
            }
            let _ = writeln!(out, "{line}");
        }
        let mut dests: Vec<_> = v.destinations.iter().collect();
        dests.sort_by_key(|d| (d.addr, d.port));
        for d in dests {
            let c = d.counters.unwrap_or_default();
            let dst = addr_port(&d.addr, d.port);
            if stats {
                let st = c.stats;
                let _ = writeln!(
                    out,
                    "  -> {dst:<28} {:>8} {:>8} {:>8} {:>8} {:>8}",
                    st.conns, st.in_packets, st.out_packets, st.in_bytes, st.out_bytes
                );
            } else {
                let _ = writeln!(
                    out,
                    "  -> {dst:<28} {:<7} {:<6} {:<10} {:<10}",
                    forward_name(d.forward),
                    d.weight,
                    c.active_conns,
                    c.inactive_conns
                );
            }
        }
    }
}

fn run() -> Result<String, ipvs::Error> {
    let arg = std::env::args().nth(1).unwrap_or_default();
    let mut ipvs = Ipvs::new()?;
    let mut out = String::new();
    match arg.as_str() {
        "--timeout" => {
            let t = ipvs.timeouts()?;
            let _ = writeln!(
                out,
                "Timeout (tcp tcpfin udp): {} {} {}",
                t.tcp, t.tcp_fin, t.udp
            );
        }
        "--daemon" => {
            for d in ipvs.daemons()? {
                let role = match d.state {
                    SyncState::Master => "master",
                    SyncState::Backup => "backup",
                };
                let _ = writeln!(
                    out,
                    "{role} sync daemon (mcast={}, syncid={}, maxlen={}, group={}, port={}, ttl={})",
                    d.interface,
                    d.sync_id,
                    d.max_len.unwrap_or(0),
                    d.group.map_or_else(String::new, |g| g.to_string()),
                    d.port.unwrap_or(0),
                    d.ttl.unwrap_or(0),
                );
            }
        }
        "" | "--stats" => {
            let info = ipvs.info()?;
            let (a, b, c) = info.version;
            let _ = writeln!(
                out,
                "IP Virtual Server version {a}.{b}.{c} (size={})",
                info.conn_table_size
            );
            let mut table = ipvs.snapshot()?;
            table.sort_by_key(|v| sort_key(&v.service.id));
            list(&mut out, &table, arg == "--stats");
        }
        other => {
            return Err(ipvs::Error::InvalidInput(format!(
                "unknown option {other}; usage: ipvs-list [--stats|--timeout|--daemon]"
            )));
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    match run() {
        Ok(out) => {
            let _ = std::io::stdout().write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ipvs-list: {e}");
            ExitCode::FAILURE
        }
    }
}
