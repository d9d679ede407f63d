//! The few system calls the driver needs that `socket2` does not wrap: link-layer socket
//! addresses for `AF_PACKET`, interface name lookup, entering a network namespace, and giving
//! memory back (the heap's free pages, the start-up code's resident pages).
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;

use socket2::SockAddr;

/// A `sockaddr_ll` for sending a frame of `protocol` (host order) out of `ifindex`.
pub(crate) fn link_layer_addr(ifindex: u32, protocol: u16) -> io::Result<SockAddr> {
    let ifindex =
        i32::try_from(ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the closure writes a `sockaddr_ll` into storage that is at least as large as any
    // socket address (`sockaddr_storage`), and reports exactly that size.
    let ((), addr) = unsafe {
        SockAddr::try_init(|storage, len| {
            let ll = storage.cast::<libc::sockaddr_ll>();
            (*ll).sll_family = libc::AF_PACKET as libc::sa_family_t;
            (*ll).sll_protocol = protocol.to_be();
            (*ll).sll_ifindex = ifindex;
            (*ll).sll_halen = 6;
            *len = core::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            Ok(())
        })
    }?;
    Ok(addr)
}

/// The index of the interface called `name`.
pub fn if_index(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(index)
    }
}

/// Moves the calling thread into the network namespace opened as `ns` (a file under
/// `/var/run/netns` or `/proc/PID/ns/net`). Only this thread changes namespace; sockets it
/// creates afterwards belong to `ns`.
pub fn enter_netns(ns: &std::fs::File) -> io::Result<()> {
    // SAFETY: setns takes a descriptor that `ns` keeps open for the duration of the call.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets an integer socket option that `socket2` does not wrap (`IPV6_RECVPKTINFO`).
pub(crate) fn set_int_option(
    socket: &socket2::Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the option value is a live `c_int` and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            core::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `recvmsg` into initialised buffers: returns the data length, the control length and the
/// sender's address. Truncated data or control messages are reported as such by the lengths.
pub(crate) fn recvmsg(
    socket: &socket2::Socket,
    buf: &mut [u8],
    control: &mut [u8],
) -> io::Result<(usize, usize, SockAddr)> {
    use core::mem::MaybeUninit;
    // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and recvmsg only writes
    // initialised bytes into them, so the slices stay fully initialised.
    let (data, ctl) = unsafe {
        (
            &mut *(core::ptr::from_mut::<[u8]>(buf) as *mut [MaybeUninit<u8>]),
            &mut *(core::ptr::from_mut::<[u8]>(control) as *mut [MaybeUninit<u8>]),
        )
    };
    let mut from = SockAddr::from(std::net::SocketAddrV6::new(
        std::net::Ipv6Addr::UNSPECIFIED,
        0,
        0,
        0,
    ));
    let mut slices = [socket2::MaybeUninitSlice::new(data)];
    let mut msg = socket2::MsgHdrMut::new()
        .with_addr(&mut from)
        .with_buffers(&mut slices)
        .with_control(ctl);
    let n = socket.recvmsg(&mut msg, 0)?;
    let control_len = msg.control_len();
    Ok((n, control_len, from))
}

/// Most datagrams one [`sendmmsg_v4`] or [`recvmmsg`] call moves (the headers live on the stack,
/// so the per-advert path allocates nothing).
pub(crate) const MMSG_BATCH: usize = 64;

/// An all-zero `mmsghdr`: no name, no data, no control buffer, no flags.
fn empty_mmsghdr() -> libc::mmsghdr {
    // SAFETY: `mmsghdr` is plain data (pointers and integers), for which all zeroes is a valid
    // value.
    unsafe { core::mem::zeroed() }
}

/// `sendmmsg(2)` of IPv4 datagrams to their destinations (port 0, as raw sockets want), at most
/// [`MMSG_BATCH`] per call: returns how many the kernel took, or the error of the first.
pub(crate) fn sendmmsg_v4<'d>(
    socket: &socket2::Socket,
    datagrams: impl IntoIterator<Item = (&'d [u8], std::net::Ipv4Addr)>,
) -> io::Result<usize> {
    // Only the headers of this call's datagrams are written (a burst is often 13-16 of up to
    // 64): zeroing all of them on every call was a tenth of the sending loop's user time.
    let mut addrs = [const { MaybeUninit::<libc::sockaddr_in>::uninit() }; MMSG_BATCH];
    let mut iovs = [const { MaybeUninit::<libc::iovec>::uninit() }; MMSG_BATCH];
    let mut msgs = [const { MaybeUninit::<libc::mmsghdr>::uninit() }; MMSG_BATCH];
    let mut count = 0;
    for (i, (d, dst)) in datagrams.into_iter().take(MMSG_BATCH).enumerate() {
        let addr = addrs[i].write(libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(dst.octets()),
            },
            sin_zero: [0; 8],
        });
        let iov = iovs[i].write(libc::iovec {
            // sendmmsg only reads through iov_base; the type says *mut for recvmmsg's sake.
            iov_base: d.as_ptr().cast_mut().cast(),
            iov_len: d.len(),
        });
        let mut msg = empty_mmsghdr();
        msg.msg_hdr.msg_name = core::ptr::from_mut(addr).cast();
        msg.msg_hdr.msg_namelen = core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        msg.msg_hdr.msg_iov = core::ptr::from_mut(iov);
        msg.msg_hdr.msg_iovlen = 1;
        msgs[i].write(msg);
        count = i + 1;
    }
    if count == 0 {
        return Ok(0);
    }
    // SAFETY: the kernel reads the first `count` headers, all written above; they point into
    // `addrs`, `iovs` and the caller's datagrams, all alive and unmoved for the call.
    let n = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            msgs.as_mut_ptr().cast::<libc::mmsghdr>(),
            count as libc::c_uint,
            0,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Room for one datagram's control messages in [`recvmmsg`]: an `SCM_TIMESTAMPNS` takes 32
/// bytes on 64-bit Linux.
pub(crate) const RX_CONTROL: usize = 64;

/// `recvmmsg(2)` without waiting: up to `N` datagrams into consecutive `slot`-byte slices of
/// `buf` (datagram `i` in `buf[i * slot..]`, its length in `lens[i]`, cut to `slot`), and each
/// one's control messages into the [`RX_CONTROL`]-byte slice `i` of `control` (their length in
/// `control_lens[i]`; none when `control` is empty). Returns how many were read; `WouldBlock`
/// when none was waiting. The headers live on the stack, `N` of them, all zeroed on every call:
/// the caller's batch size, not a larger fixed one, keeps that cheap when the daemon wakes for
/// every datagram.
pub(crate) fn recvmmsg<const N: usize>(
    socket: &socket2::Socket,
    buf: &mut [u8],
    slot: usize,
    lens: &mut [usize; N],
    control: &mut [u8],
    control_lens: &mut [usize; N],
) -> io::Result<usize> {
    let count = N.min(buf.len() / slot.max(1)).min(MMSG_BATCH);
    if count == 0 {
        return Ok(0);
    }
    let mut iovs = [libc::iovec {
        iov_base: core::ptr::null_mut(),
        iov_len: 0,
    }; N];
    let mut msgs: [libc::mmsghdr; N] = core::array::from_fn(|_| empty_mmsghdr());
    for (i, chunk) in buf.chunks_exact_mut(slot).take(count).enumerate() {
        iovs[i].iov_base = chunk.as_mut_ptr().cast();
        iovs[i].iov_len = chunk.len();
        msgs[i].msg_hdr.msg_iov = &raw mut iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    let controls = control
        .chunks_exact_mut(RX_CONTROL)
        .zip(control_lens.iter())
        .take(count);
    for (i, (chunk, _)) in controls.enumerate() {
        msgs[i].msg_hdr.msg_control = chunk.as_mut_ptr().cast();
        msgs[i].msg_hdr.msg_controllen = RX_CONTROL as _;
    }
    // SAFETY: the first `count` headers each point at one iovec of `iovs`, each covering a
    // distinct `slot`-byte part of `buf`, and (when given) at a distinct `RX_CONTROL`-byte part
    // of `control`; all live and unmoved for the call. The kernel writes only bytes (into
    // initialised memory) and the lengths and flags of the headers.
    let n = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            msgs.as_mut_ptr(),
            count as libc::c_uint,
            libc::MSG_DONTWAIT,
            core::ptr::null_mut(),
        )
    };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    for (len, m) in lens.iter_mut().zip(&msgs[..n]) {
        *len = (m.msg_len as usize).min(slot);
    }
    for (len, m) in control_lens.iter_mut().zip(&msgs[..n]) {
        // `msg_controllen` is a `size_t` on glibc and musl alike.
        #[allow(clippy::unnecessary_cast)]
        let n = m.msg_hdr.msg_controllen as usize;
        *len = n.min(RX_CONTROL);
    }
    Ok(n)
}

/// Gives the heap's free memory back to the kernel (glibc's `malloc_trim(0)`, which also
/// releases free pages inside the heap): start-up (parsing, mapping, the first netlink round)
/// leaves freed blocks that would otherwise stay resident for the daemon's lifetime.
pub fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim takes no pointers; it only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Unmaps the resident pages of the program's own code and constants (its read-only
/// mappings of the executable) from this process; whatever runs next faults its pages back in
/// from the page cache.
///
/// Start-up (argument and configuration parsing, the first netlink dumps) touches code and
/// constants that are never used again, and the kernel maps file pages in 64 KB windows around
/// each page touched (fault-around), so they would stay resident (and in the process's PSS) for
/// the daemon's lifetime. For a process whose later work is not latency-critical (the
/// keepalived parent, after start-up): the cost is a few dozen soft page faults as the running
/// code comes back, which a VRRP process would pay at its next takeover.
///
/// Only read-only private mappings of the executable that hold no private copy of a page
/// (`Anonymous: 0 kB`: the relocated `RELRO` part has some, and is left alone) are touched:
/// `MADV_DONTNEED` then only drops page-table entries, and every later access reads the same
/// bytes of the file again. (A debugger's software breakpoints are private copies: a mapping
/// holding one is left alone too.) Best effort: any failure leaves everything resident, and so
/// does [`lock_memory`] (`MADV_DONTNEED` refuses locked pages).
///
/// The trade-off: code not mapped by any process is easier for the kernel to evict from the
/// page cache under memory pressure, so the first run of a rarely used path (a takeover after
/// a long quiet time) may then read its pages from disk; `vrrp_no_swap` ([`lock_memory`])
/// rules that out.
pub fn release_code() {
    let here = release_code as *const () as usize;
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for (start, end) in program_read_only(&smaps, here) {
        // SAFETY: [start, end) is a whole read-only, file-backed private mapping of this
        // executable with no private page (from /proc/self/smaps): MADV_DONTNEED on it
        // discards no data (its pages are unmodified copies of the file, faulted in again on
        // access) and unmaps nothing.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Locks all of this process's memory in RAM, present and future (`mlockall(MCL_CURRENT |
/// MCL_FUTURE)`), or undoes that (`munlockall`): keepalived's `vrrp_no_swap`. Locked, the code
/// of a rarely used path (a takeover) can never be paged out or dropped from the page cache, at
/// the price of the whole program and its heap staying resident ([`release_code`] then
/// releases nothing). Needs `CAP_IPC_LOCK` or a large enough `RLIMIT_MEMLOCK`.
///
/// # Errors
/// The system error of `mlockall` (`ENOMEM`: over `RLIMIT_MEMLOCK`, `EPERM`).
pub fn lock_memory(lock: bool) -> std::io::Result<()> {
    // SAFETY: mlockall/munlockall take flags only and change no memory contents.
    let rc = unsafe {
        if lock {
            libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE)
        } else {
            libc::munlockall()
        }
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The read-only mappings without private pages of the file mapped executable at `code` (an
/// address of our own code), from the text of `/proc/self/smaps`.
fn program_read_only(smaps: &str, code: usize) -> Vec<(usize, usize)> {
    // A mapping: "start-end perms offset dev inode path", then "Key: value" lines.
    struct Mapping<'a> {
        range: (usize, usize),
        perms: &'a str,
        file: &'a str,
        anonymous: Option<u64>,
    }
    let mut maps: Vec<Mapping<'_>> = Vec::new();
    for line in smaps.lines() {
        let mut f = line.split_ascii_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            let perms = f.next().unwrap_or("");
            let file = f.nth(3).unwrap_or("");
            maps.push(Mapping {
                range: (a, b),
                perms,
                file,
                anonymous: None,
            });
        } else if first == "Anonymous:"
            && let Some(m) = maps.last_mut()
        {
            m.anonymous = f.next().and_then(|v| v.parse().ok());
        }
    }
    let Some(program) = maps
        .iter()
        .find(|m| (m.range.0..m.range.1).contains(&code) && m.perms.starts_with("r-x"))
        .map(|m| m.file)
        .filter(|f| f.starts_with('/'))
    else {
        return Vec::new();
    };
    maps.iter()
        .filter(|m| {
            m.file == program && matches!(m.perms, "r-xp" | "r--p") && m.anonymous == Some(0)
        })
        .map(|m| m.range)
        .collect()
}

/// An inotify instance (non-blocking, close-on-exec), for `track_file`.
#[derive(Debug)]
pub(crate) struct Inotify {
    fd: std::os::fd::OwnedFd,
}

/// The events a `track_file` watch on a directory asks for: a file written and closed, or
/// moved into or out of the directory, or deleted.
pub(crate) const TRACK_FILE_EVENTS: u32 =
    libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO | libc::IN_MOVED_FROM | libc::IN_DELETE;

impl Inotify {
    /// `inotify_init1(IN_NONBLOCK | IN_CLOEXEC)`.
    pub(crate) fn new() -> io::Result<Inotify> {
        use std::os::fd::FromRawFd;
        // SAFETY: no pointer arguments; a non-negative result is a new descriptor we own.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        Ok(Inotify {
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watches `path` for `mask`; returns the watch descriptor.
    pub(crate) fn add_watch(&self, path: &std::path::Path, mask: u32) -> io::Result<i32> {
        use std::os::unix::ffi::OsStrExt;
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), mask) };
        if wd < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(wd)
        }
    }

    /// Removes watch `wd` (errors are ignored: the watch may already be gone).
    pub(crate) fn rm_watch(&self, wd: i32) {
        // SAFETY: plain integers.
        let _ = unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), wd) };
    }

    /// Reads pending events into `buf`; `Ok(0)` when none are pending.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n.unsigned_abs());
        }
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            Ok(0)
        } else {
            Err(e)
        }
    }
}

impl AsRawFd for Inotify {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

/// Splits a buffer of `struct inotify_event`s into `(watch descriptor, name)` pairs (the name
/// without its NUL padding; empty for an event on the watched object itself).
pub(crate) fn inotify_events(buf: &[u8]) -> Vec<(i32, Vec<u8>)> {
    const HEADER: usize = 16; // wd, mask, cookie, len: four 32-bit fields
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(h) = buf.get(at..at + HEADER) {
        let word = |i: usize| u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let wd = word(0).cast_signed();
        let len = word(12) as usize;
        let Some(name) = buf.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        out.push((wd, name[..end].to_vec()));
        at += HEADER + len;
    }
    out
}

/// Makes this process the reaper of its orphaned descendants (`PR_SET_CHILD_SUBREAPER`), so
/// that a test lab can reap a killed daemon's grandchildren instead of leaving zombies that
/// look alive to a pidfile check.
#[cfg(feature = "testlab")]
pub(crate) fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument and touches no memory of ours.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reaps child `pid` if it has exited (`waitpid` with `WNOHANG`): `Ok(true)` once it is gone
/// (reaped now, or not our child at all), `Ok(false)` while it still runs.
#[cfg(feature = "testlab")]
pub(crate) fn reap(pid: u32) -> io::Result<bool> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer for the duration of the call.
    let rc = unsafe { libc::waitpid(pid, &raw mut status, libc::WNOHANG) };
    match rc {
        0 => Ok(false),
        r if r > 0 => Ok(true),
        _ => {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ECHILD) {
                Ok(true)
            } else {
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Resident kB of the mapping that holds [`release_code`].
    fn code_rss() -> u64 {
        let here = release_code as *const () as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ')
                && let Some((a, b)) = range.split_once('-')
                && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                inside = (a..b).contains(&here);
            } else if inside && let Some(kb) = line.strip_prefix("Rss:") {
                return kb.trim().trim_end_matches(" kB").parse().unwrap();
            }
        }
        panic!("no mapping holds release_code")
    }

    #[test]
    fn only_clean_read_only_mappings_of_the_program() {
        let smaps = "\
55d0000000-55d0001000 r--p 00000000 08:01 42 /usr/sbin/keepalived
Rss:                   4 kB
Anonymous:             0 kB
55d0001000-55d0100000 r-xp 00001000 08:01 42 /usr/sbin/keepalived
Anonymous:             0 kB
55d0100000-55d0108000 r--p 00100000 08:01 42 /usr/sbin/keepalived
Anonymous:            32 kB
55d0108000-55d0109000 rw-p 00108000 08:01 42 /usr/sbin/keepalived
Anonymous:             4 kB
7f00000000-7f00100000 r-xp 00000000 08:01 77 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7ffd000000-7ffd021000 rw-p 00000000 00:00 0 [stack]
Anonymous:           132 kB
";
        assert_eq!(
            program_read_only(smaps, 0x55_d000_2000),
            vec![
                (0x55_d000_0000, 0x55_d000_1000),
                (0x55_d000_1000, 0x55_d010_0000)
            ]
        );
        // A breakpoint (a private copy) in the code: the code is left alone.
        let patched = smaps.replacen(
            "Anonymous:             0 kB\n55d0100000",
            "Anonymous:             4 kB\n55d0100000",
            1,
        );
        assert_eq!(
            program_read_only(&patched, 0x55_d000_2000),
            vec![(0x55_d000_0000, 0x55_d000_1000)]
        );
        assert!(program_read_only(smaps, 0x1234).is_empty());
    }

    #[test]
    fn released_code_runs_again_and_was_released() {
        let sum = |n: u64| (1..=n).sum::<u64>();
        assert_eq!(sum(100), 5050);
        let before = code_rss();
        assert!(
            !program_read_only(
                &std::fs::read_to_string("/proc/self/smaps").unwrap(),
                release_code as *const () as usize
            )
            .is_empty()
        );
        release_code();
        // Everything from here runs from pages faulted in again.
        let after = code_rss();
        assert!(after < before, "resident code {before} kB -> {after} kB");
        assert_eq!(format!("{}", sum(10)), "55");
    }
}
