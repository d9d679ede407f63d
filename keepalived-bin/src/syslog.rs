//! The only `unsafe` of the crate: a minimal binding to the C library's syslog.
//!
//! `openlog` keeps the identity pointer it is given, so the identity is a `'static` C string.
//! Messages go through a `"%s"` format so that a `%` in a message is never interpreted.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};

/// The identity of the parent's syslog lines (`Keepalived[PID]`, like keepalived's parent).
pub(crate) const PARENT: &CStr = c"Keepalived";
/// The identity of the VRRP child's lines (`Keepalived_vrrp[PID]`, like keepalived's).
pub(crate) const VRRP: &CStr = c"Keepalived_vrrp";

/// Opens the connection to syslog as `ident` with `facility` (a `LOG_*` facility value).
pub(crate) fn open(ident: &'static CStr, facility: libc::c_int) {
    // SAFETY: `ident` is a NUL-terminated string that lives for the whole program, as openlog
    // requires (it keeps the pointer); the other arguments are plain integers.
    unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID | libc::LOG_NDELAY, facility) }
}

/// Sends one line at `priority` (a `LOG_*` level). Interior NUL bytes are dropped.
pub(crate) fn send(priority: libc::c_int, message: &str) {
    let Ok(msg) = CString::new(message.replace('\0', "")) else {
        return;
    };
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call, and
    // the "%s" format consumes exactly the one string argument given.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), msg.as_ptr()) }
}
