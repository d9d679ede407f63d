//! Batched sending of IPv4 adverts: the adverts one engine step produces (instances due at the
//! same moment, which is how a configuration's instances stay after a common start) are encoded
//! into one buffer and leave with one `sendmmsg` per socket instead of one `sendto` each. The
//! kernel's per-packet work is the same; the system-call entries and exits, and the reschedule
//! points between them, are saved.

use std::io;
use std::net::Ipv4Addr;

use super::socket::{SocketKey, VrrpSocket};

/// One queued datagram.
#[derive(Clone, Copy, Debug)]
struct Queued {
    key: SocketKey,
    start: u32,
    len: u32,
    vrid: u8,
    dst: Ipv4Addr,
}

/// IPv4 datagrams (header included) waiting to be sent, in the order they were queued.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    bytes: Vec<u8>,
    queued: Vec<Queued>,
    /// Scratch: queue indices grouped by socket.
    order: Vec<u32>,
}

impl Outbox {
    /// Queues `datagram` for `dst` on the socket `key` (`vrid` names it in error reports).
    pub(crate) fn push(&mut self, key: SocketKey, datagram: &[u8], vrid: u8, dst: Ipv4Addr) {
        let (Ok(start), Ok(len)) = (
            u32::try_from(self.bytes.len()),
            u32::try_from(datagram.len()),
        ) else {
            return;
        };
        self.bytes.extend_from_slice(datagram);
        self.queued.push(Queued {
            key,
            start,
            len,
            vrid,
            dst,
        });
    }

    /// Whether nothing waits to be sent.
    pub(crate) fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    /// Sends everything queued, per socket in queue order; `socket` finds a socket, `failed`
    /// hears of every datagram that could not be sent (VRID, destination, error).
    pub(crate) fn flush<'s>(
        &mut self,
        socket: impl Fn(SocketKey) -> Option<&'s VrrpSocket>,
        mut failed: impl FnMut(u8, Ipv4Addr, &io::Error),
    ) {
        if self.queued.is_empty() {
            return;
        }
        let rank = |q: &Queued| {
            (
                q.key.0.0,
                q.key.1 == super::socket::Family::V6,
                q.key.2 == super::socket::Carrier::Ah,
            )
        };
        self.order.clear();
        self.order.extend(0..self.queued.len() as u32);
        // Unstable sort with the queue index as the last key: grouped by socket, queue order
        // within a socket, no allocation.
        let queued = &self.queued;
        self.order
            .sort_unstable_by_key(|&i| (rank(&queued[i as usize]), i));
        let mut datagrams: Vec<(&[u8], Ipv4Addr)> = Vec::with_capacity(self.order.len());
        let mut at = 0;
        while at < self.order.len() {
            let key = queued[self.order[at] as usize].key;
            let group_end = self.order[at..]
                .iter()
                .position(|&i| queued[i as usize].key != key)
                .map_or(self.order.len(), |n| at + n);
            let group = &self.order[at..group_end];
            datagrams.clear();
            datagrams.extend(group.iter().map(|&i| {
                let q = &queued[i as usize];
                let end = (q.start + q.len) as usize;
                (&self.bytes[q.start as usize..end], q.dst)
            }));
            let Some(sock) = socket(key) else {
                let e = io::Error::from(io::ErrorKind::NotFound);
                for &i in group {
                    failed(queued[i as usize].vrid, queued[i as usize].dst, &e);
                }
                at = group_end;
                continue;
            };
            let mut sent = 0;
            while sent < datagrams.len() {
                match sock.send_many_v4(&datagrams[sent..]) {
                    Ok(n) => sent += n.max(1),
                    Err(e) => {
                        // The first datagram of the rest failed: report it, go on after it.
                        let q = &queued[group[sent] as usize];
                        failed(q.vrid, q.dst, &e);
                        sent += 1;
                    }
                }
            }
            at = group_end;
        }
        self.queued.clear();
        self.bytes.clear();
    }
}
