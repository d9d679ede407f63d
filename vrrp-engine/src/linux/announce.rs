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
    ifindex: u32,
    frame: Vec<u8>,
    /// The least time after this frame before the next one of its kind may go.
    interval: Duration,
}

/// The frames of one kind (GARP or NA), sent in order and paced.
///
/// `vrrp_garp_interval` / `vrrp_gna_interval` exist to keep switches' rate limits happy, so the
/// interval is a minimum gap between frames on the wire: the next frame is allowed `interval`
/// after the previous one was actually sent, never earlier because a wake-up was late, and a
/// late wake-up never sends several frames back to back.
#[derive(Debug)]
struct Lane {
    ethertype: u16,
    queue: VecDeque<Pending>,
    /// The next frame may not go before this.
    not_before: Option<Instant>,
}

impl Lane {
    fn new(ethertype: u16) -> Lane {
        Lane {
            ethertype,
            queue: VecDeque::new(),
            not_before: None,
        }
    }

    /// When the next queued frame may go, if any is queued. Frames are queued only by
    /// [`Announcer::announce`], which sends at once what may go, so a lane that still holds
    /// frames always has its `not_before` set.
    fn next_due(&self) -> Option<Instant> {
        self.queue.front()?;
        self.not_before
    }
}

/// Sends and paces GARP/NA frames.
#[derive(Debug)]
pub struct Announcer {
    socket: Socket,
    arp: Lane,
    na: Lane,
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
            arp: Lane::new(ETHERTYPE_ARP),
            na: Lane::new(ETHERTYPE_IPV6),
            sent: 0,
        })
    }

    /// Queues `repeat` frames for `addr` out of `ifindex` (hardware address `mac`), each at
    /// least `interval` after the previous frame of the same kind, and sends what may go at
    /// `now`. `router` sets the NA's R flag (IPv6 forwarding on).
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
        let (len, lane) = match addr {
            IpAddr::V4(a) => (
                vrrp_proto::arp::emit_gratuitous(&mut frame, MacAddr(mac), a),
                &mut self.arp,
            ),
            IpAddr::V6(a) => (
                vrrp_proto::ndisc::emit_unsolicited(&mut frame, MacAddr(mac), a, router),
                &mut self.na,
            ),
        };
        let len = len.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        frame.truncate(len);
        for _ in 0..repeat {
            lane.queue.push_back(Pending {
                ifindex,
                frame: frame.clone(),
                interval,
            });
        }
        self.send_due(now)
    }

    /// Sends what may go at `now`: per kind, the next frame once its gap has passed (and, with
    /// a zero interval, every queued frame). A frame not yet allowed does not hold back the
    /// other kind.
    pub fn send_due(&mut self, now: Instant) -> io::Result<()> {
        let mut first_err = None;
        for lane in [&mut self.arp, &mut self.na] {
            while lane.not_before.is_none_or(|t| now >= t) {
                let Some(p) = lane.queue.pop_front() else {
                    break;
                };
                match super::sys::link_layer_addr(p.ifindex, lane.ethertype)
                    .and_then(|to| self.socket.send_to(&p.frame, &to))
                {
                    Ok(_) => self.sent += 1,
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
                // From when the frame really went: `now` is when the loop's turn began, and
                // the netlink work of a transition before the first frame can take a while.
                let sent = Instant::now().max(now);
                lane.not_before = (!p.interval.is_zero()).then(|| sent + p.interval);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// When the next queued frame may go.
    pub fn next_due(&self) -> Option<Instant> {
        match (self.arp.next_due(), self.na.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Drops queued frames (on shutdown, or when an interface goes away).
    pub fn clear(&mut self) {
        self.arp.queue.clear();
        self.na.queue.clear();
    }

    /// Frames sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}
