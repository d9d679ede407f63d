//! E-mail alerts (keepalived-behaviour.md §5.9), what the daemon and its mailer program
//! (`keepalived-smtp`, src/smtp.rs) share: the settings (`smtp_server [PORT]`,
//! `smtp_helo_name`, `smtp_connect_timeout`, `notification_email`, `notification_email_from`,
//! `router_id`, and the STARTTLS/AUTH extension), the alerts' text, and the records they
//! exchange on their socket (see [`encode_record`]). The daemon's side of the exchange is
//! `mailer.rs`. This file is compiled into both programs.

use std::io::{Read, Write};
use std::time::Duration;

use confparse::model::{Config, Secret, SmtpSecurity, StartTls};
use vrrp_engine::State;

/// Where and how alerts are sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SmtpSettings {
    /// Server host (address or name).
    pub host: String,
    /// Server port (default 25).
    pub port: u16,
    /// `HELO`/`EHLO` name (default: the host name).
    pub helo: String,
    /// Connect and per-reply timeout (`smtp_connect_timeout`, default 30 s).
    pub timeout: Duration,
    /// `notification_email_from` (default `keepalived@<host name>`).
    pub from: String,
    /// `notification_email` recipients.
    pub to: Vec<String>,
    /// `router_id` (default: the host name), for subjects.
    pub router_id: String,
    /// STARTTLS and AUTH (keepalived-rs extension).
    pub security: SmtpSecurity,
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

impl SmtpSettings {
    /// The settings, or `None` when no mail can be sent (no `smtp_server` or no recipient).
    pub(crate) fn from_config(
        config: &Config,
        warnings: &mut Vec<(confparse::Span, String)>,
    ) -> Option<SmtpSettings> {
        let g = &config.global;
        let server = g.smtp_server.as_ref();
        match (server, g.notification_email.is_empty()) {
            (Some(server), false) => {
                let host = host_name();
                Some(SmtpSettings {
                    host: server.host.clone(),
                    port: server.port,
                    helo: g.smtp_helo_name.clone().unwrap_or_else(|| host.clone()),
                    timeout: g.smtp_connect_timeout.max(Duration::from_secs(1)),
                    from: g
                        .notification_email_from
                        .clone()
                        .unwrap_or_else(|| format!("keepalived@{host}")),
                    to: g.notification_email.clone(),
                    router_id: g.router_id.clone().unwrap_or(host),
                    security: g.smtp_security.clone(),
                })
                .inspect(|s| s.check_files(warnings))
            }
            (Some(_), true) => {
                warnings.push((
                    confparse::Span::NONE,
                    "smtp_server without notification_email: no mail is sent".to_owned(),
                ));
                None
            }
            (None, false) => {
                warnings.push((
                    confparse::Span::NONE,
                    "notification_email without smtp_server: no mail is sent".to_owned(),
                ));
                None
            }
            (None, true) => None,
        }
    }

    /// Warns now about a password file that cannot be used as it is (it is read again for
    /// every alert: fixing it needs no reload). `smtp_tls_ca` is checked by the mailer when
    /// it starts (reading certificates is its business).
    fn check_files(&self, warnings: &mut Vec<(confparse::Span, String)>) {
        if let Some(path) = &self.security.auth_password_file {
            use std::os::unix::fs::PermissionsExt as _;
            if let Err(e) = read_password(path) {
                warnings.push((
                    confparse::Span::NONE,
                    format!("smtp_auth_password_file {path}: {e}"),
                ));
            } else if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0) {
                warnings.push((
                    confparse::Span::NONE,
                    format!("smtp_auth_password_file {path} is readable by every user"),
                ));
            }
        }
    }

    /// The settings as a `C` record's fields (see [`write_record`]).
    pub(crate) fn to_fields(&self) -> Vec<String> {
        let sec = &self.security;
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
        let starttls = match sec.starttls {
            None => "",
            Some(StartTls::Opportunistic) => "opportunistic",
            Some(StartTls::Required) => "required",
        };
        let mut fields = vec![
            self.host.clone(),
            self.port.to_string(),
            self.helo.clone(),
            self.timeout.as_millis().to_string(),
            self.from.clone(),
            self.router_id.clone(),
            starttls.to_owned(),
            opt(&sec.tls_ca),
            flag(sec.tls_insecure),
            opt(&sec.auth_user),
            sec.auth_password
                .as_ref()
                .map(|p| p.0.clone())
                .unwrap_or_default(),
            opt(&sec.auth_password_file),
            flag(sec.auth_plaintext),
        ];
        fields.extend(self.to.iter().cloned());
        fields
    }

    /// The settings of a `C` record (`None` if it is malformed).
    #[allow(dead_code, reason = "the mailer's side (and the daemon's tests)")]
    pub(crate) fn from_fields(fields: &[String]) -> Option<SmtpSettings> {
        let [
            host,
            port,
            helo,
            ms,
            from,
            router_id,
            starttls,
            ca,
            insecure,
            user,
            pw,
            pw_file,
            plain,
            to @ ..,
        ] = fields
        else {
            return None;
        };
        let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
        let security = SmtpSecurity {
            starttls: match starttls.as_str() {
                "" => None,
                "opportunistic" => Some(StartTls::Opportunistic),
                "required" => Some(StartTls::Required),
                _ => return None,
            },
            tls_ca: opt(ca),
            tls_insecure: insecure == "1",
            auth_user: opt(user),
            auth_password: opt(pw).map(Secret),
            auth_password_file: opt(pw_file),
            auth_plaintext: plain == "1",
        };
        Some(SmtpSettings {
            host: host.clone(),
            port: port.parse().ok()?,
            helo: helo.clone(),
            timeout: Duration::from_millis(ms.parse().ok()?),
            from: from.clone(),
            to: to.to_vec(),
            router_id: router_id.clone(),
            security,
        })
    }
}

/// The password: the first line of `path`, without its line end.
pub(crate) fn read_password(path: &str) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// One alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mail {
    /// `Subject:`.
    pub subject: String,
    /// The text.
    pub body: String,
}

impl Mail {
    /// The alert for an instance or group entering `state`, in keepalived's words:
    /// `[router_id] VRRP Instance NAME - Entering MASTER state`.
    pub(crate) fn vrrp(s: &SmtpSettings, group: bool, name: &str, state: State) -> Mail {
        let what = if group { "Group" } else { "Instance" };
        let body = match (group, state) {
            (false, State::Master) => "=> VRRP Instance is now owning VRRP VIPs <=",
            (false, State::Backup) => "=> VRRP Instance is no longer owning VRRP VIPs <=",
            (false, _) => "=> VRRP Instance is in FAULT state <=",
            (true, State::Master) => "=> All VRRP group instances are now in MASTER state <=",
            (true, State::Backup) => "=> All VRRP group instances are now in BACKUP state <=",
            (true, _) => "=> VRRP group is in FAULT state <=",
        };
        Mail {
            subject: format!(
                "[{}] VRRP {what} {name} - Entering {state} state",
                s.router_id
            ),
            body: format!("{body}\r\n"),
        }
    }
}

/// The largest record either side accepts.
pub(crate) const MAX_RECORD: usize = 64 * 1024;

/// Record tags, daemon to mailer.
pub(crate) mod tag {
    /// The settings ([`super::SmtpSettings`]'s fields, then the recipients); first in the
    /// stream, again when a reload changes them.
    pub(crate) const SETTINGS: u8 = b'C';
    /// An alert: subject, body.
    pub(crate) const MAIL: u8 = b'M';
    /// Mailer to daemon: an alert was delivered (one field: the log line).
    pub(crate) const SENT: u8 = b'S';
    /// Mailer to daemon: an alert was not delivered (one field: the log line).
    pub(crate) const FAILED: u8 = b'F';
    /// Mailer to daemon: a warning not about one alert (one field: the log line).
    pub(crate) const WARN: u8 = b'W';
}

/// One record as bytes. The framing, both ways: a 4-byte big-endian length `N`, then `N`
/// bytes: a tag byte ([`tag`]) and the record's UTF-8 fields, each followed by a NUL byte
/// (a NUL inside a field is dropped: configuration text and instance names have none).
pub(crate) fn encode_record(tag: u8, fields: &[String]) -> Vec<u8> {
    let mut body = vec![tag];
    for f in fields {
        body.extend(f.bytes().filter(|&b| b != 0));
        body.push(0);
    }
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

/// Writes one record (see [`encode_record`]).
pub(crate) fn write_record(w: &mut impl Write, tag: u8, fields: &[String]) -> std::io::Result<()> {
    w.write_all(&encode_record(tag, fields))
}

/// Reads one record: `None` at the end of the stream (between records).
pub(crate) fn read_record(r: &mut impl Read) -> std::io::Result<Option<(u8, Vec<String>)>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 || len > MAX_RECORD {
        return Err(std::io::Error::other(format!("bad record length {len}")));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    let fields = body[1..]
        .split(|&b| b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned());
    // Every field ends with a NUL: the last split piece is the empty rest.
    let mut fields: Vec<String> = fields.collect();
    fields.pop();
    Ok(Some((body[0], fields)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    pub(crate) fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: 25,
            helo: "r1".into(),
            timeout: Duration::from_secs(30),
            from: "ka@r1".into(),
            to: vec!["ops@example.com".into()],
            router_id: "LVS_1".into(),
            security: SmtpSecurity::default(),
        }
    }

    #[test]
    fn subjects_follow_keepalived() {
        let s = settings();
        let m = Mail::vrrp(&s, false, "VI_1", State::Master);
        assert_eq!(
            m.subject,
            "[LVS_1] VRRP Instance VI_1 - Entering MASTER state"
        );
        let g = Mail::vrrp(&s, true, "G", State::Backup);
        assert_eq!(g.subject, "[LVS_1] VRRP Group G - Entering BACKUP state");
    }

    #[test]
    fn records_carry_settings_and_mails() {
        let mut s = settings();
        s.to.push("noc@example.org".into());
        s.security = SmtpSecurity {
            starttls: Some(StartTls::Required),
            tls_ca: Some("/etc/ca.pem".into()),
            tls_insecure: false,
            auth_user: Some("ka".into()),
            auth_password: Some(Secret("p\u{e9}ss word".into())),
            auth_password_file: None,
            auth_plaintext: true,
        };
        let mail = Mail::vrrp(&s, false, "VI_1", State::Backup);
        let mut wire = encode_record(tag::SETTINGS, &s.to_fields());
        wire.extend(encode_record(
            tag::MAIL,
            &[mail.subject.clone(), mail.body.clone()],
        ));
        let mut r = wire.as_slice();
        let (t, f) = read_record(&mut r).unwrap().unwrap();
        assert_eq!(t, tag::SETTINGS);
        assert_eq!(SmtpSettings::from_fields(&f), Some(s));
        let (t, f) = read_record(&mut r).unwrap().unwrap();
        assert_eq!((t, f), (tag::MAIL, vec![mail.subject, mail.body]));
        assert!(read_record(&mut r).unwrap().is_none());
        // A record cut short is an error, not a record.
        let cut = encode_record(tag::MAIL, &["x".into()]);
        assert!(read_record(&mut &cut[..cut.len() - 1]).is_err());
        assert_eq!(SmtpSettings::from_fields(&["a".into()]), None);
    }

    #[test]
    fn password_files_are_checked_at_load() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("kars-mail-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pw = dir.join("pw");
        std::fs::write(&pw, "s3cret\nignored\n").unwrap();
        let pw_path = pw.to_str().unwrap();
        assert_eq!(read_password(pw_path).unwrap(), "s3cret");
        let mut s = settings();
        s.security.auth_password_file = Some(pw_path.to_owned());
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut warnings = Vec::new();
        s.check_files(&mut warnings);
        let texts: Vec<&str> = warnings.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert!(texts[0].ends_with("is readable by every user"), "{texts:?}");
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
        warnings.clear();
        s.check_files(&mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        s.security.auth_password_file = Some(dir.join("missing").to_str().unwrap().to_owned());
        s.check_files(&mut warnings);
        assert!(
            warnings[0].1.starts_with("smtp_auth_password_file "),
            "{warnings:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
