//! Decoding and re-encoding replies captured from a real kernel (Debian's 6.1, see
//! `tests/data/kernel-6.1-dumps.txt`; refresh with `ipvs/vm/test.sh --capture`).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::IpAddr;

use ipvs::nl::{Command, IpvsMessage};
use ipvs::{
    Destination, Family, Forward, Netmask, Protocol, Scheduler, Service, ServiceFlags, ServiceId,
    Stats, Tunnel, TunnelType,
};
use netlink_packet_core::{Emitable, NlasIterator, ParseableParametrized};
use netlink_packet_generic::GenlHeader;

const DUMPS: &str = include_str!("data/kernel-6.1-dumps.txt");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// (kind, bytes) of every captured message.
fn captured() -> Vec<(&'static str, Vec<u8>)> {
    DUMPS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let kind = l.split_whitespace().next().unwrap();
            (kind, unhex(l.split_whitespace().last().unwrap()))
        })
        .collect()
}

fn first_nest(attrs: &[u8]) -> &[u8] {
    let nla = NlasIterator::new(attrs).next().unwrap().unwrap();
    let len = usize::from(nla.length());
    &nla.into_inner()[4..len]
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn kernel_messages_reencode_byte_for_byte() {
    for (kind, bytes) in captured() {
        let cmd = if kind == "service" {
            Command::NewService
        } else {
            Command::NewDest
        };
        let hdr = GenlHeader {
            cmd: cmd.number(),
            version: 1,
        };
        let msg = IpvsMessage::parse_with_param(&bytes[..], hdr).unwrap();
        let mut out = vec![0; msg.buffer_len()];
        msg.emit(&mut out);
        assert_eq!(out, bytes, "{msg:?}");
    }
}

#[test]
fn services_decode_to_typed_values() {
    let services: Vec<Service> = captured()
        .into_iter()
        .filter(|(k, _)| *k == "service")
        .map(|(_, b)| Service::parse_nest(first_nest(&b)).unwrap())
        .collect();
    assert_eq!(services.len(), 7);
    let find = |id: ServiceId| services.iter().find(|s| s.id == id).unwrap();

    let s = find(ServiceId::tcp(ip("10.0.0.1"), 80));
    assert_eq!(s.scheduler, Scheduler::WeightedLeastConnection);
    assert_eq!(s.flags, ServiceFlags::PERSISTENT); // HASHED is stripped
    assert_eq!(s.timeout, 300);
    assert_eq!(s.netmask, Netmask::V4("255.255.255.0".parse().unwrap()));
    assert_eq!(s.stats, Some(Stats::default()));

    let s = find(ServiceId::tcp(ip("2001:db8::1"), 443));
    assert_eq!(s.scheduler, Scheduler::MaglevHash);
    assert_eq!(s.flags, ServiceFlags::PERSISTENT | ServiceFlags::MH_PORT);
    assert_eq!(s.netmask, Netmask::V6Prefix(64));
    assert_eq!(s.timeout, 60);

    let s = find(ServiceId::Inet {
        protocol: Protocol::Sctp,
        addr: ip("10.0.0.3"),
        port: 5000,
    });
    assert_eq!(s.flags, ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT);

    let s = find(ServiceId::udp(ip("10.0.0.2"), 53));
    assert_eq!(s.flags, ServiceFlags::ONE_PACKET);

    let s = find(ServiceId::Fwmark {
        family: Family::Ipv4,
        mark: 7,
    });
    assert_eq!(s.persistence_engine.as_deref(), Some("sip"));
    let s = find(ServiceId::Fwmark {
        family: Family::Ipv6,
        mark: 8,
    });
    assert_eq!(s.netmask, Netmask::V6Prefix(128));
    assert!(find(ServiceId::tcp(ip("10.0.0.9"), 0)).flags == ServiceFlags::PERSISTENT);
}

#[test]
fn destinations_decode_to_typed_values() {
    let dests: Vec<Destination> = captured()
        .into_iter()
        .filter(|(k, _)| *k == "dest")
        .map(|(_, b)| Destination::parse_nest(first_nest(&b), Family::Ipv4).unwrap())
        .collect();
    assert_eq!(dests.len(), 5);
    let find = |a: &str| dests.iter().find(|d| d.addr == ip(a)).unwrap();
    let d = find("192.168.1.1");
    assert_eq!((d.port, d.weight), (8080, 3));
    assert_eq!((d.upper_threshold, d.lower_threshold), (100, 10));
    assert_eq!(d.forward, Forward::Masquerade);
    assert_eq!(find("192.168.1.2").forward, Forward::DirectRoute);
    assert_eq!(find("192.168.1.2").weight, 0);
    assert_eq!(
        find("192.168.1.3").forward,
        Forward::Tunnel(Tunnel::default())
    );
    assert_eq!(
        find("192.168.1.4").forward,
        Forward::Tunnel(Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: Tunnel::CSUM
        })
    );
    // The IPv6 destination carries ADDR_FAMILY, which wins over the service family given.
    let d = find("2001:db8::10");
    assert_eq!((d.port, d.weight), (443, 2));
    assert_eq!(d.counters.unwrap().active_conns, 0);
}
