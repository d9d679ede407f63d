//! Integration tests against a real kernel IPVS, cross-checked with Debian's ipvsadm.
//!
//! They need a kernel with `ip_vs` and `CAP_NET_ADMIN`, and they change the IPVS table of
//! their network namespace, so they run only inside the VM of `ipvs/vm/test.sh`, which runs
//! every test in a fresh namespace (`unshare -n`, `lo` up) and sets `IPVS_VM=1`. Elsewhere
//! they print "skipped" and pass; CI runs them through `.ci/test.d/ipvs-vm`, where a missing
//! VM prerequisite is a failure.
#![allow(clippy::unwrap_used, clippy::panic, clippy::too_many_lines)]

use std::net::IpAddr;
use std::process::Command;

use ipvs::nl::{CmdAttr, Command as Cmd};
use ipvs::{
    Change, Destination, ErrorKind, Family, Forward, Ipvs, Netmask, Protocol, Scheduler, Service,
    ServiceFlags, ServiceId, SyncDaemon, SyncState, Timeouts, Tunnel, TunnelType, VirtualService,
};

fn in_vm() -> bool {
    if std::env::var_os("IPVS_VM").is_some() {
        return true;
    }
    println!(
        "skipped: needs a kernel with IPVS in a throw-away namespace; run ipvs/vm/test.sh \
         (CI: .ci/test.d/ipvs-vm)"
    );
    false
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The reference table: what we program, as ipvsadm commands, and ipvsadm's `-Sn` of it.
/// Covers IPv4/IPv6, TCP/UDP/SCTP, fwmark (both families), persistence with netmask and
/// prefix, one-packet, scheduler flags, a persistence engine, every forwarding method and
/// the GUE tunnel options.
fn reference() -> (Vec<VirtualService>, &'static str, &'static str) {
    let v4 = ServiceId::tcp(ip("10.0.0.1"), 80);
    let mut s1 = Service::new(v4, Scheduler::WeightedLeastConnection).persistent(300);
    s1.netmask = Netmask::V4("255.255.255.0".parse().unwrap());
    let mut d1 = Destination::new(ip("192.168.1.1"), 8080, Forward::Masquerade).weight(3);
    d1.upper_threshold = 100;
    d1.lower_threshold = 10;
    let t1 = VirtualService {
        service: s1,
        destinations: vec![
            d1,
            Destination::new(ip("192.168.1.2"), 80, Forward::DirectRoute).weight(0),
            Destination::new(ip("192.168.1.3"), 80, Forward::Tunnel(Tunnel::default())),
            Destination::new(
                ip("192.168.1.4"),
                80,
                Forward::Tunnel(Tunnel {
                    kind: TunnelType::Gue,
                    port: 6080,
                    flags: Tunnel::CSUM,
                }),
            ),
            Destination::new(
                ip("192.168.1.5"),
                80,
                Forward::Tunnel(Tunnel {
                    kind: TunnelType::Gre,
                    port: 0,
                    flags: Tunnel::CSUM,
                }),
            ),
        ],
    };
    let t2 = VirtualService::new(Service::new(
        ServiceId::tcp(ip("10.0.0.9"), 0),
        Scheduler::RoundRobin,
    ))
    .with_persistence(360);
    let mut s3 = Service::new(ServiceId::udp(ip("10.0.0.2"), 53), Scheduler::RoundRobin);
    s3.flags = ServiceFlags::ONE_PACKET;
    let mut s4 = Service::new(
        ServiceId::Inet {
            protocol: Protocol::Sctp,
            addr: ip("10.0.0.3"),
            port: 5000,
        },
        Scheduler::SourceHash,
    );
    s4.flags = ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK;
    let mut s5 = Service::new(
        ServiceId::tcp(ip("2001:db8::1"), 443),
        Scheduler::MaglevHash,
    )
    .persistent(60);
    s5.flags |= ServiceFlags::MH_PORT;
    s5.netmask = Netmask::V6Prefix(64);
    let t5 = VirtualService {
        service: s5,
        destinations: vec![
            Destination::new(ip("2001:db8::10"), 443, Forward::Masquerade).weight(2),
        ],
    };
    let mut s6 = Service::new(
        ServiceId::Fwmark {
            family: Family::Ipv4,
            mark: 7,
        },
        Scheduler::LeastConnection,
    )
    .persistent(30);
    s6.persistence_engine = Some("sip".into());
    let t6 = VirtualService {
        service: s6,
        destinations: vec![Destination::new(ip("192.168.2.1"), 0, Forward::DirectRoute)],
    };
    let t7 = VirtualService {
        service: Service::new(
            ServiceId::Fwmark {
                family: Family::Ipv6,
                mark: 8,
            },
            Scheduler::WeightedRoundRobin,
        ),
        destinations: vec![Destination::new(
            ip("2001:db8::20"),
            0,
            Forward::DirectRoute,
        )],
    };
    let table = vec![
        t1,
        t2,
        VirtualService::new(s3),
        VirtualService::new(s4),
        t5,
        t6,
        t7,
    ];
    let commands = "\
ipvsadm -A -t 10.0.0.1:80 -s wlc -p 300 -M 255.255.255.0
ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 3 -x 100 -y 10
ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.2:80 -g -w 0
ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.3:80 -i
ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.4:80 -i --tun-type gue --tun-port 6080 --tun-csum
ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.5:80 -i --tun-type gre --tun-csum
ipvsadm -A -t 10.0.0.9:0 -s rr -p 360
ipvsadm -A -u 10.0.0.2:53 -s rr -o
ipvsadm -A --sctp-service 10.0.0.3:5000 -s sh -b sh-port,sh-fallback
ipvsadm -A -t [2001:db8::1]:443 -s mh -b mh-port -p 60 -M 64
ipvsadm -a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 2
ipvsadm -A -f 7 -s lc -p 30 --pe sip
ipvsadm -a -f 7 -r 192.168.2.1:0 -g
ipvsadm -A -f 8 -6 -s wrr
ipvsadm -a -f 8 -6 -r [2001:db8::20]:0 -g
";
    // ipvsadm -Sn lists services in hash-table order, so the test compares sorted lines.
    let save = "\
-A -t 10.0.0.1:80 -s wlc -p 300 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 3
-a -t 10.0.0.1:80 -r 192.168.1.2:80 -g -w 0
-a -t 10.0.0.1:80 -r 192.168.1.3:80 -i -w 1 --tun-type ipip
-a -t 10.0.0.1:80 -r 192.168.1.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -t 10.0.0.1:80 -r 192.168.1.5:80 -i -w 1 --tun-type gre --tun-csum
-A -t 10.0.0.9:0 -s rr -p 360
-A -u 10.0.0.2:53 -s rr -o
-A --sctp-service 10.0.0.3:5000 -s sh -b sh-fallback,sh-port
-A -t [2001:db8::1]:443 -s mh -p 60 -M 64 -b mh-port
-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 2
-A -f 7 -s lc -p 30 --pe sip
-a -f 7 -r 192.168.2.1:0 -g -w 1
-A -f 8 -6 -s wrr
-a -f 8 -6 -r [2001:db8::20]:0 -g -w 1
";
    (table, commands, save)
}

trait WithPersistence {
    fn with_persistence(self, timeout: u32) -> Self;
}
impl WithPersistence for VirtualService {
    fn with_persistence(mut self, timeout: u32) -> Self {
        self.service = self.service.persistent(timeout);
        self
    }
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
    v.sort();
    v
}

/// Our table without counters, sorted, for comparison.
fn normalised(mut t: Vec<VirtualService>) -> Vec<VirtualService> {
    for v in &mut t {
        v.service.stats = None;
        for d in &mut v.destinations {
            d.counters = None;
        }
        v.destinations.sort_by_key(|d| (d.addr, d.port));
    }
    t.sort_by_key(|v| v.service.id);
    t
}

#[test]
fn we_write_ipvsadm_reads() {
    if !in_vm() {
        return;
    }
    let (table, _, save) = reference();
    let mut ipvs = Ipvs::new().unwrap();
    let report = ipvs.apply(&table).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(sorted_lines(&sh("ipvsadm -Sn")), sorted_lines(save));
    let thresholds = sh("ipvsadm -Ln --thresholds -t 10.0.0.1:80");
    assert!(
        thresholds
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["->", "192.168.1.1:8080", "100", "10", "0", "0"]),
        "{thresholds}"
    );
    // Applying the same table again changes nothing.
    let again = ipvs.apply(&table).unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
}

#[test]
fn ipvsadm_writes_we_read() {
    if !in_vm() {
        return;
    }
    let (table, commands, _) = reference();
    sh(commands);
    let mut ipvs = Ipvs::new().unwrap();
    assert_eq!(
        normalised(ipvs.snapshot().unwrap()),
        normalised(table.clone())
    );
    // Nothing to change: what ipvsadm wrote is exactly the table (no spurious edits on a
    // reload that did not change anything).
    let report = ipvs.apply(&table).unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    let one = ipvs.service(&ServiceId::udp(ip("10.0.0.2"), 53)).unwrap();
    assert!(one.flags.contains(ServiceFlags::ONE_PACKET));
    assert_eq!(one.stats, Some(ipvs::Stats::default()));
}

#[test]
fn info_timeouts_and_counters() {
    if !in_vm() {
        return;
    }
    let mut ipvs = Ipvs::new().unwrap();
    assert_ne!(ipvs.family_id(), 0);
    let info = ipvs.info().unwrap();
    assert_eq!(info.version, (1, 2, 1));
    let head = sh("ipvsadm -Ln | head -1");
    assert!(
        head.contains(&format!("(size={})", info.conn_table_size)),
        "{head}"
    );
    let t = Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    };
    ipvs.set_timeouts(&t).unwrap();
    assert_eq!(ipvs.timeouts().unwrap(), t);
    assert_eq!(
        sh("ipvsadm -Ln --timeout").trim(),
        "Timeout (tcp tcpfin udp): 901 121 301"
    );
    sh("ipvsadm --set 902 0 0");
    assert_eq!(ipvs.timeouts().unwrap().tcp, 902);
    // Zeroing works on one service and on all.
    let id = ServiceId::tcp(ip("10.1.0.1"), 80);
    ipvs.add_service(&Service::new(id, Scheduler::RoundRobin))
        .unwrap();
    ipvs.zero(Some(&id)).unwrap();
    ipvs.zero(None).unwrap();
    let e = ipvs
        .zero(Some(&ServiceId::tcp(ip("10.1.0.2"), 80)))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[test]
fn errors_say_what_happened() {
    if !in_vm() {
        return;
    }
    let mut ipvs = Ipvs::new().unwrap();
    let id = ServiceId::tcp(ip("10.2.0.1"), 80);
    let svc = Service::new(id, Scheduler::RoundRobin);
    ipvs.add_service(&svc).unwrap();
    let e = ipvs.add_service(&svc).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Exists);
    assert_eq!(
        e.to_string(),
        "IPVS add service TCP 10.2.0.1:80: already exists (File exists (os error 17))"
    );
    let missing = ServiceId::tcp(ip("10.2.0.2"), 80);
    assert_eq!(
        ipvs.delete_service(&missing).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        ipvs.service(&missing).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let bad = Service::new(missing, Scheduler::Other("nosuch".into()));
    let e = ipvs.add_service(&bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ModuleMissing, "{e}");
    let d = Destination::new(ip("192.168.0.1"), 80, Forward::Masquerade);
    assert_eq!(
        ipvs.add_destination(&missing, &d).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        ipvs.edit_destination(&id, &d).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    ipvs.add_destination(&id, &d).unwrap();
    assert_eq!(
        ipvs.add_destination(&id, &d).unwrap_err().kind(),
        ErrorKind::Exists
    );
    ipvs.delete_destination(&id, d.addr, d.port).unwrap();
    assert_eq!(
        ipvs.delete_destination(&id, d.addr, d.port)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn batch_reports_each_failure_by_index() {
    if !in_vm() {
        return;
    }
    let mut ipvs = Ipvs::new().unwrap();
    let n = ipvs.batch_limit() * 2 + 7; // spans three sendmsg batches
    let mut changes = Vec::new();
    let mut expected_failures = Vec::new();
    for i in 0..n {
        let id = ServiceId::tcp(
            IpAddr::from([10, 3, (i / 250) as u8, (i % 250) as u8 + 1]),
            80,
        );
        changes.push(Change::AddService(Service::new(id, Scheduler::RoundRobin)));
        if i % 97 == 0 {
            expected_failures.push(changes.len());
            changes.push(Change::AddService(Service::new(id, Scheduler::RoundRobin)));
        }
        changes.push(Change::AddDestination(
            id,
            Destination::new(ip("192.168.9.9"), 80, Forward::Masquerade),
        ));
    }
    let failures = ipvs.apply_changes(&changes).unwrap();
    let got: Vec<usize> = failures.iter().map(|f| f.index).collect();
    assert_eq!(got, expected_failures);
    assert!(failures.iter().all(|f| f.error.errno == libc::EEXIST));
    let listed = sh("ipvsadm -Ln | grep -c '^TCP'");
    assert_eq!(listed.trim(), n.to_string());
    assert_eq!(ipvs.services().unwrap().len(), n);
}

#[test]
fn plan_apply_edits_in_place() {
    if !in_vm() {
        return;
    }
    let (table, _, _) = reference();
    let mut ipvs = Ipvs::new().unwrap();
    ipvs.apply(&table).unwrap();
    // Change a scheduler, a weight, a forwarding method; drop a service and a destination;
    // add one of each.
    let mut want = table.clone();
    want[0].service.scheduler = Scheduler::RoundRobin;
    want[0].destinations[0].weight = 7;
    want[0].destinations[1].forward = Forward::Masquerade;
    want[0].destinations.pop();
    want.remove(2);
    want[3].destinations.push(Destination::new(
        ip("2001:db8::11"),
        443,
        Forward::Masquerade,
    ));
    want.push(VirtualService::new(Service::new(
        ServiceId::tcp(ip("10.0.0.50"), 80),
        Scheduler::WeightedLeastConnection,
    )));
    let report = ipvs.apply(&want).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let kinds: Vec<Cmd> = report.changes.iter().map(Change::command).collect();
    assert_eq!(
        kinds,
        [
            Cmd::DelService,
            Cmd::SetService,
            Cmd::DelDest,
            Cmd::SetDest,
            Cmd::SetDest,
            Cmd::NewDest,
            Cmd::NewService
        ]
    );
    assert_eq!(
        normalised(ipvs.snapshot().unwrap()),
        normalised(want.clone())
    );
    // ipvsadm agrees on the edited lines.
    let save = sh("ipvsadm -Sn");
    assert!(
        save.contains("-A -t 10.0.0.1:80 -s rr -p 300 -M 255.255.255.0\n"),
        "{save}"
    );
    assert!(
        save.contains("-a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 7\n"),
        "{save}"
    );
    assert!(
        save.contains("-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 0\n"),
        "{save}"
    );
    assert!(!save.contains("10.0.0.2:53"), "{save}");
    // And an empty desired table deletes everything, service by service.
    let report = ipvs.apply(&[]).unwrap();
    assert_eq!(report.changes.len(), want.len());
    assert!(ipvs.services().unwrap().is_empty());
}

#[test]
fn sync_daemons_both_directions() {
    if !in_vm() {
        return;
    }
    sh("ip link add d0 type dummy && ip link set d0 up multicast on");
    let mut ipvs = Ipvs::new().unwrap();
    ipvs.start_daemon(&SyncDaemon::new(SyncState::Master, "d0", 5))
        .unwrap();
    sh(
        "ipvsadm --start-daemon backup --mcast-interface d0 --syncid 6 --sync-maxlen 1400 \
        --mcast-group 224.0.0.90 --mcast-port 8849 --mcast-ttl 2",
    );
    let mut daemons = ipvs.daemons().unwrap();
    daemons.sort_by_key(|d| d.sync_id);
    let mut master = SyncDaemon::new(SyncState::Master, "d0", 5);
    master.max_len = Some(1472);
    master.group = Some(ip("224.0.0.81"));
    master.port = Some(8848);
    master.ttl = Some(1);
    let mut backup = SyncDaemon::new(SyncState::Backup, "d0", 6);
    backup.max_len = Some(1400);
    backup.group = Some(ip("224.0.0.90"));
    backup.port = Some(8849);
    backup.ttl = Some(2);
    assert_eq!(daemons, [master.clone(), backup]);
    assert!(sh("ipvsadm -Ln --daemon").contains(
        "master sync daemon (mcast=d0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"
    ));
    let e = ipvs.start_daemon(&master).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
    ipvs.stop_daemon(SyncState::Backup).unwrap();
    ipvs.stop_daemon(SyncState::Master).unwrap();
    assert!(ipvs.daemons().unwrap().is_empty());
    assert_eq!(sh("ipvsadm -Ln --daemon"), "");
    // An IPv6 group (its own attribute, MCAST_GROUP6).
    let mut v6 = SyncDaemon::new(SyncState::Backup, "d0", 9);
    v6.group = Some(ip("ff02::1:9"));
    v6.port = Some(8850);
    ipvs.start_daemon(&v6).unwrap();
    let daemons = ipvs.daemons().unwrap();
    assert_eq!(daemons.len(), 1);
    assert_eq!(
        (daemons[0].group, daemons[0].port, daemons[0].sync_id),
        (v6.group, v6.port, 9)
    );
    let listed = sh("ipvsadm -Ln --daemon");
    assert!(listed.contains("group=ff02::1:9, port=8850"), "{listed}");
    ipvs.stop_daemon(SyncState::Backup).unwrap();
}

#[test]
fn flush_empties_the_table() {
    if !in_vm() {
        return;
    }
    sh("ipvsadm -A -t 10.4.0.1:80 -s rr && ipvsadm -a -t 10.4.0.1:80 -r 10.5.0.1:80 -m");
    let mut ipvs = Ipvs::new().unwrap();
    assert_eq!(ipvs.services().unwrap().len(), 1);
    ipvs.flush().unwrap();
    assert!(ipvs.services().unwrap().is_empty());
    assert_eq!(sh("ipvsadm -Sn"), "");
}

/// Prints the kernel's replies for the reference table as hex, for `tests/data/` (run with
/// `--nocapture`; `ipvs/vm/test.sh --capture` does).
#[test]
fn capture_kernel_replies() {
    if !in_vm() {
        return;
    }
    let (_, commands, _) = reference();
    sh(commands);
    let mut ipvs = Ipvs::new().unwrap();
    let hex = |b: &[u8]| {
        use std::fmt::Write;
        b.iter().fold(String::new(), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
    };
    for s in ipvs.dump_raw(Cmd::GetService, &[]).unwrap() {
        println!("CAPTURE service {}", hex(&s));
    }
    for id in [
        ServiceId::tcp(ip("10.0.0.1"), 80),
        ServiceId::tcp(ip("2001:db8::1"), 443),
    ] {
        for d in ipvs
            .dump_raw(Cmd::GetDest, &[CmdAttr::Service(id.to_attrs())])
            .unwrap()
        {
            println!("CAPTURE dest {id} {}", hex(&d));
        }
    }
}

/// The example lister (`examples/src/bin/ipvs-list.rs`, passed into the VM by
/// `ipvs/vm/test.sh`) prints what ipvsadm prints.
#[test]
fn lister_matches_ipvsadm() {
    if !in_vm() {
        return;
    }
    let lister = "/usr/bin/ipvs-list";
    assert!(
        std::path::Path::new(lister).exists(),
        "{lister} missing: ipvs/vm/test.sh builds it"
    );
    let (_, commands, _) = reference();
    sh(commands);
    sh("ip link add d0 type dummy && ip link set d0 up multicast on");
    sh("ipvsadm --start-daemon master --mcast-interface d0 --syncid 5");
    for (ours, theirs) in [
        ("", "-Ln"),
        ("--stats", "-Ln --stats --exact"),
        ("--timeout", "-Ln --timeout"),
        ("--daemon", "-Ln --daemon"),
    ] {
        assert_eq!(
            sh(&format!("{lister} {ours}")),
            sh(&format!("ipvsadm {theirs}")),
            "ipvs-list {ours}"
        );
    }
}

/// Without `CAP_NET_ADMIN` over the namespace (here: inside a new user namespace, whose
/// capabilities do not reach the initial one's network namespace), errors say so.
#[test]
fn missing_capability_is_reported() {
    if !in_vm() {
        return;
    }
    let lister = "/usr/bin/ipvs-list";
    let out = Command::new("unshare")
        .args(["-U", lister])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("permission denied (needs CAP_NET_ADMIN)"),
        "{err}"
    );
}

/// A batch in which every change fails: each failure is reported, none is lost to a
/// receive-buffer overflow (the batch size is bounded by the buffer).
#[test]
fn a_batch_of_failures_loses_none() {
    if !in_vm() {
        return;
    }
    let mut ipvs = Ipvs::new().unwrap();
    let n = ipvs.batch_limit() * 3;
    let changes: Vec<Change> = (0..n)
        .map(|i| {
            Change::DeleteService(ServiceId::tcp(
                IpAddr::from([10, 6, (i / 250) as u8, (i % 250) as u8 + 1]),
                80,
            ))
        })
        .collect();
    let failures = ipvs.apply_changes(&changes).unwrap();
    assert_eq!(failures.len(), n);
    assert!(
        failures
            .iter()
            .enumerate()
            .all(|(i, f)| f.index == i && f.error.kind() == ErrorKind::NotFound)
    );
    // The socket is still in step: the next command gets its own answer.
    assert_eq!(ipvs.info().unwrap().version, (1, 2, 1));
}

/// A destination of the other family is allowed with tunnelling only (`ADDR_FAMILY`).
#[test]
fn mixed_family_destinations() {
    if !in_vm() {
        return;
    }
    let mut ipvs = Ipvs::new().unwrap();
    let id = ServiceId::tcp(ip("10.7.0.1"), 80);
    ipvs.add_service(&Service::new(id, Scheduler::RoundRobin))
        .unwrap();
    let v6 = Destination::new(ip("2001:db8::7"), 80, Forward::Tunnel(Tunnel::default()));
    ipvs.add_destination(&id, &v6).unwrap();
    let back = ipvs.destinations(&id).unwrap();
    assert_eq!(back.len(), 1);
    assert!(back[0].same_config(&v6), "{back:?}");
    let save = sh("ipvsadm -Sn");
    assert!(
        save.contains("-a -t 10.7.0.1:80 -r [2001:db8::7]:80 -i -w 1"),
        "{save}"
    );
    let nat = Destination::new(ip("2001:db8::8"), 80, Forward::Masquerade);
    let e = ipvs.add_destination(&id, &nat).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
}

/// Real traffic: a local client connects to a NAT service (IPVS schedules locally
/// originated connections too); the counters we read match ipvsadm's exact ones, and
/// zeroing clears them.
#[test]
fn counters_match_ipvsadm_and_zero() {
    if !in_vm() {
        return;
    }
    sh("ip link add d1 type dummy && ip link set d1 up && ip addr add 10.8.0.254/24 dev d1");
    let id = ServiceId::tcp(ip("10.8.0.1"), 80);
    let mut ipvs = Ipvs::new().unwrap();
    ipvs.add_service(&Service::new(id, Scheduler::RoundRobin))
        .unwrap();
    ipvs.add_destination(
        &id,
        &Destination::new(ip("10.8.0.2"), 8080, Forward::Masquerade),
    )
    .unwrap();
    // Each attempt sends a SYN that IPVS schedules; nobody answers (bounded by -w 1).
    for _ in 0..3 {
        let _ = Command::new("nc")
            .args(["-w", "1", "10.8.0.1", "80"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
    }
    // The kernel folds its per-CPU counters into what it reports every 2 s (estimator
    // timer): wait, bounded, until the reported count reaches the live connection count.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let (stats, counters) = loop {
        let stats = ipvs.service(&id).unwrap().stats.unwrap();
        let counters = ipvs.destinations(&id).unwrap()[0].counters.unwrap();
        let live = u64::from(counters.active_conns + counters.inactive_conns);
        if live >= 1 && stats.conns == live && counters.stats.conns == live {
            break (stats, counters);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "counters never settled: {stats:?} {counters:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(stats.in_packets >= stats.conns && stats.in_bytes >= 40 * stats.in_packets);
    assert_eq!(counters.stats.in_packets, stats.in_packets);
    // ipvsadm prints the same counters (its exact, 64-bit view).
    let theirs = sh("ipvsadm -Ln --stats --exact -t 10.8.0.1:80");
    let line = theirs
        .lines()
        .find(|l| l.starts_with("TCP"))
        .unwrap()
        .split_whitespace()
        .skip(2)
        .map(|v| v.parse::<u64>().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(
        line,
        [
            stats.conns,
            stats.in_packets,
            stats.out_packets,
            stats.in_bytes,
            stats.out_bytes
        ]
    );
    ipvs.zero(Some(&id)).unwrap();
    let zeroed = ipvs.service(&id).unwrap().stats.unwrap();
    assert_eq!(
        (zeroed.conns, zeroed.in_packets, zeroed.in_bytes),
        (0, 0, 0)
    );
}
