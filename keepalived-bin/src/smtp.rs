//! `keepalived-smtp`: the program that sends keepalived-rs' e-mail alerts
//! (keepalived-behaviour.md §5.9). The daemon (`keepalived`) starts it when alerts are
//! configured, with a socket as its standard input and output, and writes it records (the
//! framing is `mail::encode_record`'s): first the settings, then one record per alert (new
//! settings may follow after a reload). It sends each alert in order, in one SMTP session
//! through `mail-send` on a single-threaded tokio runtime, bounded by the connect timeout, and
//! answers each with one record: sent or failed, with the log line the daemon writes. It exits
//! when its input ends (the daemon stopped, or a reload dropped mail). It is a program of its
//! own so that the daemon's binary carries none of this code (SMTP, TLS, async I/O).
//!
//! Differences from keepalived, both answers to its users' complaints:
//! - a host name in `smtp_server` is resolved for every alert, not once at start-up, so a name
//!   DNS cannot resolve yet at boot works once it can (each failure is logged with its reason
//!   and counted);
//! - STARTTLS and AUTH, a keepalived-rs extension (`smtp_starttls`, `smtp_tls_ca`,
//!   `smtp_tls_insecure`, `smtp_auth_user`, `smtp_auth_password[_file]`, `smtp_auth_plaintext`;
//!   keepalived has neither). AUTH (PLAIN or LOGIN, whichever the server offers) is only ever
//!   sent inside TLS unless `smtp_auth_plaintext` says otherwise.

// The settings and the record framing, shared with the daemon (which uses the rest).
#[allow(dead_code, reason = "the daemon's side of the shared file")]
mod mail;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::channel;

use confparse::model::{SmtpSecurity, StartTls};
use mail::{Mail, SmtpSettings, read_record, tag, write_record};
use mail_send::SmtpClient;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// What the reader thread passes on.
enum Input {
    Settings(SmtpSettings),
    Mail(Mail),
}

/// Writes one answer to the daemon; the daemon gone, there is nothing left to do.
fn answer(tag: u8, text: String) {
    let mut out = std::io::stdout().lock();
    if write_record(&mut out, tag, &[text])
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

fn main() {
    // rustls' process-wide provider, for the TLS configurations mail-send builds itself
    // (system roots, `smtp_tls_insecure`): ring, the one the workspace compiles. An error
    // means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            answer(tag::WARN, format!("SMTP mailer: cannot start: {e}"));
            std::process::exit(1);
        }
    };
    // Input is read on a thread of its own so that its end (the daemon stopped) ends the
    // program at once, even during an SMTP session.
    let (tx, rx) = channel::<Input>();
    let reader = std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            let mut input = std::io::stdin().lock();
            loop {
                let item = match read_record(&mut input) {
                    Ok(Some((tag::SETTINGS, fields))) => {
                        let Some(s) = SmtpSettings::from_fields(&fields) else {
                            answer(tag::WARN, "SMTP mailer: malformed settings ignored".into());
                            continue;
                        };
                        Input::Settings(s)
                    }
                    Ok(Some((tag::MAIL, mut fields))) if fields.len() == 2 => {
                        let body = fields.pop().unwrap_or_default();
                        let subject = fields.pop().unwrap_or_default();
                        Input::Mail(Mail { subject, body })
                    }
                    Ok(Some((t, _))) => {
                        answer(
                            tag::WARN,
                            format!("SMTP mailer: unknown record {t} ignored"),
                        );
                        continue;
                    }
                    Ok(None) | Err(_) => std::process::exit(0),
                };
                if tx.send(item).is_err() {
                    std::process::exit(0);
                }
            }
        });
    if reader.is_err() {
        std::process::exit(1);
    }
    let mut settings: Option<SmtpSettings> = None;
    let mut failed = 0u64;
    while let Ok(item) = rx.recv() {
        match item {
            Input::Settings(s) => {
                check_trust_anchors(&s.security);
                settings = Some(s);
            }
            Input::Mail(mail) => {
                let Some(s) = &settings else {
                    answer(
                        tag::FAILED,
                        format!("SMTP alert '{}' not sent: no settings", mail.subject),
                    );
                    continue;
                };
                let subject = mail.subject.clone();
                match rt.block_on(send(s, mail)) {
                    Ok(how) => answer(tag::SENT, format!("SMTP alert sent{how}: {subject}")),
                    Err(e) => {
                        failed += 1;
                        answer(
                            tag::FAILED,
                            format!(
                                "SMTP alert '{subject}' to {}:{} failed ({failed} failed so far): {e}",
                                s.host, s.port
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// Warns (once per settings) about a `smtp_tls_ca` that cannot be used; it is read again at
/// each alert, so fixing the file needs no reload.
fn check_trust_anchors(sec: &SmtpSecurity) {
    if let Some(path) = &sec.tls_ca
        && !sec.tls_insecure
        && let Err(e) = trust_anchors(path)
    {
        answer(tag::WARN, e.to_string());
    }
}

/// Why a mail was not delivered.
#[derive(Debug, thiserror::Error)]
enum SmtpError {
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
    mail::read_password(path).map_err(|source| SmtpError::PasswordFile {
        path: path.to_owned(),
        source,
    })
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
struct Sent {
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

    #[test]
    fn unusable_trust_anchors_are_explained() {
        let dir = std::env::temp_dir().join(format!("kars-smtp-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let not_pem = dir.join("ca.pem");
        std::fs::write(&not_pem, "no certificate here\n").unwrap();
        let err = trust_anchors(not_pem.to_str().unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("no certificate in the file"),
            "{err}"
        );
        let err = trust_anchors(dir.join("missing").to_str().unwrap()).unwrap_err();
        assert!(err.to_string().starts_with("smtp_tls_ca "), "{err}");
        let err = read_password(dir.join("missing").to_str().unwrap()).unwrap_err();
        assert!(
            err.to_string().starts_with("smtp_auth_password_file "),
            "{err}"
        );
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
