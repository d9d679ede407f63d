//! What every script keepalived runs shares: the user it runs as (`script_user`, a per-script
//! `user`, or `keepalived_script` when that account exists), `enable_script_security`, and
//! whether its command needs a shell (keepalived-behaviour.md §8.5).
//!
//! Users and groups are looked up in `/etc/passwd` and `/etc/group` (no NSS modules).

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use confparse::model::ScriptUser;

/// Why a script cannot be run as configured (keepalived-behaviour.md §8.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ScriptError {
    /// `USER` is neither in `/etc/passwd` nor a number.
    #[error("unknown user '{0}'")]
    UnknownUser(String),
    /// `GROUP` is neither in `/etc/group` nor a number.
    #[error("unknown group '{0}'")]
    UnknownGroup(String),
    /// No words at all.
    #[error("empty command")]
    Empty,
    /// The program is not in `PATH`.
    #[error("{0} not found")]
    NotFound(String),
    /// `enable_script_security`: a root script that others can change.
    #[error("insecure ({0})")]
    Insecure(String),
}

/// The account a script runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RunAs {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// The default account for scripts, as keepalived chooses it: the global `script_user`, else
/// `keepalived_script` if that user exists, else `None` (the daemon's own, root).
pub(crate) fn default_user(global: Option<&ScriptUser>) -> Result<Option<RunAs>, ScriptError> {
    match global {
        Some(u) => resolve(u).map(Some),
        None => Ok(lookup_user("keepalived_script").map(|(uid, gid)| RunAs { uid, gid })),
    }
}

/// Resolves `USER [GROUP]` (a name or a number each); the group defaults to the user's.
pub(crate) fn resolve(u: &ScriptUser) -> Result<RunAs, ScriptError> {
    let (uid, primary) = lookup_user(&u.user)
        .or_else(|| u.user.parse().ok().map(|n| (n, n)))
        .ok_or_else(|| ScriptError::UnknownUser(u.user.clone()))?;
    let gid = match &u.group {
        None => primary,
        Some(g) => lookup_group(g)
            .or_else(|| g.parse().ok())
            .ok_or_else(|| ScriptError::UnknownGroup(g.clone()))?,
    };
    Ok(RunAs { uid, gid })
}

/// `(uid, gid)` of `name` from `/etc/passwd`.
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 4 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

/// The gid of group `name` from `/etc/group`.
fn lookup_group(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[0] == name).then(|| f[2].parse().ok())?
    })
}

/// Whether the words of a command need `/bin/sh -c` to mean what they say: a word holding a
/// shell operator, redirection, expansion or glob. Words that merely contain spaces (quoted in
/// keepalived.conf) do not.
pub(crate) fn needs_shell(args: &[String]) -> bool {
    args.iter().any(|a| {
        a.chars().any(|c| {
            matches!(
                c,
                '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '[' | '\\' | '\n'
            )
        }) || a.starts_with('~')
            || a.starts_with('#')
    })
}

/// The command line for `/bin/sh -c`: the words joined by spaces, words with blanks or quotes
/// single-quoted (shell operators stay as written).
pub(crate) fn shell_line(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty()
                || a.chars()
                    .any(|c| c.is_whitespace() || c == '\'' || c == '"')
            {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where `program` is: itself if it has a `/`, else the first match on `PATH`.
pub(crate) fn locate(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// `enable_script_security` (keepalived-behaviour.md §8.5) for a command run as `run_as`
/// (`None`: the daemon's own user, root): a root script whose program (its first word, even
/// when a shell runs the line) can be changed by someone other than root is refused, with the
/// reason.
pub(crate) fn check_security(args: &[String], run_as: Option<RunAs>) -> Result<(), ScriptError> {
    if run_as.is_some_and(|u| u.uid != 0) {
        return Ok(());
    }
    let program = args.first().ok_or(ScriptError::Empty)?;
    let path = locate(program).ok_or_else(|| ScriptError::NotFound(program.clone()))?;
    match insecure_reason(&path) {
        Some(why) => Err(ScriptError::Insecure(why)),
        None => Ok(()),
    }
}

/// `enable_script_security` for a script that runs as root: refused (with the reason) if the
/// file or any directory above it can be changed by someone other than root (owned by another
/// user, or writable by group or others).
pub(crate) fn insecure_reason(program: &Path) -> Option<String> {
    let mut at = Some(program);
    while let Some(p) = at {
        if p.as_os_str().is_empty() {
            break;
        }
        let Ok(m) = std::fs::metadata(p) else {
            return Some(format!("{} does not exist", p.display()));
        };
        let mode = m.mode();
        if m.uid() != 0 {
            return Some(format!("{} is owned by uid {}", p.display(), m.uid()));
        }
        // A sticky directory (/tmp) still lets others add files but not replace ours.
        let sticky = m.is_dir() && mode & 0o1000 != 0;
        if mode & 0o002 != 0 && !sticky {
            return Some(format!("{} is writable by others", p.display()));
        }
        if mode & 0o020 != 0 && m.gid() != 0 && !sticky {
            return Some(format!("{} is writable by group {}", p.display(), m.gid()));
        }
        at = p.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn shell_only_when_needed() {
        assert!(!needs_shell(&words(&["/bin/check", "a b", "--x=1"])));
        assert!(needs_shell(&words(&["pidof", "x", "||", "exit", "1"])));
        assert!(needs_shell(&words(&["test", "-f", "$HOME/x"])));
        assert!(needs_shell(&words(&["cat", "/x", ">/dev/null"])));
        assert_eq!(
            shell_line(&words(&["echo", "a b", "it's", "||", "true"])),
            r"echo 'a b' 'it'\''s' || true"
        );
    }

    #[test]
    fn users_resolve() {
        let root = resolve(&ScriptUser {
            user: "root".into(),
            group: None,
        })
        .unwrap();
        assert_eq!(root, RunAs { uid: 0, gid: 0 });
        let numeric = resolve(&ScriptUser {
            user: "12345".into(),
            group: Some("54321".into()),
        })
        .unwrap();
        assert_eq!(
            numeric,
            RunAs {
                uid: 12345,
                gid: 54321
            }
        );
        assert!(
            resolve(&ScriptUser {
                user: "no-such-user-here".into(),
                group: None
            })
            .is_err()
        );
    }

    #[test]
    fn security_check() {
        assert_eq!(insecure_reason(Path::new("/bin/sh")), None);
        let dir = std::env::temp_dir().join(format!("kars-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s.sh");
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o757)).unwrap();
        let why = insecure_reason(&f);
        let cmd = words(&[f.to_str().unwrap(), "|", "logger"]);
        let as_root = check_security(&cmd, None);
        let as_nobody = check_security(
            &cmd,
            Some(RunAs {
                uid: 65534,
                gid: 65534,
            }),
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(why.is_some());
        assert!(
            as_root.is_err(),
            "the first word of a shell line is checked"
        );
        assert!(as_nobody.is_ok(), "only root scripts are checked");
        assert!(check_security(&words(&["sh", "-c", "true"]), None).is_ok());
        assert!(check_security(&words(&["no-such-program-here"]), None).is_err());
    }
}
