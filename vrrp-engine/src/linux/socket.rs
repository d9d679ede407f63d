//! Raw VRRP sockets (IP protocol 112), one per interface and address family, shared by every
//! instance on that interface ([`SocketPool`]).
//!
//! * IPv4: `SOCK_RAW`/112 with `IP_HDRINCL`: `vrrp-proto` writes the whole datagram (TTL 255,
//!   TOS 0xc0, the instance's source address, AH when configured); reads return the IPv4 header
//!   too, so the received TTL is the header's.
//! * IPv6: `SOCK_RAW`/112; `vrrp-proto` writes the VRRP message with its checksum (so no
//!   `IPV6_CHECKSUM`), the kernel adds the header. The source address is forced per packet with
//!   an `IPV6_PKTINFO` control message (the checksum covers it); the hop limit is 255 for
//!   multicast and unicast; received hop limit and destination come from `IPV6_HOPLIMIT` and
//!   `IPV6_PKTINFO` control messages.
//!
//! Every socket is bound to its device (`SO_BINDTODEVICE`), joined to the family's VRRP group
//! on that interface (and to any other group an instance names with `mcast_dst_ip`,
//! [`VrrpSocket::join`]), does not loop its own multicast back, and is non-blocking.

use std::collections::HashMap;
use std::io::{self, IoSlice};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::num::NonZeroU32;
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, InterfaceIndexOrAddress, MsgHdr, Protocol, SockAddr, Socket, Type};

use crate::InterfaceId;

/// Address family of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

/// One received VRRP datagram, as the codec wants it.
#[derive(Debug)]
pub enum Datagram<'a> {
    /// A whole IPv4 datagram (header included), for `vrrp_proto::decode_ipv4`.
    V4(&'a [u8]),
    /// An IPv6 payload with its endpoints and hop limit, for `vrrp_proto::decode_ipv6`.
    V6 {
        /// The VRRP message.
        payload: &'a [u8],
        /// Source address.
        src: Ipv6Addr,
        /// Destination address (from `IPV6_PKTINFO`; the VRRP group if the kernel gave none).
        dst: Ipv6Addr,
        /// Received hop limit (0 if the kernel did not report it, which fails validation).
        hop_limit: u8,
    },
}

/// The IP protocol a socket carries: plain VRRP (112), or keepalived's IPSEC-AH (51), which
/// wraps VRRPv2 adverts of instances with `auth_type AH` (IPv4 only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Carrier {
    /// IP protocol 112.
    Vrrp,
    /// IP protocol 51.
    Ah,
}

impl Carrier {
    fn protocol(self) -> i32 {
        match self {
            Carrier::Vrrp => i32::from(vrrp_proto::vrrp::IP_PROTOCOL),
            Carrier::Ah => i32::from(vrrp_proto::ipsec_ah::IP_PROTOCOL),
        }
    }
}

/// A raw VRRP socket bound to one interface.
#[derive(Debug)]
pub struct VrrpSocket {
    socket: Socket,
    family: Family,
    ifindex: u32,
}

/// Receive buffer of a VRRP socket.
const RECV_BUFFER: usize = 256 * 1024;

impl VrrpSocket {
    /// Opens the socket of `family` for `carrier` on interface `ifindex` and joins the VRRP
    /// group there. AH exists only over IPv4.
    pub fn open(ifindex: u32, family: Family, carrier: Carrier) -> io::Result<VrrpSocket> {
        if carrier == Carrier::Ah && family == Family::V6 {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let index =
            NonZeroU32::new(ifindex).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let domain = match family {
            Family::V4 => Domain::IPV4,
            Family::V6 => Domain::IPV6,
        };
        let socket = Socket::new(
            domain,
            Type::RAW.nonblocking().cloexec(),
            Some(Protocol::from(carrier.protocol())),
        )?;
        // Room for bursts from many instances on one interface.
        socket.set_recv_buffer_size(RECV_BUFFER)?;
        match family {
            Family::V4 => {
                socket.bind_device_by_index_v4(Some(index))?;
                socket.set_header_included_v4(true)?;
                socket.set_multicast_loop_v4(false)?;
                socket.set_multicast_all_v4(false)?;
                // Arrival times: a backup's master-down timer runs from them.
                super::sys::set_int_option(&socket, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
                socket.join_multicast_v4_n(
                    &vrrp_proto::vrrp::MULTICAST_V4,
                    &InterfaceIndexOrAddress::Index(ifindex),
                )?;
            }
            Family::V6 => {
                socket.bind_device_by_index_v6(Some(index))?;
                socket.set_multicast_loop_v6(false)?;
                socket.set_multicast_all_v6(false)?;
                socket.set_multicast_hops_v6(u32::from(vrrp_proto::vrrp::REQUIRED_TTL))?;
                socket.set_unicast_hops_v6(u32::from(vrrp_proto::vrrp::REQUIRED_TTL))?;
                socket.set_multicast_if_v6(ifindex)?;
                socket.set_recv_hoplimit_v6(true)?;
                set_recv_pktinfo_v6(&socket)?;
                socket.join_multicast_v6(&vrrp_proto::vrrp::MULTICAST_V6, ifindex)?;
            }
        }
        Ok(VrrpSocket {
            socket,
            family,
            ifindex,
        })
    }

    /// The socket's family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The interface it is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Joins multicast `group` (of the socket's family) on the socket's interface as well, for
    /// instances with `mcast_dst_ip`. Joining a group twice is an error (`EADDRINUSE`).
    pub fn join(&self, group: IpAddr) -> io::Result<()> {
        match (self.family, group) {
            (Family::V4, IpAddr::V4(g)) => self
                .socket
                .join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(self.ifindex)),
            (Family::V6, IpAddr::V6(g)) => self.socket.join_multicast_v6(&g, self.ifindex),
            _ => Err(io::Error::from(io::ErrorKind::InvalidInput)),
        }
    }

    /// Sends an IPv4 datagram built by `vrrp_proto::emit_ipv4` (header included) to `dst`.
    pub fn send_v4(&self, datagram: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.socket.send_to(datagram, &to).map(drop)
    }

    /// Sends several IPv4 datagrams built by `vrrp_proto::emit_ipv4`, each to its destination,
    /// in one `sendmmsg`; returns how many the kernel took (an error only if none was).
    pub fn send_many_v4<'d>(
        &self,
        datagrams: impl IntoIterator<Item = (&'d [u8], Ipv4Addr)>,
    ) -> io::Result<usize> {
        super::sys::sendmmsg_v4(&self.socket, datagrams)
    }

    /// Sends a VRRP message built by `vrrp_proto::emit_ipv6` from `src` to `dst`.
    pub fn send_v6(&self, message: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> io::Result<()> {
        let scope = if is_link_scope(dst) { self.ifindex } else { 0 };
        let to = SockAddr::from(SocketAddrV6::new(dst, 0, 0, scope));
        let control = pktinfo_cmsg(src, self.ifindex);
        let bufs = [IoSlice::new(message)];
        let msg = MsgHdr::new()
            .with_addr(&to)
            .with_buffers(&bufs)
            .with_control(&control);
        self.socket.sendmsg(&msg, 0).map(drop)
    }

    /// Reads the IPv4 datagrams waiting (header included), up to `N`, into `slot`-byte slices
    /// of `buf` with one `recvmmsg`: datagram `i` is `buf[i * slot..][..lens[i]]`, and
    /// `arrivals[i]` the kernel's time of its arrival (`CLOCK_REALTIME`, since the Unix epoch)
    /// when it gave one. Returns how many; 0 when nothing is waiting.
    pub fn recv_many_v4<const N: usize>(
        &self,
        buf: &mut [u8],
        slot: usize,
        lens: &mut [usize; N],
        arrivals: &mut [Option<core::time::Duration>; N],
    ) -> io::Result<usize> {
        use super::sys::RX_CONTROL;
        let mut control = [[0u8; RX_CONTROL]; N];
        let mut control_lens = [0usize; N];
        let n = match super::sys::recvmmsg(
            &self.socket,
            buf,
            slot,
            lens,
            control.as_flattened_mut(),
            &mut control_lens,
        ) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
            r => r?,
        };
        let controls = control.iter().zip(control_lens);
        for (arrival, (c, len)) in arrivals.iter_mut().zip(controls).take(n) {
            *arrival = arrival_in(&c[..len]);
        }
        Ok(n)
    }

    /// Reads one datagram into `buf`; `Ok(None)` when nothing is waiting.
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<Option<Datagram<'b>>> {
        let mut control = [0u8; 128];
        let (n, control_len, from) = match super::sys::recvmsg(&self.socket, buf, &mut control) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        };
        let data = buf
            .get(..n)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))?;
        match self.family {
            Family::V4 => Ok(Some(Datagram::V4(data))),
            Family::V6 => {
                let Some(SocketAddr::V6(src)) = from.as_socket() else {
                    return Err(io::Error::from(io::ErrorKind::InvalidData));
                };
                let control = control.get(..control_len).unwrap_or_default();
                let info = parse_cmsgs_v6(control);
                Ok(Some(Datagram::V6 {
                    payload: data,
                    src: *src.ip(),
                    dst: info.dst.unwrap_or(vrrp_proto::vrrp::MULTICAST_V6),
                    hop_limit: info.hop_limit.unwrap_or(0),
                }))
            }
        }
    }
}

impl AsRawFd for VrrpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

/// Key of a socket in a [`SocketPool`].
pub type SocketKey = (InterfaceId, Family, Carrier);

/// The raw sockets of a driver, keyed by interface, family and carrier, and shared by the
/// instances.
#[derive(Debug, Default)]
pub struct SocketPool {
    /// Looked up on every wake-up of a socket's read task: the cheap hasher.
    sockets: HashMap<SocketKey, VrrpSocket, crate::fast_hash::FastHash>,
}

impl SocketPool {
    /// An empty pool.
    pub fn new() -> SocketPool {
        SocketPool::default()
    }

    /// The socket for `key`, opened on first use.
    pub fn get_or_open(&mut self, key: SocketKey) -> io::Result<&VrrpSocket> {
        use std::collections::hash_map::Entry;
        match self.sockets.entry(key) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => Ok(e.insert(VrrpSocket::open(key.0.0, key.1, key.2)?)),
        }
    }

    /// The socket for `key`, if open.
    pub fn get(&self, key: SocketKey) -> Option<&VrrpSocket> {
        self.sockets.get(&key)
    }

    /// Closes the socket for `key` (its interface went away, or no instance needs it).
    pub fn remove(&mut self, key: SocketKey) -> Option<VrrpSocket> {
        self.sockets.remove(&key)
    }

    /// Every open socket with its key.
    pub fn iter(&self) -> impl Iterator<Item = (SocketKey, &VrrpSocket)> + '_ {
        self.sockets.iter().map(|(&k, s)| (k, s))
    }

    /// Number of open sockets.
    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    /// Whether no socket is open.
    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }
}

fn is_link_scope(a: Ipv6Addr) -> bool {
    let s = a.segments();
    (s[0] & 0xffc0) == 0xfe80 || (s[0] & 0xff0f) == 0xff02
}

/// `IPV6_RECVPKTINFO` (socket2 does not wrap it).
fn set_recv_pktinfo_v6(socket: &Socket) -> io::Result<()> {
    super::sys::set_int_option(socket, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
}

/// Control-message layout on Linux: `cmsghdr` is `{ size_t len; int level; int type; }`, data
/// follows aligned to `size_t`.
const CMSG_ALIGN: usize = core::mem::size_of::<usize>();
const CMSG_HDR: usize = (core::mem::size_of::<usize>() + 8).next_multiple_of(CMSG_ALIGN);

/// An `IPV6_PKTINFO` control message asking for source `src` on `ifindex`.
fn pktinfo_cmsg(src: Ipv6Addr, ifindex: u32) -> Vec<u8> {
    let data_len = 16 + 4; // struct in6_pktinfo { in6_addr; unsigned int ifindex; }
    let len = CMSG_HDR + data_len;
    let mut out = vec![0u8; len.next_multiple_of(CMSG_ALIGN)];
    out[..CMSG_ALIGN].copy_from_slice(&len.to_ne_bytes());
    out[CMSG_ALIGN..CMSG_ALIGN + 4].copy_from_slice(&libc::IPPROTO_IPV6.to_ne_bytes());
    out[CMSG_ALIGN + 4..CMSG_ALIGN + 8].copy_from_slice(&libc::IPV6_PKTINFO.to_ne_bytes());
    out[CMSG_HDR..CMSG_HDR + 16].copy_from_slice(&src.octets());
    out[CMSG_HDR + 16..CMSG_HDR + 20].copy_from_slice(&ifindex.to_ne_bytes());
    out
}

#[derive(Debug, Default, PartialEq, Eq)]
struct V6Info {
    dst: Option<Ipv6Addr>,
    hop_limit: Option<u8>,
}

/// The received control messages as `(level, type, data)`, bounds-checked (the kernel is
/// trusted for the layout, not for the lengths).
pub(crate) fn control_messages(mut control: &[u8]) -> impl Iterator<Item = (i32, i32, &[u8])> {
    core::iter::from_fn(move || {
        if control.len() < CMSG_HDR {
            return None;
        }
        let mut word = [0u8; CMSG_ALIGN];
        word.copy_from_slice(&control[..CMSG_ALIGN]);
        let len = usize::from_ne_bytes(word);
        let int_at = |at: usize| {
            i32::from_ne_bytes([
                control[at],
                control[at + 1],
                control[at + 2],
                control[at + 3],
            ])
        };
        let (level, kind) = (int_at(CMSG_ALIGN), int_at(CMSG_ALIGN + 4));
        if len < CMSG_HDR || len > control.len() {
            return None;
        }
        let data = &control[CMSG_HDR..len];
        let step = len.next_multiple_of(CMSG_ALIGN).min(control.len());
        control = &control[step..];
        Some((level, kind, data))
    })
}

/// The arrival time in a datagram's control messages (`SCM_TIMESTAMPNS`: a `timespec` of
/// `CLOCK_REALTIME`), as time since the Unix epoch.
fn arrival_in(control: &[u8]) -> Option<core::time::Duration> {
    let (_, _, data) = control_messages(control)
        .find(|&(level, kind, _)| level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS)?;
    // `struct timespec { time_t tv_sec; long tv_nsec; }`: two 64-bit or two 32-bit fields.
    let (sec, nsec) = match data.len() {
        16 => {
            let mut a = [0u8; 8];
            let mut b = [0u8; 8];
            a.copy_from_slice(&data[..8]);
            b.copy_from_slice(&data[8..16]);
            (i64::from_ne_bytes(a), i64::from_ne_bytes(b))
        }
        8 => {
            let mut a = [0u8; 4];
            let mut b = [0u8; 4];
            a.copy_from_slice(&data[..4]);
            b.copy_from_slice(&data[4..8]);
            (
                i64::from(i32::from_ne_bytes(a)),
                i64::from(i32::from_ne_bytes(b)),
            )
        }
        _ => return None,
    };
    let sec = u64::try_from(sec).ok()?;
    let nsec = u32::try_from(nsec).ok().filter(|&n| n < 1_000_000_000)?;
    Some(core::time::Duration::new(sec, nsec))
}

/// The destination and hop limit of a received IPv6 datagram, from its control messages.
fn parse_cmsgs_v6(control: &[u8]) -> V6Info {
    let mut info = V6Info::default();
    for (level, kind, data) in control_messages(control) {
        if level == libc::IPPROTO_IPV6 {
            if kind == libc::IPV6_HOPLIMIT && data.len() >= 4 {
                let v = i32::from_ne_bytes([data[0], data[1], data[2], data[3]]);
                info.hop_limit = u8::try_from(v).ok();
            } else if kind == libc::IPV6_PKTINFO && data.len() >= 16 {
                let mut a = [0u8; 16];
                a.copy_from_slice(&data[..16]);
                info.dst = Some(Ipv6Addr::from(a));
            }
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A control message of `level`/`kind` carrying `data`.
    fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        let len = CMSG_HDR + data.len();
        let mut out = vec![0u8; len.next_multiple_of(CMSG_ALIGN)];
        out[..CMSG_ALIGN].copy_from_slice(&len.to_ne_bytes());
        out[CMSG_ALIGN..CMSG_ALIGN + 4].copy_from_slice(&level.to_ne_bytes());
        out[CMSG_ALIGN + 4..CMSG_ALIGN + 8].copy_from_slice(&kind.to_ne_bytes());
        out[CMSG_HDR..len].copy_from_slice(data);
        out
    }

    #[test]
    fn arrival_times_are_read_from_scm_timestampns() {
        let mut ts = Vec::new();
        ts.extend_from_slice(&1_700_000_000i64.to_ne_bytes());
        ts.extend_from_slice(&123_456_789i64.to_ne_bytes());
        let c = cmsg(libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, &ts);
        assert_eq!(
            arrival_in(&c),
            Some(core::time::Duration::new(1_700_000_000, 123_456_789))
        );
        // After another message too.
        let mut two = cmsg(libc::IPPROTO_IP, libc::IP_TTL, &255i32.to_ne_bytes());
        two.extend_from_slice(&c);
        assert!(arrival_in(&two).is_some());
        // Absent, or nanoseconds out of range: none.
        assert_eq!(arrival_in(&[]), None);
        let mut bad = ts.clone();
        bad[8..].copy_from_slice(&2_000_000_000i64.to_ne_bytes());
        assert_eq!(
            arrival_in(&cmsg(libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, &bad)),
            None
        );
        // Truncated input never panics.
        for n in 0..c.len() {
            let _ = arrival_in(&c[..n]);
        }
    }

    #[test]
    fn pktinfo_round_trips_through_the_parser() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let mut c = pktinfo_cmsg(src, 7);
        // Append a hop-limit message.
        let len = CMSG_HDR + 4;
        let mut h = vec![0u8; len.next_multiple_of(CMSG_ALIGN)];
        h[..CMSG_ALIGN].copy_from_slice(&len.to_ne_bytes());
        h[CMSG_ALIGN..CMSG_ALIGN + 4].copy_from_slice(&libc::IPPROTO_IPV6.to_ne_bytes());
        h[CMSG_ALIGN + 4..CMSG_ALIGN + 8].copy_from_slice(&libc::IPV6_HOPLIMIT.to_ne_bytes());
        h[CMSG_HDR..CMSG_HDR + 4].copy_from_slice(&255i32.to_ne_bytes());
        c.extend_from_slice(&h);
        let info = parse_cmsgs_v6(&c);
        assert_eq!(
            info,
            V6Info {
                dst: Some(src),
                hop_limit: Some(255)
            }
        );
        // Truncated input never panics.
        for n in 0..c.len() {
            let _ = parse_cmsgs_v6(&c[..n]);
        }
    }
}
