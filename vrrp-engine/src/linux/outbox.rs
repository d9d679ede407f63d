//! Batched sending of IPv4 adverts: the adverts one engine step produces (instances due at the
//! same moment, which is how a configuration's instances stay after a common start) are encoded
//! into one buffer and leave with one `sendmmsg` per socket instead of one `sendto` each. The
//! kernel's per-packet work is the same; the system-call entries and exits, and the reschedule
//! points between them, are saved.

use std::io;
use std::net::Ipv4Addr;

use super::socket::{SocketKey, VrrpSocket};
use crate::AdvertTx;

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
    /// Scratch: the sockets of one flush and their parts of `order`, in send order.
    spans: Vec<Span>,
    /// Scratch: each queued datagram's place in `spans` before they are put in send order.
    slots: Vec<u32>,
    /// Where [`Outbox::encode`] has a datagram written: all zeros between two calls, so that
    /// each costs zeroing the bytes of its datagram, not the whole buffer.
    scratch: Vec<u8>,
}

/// The largest datagram [`Outbox::encode`] takes.
const MAX_DATAGRAM: usize = 1500;

/// With more sockets than this in one flush, the datagrams are grouped by a sort rather than
/// by one pass over the queue per socket.
const FEW_SOCKETS: usize = 16;

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

    /// Has `write` encode a datagram into a zeroed buffer of [`MAX_DATAGRAM`] bytes (it returns
    /// the length) and queues it as [`Outbox::push`] does; `write`'s error is returned as is.
    pub(crate) fn encode<E>(
        &mut self,
        key: SocketKey,
        vrid: u8,
        dst: Ipv4Addr,
        write: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<(), E> {
        let mut scratch = core::mem::take(&mut self.scratch);
        scratch.resize(MAX_DATAGRAM, 0);
        let written = write(&mut scratch);
        if let Ok(n) = written {
            let n = n.min(scratch.len());
            self.push(key, &scratch[..n], vrid, dst);
        }
        // Back to all zeros: the datagram's bytes, or all of them after a failed `write`, which
        // may have written anywhere.
        let dirty = match written {
            Ok(n) => n.min(MAX_DATAGRAM),
            Err(_) => MAX_DATAGRAM,
        };
        scratch[..dirty].fill(0);
        self.scratch = scratch;
        written.map(|_| ())
    }

    /// Queues a copy of `datagram` (an IPv4 datagram, header included) as [`Outbox::push`]
    /// does, with its Identification field set to `ident` (the header checksum updated).
    pub(crate) fn push_with_ident(
        &mut self,
        key: SocketKey,
        datagram: &[u8],
        vrid: u8,
        dst: Ipv4Addr,
        ident: u16,
    ) {
        let start = self.bytes.len();
        self.push(key, datagram, vrid, dst);
        if let Some(copy) = self.bytes.get_mut(start..) {
            vrrp_proto::ipv4::set_ident(copy, ident);
        }
    }

    /// The datagram queued last, if any.
    pub(crate) fn last(&self) -> Option<&[u8]> {
        let q = self.queued.last()?;
        self.bytes
            .get(q.start as usize..q.start as usize + q.len as usize)
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
        group_by_socket(
            &self.queued,
            &mut self.slots,
            &mut self.spans,
            &mut self.order,
        );
        let (queued, bytes) = (&self.queued, &self.bytes);
        for span in &self.spans {
            let group = &self.order[span.start..span.end];
            let Some(sock) = socket(span.key) else {
                let e = io::Error::from(io::ErrorKind::NotFound);
                for &i in group {
                    failed(queued[i as usize].vrid, queued[i as usize].dst, &e);
                }
                continue;
            };
            let mut sent = 0;
            while sent < group.len() {
                let datagrams = group[sent..].iter().map(|&i| {
                    let q = &queued[i as usize];
                    let end = (q.start + q.len) as usize;
                    (&bytes[q.start as usize..end], q.dst)
                });
                match sock.send_many_v4(datagrams) {
                    Ok(n) => sent += n.max(1),
                    Err(e) => {
                        // The first datagram of the rest failed: report it, go on after it.
                        let q = &queued[group[sent] as usize];
                        failed(q.vrid, q.dst, &e);
                        sent += 1;
                    }
                }
            }
        }
        self.queued.clear();
        self.bytes.clear();
    }
}

/// The IPv4 adverts last encoded for each instance, with the action they were encoded from.
///
/// A master sends the same advert every interval: only the IP Identification changes (and the
/// AH sequence number, so AH adverts are not kept here). A kept advert is queued as a copy with
/// a new ident ([`Outbox::push_with_ident`]) instead of being encoded and summed again. The
/// entry is used only while the action equals the one it was encoded from in every field but
/// the AH sequence, for the same socket; what the encoding takes from outside the action (the
/// instance's `mcast_dst_ip`) changes only on a reload, which must call
/// [`EncodedAdverts::clear`].
#[derive(Debug, Default)]
pub(crate) struct EncodedAdverts {
    /// Indexed by instance id.
    slots: Vec<Option<Encoded>>,
}

#[derive(Debug)]
struct Encoded {
    tx: AdvertTx,
    key: SocketKey,
    datagrams: Datagrams,
}

/// An advert's datagrams (one per destination) back to back; each one's length and destination
/// are in its IPv4 header ([`each_datagram`]). Held in place when they fit (one multicast
/// advert of up to 8 IPv4 addresses), so that sending a kept advert reads no other memory.
#[derive(Debug)]
enum Datagrams {
    Inline {
        len: u8,
        bytes: [u8; INLINE_DATAGRAMS],
    },
    Heap(Box<[u8]>),
}

const INLINE_DATAGRAMS: usize = 64;

impl Datagrams {
    fn new(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE_DATAGRAMS => {
                let mut inline = [0; INLINE_DATAGRAMS];
                inline[..bytes.len()].copy_from_slice(bytes);
                Datagrams::Inline { len, bytes: inline }
            }
            _ => Datagrams::Heap(bytes.into()),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Datagrams::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or(bytes),
            Datagrams::Heap(b) => b,
        }
    }
}

/// The IPv4 datagrams of `bytes`, back to back, with their destinations; stops at the first
/// header that does not describe a whole datagram.
pub(crate) fn each_datagram(mut bytes: &[u8]) -> impl Iterator<Item = (Ipv4Addr, &[u8])> {
    core::iter::from_fn(move || {
        let packet = vrrp_proto::ipv4::Packet::new_checked(bytes).ok()?;
        let (datagram, rest) = bytes.split_at(usize::from(packet.total_len()));
        bytes = rest;
        Some((packet.dst(), datagram))
    })
}

impl EncodedAdverts {
    /// Whether an advert like `tx` may be kept (IPv4 without AH).
    pub(crate) fn keeps(tx: &AdvertTx) -> bool {
        tx.source.is_ipv4() && !matches!(tx.auth, vrrp_proto::AuthConfig::Ah(_))
    }

    /// The datagrams kept for an advert like `tx` on socket `key`, if any ([`each_datagram`]
    /// takes them apart).
    pub(crate) fn get(&self, tx: &AdvertTx, key: SocketKey) -> Option<&[u8]> {
        let e = self.slots.get(tx.instance.0 as usize)?.as_ref()?;
        (e.key == key && same_but_sequence(&e.tx, tx)).then(|| e.datagrams.bytes())
    }

    /// Keeps `datagrams` (back to back, as [`each_datagram`] reads them), encoded from `tx` for
    /// socket `key`.
    pub(crate) fn insert(&mut self, tx: &AdvertTx, key: SocketKey, datagrams: &[u8]) {
        let i = tx.instance.0 as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i] = Some(Encoded {
            tx: tx.clone(),
            key,
            datagrams: Datagrams::new(datagrams),
        });
    }

    /// Forgets everything (the configuration changed).
    pub(crate) fn clear(&mut self) {
        self.slots = Vec::new();
    }
}

/// Whether `a` and `b` encode to the same datagrams up to the IP ident: every field but the AH
/// sequence is equal. (Named field by field, so that a field added to [`AdvertTx`] is not
/// forgotten here.)
fn same_but_sequence(a: &AdvertTx, b: &AdvertTx) -> bool {
    let AdvertTx {
        instance,
        interface,
        vrid,
        priority,
        interval,
        auth,
        sequence: _,
        checksum_mode,
        source,
        destination,
        addresses,
    } = a;
    *instance == b.instance
        && *interface == b.interface
        && *vrid == b.vrid
        && *priority == b.priority
        && *interval == b.interval
        && *auth == b.auth
        && *checksum_mode == b.checksum_mode
        && *source == b.source
        && *destination == b.destination
        && *addresses == b.addresses
}

/// One socket's datagrams in a flush: `order[start..end]`.
#[derive(Clone, Copy, Debug)]
struct Span {
    key: SocketKey,
    start: usize,
    end: usize,
}

/// Fills `order` with the indices of `queued` grouped by socket (sockets ordered by interface,
/// then IPv4 before IPv6, then VRRP before AH), queue order within a socket, and `spans` with
/// each socket's part of it, in that order; `slots` is scratch.
///
/// A burst spans few sockets (one interface's slot, or every interface of an unspread group in
/// instance order, so interleaved): each datagram's socket is found among those seen so far,
/// then a counting sort places it, O(datagrams x sockets) comparisons at worst and no sort of
/// the datagrams. (One pass over the queue per socket, as before, cost a 100-instance master
/// at 10 ms 7% of its user time with 8 sockets.) Beyond [`FEW_SOCKETS`] sockets, a sort.
fn group_by_socket(
    queued: &[Queued],
    slots: &mut Vec<u32>,
    spans: &mut Vec<Span>,
    order: &mut Vec<u32>,
) {
    let rank = |key: &SocketKey| {
        (
            key.0.0,
            key.1 == super::socket::Family::V6,
            key.2 == super::socket::Carrier::Ah,
        )
    };
    spans.clear();
    slots.clear();
    order.clear();
    // Counting: `end` holds each socket's count for now.
    let mut last = 0;
    for q in queued {
        let slot = if spans.get(last).is_some_and(|s| s.key == q.key) {
            last
        } else if let Some(s) = spans.iter().position(|s| s.key == q.key) {
            s
        } else {
            if spans.len() == FEW_SOCKETS {
                return group_by_sorting(queued, rank, spans, order);
            }
            spans.push(Span {
                key: q.key,
                start: 0,
                end: 0,
            });
            spans.len() - 1
        };
        spans[slot].end += 1;
        slots.push(slot as u32);
        last = slot;
    }
    // Each socket's start in send order: sockets by rank (a handful of them).
    let mut by_rank: [u8; FEW_SOCKETS] = core::array::from_fn(|i| i as u8);
    let by_rank = &mut by_rank[..spans.len()];
    by_rank.sort_unstable_by_key(|&s| rank(&spans[usize::from(s)].key));
    let mut next = 0;
    for &s in by_rank.iter() {
        let span = &mut spans[usize::from(s)];
        let count = span.end;
        span.start = next;
        span.end = next;
        next += count;
    }
    // Placing: `end` moves from each socket's start to its end.
    order.resize(queued.len(), 0);
    for (i, &slot) in slots.iter().enumerate() {
        let span = &mut spans[slot as usize];
        order[span.end] = i as u32;
        span.end += 1;
    }
    spans.sort_unstable_by_key(|s| s.start);
}

/// [`group_by_socket`] for many sockets: sorts the queue's indices.
fn group_by_sorting<R: Ord>(
    queued: &[Queued],
    rank: impl Fn(&SocketKey) -> R,
    spans: &mut Vec<Span>,
    order: &mut Vec<u32>,
) {
    spans.clear();
    order.clear();
    order.extend(0..u32::try_from(queued.len()).unwrap_or(u32::MAX));
    // Unstable sort with the queue index as the last key: no allocation.
    order.sort_unstable_by_key(|&i| (rank(&queued[i as usize].key), i));
    for (at, &i) in order.iter().enumerate() {
        let key = queued[i as usize].key;
        match spans.last_mut() {
            Some(span) if span.key == key => span.end = at + 1,
            _ => spans.push(Span {
                key,
                start: at,
                end: at + 1,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InterfaceId;
    use crate::linux::socket::{Carrier, Family};

    fn queue(interfaces: impl IntoIterator<Item = u32>) -> Vec<Queued> {
        interfaces
            .into_iter()
            .enumerate()
            .map(|(n, ifc)| Queued {
                key: (InterfaceId(ifc), Family::V4, Carrier::Vrrp),
                start: 0,
                len: 0,
                vrid: u8::try_from(n % 256).unwrap_or(0),
                dst: Ipv4Addr::UNSPECIFIED,
            })
            .collect()
    }

    fn tx(instance: u32, priority: u8) -> AdvertTx {
        AdvertTx {
            instance: crate::InstanceId(instance),
            interface: InterfaceId(2),
            vrid: 7,
            priority: crate::Priority(priority),
            interval: vrrp_proto::AdvertInterval::V3(vrrp_proto::Centiseconds::new(1).unwrap()),
            auth: crate::AuthConfig::None,
            sequence: 1,
            checksum_mode: vrrp_proto::Ipv4ChecksumMode::PseudoHeader,
            source: "10.0.0.1".parse().unwrap(),
            destination: crate::Destination::Multicast,
            addresses: crate::action::AdvertAddresses::v4(&[Ipv4Addr::new(10, 0, 0, 100)]),
        }
    }

    /// `tx` encoded from scratch with IP ident `ident`, as the driver does.
    fn encoded(tx: &AdvertTx, ident: u16) -> Vec<u8> {
        let header = vrrp_proto::Ipv4Header {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: vrrp_proto::vrrp::MULTICAST_V4,
            ident,
            ttl: 255,
            tos: vrrp_proto::ipv4::TOS_INTERNETWORK_CONTROL,
        };
        let mut buf = [0u8; 1500];
        let n =
            vrrp_proto::emit_ipv4(&mut buf, &header, &tx.repr(), tx.checksum_mode, None).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn a_kept_advert_is_sent_again_as_a_fresh_encoding_would_be() {
        let key = (InterfaceId(2), Family::V4, Carrier::Vrrp);
        let first = tx(3, 100);
        let mut kept = EncodedAdverts::default();
        assert!(EncodedAdverts::keeps(&first));
        assert!(kept.get(&first, key).is_none());
        kept.insert(&first, key, &encoded(&first, 1));
        // Only the AH sequence differs: the kept datagram, which with a new ident is byte for
        // byte what encoding again gives.
        let next = AdvertTx {
            sequence: 2,
            ..first.clone()
        };
        let datagrams: Vec<_> = each_datagram(kept.get(&next, key).unwrap()).collect();
        assert_eq!(datagrams.len(), 1);
        let (dst, datagram) = datagrams[0];
        assert_eq!(dst, vrrp_proto::vrrp::MULTICAST_V4);
        let mut outbox = Outbox::default();
        outbox.push_with_ident(key, datagram, 7, dst, 0xbeef);
        assert_eq!(outbox.last().unwrap(), &encoded(&next, 0xbeef)[..]);
        // Anything else differs, or another socket: not kept.
        assert!(kept.get(&tx(3, 101), key).is_none());
        assert!(kept.get(&tx(4, 100), key).is_none());
        assert!(
            kept.get(&first, (InterfaceId(9), Family::V4, Carrier::Vrrp))
                .is_none()
        );
        let unicast = AdvertTx {
            destination: crate::Destination::Unicast(vec!["10.0.0.2".parse().unwrap()].into()),
            ..first.clone()
        };
        assert!(kept.get(&unicast, key).is_none());
        kept.clear();
        assert!(kept.get(&first, key).is_none());
        // Several destinations (unicast peers), and a list too long to hold in place.
        let many = AdvertTx {
            addresses: crate::action::AdvertAddresses::v4(
                &(1..=40)
                    .map(|i| Ipv4Addr::new(10, 1, 0, i))
                    .collect::<Vec<_>>(),
            ),
            ..first.clone()
        };
        let one = encoded(&many, 5);
        assert!(one.len() > INLINE_DATAGRAMS);
        let mut two = one.clone();
        two.extend_from_slice(&encoded(&first, 6));
        kept.insert(&many, key, &two);
        let got: Vec<_> = each_datagram(kept.get(&many, key).unwrap()).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, &one[..]);
        assert_eq!(got[1].1, &encoded(&first, 6)[..]);
        // A header that does not describe a whole datagram ends the walk.
        assert_eq!(each_datagram(&one[..30]).count(), 0);
        assert_eq!(each_datagram(&[0u8; 3]).count(), 0);
        assert_eq!(each_datagram(&[0u8; 20]).count(), 0);
        // AH adverts (sequence under the ICV) and IPv6 ones are never kept.
        let ah = AdvertTx {
            auth: crate::AuthConfig::Ah(*b"secret\0\0"),
            ..first.clone()
        };
        assert!(!EncodedAdverts::keeps(&ah));
        let v6 = AdvertTx {
            source: "fe80::1".parse().unwrap(),
            ..first
        };
        assert!(!EncodedAdverts::keeps(&v6));
    }

    fn grouped(queued: &[Queued]) -> Vec<(u32, u8)> {
        let (mut slots, mut spans, mut order) = (Vec::new(), Vec::new(), Vec::new());
        group_by_socket(queued, &mut slots, &mut spans, &mut order);
        // The spans cover `order` in order, one socket each.
        let mut at = 0;
        for span in &spans {
            assert_eq!(span.start, at);
            assert!(span.end > span.start);
            assert!(
                order[span.start..span.end]
                    .iter()
                    .all(|&i| queued[i as usize].key == span.key)
            );
            at = span.end;
        }
        assert_eq!(at, queued.len());
        order
            .iter()
            .map(|&i| (queued[i as usize].key.0.0, queued[i as usize].vrid))
            .collect()
    }

    #[test]
    fn interleaved_sockets_are_grouped_in_queue_order() {
        // 24 adverts over interfaces 3, 1, 2 in turn, as an unspread group queues them.
        let q = queue((0..24).map(|n| [3, 1, 2][n % 3]));
        let got = grouped(&q);
        let mut want: Vec<(u32, u8)> = q.iter().map(|q| (q.key.0.0, q.vrid)).collect();
        want.sort_by_key(|&(ifc, _)| ifc); // stable: queue order within an interface
        assert_eq!(got, want);
    }

    #[test]
    fn many_sockets_are_grouped_the_same_way() {
        // More sockets than FEW_SOCKETS takes the sort; the result has the same shape.
        let q = queue((0..120).map(|n| 40 - (n % 40)));
        let got = grouped(&q);
        let mut want: Vec<(u32, u8)> = q.iter().map(|q| (q.key.0.0, q.vrid)).collect();
        want.sort_by_key(|&(ifc, _)| ifc);
        assert_eq!(got, want);
    }

    #[test]
    fn any_queue_is_grouped_as_a_stable_sort_by_socket_would() {
        let mut rng = crate::sim::Rng::new(0x9e37_79b9_7f4a_7c15);
        let mut rand = move |n: u64| rng.below(n);
        for round in 0..500 {
            let len = rand(130) as usize;
            // Few sockets (counting) or many (sort), families and carriers mixed.
            let interfaces = if round % 2 == 0 { 5 } else { 30 };
            let mut q = queue((0..len).map(|_| rand(interfaces) as u32));
            for item in &mut q {
                if rand(4) == 0 {
                    item.key.1 = Family::V6;
                }
                if rand(5) == 0 {
                    item.key.2 = Carrier::Ah;
                }
            }
            let rank = |k: &SocketKey| (k.0.0, k.1 == Family::V6, k.2 == Carrier::Ah);
            let mut want: Vec<usize> = (0..q.len()).collect();
            want.sort_by_key(|&i| rank(&q[i].key));
            let want: Vec<(u32, u8)> = want.iter().map(|&i| (q[i].key.0.0, q[i].vrid)).collect();
            assert_eq!(grouped(&q), want, "round {round}");
        }
    }

    #[test]
    fn vrrp_before_ah_and_ipv4_before_ipv6_on_one_interface() {
        let mut q = queue([5, 5, 5]);
        q[0].key.2 = Carrier::Ah;
        q[1].key.1 = Family::V6;
        let got: Vec<u8> = grouped(&q).into_iter().map(|(_, vrid)| vrid).collect();
        assert_eq!(got, [2, 0, 1]);
    }

    #[test]
    fn encode_always_hands_out_a_zeroed_buffer() {
        let mut out = Outbox::default();
        let key = (InterfaceId(1), Family::V4, Carrier::Vrrp);
        let dst = Ipv4Addr::new(224, 0, 0, 18);
        let write_ones = |n: usize| {
            move |buf: &mut [u8]| {
                assert!(buf.iter().all(|&b| b == 0), "the buffer must start zeroed");
                buf[..n].fill(1);
                Ok::<usize, ()>(n)
            }
        };
        assert_eq!(out.encode(key, 1, dst, write_ones(200)), Ok(()));
        assert_eq!(out.encode(key, 2, dst, write_ones(40)), Ok(()));
        // A failure after writing leaves no trace in the buffer or the queue.
        let failing = |buf: &mut [u8]| {
            buf[1000] = 7;
            Err::<usize, ()>(())
        };
        assert_eq!(out.encode(key, 3, dst, failing), Err(()));
        assert_eq!(out.encode(key, 4, dst, write_ones(60)), Ok(()));
        assert_eq!(out.queued.len(), 3);
        assert_eq!(out.bytes.len(), 300);
        assert!(out.bytes.iter().all(|&b| b == 1));
    }
}
