//! System calls the standard library does not wrap (small FFI wrappers, one `unsafe` each).
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

/// `mkfifo(path, mode)`: creates a named pipe.
pub(crate) fn mkfifo(path: &Path, mode: u32) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; `mode` is a plain
    // integer.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), mode as libc::mode_t) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::FileTypeExt as _;

    #[test]
    fn makes_a_fifo() {
        let p = std::env::temp_dir().join(format!("kars-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        mkfifo(&p, 0o600).unwrap();
        let is_fifo = std::fs::metadata(&p).unwrap().file_type().is_fifo();
        std::fs::remove_file(&p).unwrap();
        assert!(is_fifo);
        assert!(mkfifo(Path::new("/nonexistent-dir/x"), 0o600).is_err());
    }
}
