//! `vrrp-decode`: prints captured VRRP adverts, gratuitous ARPs and neighbour advertisements in
//! readable form, with the checksum verdict and the validation result.
//!
//! ```text
//! cargo run -p keepalived-rs-examples --bin vrrp-decode -- vrrp-proto/tests/vectors/v2-ah.hex --pass ahsecret
//! cargo run -p keepalived-rs-examples --bin vrrp-decode -- vrrp-proto/tests/vectors/keepalived-capture.pcap
//! ```
//!
//! Input: a `.hex` vector (one Ethernet frame per line, `#` comments) or a classic pcap file
//! (Ethernet or raw-IP link type). Each frame is validated against a context built from the
//! packet itself (its VRID, version, interval and addresses), plus `--pass` for PASS/AH
//! authentication, so the verdict covers TTL, checksum and authentication.

use std::net::IpAddr;
use std::process::ExitCode;

use vrrp_proto::ethernet::{self, MacAddr};
use vrrp_proto::{
    AddressPolicy, Auth, AuthConfig, Ipv4ChecksumMode, Received, ValidationContext, Version, arp,
    decode_ipv4, decode_ipv6, ipv6, ndisc, validate,
};

/// `println!` that ends the program quietly when stdout goes away (`vrrp-decode … | head`)
/// instead of panicking on the broken pipe.
macro_rules! out {
    () => {
        out!("")
    };
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            std::process::exit(i32::from(e.kind() != std::io::ErrorKind::BrokenPipe));
        }
    }};
}

const USAGE: &str = "usage: vrrp-decode FILE.hex|FILE.pcap [--pass PASSWORD]";

/// How the frames of a file start.
#[derive(Clone, Copy)]
enum Link {
    Ethernet,
    RawIp,
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut pass: Option<String> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--pass" => pass = args.next(),
            "-h" | "--help" => {
                out!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if path.is_none() => path = Some(a),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(path) = path else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("vrrp-decode: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let frames = if data.len() >= 4 && is_pcap_magic(&data[..4]) {
        read_pcap(&data)
    } else {
        read_hex(&data)
    };
    let (link, frames) = match frames {
        Ok(f) => f,
        Err(e) => {
            eprintln!("vrrp-decode: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let key = pass.map(|p| Auth::key_from_password(p.as_bytes()));
    for (i, frame) in frames.iter().enumerate() {
        out!("frame {} ({} bytes)", i + 1, frame.len());
        match link {
            Link::Ethernet => print_ethernet(frame, key),
            Link::RawIp => print_ip(frame, key),
        }
        out!();
    }
    ExitCode::SUCCESS
}

fn is_pcap_magic(m: &[u8]) -> bool {
    matches!(
        m,
        [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
    )
}

fn read_hex(data: &[u8]) -> Result<(Link, Vec<Vec<u8>>), String> {
    let text = std::str::from_utf8(data).map_err(|_| "neither pcap nor hex text".to_string())?;
    let mut frames = vec![];
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bytes = line.as_bytes();
        if bytes.len() % 2 != 0 {
            return Err(format!("line {}: odd number of hex digits", n + 1));
        }
        let frame = bytes
            .chunks_exact(2)
            .map(|p| {
                std::str::from_utf8(p)
                    .ok()
                    .and_then(|s| u8::from_str_radix(s, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| format!("line {}: not hex", n + 1))?;
        frames.push(frame);
    }
    Ok((Link::Ethernet, frames))
}

/// Classic libpcap format (not pcapng): a 24-byte file header, then 16-byte record headers.
fn read_pcap(data: &[u8]) -> Result<(Link, Vec<Vec<u8>>), String> {
    let le = matches!(
        data.get(..4),
        Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1])
    );
    let u32_at = |off: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(off..off + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let link = match u32_at(20).ok_or("truncated pcap header")? {
        1 => Link::Ethernet,
        101 | 228 => Link::RawIp,
        other => return Err(format!("unsupported pcap link type {other}")),
    };
    let mut frames = vec![];
    let mut off = 24;
    while off + 16 <= data.len() {
        let caplen = u32_at(off + 8).ok_or("truncated record")? as usize;
        let start = off + 16;
        let frame = data
            .get(start..start.saturating_add(caplen))
            .ok_or("truncated record")?;
        frames.push(frame.to_vec());
        off = start + caplen;
    }
    Ok((link, frames))
}

fn print_ethernet(frame: &[u8], key: Option<[u8; 8]>) {
    let (eth, payload) = match ethernet::Repr::parse(frame) {
        Ok(x) => x,
        Err(e) => return out!("  not an Ethernet frame: {e}"),
    };
    out!(
        "  Ethernet {} -> {} type {:#06x}",
        eth.src,
        eth.dst,
        eth.ethertype
    );
    match eth.ethertype {
        ethernet::ETHERTYPE_ARP => print_arp(frame),
        ethernet::ETHERTYPE_IPV6 if is_na(payload) => print_na(frame),
        ethernet::ETHERTYPE_IPV4 | ethernet::ETHERTYPE_IPV6 => print_ip(payload, key),
        other => out!("  not VRRP (ethertype {other:#06x})"),
    }
}

fn is_na(ip6: &[u8]) -> bool {
    matches!(ipv6::Repr::parse(ip6), Ok((h, m)) if h.next_header == ndisc::IP_PROTOCOL_ICMPV6 && m.first() == Some(&ndisc::TYPE_NEIGHBOR_ADVERT))
}

fn print_arp(frame: &[u8]) {
    match arp::parse_frame(frame) {
        Ok((_, a)) => {
            let kind = if a.is_gratuitous() {
                "gratuitous ARP"
            } else {
                "ARP"
            };
            out!(
                "  {kind} {:?}: sender {} {}, target {} {}",
                a.operation,
                a.sender_hw,
                a.sender_ip,
                a.target_hw,
                a.target_ip
            );
        }
        Err(e) => out!("  malformed ARP: {e}"),
    }
}

fn print_na(frame: &[u8]) {
    match ndisc::parse_frame(frame) {
        Ok(f) => {
            let mac =
                f.na.target_mac
                    .map_or_else(|| "none".to_string(), |m: MacAddr| m.to_string());
            out!(
                "  IPv6 {} -> {} hop limit {}",
                f.ip.src,
                f.ip.dst,
                f.ip.hop_limit
            );
            out!(
                "  neighbour advertisement target {} flags R={} S={} O={} target MAC {mac}, checksum ok",
                f.na.target,
                u8::from(f.na.router),
                u8::from(f.na.solicited),
                u8::from(f.na.override_)
            );
        }
        Err(e) => out!("  malformed neighbour advertisement: {e}"),
    }
}

fn print_ip(packet: &[u8], key: Option<[u8; 8]>) {
    let rx = match packet.first().map(|b| b >> 4) {
        Some(4) => decode_ipv4(packet),
        Some(6) => match ipv6::Repr::parse(packet) {
            Ok((h, payload)) if h.next_header == vrrp_proto::vrrp::IP_PROTOCOL => {
                decode_ipv6(payload, h.src, h.dst, h.hop_limit)
            }
            Ok((h, _)) => return out!("  IPv6 next header {}: not VRRP", h.next_header),
            Err(e) => return out!("  malformed IPv6: {e}"),
        },
        _ => return out!("  not an IP packet"),
    };
    match rx {
        Ok(rx) => print_advert(&rx, key),
        Err(e) => out!("  rejected while decoding: {e} [{}]", e.kind().mib_name()),
    }
}

fn print_advert(rx: &Received<'_>, key: Option<[u8; 8]>) {
    let a = &rx.advert;
    out!(
        "  {} {} -> {} ttl/hop limit {}",
        if matches!(rx.endpoints.src(), IpAddr::V4(_)) {
            "IPv4"
        } else {
            "IPv6"
        },
        rx.endpoints.src(),
        rx.endpoints.dst(),
        rx.ttl
    );
    if let Some(ah) = rx.ah {
        let icv = ah.icv.iter().fold(String::new(), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        });
        out!(
            "  AH spi {:#010x} sequence {} icv {icv}",
            ah.spi,
            ah.sequence
        );
    }
    let auth = match a.auth {
        Auth::None => "none".to_string(),
        Auth::Simple(p) => format!(
            "PASS {:?}",
            String::from_utf8_lossy(&p).trim_end_matches('\0')
        ),
        Auth::Ah => "AH".to_string(),
    };
    out!(
        "  VRRPv{} advertisement vrid {} priority {} interval {} ({:?}) auth {auth}",
        a.version().number(),
        a.vrid,
        a.priority,
        a.interval,
        a.interval.to_duration()
    );
    let addrs: Vec<String> = a.addresses.iter().map(|x| x.to_string()).collect();
    out!("  addresses ({}): {}", addrs.len(), addrs.join(", "));

    // Which checksum convention(s) verify.
    let modes = [
        (
            Ipv4ChecksumMode::PseudoHeader,
            "with pseudo-header (keepalived's VRRPv3 default)",
        ),
        (
            Ipv4ChecksumMode::NoPseudoHeader,
            "without pseudo-header (RFC 9568, v3_checksum_as_v2)",
        ),
        (
            Ipv4ChecksumMode::OldUnicast,
            "with pseudo-header to 224.0.0.18 (old_unicast_checksum)",
        ),
    ];
    let ok: Vec<_> = modes
        .iter()
        .filter(|(m, _)| rx.check_checksum(*m).is_ok())
        .collect();
    let stored = vrrp_proto::vrrp::Packet::new_unchecked(rx.vrrp_bytes()).checksum();
    let verdict = match (a.version(), rx.endpoints.src(), ok.as_slice()) {
        (_, _, []) => "BAD".to_string(),
        (Version::V2, ..) => "ok (VRRPv2: message only)".to_string(),
        (Version::V3, IpAddr::V6(_), _) => "ok (IPv6 pseudo-header)".to_string(),
        (Version::V3, IpAddr::V4(_), [(_, what), ..]) => format!("ok {what}"),
    };
    out!("  checksum {stored:#06x}: {verdict}");

    let auth_cfg = match (a.auth, key) {
        (Auth::Simple(_), Some(k)) => AuthConfig::Simple(k),
        (Auth::Ah, Some(k)) => AuthConfig::Ah(k),
        (Auth::None, _) => AuthConfig::None,
        (_, None) => {
            out!("  validation: skipped (the packet is authenticated; pass --pass PASSWORD)");
            return;
        }
    };
    let ctx = ValidationContext {
        version: a.version(),
        vrid: a.vrid,
        check_ttl: true,
        checksum_mode: ok
            .first()
            .map_or(Ipv4ChecksumMode::PseudoHeader, |(m, _)| *m),
        auth: auth_cfg,
        interval: Some(a.interval),
        addresses: a.addresses,
        address_policy: AddressPolicy::Reject,
    };
    match validate(rx, &ctx) {
        Ok(_) => out!("  validation: accepted"),
        Err(e) => out!("  validation: rejected: {e} [{}]", e.kind().mib_name()),
    }
}
