//! E-mail alerts (keepalived-behaviour.md §5.9): `smtp_server [PORT]`, `smtp_helo_name`,
//! `smtp_connect_timeout`, `notification_email`, `notification_email_from`, `router_id`.
//!
//! Mail goes out through `mail-send` on a thread of its own ([`Mailer`]) that owns a
//! single-threaded tokio runtime and takes [`Mail`]s from a channel, one SMTP session each,
//! bounded by the connect timeout. The VRRP loop only queues: a slow or dead SMTP server never
//! delays it, and at most [`QUEUE_LIMIT`] mails wait (later ones are dropped with a warning).
//! Plain SMTP, as keepalived (it has neither STARTTLS nor AUTH).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use confparse::model::Config;
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
                })
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

/// The mail thread: one SMTP session per [`Mail`], in order.
pub(crate) struct Mailer {
    tx: Sender<Mail>,
    queued: Arc<AtomicUsize>,
    log: SharedLog,
}

impl Mailer {
    /// Starts the thread and its tokio runtime.
    pub(crate) fn start(settings: SmtpSettings, log: SharedLog) -> std::io::Result<Mailer> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (tx, rx) = channel::<Mail>();
        let queued = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&queued);
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
                        Ok(()) => thread_log.info(&format!("SMTP alert sent: {subject}")),
                        Err(e) => thread_log.warn(&format!(
                            "SMTP alert '{subject}' to {}:{} failed: {e}",
                            settings.host, settings.port
                        )),
                    }
                }
            })?;
        Ok(Mailer { tx, queued, log })
    }

    /// Queues `mail` (never blocks).
    pub(crate) fn send(&self, mail: Mail) {
        if self.queued.load(Ordering::SeqCst) >= QUEUE_LIMIT {
            self.log.warn(&format!(
                "SMTP alert dropped (queue full): {}",
                mail.subject
            ));
            return;
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(mail).is_err() {
            self.log.warn("SMTP alert dropped: the mail thread is gone");
        }
    }
}

/// Why a mail was not delivered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SmtpError {
    /// The SMTP client failed.
    #[error("{0}")]
    Smtp(String),
    /// The whole session took too long.
    #[error("timed out")]
    Timeout,
}

/// One SMTP session: greeting, EHLO, MAIL FROM, RCPT TO each, DATA, QUIT.
async fn send(s: &SmtpSettings, mail: Mail) -> Result<(), SmtpError> {
    use mail_send::SmtpClientBuilder;
    use mail_send::mail_builder::MessageBuilder;
    let message = MessageBuilder::new()
        .from(s.from.as_str())
        .to(s.to.iter().map(String::as_str).collect::<Vec<_>>())
        .subject(mail.subject)
        .header(
            "X-Mailer",
            mail_send::mail_builder::headers::raw::Raw::new("Keepalived"),
        )
        .text_body(mail.body);
    let builder = SmtpClientBuilder::new(s.host.as_str(), s.port)
        .map_err(SmtpError::Smtp)?
        .implicit_tls(false)
        .helo_host(s.helo.clone())
        .timeout(s.timeout);
    // mail-send bounds the TCP connect by the timeout but not the replies: the whole session
    // gets twice the timeout (keepalived allows the timeout per step).
    let session = async {
        let mut client = builder
            .connect_plain()
            .await
            .map_err(|e| SmtpError::Smtp(e.to_string()))?;
        client
            .send(message)
            .await
            .map_err(|e| SmtpError::Smtp(e.to_string()))?;
        let _ = client.quit().await;
        Ok(())
    };
    tokio::time::timeout(s.timeout.saturating_mul(2), session)
        .await
        .map_err(|_| SmtpError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_keepalived() {
        let s = SmtpSettings {
            host: "127.0.0.1".into(),
            port: 25,
            helo: "r1".into(),
            timeout: Duration::from_secs(30),
            from: "ka@r1".into(),
            to: vec!["ops@example.com".into()],
            router_id: "LVS_1".into(),
        };
        let m = Mail::vrrp(&s, false, "VI_1", State::Master);
        assert_eq!(
            m.subject,
            "[LVS_1] VRRP Instance VI_1 - Entering MASTER state"
        );
        let g = Mail::vrrp(&s, true, "G", State::Backup);
        assert_eq!(g.subject, "[LVS_1] VRRP Group G - Entering BACKUP state");
    }
}
