//! The driver runner: one [`Engine`] on the `scheduler` event loop, with its raw sockets,
//! rtnetlink and the GARP/NA sender.
//!
//! ```text
//!   raw VRRP sockets ──readable──► decode ─► engine.handle_advert ─┐
//!   netlink monitor ───readable──► link / address / route events ──┤
//!   timer slot (engine.poll_timeout) ──► engine.handle_timeout ────┤──► perform actions in order:
//!   timer slot (GARP pacing) ──► announcer.send_due                │    send, netlink, GARP/NA,
//!   script exits / track_file inotify ─► engine.handle_tracker ────┤    (see `track`)
//!   SIGTERM / SIGINT / StopHandle::shutdown ─► Command::Shutdown ──┘    hooks; re-arm timers
//! ```
//!
//! Shutdown runs the engine's own stop sequence (priority-0 advert, then rules, routes and
//! addresses, as its actions say), performs it synchronously, removes the static entries,
//! then leaves the loop.
//! [`StopHandle::abort`] leaves at once without any of that, as a crash would (for tests).

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant as StdInstant;

use scheduler::{Ctx, Event, Loop, Signal, TaskId, Waker};

use super::announce::Announcer;
use super::journal::Journal;
use super::links::Links;
use super::netlink::{Added, Monitor, NetEvent, NetlinkError, Rtnl};
use super::outbox::EncodedAdverts;
use super::socket::{Carrier, Datagram, Family, SocketKey, SocketPool};
use super::vmac::{Created, Vmacs};
use crate::{
    Action, AdvertTx, Command, ConfigError, Destination, Engine, EngineConfig, Instant,
    InterfaceConfig, InterfaceId, LogRecord, Notification, StaticConfig, VirtualAddress,
    VirtualRoute, VirtualRule,
};

/// Why the driver could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The engine refused the configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A raw, packet or netlink socket could not be opened or used.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: String,
        /// Why.
        source: io::Error,
    },
    /// rtnetlink failed.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    /// The event loop failed.
    #[error("event loop: {0}")]
    Loop(#[from] scheduler::Error),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> DriverError {
    let what = what.into();
    move |source| DriverError::Io { what, source }
}

/// What the driver tells its embedder. Every method has a default that does nothing.
pub trait Hooks {
    /// A state or priority notification (the daemon runs notify scripts from here).
    fn notify(&mut self, notification: &Notification) {
        let _ = notification;
    }
    /// A log line from the engine.
    fn log(&mut self, record: &LogRecord) {
        let _ = record;
    }
    /// A reload was asked for (`SIGHUP` or [`StopHandle::reload`]): return the new
    /// configuration to apply it as a diff, or `None` to keep running as is (the default).
    /// Instances are matched by name; see `Engine::reload`.
    fn reload(&mut self) -> Option<EngineConfig> {
        None
    }
    /// A problem the driver met and survived (a failed send, a refused netlink request, an
    /// address left alone because it is not ours).
    fn warning(&mut self, message: &str) {
        let _ = message;
    }
    /// A dump was asked for (`SIGUSR1`, `SIGUSR2`, `SIGRTMIN+2`; keepalived-behaviour.md §7.7):
    /// the embedder writes it wherever it likes (keepalived: `/tmp/keepalived.data`, `.stats`,
    /// `.json`). Runs on the loop's thread, between two events.
    fn dump(&mut self, kind: DumpKind, view: &DumpView<'_>) {
        let _ = (kind, view);
    }
}

/// What a dump signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DumpKind {
    /// `SIGUSR1`: configuration and state, for people.
    Data,
    /// `SIGUSR2`: the counters.
    Stats,
    /// `SIGRTMIN+2`: configuration, state and counters, for programs.
    Json,
}

/// What a [`Hooks::dump`] can show: the engine (configuration, states, counters) and the
/// interfaces the driver knows.
#[derive(Clone, Copy)]
pub struct DumpView<'a> {
    engine: &'a Engine,
    links: &'a Links,
}

impl<'a> DumpView<'a> {
    /// The engine: `statuses()`, `config(id)`, `group_*`, `global_counters()`.
    pub fn engine(&self) -> &'a Engine {
        self.engine
    }

    /// The name of interface `id` (a configuration's id, named or an ifindex) as last seen,
    /// if it exists.
    pub fn interface_name(&self, id: InterfaceId) -> Option<&'a str> {
        let links = self.links;
        let k = links.kernel(id)?;
        links.get(&k).map(|l| l.name.as_str())
    }

    /// Whether interface `id` is up and running, if it exists.
    pub fn interface_up(&self, id: InterfaceId) -> Option<bool> {
        let k = self.links.kernel(id)?;
        self.links.get(&k).map(|l| l.up)
    }
}

/// Hooks that do nothing.
#[derive(Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}

/// Runner options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Watch `SIGTERM`/`SIGINT` (shut down), `SIGHUP` (reload) and `SIGUSR1`, `SIGUSR2`,
    /// `SIGRTMIN+2` ([`Hooks::dump`]) (a daemon wants this; a test
    /// running several drivers in threads of one process does not).
    pub handle_signals: bool,
    /// Keep a [`Journal`] of the addresses, routes, rules and VMACs we install in this file (for example
    /// `/run/keepalived-rs/vrrp.journal`). At start, whatever a previous run recorded there and
    /// did not remove (it crashed or was killed) is removed first.
    pub journal: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            handle_signals: true,
            journal: None,
        }
    }
}

/// How [`Runner::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Orderly shutdown (signal or [`StopHandle::shutdown`]).
    Shutdown,
    /// [`StopHandle::abort`]: left without any cleanup.
    Aborted,
}

/// Stops (or reloads) a running driver from another thread.
#[derive(Clone, Debug)]
pub struct StopHandle {
    shutdown: Waker,
    abort: Waker,
    reload: Waker,
    aborted: Arc<AtomicBool>,
}

impl StopHandle {
    /// Asks for an orderly shutdown (as `SIGTERM` does).
    pub fn shutdown(&self) -> io::Result<()> {
        self.shutdown.wake()
    }

    /// Asks for a reload (as `SIGHUP` does): the driver calls [`Hooks::reload`] on its thread.
    pub fn reload(&self) -> io::Result<()> {
        self.reload.wake()
    }

    /// Leaves the loop at once: no priority-0 advert, addresses and routes left in place, as if
    /// the process had crashed.
    pub fn abort(&self) -> io::Result<()> {
        self.aborted.store(true, Ordering::SeqCst);
        self.abort.wake()
    }
}

/// The state the loop's handlers work on.
struct Driver {
    journal: Option<Journal>,
    /// What the journal holds now, as a [`journal_digest`] (keeping the entries themselves
    /// cost 0.26 MB at 1,000 addresses).
    journaled: u64,
    /// Something that may change what we installed happened since the journal was synced
    /// (rebuilding the set on every advert cost more than the advert itself).
    journal_dirty: bool,
    /// IPv4 adverts encoded but not yet sent, flushed with one `sendmmsg` per socket.
    outbox: super::outbox::Outbox,
    /// The IPv4 adverts last encoded per instance, sent again with a new ident.
    encoded: EncodedAdverts,
    /// Gives free heap memory back to the kernel a little after start-up and after each large
    /// burst of actions (mass takeovers), once the netlink echoes have been read too.
    trim_timer: Option<TaskId>,
    trim_soon: bool,
    engine: Engine,
    /// `static_*` entries, installed whatever the VRRP state (see [`StaticConfig`]).
    statics: StaticConfig,
    pool: SocketPool,
    rtnl: Rtnl,
    monitor: Monitor,
    announcer: Announcer,
    /// Kernel links and the configuration's named interfaces.
    links: Links,
    /// By instance id: whether the configuration left the instance's primary address
    /// unspecified, for [`Driver::resolved`] to find one on its interface as the interfaces
    /// change. The rest of the configuration is not kept twice: the engine runs it
    /// ([`Engine::running_config`]); 1,000 instances' copy cost about 0.4 MB.
    auto_source: Vec<bool>,
    vmacs: Vmacs,
    /// The read task of each open socket.
    socket_tasks: HashMap<SocketKey, TaskId>,
    /// Extra multicast groups (`mcast_dst_ip`) joined on each socket.
    joined: HashSet<(SocketKey, IpAddr)>,
    /// `vmac_xmit_base` demultiplexing: (base ifindex, family, VRID) to the VMAC's id.
    xmit_base: HashMap<(InterfaceId, Family, u8), InterfaceId>,
    /// The link state last reported to the engine for configured interfaces.
    reported: HashMap<InterfaceId, bool>,
    hooks: Box<dyn Hooks>,
    origin: StdInstant,
    ident: u16,
    engine_timer: Option<TaskId>,
    garp_timer: Option<TaskId>,
    exit: Option<Exit>,
    buf: Vec<u8>,
    /// `vrrp_script` and `track_file` trackers.
    trackers: super::track::Trackers,
}

/// A driver ready to run on its own event loop (create and run it on one thread).
pub struct Runner {
    lp: Loop<Driver>,
    driver: Driver,
    handle: StopHandle,
}

impl core::fmt::Debug for Runner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Runner")
            .field("instances", &self.driver.engine.instance_count())
            .field("sockets", &self.driver.pool.len())
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// Builds the engine, opens the netlink sockets and the GARP/NA socket, removes what a
    /// crashed predecessor left (journal), and reads the links' state. The raw VRRP sockets
    /// (one per interface, family and carrier the instances use) and the VMACs follow the
    /// interfaces from [`Runner::run`] on: an instance whose interface is missing starts in
    /// FAULT (see the [module documentation](super)).
    pub fn new(
        config: EngineConfig,
        hooks: Box<dyn Hooks>,
        options: Options,
    ) -> Result<Runner, DriverError> {
        config.validate()?;
        let trackers = super::track::Trackers::new(config.trackers.clone());
        let statics = config.statics.clone();
        let monitor = Monitor::new()?;
        let mut rtnl = Rtnl::new()?;
        let journal = options.journal.map(Journal::new);
        let mut startup_warnings = match &journal {
            Some(j) => remove_stale(j, &mut rtnl)?,
            None => Vec::new(),
        };
        let mut links = Links::new(rtnl.links()?);
        links.configure(&config.interfaces);
        let announcer = Announcer::new().map_err(io_err("opening the AF_PACKET socket"))?;
        let mut lp: Loop<Driver> = Loop::new()?;
        let ctx = lp.ctx();
        let aborted = Arc::new(AtomicBool::new(false));
        let (_, shutdown) = ctx.add_waker("shutdown", |d: &mut Driver, ctx, _| {
            d.shutdown(ctx);
        })?;
        let (_, abort) = ctx.add_waker("abort", |d: &mut Driver, ctx, _| {
            d.exit = Some(Exit::Aborted);
            ctx.terminate();
        })?;
        let (_, reload) = ctx.add_waker("reload", |d: &mut Driver, ctx, _| d.reload(ctx))?;
        if options.handle_signals {
            for sig in [Signal::TERM, Signal::INT] {
                ctx.add_signal("stop", sig, |d: &mut Driver, ctx, _| d.shutdown(ctx))?;
            }
            ctx.add_signal("reload", Signal::HUP, |d: &mut Driver, ctx, _| {
                d.reload(ctx);
            })?;
            for (sig, kind) in [
                (Signal::USR1, DumpKind::Data),
                (Signal::USR2, DumpKind::Stats),
                (Signal::json(), DumpKind::Json),
            ] {
                ctx.add_signal("dump", sig, move |d: &mut Driver, _, _| d.dump(kind))?;
            }
        }
        let mut resolve_warnings = Vec::new();
        let auto_source = auto_sources(&config);
        let resolved = resolved_config(
            config,
            &links,
            &mut rtnl,
            &HashMap::new(),
            &mut resolve_warnings,
        );
        let engine = Engine::new(resolved)?;
        startup_warnings.extend(resolve_warnings);
        let mut driver = Driver {
            journal,
            journaled: journal_digest(&HashSet::new()),
            journal_dirty: true,
            outbox: super::outbox::Outbox::default(),
            encoded: EncodedAdverts::default(),
            trim_timer: None,
            trim_soon: true,
            engine,
            statics,
            pool: SocketPool::new(),
            rtnl,
            monitor,
            announcer,
            links,
            auto_source,
            vmacs: Vmacs::new(),
            socket_tasks: HashMap::new(),
            joined: HashSet::new(),
            xmit_base: HashMap::new(),
            reported: HashMap::new(),
            hooks,
            origin: StdInstant::now(),
            ident: 0,
            engine_timer: None,
            garp_timer: None,
            exit: None,
            // 16 IPv4 slots of 2 KB (`receive_v4`), or one IPv6 datagram: a VRRP packet is at
            // most ~4 KB (255 IPv6 addresses), so 32 KB only truncates garbage, which fails to
            // decode either way. Resident in every VRRP child: 64 KB was half unused.
            buf: vec![0u8; 32 * 1024],
            trackers,
        };
        for w in startup_warnings {
            driver.hooks.warning(&w);
        }
        Ok(Runner {
            lp,
            driver,
            handle: StopHandle {
                shutdown,
                abort,
                reload,
                aborted,
            },
        })
    }

    /// A handle to stop the driver from another thread.
    pub fn handle(&self) -> StopHandle {
        self.handle.clone()
    }

    /// Starts the engine and runs until shutdown or abort.
    pub fn run(mut self) -> Result<Exit, DriverError> {
        let ctx = self.lp.ctx();
        // No slack: the engine's deadlines are exact (a master's instances due together share
        // one deadline, so nothing is left to coalesce), and the loop's default 50 µs would
        // make every advert and every takeover that much later.
        ctx.set_timer_slack(core::time::Duration::ZERO);
        let d = &mut self.driver;
        d.engine_timer = Some(ctx.add_timer_slot("engine", |d: &mut Driver, ctx, _| {
            let now = d.now_at(ctx.now());
            d.engine.handle_timeout(now);
            d.after(ctx);
        }));
        d.garp_timer = Some(ctx.add_timer_slot("garp", |d: &mut Driver, ctx, _| {
            if let Err(e) = d.announcer.send_due(ctx.now()) {
                d.hooks.warning(&format!("sending GARP/NA: {e}"));
            }
            d.after(ctx);
        }));
        ctx.add_read(
            "netlink",
            d.monitor.as_raw_fd(),
            None,
            |d: &mut Driver, ctx, ev| {
                if ev == Event::Readable {
                    d.netlink_events(ctx);
                }
                rearm(d, ctx);
            },
        )?;
        // Initial link states, then start.
        d.origin = ctx.now();
        let now = d.now_at(ctx.now());
        let links: Vec<(InterfaceId, bool)> = d.links.all().map(|l| (l.interface, l.up)).collect();
        for (i, up) in links {
            d.engine.handle_link(now, i, up);
        }
        // The heap only: the VRRP process keeps its code mapped (`sys::release_code` would also
        // drop the code of a takeover, which a backup has not run since: faulting it back in
        // made 100 x 10 ms takeovers 0.15-1 ms later in the scale bench).
        d.trim_timer = Some(ctx.add_timer_slot("trim", |_: &mut Driver, _, _| {
            super::sys::trim_heap();
        }));
        d.sync_links(ctx);
        super::track::Trackers::start(d, ctx);
        let statics = d.statics.clone();
        d.install_statics(&statics, &StaticConfig::default());
        d.engine.start(now);
        d.after(ctx);
        if let Err(e) = self.lp.run(&mut self.driver) {
            // A handler panicked or the loop broke: still release mastership and remove what we
            // installed, as an orderly stop would, unless an abort was asked for.
            if !self.handle.aborted.load(Ordering::SeqCst) && self.driver.exit.is_none() {
                self.driver.stop_engine();
            }
            return Err(e.into());
        }
        if self.handle.aborted.load(Ordering::SeqCst) {
            return Ok(Exit::Aborted);
        }
        Ok(self.driver.exit.unwrap_or(Exit::Shutdown))
    }
}

/// Removes what a crashed predecessor left behind and recorded in journal `j` (only entries it
/// recorded, so only what it added itself), VMACs last, then empties the journal. Returns the
/// removals that failed.
fn remove_stale(j: &Journal, rtnl: &mut Rtnl) -> Result<Vec<String>, DriverError> {
    let stale = j.read().map_err(io_err(format!(
        "reading the journal {}",
        j.path().display()
    )))?;
    let mut failures: Vec<String> = rtnl
        .remove_stale(&stale)
        .iter()
        .map(ToString::to_string)
        .collect();
    // Then the VMACs it created, now that nothing is on them: only an interface of that name
    // that still has a virtual router MAC (someone may have reused the name since the crash).
    let links = if stale
        .iter()
        .any(|e| matches!(e, super::journal::Entry::Link(_)))
    {
        rtnl.links()?
    } else {
        Vec::new()
    };
    for e in &stale {
        let super::journal::Entry::Link(name) = e else {
            continue;
        };
        match links.iter().find(|l| l.name == *name) {
            None => {} // already gone
            Some(l) if !l.mac.is_some_and(super::vmac::is_virtual_router_mac) => failures.push(
                format!("{name} (journaled as a VMAC) is not one now: left alone"),
            ),
            Some(_) => {
                if let Err(e) = super::vmac::delete_link(rtnl, name) {
                    failures.push(e.to_string());
                }
            }
        }
    }
    j.write(&[]).map_err(io_err(format!(
        "writing the journal {}",
        j.path().display()
    )))?;
    Ok(failures)
}

/// Runs the receive path whenever the socket `key` (descriptor `fd`) is readable.
fn watch_socket(
    ctx: &mut Ctx<Driver>,
    key: SocketKey,
    fd: i32,
) -> Result<TaskId, scheduler::Error> {
    ctx.add_read("vrrp", fd, None, move |d: &mut Driver, ctx, ev| {
        if ev == Event::Readable && d.receive(ctx, key) {
            // Read until it would block: the registration need not be refreshed (one
            // `epoll_ctl` less per wake-up).
            if let Some(me) = ctx.current()
                && let Err(e) = ctx.rearm_io_drained(me)
            {
                d.hooks.warning(&format!("cannot re-arm a read task: {e}"));
            }
            return;
        }
        rearm(d, ctx);
    })
}

/// Re-arms timer slot `id` for `deadline` unless it is already so: after every wake-up the
/// engine's next deadline is usually unchanged (a BACKUP's received advert pushes its down
/// timer later without touching the heap top), and re-setting it would push a new entry onto the
/// loop's timer heap each time.
fn set_deadline(ctx: &mut Ctx<Driver>, id: TaskId, deadline: Option<StdInstant>) {
    if ctx.deadline(id) != deadline {
        ctx.set_deadline(id, deadline);
    }
}

fn rearm(d: &mut Driver, ctx: &mut Ctx<Driver>) {
    if let Some(me) = ctx.current()
        && let Err(e) = ctx.rearm_io(me, None)
    {
        d.hooks.warning(&format!("cannot re-arm a read task: {e}"));
    }
}

impl Driver {
    fn now_at(&self, t: StdInstant) -> Instant {
        Instant::from_std(self.origin, t)
    }

    fn to_std(&self, t: Instant) -> StdInstant {
        self.origin + (t - Instant::ZERO)
    }

    fn shutdown(&mut self, ctx: &mut Ctx<Driver>) {
        if self.exit.is_some() {
            return;
        }
        self.stop_engine();
        ctx.terminate();
    }

    /// The engine's orderly stop, performed at once (also used outside the loop when the loop
    /// failed, so that a bug does not leave VIPs behind).
    fn stop_engine(&mut self) {
        let t = StdInstant::now();
        // Shutdown names no instance, so it cannot fail.
        let _ = self
            .engine
            .handle_command(self.now_at(t), Command::Shutdown);
        self.announcer.clear();
        self.exit = Some(Exit::Shutdown);
        self.perform_actions(t);
        // keepalived-behaviour.md §7.5: the static entries go last, whatever the VRRP state.
        let statics = std::mem::take(&mut self.statics);
        self.remove_statics(&statics, &StaticConfig::default());
        // Whatever is still ours (a removal that failed above or earlier): one more try. What
        // still fails stays in the journal for the next start.
        for e in self.rtnl.remove_remaining() {
            self.hooks.warning(&e.to_string());
        }
        // VMACs last (keepalived ChangeLog 1.2.6: addresses, routes, then VMACs).
        for name in self.vmacs.names() {
            if let Err(e) = self.vmacs.delete(&mut self.rtnl, &name) {
                self.hooks.warning(&e.to_string());
            }
        }
        self.sync_journal();
    }

    /// Installs the static entries of `new` that `old` lacks: addresses, then routes, then
    /// rules (on the interfaces as they are now: one that does not exist is reported).
    fn install_statics(&mut self, new: &StaticConfig, old: &StaticConfig) {
        for va in new.addresses.iter().filter(|a| !old.addresses.contains(a)) {
            match self.kernel_address(va) {
                Some(k) => self.add_address(k.interface, &k),
                None => self.hooks.warning(&format!(
                    "static address {}: its interface does not exist now",
                    va.addr
                )),
            }
        }
        for r in new.routes.iter().filter(|r| !old.routes.contains(r)) {
            match self.kernel_route(r) {
                Some(k) => self.add_route(&k),
                None => self.hooks.warning(&format!(
                    "static route {}/{}: its interface does not exist now",
                    r.dest, r.prefix_len
                )),
            }
        }
        for r in new.rules.iter().filter(|r| !old.rules.contains(r)) {
            self.add_rule(r);
        }
        self.sync_journal();
    }

    /// Removes the static entries of `old` that `keep` lacks: rules, then routes, then
    /// addresses.
    fn remove_statics(&mut self, old: &StaticConfig, keep: &StaticConfig) {
        for r in old.rules.iter().rev().filter(|r| !keep.rules.contains(r)) {
            self.remove_rule(r);
        }
        for r in old.routes.iter().rev().filter(|r| !keep.routes.contains(r)) {
            if let Some(k) = self.kernel_route(r) {
                self.remove_route(&k);
            }
        }
        for va in old
            .addresses
            .iter()
            .rev()
            .filter(|a| !keep.addresses.contains(a))
        {
            if let Some(k) = self.kernel_address(va)
                && let Some(ifc) = k.interface
            {
                self.remove_address(ifc, &k);
            }
        }
        self.sync_journal();
    }

    /// Hands the embedder a view for a dump.
    fn dump(&mut self, kind: DumpKind) {
        let view = DumpView {
            engine: &self.engine,
            links: &self.links,
        };
        self.hooks.dump(kind, &view);
    }

    /// Hands the engine a new configuration; the kept adverts go, as what they were encoded
    /// from may have changed (`mcast_dst_ip`).
    fn reload_engine(
        &mut self,
        now: Instant,
        config: EngineConfig,
    ) -> Result<(), crate::ConfigError> {
        self.encoded.clear();
        self.engine.reload(now, config)
    }

    /// Asks the embedder for a new configuration and applies it as a diff (`Engine::reload`),
    /// opening and watching the sockets new instances need.
    fn reload(&mut self, ctx: &mut Ctx<Driver>) {
        if self.exit.is_some() {
            return;
        }
        let Some(config) = self.hooks.reload() else {
            return;
        };
        // Reading the file left freed memory and parser code behind: give both back soon.
        self.trim_soon = true;
        if let Err(e) = config.validate() {
            self.hooks.warning(&format!(
                "reload refused, keeping the running configuration: {e}"
            ));
            return;
        }
        let now = self.now_at(ctx.now());
        let trackers = config.trackers.clone();
        let statics = config.statics.clone();
        let old_interfaces: Vec<InterfaceConfig> = self.links.named().cloned().collect();
        self.links.configure(&config.interfaces);
        let auto_source = auto_sources(&config);
        let resolved = self.resolve(config);
        if let Err(e) = self.reload_engine(now, resolved) {
            self.hooks.warning(&format!(
                "reload refused, keeping the running configuration: {e}"
            ));
            self.links.configure(&old_interfaces);
            return;
        }
        self.auto_source = auto_source;
        super::track::Trackers::apply(self, ctx, &trackers);
        // Static entries by difference (keepalived-behaviour.md §7.3): the unchanged stay put.
        let old = std::mem::replace(&mut self.statics, statics.clone());
        self.remove_statics(&old, &statics);
        self.install_statics(&statics, &old);
        // Removed instances release their addresses first, then their VMACs go.
        self.after(ctx);
        self.sync_links(ctx);
        self.after(ctx);
    }

    /// Performs the engine's pending actions, then re-arms both timers.
    fn after(&mut self, ctx: &mut Ctx<Driver>) {
        self.perform_actions(ctx.now());
        if self.exit.is_some() {
            return;
        }
        let deadline = self.engine.poll_timeout().map(|t| self.to_std(t));
        if let Some(id) = self.engine_timer {
            set_deadline(ctx, id, deadline);
        }
        if let Some(id) = self.garp_timer {
            set_deadline(ctx, id, self.announcer.next_due());
        }
        if let Some(id) = self.trim_timer
            && core::mem::take(&mut self.trim_soon)
        {
            ctx.set_deadline(id, Some(ctx.now() + TRIM_DELAY));
        }
    }

    /// Rewrites the journal if what we installed changed.
    fn sync_journal(&mut self) {
        let Some(j) = &self.journal else {
            return;
        };
        let mut now: std::collections::HashSet<_> = self.rtnl.installed().into_iter().collect();
        now.extend(self.vmacs.installed());
        let digest = journal_digest(&now);
        if digest == self.journaled {
            return;
        }
        match j.write(&now) {
            Ok(()) => self.journaled = digest,
            Err(e) => {
                let msg = format!("writing the journal {}: {e}", j.path().display());
                self.hooks.warning(&msg);
            }
        }
    }

    /// Performs the engine's pending actions in order (`now` paces GARP/NA).
    fn perform_actions(&mut self, now: StdInstant) {
        // Most wake-ups (an advert received in BACKUP) produce no action at all.
        if self.engine.has_pending_actions() || !self.outbox.is_empty() {
            self.perform_actions_inner(now);
        }
        if core::mem::take(&mut self.journal_dirty) {
            self.sync_journal();
        }
    }

    /// Performs the pending actions (adverts first, see [`Burst`]). Between two actions that
    /// are not adverts, timers that fell due meanwhile run and their actions join the burst: a
    /// mass takeover's later instances, whose master-down timers expire while the earlier ones'
    /// addresses are being added, send their adverts then, not after all the burst's netlink
    /// work (1,000 instances: the last ones were about 3 ms late).
    fn perform_actions_inner(&mut self, now: StdInstant) {
        let mut burst = Burst::default();
        // The engine's whole queue at once: a burst of adverts only (the steady state) becomes
        // the burst's advert queue as it is, buffer included, and goes back to the engine
        // emptied (`recycle_actions`), so a burst allocates nothing.
        let taken = self.engine.take_actions();
        let others = taken
            .iter()
            .filter(|a| !matches!(a, Action::SendAdvert(_)))
            .count();
        burst.extend(taken, others == 0);
        // Adverts do not count: a 1,000-instance master sends a burst of them every interval,
        // and postponing the trim each time kept it from ever happening (0.2 MB of heap).
        self.trim_soon |= others >= LARGE_BURST;
        while let Some(action) = burst.pop() {
            let advert = matches!(action, Action::SendAdvert(_));
            self.perform_action(action, now);
            if !advert && self.exit.is_none() && self.expire_due() {
                let mut joined = 0;
                while let Some(action) = self.engine.poll_action() {
                    joined += 1;
                    burst.push(action);
                }
                self.trim_soon |= joined >= LARGE_BURST;
            }
        }
        self.engine
            .recycle_actions(core::mem::take(&mut burst.adverts));
        self.flush_adverts();
    }

    /// Runs the engine's timers that are due by now, if any (returns whether it did; their
    /// actions are then pending). Long runs of work call it between their steps, so that a due
    /// advert or master-down expiry does not wait for the end of the run.
    fn expire_due(&mut self) -> bool {
        let t = self.now_at(StdInstant::now());
        let due = self.engine.poll_timeout().is_some_and(|at| at <= t);
        if due {
            self.engine.handle_timeout(t);
        }
        due
    }

    /// Performs one action (queued adverts leave first unless it is an advert itself).
    fn perform_action(&mut self, action: Action, now: StdInstant) {
        if let Action::SendAdvert(tx) = &action {
            // The common action: no translated copy of it (`kernel_action`) is made.
            self.send_advert(tx);
            return;
        }
        let Some(action) = self.kernel_action(action) else {
            return;
        };
        // Adverts queued so far go out before anything that follows them.
        self.flush_adverts();
        self.journal_dirty |= changes_installed(&action);
        match action {
            Action::SendAdvert(_) => {} // sent above, untranslated
            Action::AddAddress {
                interface, address, ..
            } => self.add_address(Some(interface), &address),
            Action::RemoveAddress {
                interface, address, ..
            } => self.remove_address(interface, &address),
            Action::AddRoute { route, .. } => self.add_route(&route),
            Action::RemoveRoute { route, .. } => self.remove_route(&route),
            Action::AddRule { rule, .. } => self.add_rule(&rule),
            Action::RemoveRule { rule, .. } => self.remove_rule(&rule),
            Action::Announce {
                interface,
                addresses,
                repeat,
                garp_interval,
                gna_interval,
                ..
            } => {
                if self.exit.is_some() {
                    return;
                }
                for va in addresses.iter() {
                    let ifc = va.interface.unwrap_or(interface);
                    let Some(link) = self.links.get(&ifc) else {
                        self.hooks
                            .warning(&format!("no interface #{} for GARP/NA", ifc.0));
                        continue;
                    };
                    let Some(mac) = link.mac else {
                        continue; // no hardware address: nothing to announce
                    };
                    let (interval, router) = match va.addr {
                        IpAddr::V4(_) => (garp_interval, false),
                        IpAddr::V6(_) => (gna_interval, ipv6_forwarding(&link.name)),
                    };
                    if let Err(e) = self
                        .announcer
                        .announce(now, ifc.0, mac, va.addr, repeat, interval, router)
                    {
                        self.hooks.warning(&format!("GARP/NA for {}: {e}", va.addr));
                    }
                }
            }
            Action::Notify(n) => self.hooks.notify(&n),
            Action::Log(r) => self.hooks.log(&r),
        }
    }

    /// Sends every queued IPv4 advert: one `sendmmsg` per socket (adverts of instances due at
    /// the same moment leave in one system call).
    fn flush_adverts(&mut self) {
        let pool = &self.pool;
        let hooks = &mut self.hooks;
        self.outbox.flush(
            |key| pool.get(key),
            |vrid, dst, e| {
                // A lost advert is something VRRP tolerates; report it and go on.
                hooks.warning(&format!("sending the advert of VRID {vrid} to {dst}: {e}"));
            },
        );
    }

    fn add_address(&mut self, interface: Option<InterfaceId>, address: &VirtualAddress) {
        let Some(interface) = interface else {
            self.hooks.warning(&format!(
                "{}/{} names no interface: not installed",
                address.addr, address.prefix_len
            ));
            return;
        };
        match self.rtnl.add_address(interface, address) {
            Ok(Added::New) => {}
            Ok(Added::AlreadyPresent) => self.hooks.warning(&format!(
                "{}/{} was already on interface #{}; it is not ours and will not be removed",
                address.addr, address.prefix_len, interface.0
            )),
            Err(e) => self.hooks.warning(&e.to_string()),
        }
    }

    fn remove_address(&mut self, interface: InterfaceId, address: &VirtualAddress) {
        match self.rtnl.remove_address(interface, address) {
            Ok(true) => {}
            Ok(false) => self.hooks.warning(&format!(
                "{}/{} on interface #{} was not added by us; left alone",
                address.addr, address.prefix_len, interface.0
            )),
            Err(e) => self.hooks.warning(&e.to_string()),
        }
    }

    fn add_route(&mut self, route: &VirtualRoute) {
        match self.rtnl.add_route(route) {
            Ok(Added::New) => {}
            Ok(Added::AlreadyPresent) => self.hooks.warning(&format!(
                "route {}/{} already existed; it is not ours and will not be removed",
                route.dest, route.prefix_len
            )),
            Err(e) => self.hooks.warning(&e.to_string()),
        }
    }

    fn remove_route(&mut self, route: &VirtualRoute) {
        match self.rtnl.remove_route(route) {
            Ok(true) => {}
            Ok(false) => self.hooks.warning(&format!(
                "route {}/{} was not added by us; left alone",
                route.dest, route.prefix_len
            )),
            Err(e) => self.hooks.warning(&e.to_string()),
        }
    }

    fn add_rule(&mut self, rule: &VirtualRule) {
        match self.rtnl.add_rule(rule) {
            Ok(Added::New) => {}
            Ok(Added::AlreadyPresent) => self.hooks.warning(&format!(
                "rule '{rule}' already existed; it is not ours and will not be removed"
            )),
            Err(e) => self.hooks.warning(&e.to_string()),
        }
    }

    fn remove_rule(&mut self, rule: &VirtualRule) {
        match self.rtnl.remove_rule(rule) {
            Ok(true) => {}
            Ok(false) => self
                .hooks
                .warning(&format!("rule '{rule}' was not added by us; left alone")),
            Err(e) => self.hooks.warning(&e.to_string()),
        }
    }

    /// Queues (IPv4) or sends (IPv6) `tx`, on the kernel interface its instance's interface
    /// is now (its VMAC when it transmits on one); dropped if there is none.
    fn send_advert(&mut self, tx: &AdvertTx) {
        let Some(interface) = self.links.kernel(self.tx_interface(tx.interface)) else {
            return;
        };
        let key = socket_key(interface, tx.source, &tx.auth);
        if let Some(datagrams) = self.encoded.get(tx, key) {
            for (dst, datagram) in super::outbox::each_datagram(datagrams) {
                self.ident = self.ident.wrapping_add(1).max(1);
                self.outbox
                    .push_with_ident(key, datagram, tx.vrid, dst, self.ident);
            }
            return;
        }
        let family = Family::of(tx.source);
        let keep = EncodedAdverts::keeps(tx);
        // What to keep: the datagrams back to back, and how many.
        let (mut kept, mut kept_count) = (Vec::new(), 0);
        let Some(socket) = self.pool.get(key) else {
            self.hooks
                .warning(&format!("no VRRP socket on interface #{}", interface.0));
            return;
        };
        let group = self
            .engine
            .config(tx.instance)
            .and_then(|c| c.mcast_group)
            .unwrap_or(match family {
                Family::V4 => IpAddr::V4(vrrp_proto::vrrp::MULTICAST_V4),
                Family::V6 => IpAddr::V6(vrrp_proto::vrrp::MULTICAST_V6),
            });
        let dests: &[IpAddr] = match &tx.destination {
            Destination::Multicast => core::slice::from_ref(&group),
            Destination::Unicast(peers) => peers,
        };
        for &dst in dests {
            let sent = match (tx.source, dst) {
                (IpAddr::V4(src), IpAddr::V4(dst)) => {
                    self.ident = self.ident.wrapping_add(1).max(1);
                    let header = vrrp_proto::Ipv4Header {
                        src,
                        dst,
                        ident: self.ident,
                        ttl: vrrp_proto::vrrp::REQUIRED_TTL,
                        tos: vrrp_proto::ipv4::TOS_INTERNETWORK_CONTROL,
                    };
                    let ah = tx.ah_params();
                    let queued = self
                        .outbox
                        .encode(key, tx.vrid, dst, |buf| {
                            vrrp_proto::emit_ipv4(
                                buf,
                                &header,
                                &tx.repr(),
                                tx.checksum_mode,
                                ah.as_ref(),
                            )
                        })
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()));
                    if keep
                        && queued.is_ok()
                        && let Some(d) = self.outbox.last()
                    {
                        kept.extend_from_slice(d);
                        kept_count += 1;
                    }
                    queued
                }
                (IpAddr::V6(src), IpAddr::V6(dst)) => {
                    let mut buf = [0u8; 1500];
                    vrrp_proto::emit_ipv6(&mut buf, src, dst, &tx.repr())
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
                        .and_then(|n| socket.send_v6(&buf[..n], src, dst))
                }
                _ => Err(io::Error::from(io::ErrorKind::InvalidInput)),
            };
            if let Err(e) = sent {
                // A lost advert is something VRRP tolerates; report it and go on.
                self.hooks.warning(&format!(
                    "sending the advert of VRID {} to {dst}: {e}",
                    tx.vrid
                ));
            }
        }
        if keep && kept_count == dests.len() {
            self.encoded.insert(tx, key, &kept);
        }
    }

    /// IPv4: the datagrams waiting, read `RX_BATCH` at a time with `recvmmsg` (one system call
    /// for a burst of adverts instead of one each). Returns whether the socket was read until
    /// nothing was left (a short batch).
    fn receive_v4(&mut self, ctx: &mut Ctx<Driver>, key: SocketKey) -> bool {
        const SLOT: usize = 2048; // the largest VRRP datagram (255 addresses, AH) is ~1.1 KB
        // A burst of one interface's adverts (the scale bench: 13) fits in one batch; a larger
        // batch only costs zeroing more message headers on every wake-up.
        const RX_BATCH: usize = 16;
        let base = self.links.logical(key.0);
        let mut buf = core::mem::take(&mut self.buf);
        let mut lens = [0usize; RX_BATCH];
        let mut arrivals = [None; RX_BATCH];
        let mut drained = false;
        // Bounded: at most 256 datagrams per wake-up, so one flood cannot starve the loop.
        for _ in 0..256 / RX_BATCH {
            let Some(socket) = self.pool.get(key) else {
                break;
            };
            // Each datagram's time is its arrival, as the kernel stamped it: a backup's
            // master-down timer runs from it. The time of the read was up to the batch's
            // arrival spread late (32 adverts of a 1,000-instance burst: 150-250 µs, while
            // the loop woke up and handled the batch before), and the takeover with it.
            let before = self.now_at(StdInstant::now());
            let wall = epoch_nanos(std::time::SystemTime::now());
            let n = match socket.recv_many_v4(&mut buf, SLOT, &mut lens, &mut arrivals) {
                Ok(n) => n,
                Err(e) => {
                    self.hooks
                        .warning(&format!("receiving on {}: {e}", self.links.describe(base)));
                    break;
                }
            };
            // The end of the read bounds only a stamp later than `wall` (a datagram that came
            // during the read, or a wall clock stepped back): read when one is seen, which is
            // rarely (one clock read less per wake-up for a backup).
            let mut after = None;
            let origin = self.origin;
            for (i, &len) in lens[..n].iter().enumerate() {
                let d = &buf[i * SLOT..i * SLOT + len];
                let stamp = arrivals[i].and_then(|a| u64::try_from(a.as_nanos()).ok());
                let now = arrival(
                    before,
                    wall,
                    || *after.get_or_insert_with(|| Instant::from_std(origin, StdInstant::now())),
                    stamp,
                );
                match vrrp_proto::decode_ipv4(d) {
                    Ok(rx) => {
                        let interface = self.rx_interface(key, base, rx.advert.vrid);
                        self.engine.handle_advert(now, interface, &rx);
                    }
                    Err(e) => {
                        let (src, vrid) = peek_v4(d);
                        self.engine.handle_rx_error(now, base, src, vrid, e);
                    }
                }
                self.perform_actions(ctx.now());
            }
            // Fewer than asked for: the socket had no more (recvmmsg without waiting).
            if n < RX_BATCH.min(buf.len() / SLOT) {
                drained = true;
                break;
            }
        }
        self.buf = buf;
        self.after(ctx);
        drained
    }

    /// Reads and handles the datagrams waiting on socket `key`. Returns whether it was read
    /// until nothing was left (so that its read task may be re-armed without re-registering).
    fn receive(&mut self, ctx: &mut Ctx<Driver>, key: SocketKey) -> bool {
        if key.1 == Family::V4 {
            return self.receive_v4(ctx, key);
        }
        let mut drained = false;
        let base = self.links.logical(key.0);
        let mut buf = core::mem::take(&mut self.buf);
        // Bounded: at most 256 datagrams per wake-up, so one flood cannot starve the loop.
        for _ in 0..256 {
            let Some(socket) = self.pool.get(key) else {
                break;
            };
            let now = self.now_at(StdInstant::now());
            match socket.recv(&mut buf) {
                Ok(None) => {
                    drained = true;
                    break;
                }
                Ok(Some(Datagram::V4(d))) => match vrrp_proto::decode_ipv4(d) {
                    Ok(rx) => {
                        let interface = self.rx_interface(key, base, rx.advert.vrid);
                        self.engine.handle_advert(now, interface, &rx);
                    }
                    Err(e) => {
                        let (src, vrid) = peek_v4(d);
                        self.engine.handle_rx_error(now, base, src, vrid, e);
                    }
                },
                Ok(Some(Datagram::V6 {
                    payload,
                    src,
                    dst,
                    hop_limit,
                })) => match vrrp_proto::decode_ipv6(payload, src, dst, hop_limit) {
                    Ok(rx) => {
                        let interface = self.rx_interface(key, base, rx.advert.vrid);
                        self.engine.handle_advert(now, interface, &rx);
                    }
                    Err(e) => {
                        let vrid = payload.get(1).copied();
                        self.engine
                            .handle_rx_error(now, base, IpAddr::V6(src), vrid, e);
                    }
                },
                Err(e) => {
                    self.hooks
                        .warning(&format!("receiving on {}: {e}", self.links.describe(base)));
                    break;
                }
            }
            self.perform_actions(ctx.now());
        }
        self.buf = buf;
        self.after(ctx);
        drained
    }

    fn netlink_events(&mut self, ctx: &mut Ctx<Driver>) {
        self.journal_dirty = true; // `forget_*` below change what we installed
        let events = match self.monitor.read() {
            Ok(batch) if batch.lost => {
                let mut events = batch.events;
                events.extend(self.resync());
                events
            }
            Ok(batch) => batch.events,
            Err(e) => {
                self.hooks.warning(&format!("netlink monitor: {e}"));
                Vec::new()
            }
        };
        let now = self.now_at(ctx.now());
        let mut resync_links = false;
        for ev in events {
            match ev {
                NetEvent::Link(info) => {
                    let (ifc, up) = (info.interface, info.up);
                    self.links.update(info);
                    self.engine.handle_link(now, ifc, up);
                    resync_links = true;
                }
                NetEvent::LinkGone(ifc) => {
                    self.link_gone(ifc);
                    self.engine.handle_link(now, ifc, false);
                    resync_links = true;
                }
                NetEvent::Address {
                    interface,
                    addr,
                    present,
                    ..
                } => {
                    let ours = self.rtnl.owns_address(interface, addr);
                    let logical = self.links.logical(interface);
                    if present && !ours {
                        self.engine.handle_address(now, logical, addr, true);
                    } else if !present
                        && ours
                        && let Some(va) = self.static_address(interface, addr)
                    {
                        // A static address removed behind our back is put back.
                        self.rtnl.forget_address(interface, addr);
                        if !va.no_track && self.link_alive(interface) {
                            self.hooks.warning(&format!(
                                "static address {addr} was removed from interface {}: restoring",
                                self.links.describe(interface)
                            ));
                            self.add_address(Some(interface), &va);
                        }
                    } else if !present && ours {
                        // Someone removed an address we installed (unless the kernel did, as
                        // its interface is going away: the link report follows).
                        self.rtnl.forget_address(interface, addr);
                        if self.link_alive(interface) {
                            self.engine.handle_address(now, logical, addr, false);
                        }
                    }
                    // A source address may have appeared or gone.
                    resync_links |= !ours && self.has_auto_source();
                    // Otherwise it is the echo of our own change.
                }
                NetEvent::Route { route, present } => {
                    if let Some(st) = self.static_route(&route) {
                        if !present && self.rtnl.owns_route(&st) {
                            self.rtnl.forget_route(&st);
                            if !st.no_track && st.interface.is_none_or(|k| self.link_alive(k)) {
                                self.hooks.warning(&format!(
                                    "static route {}/{} was removed: restoring",
                                    st.dest, st.prefix_len
                                ));
                                self.add_route(&st);
                            }
                        }
                        continue;
                    }
                    let oif = route.interface;
                    let route = self.logical_route(route);
                    let Some(mine) = self.configured_route(&route) else {
                        continue;
                    };
                    let Some(kernel) = self.kernel_route(&mine) else {
                        continue;
                    };
                    let ours = self.rtnl.owns_route(&kernel);
                    if present && !ours {
                        self.engine.handle_route(now, &mine, true);
                    } else if !present && ours {
                        self.rtnl.forget_route(&kernel);
                        if oif.is_none_or(|k| self.link_alive(k)) {
                            self.engine.handle_route(now, &mine, false);
                        }
                    }
                }
                NetEvent::Rule { rule, present } => self.rule_event(now, &rule, present),
            }
            // A batch holds up to 64 KiB of reports (the echoes of a mass takeover's address
            // changes: about 800, a few ms of work): timers that fall due meanwhile run between
            // two reports, not after the batch.
            self.expire_due();
            self.perform_actions(ctx.now());
        }
        if resync_links {
            self.sync_links(ctx);
        }
        self.after(ctx);
    }

    /// After lost notifications: the links as they are now (and a removal for each that is
    /// gone), and a removal event for each address of ours that is gone. (Routes are not
    /// re-read.)
    fn resync(&mut self) -> Vec<NetEvent> {
        self.hooks
            .warning("netlink monitor overflowed; re-reading links and addresses");
        let mut events = Vec::new();
        match self.rtnl.links() {
            Ok(links) => {
                // Links deleted while notifications were lost.
                let gone: Vec<InterfaceId> = self
                    .links
                    .all()
                    .map(|l| l.interface)
                    .filter(|k| !links.iter().any(|l| l.interface == *k))
                    .collect();
                events.extend(gone.into_iter().map(NetEvent::LinkGone));
                events.extend(links.into_iter().map(NetEvent::Link));
            }
            Err(e) => self.hooks.warning(&e.to_string()),
        }
        match self.rtnl.addresses() {
            Ok(present) => {
                for e in self.rtnl.installed() {
                    if let super::journal::Entry::Address {
                        interface,
                        addr,
                        prefix_len,
                    } = e
                        && !present.contains(&(interface, addr))
                    {
                        events.push(NetEvent::Address {
                            interface,
                            addr,
                            prefix_len,
                            present: false,
                        });
                    }
                }
            }
            Err(e) => self.hooks.warning(&e.to_string()),
        }
        events
    }

    /// A rule appeared or vanished: a static rule of ours that vanished is put back (unless
    /// `no_track`); a virtual one goes to the engine's reconciliation.
    fn rule_event(&mut self, now: Instant, seen: &VirtualRule, present: bool) {
        let find = |rules: &[VirtualRule]| {
            rules
                .iter()
                .find(|r| super::netlink::rule_matches(r, seen))
                .cloned()
        };
        if let Some(st) = find(&self.statics.rules) {
            if !present && self.rtnl.owns_rule(&st) {
                self.rtnl.forget_rule(&st);
                if !st.no_track {
                    self.hooks
                        .warning(&format!("static rule '{st}' was removed: restoring"));
                    self.add_rule(&st);
                }
            }
            return;
        }
        let configured = (0..self.engine.instance_count()).find_map(|i| {
            let cfg = self.engine.config(crate::InstanceId(i as u32))?;
            find(&cfg.virtual_rules)
        });
        let Some(mine) = configured else {
            return;
        };
        let ours = self.rtnl.owns_rule(&mine);
        if present && !ours {
            self.engine.handle_rule(now, &mine, true);
        } else if !present && ours {
            self.rtnl.forget_rule(&mine);
            self.engine.handle_rule(now, &mine, false);
        }
    }

    /// The static address `addr` on kernel interface `interface`, if one is configured (in
    /// kernel terms).
    fn static_address(&self, interface: InterfaceId, addr: IpAddr) -> Option<VirtualAddress> {
        self.statics
            .addresses
            .iter()
            .filter(|a| a.addr == addr)
            .filter_map(|a| self.kernel_address(a))
            .find(|a| a.interface == Some(interface))
    }

    /// The configured static route that a kernel route report stands for (in kernel terms).
    fn static_route(&self, seen: &VirtualRoute) -> Option<VirtualRoute> {
        self.statics
            .routes
            .iter()
            .filter_map(|r| self.kernel_route(r))
            .find(|r| route_matches(r, seen))
    }

    /// The configured virtual route that a kernel route report stands for: the kernel fills in
    /// what the configuration left open (output interface, IPv6 metric), so only the fields the
    /// configuration sets are compared.
    fn configured_route(&self, seen: &VirtualRoute) -> Option<VirtualRoute> {
        (0..self.engine.instance_count()).find_map(|i| {
            let cfg = self.engine.config(crate::InstanceId(i as u32))?;
            cfg.virtual_routes
                .iter()
                .find(|r| route_matches(r, seen))
                .cloned()
        })
    }
}

/// Actions in one step (adverts aside) that make a burst worth giving memory back after.
const LARGE_BURST: usize = 512;
/// How long after a burst (or the start) the heap is trimmed.
const TRIM_DELAY: std::time::Duration = std::time::Duration::from_secs(2);

/// The actions of one burst still to be performed, adverts ahead of the other work (netlink
/// changes, GARP/NA, notifications, logs) wherever that keeps each instance's own kernel changes
/// in order: an advert passes reports (logs, notifications) and other instances' work only.
/// Instances due at the same moment then advertise together and on time, instead of each advert
/// waiting for the address changes of the instances before it (100 instances taking over at
/// once: the last advert left about 4 ms late). An action of any other kind (policy rules) stops
/// the reordering: adverts pushed after it keep their place.
///
/// Actions of timers that fall due while the burst is performed are pushed into it and obey
/// the same rule. Pushing and popping cost O(1) whatever the backlog: a 1,000-instance takeover
/// whose master-down expiries come spread over 10 ms (the master's phases, see the engine's
/// `advert_phases`) queues about 5,000 actions of netlink and GARP work, and sorting that
/// backlog again at every join (as this did before) cost up to 0.7 ms per join, which the
/// later instances' adverts waited for.
#[derive(Default)]
struct Burst {
    /// Adverts that may leave before everything in `rest`, in order.
    adverts: VecDeque<Action>,
    /// The rest, in order (adverts that may not pass their instance's work included).
    rest: VecDeque<Action>,
    /// Per instance, how many of its kernel changes, announcements and held-back adverts `rest`
    /// holds.
    held: HashMap<crate::InstanceId, u32>,
    /// Actions in `rest` of any other kind ([`Owner::Unknown`]).
    barriers: usize,
}

/// Whom an action's order matters to (see [`Burst`]).
enum Owner {
    /// An instance's advert.
    Advert(crate::InstanceId),
    /// An instance's own kernel change or GARP/NA announcement.
    Instance(crate::InstanceId),
    /// Logs and notifications only report: an advert may pass them (keepalived too sends
    /// before it notifies), including its own instance's "master down" line.
    Report,
    /// Anything else: nothing may pass it.
    Unknown,
}

fn owner(action: &Action) -> Owner {
    match action {
        Action::SendAdvert(tx) => Owner::Advert(tx.instance),
        Action::AddAddress { instance, .. }
        | Action::RemoveAddress { instance, .. }
        | Action::AddRoute { instance, .. }
        | Action::RemoveRoute { instance, .. }
        | Action::Announce { instance, .. } => Owner::Instance(*instance),
        Action::Notify(_) | Action::Log(_) => Owner::Report,
        #[allow(unreachable_patterns)] // action kinds added later: keep their order
        _ => Owner::Unknown,
    }
}

impl Burst {
    /// Adds `action` after those pushed before it (an advert goes ahead of the others' work
    /// when it may).
    fn push(&mut self, action: Action) {
        match owner(&action) {
            Owner::Advert(id) => {
                if self.barriers == 0 && !self.held.contains_key(&id) {
                    self.adverts.push_back(action);
                    return;
                }
                // Held back: the instance's later adverts stay behind this one too.
                *self.held.entry(id).or_insert(0) += 1;
            }
            Owner::Instance(id) => *self.held.entry(id).or_insert(0) += 1,
            Owner::Report => {}
            Owner::Unknown => self.barriers += 1,
        }
        self.rest.push_back(action);
    }

    /// Adds `actions` in order, as [`Burst::push`] would; `all_adverts` says that they are all
    /// adverts, which then go ahead together, as their queue itself when the burst is empty.
    fn extend(&mut self, actions: VecDeque<Action>, all_adverts: bool) {
        if all_adverts && self.adverts.is_empty() && self.rest.is_empty() {
            self.adverts = actions;
            return;
        }
        for action in actions {
            self.push(action);
        }
    }

    /// The next action to perform.
    fn pop(&mut self) -> Option<Action> {
        if let Some(a) = self.adverts.pop_front() {
            return Some(a);
        }
        let action = self.rest.pop_front()?;
        match owner(&action) {
            Owner::Advert(id) | Owner::Instance(id) => {
                if let Some(n) = self.held.get_mut(&id) {
                    *n -= 1;
                    if *n == 0 {
                        self.held.remove(&id);
                    }
                }
            }
            Owner::Unknown => self.barriers -= 1,
            Owner::Report => {}
        }
        Some(action)
    }
}

/// The engine's time at which a datagram arrived, from the kernel's stamp `stamp`
/// (`CLOCK_REALTIME`, nanoseconds since the Unix epoch) and both clocks read just before the
/// read (`before` on the engine's clock, `wall` as `stamp`). Without a stamp (or a wall clock),
/// `before`. Kept between `after` (a time at or after the end of the read; asked for only when
/// the stamp is later than `wall`) and 10 ms before `before`, so a step of the wall clock can
/// make it neither later than the read nor much earlier than the truth. Integer arithmetic
/// only: a backup runs this for every advert.
fn arrival(
    before: Instant,
    wall: Option<u64>,
    after: impl FnOnce() -> Instant,
    stamp: Option<u64>,
) -> Instant {
    const MAX_AGE_NS: u64 = 10_000_000;
    let (Some(stamp), Some(wall)) = (stamp, wall) else {
        return before;
    };
    let before = before.as_nanos();
    if let Some(age) = wall.checked_sub(stamp) {
        // At or before `before`: no later bound needed.
        return Instant::from_nanos(before.saturating_sub(age.min(MAX_AGE_NS)));
    }
    let t = before.saturating_add(stamp - wall);
    Instant::from_nanos(t.min(after().as_nanos().max(before)))
}

/// A wall-clock reading in nanoseconds since the Unix epoch (`None` before 1970 or after 2554).
fn epoch_nanos(t: std::time::SystemTime) -> Option<u64> {
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(d.as_nanos()).ok()
}

/// Whether performing `action` may change the addresses, routes or rules we installed (and so
/// the journal). Everything but the per-advert actions counts, new action kinds included.
fn changes_installed(action: &Action) -> bool {
    !matches!(
        action,
        Action::SendAdvert(_) | Action::Notify(_) | Action::Log(_) | Action::Announce { .. }
    )
}

/// Interfaces by name: the translation between the engine's interface ids and the kernel's,
/// VMACs, sockets and source addresses as interfaces come and go.
impl Driver {
    /// Whether an instance waits for its source address to be found on its interface.
    fn has_auto_source(&self) -> bool {
        self.auto_source.contains(&true)
    }

    /// Whether kernel link `k` exists and is up right now (asked of the kernel: an address
    /// removal can precede the report of its interface's deletion).
    fn link_alive(&mut self, k: InterfaceId) -> bool {
        match self.rtnl.links() {
            Ok(links) => links.iter().any(|l| l.interface == k && l.up),
            Err(_) => true,
        }
    }

    /// The running configuration with source addresses filled in again as the interfaces
    /// are now (see [`resolved_config`]).
    fn resolved(&mut self) -> EngineConfig {
        let mut config = self.engine.running_config();
        for (inst, &auto) in config.instances.iter_mut().zip(&self.auto_source) {
            if auto {
                inst.primary_addr = if inst.primary_addr.is_ipv6() {
                    IpAddr::V6(Ipv6Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                };
            }
        }
        self.resolve(config)
    }

    /// `config` with its unspecified source addresses filled in as the interfaces are now,
    /// an instance keeping the address it uses while that is still there (see
    /// [`resolved_config`]).
    fn resolve(&mut self, config: EngineConfig) -> EngineConfig {
        let mut warnings = Vec::new();
        let current = self.current_sources();
        let out = resolved_config(config, &self.links, &mut self.rtnl, &current, &mut warnings);
        for w in warnings {
            self.hooks.warning(&w);
        }
        out
    }

    /// The source address each running instance uses, by name.
    fn current_sources(&self) -> HashMap<Arc<str>, IpAddr> {
        (0..self.engine.instance_count())
            .filter_map(|i| self.engine.config(crate::InstanceId(i as u32)))
            .map(|c| (c.name.clone(), c.primary_addr))
            .collect()
    }

    /// Kernel link `k` was deleted: what the kernel removed with it is no longer ours.
    fn link_gone(&mut self, k: InterfaceId) {
        let Some(info) = self.links.remove(k.0) else {
            return;
        };
        self.vmacs.gone(&info.name);
        for e in self.rtnl.installed() {
            match e {
                super::journal::Entry::Address {
                    interface, addr, ..
                } if interface == k => self.rtnl.forget_address(interface, addr),
                super::journal::Entry::Route(r) if r.interface == Some(k) => {
                    self.rtnl.forget_route(&r);
                }
                _ => {}
            }
        }
    }

    /// The interface adverts of instances on `id` go through: the base of a VMAC with
    /// `vmac_xmit_base`, else `id`.
    fn tx_interface(&self, id: InterfaceId) -> InterfaceId {
        match self.links.config(id).and_then(|c| c.vmac.as_ref()) {
            Some(v) if v.xmit_base => v.base,
            _ => id,
        }
    }

    /// The interface the engine receives an advert of `vrid` on when it came in on socket
    /// `key` (the VMAC of a `vmac_xmit_base` instance, else the socket's own interface).
    fn rx_interface(&self, key: SocketKey, base: InterfaceId, vrid: u8) -> InterfaceId {
        if self.xmit_base.is_empty() {
            return base;
        }
        self.xmit_base
            .get(&(key.0, key.1, vrid))
            .copied()
            .unwrap_or(base)
    }

    /// `route` with its output interface as a kernel ifindex (`None` if that interface does
    /// not exist now).
    fn kernel_route(&self, route: &VirtualRoute) -> Option<VirtualRoute> {
        let mut out = VirtualRoute {
            interface: self.kernel_opt(route.interface)?,
            ..route.clone()
        };
        for h in &mut out.nexthops {
            h.interface = self.kernel_opt(h.interface)?;
        }
        Some(out)
    }

    /// A route the kernel reported, with its interfaces as the configuration's ids.
    fn logical_route(&self, mut route: VirtualRoute) -> VirtualRoute {
        route.interface = route.interface.map(|k| self.links.logical(k));
        for h in &mut route.nexthops {
            h.interface = h.interface.map(|k| self.links.logical(k));
        }
        route
    }

    /// `address` with its own interface (if any) as a kernel ifindex.
    fn kernel_address(&self, address: &VirtualAddress) -> Option<VirtualAddress> {
        Some(VirtualAddress {
            interface: self.kernel_opt(address.interface)?,
            ..address.clone()
        })
    }

    /// An optional interface as a kernel ifindex: `None` stays `None`; `Some` of an interface
    /// that does not exist now fails.
    #[allow(clippy::option_option)] // None: the interface is missing; Some(None): none named
    fn kernel_opt(&self, id: Option<InterfaceId>) -> Option<Option<InterfaceId>> {
        match id {
            Some(id) => self.links.kernel(id).map(Some),
            None => Some(None),
        }
    }

    /// An engine action in kernel terms (ifindexes; adverts through the transmit interface).
    /// `None` when an interface it needs does not exist now: removals from a deleted
    /// interface are moot, additions are reported.
    fn kernel_action(&mut self, action: Action) -> Option<Action> {
        let missing = |d: &mut Driver, what: &str, id: InterfaceId| {
            let name = d.links.describe(id);
            d.hooks
                .warning(&format!("{what}: interface {name} does not exist now"));
        };
        match action {
            // Adverts are translated where they are sent (`send_advert`).
            Action::AddAddress {
                instance,
                interface,
                address,
            } => {
                let target = address.interface.unwrap_or(interface);
                let (Some(k), Some(address)) =
                    (self.links.kernel(interface), self.kernel_address(&address))
                else {
                    missing(self, &format!("adding {}", address.addr), target);
                    return None;
                };
                Some(Action::AddAddress {
                    instance,
                    interface: k,
                    address: Box::new(address),
                })
            }
            Action::RemoveAddress {
                instance,
                interface,
                address,
            } => Some(Action::RemoveAddress {
                instance,
                interface: self.links.kernel(interface)?,
                address: Box::new(self.kernel_address(&address)?),
            }),
            Action::AddRoute { instance, route } => {
                let Some(kernel) = self.kernel_route(&route) else {
                    let dev = route.interface.unwrap_or(InterfaceId(0));
                    missing(self, &format!("adding route {}", route.dest), dev);
                    return None;
                };
                Some(Action::AddRoute {
                    instance,
                    route: Box::new(kernel),
                })
            }
            Action::RemoveRoute { instance, route } => Some(Action::RemoveRoute {
                instance,
                route: Box::new(self.kernel_route(&route)?),
            }),
            Action::Announce {
                instance,
                interface,
                addresses,
                repeat,
                garp_interval,
                gna_interval,
            } => {
                let interface = self.links.kernel(interface)?;
                let addresses: Vec<VirtualAddress> = addresses
                    .iter()
                    .filter_map(|a| self.kernel_address(a))
                    .collect();
                Some(Action::Announce {
                    instance,
                    interface,
                    addresses: addresses.into(),
                    repeat,
                    garp_interval,
                    gna_interval,
                })
            }
            other => Some(other),
        }
    }

    /// Brings everything that depends on the interfaces in line with the links as they are:
    /// VMACs created (base present) or deleted (no longer configured), source addresses found,
    /// sockets opened and closed, and link states of configured interfaces reported.
    fn sync_links(&mut self, ctx: &mut Ctx<Driver>) {
        let now = self.now_at(ctx.now());
        self.sync_vmacs();
        // Source addresses.
        if self.has_auto_source() {
            let resolved = self.resolved();
            let changed = resolved.instances.iter().enumerate().any(|(i, c)| {
                self.engine
                    .config(crate::InstanceId(i as u32))
                    .is_some_and(|running| running.primary_addr != c.primary_addr)
            });
            if changed && let Err(e) = self.reload_engine(now, resolved) {
                self.hooks
                    .warning(&format!("applying source addresses: {e}"));
            }
        }
        self.sync_sockets(ctx);
        // Link states of the configured interfaces (a missing one is down).
        let mut ids: Vec<InterfaceId> = self.links.named().map(|c| c.id).collect();
        ids.extend(
            (0..self.engine.instance_count())
                .filter_map(|i| self.engine.config(crate::InstanceId(i as u32)))
                .map(|c| c.interface),
        );
        for id in ids {
            let up = self.links.is_up(id);
            if self.reported.insert(id, up) != Some(up) {
                self.engine.handle_link(now, id, up);
            }
        }
    }

    /// Creates the configured VMACs whose base exists, deletes ours that are no longer
    /// configured.
    fn sync_vmacs(&mut self) {
        let wanted: Vec<(String, crate::VmacConfig)> = self
            .links
            .named()
            .filter_map(|c| Some((c.name.clone(), c.vmac.clone()?)))
            .collect();
        for name in self.vmacs.names() {
            if !wanted.iter().any(|(n, _)| *n == name)
                && let Err(e) = self.vmacs.delete(&mut self.rtnl, &name)
            {
                self.hooks.warning(&e.to_string());
            }
        }
        let mut created = false;
        for (name, v) in wanted {
            if self.links.by_name(&name).is_some() {
                continue;
            }
            let Some(base) = self.links.kernel(v.base) else {
                continue; // created when the base appears
            };
            let base_name = self.links.describe(base);
            let ipv6 = v.mac[4] == 0x02;
            match self
                .vmacs
                .create(&mut self.rtnl, &name, base.0, &base_name, v.mac, ipv6)
            {
                Ok(Created::New) => created = true,
                Ok(Created::Adopted) => {
                    created = true;
                    self.hooks.warning(&format!(
                        "VMAC {name} already existed; it is used and will not be removed"
                    ));
                }
                Err(e) => self.hooks.warning(&e.to_string()),
            }
        }
        if created {
            match self.rtnl.links() {
                Ok(all) => all.into_iter().for_each(|l| self.links.update(l)),
                Err(e) => self.hooks.warning(&e.to_string()),
            }
            self.sync_journal();
        }
    }

    /// Opens the sockets the instances need on the interfaces that exist, joins their
    /// `mcast_dst_ip` groups, and closes the sockets of interfaces that went away.
    fn sync_sockets(&mut self, ctx: &mut Ctx<Driver>) {
        let mut wanted: HashMap<SocketKey, HashSet<IpAddr>> = HashMap::new();
        self.xmit_base.clear();
        for i in 0..self.engine.instance_count() {
            let Some(cfg) = self.engine.config(crate::InstanceId(i as u32)) else {
                continue;
            };
            let tx = self.tx_interface(cfg.interface);
            let Some(k) = self
                .links
                .kernel(tx)
                .filter(|k| self.links.get(k).is_some())
            else {
                continue;
            };
            let key = socket_key(k, cfg.primary_addr, &cfg.auth);
            let groups = wanted.entry(key).or_default();
            groups.extend(cfg.mcast_group);
            if tx != cfg.interface {
                self.xmit_base.insert((k, key.1, cfg.vrid), cfg.interface);
            }
        }
        let open: Vec<SocketKey> = self.pool.iter().map(|(k, _)| k).collect();
        for key in open {
            if !wanted.contains_key(&key) {
                if let Some(task) = self.socket_tasks.remove(&key) {
                    ctx.cancel(task);
                }
                self.pool.remove(key);
                self.joined.retain(|(k, _)| *k != key);
            }
        }
        for (key, groups) in wanted {
            if self.pool.get(key).is_none() {
                let fd = match self.pool.get_or_open(key) {
                    Ok(s) => s.as_raw_fd(),
                    Err(e) => {
                        let name = self.links.describe(key.0);
                        self.hooks
                            .warning(&format!("opening the VRRP socket on {name}: {e}"));
                        continue;
                    }
                };
                match watch_socket(ctx, key, fd) {
                    Ok(task) => {
                        self.socket_tasks.insert(key, task);
                    }
                    Err(e) => self.hooks.warning(&e.to_string()),
                }
            }
            for group in groups {
                if self.joined.contains(&(key, group)) {
                    continue;
                }
                let Some(socket) = self.pool.get(key) else {
                    continue;
                };
                match socket.join(group) {
                    Ok(()) => {
                        self.joined.insert((key, group));
                    }
                    Err(e) => self.hooks.warning(&format!("joining {group}: {e}")),
                }
            }
        }
    }
}

/// An order-independent digest of a set of journal entries: the sum of their `SipHash` values
/// (fixed keys), so two sets compare equal when their digests do, but for a 2^-64 chance.
fn journal_digest(entries: &HashSet<super::journal::Entry>) -> u64 {
    use core::hash::{Hash as _, Hasher as _};
    entries.iter().fold(entries.len() as u64, |sum, e| {
        let mut h = std::hash::DefaultHasher::new();
        e.hash(&mut h);
        sum.wrapping_add(h.finish())
    })
}

/// Whether each instance of `config` leaves its primary address to the driver.
fn auto_sources(config: &EngineConfig) -> Vec<bool> {
    config
        .instances
        .iter()
        .map(|i| i.primary_addr.is_unspecified())
        .collect()
}

/// `config` with the unspecified primary addresses replaced by an address of the instance's
/// family (IPv6: link-local) on its interface, if there is one now: the one the instance uses
/// (`current`, by instance name) while it is still there, else the first (keepalived-behaviour.md
/// §3.1: "the interface's first address"; unlike keepalived, §3.10 \[Q\], a deleted source is
/// replaced). The interface is the base of a VMAC for IPv4 (the VMAC has none), the one adverts
/// leave through for IPv6. The instance's own virtual addresses and anything the driver
/// installed never qualify.
fn resolved_config(
    mut out: EngineConfig,
    links: &Links,
    rtnl: &mut Rtnl,
    current: &HashMap<Arc<str>, IpAddr>,
    warnings: &mut Vec<String>,
) -> EngineConfig {
    if !out
        .instances
        .iter()
        .any(|i| i.primary_addr.is_unspecified())
    {
        return out;
    }
    let present = match rtnl.addresses() {
        Ok(a) => a,
        Err(e) => {
            warnings.push(e.to_string());
            return out;
        }
    };
    for inst in &mut out.instances {
        if !inst.primary_addr.is_unspecified() {
            continue;
        }
        let v6 = inst.primary_addr.is_ipv6();
        let vmac = links.config(inst.interface).and_then(|c| c.vmac.as_ref());
        let from = match vmac {
            Some(v) if !v6 || v.xmit_base => v.base,
            _ => inst.interface,
        };
        let Some(k) = links.kernel(from) else {
            continue;
        };
        let mut candidates = present.iter().filter(|(i, a)| {
            *i == k
                && a.is_ipv6() == v6
                && match a {
                    IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
                    IpAddr::V4(_) => true,
                }
                && !inst.virtual_addresses.iter().any(|va| va.addr == *a)
                && !rtnl.owns_address(k, *a)
        });
        let first = candidates.clone().next().map(|&(_, a)| a);
        let kept = current
            .get(&inst.name)
            .filter(|c| candidates.any(|&(_, a)| a == **c))
            .copied();
        if let Some(a) = kept.or(first) {
            inst.primary_addr = a;
        }
    }
    out
}

impl super::track::TrackHost for Driver {
    fn trackers(&mut self) -> &mut super::track::Trackers {
        &mut self.trackers
    }
    fn tracker_result(
        &mut self,
        ctx: &mut Ctx<Driver>,
        id: crate::TrackerId,
        status: crate::TrackerStatus,
    ) {
        if self.exit.is_some() {
            return;
        }
        let now = self.now_at(ctx.now());
        self.engine.handle_tracker(now, id, status);
        self.after(ctx);
    }
    fn warning(&mut self, message: &str) {
        self.hooks.warning(message);
    }
}

/// The socket an instance sends and receives on.
fn socket_key(interface: InterfaceId, primary: IpAddr, auth: &crate::AuthConfig) -> SocketKey {
    let carrier = match auth {
        crate::AuthConfig::Ah(_) => Carrier::Ah,
        _ => Carrier::Vrrp,
    };
    (interface, Family::of(primary), carrier)
}

/// Whether the kernel's report `seen` is the configured route `cfg`: the kernel fills in what
/// the configuration left open (output interface, IPv6 metric, scope), so open fields match
/// anything.
fn route_matches(cfg: &VirtualRoute, seen: &VirtualRoute) -> bool {
    fn open<T: PartialEq>(want: Option<&T>, got: Option<&T>) -> bool {
        want.is_none_or(|w| got == Some(w))
    }
    let hops = cfg.nexthops.len() == seen.nexthops.len()
        && cfg.nexthops.iter().zip(&seen.nexthops).all(|(c, s)| {
            c.gateway == s.gateway
                && c.weight == s.weight
                && open(c.interface.as_ref(), s.interface.as_ref())
        });
    cfg.dest == seen.dest
        && cfg.prefix_len == seen.prefix_len
        && cfg.table == seen.table
        && cfg.kind == seen.kind
        && hops
        && open(cfg.gateway.as_ref(), seen.gateway.as_ref())
        && open(cfg.source.as_ref(), seen.source.as_ref())
        && open(cfg.interface.as_ref(), seen.interface.as_ref())
        && open(cfg.metric.as_ref(), seen.metric.as_ref())
        && open(cfg.scope.as_ref(), seen.scope.as_ref())
}

/// Source and VRID of an IPv4 datagram the codec refused, for attributing the error.
fn peek_v4(d: &[u8]) -> (IpAddr, Option<u8>) {
    let src = d
        .get(12..16)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |b| {
            IpAddr::from(b)
        });
    let ihl = d.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    (src, d.get(ihl + 1).copied())
}

/// Whether IPv6 forwarding is on for `ifname` (sets the NA's R flag, as keepalived does).
fn ipv6_forwarding(ifname: &str) -> bool {
    if ifname.contains('/') || ifname.is_empty() {
        return false;
    }
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .is_ok_and(|s| s.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_digests_tell_sets_apart_in_any_order() {
        use super::super::journal::Entry;
        let addr = |last: u8, prefix_len| Entry::Address {
            interface: InterfaceId(2),
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            prefix_len,
        };
        let set = |v: Vec<Entry>| v.into_iter().collect::<HashSet<_>>();
        let a = set(vec![addr(1, 32), addr(2, 32), Entry::Link("vrrp.1".into())]);
        let b = set(vec![Entry::Link("vrrp.1".into()), addr(2, 32), addr(1, 32)]);
        assert_eq!(journal_digest(&a), journal_digest(&b));
        for other in [
            set(vec![addr(1, 32), addr(2, 32)]),
            set(vec![addr(1, 32), addr(2, 24), Entry::Link("vrrp.1".into())]),
            set(vec![addr(1, 32), addr(2, 32), Entry::Link("vrrp.2".into())]),
            HashSet::new(),
        ] {
            assert_ne!(journal_digest(&a), journal_digest(&other), "{other:?}");
        }
    }

    #[test]
    fn kernel_fills_open_route_fields() {
        let cfg = VirtualRoute {
            gateway: Some("10.0.0.254".parse().unwrap()),
            ..VirtualRoute::to("198.51.100.0".parse().unwrap(), 24)
        };
        let seen = VirtualRoute {
            interface: Some(InterfaceId(2)),
            scope: Some(0),
            metric: Some(1024),
            ..cfg.clone()
        };
        assert!(route_matches(&cfg, &seen));
        let other_gw = VirtualRoute {
            gateway: Some("10.0.0.1".parse().unwrap()),
            ..seen.clone()
        };
        assert!(!route_matches(&cfg, &other_gw));
        let hole = VirtualRoute {
            kind: crate::RouteKind::Blackhole,
            ..seen.clone()
        };
        assert!(!route_matches(&cfg, &hole));
        let scoped = VirtualRoute {
            scope: Some(253),
            ..cfg.clone()
        };
        assert!(!route_matches(&scoped, &seen));
        let hop = |gw: &str, weight| crate::NextHop {
            gateway: Some(gw.parse().unwrap()),
            interface: None,
            weight,
            onlink: false,
        };
        let multi = VirtualRoute {
            gateway: None,
            nexthops: vec![hop("10.0.0.1", 1), hop("10.0.0.2", 2)],
            ..cfg
        };
        let mut seen_multi = VirtualRoute {
            nexthops: vec![hop("10.0.0.1", 1), hop("10.0.0.2", 2)],
            ..multi.clone()
        };
        seen_multi.nexthops[0].interface = Some(InterfaceId(2));
        assert!(route_matches(&multi, &seen_multi));
        seen_multi.nexthops[1].weight = 1;
        assert!(!route_matches(&multi, &seen_multi));
    }

    fn advert(instance: u32) -> Action {
        Action::SendAdvert(AdvertTx {
            instance: crate::InstanceId(instance),
            interface: InterfaceId(2),
            vrid: instance as u8,
            priority: crate::Priority(100),
            interval: vrrp_proto::AdvertInterval::V2(vrrp_proto::Seconds(1)),
            auth: crate::AuthConfig::None,
            sequence: 0,
            checksum_mode: vrrp_proto::Ipv4ChecksumMode::PseudoHeader,
            source: "10.0.0.1".parse().unwrap(),
            destination: Destination::Multicast,
            addresses: crate::action::AdvertAddresses::v4(&[]),
        })
    }

    fn add(instance: u32) -> Action {
        Action::AddAddress {
            instance: crate::InstanceId(instance),
            interface: InterfaceId(2),
            address: Box::new(crate::VirtualAddress::host("192.0.2.1".parse().unwrap())),
        }
    }

    /// (kind, instance) of each action, for comparing orders.
    fn shape(actions: &[Action]) -> Vec<(char, u32)> {
        actions
            .iter()
            .map(|a| match a {
                Action::SendAdvert(tx) => ('s', tx.instance.0),
                Action::AddAddress { instance, .. } => ('a', instance.0),
                _ => ('?', 0),
            })
            .collect()
    }

    /// Pushes `actions` into a fresh burst and pops them all, in the order they would run.
    fn through_burst(actions: Vec<Action>) -> Vec<Action> {
        let mut b = Burst::default();
        for a in actions {
            b.push(a);
        }
        core::iter::from_fn(|| b.pop()).collect()
    }

    #[test]
    fn adverts_go_first_but_never_past_their_own_instance() {
        // Three instances becoming MASTER at once: advert then address each.
        let v = through_burst(vec![
            advert(1),
            add(1),
            advert(2),
            add(2),
            advert(3),
            add(3),
        ]);
        assert_eq!(
            shape(&v),
            [('s', 1), ('s', 2), ('s', 3), ('a', 1), ('a', 2), ('a', 3)]
        );
        // An advert that follows its own instance's address change stays behind it.
        let v = through_burst(vec![add(1), advert(1), advert(2), add(2)]);
        assert_eq!(shape(&v), [('s', 2), ('a', 1), ('s', 1), ('a', 2)]);
        // Nothing to move: unchanged.
        let v = through_burst(vec![advert(1), advert(2), add(1)]);
        assert_eq!(shape(&v), [('s', 1), ('s', 2), ('a', 1)]);
        // An action of another kind (a policy rule, which other instances' traffic may use)
        // stops the reordering: adverts pushed after it keep their place.
        let rule = Action::AddRule {
            instance: crate::InstanceId(9),
            rule: Box::new(VirtualRule::new(false)),
        };
        let v = through_burst(vec![add(1), rule, advert(2)]);
        assert_eq!(shape(&v), [('a', 1), ('?', 0), ('s', 2)]);
    }

    #[test]
    fn extending_a_burst_orders_as_pushing_and_reuses_an_advert_queue() {
        // Adverts only, into an empty burst: the queue itself becomes the advert queue.
        let mut q = VecDeque::with_capacity(64);
        q.extend([advert(1), advert(2), advert(1)]);
        let mut b = Burst::default();
        b.extend(q, true);
        assert_eq!(b.adverts.capacity(), 64, "the buffer is kept, not copied");
        let v: Vec<Action> = core::iter::from_fn(|| b.pop()).collect();
        assert_eq!(shape(&v), [('s', 1), ('s', 2), ('s', 1)]);
        // Mixed, or into a burst with work queued: the same order as pushing one by one.
        for (prefix, actions) in [
            (vec![], vec![add(1), advert(1), advert(2), add(2)]),
            (vec![add(3)], vec![advert(3), advert(4)]),
        ] {
            let all: Vec<Action> = prefix.iter().chain(&actions).cloned().collect();
            let adverts_only = actions.iter().all(|a| matches!(a, Action::SendAdvert(_)));
            let mut b = Burst::default();
            for a in prefix {
                b.push(a);
            }
            b.extend(actions.into(), adverts_only);
            let v: Vec<Action> = core::iter::from_fn(|| b.pop()).collect();
            assert_eq!(shape(&v), shape(&through_burst(all)));
        }
    }

    #[test]
    fn timers_due_mid_burst_advertise_before_the_rest_of_it() {
        // A takeover burst: instances 1 and 2 have sent their adverts, their addresses remain.
        let mut b = Burst::default();
        b.push(add(1));
        b.push(add(2));
        // Instance 3's master-down timer fell due meanwhile: its advert passes the others' work.
        b.push(advert(3));
        b.push(add(3));
        let v: Vec<Action> = core::iter::from_fn(|| b.pop()).collect();
        assert_eq!(shape(&v), [('s', 3), ('a', 1), ('a', 2), ('a', 3)]);
        // An instance with work still queued: its new advert stays behind that work; once that
        // work is done, its next advert goes ahead again.
        let mut b = Burst::default();
        b.push(add(1));
        b.push(add(2));
        b.push(advert(2));
        b.push(advert(4));
        assert_eq!(
            shape(&[b.pop().unwrap(), b.pop().unwrap()]),
            [('s', 4), ('a', 1)]
        );
        assert_eq!(shape(&[b.pop().unwrap()]), [('a', 2)]);
        // Instance 2's held-back advert is still queued: a newer one never passes it.
        b.push(add(5));
        b.push(advert(2));
        b.push(advert(6));
        let v: Vec<Action> = core::iter::from_fn(|| b.pop()).collect();
        assert_eq!(shape(&v), [('s', 6), ('s', 2), ('a', 5), ('s', 2)]);
        assert!(b.held.is_empty() && b.barriers == 0);
        b.push(advert(2));
        assert_eq!(shape(&[b.pop().unwrap()]), [('s', 2)]);
    }

    #[test]
    fn arrivals_come_from_the_kernel_stamp_within_bounds() {
        const US: u64 = 1_000;
        let before = Instant::from_nanos(50_000_000_000);
        let after = Instant::from_nanos(before.as_nanos() + 20 * US);
        let wall = 1_700_000_000_000_000_000u64;
        let end = || after;
        let unused = || -> Instant { panic!("the end of the read is not needed") };
        // Stamped 200 µs before the read: 200 µs before `before`.
        let t = arrival(before, Some(wall), unused, Some(wall - 200 * US));
        assert_eq!(before.as_nanos() - t.as_nanos(), 200 * US);
        assert_eq!(arrival(before, Some(wall), unused, Some(wall)), before);
        // Arrived during the read: after `before`, never after `after`.
        let t = arrival(before, Some(wall), end, Some(wall + 5 * US));
        assert_eq!(t.as_nanos() - before.as_nanos(), 5 * US);
        let t = arrival(before, Some(wall), end, Some(wall + 5_000_000 * US));
        assert_eq!(t, after);
        // A wall clock stepped since: at most 10 ms early.
        let t = arrival(before, Some(wall), unused, Some(wall - 60_000_000 * US));
        assert_eq!(before.as_nanos() - t.as_nanos(), 10_000 * US);
        // Near the engine's origin: never before it.
        let early = Instant::from_nanos(3 * US);
        assert_eq!(
            arrival(early, Some(wall), unused, Some(wall - 200 * US)),
            Instant::ZERO
        );
        // No stamp, or no wall clock: the time before the read.
        assert_eq!(arrival(before, Some(wall), unused, None), before);
        assert_eq!(arrival(before, None, unused, Some(wall)), before);
        // The wall clock as the stamps count it.
        let t = std::time::UNIX_EPOCH + core::time::Duration::new(1_700_000_000, 5);
        assert_eq!(epoch_nanos(t), Some(1_700_000_000_000_000_005));
        assert_eq!(
            epoch_nanos(std::time::UNIX_EPOCH - core::time::Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn peek_never_panics() {
        for n in 0..24 {
            let d = vec![0x45u8; n];
            let _ = peek_v4(&d);
        }
    }
}
