//! Notify scripts and the notify FIFO (keepalived-behaviour.md §4.11), and the hand-off of
//! e-mail alerts to the mailer program ([`crate::mailer`]).
//!
//! ```text
//!   driver loop ── Hooks::notify ──► notify() ── builds jobs ──channel+waker──► notify thread
//!                                                                              │ FIFO line
//!                                                                              │ spawn (scheduler)
//!                                                                              └► keepalived-smtp
//! ```
//!
//! The driver's loop never waits: [`notify`] only resolves what to do and queues it. A thread
//! of its own runs a `scheduler` loop that writes the FIFO lines in order and starts the
//! scripts (argv, or `/bin/sh -c` only when the command needs a shell; as the script user; a
//! process group of their own; stdio on `/dev/null`; killed after [`SCRIPT_TIMEOUT`]; reaped).
//! Like keepalived, scripts are fire-and-forget: a script is started after the one before it,
//! but not waited for.
//!
//! For each notification: the FIFO line first, then the specific script (`notify_master`, …),
//! then the generic `notify` with `INSTANCE|GROUP NAME STATE PRIORITY` appended, then the mail.
//! At shutdown the `STOP` scripts are started before [`notify`] returns, so they run even
//! though the daemon exits right after.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use confparse::model::{self, Config};
use scheduler::{ChildSpec, Event, Loop, Signal, Waker};
use vrrp_engine::{Notification, NotifyEvent, NotifyTarget, State};

use crate::daemon::Logger;

/// Where the notifier and the mailer log (the daemon's [`Logger`]; something quieter in tests).
pub(crate) trait Log: Send + Sync {
    /// A notable event.
    fn info(&self, message: &str);
    /// A problem.
    fn warn(&self, message: &str);
}

impl Log for Logger {
    fn info(&self, message: &str) {
        Logger::info(self, message);
    }
    fn warn(&self, message: &str) {
        Logger::warn(self, message);
    }
}

/// A shared [`Log`].
pub(crate) type SharedLog = Arc<dyn Log>;
use crate::script::{RunAs, check_security, needs_shell, shell_line};

/// How long a notify script may run before it is sent `SIGTERM` (then `SIGKILL` 2 s later).
/// keepalived sets no limit; one that hangs for this long is stuck.
pub(crate) const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// One notify script, ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Script {
    /// The words; one shell line when `shell`.
    argv: Vec<String>,
    /// Through `/bin/sh -c`.
    shell: bool,
    /// Who it runs as (`None`: the daemon's user).
    run_as: Option<RunAs>,
}

impl Script {
    /// The script of a `notify*` keyword: its own `USER [GROUP]`, else `default`; refused when
    /// `security` (`enable_script_security`) is on and a root script can be changed by others.
    pub(crate) fn from_command(
        cmd: &model::Command,
        default: Option<RunAs>,
        security: bool,
    ) -> Result<Script, crate::script::ScriptError> {
        let run_as = match &cmd.user {
            Some(u) => Some(crate::script::resolve(u)?),
            None => default,
        };
        if cmd.args.is_empty() {
            return Err(crate::script::ScriptError::Empty);
        }
        let shell = needs_shell(&cmd.args);
        if security {
            check_security(&cmd.args, run_as)?;
        }
        Ok(Script {
            argv: cmd.args.clone(),
            shell,
            run_as,
        })
    }

    /// The child to start, with `extra` arguments appended, killed after `timeout`.
    fn spec(&self, extra: &[String], timeout: Option<Duration>) -> Option<ChildSpec> {
        let mut spec = if self.shell {
            let mut line = shell_line(&self.argv);
            for e in extra {
                line.push_str(" '");
                line.push_str(&e.replace('\'', r"'\''"));
                line.push('\'');
            }
            ChildSpec::shell(line)
        } else {
            let (program, args) = self.argv.split_first()?;
            ChildSpec::new(program).args(args).args(extra)
        };
        if let Some(u) = self.run_as {
            spec = spec.gid(u.gid).uid(u.uid);
        }
        Some(match timeout {
            Some(t) => spec.timeout(t),
            None => spec,
        })
    }
}

/// The notify settings of one instance or sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scripts {
    /// `notify_master`.
    pub master: Option<Script>,
    /// `notify_backup`.
    pub backup: Option<Script>,
    /// `notify_fault`.
    pub fault: Option<Script>,
    /// `notify_stop`.
    pub stop: Option<Script>,
    /// `notify_deleted` (its presence also makes a deletion report `DELETED`, not `FAULT`).
    pub deleted: Option<Script>,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<Script>,
    /// `notify`.
    pub generic: Option<Script>,
    /// `notify_deleted` was given (with or without a script).
    pub report_deleted: bool,
    /// `smtp_alert` (own or inherited from `global_defs`).
    pub smtp_alert: bool,
}

/// Everything the notifier does, mapped from the configuration by `vrrp_config`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Alerts {
    /// By instance name; only the instances with something to do (an instance not listed has
    /// [`Scripts::default`]): with 1,000 instances and no scripts this map stays empty instead
    /// of holding 1,000 names and empty entries (about 0.7 MB).
    pub instances: HashMap<String, Scripts>,
    /// By sync group name.
    pub groups: HashMap<String, Scripts>,
    /// `notify_fifo` and `vrrp_notify_fifo`: every line goes to each.
    pub fifos: Vec<PathBuf>,
    /// `notify_fifo_script` / `vrrp_notify_fifo_script`: FIFO readers started with the FIFO
    /// as their last argument, running as long as the daemon.
    pub fifo_scripts: Vec<Script>,
    /// Mail settings, when mail can be sent at all.
    pub smtp: Option<crate::mail::SmtpSettings>,
    /// `no_email_faults`.
    pub no_email_faults: bool,
}

impl Alerts {
    /// Whether some instance or group mails its state changes (and mail can be sent): the
    /// mailer program is started only then.
    pub(crate) fn mails(&self) -> bool {
        self.smtp.is_some()
            && (self.instances.values().chain(self.groups.values())).any(|s| s.smtp_alert)
    }

    /// Maps the notify keywords of `config`; problems become `(span, message)` warnings.
    pub(crate) fn from_config(
        config: &Config,
        warnings: &mut Vec<(confparse::Span, String)>,
    ) -> Alerts {
        let g = &config.global;
        let default = match crate::script::default_user(g.script_user.as_ref()) {
            Ok(u) => u,
            Err(e) => {
                warnings.push((confparse::Span::NONE, format!("script_user: {e}")));
                None
            }
        };
        let security = g.enable_script_security;
        let global_alert = g.smtp_alert_vrrp.or(g.smtp_alert).unwrap_or(false);
        let mut scripts = |n: &model::Notify, smtp: Option<bool>, span: confparse::Span| {
            let mut one = |kw: &str, c: &Option<model::Command>| {
                let c = c.as_ref()?;
                match Script::from_command(c, default, security) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        let at = if c.span.is_real() { c.span } else { span };
                        warnings.push((at, format!("{kw}: {e}: not run")));
                        None
                    }
                }
            };
            Scripts {
                master: one("notify_master", &n.master),
                backup: one("notify_backup", &n.backup),
                fault: one("notify_fault", &n.fault),
                stop: one("notify_stop", &n.stop),
                deleted: one("notify_deleted", &n.deleted),
                master_rx_lower_pri: one("notify_master_rx_lower_pri", &n.master_rx_lower_pri),
                generic: one("notify", &n.generic),
                report_deleted: n.report_deleted || n.deleted.is_some(),
                smtp_alert: smtp.unwrap_or(global_alert),
            }
        };
        let mut alerts = Alerts::default();
        for vi in &config.instances {
            let s = scripts(&vi.notify, vi.smtp_alert, vi.span);
            if s != Scripts::default() {
                alerts.instances.insert(vi.name.clone(), s);
            }
        }
        for sg in &config.sync_groups {
            let s = scripts(&sg.notify, sg.smtp_alert, sg.span);
            alerts.groups.insert(sg.name.clone(), s);
        }
        for f in [&g.notify_fifo, &g.vrrp_notify_fifo].into_iter().flatten() {
            alerts.fifos.push(PathBuf::from(&f.path));
            if let Some(c) = &f.script {
                match Script::from_command(c, default, security) {
                    Ok(mut s) => {
                        s.argv.push(f.path.clone());
                        alerts.fifo_scripts.push(s);
                    }
                    Err(e) => warnings.push((c.span, format!("notify_fifo_script: {e}: not run"))),
                }
            }
        }
        alerts.smtp = crate::mail::SmtpSettings::from_config(config, warnings);
        alerts.no_email_faults = g
            .extra
            .iter()
            .any(|r| r.words.first().is_some_and(|w| w == "no_email_faults"));
        alerts
    }
}

/// What the notify thread is asked to do, in order.
enum Job {
    /// Write one line to the FIFO at this path.
    Line(PathBuf, String),
    /// Start a script; with `Some(())`, start it at once, outside the loop (at shutdown: the
    /// loop is about to go away).
    Run(ChildSpec, String, Option<()>),
    /// Answer once every job before it is done (at shutdown).
    Barrier(Sender<()>),
    /// Replace the FIFO readers with these.
    Readers(Vec<ChildSpec>),
    /// A reload changed the FIFOs: close those not listed.
    KeepFifos(Vec<PathBuf>),
    /// Send a mail.
    Mail(crate::mail::Mail),
}

struct Notifier {
    alerts: Alerts,
    /// Instances removed by the last reload that had scripts (for their `DELETED` report).
    removed: HashMap<String, Scripts>,
    /// The last state reported per sync group (for priority-change lines); an instance's is
    /// the daemon's (see [`notify`]).
    group_states: HashMap<String, State>,
    log: SharedLog,
    worker: Option<(Sender<Job>, Waker)>,
    mailer: Option<crate::mailer::Mailer>,
}

static NOTIFIER: Mutex<Option<Notifier>> = Mutex::new(None);

/// Installs (or, on reload, replaces) the notify configuration; `instances` names every
/// instance of the new configuration (with or without scripts).
pub(crate) fn configure<'a>(
    alerts: Alerts,
    instances: impl IntoIterator<Item = &'a str>,
    log: &Logger,
) {
    let mut guard = NOTIFIER.lock().unwrap_or_else(PoisonError::into_inner);
    let n = guard.get_or_insert_with(|| Notifier {
        alerts: Alerts::default(),
        removed: HashMap::new(),
        group_states: HashMap::new(),
        log: Arc::new(log.clone()),
        worker: None,
        mailer: None,
    });
    n.keep_removed(instances);
    match (&alerts.smtp, &mut n.mailer) {
        (None, _) => n.mailer = None,
        (Some(s), Some(m)) => m.update(s.clone()),
        (Some(s), None) if alerts.mails() => {
            n.mailer = Some(crate::mailer::Mailer::start(s.clone(), n.log.clone()));
        }
        (Some(_), None) => {}
    }
    let readers = n.alerts.fifo_scripts != alerts.fifo_scripts;
    let fifos = n.alerts.fifos != alerts.fifos;
    n.alerts = alerts;
    n.log = Arc::new(log.clone());
    if readers {
        n.start_readers();
    }
    if fifos && n.worker.is_some() {
        // A FIFO a reload removed is closed (else each reload could keep one more open).
        let keep = n.alerts.fifos.clone();
        n.send(Job::KeepFifos(keep));
    }
}

/// Acts on one notification from the driver (runs on the driver's thread; never waits, except
/// for a moment at shutdown so that `notify_stop` scripts are started before the exit).
/// `state` is the instance's state as last notified before this one (the daemon keeps it for
/// its dumps; `None` for a group, whose state the notifier keeps).
pub(crate) fn notify(n: &Notification, state: Option<State>) {
    let mut guard = NOTIFIER.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(me) = guard.as_mut() else {
        return;
    };
    let (jobs, wait) = me.jobs(n, state);
    if jobs.is_empty() {
        return;
    }
    let mut ack = None;
    for job in jobs {
        let job = match job {
            Job::Run(spec, what, None) if wait => Job::Run(spec, what, Some(())),
            Job::Mail(mail) => {
                me.mail(&mail);
                continue;
            }
            other => other,
        };
        me.send(job);
    }
    if wait {
        // The notify thread answers once everything queued before has been done.
        let (tx, rx) = channel();
        me.send(Job::Barrier(tx));
        ack = Some(rx);
    }
    drop(guard);
    if let Some(rx) = ack {
        let _ = rx.recv_timeout(Duration::from_secs(2));
    }
}

impl Notifier {
    /// Before a reload replaces the configuration: remembers the scripts of the instances
    /// that are not in `instances` (the new configuration's) for their `DELETED` report. An
    /// instance still there is not, whether or not it still has scripts.
    fn keep_removed<'a>(&mut self, instances: impl IntoIterator<Item = &'a str>) {
        if self.alerts.instances.is_empty() {
            return;
        }
        let kept: std::collections::HashSet<&str> = instances.into_iter().collect();
        for (name, s) in &self.alerts.instances {
            if !kept.contains(name.as_str()) {
                self.removed.insert(name.clone(), s.clone());
            }
        }
    }

    /// The jobs for `n` (`state`: see [`notify`]), and whether to wait until its scripts have
    /// started.
    fn jobs(&mut self, n: &Notification, state: Option<State>) -> (Vec<Job>, bool) {
        let (is_group, kind) = match n.target {
            NotifyTarget::Instance(_) => (false, "INSTANCE"),
            NotifyTarget::Group(_) => (true, "GROUP"),
        };
        let name = n.name.to_string();
        let scripts = if is_group {
            self.alerts.groups.get(&name)
        } else {
            self.alerts
                .instances
                .get(&name)
                .or_else(|| self.removed.get(&name))
        };
        let scripts = scripts.cloned().unwrap_or_default();
        let prio = n.priority.0;
        let mut state_word = None;
        let (word, script) = match n.event {
            NotifyEvent::State(s) => {
                if is_group {
                    self.group_states.insert(name.clone(), s);
                }
                state_word = Some(s);
                let script = match s {
                    State::Master => scripts.master.clone(),
                    State::Backup => scripts.backup.clone(),
                    State::Fault => scripts.fault.clone(),
                    // "STOP" is reported for instances only, as keepalived does.
                    State::Stopped if is_group => return (Vec::new(), false),
                    State::Stopped => scripts.stop.clone(),
                    State::Init => return (Vec::new(), false),
                };
                (s.to_string(), script)
            }
            NotifyEvent::Deleted => {
                self.removed.remove(&name);
                if scripts.report_deleted {
                    ("DELETED".to_owned(), scripts.deleted.clone())
                } else {
                    ("FAULT".to_owned(), scripts.fault.clone())
                }
            }
            NotifyEvent::MasterRxLowerPriority => (
                "MASTER_RX_LOWER_PRI".to_owned(),
                scripts.master_rx_lower_pri.clone(),
            ),
            NotifyEvent::Priority => {
                let last = if is_group {
                    self.group_states.get(&name).copied()
                } else {
                    state
                };
                return (self.priority_lines(kind, &name, prio, last), false);
            }
            _ => return (Vec::new(), false),
        };
        let mut jobs = Vec::new();
        for f in &self.alerts.fifos {
            jobs.push(Job::Line(
                f.clone(),
                format!("{kind} \"{name}\" {word} {prio}\n"),
            ));
        }
        if let Some(s) = script
            && let Some(spec) = s.spec(&[], Some(SCRIPT_TIMEOUT))
        {
            jobs.push(Job::Run(spec, format!("notify script for {name}"), None));
        }
        // The generic script only hears about real state changes and deletions.
        if !matches!(n.event, NotifyEvent::MasterRxLowerPriority)
            && let Some(s) = &scripts.generic
        {
            let extra = [
                kind.to_owned(),
                name.clone(),
                word.clone(),
                prio.to_string(),
            ];
            if let Some(spec) = s.spec(&extra, Some(SCRIPT_TIMEOUT)) {
                jobs.push(Job::Run(spec, format!("notify script for {name}"), None));
            }
        }
        if let Some(state) = state_word
            && scripts.smtp_alert
            && let Some(smtp) = &self.alerts.smtp
            && (state != State::Fault || !self.alerts.no_email_faults)
            && matches!(state, State::Master | State::Backup | State::Fault)
        {
            jobs.push(Job::Mail(crate::mail::Mail::vrrp(
                smtp, is_group, &name, state,
            )));
        }
        (jobs, state_word == Some(State::Stopped))
    }

    /// The FIFO lines of a priority change (they go to the FIFO only, as in keepalived), by
    /// the state last notified.
    fn priority_lines(&self, kind: &str, name: &str, prio: u8, last: Option<State>) -> Vec<Job> {
        let word = if last == Some(State::Master) {
            "MASTER_PRIORITY"
        } else {
            "BACKUP_PRIORITY"
        };
        self.alerts
            .fifos
            .iter()
            .map(|f| Job::Line(f.clone(), format!("{kind} \"{name}\" {word} {prio}\n")))
            .collect()
    }

    /// (Re)starts the FIFO readers: the old ones are stopped first.
    fn start_readers(&mut self) {
        let specs = self
            .alerts
            .fifo_scripts
            .iter()
            .filter_map(|s| s.spec(&[], None))
            .map(|spec| spec.parent_death_signal(Signal::TERM))
            .collect();
        self.send(Job::Readers(specs));
    }

    fn mail(&mut self, mail: &crate::mail::Mail) {
        let Some(settings) = &self.alerts.smtp else {
            return;
        };
        let log = &self.log;
        self.mailer
            .get_or_insert_with(|| crate::mailer::Mailer::start(settings.clone(), log.clone()))
            .send(mail);
    }

    fn send(&mut self, job: Job) {
        if self.worker.is_none() {
            match start_worker(self.log.clone()) {
                Ok(w) => self.worker = Some(w),
                Err(e) => {
                    self.log
                        .warn(&format!("notify: cannot start the notify thread: {e}"));
                    return;
                }
            }
        }
        if let Some((tx, waker)) = &self.worker
            && (tx.send(job).is_err() || waker.wake().is_err())
        {
            self.log.warn("notify: the notify thread is gone");
            self.worker = None;
        }
    }
}

/// The notify thread's state.
struct Worker {
    rx: Receiver<Job>,
    /// The running FIFO readers.
    readers: Vec<scheduler::TaskId>,
    fifos: HashMap<PathBuf, File>,
    log: SharedLog,
}

/// Blocks, in the calling thread, every signal a loop could watch: a helper thread (notify,
/// mail) must never take a signal meant for the daemon's loop (`SIGTERM`, `SIGHUP`, the dump
/// signals, a real-time one whose default action would kill the process).
pub(crate) fn block_daemon_signals() {
    let all: Vec<Signal> = (1..=libc::SIGRTMAX())
        .filter_map(Signal::from_raw)
        .filter(|s| s.is_watchable())
        .collect();
    let _ = scheduler::block_signals(&all);
}

fn start_worker(log: SharedLog) -> std::io::Result<(Sender<Job>, Waker)> {
    let (tx, rx) = channel::<Job>();
    let (wtx, wrx) = channel();
    std::thread::Builder::new()
        .name("notify".into())
        .spawn(move || {
            block_daemon_signals();
            let mut lp: Loop<Worker> = match Loop::new() {
                Ok(lp) => lp,
                Err(e) => {
                    let _ = wtx.send(Err(e.to_string()));
                    return;
                }
            };
            match lp
                .ctx()
                .add_waker("jobs", |w: &mut Worker, ctx, _| w.drain(ctx))
            {
                Ok((_, waker)) => {
                    let _ = wtx.send(Ok(waker));
                }
                Err(e) => {
                    let _ = wtx.send(Err(e.to_string()));
                    return;
                }
            }
            let mut w = Worker {
                rx,
                readers: Vec::new(),
                fifos: HashMap::new(),
                log,
            };
            if let Err(e) = lp.run(&mut w) {
                w.log.warn(&format!("notify thread stopped: {e}"));
            }
        })?;
    match wrx.recv_timeout(Duration::from_secs(5)) {
        Ok(Ok(waker)) => Ok((tx, waker)),
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(_) => Err(std::io::Error::other("the notify thread did not start")),
    }
}

impl Worker {
    fn drain(&mut self, ctx: &mut scheduler::Ctx<Worker>) {
        while let Ok(job) = self.rx.try_recv() {
            match job {
                Job::Line(path, line) => self.write_fifo(&path, &line),
                Job::Run(spec, what, Some(())) => {
                    // Shutdown: start it now, outside the loop (which is about to go away).
                    if let Err(e) = run_detached(spec) {
                        self.log.warn(&format!("{what}: cannot start: {e}"));
                    }
                }
                Job::Barrier(ack) => {
                    let _ = ack.send(());
                }
                Job::Readers(specs) => self.start_readers(ctx, specs),
                Job::KeepFifos(keep) => self.keep_fifos(&keep),
                Job::Run(spec, what, None) => {
                    let log = self.log.clone();
                    let spawned =
                        ctx.spawn("notify", spec, move |_: &mut Worker, _, ev| match ev {
                            Event::SpawnFailed { errno } => log.warn(&format!(
                                "{what}: cannot start: {}",
                                std::io::Error::from_raw_os_error(errno)
                            )),
                            Event::Exit(e) if e.timed_out => {
                                log.warn(&format!("{what}: killed after {SCRIPT_TIMEOUT:?}"));
                            }
                            _ => {}
                        });
                    if let Err(e) = spawned {
                        self.log.warn(&format!("notify: {e}"));
                    }
                }
                Job::Mail(_) => {}
            }
        }
    }

    /// Stops the running FIFO readers and starts `specs` (they run until the daemon ends).
    fn start_readers(&mut self, ctx: &mut scheduler::Ctx<Worker>, specs: Vec<ChildSpec>) {
        for task in self.readers.drain(..) {
            ctx.cancel(task);
        }
        for spec in specs {
            let log = Arc::clone(&self.log);
            let what = format!("notify FIFO script {}", spec.program().display());
            let spawned = ctx.spawn("fifo reader", spec, move |_: &mut Worker, _, ev| match ev {
                Event::SpawnFailed { errno } => log.warn(&format!(
                    "{what}: cannot start: {}",
                    std::io::Error::from_raw_os_error(errno)
                )),
                Event::Exit(e) => log.warn(&format!("{what} ended: {}", e.status)),
                _ => {}
            });
            match spawned {
                Ok(task) => self.readers.push(task),
                Err(e) => self.log.warn(&format!("notify: {e}")),
            }
        }
    }

    /// Closes the FIFOs not in `keep`.
    fn keep_fifos(&mut self, keep: &[PathBuf]) {
        self.fifos.retain(|path, _| keep.contains(path));
    }

    /// Writes `line` to the FIFO without ever blocking: created if missing, opened read-write
    /// (so no reader is needed to open it) and non-blocking (a full FIFO loses the line, with a
    /// warning).
    fn write_fifo(&mut self, path: &PathBuf, line: &str) {
        if !self.fifos.contains_key(path) && !path.exists() {
            // As keepalived: a FIFO that does not exist yet is created.
            if let Err(e) = crate::posix::mkfifo(path, 0o600) {
                self.log.warn(&format!(
                    "notify FIFO {}: cannot create: {e}",
                    path.display()
                ));
            }
        }
        if !self.fifos.contains_key(path) {
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
            {
                Ok(f) => {
                    self.fifos.insert(path.clone(), f);
                }
                Err(e) => {
                    self.log
                        .warn(&format!("notify FIFO {}: {e}", path.display()));
                    return;
                }
            }
        }
        if let Some(f) = self.fifos.get_mut(path)
            && let Err(e) = f.write_all(line.as_bytes())
        {
            self.log
                .warn(&format!("notify FIFO {}: line lost: {e}", path.display()));
            self.fifos.remove(path);
        }
    }
}

/// Starts `spec` directly (blocking until it is running) and leaves it: at shutdown the
/// daemon exits right after, and the script is re-parented.
fn run_detached(spec: ChildSpec) -> std::io::Result<()> {
    spec.into_std().spawn().map(drop)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc;
    use vrrp_engine::{InstanceId, Priority};

    struct Quiet;
    impl Log for Quiet {
        fn info(&self, _: &str) {}
        fn warn(&self, _: &str) {}
    }

    fn notifier(alerts: Alerts) -> Notifier {
        Notifier {
            alerts,
            removed: HashMap::new(),
            group_states: HashMap::new(),
            log: Arc::new(Quiet),
            worker: None,
            mailer: None,
        }
    }

    fn script(words: &[&str]) -> Script {
        Script {
            argv: words.iter().map(|w| (*w).to_owned()).collect(),
            shell: false,
            run_as: None,
        }
    }

    fn lines(jobs: &[Job]) -> Vec<String> {
        jobs.iter()
            .map(|j| match j {
                Job::Line(_, l) => format!("fifo {l}"),
                Job::Run(s, _, _) => format!("run {:?}", s.program()),
                Job::Mail(_) => "mail".to_owned(),
                Job::Barrier(_) => "barrier".to_owned(),
                Job::Readers(_) => "readers".to_owned(),
                Job::KeepFifos(_) => "keep fifos".to_owned(),
            })
            .collect()
    }

    /// Whether this process has `path` open.
    fn open_here(path: &std::path::Path) -> bool {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == path))
    }

    #[test]
    fn a_fifo_removed_by_a_reload_is_closed() {
        let dir = std::env::temp_dir().join(format!("kars-notify-fifos-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (kept, dropped) = (dir.join("kept"), dir.join("dropped"));
        let (_tx, rx) = channel();
        let mut w = Worker {
            rx,
            readers: Vec::new(),
            fifos: HashMap::new(),
            log: Arc::new(Quiet),
        };
        w.write_fifo(&kept, "INSTANCE \"VI_1\" MASTER 100\n");
        w.write_fifo(&dropped, "INSTANCE \"VI_1\" MASTER 100\n");
        assert!(open_here(&kept) && open_here(&dropped));
        w.keep_fifos(std::slice::from_ref(&kept));
        let (k, d) = (open_here(&kept), open_here(&dropped));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(k, "a FIFO still configured stays open");
        assert!(!d, "a FIFO the reload removed is still open");
    }

    #[test]
    fn fifo_line_then_specific_then_generic() {
        let mut a = Alerts {
            fifos: vec!["/run/f".into()],
            ..Alerts::default()
        };
        a.instances.insert(
            "VI_1".into(),
            Scripts {
                master: Some(script(&["/m.sh"])),
                generic: Some(script(&["/all.sh"])),
                ..Scripts::default()
            },
        );
        let mut n = notifier(a);
        let note = Notification {
            target: NotifyTarget::Instance(InstanceId(0)),
            name: Arc::from("VI_1"),
            event: NotifyEvent::State(State::Master),
            priority: Priority(100),
        };
        let (jobs, wait) = n.jobs(&note, None);
        assert!(!wait);
        assert_eq!(
            lines(&jobs),
            [
                "fifo INSTANCE \"VI_1\" MASTER 100\n",
                "run \"/m.sh\"",
                "run \"/all.sh\""
            ]
        );
        let prio = Notification {
            event: NotifyEvent::Priority,
            priority: Priority(90),
            ..note.clone()
        };
        assert_eq!(
            lines(&n.jobs(&prio, Some(State::Master)).0),
            ["fifo INSTANCE \"VI_1\" MASTER_PRIORITY 90\n"]
        );
        let stop = Notification {
            event: NotifyEvent::State(State::Stopped),
            ..note
        };
        let (jobs, wait) = n.jobs(&stop, Some(State::Master));
        assert!(wait);
        assert_eq!(
            lines(&jobs),
            ["fifo INSTANCE \"VI_1\" STOP 100\n", "run \"/all.sh\""]
        );
    }

    #[test]
    fn deleted_reports_fault_unless_notify_deleted() {
        let a = Alerts {
            fifos: vec!["/run/f".into()],
            ..Alerts::default()
        };
        let mut n = notifier(a);
        n.removed.insert(
            "VI_2".into(),
            Scripts {
                fault: Some(script(&["/f.sh"])),
                ..Scripts::default()
            },
        );
        let note = Notification {
            target: NotifyTarget::Instance(InstanceId(1)),
            name: Arc::from("VI_2"),
            event: NotifyEvent::Deleted,
            priority: Priority(0),
        };
        assert_eq!(
            lines(&n.jobs(&note, None).0),
            ["fifo INSTANCE \"VI_2\" FAULT 0\n", "run \"/f.sh\""]
        );
    }

    #[test]
    fn a_reload_keeps_the_scripts_of_removed_instances_only() {
        let mut a = Alerts::default();
        for name in ["gone", "stays", "loses its scripts"] {
            a.instances.insert(
                name.into(),
                Scripts {
                    fault: Some(script(&["/f.sh"])),
                    ..Scripts::default()
                },
            );
        }
        let mut n = notifier(a);
        n.keep_removed(["stays", "loses its scripts", "new"]);
        let removed: Vec<&String> = n.removed.keys().collect();
        assert_eq!(removed, ["gone"]);
    }

    #[test]
    fn a_group_priority_line_follows_its_last_state() {
        let a = Alerts {
            fifos: vec!["/run/f".into()],
            ..Alerts::default()
        };
        let mut n = notifier(a);
        let note = Notification {
            target: NotifyTarget::Group(vrrp_engine::GroupId(0)),
            name: Arc::from("G"),
            event: NotifyEvent::State(State::Master),
            priority: Priority(0),
        };
        n.jobs(&note, None);
        let prio = Notification {
            event: NotifyEvent::Priority,
            ..note
        };
        assert_eq!(
            lines(&n.jobs(&prio, None).0),
            ["fifo GROUP \"G\" MASTER_PRIORITY 0\n"]
        );
    }

    #[test]
    fn mapped_from_keepalived_conf() {
        let parsed = confparse::parse_str(
            "global_defs {\n script_user nobody\n smtp_server 192.0.2.25 2525\n notification_email {\n  a@example.com\n }\n smtp_alert\n vrrp_notify_fifo /run/v.fifo\n notify_fifo /run/all.fifo\n no_email_faults\n}\nvrrp_sync_group G {\n group {\n  A\n }\n notify_master \"/bin/echo group\"\n smtp_alert off\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n notify_master /bin/echo root\n notify_backup \"/bin/echo b | cat\"\n notify_fault /bin/echo no-such-user-here\n notify_deleted\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 2\n smtp_alert off\n}\n",
            "t.conf",
        );
        let mut warnings = Vec::new();
        let alerts = Alerts::from_config(&parsed.config, &mut warnings);
        assert_eq!(
            alerts.fifos,
            [PathBuf::from("/run/all.fifo"), PathBuf::from("/run/v.fifo")]
        );
        assert!(alerts.no_email_faults);
        let smtp = alerts.smtp.as_ref().unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("192.0.2.25", 2525));
        let vi = &alerts.instances["A"];
        assert!(vi.smtp_alert && vi.report_deleted && vi.deleted.is_none());
        assert!(!parsed.has_errors(), "{}", parsed.render());
        let m = vi.master.as_ref().unwrap();
        assert_eq!(m.argv, ["/bin/echo"]);
        assert_eq!(m.run_as, Some(RunAs { uid: 0, gid: 0 }), "its own user");
        let b = vi.backup.as_ref().unwrap();
        assert!(b.shell);
        assert!(b.run_as.is_some_and(|u| u.uid != 0), "script_user");
        assert!(vi.fault.is_none(), "an unknown user: not run");
        assert!(
            warnings
                .iter()
                .any(|(_, w)| w.contains("no-such-user-here"))
        );
        assert_eq!(
            alerts.instances.len(),
            1,
            "only instances with scripts are kept"
        );
        let g = &alerts.groups["G"];
        assert!(!g.smtp_alert);
        assert_eq!(g.master.as_ref().unwrap().argv, ["/bin/echo", "group"]);
    }

    #[test]
    fn generic_args_and_shell_quoting() {
        let s = Script {
            argv: vec!["echo".into(), "$1".into()],
            shell: true,
            run_as: Some(RunAs {
                uid: 65534,
                gid: 65534,
            }),
        };
        let spec = s.spec(&["GROUP".into(), "it's".into()], None).unwrap();
        assert_eq!(spec.program(), "/bin/sh");
        let plain = script(&["/x", "a b"]);
        assert_eq!(
            plain.spec(&[], Some(SCRIPT_TIMEOUT)).unwrap().program(),
            "/x"
        );
    }
}
