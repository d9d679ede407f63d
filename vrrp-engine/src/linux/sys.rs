//! The few system calls the driver needs that `socket2` does not wrap: link-layer socket
//! addresses for `AF_PACKET`, interface name lookup, and entering a network namespace.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
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
