//! A minimal binding to the C library's syslog (with `sys.rs`, the crate's only `unsafe`).
//!
//! `openlog` keeps the identity pointer it is given, so the identity is a `'static` C string.
//! Messages go through a `"%s"` format so that a `%` in a message is never interpreted.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};

/// The identity syslog lines carry (`Keepalived_vrrp[PID]`, like keepalived's VRRP child).
const IDENT: &CStr = c"Keepalived_vrrp";

/// Opens the connection to syslog with `facility` (a `LOG_*` facility value).
pub(crate) fn open(facility: libc::c_int) {
    // SAFETY: IDENT is a NUL-terminated string that lives for the whole program, as openlog
    // requires; the other arguments are plain integers.
    unsafe { libc::openlog(IDENT.as_ptr(), libc::LOG_PID | libc::LOG_NDELAY, facility) }
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
