//! E-mail alerts (keepalived-behaviour.md §5.9): `smtp_server [PORT]`, `smtp_helo_name`,
//! `smtp_connect_timeout`, `notification_email`, `notification_email_from`, `router_id`.
//!
//! Mail goes out through `mail-send` on a thread of its own ([`Mailer`]) that owns a
//! single-threaded tokio runtime and takes [`Mail`]s from a channel, one SMTP session each,
//! bounded by the connect timeout. The VRRP loop only queues: a slow or dead SMTP server never
//! delays it, and at most [`QUEUE_LIMIT`] mails wait (later ones are dropped with a warning).
//!
//! Differences from keepalived, both answers to its users' complaints:
//! - a host name in `smtp_server` is resolved for every alert, not once at start-up, so a name
//!   DNS cannot resolve yet at boot works once it can (each failure is logged with its reason
//!   and counted);
//! - STARTTLS and AUTH, a keepalived-rs extension (`smtp_starttls`, `smtp_tls_ca`,
//!   `smtp_tls_insecure`, `smtp_auth_user`, `smtp_auth_password[_file]`, `smtp_auth_plaintext`;
//!   keepalived has neither). AUTH (PLAIN or LOGIN, whichever the server offers) is only ever
//!   sent inside TLS unless `smtp_auth_plaintext` says otherwise.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use confparse::model::{Config, SmtpSecurity, StartTls};
use mail_send::SmtpClient;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use vrrp_engine::State;

use crate::notify::SharedLog;

/// How many mails may wait for the SMTP server.
pub(crate) const QUEUE_LIMIT: usize = 64;

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
}

impl SmtpSettings {
    /// Warns now about the files read at each alert that cannot be used as they are (they
    /// are read again for every alert: fixing them needs no reload).
    fn check_files(&self, warnings: &mut Vec<(confparse::Span, String)>) {
        let sec = &self.security;
        if let Some(path) = &sec.auth_password_file {
            use std::os::unix::fs::PermissionsExt as _;
            if let Err(e) = read_password(path) {
                warnings.push((confparse::Span::NONE, e.to_string()));
            } else if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0) {
                warnings.push((
                    confparse::Span::NONE,
                    format!("smtp_auth_password_file {path} is readable by every user"),
                ));
            }
        }
        if let Some(path) = &sec.tls_ca
            && !sec.tls_insecure
            && let Err(e) = trust_anchors(path)
        {
            warnings.push((confparse::Span::NONE, e.to_string()));
        }
    }
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

/// What became of the alerts of one [`Mailer`] (since the start or the last reload); the
/// running totals are in the log lines.
#[derive(Debug, Default)]
pub(crate) struct MailCounters {
    /// Delivered (the server accepted the message).
    pub sent: AtomicU64,
    /// Not delivered: resolution, connection, TLS, AUTH or SMTP failure, or timeout.
    pub failed: AtomicU64,
    /// Never tried: the queue was full or the thread was gone.
    pub dropped: AtomicU64,
}

/// The mail thread: one SMTP session per [`Mail`], in order.
pub(crate) struct Mailer {
    tx: Sender<Mail>,
    queued: Arc<AtomicUsize>,
    counters: Arc<MailCounters>,
    log: SharedLog,
}

impl Mailer {
    /// Starts the thread and its tokio runtime.
    pub(crate) fn start(settings: SmtpSettings, log: SharedLog) -> std::io::Result<Mailer> {
        // rustls' process-wide provider, for the TLS configurations mail-send builds itself
        // (system roots, `smtp_tls_insecure`): ring, the one the workspace compiles. An error
        // means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (tx, rx) = channel::<Mail>();
        let queued = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&queued);
        let counters = Arc::new(MailCounters::default());
        let tally = Arc::clone(&counters);
        let thread_log = log.clone();
        std::thread::Builder::new()
            .name("smtp".into())
            .spawn(move || {
                crate::notify::block_daemon_signals();
                while let Ok(mail) = rx.recv() {
                    let subject = mail.subject.clone();
                    let result = rt.block_on(send(&settings, mail));
                    count.fetch_sub(1, Ordering::SeqCst);
                    match result {
                        Ok(how) => {
                            tally.sent.fetch_add(1, Ordering::Relaxed);
                            thread_log.info(&format!("SMTP alert sent{how}: {subject}"));
                        }
                        Err(e) => {
                            let n = tally.failed.fetch_add(1, Ordering::Relaxed) + 1;
                            thread_log.warn(&format!(
                                "SMTP alert '{subject}' to {}:{} failed ({n} failed so far): {e}",
                                settings.host, settings.port
                            ));
                        }
                    }
                }
            })?;
        Ok(Mailer {
            tx,
            queued,
            counters,
            log,
        })
    }

    /// Queues `mail` (never blocks).
    pub(crate) fn send(&self, mail: Mail) {
        if self.queued.load(Ordering::SeqCst) >= QUEUE_LIMIT {
            let n = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            self.log.warn(&format!(
                "SMTP alert dropped (queue full, {n} dropped so far): {}",
                mail.subject
            ));
            return;
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(mail).is_err() {
            let n = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            self.log.warn(&format!(
                "SMTP alert dropped (the mail thread is gone, {n} dropped so far)"
            ));
        }
    }
}

/// Why a mail was not delivered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SmtpError {
    /// The server's name does not resolve (now: it is tried again at the next alert).
    #[error("cannot resolve '{host}': {source}")]
    Resolve {
        /// `smtp_server` as written.
        host: String,
        /// The resolver's answer.
        source: std::io::Error,
    },
    /// No address of the server accepted the connection.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// `smtp_starttls required` and the server does not offer STARTTLS.
    #[error("the server does not offer STARTTLS (smtp_starttls required): not sent")]
    NoStartTls,
    /// AUTH is configured, the server does not offer STARTTLS, and clear text is not allowed.
    #[error(
        "the server does not offer STARTTLS: the password is not sent in clear text (smtp_auth_plaintext would allow it): not sent"
    )]
    AuthNeedsTls,
    /// `smtp_tls_ca` cannot be used.
    #[error("smtp_tls_ca {path}: {reason}")]
    TrustAnchors {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS client cannot be set up (e.g. no system trust store).
    #[error("TLS set-up: {0}")]
    TlsSetup(String),
    /// `smtp_auth_password_file` cannot be read.
    #[error("smtp_auth_password_file {path}: {source}")]
    PasswordFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The SMTP dialogue failed (TLS handshake, AUTH refused, a command refused...).
    #[error("{0}")]
    Smtp(#[from] mail_send::Error),
    /// The whole session took too long.
    #[error("timed out")]
    Timeout,
}

/// The password: the first line of `path`, without its line end.
fn read_password(path: &str) -> Result<String, SmtpError> {
    let text = std::fs::read_to_string(path).map_err(|source| SmtpError::PasswordFile {
        path: path.to_owned(),
        source,
    })?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// The certificates of the PEM file `path`, as trust anchors.
fn trust_anchors(path: &str) -> Result<rustls::RootCertStore, SmtpError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |reason: String| SmtpError::TrustAnchors {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("{e:?}")))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in the file".to_owned()));
    }
    Ok(roots)
}

/// The TLS client for STARTTLS: the server's certificate is checked against `smtp_tls_ca`,
/// or the system's trust store, for the name (or address) written in `smtp_server`; not at
/// all with `smtp_tls_insecure`.
fn tls_connector(sec: &SmtpSecurity) -> Result<tokio_rustls::TlsConnector, SmtpError> {
    use mail_send::smtp::tls::build_tls_connector;
    if sec.tls_insecure {
        return build_tls_connector(true).map_err(SmtpError::TlsSetup);
    }
    let Some(path) = &sec.tls_ca else {
        return build_tls_connector(false).map_err(SmtpError::TlsSetup);
    };
    let roots = trust_anchors(path)?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SmtpError::TlsSetup(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// How a mail went out, for the log line (` (STARTTLS, AUTH)`, or nothing for plain SMTP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sent {
    tls: bool,
    auth: bool,
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.tls, self.auth) {
            (true, true) => f.write_str(" (STARTTLS, AUTH)"),
            (true, false) => f.write_str(" (STARTTLS)"),
            (false, true) => f.write_str(" (AUTH in clear text)"),
            (false, false) => Ok(()),
        }
    }
}

/// The server's addresses, resolved now (a name that did not resolve at start-up may now).
async fn resolve(s: &SmtpSettings) -> Result<Vec<SocketAddr>, SmtpError> {
    let resolve_err = |source| SmtpError::Resolve {
        host: s.host.clone(),
        source,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((s.host.as_str(), s.port))
        .await
        .map_err(resolve_err)?
        .collect();
    if addrs.is_empty() {
        return Err(resolve_err(std::io::Error::other("no address")));
    }
    Ok(addrs)
}

/// A TCP connection to the first address that answers, each bounded by the timeout.
async fn connect(s: &SmtpSettings, addrs: &[SocketAddr]) -> Result<TcpStream, SmtpError> {
    let mut last = None;
    for &addr in addrs {
        match tokio::time::timeout(s.timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(source)) => last = Some(SmtpError::Connect { addr, source }),
            Err(_) => last = Some(SmtpError::Timeout),
        }
    }
    Err(last.unwrap_or(SmtpError::Timeout))
}

/// One SMTP session: greeting, EHLO, [STARTTLS, EHLO], [AUTH], MAIL FROM, RCPT TO each, DATA,
/// QUIT.
async fn send(s: &SmtpSettings, mail: Mail) -> Result<Sent, SmtpError> {
    use mail_send::mail_builder::MessageBuilder;
    use mail_send::smtp::AssertReply;
    let message = MessageBuilder::new()
        .from(s.from.as_str())
        .to(s.to.iter().map(String::as_str).collect::<Vec<_>>())
        .subject(mail.subject)
        .header(
            "X-Mailer",
            mail_send::mail_builder::headers::raw::Raw::new("Keepalived"),
        )
        .text_body(mail.body);
    let sec = &s.security;
    // Only with both halves (confparse refuses a configuration with one).
    let user = sec
        .auth_user
        .as_ref()
        .filter(|_| sec.auth_password.is_some() || sec.auth_password_file.is_some());
    // mail-send bounds each read by the timeout but not the session: the whole session gets
    // twice the timeout (keepalived allows the timeout per step).
    let session = async {
        let addrs = resolve(s).await?;
        let mut client = SmtpClient {
            stream: connect(s, &addrs).await?,
            timeout: s.timeout,
        };
        client.read().await?.assert_positive_completion()?;
        let caps = client.ehlo(&s.helo).await?;
        let tls = match sec.starttls {
            Some(_) if caps.has_capability(smtp_proto::EXT_START_TLS) => true,
            Some(StartTls::Required) => return Err(SmtpError::NoStartTls),
            Some(StartTls::Opportunistic) | None => false,
        };
        // Read the password only now: a file fixed after start-up needs no reload.
        let credentials = match user {
            Some(user) => {
                let secret = match (&sec.auth_password_file, &sec.auth_password) {
                    (Some(path), _) => read_password(path)?,
                    (None, Some(p)) => p.0.clone(),
                    (None, None) => String::new(),
                };
                Some(mail_send::Credentials::new(user.clone(), secret))
            }
            None => None,
        };
        if tls {
            let connector = tls_connector(sec)?;
            let mut client = client.start_tls(&connector, &s.host).await?;
            let caps = client.ehlo(&s.helo).await?;
            deliver(client, &caps, credentials.as_ref(), message).await?;
        } else {
            if credentials.is_some() && !sec.auth_plaintext {
                return Err(SmtpError::AuthNeedsTls);
            }
            deliver(client, &caps, credentials.as_ref(), message).await?;
        }
        Ok(Sent {
            tls,
            auth: credentials.is_some(),
        })
    };
    tokio::time::timeout(s.timeout.saturating_mul(2), session)
        .await
        .map_err(|_| SmtpError::Timeout)?
}

/// AUTH when asked, the message, QUIT.
async fn deliver<T: AsyncRead + AsyncWrite + Unpin>(
    mut client: SmtpClient<T>,
    caps: &smtp_proto::EhloResponse<String>,
    credentials: Option<&mail_send::Credentials<String>>,
    message: mail_send::mail_builder::MessageBuilder<'_>,
) -> Result<(), SmtpError> {
    if let Some(c) = credentials {
        client.authenticate(c, caps).await?;
    }
    client.send(message).await?;
    let _ = client.quit().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn settings() -> SmtpSettings {
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
    fn password_files_and_trust_anchors() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("kars-smtp-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pw = dir.join("pw");
        std::fs::write(&pw, "s3cret\nignored\n").unwrap();
        let pw_path = pw.to_str().unwrap();
        assert_eq!(read_password(pw_path).unwrap(), "s3cret");
        let missing = dir.join("missing");
        let err = read_password(missing.to_str().unwrap()).unwrap_err();
        assert!(
            err.to_string().starts_with("smtp_auth_password_file "),
            "{err}"
        );

        let not_pem = dir.join("ca.pem");
        std::fs::write(&not_pem, "no certificate here\n").unwrap();
        let err = trust_anchors(not_pem.to_str().unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("no certificate in the file"),
            "{err}"
        );

        // Mapping warns about what it will not be able to use, and about a password file
        // every user can read.
        let mut s = settings();
        s.security.auth_password_file = Some(pw_path.to_owned());
        s.security.tls_ca = Some(not_pem.to_str().unwrap().to_owned());
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut warnings = Vec::new();
        s.check_files(&mut warnings);
        let texts: Vec<&str> = warnings.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].ends_with("is readable by every user"), "{texts:?}");
        assert!(texts[1].contains("no certificate in the file"), "{texts:?}");
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
        s.security.tls_insecure = true;
        warnings.clear();
        s.check_files(&mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_log_line_says_how_a_mail_went() {
        let sent = |tls, auth| Sent { tls, auth }.to_string();
        assert_eq!(sent(true, true), " (STARTTLS, AUTH)");
        assert_eq!(sent(true, false), " (STARTTLS)");
        assert_eq!(sent(false, true), " (AUTH in clear text)");
        assert_eq!(sent(false, false), "");
    }
}
