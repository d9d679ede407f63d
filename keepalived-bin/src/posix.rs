//! The process-level system calls the daemon needs and `std` does not offer: forking into the
//! background and asking to be signalled when the parent dies. Everything `unsafe` of the
//! process model is here, each call commented.
#![allow(unsafe_code)]

use std::io;

/// Which side of [`fork`] we are on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Forked {
    /// The original process; the new one has this pid.
    Parent(u32),
    /// The new process.
    Child,
}

/// `fork(2)`. Only sound while the process has a single thread: the caller (the daemon, before
/// it starts any) guarantees it, and the child goes on running ordinary Rust code.
pub(crate) fn fork() -> io::Result<Forked> {
    // SAFETY: fork has no memory-safety preconditions of its own. The hazards of forking a
    // multi-threaded process (locks held by threads that do not exist in the child) do not
    // arise: the only caller forks before any thread is started (see `crate::daemonize`).
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        // fork returns a positive pid in the parent.
        p => Ok(Forked::Parent(p.unsigned_abs())),
    }
}

/// `setsid(2)`: a new session and process group, without a controlling terminal.
pub(crate) fn setsid() -> io::Result<()> {
    // SAFETY: no arguments; only changes the session of the calling process.
    if unsafe { libc::setsid() } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Points descriptors 0, 1 and 2 at `/dev/null`.
pub(crate) fn stdio_to_dev_null() -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for fd in 0..=2 {
        // SAFETY: dup2 on a descriptor we own (`null`, open for the whole loop) onto the three
        // standard descriptors; it touches no memory. Rust's std handles keep using fds 0-2,
        // which now refer to /dev/null.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Asks the kernel to send `signal` to this process when its parent dies
/// (`prctl(PR_SET_PDEATHSIG)`). Strictly, "parent" is the parent's thread that created this
/// process; the daemon's parent keeps that thread for its whole life.
pub(crate) fn parent_death_signal(signal: libc::c_int) -> io::Result<()> {
    let signal = libc::c_ulong::try_from(signal)
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: prctl with PR_SET_PDEATHSIG reads one integer argument (the signal number, passed
    // as unsigned long as the man page asks) and touches no memory of ours.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal, 0, 0, 0) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `mkfifo(path, mode)`: creates a named pipe (the notify FIFO, when it does not exist).
pub(crate) fn mkfifo(path: &std::path::Path, mode: u32) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; `mode` is a plain
    // integer.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), mode as libc::mode_t) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Fixes glibc's malloc thresholds at their documented defaults (128 KiB), for the whole
/// process, before anything is allocated in earnest. Left dynamic, glibc raises both when a
/// large block is freed (after the configuration is parsed: up to twice the largest, over
/// 1 MB at 1,000 instances), and the freed space in the heap then stays resident for the
/// daemon's lifetime: fixed, `free` gives back a heap top over 128 KiB and blocks over 128 KiB
/// get their own mapping, unmapped when freed (1,000-instance VRRP child: heap and anonymous
/// memory 2.6 -> 2.0 MB). Does nothing on other C libraries.
pub(crate) fn fix_malloc_thresholds() {
    #[cfg(target_env = "gnu")]
    {
        const THRESHOLD: libc::c_int = 128 * 1024;
        // SAFETY: mallopt takes two integers and only changes the allocator's parameters; a
        // refused setting (0 returned) leaves glibc's defaults, which is harmless.
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn parent_death_signal_accepts_sigterm() {
        parent_death_signal(libc::SIGTERM).unwrap();
        parent_death_signal(0).unwrap();
    }

    #[test]
    fn mkfifo_makes_a_fifo() {
        use std::os::unix::fs::FileTypeExt as _;
        let p = std::env::temp_dir().join(format!("kars-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        mkfifo(&p, 0o600).unwrap();
        let is_fifo = std::fs::metadata(&p).unwrap().file_type().is_fifo();
        std::fs::remove_file(&p).unwrap();
        assert!(is_fifo);
        assert!(mkfifo(std::path::Path::new("/nonexistent-dir/x"), 0o600).is_err());
    }
}
