//! A journal of the kernel state the driver installed (virtual addresses and routes), kept in a
//! file (for example under `/run`) so that the next start can remove what a crash or `kill -9`
//! left behind, and nothing else.
//!
//! The file is rewritten whole (temporary file, then rename) after every change, so it is always
//! either the old or the new list. One entry per line:
//!
//! ```text
//! addr IFINDEX ADDRESS/PREFIX
//! route DEST/PREFIX GATEWAY|- SOURCE|- OIF|- TABLE|- METRIC|-
//! link NAME
//! ```
//!
//! Lines that do not parse are ignored (a journal is advice for cleaning up, never a reason to
//! refuse to start).

use std::fmt::Write as _;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::{InterfaceId, VirtualRoute};

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
            s
        }
        Entry::Link(name) => format!("link {name}"),
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
        ["route", d, gw, src, oif, table, metric] => {
            let (dest, prefix_len) = parse_prefixed(d)?;
            Some(Entry::Route(VirtualRoute {
                dest,
                prefix_len,
                gateway: parse_opt(gw).ok()?,
                source: parse_opt(src).ok()?,
                interface: parse_opt::<u32>(oif).ok()?.map(InterfaceId),
                table: parse_opt(table).ok()?,
                metric: parse_opt(metric).ok()?,
            }))
        }
        ["link", name] => Some(Entry::Link((*name).to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                dest: "198.51.100.0".parse().unwrap(),
                prefix_len: 24,
                gateway: Some("10.0.0.254".parse().unwrap()),
                source: None,
                interface: Some(InterfaceId(2)),
                table: Some(100),
                metric: None,
            }),
            Entry::Link("vrrp.51".to_owned()),
        ];
        j.write(&entries).unwrap();
        assert_eq!(j.read().unwrap(), entries);
        std::fs::write(j.path(), "addr x 1.2.3.4/32\naddr 2 1.2.3.4/33\nroute\n").unwrap();
        assert_eq!(j.read().unwrap(), Vec::new());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
