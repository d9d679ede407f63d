//! Gratuitous ARP and unsolicited Neighbour Advertisement over one `AF_PACKET` socket, paced by
//! `vrrp_garp_interval` / `vrrp_gna_interval`.
//!
//! `vrrp-proto` builds the whole Ethernet frame (keepalived's 42-byte GARP and 86-byte NA with
//! hop limit 255, sent to the all-nodes group); the socket only needs the outgoing interface.

use std::collections::VecDeque;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use vrrp_proto::ethernet::{ETHERTYPE_ARP, ETHERTYPE_IPV6, MacAddr};

/// One frame waiting for its turn.
#[derive(Debug)]
struct Pending {
    due: Instant,
    ifindex: u32,
    ethertype: u16,
    frame: Vec<u8>,
}

/// Sends and paces GARP/NA frames.
#[derive(Debug)]
pub struct Announcer {
    socket: Socket,
    queue: VecDeque<Pending>,
    /// When the last frame of each kind was (or will be) sent, for pacing.
    last_arp: Option<Instant>,
    last_na: Option<Instant>,
    sent: u64,
}

impl Announcer {
    /// Opens the `AF_PACKET` socket (send only: protocol 0 receives nothing).
    pub fn new() -> io::Result<Announcer> {
        let socket = Socket::new(
            Domain::PACKET,
            Type::RAW.nonblocking().cloexec(),
            Some(Protocol::from(0)),
        )?;
        Ok(Announcer {
            socket,
            queue: VecDeque::new(),
            last_arp: None,
            last_na: None,
            sent: 0,
        })
    }

    /// Queues `repeat` frames for `addr` out of `ifindex` (hardware address `mac`), `interval`
    /// apart from the previous frame of the same kind, and sends what is due at `now`.
    /// `router` sets the NA's R flag (IPv6 forwarding on).
    #[allow(clippy::too_many_arguments)]
    pub fn announce(
        &mut self,
        now: Instant,
        ifindex: u32,
        mac: [u8; 6],
        addr: IpAddr,
        repeat: u32,
        interval: Duration,
        router: bool,
    ) -> io::Result<()> {
        let mut frame = vec![0u8; vrrp_proto::ndisc::FRAME_LEN.max(vrrp_proto::arp::FRAME_LEN)];
        let (len, ethertype, last) = match addr {
            IpAddr::V4(a) => (
                vrrp_proto::arp::emit_gratuitous(&mut frame, MacAddr(mac), a),
                ETHERTYPE_ARP,
                &mut self.last_arp,
            ),
            IpAddr::V6(a) => (
                vrrp_proto::ndisc::emit_unsolicited(&mut frame, MacAddr(mac), a, router),
                ETHERTYPE_IPV6,
                &mut self.last_na,
            ),
        };
        let len = len.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        frame.truncate(len);
        for _ in 0..repeat {
            let due = match *last {
                Some(t) if !interval.is_zero() => (t + interval).max(now),
                _ => now,
            };
            *last = Some(due);
            self.queue.push_back(Pending {
                due,
                ifindex,
                ethertype,
                frame: frame.clone(),
            });
        }
        self.send_due(now)
    }

    /// Sends every frame due at `now` (frames are queued in due order per kind; a frame not yet
    /// due does not hold back a due one of the other kind).
    pub fn send_due(&mut self, now: Instant) -> io::Result<()> {
        let mut first_err = None;
        let mut keep = VecDeque::with_capacity(self.queue.len());
        while let Some(p) = self.queue.pop_front() {
            if p.due > now {
                keep.push_back(p);
                continue;
            }
            match super::sys::link_layer_addr(p.ifindex, p.ethertype)
                .and_then(|to| self.socket.send_to(&p.frame, &to))
            {
                Ok(_) => self.sent += 1,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        self.queue = keep;
        first_err.map_or(Ok(()), Err)
    }

    /// When the next queued frame is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.queue.iter().map(|p| p.due).min()
    }

    /// Drops queued frames (on shutdown, or when an interface goes away).
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// Frames sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}
