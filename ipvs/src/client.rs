//! The netlink client: one socket, the family resolved once, batched changes.

use std::net::IpAddr;

use netlink_packet_core::{
    Emitable, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer,
    NetlinkMessage, Nla, ParseableParametrized,
};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};

use crate::error::{Error, KernelError, Result};
use crate::nl::{self, CmdAttr, Command, FAMILY_NAME, FAMILY_VERSION, kind};
use crate::types::{Destination, Info, Service, ServiceId, SyncDaemon, SyncState, Timeouts};

/// `NLM_F_DUMP_INTR`: the table changed during the dump.
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLMSG_HDRLEN: usize = 16;
/// nlctrl's `CTRL_CMD_GETFAMILY`, for error messages.
const CTRL_CMD_GETFAMILY: u8 = 3;
const GENL_HDRLEN: usize = 4;
/// Receive buffer per `recv`: larger than any skb the kernel builds for a dump (32 KiB).
const RX_BUF: usize = 128 * 1024;
/// Bytes of requests per `send`, well under the default socket send buffer.
const BATCH_BYTES: usize = 64 * 1024;
/// Socket receive buffer we ask for; the kernel caps it at `net.core.rmem_max`.
const RCVBUF_WANT: usize = 4 << 20;
/// How long a call waits for each reply datagram by default.
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Receive-buffer space one error acknowledgement occupies (its skb's true size,
/// generously): a batch never has more messages than the buffer has room for failures.
const ACK_TRUESIZE: usize = 1024;

/// A change to the IPVS table: one message in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Add a service (fails with [`crate::ErrorKind::Exists`] if present).
    AddService(Service),
    /// Edit a service in place: scheduler, flags, timeout, netmask, persistence engine.
    EditService(Service),
    /// Delete a service and its destinations.
    DeleteService(ServiceId),
    /// Add a destination to a service.
    AddDestination(ServiceId, Destination),
    /// Edit a destination in place: forwarding, weight, thresholds.
    EditDestination(ServiceId, Destination),
    /// Delete a destination.
    DeleteDestination {
        /// The service.
        service: ServiceId,
        /// The destination's address.
        addr: IpAddr,
        /// The destination's port.
        port: u16,
    },
}

impl Change {
    /// The command this change sends.
    pub fn command(&self) -> Command {
        match self {
            Self::AddService(_) => Command::NewService,
            Self::EditService(_) => Command::SetService,
            Self::DeleteService(_) => Command::DelService,
            Self::AddDestination(..) => Command::NewDest,
            Self::EditDestination(..) => Command::SetDest,
            Self::DeleteDestination { .. } => Command::DelDest,
        }
    }

    /// What it applies to, for messages.
    pub fn target(&self) -> String {
        let dest = |s: &ServiceId, a: &IpAddr, p: u16| match a {
            IpAddr::V4(a) => format!("{s} -> {a}:{p}"),
            IpAddr::V6(a) => format!("{s} -> [{a}]:{p}"),
        };
        match self {
            Self::AddService(s) | Self::EditService(s) => s.id.to_string(),
            Self::DeleteService(id) => id.to_string(),
            Self::AddDestination(s, d) | Self::EditDestination(s, d) => dest(s, &d.addr, d.port),
            Self::DeleteDestination {
                service,
                addr,
                port,
            } => dest(service, addr, *port),
        }
    }

    /// The top-level attributes of its message.
    pub fn attrs(&self) -> Vec<CmdAttr> {
        let service = |id: &ServiceId| CmdAttr::Service(id.to_attrs());
        match self {
            Self::AddService(s) | Self::EditService(s) => vec![CmdAttr::Service(s.to_attrs())],
            Self::DeleteService(id) => vec![service(id)],
            Self::AddDestination(s, d) | Self::EditDestination(s, d) => {
                vec![service(s), CmdAttr::Dest(d.to_attrs())]
            }
            Self::DeleteDestination {
                service: s,
                addr,
                port,
            } => vec![
                service(s),
                CmdAttr::Dest(Destination::id_attrs(*addr, *port)),
            ],
        }
    }

    /// Appends the attributes of its message to `out` without intermediate allocations
    /// (the batch path), exactly what [`Change::attrs`] describes. Fails only for a nest
    /// longer than netlink's 16-bit attribute length (names of kilobytes).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        self.encode_inner(out).map_err(Error::InvalidInput)
    }

    fn encode_inner(&self, out: &mut Vec<u8>) -> Result<(), String> {
        let service_id = |out: &mut Vec<u8>, id: &ServiceId| {
            let (a, n) = id.id_parts();
            nl::put_nest(out, kind::SERVICE, &[&a[..n]])
        };
        match self {
            Self::AddService(s) | Self::EditService(s) => {
                let (a, n) = s.id.id_parts();
                let (config, pe) = s.config_parts();
                nl::put_nest(out, kind::SERVICE, &[&a[..n], &config, pe.as_slice()])
            }
            Self::DeleteService(id) => service_id(out, id),
            Self::AddDestination(s, d) | Self::EditDestination(s, d) => {
                service_id(out, s)?;
                let (base, tunnel) = d.parts();
                let tunnel = tunnel.as_ref().map_or(&[][..], |t| &t[..]);
                nl::put_nest(out, kind::DEST, &[&base, tunnel])
            }
            Self::DeleteDestination {
                service,
                addr,
                port,
            } => {
                service_id(out, service)?;
                nl::put_nest(out, kind::DEST, &[&Destination::id_parts(*addr, *port)])
            }
        }
    }
}

/// One failed change of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeError {
    /// Its index in the slice given to [`Ipvs::apply_changes`].
    pub index: usize,
    /// What the kernel said.
    pub error: KernelError,
}

/// A connection to the kernel's IPVS: one generic-netlink socket with the `IPVS` family
/// resolved at creation. Not thread-safe by design (`&mut self`); open one per thread.
///
/// Calls block until the kernel has answered (it answers at once: the work happens in the
/// `sendmsg`). If `ip_vs` is unloaded and loaded again, the family may get another id:
/// open a new `Ipvs` then.
#[derive(Debug)]
pub struct Ipvs {
    sock: Socket,
    family: u16,
    seq: u32,
    tx: Vec<u8>,
    rx: Vec<u8>,
    batch_max: usize,
}

/// A message of a reply: type, flags, sequence number and payload.
struct Msg<'a> {
    ty: u16,
    flags: u16,
    seq: u32,
    payload: &'a [u8],
}

impl Msg<'_> {
    /// The errno of an `NLMSG_ERROR`/`NLMSG_DONE` payload (0 = success/ack).
    fn errno(&self) -> Result<i32> {
        let code = self
            .payload
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(i32::from_ne_bytes);
        match (self.ty, code) {
            (_, Some(c)) => Ok(c.checked_neg().unwrap_or(i32::MAX)),
            (NLMSG_DONE, None) => Ok(0),
            _ => Err(Error::Decode("netlink error message too short".into())),
        }
    }
    /// The attribute area of a generic-netlink message.
    fn genl_attrs(&self) -> Result<&[u8]> {
        self.payload
            .get(GENL_HDRLEN..)
            .ok_or_else(|| Error::Decode("generic netlink header missing".into()))
    }
    fn genl_cmd(&self) -> Option<u8> {
        self.payload.first().copied()
    }
}

/// The answer to a request that is not a dump.
enum Reply {
    /// `NLMSG_ERROR`: 0 acknowledges, otherwise the positive errno.
    Status(i32),
    /// A message of its own.
    Message {
        /// Its netlink type.
        ty: u16,
        /// Its payload (generic-netlink header and attributes).
        payload: Vec<u8>,
    },
}

/// Iterates the netlink messages of one datagram.
fn messages(buf: &[u8]) -> impl Iterator<Item = Result<Msg<'_>>> {
    let mut off = 0;
    std::iter::from_fn(move || {
        if off >= buf.len() {
            return None;
        }
        let nb = match NetlinkBuffer::new_checked(&buf[off..]) {
            Ok(b) => b,
            Err(e) => {
                off = buf.len();
                return Some(Err(e.into()));
            }
        };
        let len = nb.length() as usize;
        off += (len + 3) & !3;
        Some(Ok(Msg {
            ty: nb.message_type(),
            flags: nb.flags(),
            seq: nb.sequence_number(),
            payload: nb.payload(),
        }))
    })
}

impl Ipvs {
    /// Opens a socket and resolves the `IPVS` family.
    ///
    /// Fails with [`Error::FamilyMissing`] when the kernel has no IPVS (the `ip_vs` module
    /// is not loaded; the kernel may autoload it on this very request when it can).
    pub fn new() -> Result<Self> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // Error acks without the echoed request; not fatal on kernels without it.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_rx_buf_sz(RCVBUF_WANT);
        let rcvbuf = sock.get_rx_buf_sz().unwrap_or(0);
        // The kernel answers within the send; a reply that never comes must not hang a
        // daemon forever.
        socket2::SockRef::from(&sock).set_read_timeout(Some(DEFAULT_TIMEOUT))?;
        let mut this = Self {
            sock,
            family: 0,
            seq: 0,
            tx: Vec::with_capacity(BATCH_BYTES + 4096),
            rx: Vec::with_capacity(RX_BUF),
            batch_max: (rcvbuf / ACK_TRUESIZE).clamp(16, 2048),
        };
        this.family = this.resolve_family()?;
        Ok(this)
    }

    /// The family id the kernel assigned to `IPVS`.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Sets how long a call waits for each reply datagram before failing with
    /// [`Error::Io`] (`WouldBlock`); `None` waits forever. Default: 30 s.
    pub fn set_timeout(&mut self, timeout: Option<std::time::Duration>) -> Result<()> {
        socket2::SockRef::from(&self.sock).set_read_timeout(timeout)?;
        Ok(())
    }

    /// How many changes go into one `sendmsg` at most (bounded by the receive buffer).
    pub fn batch_limit(&self) -> usize {
        self.batch_max
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn resolve_family(&mut self) -> Result<u16> {
        let mut genl = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(FAMILY_NAME.to_owned())],
        });
        genl.finalize();
        let mut msg = NetlinkMessage::from(genl);
        let seq = self.next_seq();
        msg.header.flags = NLM_F_REQUEST;
        msg.header.sequence_number = seq;
        msg.finalize();
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.tx.clear();
        self.tx.extend_from_slice(&buf);
        self.flush_tx()?;
        let (ty, payload) = match self.reply(seq)? {
            Reply::Message { ty, payload } => (ty, payload),
            Reply::Status(libc::ENOENT) => return Err(Error::FamilyMissing),
            Reply::Status(errno) => {
                return Err(Error::Kernel(KernelError {
                    command: Command::Other(CTRL_CMD_GETFAMILY),
                    target: "family IPVS".into(),
                    errno,
                }));
            }
        };
        GenlMessage::<GenlCtrl>::parse_with_param(&payload, ty)?
            .payload
            .nlas
            .iter()
            .find_map(|a| match a {
                GenlCtrlAttrs::FamilyId(id) => Some(*id),
                _ => None,
            })
            .ok_or_else(|| Error::Decode("family reply without an id".into()))
    }

    /// Waits for the answer to request `seq` (replies to earlier requests are skipped).
    fn reply(&mut self, seq: u32) -> Result<Reply> {
        loop {
            self.recv()?;
            for m in messages(&self.rx) {
                let m = m?;
                if m.seq != seq {
                    continue;
                }
                return Ok(if m.ty == NLMSG_ERROR {
                    Reply::Status(m.errno()?)
                } else {
                    Reply::Message {
                        ty: m.ty,
                        payload: m.payload.to_vec(),
                    }
                });
            }
        }
    }

    /// Reads one datagram into `rx`.
    fn recv(&mut self) -> Result<()> {
        self.rx.clear();
        self.rx.reserve(RX_BUF);
        let n = loop {
            match self.sock.recv(&mut self.rx, libc::MSG_TRUNC) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(Error::Protocol(
                        "replies lost: the socket receive buffer overflowed (ENOBUFS)".into(),
                    ));
                }
                Err(e) => return Err(Error::Io(e)),
            }
        };
        if n > self.rx.len() {
            return Err(Error::Protocol(format!(
                "reply of {n} bytes truncated to {}",
                self.rx.len()
            )));
        }
        Ok(())
    }

    /// Appends one request to `tx` whose attributes `body` writes; returns its sequence
    /// number.
    fn push_with(
        &mut self,
        command: Command,
        flags: u16,
        body: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
    ) -> Result<u32> {
        let start = self.tx.len();
        self.tx.resize(start + NLMSG_HDRLEN + GENL_HDRLEN, 0);
        if let Err(e) = body(&mut self.tx) {
            self.tx.truncate(start);
            return Err(Error::InvalidInput(e));
        }
        let seq = self.next_seq();
        let len = u32::try_from(self.tx.len() - start).unwrap_or(u32::MAX);
        let b = &mut self.tx[start..start + NLMSG_HDRLEN + GENL_HDRLEN];
        b[0..4].copy_from_slice(&len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.family.to_ne_bytes());
        b[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        b[8..12].copy_from_slice(&seq.to_ne_bytes());
        b[16] = command.number();
        b[17] = FAMILY_VERSION;
        Ok(seq)
    }

    /// Appends one request with the given attributes to `tx`.
    fn push(&mut self, command: Command, flags: u16, attrs: &[CmdAttr]) -> Result<u32> {
        self.push_with(command, flags, |out| {
            if let Some(a) = attrs
                .iter()
                .find(|a| u16::try_from(a.value_len() + 4).is_err())
            {
                return Err(format!(
                    "attribute {} is {} bytes, more than netlink can carry",
                    a.kind(),
                    a.value_len()
                ));
            }
            let start = out.len();
            out.resize(start + attrs.buffer_len(), 0);
            attrs.emit(&mut out[start..]);
            Ok(())
        })
    }

    /// Sends `tx`.
    fn flush_tx(&mut self) -> Result<()> {
        let n = loop {
            match self.sock.send(&self.tx, 0) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        };
        if n != self.tx.len() {
            return Err(Error::Protocol(format!(
                "short send: {n} of {}",
                self.tx.len()
            )));
        }
        Ok(())
    }

    /// Applies `changes` in order, many per `sendmsg`. The kernel acknowledges only
    /// failures and the last message of each batch, so a batch costs one `send` and one
    /// `recv` plus one `recv` per failure. A failed change does not stop the others.
    ///
    /// Returns the failures (empty when everything applied); `Err` only when the socket
    /// itself failed, in which case the outcome of the current batch is unknown.
    pub fn apply_changes(&mut self, changes: &[Change]) -> Result<Vec<ChangeError>> {
        let mut failures = Vec::new();
        let mut start = 0;
        while start < changes.len() {
            self.tx.clear();
            // (sequence number, index into `changes`) of each message sent.
            let mut seqs: Vec<(u32, usize)> = Vec::new();
            let mut end = start;
            while end < changes.len() && end - start < self.batch_max && self.tx.len() < BATCH_BYTES
            {
                let change = &changes[end];
                match self.push_with(change.command(), 0, |out| change.encode_inner(out)) {
                    Ok(seq) => seqs.push((seq, end)),
                    // Too large to encode (a name of kilobytes): refused like the kernel
                    // would refuse an oversized message, without stopping the others.
                    Err(_) => failures.push(ChangeError {
                        index: end,
                        error: KernelError {
                            command: change.command(),
                            target: change.target(),
                            errno: libc::EMSGSIZE,
                        },
                    }),
                }
                end += 1;
            }
            // Ask for an ack on the last message: once it arrives, every earlier message
            // of the batch has been processed (the kernel handles them in order).
            let Some(&(last_seq, _)) = seqs.last() else {
                start = end;
                continue;
            };
            self.set_ack_on_last();
            self.flush_tx()?;
            let first_seq = seqs[0].0;
            'wait: loop {
                self.recv()?;
                for m in messages(&self.rx) {
                    let m = m?;
                    let idx = m.seq.wrapping_sub(first_seq) as usize;
                    if m.ty != NLMSG_ERROR || idx >= seqs.len() {
                        continue; // stale reply of an earlier, failed batch
                    }
                    let errno = m.errno()?;
                    if errno != 0 {
                        let index = seqs[idx].1;
                        let c = &changes[index];
                        failures.push(ChangeError {
                            index,
                            error: KernelError {
                                command: c.command(),
                                target: c.target(),
                                errno,
                            },
                        });
                    }
                    if m.seq == last_seq {
                        break 'wait;
                    }
                }
            }
            start = end;
        }
        failures.sort_by_key(|f| f.index);
        Ok(failures)
    }

    /// Sets `NLM_F_ACK` on the last message in `tx`.
    fn set_ack_on_last(&mut self) {
        let mut off = 0;
        let mut last = None;
        while off + NLMSG_HDRLEN <= self.tx.len() {
            let len = u32::from_ne_bytes([
                self.tx[off],
                self.tx[off + 1],
                self.tx[off + 2],
                self.tx[off + 3],
            ]) as usize;
            last = Some(off);
            off += (len + 3) & !3;
            if len == 0 {
                break;
            }
        }
        if let Some(o) = last {
            let f = u16::from_ne_bytes([self.tx[o + 6], self.tx[o + 7]]) | NLM_F_ACK;
            self.tx[o + 6..o + 8].copy_from_slice(&f.to_ne_bytes());
        }
    }

    /// One change; its failure becomes the error.
    fn apply_one(&mut self, change: &Change) -> Result<()> {
        match self.apply_changes(std::slice::from_ref(change))?.pop() {
            Some(f) => Err(Error::Kernel(f.error)),
            None => Ok(()),
        }
    }

    /// Sends a command that needs only an ack.
    fn command(
        &mut self,
        command: Command,
        attrs: &[CmdAttr],
        target: &dyn std::fmt::Display,
    ) -> Result<()> {
        self.tx.clear();
        let seq = self.push(command, NLM_F_ACK, attrs)?;
        self.flush_tx()?;
        match self.reply(seq)? {
            Reply::Status(0) => Ok(()),
            Reply::Status(errno) => Err(Error::Kernel(KernelError {
                command,
                target: target.to_string(),
                errno,
            })),
            Reply::Message { .. } => Err(Error::Protocol(format!(
                "{command}: a message where an acknowledgement was expected"
            ))),
        }
    }

    /// Sends a `get` command and returns the attributes of its one reply.
    fn get(
        &mut self,
        command: Command,
        attrs: &[CmdAttr],
        target: &dyn std::fmt::Display,
    ) -> Result<Vec<u8>> {
        self.tx.clear();
        let seq = self.push(command, 0, attrs)?;
        self.flush_tx()?;
        match self.reply(seq)? {
            Reply::Message { payload, .. } => payload
                .get(GENL_HDRLEN..)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| Error::Decode("generic netlink header missing".into())),
            Reply::Status(errno) => Err(Error::Kernel(KernelError {
                command,
                target: target.to_string(),
                errno: if errno == 0 { libc::ENODATA } else { errno },
            })),
        }
    }

    /// Runs a dump and decodes each reply message with `parse` (given its attribute area).
    /// Retries (up to three times) when the kernel flags the dump as interrupted by a
    /// concurrent change.
    fn dump<T>(
        &mut self,
        command: Command,
        attrs: &[CmdAttr],
        target: &dyn std::fmt::Display,
        mut parse: impl FnMut(&[u8]) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut out = Vec::new();
            self.tx.clear();
            let seq = self.push(command, NLM_F_DUMP, attrs)?;
            self.flush_tx()?;
            let mut interrupted = false;
            'recv: loop {
                self.recv()?;
                for m in messages(&self.rx) {
                    let m = m?;
                    if m.seq != seq {
                        continue;
                    }
                    interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
                    match m.ty {
                        NLMSG_DONE | NLMSG_ERROR => {
                            let errno = m.errno()?;
                            if errno != 0 {
                                return Err(Error::Kernel(KernelError {
                                    command,
                                    target: target.to_string(),
                                    errno,
                                }));
                            }
                            break 'recv;
                        }
                        t if t == self.family && m.genl_cmd().is_some() => {
                            out.push(parse(m.genl_attrs()?)?);
                        }
                        _ => {}
                    }
                }
            }
            if !interrupted || attempts >= 3 {
                return if interrupted {
                    Err(Error::Protocol(format!(
                        "{command} was interrupted by concurrent changes three times"
                    )))
                } else {
                    Ok(out)
                };
            }
        }
    }

    /// Runs any dump and returns the attribute area (after the generic-netlink header) of
    /// each reply message, undecoded: for debugging and for capturing kernel replies.
    pub fn dump_raw(&mut self, command: Command, attrs: &[CmdAttr]) -> Result<Vec<Vec<u8>>> {
        self.dump(command, attrs, &"", |a| Ok(a.to_vec()))
    }

    /// Lists every service (`ipvsadm -Ln` without the destinations).
    pub fn services(&mut self) -> Result<Vec<Service>> {
        self.dump(Command::GetService, &[], &"", |attrs| {
            let nest = nl::find_attr(attrs, kind::SERVICE)?
                .ok_or_else(|| Error::Decode("service dump message without a service".into()))?;
            Ok(Service::parse_nest(nest)?)
        })
    }

    /// Reads one service.
    pub fn service(&mut self, id: &ServiceId) -> Result<Service> {
        let attrs = self.get(Command::GetService, &[CmdAttr::Service(id.to_attrs())], id)?;
        let nest = nl::find_attr(&attrs, kind::SERVICE)?
            .ok_or_else(|| Error::Decode("service reply without a service".into()))?;
        Ok(Service::parse_nest(nest)?)
    }

    /// Lists the destinations of a service.
    pub fn destinations(&mut self, id: &ServiceId) -> Result<Vec<Destination>> {
        let family = id.family();
        self.dump(
            Command::GetDest,
            &[CmdAttr::Service(id.to_attrs())],
            id,
            |attrs| {
                let nest = nl::find_attr(attrs, kind::DEST)?.ok_or_else(|| {
                    Error::Decode("destination dump message without a destination".into())
                })?;
                Ok(Destination::parse_nest(nest, family)?)
            },
        )
    }

    /// Adds a service.
    pub fn add_service(&mut self, service: &Service) -> Result<()> {
        self.apply_one(&Change::AddService(service.clone()))
    }
    /// Edits a service in place (its connections and destinations stay).
    pub fn edit_service(&mut self, service: &Service) -> Result<()> {
        self.apply_one(&Change::EditService(service.clone()))
    }
    /// Deletes a service and its destinations.
    pub fn delete_service(&mut self, id: &ServiceId) -> Result<()> {
        self.apply_one(&Change::DeleteService(*id))
    }
    /// Adds a destination.
    pub fn add_destination(&mut self, service: &ServiceId, dest: &Destination) -> Result<()> {
        self.apply_one(&Change::AddDestination(*service, dest.clone()))
    }
    /// Edits a destination in place.
    pub fn edit_destination(&mut self, service: &ServiceId, dest: &Destination) -> Result<()> {
        self.apply_one(&Change::EditDestination(*service, dest.clone()))
    }
    /// Deletes a destination.
    pub fn delete_destination(
        &mut self,
        service: &ServiceId,
        addr: IpAddr,
        port: u16,
    ) -> Result<()> {
        self.apply_one(&Change::DeleteDestination {
            service: *service,
            addr,
            port,
        })
    }

    /// Lists the running sync daemons.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        self.dump(Command::GetDaemon, &[], &"", |attrs| {
            let nest = nl::find_attr(attrs, kind::DAEMON)?
                .ok_or_else(|| Error::Decode("daemon dump message without a daemon".into()))?;
            Ok(SyncDaemon::parse_nest(nest)?)
        })
    }
    /// Starts a sync daemon.
    pub fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<()> {
        let target = format!(
            "{:?} on {} id {}",
            daemon.state, daemon.interface, daemon.sync_id
        );
        self.command(
            Command::NewDaemon,
            &[CmdAttr::Daemon(daemon.to_attrs())],
            &target,
        )
    }
    /// Stops the sync daemon of a role.
    pub fn stop_daemon(&mut self, state: SyncState) -> Result<()> {
        self.command(
            Command::DelDaemon,
            &[CmdAttr::Daemon(vec![nl::DaemonAttr::State(state.number())])],
            &format_args!("{state:?}"),
        )
    }

    /// Reads the connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts> {
        let attrs = self.get(Command::GetConfig, &[], &"")?;
        let mut t = Timeouts::default();
        for a in netlink_packet_core::NlasIterator::new(attrs.as_slice()) {
            let a = a?;
            match CmdAttr::parse_for(Command::SetConfig, &a)? {
                CmdAttr::TimeoutTcp(v) => t.tcp = v,
                CmdAttr::TimeoutTcpFin(v) => t.tcp_fin = v,
                CmdAttr::TimeoutUdp(v) => t.udp = v,
                _ => {}
            }
        }
        Ok(t)
    }
    /// Sets the connection timeouts (0 leaves a value unchanged).
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<()> {
        self.command(
            Command::SetConfig,
            &[
                CmdAttr::TimeoutTcp(t.tcp),
                CmdAttr::TimeoutTcpFin(t.tcp_fin),
                CmdAttr::TimeoutUdp(t.udp),
            ],
            &"",
        )
    }

    /// Reads the IPVS version and connection table size.
    pub fn info(&mut self) -> Result<Info> {
        let attrs = self.get(Command::GetInfo, &[], &"")?;
        let mut info = Info {
            version: (0, 0, 0),
            conn_table_size: 0,
        };
        for a in netlink_packet_core::NlasIterator::new(attrs.as_slice()) {
            match CmdAttr::parse_for(Command::SetInfo, &a?)? {
                CmdAttr::InfoVersion(v) => {
                    info.version = ((v >> 16) as u8, (v >> 8) as u8, v as u8);
                }
                CmdAttr::InfoConnTableSize(v) => info.conn_table_size = v,
                _ => {}
            }
        }
        Ok(info)
    }

    /// Zeroes the counters of one service, or of all when `None`.
    pub fn zero(&mut self, service: Option<&ServiceId>) -> Result<()> {
        match service {
            Some(id) => self.command(Command::Zero, &[CmdAttr::Service(id.to_attrs())], id),
            None => self.command(Command::Zero, &[], &""),
        }
    }

    /// Deletes every service and destination (`ipvsadm -C`).
    ///
    /// The kernel keeps deleted destinations for minutes and scans them on every later add:
    /// to change a table, prefer [`crate::plan`] and [`Ipvs::apply_changes`], which edit in place.
    pub fn flush(&mut self) -> Result<()> {
        self.command(Command::Flush, &[], &"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Family, Forward, Scheduler, Tunnel, TunnelType};

    #[test]
    fn batch_encoding_matches_the_attribute_model() {
        let v4 = ServiceId::tcp("10.0.0.1".parse().unwrap(), 80);
        let fw = ServiceId::Fwmark {
            family: Family::Ipv6,
            mark: 3,
        };
        let mut pe = Service::new(fw, Scheduler::Other("xyz".into())).persistent(30);
        pe.persistence_engine = Some("sip".into());
        let gue = Destination::new(
            "2001:db8::1".parse().unwrap(),
            0,
            Forward::Tunnel(Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                flags: Tunnel::REMCSUM,
            }),
        );
        let changes = [
            Change::AddService(Service::new(v4, Scheduler::RoundRobin)),
            Change::EditService(pe),
            Change::DeleteService(fw),
            Change::AddDestination(fw, gue.clone()),
            Change::EditDestination(
                v4,
                Destination::new("10.1.1.1".parse().unwrap(), 80, Forward::DirectRoute),
            ),
            Change::DeleteDestination {
                service: v4,
                addr: gue.addr,
                port: 0,
            },
        ];
        for c in &changes {
            let mut fast = Vec::new();
            c.encode(&mut fast).unwrap();
            let attrs = c.attrs();
            let mut model = vec![0; attrs.as_slice().buffer_len()];
            attrs.as_slice().emit(&mut model);
            assert_eq!(fast, model, "{c:?}");
        }
    }
}
