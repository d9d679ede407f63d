//! A journal of the kernel state the driver installed (addresses, routes and rules), kept in a
//! file (for example under `/run`) so that the next start can remove what a crash or `kill -9`
//! left behind, and nothing else.
//!
//! The file is rewritten whole (temporary file, then rename) after every change, so it is always
//! either the old or the new list. One entry per line:
//!
//! ```text
//! addr IFINDEX ADDRESS/PREFIX
//! route DEST/PREFIX GATEWAY|- SOURCE|- OIF|- TABLE|- METRIC|- [type=T] [scope=N] [onlink]
//!       [nh=GATEWAY|-,OIF|-,WEIGHT[,onlink]]...
//! rule WORDS (the rule as `ip rule` words: `VirtualRule`'s `Display`, read by `VirtualRule::parse`)
//! link NAME
//! ```
//!
//! Lines that do not parse are ignored (a journal is advice for cleaning up, never a reason to
//! refuse to start).

use std::fmt::Write as _;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::{InterfaceId, NextHop, RouteKind, VirtualRoute, VirtualRule};

/// Something the driver installed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    /// An address on an interface.
    Address {
        /// Interface.
        interface: InterfaceId,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// A route.
    Route(VirtualRoute),
    /// An interface the driver created (a VMAC, see [`super::vmac`]), by name.
    Link(String),
    /// A policy routing rule.
    Rule(VirtualRule),
}

/// The journal file.
#[derive(Clone, Debug)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// A journal kept at `path` (nothing is read or written yet).
    pub fn new(path: impl Into<PathBuf>) -> Journal {
        Journal { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries recorded by a previous run; none if there is no file.
    pub fn read(&self) -> io::Result<Vec<Entry>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text.lines().filter_map(parse_line).collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Replaces the recorded entries with `entries`.
    pub fn write<'a>(&self, entries: impl IntoIterator<Item = &'a Entry>) -> io::Result<()> {
        let mut text = String::new();
        for e in entries {
            text.push_str(&format_entry(e));
            text.push('\n');
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

const ROUTE_KINDS: [(RouteKind, &str); 4] = [
    (RouteKind::Blackhole, "blackhole"),
    (RouteKind::Unreachable, "unreachable"),
    (RouteKind::Prohibit, "prohibit"),
    (RouteKind::Throw, "throw"),
];

fn format_entry(e: &Entry) -> String {
    match e {
        Entry::Address {
            interface,
            addr,
            prefix_len,
        } => format!("addr {} {addr}/{prefix_len}", interface.0),
        Entry::Route(r) => {
            let mut s = format!("route {}/{}", r.dest, r.prefix_len);
            for field in [
                opt(r.gateway),
                opt(r.source),
                opt(r.interface.map(|i| i.0)),
                opt(r.table),
                opt(r.metric),
            ] {
                let _ = write!(s, " {field}");
            }
            if let Some((_, name)) = ROUTE_KINDS.iter().find(|(k, _)| *k == r.kind) {
                let _ = write!(s, " type={name}");
            }
            if let Some(scope) = r.scope {
                let _ = write!(s, " scope={scope}");
            }
            if r.onlink {
                s.push_str(" onlink");
            }
            for h in &r.nexthops {
                let _ = write!(
                    s,
                    " nh={},{},{}{}",
                    opt(h.gateway),
                    opt(h.interface.map(|i| i.0)),
                    h.weight,
                    if h.onlink { ",onlink" } else { "" }
                );
            }
            s
        }
        Entry::Link(name) => format!("link {name}"),
        Entry::Rule(r) => format!("rule {r}"),
    }
}

fn parse_prefixed(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = s.split_once('/')?;
    let addr: IpAddr = a.parse().ok()?;
    let len: u8 = p.parse().ok()?;
    (len <= if addr.is_ipv4() { 32 } else { 128 }).then_some((addr, len))
}

/// `-` or a value.
fn parse_opt<T: std::str::FromStr>(s: &str) -> Result<Option<T>, T::Err> {
    if s == "-" {
        Ok(None)
    } else {
        s.parse().map(Some)
    }
}

fn parse_line(line: &str) -> Option<Entry> {
    let w: Vec<&str> = line.split_whitespace().collect();
    match w.as_slice() {
        ["addr", ifindex, a] => {
            let (addr, prefix_len) = parse_prefixed(a)?;
            Some(Entry::Address {
                interface: InterfaceId(ifindex.parse().ok()?),
                addr,
                prefix_len,
            })
        }
        ["route", d, gw, src, oif, table, metric, extra @ ..] => {
            let (dest, prefix_len) = parse_prefixed(d)?;
            let mut r = VirtualRoute {
                gateway: parse_opt(gw).ok()?,
                source: parse_opt(src).ok()?,
                interface: parse_opt::<u32>(oif).ok()?.map(InterfaceId),
                table: parse_opt(table).ok()?,
                metric: parse_opt(metric).ok()?,
                ..VirtualRoute::to(dest, prefix_len)
            };
            for x in extra {
                match x.split_once('=') {
                    None if *x == "onlink" => r.onlink = true,
                    Some(("type", t)) => {
                        r.kind = ROUTE_KINDS.iter().find(|(_, n)| *n == t)?.0;
                    }
                    Some(("scope", v)) => r.scope = Some(v.parse().ok()?),
                    Some(("nh", v)) => r.nexthops.push(parse_hop(v)?),
                    _ => return None,
                }
            }
            Some(Entry::Route(r))
        }
        ["link", name] => Some(Entry::Link((*name).to_owned())),
        ["rule", words @ ..] => VirtualRule::parse(words.iter().copied())
            .ok()
            .map(Entry::Rule),
        _ => None,
    }
}

fn parse_hop(v: &str) -> Option<NextHop> {
    let parts: Vec<&str> = v.split(',').collect();
    let (gw, oif, weight, onlink) = match parts.as_slice() {
        [gw, oif, weight] => (gw, oif, weight, false),
        [gw, oif, weight, "onlink"] => (gw, oif, weight, true),
        _ => return None,
    };
    Some(NextHop {
        gateway: parse_opt(gw).ok()?,
        interface: parse_opt::<u32>(oif).ok()?.map(InterfaceId),
        weight: weight.parse().ok()?,
        onlink,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleAction;

    #[test]
    fn entries_round_trip_and_garbage_is_skipped() {
        let dir = std::env::temp_dir().join(format!("kars-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let j = Journal::new(dir.join("j"));
        assert_eq!(j.read().unwrap(), Vec::new());
        let entries = vec![
            Entry::Address {
                interface: InterfaceId(2),
                addr: "10.0.0.100".parse().unwrap(),
                prefix_len: 32,
            },
            Entry::Address {
                interface: InterfaceId(3),
                addr: "fd00::1".parse().unwrap(),
                prefix_len: 64,
            },
            Entry::Route(VirtualRoute {
                gateway: Some("10.0.0.254".parse().unwrap()),
                interface: Some(InterfaceId(2)),
                table: Some(100),
                ..VirtualRoute::to("198.51.100.0".parse().unwrap(), 24)
            }),
            Entry::Route(VirtualRoute {
                kind: RouteKind::Blackhole,
                scope: Some(0),
                onlink: true,
                metric: Some(5),
                nexthops: vec![
                    NextHop {
                        gateway: Some("10.0.0.1".parse().unwrap()),
                        interface: Some(InterfaceId(2)),
                        weight: 3,
                        onlink: true,
                    },
                    NextHop {
                        gateway: None,
                        interface: None,
                        weight: 1,
                        onlink: false,
                    },
                ],
                ..VirtualRoute::to("fd00::".parse().unwrap(), 64)
            }),
            Entry::Rule(VirtualRule {
                from: Some(("10.1.0.0".parse().unwrap(), 16)),
                to: Some(("10.2.0.0".parse().unwrap(), 24)),
                iif: Some("eth1".to_owned()),
                oif: Some("eth2".to_owned()),
                fwmark: Some((16, Some(255))),
                tos: 4,
                invert: true,
                priority: Some(100),
                table: Some(1000),
                ..VirtualRule::new(false)
            }),
            Entry::Rule(VirtualRule {
                action: RuleAction::Goto(7),
                ..VirtualRule::new(true)
            }),
            Entry::Rule(VirtualRule {
                action: RuleAction::Prohibit,
                ..VirtualRule::new(true)
            }),
            Entry::Link("vrrp.51".to_owned()),
        ];
        j.write(&entries).unwrap();
        assert_eq!(j.read().unwrap(), entries);
        std::fs::write(
            j.path(),
            "addr x 1.2.3.4/32\naddr 2 1.2.3.4/33\nroute\nroute 1.0.0.0/8 - - - - - type=x\nrule from x\nrule uidrange 1-2\n",
        )
        .unwrap();
        assert_eq!(j.read().unwrap(), Vec::new());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
