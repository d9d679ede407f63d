//! Live interoperability with Debian's keepalived (2.2.7) in private network namespaces.
//!
//! * `fresh_capture_matches_the_codec`: re-captures every vector from the installed keepalived
//!   (`tests/capture/capture-vectors.sh`) and checks each fresh frame decodes, validates and
//!   re-emits byte for byte, so a keepalived update that changes the wire shows up here.
//! * `keepalived_accepts_our_adverts`: our encoder sends higher-priority adverts (v2 none, PASS,
//!   AH; v3 IPv4; v3 IPv6) to keepalived BACKUP instances, which must stay BACKUP; control
//!   instances get deliberately broken adverts (wrong AH key, bad checksum, RFC 9568 checksum)
//!   and must take over, which proves keepalived really checks what we send.
//!
//! Both need root, `ip`, `keepalived` and (the first) `tcpdump`; see `support::privileged`.

#![allow(clippy::unwrap_used, clippy::panic)]

#[macro_use]
mod support;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use vrrp_proto::vrrp::{self, Centiseconds};
use vrrp_proto::{
    Addresses, AdvertInterval, AhParams, Auth, Ipv4ChecksumMode, Ipv4Header, Repr, Seconds,
    emit_ipv4, emit_ipv6,
};

/// Runs a command and panics with its output if it fails.
fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends a signal to one process we started (the shell's `kill`: procps may be absent).
fn signal(sig: &str, pid: &str) {
    let _ = Command::new("sh")
        .args(["-c", &format!("kill -{sig} {pid}")])
        .status();
}

/// Namespaces, processes and files of one test; removed on drop, even when the test fails.
struct Lab {
    namespaces: Vec<String>,
    children: Vec<Child>,
    dir: PathBuf,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Lab {
            namespaces: vec![],
            children: vec![],
            dir,
        }
    }

    fn netns(&mut self, name: &str) {
        run("ip", &["netns", "add", name]);
        self.namespaces.push(name.to_string());
        // No DAD, so IPv6 addresses are usable at once (written directly: procps may be absent).
        run(
            "ip",
            &[
                "netns",
                "exec",
                name,
                "sh",
                "-c",
                "echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad; \
                 echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad",
            ],
        );
        run("ip", &["-n", name, "link", "set", "lo", "up"]);
    }
}

impl Lab {
    /// Two namespaces joined by a veth pair: `a0` (10.97.0.1, `fd97::1`) for keepalived and `b0`
    /// (10.97.0.2, `fe80::97:2`) for our sender.
    fn veth_pair(&mut self) -> (String, String) {
        let a = format!("vplive{}a", std::process::id());
        let b = format!("vplive{}b", std::process::id());
        self.netns(&a);
        self.netns(&b);
        run(
            "ip",
            &[
                "-n", &a, "link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", &b,
            ],
        );
        run(
            "ip",
            &["-n", &a, "addr", "add", "10.97.0.1/24", "dev", "a0"],
        );
        run(
            "ip",
            &["-n", &a, "addr", "add", "fd97::1/64", "dev", "a0", "nodad"],
        );
        run(
            "ip",
            &["-n", &b, "addr", "add", "10.97.0.2/24", "dev", "b0"],
        );
        run(
            "ip",
            &[
                "-n",
                &b,
                "addr",
                "add",
                "fe80::97:2/64",
                "dev",
                "b0",
                "nodad",
            ],
        );
        run("ip", &["-n", &a, "link", "set", "a0", "up"]);
        run("ip", &["-n", &b, "link", "set", "b0", "up"]);
        (a, b)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            // Graceful first (keepalived removes its VIPs and stops its VRRP child), then hard.
            signal("TERM", &c.id().to_string());
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        for c in &mut self.children {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.namespaces {
            // Anything still running in our own namespaces was started by this test.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    signal("KILL", pid);
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn fresh_capture_matches_the_codec() {
    if !support::privileged(
        "fresh_capture_matches_the_codec",
        &["ip", "keepalived", "tcpdump", "python3"],
    ) {
        return;
    }
    let lab = Lab::new("vp-recapture");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/capture/capture-vectors.sh");
    let out = Command::new("timeout")
        .arg("60")
        .arg(&script)
        .arg(&lab.dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "capture-vectors.sh failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for name in support::VARIANTS {
        let text = std::fs::read_to_string(lab.dir.join(format!("{name}.hex"))).unwrap();
        let frames = support::frames(&text);
        support::check_variant(name, &frames);
    }
}

/// What the sender sends to one VRID.
#[derive(Clone, Copy)]
enum Send {
    V2None,
    V2Pass,
    V2Ah([u8; 8]),
    V2BadChecksum,
    V3(Ipv4ChecksumMode),
    V3Ipv6,
}

/// VRIDs, what they get, whether keepalived must accept it, and the instance's VIP.
const PLAN: [(u8, Send, bool, &str); 8] = [
    (40, Send::V2None, true, "10.97.0.40"),
    (41, Send::V2Pass, true, "10.97.0.41"),
    (42, Send::V2Ah(*b"ah42key\0"), true, "10.97.0.42"),
    (
        43,
        Send::V3(Ipv4ChecksumMode::PseudoHeader),
        true,
        "10.97.0.43",
    ),
    (44, Send::V3Ipv6, true, "fd97::44"),
    (45, Send::V2Ah(*b"wrongkey"), false, "10.97.0.45"),
    (46, Send::V2BadChecksum, false, "10.97.0.46"),
    (
        47,
        Send::V3(Ipv4ChecksumMode::NoPseudoHeader),
        false,
        "10.97.0.47",
    ),
];
const SENDER_V4: Ipv4Addr = Ipv4Addr::new(10, 97, 0, 2);
const SENDER_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x97, 2);

fn keepalived_conf() -> String {
    let mut conf = String::from("global_defs {\n    router_id vplive\n}\n");
    for (vrid, send, _, vip) in PLAN {
        let version = match send {
            Send::V3(_) | Send::V3Ipv6 => "    version 3\n",
            _ => "",
        };
        let auth = match send {
            Send::V2Pass => {
                "    authentication {\n        auth_type PASS\n        auth_pass pw41pass\n    }\n"
            }
            Send::V2Ah(_) => {
                "    authentication {\n        auth_type AH\n        auth_pass ah42key\n    }\n"
            }
            _ => "",
        };
        let prefix = if vip.contains(':') { 64 } else { 24 };
        let _ = write!(
            conf,
            "vrrp_instance VI_{vrid} {{\n    state BACKUP\n    interface a0\n{version}    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n{auth}    virtual_ipaddress {{\n        {vip}/{prefix}\n    }}\n}}\n"
        );
    }
    // VRID 45 is the AH control: same password as VRID 42, so only our wrong key differs.
    conf
}

#[test]
fn keepalived_accepts_our_adverts() {
    if !support::privileged("keepalived_accepts_our_adverts", &["ip", "keepalived"]) {
        return;
    }
    let mut lab = Lab::new("vp-live");
    let (a, b) = lab.veth_pair();

    // Our sender first, so keepalived hears adverts from its start.
    let exe = std::env::current_exe().unwrap();
    let sender = Command::new("ip")
        .args(["netns", "exec", &b])
        .arg(&exe)
        .args(["--exact", "live_sender_helper", "--ignored", "--nocapture"])
        .env("KARS_VP_SEND_SECS", "12")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    lab.children.push(sender);

    let conf = lab.dir.join("keepalived.conf");
    std::fs::write(&conf, keepalived_conf()).unwrap();
    let log = std::fs::File::create(lab.dir.join("keepalived.log")).unwrap();
    let pid = |n: &str| lab.dir.join(n).to_string_lossy().into_owned();
    let ka = Command::new("ip")
        .args(["netns", "exec", &a, "keepalived", "-n", "-l", "-D", "-f"])
        .arg(&conf)
        .args([
            "-p",
            &pid("ka.pid"),
            "-r",
            &pid("vrrp.pid"),
            "-c",
            &pid("chk.pid"),
        ])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    lab.children.push(ka);

    let vips_on_a0 = || {
        let out = Command::new("ip")
            .args(["-n", &a, "-o", "addr", "show", "dev", "a0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let holds = |addrs: &str, vip: &str| addrs.contains(&format!(" {vip}/"));

    // The controls must take over (Master_Down_Interval = 3 x 1 s + skew 0.61 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    let controls: Vec<&str> = PLAN.iter().filter(|p| !p.2).map(|p| p.3).collect();
    loop {
        let addrs = vips_on_a0();
        if controls.iter().all(|v| holds(&addrs, v)) {
            break;
        }
        if Instant::now() > deadline {
            let logtext =
                std::fs::read_to_string(lab.dir.join("keepalived.log")).unwrap_or_default();
            panic!(
                "control instances did not take over; addresses: {addrs}\nkeepalived log:\n{logtext}"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The instances that get valid adverts started at the same time; give them one more
    // advert interval to (wrongly) take over, then check they are still BACKUP.
    std::thread::sleep(Duration::from_secs(1));
    let addrs = vips_on_a0();
    let logtext = std::fs::read_to_string(lab.dir.join("keepalived.log")).unwrap_or_default();
    for (vrid, _, accepted, vip) in PLAN {
        if accepted {
            assert!(
                !holds(&addrs, vip),
                "VRID {vrid}: keepalived rejected our adverts and took over\n{logtext}"
            );
            // keepalived logs every advert it rejects ("Invalid VRRPv2 checksum", "invalid
            // IPSEC HMAC-MD5 value", ...): none for ours.
            let tag = format!("(VI_{vrid})");
            let complaint = logtext
                .lines()
                .find(|l| l.contains(&tag) && l.to_ascii_lowercase().contains("invalid"));
            assert!(complaint.is_none(), "VRID {vrid}: {complaint:?}");
        }
    }
}

/// Not a test by itself: `keepalived_accepts_our_adverts` runs this inside its sender namespace
/// with `KARS_VP_SEND_SECS` set.
#[test]
#[ignore = "helper process of keepalived_accepts_our_adverts"]
fn live_sender_helper() {
    let Ok(secs) = std::env::var("KARS_VP_SEND_SECS") else {
        return;
    };
    let secs: u64 = secs.parse().unwrap();
    let ifindex: u32 = std::fs::read_to_string("/sys/class/net/b0/ifindex")
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let v4 = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(255))).unwrap();
    v4.set_header_included_v4(true).unwrap();
    v4.bind_device(Some(b"b0")).unwrap();
    let group4: SocketAddr = SocketAddrV4::new(vrrp::MULTICAST_V4, 0).into();

    let v6 = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(112))).unwrap();
    v6.bind(&SocketAddr::V6(SocketAddrV6::new(SENDER_V6, 0, 0, ifindex)).into())
        .unwrap();
    v6.set_multicast_hops_v6(255).unwrap();
    v6.set_multicast_if_v6(ifindex).unwrap();
    let group6: SocketAddr = SocketAddrV6::new(vrrp::MULTICAST_V6, 0, 0, ifindex).into();

    let start = Instant::now();
    let mut seq = 0u32;
    let mut ident = 0u16;
    let mut buf = [0u8; 256];
    while start.elapsed() < Duration::from_secs(secs) {
        seq += 1;
        for (vrid, send, _, vip) in PLAN {
            ident = ident.wrapping_add(1).max(1);
            let header = Ipv4Header {
                src: SENDER_V4,
                dst: vrrp::MULTICAST_V4,
                ident,
                ttl: 255,
                tos: 0xc0,
            };
            let v4vips = [vip.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::UNSPECIFIED)];
            let v2 = |auth| Repr {
                vrid,
                priority: 200,
                interval: AdvertInterval::V2(Seconds(1)),
                auth,
                addresses: Addresses::v4(&v4vips),
            };
            let v3 = Repr {
                interval: AdvertInterval::V3(Centiseconds::new(100).unwrap()),
                ..v2(Auth::None)
            };
            let pseudo = Ipv4ChecksumMode::PseudoHeader;
            let n = match send {
                Send::V2None => emit_ipv4(&mut buf, &header, &v2(Auth::None), pseudo, None),
                Send::V2Pass => {
                    let a = Auth::Simple(Auth::key_from_password(b"pw41pass"));
                    emit_ipv4(&mut buf, &header, &v2(a), pseudo, None)
                }
                Send::V2Ah(key) => {
                    let p = AhParams { key, sequence: seq };
                    emit_ipv4(&mut buf, &header, &v2(Auth::Ah), pseudo, Some(&p))
                }
                Send::V2BadChecksum => {
                    let n = emit_ipv4(&mut buf, &header, &v2(Auth::None), pseudo, None).unwrap();
                    buf[20 + 6] ^= 0x5a;
                    Ok(n)
                }
                Send::V3(mode) => emit_ipv4(&mut buf, &header, &v3, mode, None),
                Send::V3Ipv6 => {
                    let vips = [vip.parse::<Ipv6Addr>().unwrap()];
                    let r = Repr {
                        addresses: Addresses::v6(&vips),
                        ..v3
                    };
                    let n = emit_ipv6(&mut buf, SENDER_V6, vrrp::MULTICAST_V6, &r).unwrap();
                    // Right after the link comes up IPv6 may not route yet (ENETUNREACH);
                    // a lost advert only shows up as keepalived taking over, which fails
                    // the test anyway.
                    if let Err(e) = v6.send_to(&buf[..n], &group6.into()) {
                        eprintln!("live_sender_helper: VRID {vrid}: {e}");
                    }
                    continue;
                }
            }
            .unwrap();
            if let Err(e) = v4.send_to(&buf[..n], &group4.into()) {
                eprintln!("live_sender_helper: VRID {vrid}: {e}");
            }
        }
        // Pacing between rounds (5 per advert interval), not waiting for an event.
        std::thread::sleep(Duration::from_millis(200));
    }
}
