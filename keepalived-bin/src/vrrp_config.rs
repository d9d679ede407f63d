//! keepalived.conf (the `confparse` model) onto the VRRP engine's own configuration.
//!
//! Every part of the model that the engine or its Linux driver cannot act on yet gives a
//! [`Warning`] naming the keyword and where it was written: nothing is dropped silently. The
//! host (interface indexes, primary addresses) comes in through [`HostView`], so the mapping is
//! testable without a kernel.
//!
//! Interfaces are named, never resolved here: every interface the configuration mentions
//! becomes an [`InterfaceConfig`] with the logical id [`InterfaceId::named`], which the driver
//! follows by name. A missing interface is a warning (its instances start in FAULT and come
//! up when it appears). Likewise an instance without `unicast_src_ip`/`mcast_src_ip` gets the
//! unspecified address: the driver picks the interface's first address (and another when that
//! one goes away).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use confparse::model::{self, AuthType, Config, Track, VrrpInstance};
use confparse::{SourceMap, Span};
use vrrp_engine::EngineConfig;
use vrrp_engine::config::{FileTracker, ScriptTracker};
use vrrp_engine::config::{
    GarpConfig, GroupId, InitialState, InstanceConfig, InstanceId, InterfaceConfig, InterfaceId,
    SyncGroupConfig, TrackBinding, TrackerConfig, TrackerId, TrackerKind, TrackerStatus,
    UnicastPeer, VirtualAddress, VirtualRoute, VmacConfig,
};
use vrrp_engine::config::{NextHop, RouteKind, StaticConfig, VirtualRule, table_number};
use vrrp_engine::{AdvertInterval, AuthConfig, Centiseconds, Seconds};

/// What the mapping needs to know about the host.
pub(crate) trait HostView {
    /// The kernel index of interface `name`, if it exists.
    fn if_index(&self, name: &str) -> Option<u32>;
    /// The addresses of interface `ifindex` in the given family that adverts may be sent from
    /// (for IPv6, the link-local ones), in the kernel's order.
    fn source_addresses(&self, ifindex: u32, ipv6: bool) -> Vec<IpAddr>;
    /// The number of routing table `name` (beyond `main`, `local` and `default`), from
    /// iproute2's `rt_tables` files as `ip route … table NAME` reads them.
    fn route_table(&self, name: &str) -> Option<u32> {
        rt_tables_lookup(name)
    }
}

/// Looks `name` up in iproute2's table names: `/etc/iproute2/rt_tables`, then
/// `/etc/iproute2/rt_tables.d/*.conf`, then the distribution defaults under `/usr/share` and
/// `/usr/lib`. Lines are `NUMBER NAME`; `#` starts a comment.
fn rt_tables_lookup(name: &str) -> Option<u32> {
    let mut files = vec![std::path::PathBuf::from("/etc/iproute2/rt_tables")];
    if let Ok(dir) = std::fs::read_dir("/etc/iproute2/rt_tables.d") {
        let mut confs: Vec<_> = dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        confs.sort();
        files.extend(confs);
    }
    files.push("/usr/share/iproute2/rt_tables".into());
    files.push("/usr/lib/iproute2/rt_tables".into());
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .find_map(|text| table_in(&text, name))
}

/// The number of table `name` in the text of an `rt_tables` file.
fn table_in(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut w = line.split_whitespace();
        let (num, n) = (w.next()?, w.next()?);
        if n != name {
            return None;
        }
        match num.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => num.parse().ok(),
        }
    })
}

/// Something in the configuration that is not acted on, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Warning {
    /// Where (may be [`Span::NONE`] for whole-configuration findings).
    pub span: Span,
    /// What.
    pub message: String,
}

impl Warning {
    /// `file:line: message` (or just the message without a location).
    pub(crate) fn render(&self, sources: &SourceMap) -> String {
        if self.span.is_real() {
            format!(
                "{}:{}: {}",
                sources.path(self.span.file).display(),
                self.span.line,
                self.message
            )
        } else {
            self.message.clone()
        }
    }
}

/// Why no engine configuration could be built at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MapError {
    /// Where.
    pub span: Span,
    /// What.
    pub message: String,
}

/// The result of a mapping.
#[derive(Debug)]
pub(crate) struct Mapped {
    /// The engine configuration.
    pub config: EngineConfig,
    /// What is not acted on.
    pub warnings: Vec<Warning>,
    /// Notify scripts, notify FIFO and e-mail alerts.
    pub alerts: crate::notify::Alerts,
}

struct Ctx<'a> {
    host: &'a dyn HostView,
    warnings: Vec<Warning>,
    trackers: Vec<TrackerConfig>,
    interfaces: Vec<InterfaceConfig>,
    /// The parsed configuration (for `vrrp_script` and `track_file` blocks).
    config: &'a Config,
}

impl Ctx<'_> {
    fn warn(&mut self, span: Span, message: impl Into<String>) {
        self.warnings.push(Warning {
            span,
            message: message.into(),
        });
    }

    /// The logical id of interface `name` (registered once; a missing one is a warning).
    fn interface(&mut self, name: &str, span: Span) -> Result<InterfaceId, MapError> {
        if let Some(i) = self.interfaces.iter().find(|i| i.name == name) {
            return Ok(i.id);
        }
        let cfg = InterfaceConfig::named(name);
        if let Some(clash) = self.interfaces.iter().find(|i| i.id == cfg.id) {
            return Err(MapError {
                span,
                message: format!(
                    "interface names '{name}' and '{}' collide in the interface table; rename one",
                    clash.name
                ),
            });
        }
        if self.host.if_index(name).is_none() {
            self.warn(
                span,
                format!(
                    "interface '{name}' does not exist (yet): what uses it waits in FAULT until it appears"
                ),
            );
        }
        let id = cfg.id;
        self.interfaces.push(cfg);
        Ok(id)
    }

    /// The tracker for interface `ifindex`, shared by every reference to it.
    fn interface_tracker(&mut self, name: &str, ifindex: InterfaceId) -> TrackerId {
        let kind = TrackerKind::Interface(ifindex);
        if let Some(i) = self.trackers.iter().position(|t| t.kind == kind) {
            return TrackerId(i as u32);
        }
        self.trackers.push(TrackerConfig {
            name: name.to_owned(),
            kind,
            initial: TrackerStatus::Up,
        });
        TrackerId((self.trackers.len() - 1) as u32)
    }

    fn track_interfaces(&mut self, tracks: &[Track]) -> Result<Vec<TrackBinding>, MapError> {
        let mut out = Vec::with_capacity(tracks.len());
        for t in tracks {
            let ifindex = self.interface(&t.name, t.span)?;
            let tracker = self.interface_tracker(&t.name, ifindex);
            out.push(TrackBinding {
                tracker,
                weight: t.weight.unwrap_or(0),
                reverse: t.reverse,
            });
        }
        Ok(out)
    }

    /// The tracker for a named `vrrp_script` or `track_file`, created on first reference.
    fn named_tracker(
        &mut self,
        name: &str,
        kind: TrackerKind,
        initial: TrackerStatus,
    ) -> TrackerId {
        if let Some(i) = self
            .trackers
            .iter()
            .position(|t| t.name == name && t.kind == kind)
        {
            return TrackerId(i as u32);
        }
        self.trackers.push(TrackerConfig {
            name: name.to_owned(),
            kind,
            initial,
        });
        TrackerId((self.trackers.len() - 1) as u32)
    }

    /// `track_script { NAME [weight W [reverse]] }` (keepalived-behaviour.md §1.3.5, §4.7):
    /// the weight defaults to the script's own. Unknown or unusable scripts are skipped with a
    /// warning, as keepalived does.
    fn track_scripts(&mut self, tracks: &[Track]) -> Vec<TrackBinding> {
        let mut out = Vec::with_capacity(tracks.len());
        for t in tracks {
            let config = self.config;
            let Some(s) = config.vrrp_scripts.iter().find(|s| s.name == t.name) else {
                self.warn(
                    t.span,
                    format!("track_script '{}' is not defined: ignored", t.name),
                );
                continue;
            };
            let Some(spec) = self.script_spec(s) else {
                continue;
            };
            let initial = if s.init_fail {
                TrackerStatus::Down
            } else {
                TrackerStatus::Up
            };
            let tracker = self.named_tracker(&s.name, TrackerKind::Script(spec), initial);
            out.push(binding(tracker, t, s.weight, s.weight_reverse));
        }
        out
    }

    /// What the driver needs to run `s`, or `None` (with a warning) if it cannot run.
    fn script_spec(&mut self, s: &model::VrrpScript) -> Option<ScriptTracker> {
        let Some(cmd) = s.script.as_ref().filter(|c| !c.args.is_empty()) else {
            self.warn(
                s.span,
                format!("vrrp_script '{}' has no script: ignored", s.name),
            );
            return None;
        };
        let mut spec = ScriptTracker::new(cmd.args.clone());
        if crate::script::needs_shell(&cmd.args) {
            spec.shell = true;
            spec.argv = vec![crate::script::shell_line(&cmd.args)];
        }
        spec.interval = s.interval.max(Duration::from_secs(1));
        spec.timeout = s
            .timeout
            .unwrap_or(spec.interval)
            .max(Duration::from_secs(1));
        spec.rise = s.rise.max(1);
        spec.fall = s.fall.max(1);
        let user = match &s.user {
            Some(u) => crate::script::resolve(u).map(Some),
            None => crate::script::default_user(self.config.global.script_user.as_ref()),
        };
        let user = match user {
            Ok(u) => u,
            Err(e) => {
                self.warn(s.span, format!("vrrp_script '{}': {e}: ignored", s.name));
                return None;
            }
        };
        spec.uid = user.map(|u| u.uid);
        spec.gid = user.map(|u| u.gid);
        if self.config.global.enable_script_security
            && let Err(why) = crate::script::check_security(&cmd.args, user)
        {
            self.warn(s.span, format!("vrrp_script '{}': {why}: not run", s.name));
            return None;
        }
        Some(spec)
    }

    /// `track_file { NAME [weight W [reverse]] }` (keepalived-behaviour.md §8.2): the weight
    /// defaults to the file's own (1).
    fn track_files(&mut self, tracks: &[Track]) -> Vec<TrackBinding> {
        let mut out = Vec::with_capacity(tracks.len());
        for t in tracks {
            let config = self.config;
            let Some(f) = config.track_files.iter().find(|f| f.name == t.name) else {
                self.warn(
                    t.span,
                    format!("track_file '{}' is not defined: ignored", t.name),
                );
                continue;
            };
            let Some(path) = &f.file else {
                continue; // the parser already reported the missing `file`
            };
            let mut spec = FileTracker::new(path);
            if let Some(init) = &f.init_file {
                spec.init_value = Some(init.value);
                spec.init_overwrite = init.overwrite;
            }
            let tracker =
                self.named_tracker(&f.name, TrackerKind::File(spec), TrackerStatus::Value(0));
            out.push(binding(tracker, t, f.weight, f.reverse));
        }
        out
    }
}

/// A `track_script`/`track_file` reference: its own `weight W [reverse]`, else the tracked
/// object's default weight and sense.
fn binding(tracker: TrackerId, t: &Track, weight: i32, reverse: bool) -> TrackBinding {
    TrackBinding {
        tracker,
        weight: t.weight.unwrap_or(weight),
        reverse: if t.weight.is_some() {
            t.reverse
        } else {
            reverse || t.reverse
        },
    }
}

/// Maps the VRRP side of `config`. Fails only when an instance cannot run at all (a missing
/// interface, VRID or source address); the engine's own validation runs later, in `Runner::new`.
pub(crate) fn map(config: &Config, host: &dyn HostView) -> Result<Mapped, MapError> {
    let mut cx = Ctx {
        host,
        warnings: Vec::new(),
        trackers: Vec::new(),
        interfaces: Vec::new(),
        config,
    };
    global_warnings(config, &mut cx);
    let mut instances = Vec::with_capacity(config.instances.len());
    // Instances usually share their GARP settings: one copy, shared as soon as each is built
    // (the engine would share them too, but the copies it dropped left 1,000 instances' heap
    // with a 128-byte hole per instance).
    let mut garps = Vec::new();
    for vi in &config.instances {
        let mut ic = instance(config, vi, &mut cx)?;
        ic.garp.intern(&mut garps, 16);
        instances.push(ic);
    }
    let mut sync_groups = Vec::with_capacity(config.sync_groups.len());
    for g in &config.sync_groups {
        let mut members = Vec::with_capacity(g.group.len());
        for m in &g.group {
            let Some(i) = config.instances.iter().position(|vi| vi.name == m.value) else {
                return Err(MapError {
                    span: m.span,
                    message: format!(
                        "sync group '{}' names instance '{}', which is not defined",
                        g.name, m.value
                    ),
                });
            };
            members.push(InstanceId(i as u32));
        }
        let mut track = cx.track_interfaces(&g.track_interface)?;
        track.extend(cx.track_scripts(&g.track_script));
        track.extend(cx.track_files(&g.track_file));
        if g.global_tracking {
            cx.warn(g.span, "global_tracking is not supported yet: ignored");
        }
        for raw in &g.extra {
            unknown_keyword(raw, &mut cx);
        }
        sync_groups.push(SyncGroupConfig {
            name: g.name.clone(),
            members,
            tracking_weight: g.sync_group_tracking_weight,
            track,
        });
    }
    let _ = GroupId(0); // group ids are the indexes of `sync_groups`
    let mut alert_warnings = Vec::new();
    let alerts = crate::notify::Alerts::from_config(config, &mut alert_warnings);
    for (span, message) in alert_warnings {
        cx.warn(span, message);
    }
    let statics = statics(config, &mut cx);
    Ok(Mapped {
        config: EngineConfig {
            instances,
            sync_groups,
            trackers: cx.trackers,
            log_interval: Duration::from_secs(60),
            log_unknown_vrids: false,
            interfaces: cx.interfaces,
            statics,
        },
        warnings: cx.warnings,
        alerts,
    })
}

fn unknown_keyword(raw: &model::RawStatement, cx: &mut Ctx<'_>) {
    let word = raw.words.first().map_or("?", String::as_str);
    if crate::realtime::KEYWORDS.contains(&word) {
        return; // acted on by `realtime`
    }
    cx.warn(raw.span, format!("'{word}' is not supported yet: ignored"));
}

fn global_warnings(config: &Config, cx: &mut Ctx<'_>) {
    let g = &config.global;
    let none = Span::NONE;
    if g.lvs_notify_fifo.is_some() {
        cx.warn(
            none,
            "global_defs lvs_notify_fifo: the checker side is not implemented yet",
        );
    }
    if g.enable_traps {
        cx.warn(none, "global_defs enable_traps: SNMP is not supported");
    }
    for raw in &g.extra {
        // Acted on by the notifier (`notify::Alerts`).
        if raw.words.first().is_some_and(|w| w == "no_email_faults") {
            continue;
        }
        unknown_keyword(raw, cx);
    }
    let any_script_as_root = !config.vrrp_scripts.is_empty()
        && config.global.script_user.is_none()
        && matches!(crate::script::default_user(None), Ok(None));
    if any_script_as_root && !config.global.enable_script_security {
        cx.warn(
            none,
            "SECURITY VIOLATION - scripts are being executed as root but enable_script_security is not set",
        );
    }
    if let Some(vs) = config.virtual_servers.first() {
        cx.warn(
            vs.span,
            format!(
                "{} virtual_server block(s): the health checker (IPVS) side is not implemented yet",
                config.virtual_servers.len()
            ),
        );
    }
    for raw in &config.extra {
        unknown_keyword(raw, cx);
    }
}

/// The instance's family: its first virtual address's, else its source address's, else IPv4.
fn is_ipv6(vi: &VrrpInstance) -> bool {
    vi.virtual_ipaddress
        .first()
        .map(|a| a.prefix.addr.is_ipv6())
        .or_else(|| vi.unicast_src_ip.as_ref().map(|s| s.value.is_ipv6()))
        .unwrap_or(false)
}

fn advert_interval(
    version: u8,
    ipv6: bool,
    d: Duration,
    span: Span,
    cx: &mut Ctx<'_>,
) -> AdvertInterval {
    if version == 2 && !ipv6 {
        let secs = d.as_secs().clamp(1, 255);
        if d.subsec_nanos() != 0 || d.as_secs() != secs {
            cx.warn(
                span,
                format!(
                    "advert_int {d:?} does not fit VRRPv2 (whole seconds 1-255): {secs} s used"
                ),
            );
        }
        AdvertInterval::V2(Seconds(secs as u8))
    } else {
        let cs = (d.as_millis() / 10).clamp(1, 4095) as u16;
        AdvertInterval::V3(Centiseconds::new(cs).unwrap_or(Centiseconds::MAX))
    }
}

fn padded(pass: Option<&str>) -> [u8; 8] {
    let mut key = [0u8; 8];
    if let Some(p) = pass {
        for (k, b) in key.iter_mut().zip(p.bytes()) {
            *k = b;
        }
    }
    key
}

fn garp(global: &model::GlobalDefs, own: &model::GarpSettings) -> GarpConfig {
    let g = &global.garp;
    let d = GarpConfig::default();
    let master_repeat = own
        .master_repeat
        .or(g.master_repeat)
        .unwrap_or(d.master_repeat);
    let master_delay = own
        .master_delay
        .or(g.master_delay)
        .map_or(d.master_delay, |x| (!x.is_zero()).then_some(x));
    GarpConfig {
        master_repeat,
        master_delay,
        master_refresh: own
            .master_refresh
            .or(g.master_refresh)
            .filter(|x| !x.is_zero()),
        master_refresh_repeat: own
            .master_refresh_repeat
            .or(g.master_refresh_repeat)
            .unwrap_or(d.master_refresh_repeat),
        lower_prio_repeat: own
            .lower_prio_repeat
            .or(g.lower_prio_repeat)
            .unwrap_or(master_repeat),
        lower_prio_delay: own
            .lower_prio_delay
            .or(g.lower_prio_delay)
            .map_or(master_delay, |x| (!x.is_zero()).then_some(x)),
        garp_interval: global.vrrp_garp_interval.unwrap_or_default(),
        gna_interval: global.vrrp_gna_interval.unwrap_or_default(),
    }
}

/// `static_ipaddress`, `static_routes` and `static_rules`. A line that cannot be installed (an
/// unknown interface) is skipped with a warning, as keepalived skips it.
fn statics(config: &Config, cx: &mut Ctx<'_>) -> StaticConfig {
    let mut out = StaticConfig::default();
    // keepalived-behaviour.md §1.3.3: a static address without `dev` goes on the default
    // interface (`default_interface`, else eth0).
    let default_dev = config
        .global
        .default_interface
        .clone()
        .unwrap_or_else(|| "eth0".to_owned());
    for a in &config.static_ipaddress {
        let dev = a.dev.clone().unwrap_or_else(|| default_dev.clone());
        let Some(ifindex) = cx.host.if_index(&dev) else {
            cx.warn(
                a.span,
                format!(
                    "static_ipaddress {}: interface '{dev}' does not exist: skipped",
                    a.prefix.addr
                ),
            );
            continue;
        };
        let mut plain = a.clone();
        plain.dev = None;
        if let Ok(mut va) = address(&plain, false, "static_ipaddress", cx) {
            va.interface = Some(InterfaceId(ifindex));
            out.addresses.push(va);
        }
    }
    for r in &config.static_routes {
        // Statics are installed once, on the interfaces there are: a missing one skips the
        // line (interfaces of instances, by contrast, are waited for).
        if let Some(dev) = r.dev.as_ref().filter(|d| cx.host.if_index(d).is_none()) {
            cx.warn(
                r.span,
                format!("static_routes: interface '{dev}' does not exist: skipped"),
            );
            continue;
        }
        match route(r, "static_routes", cx) {
            Ok(Some(r)) => out.routes.push(r),
            Ok(None) => {}
            Err(e) => cx.warn(e.span, format!("static_routes: {}: skipped", e.message)),
        }
    }
    for r in &config.static_rules {
        if let Some(r) = rule(r, "static_rules", cx) {
            out.rules.push(r);
        }
    }
    out
}

/// `brd`: an IPv4 address, or `+`/`-` for the prefix's all-ones/all-zeros host part (as
/// `ip addr add … brd +`).
fn broadcast(addr: IpAddr, prefix_len: u8, text: &str) -> Option<Ipv4Addr> {
    let IpAddr::V4(v4) = addr else {
        return None;
    };
    let host_mask = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
    match text {
        "+" => Some(Ipv4Addr::from(u32::from(v4) | host_mask)),
        "-" => Some(Ipv4Addr::from(u32::from(v4) & !host_mask)),
        _ => text.parse().ok(),
    }
}

fn address(
    a: &model::IpAddress,
    excluded: bool,
    section: &str,
    cx: &mut Ctx<'_>,
) -> Result<VirtualAddress, MapError> {
    let interface = match &a.dev {
        Some(dev) => Some(cx.interface(dev, a.span)?),
        None => None,
    };
    let mut va = VirtualAddress::host(a.prefix.addr);
    va.prefix_len = a.prefix.len;
    va.interface = interface;
    va.excluded = excluded;
    // The kernel's limit (IFNAMSIZ - 1), as keepalived truncates.
    va.label = a.label.as_ref().map(|l| {
        let mut end = l.len().min(15);
        while !l.is_char_boundary(end) {
            end -= 1;
        }
        l[..end].into()
    });
    va.scope = a.scope.map(model::Scope::value);
    if let Some(b) = &a.broadcast {
        va.broadcast = broadcast(a.prefix.addr, a.prefix.len, b);
        if va.broadcast.is_none() {
            cx.warn(
                a.span,
                format!(
                    "{section} {}: broadcast '{b}' is not an IPv4 address: ignored",
                    a.prefix.addr
                ),
            );
        }
    }
    va.peer = a.peer.map(|p| (p.addr, p.len));
    va.no_track = a.no_track;
    let mut opts = a.options.iter();
    while let Some(o) = opts.next() {
        match o.as_str() {
            "-nodad" => va.nodad = false,
            "nodad" => va.nodad = true,
            "home" => va.home = true,
            "noprefixroute" => va.noprefixroute = true,
            "autojoin" => va.autojoin = true,
            "preferred_lft" => {
                let v = opts.next().map_or("", String::as_str);
                va.preferred_lft = if v == "forever" {
                    Some(u32::MAX)
                } else {
                    v.parse().ok()
                };
                if va.preferred_lft.is_none() {
                    cx.warn(
                        a.span,
                        format!(
                            "{section} {}: preferred_lft '{v}' is not a number or 'forever': ignored",
                            a.prefix.addr
                        ),
                    );
                }
            }
            other => {
                let _ = opts.next(); // track_group NAME and anything else with a value
                cx.warn(
                    a.span,
                    format!(
                        "{section} {}: '{other}' is not supported yet: ignored",
                        a.prefix.addr
                    ),
                );
            }
        }
    }
    Ok(va)
}

/// `nexthop via GW dev IF weight W onlink`, repeated.
fn nexthops(words: &[String], cx: &mut Ctx<'_>, span: Span) -> Result<Vec<NextHop>, String> {
    let mut hops = Vec::new();
    let mut it = words.iter().map(String::as_str);
    while let Some(w) = it.next() {
        match w {
            "nexthop" => hops.push(NextHop {
                gateway: None,
                interface: None,
                weight: 1,
                onlink: false,
            }),
            "onlink" => {
                if let Some(h) = hops.last_mut() {
                    h.onlink = true;
                }
            }
            "via" | "gw" | "dev" | "weight" => {
                let v = it.next().ok_or_else(|| format!("'{w}' needs a value"))?;
                let h = hops.last_mut().ok_or("'nexthop' expected")?;
                match w {
                    "dev" => {
                        h.interface = Some(cx.interface(v, span).map_err(|e| e.message)?);
                    }
                    "weight" => {
                        h.weight = v
                            .parse()
                            .ok()
                            .filter(|n| (1..=256).contains(n))
                            .ok_or_else(|| format!("weight '{v}' is not 1-256"))?;
                    }
                    _ => {
                        h.gateway =
                            Some(v.parse().map_err(|_| format!("'{v}' is not an address"))?);
                    }
                }
            }
            other => return Err(format!("nexthop option '{other}' is not supported yet")),
        }
    }
    Ok(hops)
}

fn route(
    r: &model::Route,
    section: &str,
    cx: &mut Ctx<'_>,
) -> Result<Option<VirtualRoute>, MapError> {
    let Some(dest) = r.dest else {
        cx.warn(
            r.span,
            format!("{section} entry without a destination: ignored"),
        );
        return Ok(None);
    };
    let kind = match r.kind.as_deref() {
        None | Some("unicast") => RouteKind::Unicast,
        Some("blackhole") => RouteKind::Blackhole,
        Some("unreachable") => RouteKind::Unreachable,
        Some("prohibit") => RouteKind::Prohibit,
        Some("throw") => RouteKind::Throw,
        Some(kind) => {
            cx.warn(
                r.span,
                format!("{section}: route type '{kind}' is not supported yet: route ignored"),
            );
            return Ok(None);
        }
    };
    let table = match &r.table {
        None => None,
        Some(t) => match table_number(t).or_else(|| cx.host.route_table(t)) {
            Some(254) => None,
            Some(n) => Some(n),
            None => {
                cx.warn(
                    r.span,
                    format!("{section}: unknown routing table '{t}': route ignored"),
                );
                return Ok(None);
            }
        },
    };
    let interface = match &r.dev {
        Some(dev) => Some(cx.interface(dev, r.span)?),
        None => None,
    };
    let mut route = VirtualRoute::to(dest.addr, dest.len);
    route.kind = kind;
    route.table = table;
    route.interface = interface;
    route.gateway = r.via;
    route.source = r.src;
    route.metric = r.metric;
    route.scope = r.scope.map(model::Scope::value);
    route.no_track = r.no_track;
    // `or GW2` (deprecated): a two-hop multipath route through the same interface.
    if let (Some(gw), Some(or)) = (r.via, r.or) {
        route.nexthops = [gw, or]
            .into_iter()
            .map(|g| NextHop {
                gateway: Some(g),
                interface,
                weight: 1,
                onlink: false,
            })
            .collect();
    }
    let mut ignored = Vec::new();
    let mut i = 0;
    while i < r.options.len() {
        match r.options[i].as_str() {
            "onlink" => route.onlink = true,
            "nexthop" => {
                match nexthops(&r.options[i..], cx, r.span) {
                    Ok(hops) => route.nexthops = hops,
                    Err(e) => {
                        cx.warn(r.span, format!("{section}: {e}: route ignored"));
                        return Ok(None);
                    }
                }
                break;
            }
            "pervasive" => ignored.push("pervasive"),
            other => {
                ignored.push(other);
                i += 1; // its value
            }
        }
        i += 1;
    }
    if !ignored.is_empty() {
        cx.warn(
            r.span,
            format!(
                "{section}: {} not supported yet: ignored",
                ignored
                    .iter()
                    .map(|o| format!("'{o}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    Ok(Some(route))
}

/// An `ip rule` line. A selector this mapping does not know makes the whole rule ignored (a
/// rule installed without one of its selectors would match more traffic than configured).
fn rule(r: &model::Rule, section: &str, cx: &mut Ctx<'_>) -> Option<VirtualRule> {
    // `track_group NAME` applies to static rules only and is not supported yet.
    // A table named in `rt_tables` is given to the parser by number.
    let mut words: Vec<String> = Vec::with_capacity(r.words.len());
    let mut it = r.words.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "track_group" => {
                let _ = it.next();
                cx.warn(
                    r.span,
                    format!("{section}: track_group is not supported yet: ignored"),
                );
            }
            "table" | "lookup" => {
                words.push(w.clone());
                if let Some(t) = it.next() {
                    words.push(match table_number(t).or_else(|| cx.host.route_table(t)) {
                        Some(n) => n.to_string(),
                        None => t.clone(),
                    });
                }
            }
            _ => words.push(w.clone()),
        }
    }
    match VirtualRule::parse(words.iter().map(String::as_str)) {
        Ok(rule) => Some(rule),
        Err(why) => {
            cx.warn(
                r.span,
                format!("{section} '{}': {why}: rule ignored", r.words.join(" ")),
            );
            None
        }
    }
}

#[allow(clippy::too_many_lines)] // one keyword after the other
fn instance(
    config: &Config,
    vi: &VrrpInstance,
    cx: &mut Ctx<'_>,
) -> Result<InstanceConfig, MapError> {
    let global = &config.global;
    let Some(ifname) = vi.interface.as_ref() else {
        return Err(MapError {
            span: vi.span,
            message: format!("vrrp_instance {}: no interface", vi.name),
        });
    };
    let base = cx.interface(&ifname.value, ifname.span)?;
    let Some(vrid) = vi.virtual_router_id.as_ref() else {
        return Err(MapError {
            span: vi.span,
            message: format!("vrrp_instance {}: no virtual_router_id", vi.name),
        });
    };
    let ipv6 = is_ipv6(vi);
    let strict = vi.strict_mode.unwrap_or(config.global.vrrp_strict);
    let (interface, vmac) = vmac(vi, vrid.value, ipv6, strict, base, cx)?;
    // Where adverts come from: the base for IPv4 (a VMAC has no IPv4 address of its own), the
    // interface adverts leave through for IPv6 (a link-local is needed there).
    let source_if = match &vmac {
        Some((name, v)) if ipv6 && !v.xmit_base => name.clone(),
        _ => ifname.value.clone(),
    };
    let configured = vi
        .unicast_src_ip
        .as_ref()
        .or(vi.mcast_src_ip.as_ref())
        .map(|s| s.value);
    // Without a configured source the driver picks the interface's first address when the
    // instance starts, and another one if that address goes away; here it is only checked, to
    // say why the instance would wait in FAULT. Never one of our own virtual addresses: a
    // crashed run may have left one behind.
    let usable = |k: u32| {
        cx.host.source_addresses(k, ipv6).into_iter().any(|a| {
            !vi.virtual_ipaddress
                .iter()
                .chain(&vi.virtual_ipaddress_excluded)
                .any(|v| v.prefix.addr == a)
        })
    };
    if configured.is_none() && cx.host.if_index(&source_if).is_some_and(|k| !usable(k)) {
        cx.warn(
            ifname.span,
            format!(
                "vrrp_instance {}: interface '{source_if}' has no {} address to send adverts from yet: FAULT until it has one",
                vi.name,
                if ipv6 { "IPv6 link-local" } else { "IPv4" }
            ),
        );
    }
    let primary = configured.unwrap_or(if ipv6 {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    });
    let priority = vi.priority.as_ref().map_or(100, |p| p.value);
    let mut ic = InstanceConfig::new(vi.name.clone(), interface, vrid.value, priority, primary);
    let version = vi.version(global);
    ic.advert_interval = advert_interval(version, ipv6, vi.advert_int, vi.span, cx);
    if let Some(auth) = &vi.authentication {
        if matches!(ic.advert_interval, AdvertInterval::V3(_)) {
            cx.warn(auth.span, "authentication is not part of VRRPv3: ignored");
        } else {
            let key = padded(auth.value.auth_pass.as_deref());
            ic.auth = match auth.value.auth_type {
                Some(AuthType::Pass) => AuthConfig::Simple(key),
                Some(AuthType::Ah) => AuthConfig::Ah(key),
                _ => {
                    cx.warn(
                        auth.span,
                        "authentication without a known auth_type: ignored",
                    );
                    AuthConfig::None
                }
            };
        }
    }
    ic.initial_state = match vi.state {
        model::InitialState::Master => InitialState::Master,
        _ => InitialState::Backup,
    };
    ic.preempt = vi.nopreempt.is_none();
    ic.preempt_delay = vi.preempt_delay;
    let mut addresses =
        Vec::with_capacity(vi.virtual_ipaddress.len() + vi.virtual_ipaddress_excluded.len());
    for a in &vi.virtual_ipaddress {
        // keepalived 2.x treats a VIP of the other family as excluded (confparse warns).
        let other_family = a.prefix.addr.is_ipv6() != ipv6;
        addresses.push(address(a, other_family, "virtual_ipaddress", cx)?);
    }
    for a in &vi.virtual_ipaddress_excluded {
        addresses.push(address(a, true, "virtual_ipaddress_excluded", cx)?);
    }
    ic.virtual_addresses = addresses.into();
    let mut routes = Vec::new();
    for r in &vi.virtual_routes {
        if let Some(r) = route(r, "virtual_routes", cx)? {
            routes.push(r);
        }
    }
    ic.virtual_routes = routes.into();
    ic.virtual_rules = vi
        .virtual_rules
        .iter()
        .filter_map(|r| rule(r, "virtual_rules", cx))
        .collect();
    if let Some(peers) = &vi.unicast_peer {
        ic.unicast_peers = peers
            .value
            .iter()
            .map(|p| UnicastPeer {
                addr: p.addr,
                min_ttl: p.min_ttl.unwrap_or(0),
                max_ttl: p.max_ttl.unwrap_or(255),
            })
            .collect();
    }
    let mut track = cx.track_interfaces(&vi.track_interface)?;
    track.extend(cx.track_scripts(&vi.track_script));
    track.extend(cx.track_files(&vi.track_file));
    ic.track = track.into();
    ic.garp = garp(global, &vi.garp).into();
    let k = &mut ic.knobs;
    k.check_unicast_src = vi.check_unicast_src || global.vrrp_check_unicast_src;
    k.skip_check_adv_addr = vi
        .skip_check_adv_addr
        .unwrap_or(global.vrrp_skip_check_adv_addr);
    k.lower_prio_no_advert = vi
        .lower_prio_no_advert
        .unwrap_or(global.vrrp_lower_prio_no_advert);
    // The engine sends that advert by default (see `Knobs`); only an explicit "off" turns it off.
    if vi.higher_prio_send_advert == Some(false) {
        k.higher_prio_send_advert = false;
    }
    k.dont_track_primary = vi.dont_track_primary;
    k.unicast_fault_no_peer = vi.unicast_fault_no_peer;
    k.notify_priority_changes = vi.notify.priority_changes;
    ic.mcast_group = mcast_group(config, vi, ipv6, cx);
    // Strict mode: no accept unless the address owner (keepalived.conf(5)).
    ic.accept = vi.accept.unwrap_or(!strict || ic.is_owner());
    if strict {
        strict_mode(vi, &mut ic, cx)?;
    }
    if !ic.accept && !ic.is_owner() {
        cx.warn(
            vi.span,
            format!(
                "vrrp_instance {}: no_accept: packets to the virtual addresses are not dropped (keepalived-rs installs no firewall rules)",
                vi.name
            ),
        );
    }
    let name = &vi.name;
    let ignored = [
        ("native_ipv6", vi.native_ipv6),
        ("unicast_ttl", vi.unicast_ttl.is_some()),
        (
            "lvs_sync_daemon_interface",
            vi.lvs_sync_daemon_interface.is_some(),
        ),
    ];
    for (kw, set) in ignored {
        if set {
            cx.warn(
                vi.span,
                format!("vrrp_instance {name}: '{kw}' is not supported yet: ignored"),
            );
        }
    }
    for raw in &vi.extra {
        unknown_keyword(raw, cx);
    }
    Ok(ic)
}

/// `use_vmac [NAME]` and `vmac_xmit_base` (keepalived-behaviour.md §3.9): the instance's
/// interface (the VMAC's logical id, or `base`), and the VMAC's name and configuration.
fn vmac(
    vi: &VrrpInstance,
    vrid: u8,
    ipv6: bool,
    strict: bool,
    base: InterfaceId,
    cx: &mut Ctx<'_>,
) -> Result<(InterfaceId, Option<(String, VmacConfig)>), MapError> {
    let Some(name) = &vi.use_vmac else {
        if vi.vmac_xmit_base {
            cx.warn(
                vi.span,
                format!(
                    "vrrp_instance {}: vmac_xmit_base without use_vmac: ignored",
                    vi.name
                ),
            );
        }
        return Ok((base, None));
    };
    let name = name.clone().unwrap_or_else(|| format!("vrrp.{vrid}"));
    let mut xmit_base = vi.vmac_xmit_base;
    if xmit_base && strict {
        cx.warn(
            vi.span,
            format!(
                "vrrp_instance {}: strict mode does not allow vmac_xmit_base: cleared",
                vi.name
            ),
        );
        xmit_base = false;
    }
    if !xmit_base
        && vi
            .unicast_peer
            .as_ref()
            .is_some_and(|p| !p.value.is_empty())
    {
        cx.warn(
            vi.span,
            format!(
                "vrrp_instance {}: use_vmac with unicast peers needs vmac_xmit_base (as in keepalived)",
                vi.name
            ),
        );
    }
    let v = VmacConfig {
        base,
        mac: VmacConfig::mac_for(vrid, ipv6),
        xmit_base,
    };
    let mut cfg = InterfaceConfig::named(name.clone());
    cfg.vmac = Some(v.clone());
    match cx.interfaces.iter_mut().find(|i| i.name == name) {
        Some(existing) if existing.vmac.is_none() => existing.vmac = Some(v.clone()),
        Some(existing) if existing.vmac.as_ref() == Some(&v) => {}
        Some(_) => {
            return Err(MapError {
                span: vi.span,
                message: format!(
                    "vrrp_instance {}: VMAC '{name}' is already used differently by another instance",
                    vi.name
                ),
            });
        }
        None => {
            if cx.interfaces.iter().any(|i| i.id == cfg.id) {
                return Err(MapError {
                    span: vi.span,
                    message: format!("VMAC name '{name}' collides in the interface table"),
                });
            }
            cx.interfaces.push(cfg);
        }
    }
    Ok((InterfaceId::named(&name), Some((name, v))))
}

/// `mcast_dst_ip` (per instance), else a non-default `vrrp_mcast_group4`/`vrrp_mcast_group6`.
fn mcast_group(config: &Config, vi: &VrrpInstance, ipv6: bool, cx: &mut Ctx<'_>) -> Option<IpAddr> {
    if let Some(own) = &vi.mcast_dst_ip {
        if own.value.is_ipv6() == ipv6 {
            return Some(own.value);
        }
        cx.warn(
            own.span,
            format!(
                "vrrp_instance {}: mcast_dst_ip needs an {} multicast address: ignored",
                vi.name,
                if ipv6 { "IPv6" } else { "IPv4" }
            ),
        );
    }
    let g = &config.global;
    let d = model::GlobalDefs::default();
    if ipv6 {
        (g.vrrp_mcast_group6 != d.vrrp_mcast_group6).then_some(IpAddr::V6(g.vrrp_mcast_group6))
    } else {
        (g.vrrp_mcast_group4 != d.vrrp_mcast_group4).then_some(IpAddr::V4(g.vrrp_mcast_group4))
    }
}

/// `vrrp_strict` / `strict_mode` (keepalived.conf(5), keepalived 2.2.7's checks): what RFC
/// 3768/5798 forbid is an error (no virtual address, unicast peers) or is reset with a warning,
/// as keepalived does.
fn strict_mode(
    vi: &VrrpInstance,
    ic: &mut InstanceConfig,
    cx: &mut Ctx<'_>,
) -> Result<(), MapError> {
    let name = &vi.name;
    let fail = |message: String| MapError {
        span: vi.span,
        message,
    };
    if vi.virtual_ipaddress.is_empty() {
        return Err(fail(format!(
            "vrrp_instance {name}: strict mode requires at least one virtual_ipaddress"
        )));
    }
    if !ic.unicast_peers.is_empty() {
        return Err(fail(format!(
            "vrrp_instance {name}: strict mode does not allow unicast peers"
        )));
    }
    let mut reset = |what: &str| {
        cx.warn(
            vi.span,
            format!("vrrp_instance {name}: strict mode: {what}"),
        );
    };
    if ic.initial_state == InitialState::Master && !ic.is_owner() {
        reset("state MASTER needs priority 255: BACKUP used");
        ic.initial_state = InitialState::Backup;
    }
    if ic.auth != AuthConfig::None {
        reset("authentication is not allowed: ignored");
        ic.auth = AuthConfig::None;
    }
    if !ic.preempt_delay.is_zero() {
        reset("preempt_delay is not allowed: cleared");
        ic.preempt_delay = Duration::ZERO;
    }
    if let Some(first) = vi.virtual_ipaddress.first()
        && let IpAddr::V6(a) = first.prefix.addr
        && a.segments()[0] & 0xffc0 != 0xfe80
    {
        reset("the first IPv6 virtual address should be link-local (RFC 5798 §5.2.9)");
    }
    if vi.garp.lower_prio_repeat.is_some_and(|n| n != 0)
        || vi.garp.lower_prio_delay.is_some_and(|d| !d.is_zero())
    {
        reset("repeated gratuitous ARPs are not allowed: garp_lower_prio_* cleared");
    }
    ic.garp.lower_prio_repeat = 0;
    ic.garp.lower_prio_delay = None;
    if vi.lower_prio_no_advert == Some(false) {
        reset("lower_prio_no_advert cannot be cleared: set");
    }
    ic.knobs.lower_prio_no_advert = true;
    if vi.higher_prio_send_advert == Some(true) {
        reset("higher_prio_send_advert is not allowed: cleared");
    }
    ic.knobs.higher_prio_send_advert = false;
    if vi.accept == Some(true) && !ic.is_owner() && ic.version() == vrrp_engine::Version::V2 {
        reset("accept mode does not exist in VRRPv2 (RFC 3768): no_accept used");
        ic.accept = false;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use vrrp_engine::config::RuleAction;

    struct FakeHost;
    impl HostView for FakeHost {
        fn if_index(&self, name: &str) -> Option<u32> {
            match name {
                "eth0" => Some(2),
                "eth1" => Some(3),
                _ => None,
            }
        }
        fn source_addresses(&self, ifindex: u32, ipv6: bool) -> Vec<IpAddr> {
            match (ifindex, ipv6) {
                // A VIP left over by a crashed run comes first here.
                (2, false) => vec![
                    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                ],
                (2, true) => vec!["fe80::1".parse().unwrap()],
                _ => Vec::new(),
            }
        }
        fn route_table(&self, name: &str) -> Option<u32> {
            (name == "isp2").then_some(1002)
        }
    }

    #[test]
    fn rt_tables_lines() {
        let text = "# comment\n255\tlocal\n254 main # the main one\n0x10 hexed\n\n1002 isp2\n";
        assert_eq!(table_in(text, "isp2"), Some(1002));
        assert_eq!(table_in(text, "hexed"), Some(16));
        assert_eq!(table_in(text, "comment"), None);
        assert_eq!(table_in(text, "nope"), None);
    }

    fn mapped(text: &str) -> (Mapped, confparse::Parsed) {
        let parsed = confparse::parse_str(text, "test.conf");
        let m = map(&parsed.config, &FakeHost).unwrap();
        (m, parsed)
    }

    const BASIC: &str = "vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 2
  nopreempt
  preempt_delay 10
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    192.0.2.1/24
    192.0.2.2 dev eth1
  }
  virtual_ipaddress_excluded {
    198.51.100.1
  }
  track_interface {
    eth1 weight -20
  }
  garp_master_repeat 3
}
";

    #[test]
    fn basic_v2_instance() {
        let (m, _) = mapped(BASIC);
        let c = &m.config.instances[0];
        assert_eq!(&*c.name, "VI_1");
        assert_eq!(c.interface, InterfaceId::named("eth0"));
        let names: Vec<&str> = m
            .config
            .interfaces
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(names, ["eth0", "eth1"]);
        assert_eq!(c.vrid, 51);
        assert_eq!(c.priority.0, 150);
        assert_eq!(c.advert_interval, AdvertInterval::V2(Seconds(2)));
        assert_eq!(c.initial_state, InitialState::Master);
        assert!(!c.preempt);
        assert_eq!(c.preempt_delay, Duration::from_secs(10));
        // No configured source: the driver picks one from the interface.
        assert!(c.primary_addr.is_unspecified());
        assert!(!m.warnings.iter().any(|w| w.message.contains("no IPv4")));
        assert_eq!(c.auth, AuthConfig::Simple(*b"secret\0\0"));
        assert_eq!(c.virtual_addresses.len(), 3);
        assert_eq!(c.virtual_addresses[0].prefix_len, 24);
        assert_eq!(
            c.virtual_addresses[1].interface,
            Some(InterfaceId::named("eth1"))
        );
        assert!(c.virtual_addresses[2].excluded);
        assert_eq!(c.track.len(), 1);
        assert_eq!(c.track[0].weight, -20);
        assert_eq!(
            m.config.trackers[0].kind,
            TrackerKind::Interface(InterfaceId::named("eth1"))
        );
        assert_eq!(c.garp.master_repeat, 3);
        assert!(m.config.validate().is_ok());
    }

    #[test]
    fn v3_centiseconds_unicast_and_ah() {
        let (m, _) = mapped(
            "global_defs {\n vrrp_version 3\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 7\n advert_int 0.1\n unicast_src_ip 10.0.0.9\n unicast_peer {\n  10.0.0.2\n }\n virtual_ipaddress {\n  192.0.2.7\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 8\n authentication {\n  auth_type AH\n  auth_pass k\n }\n version 2\n virtual_ipaddress {\n  192.0.2.8\n }\n}\n",
        );
        let a = &m.config.instances[0];
        assert_eq!(
            a.advert_interval,
            AdvertInterval::V3(Centiseconds::new(10).unwrap())
        );
        assert_eq!(a.primary_addr, "10.0.0.9".parse::<IpAddr>().unwrap());
        assert_eq!(
            &a.unicast_peers[..],
            [UnicastPeer::new("10.0.0.2".parse().unwrap())]
        );
        assert_eq!(a.priority.0, 100);
        let b = &m.config.instances[1];
        assert_eq!(b.advert_interval, AdvertInterval::V2(Seconds(1)));
        assert_eq!(b.auth, AuthConfig::Ah(*b"k\0\0\0\0\0\0\0"));
    }

    #[test]
    fn ipv6_uses_link_local_and_v3() {
        let (m, _) = mapped(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  2001:db8::1/64\n }\n}\n",
        );
        let a = &m.config.instances[0];
        assert!(a.primary_addr.is_ipv6() && a.primary_addr.is_unspecified());
        assert!(m.warnings.is_empty(), "{:#?}", m.warnings);
        assert!(matches!(a.advert_interval, AdvertInterval::V3(_)));
        // Only leftovers of our own VIPs on the interface: nothing to send from yet.
        let (m, _) = mapped(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  192.0.2.1\n  10.0.0.1\n }\n}\n",
        );
        assert!(
            m.warnings
                .iter()
                .any(|w| w.message.contains("no IPv4 address"))
        );
    }

    #[test]
    fn sync_group_and_routes() {
        let (m, _) = mapped(
            "vrrp_sync_group G {\n group {\n  A\n  B\n }\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n virtual_routes {\n  198.51.100.0/24 via 10.0.0.254 dev eth0 metric 5 table 100\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n  192.0.2.2\n }\n}\n",
        );
        let g = &m.config.sync_groups[0];
        assert_eq!(g.name, "G");
        assert_eq!(g.members, vec![InstanceId(0), InstanceId(1)]);
        let r = &m.config.instances[0].virtual_routes[0];
        assert_eq!(r.prefix_len, 24);
        assert_eq!(r.gateway, Some("10.0.0.254".parse().unwrap()));
        assert_eq!(r.table, Some(100));
        assert_eq!(r.metric, Some(5));
        assert_eq!(r.interface, Some(InterfaceId::named("eth0")));
        assert!(m.config.validate().is_ok());
    }

    #[test]
    fn unsupported_parts_warn_with_location() {
        let (m, parsed) = mapped(
            "vrrp_script chk {\n script /bin/true\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n use_vmac\n notify_master /bin/true\n track_script {\n  chk\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\nvirtual_server 192.0.2.1 80 {\n real_server 10.0.0.5 80 {\n }\n}\nvirtual_server 192.0.2.1 443 {\n}\n",
        );
        let lines: Vec<String> = m
            .warnings
            .iter()
            .map(|w| w.render(&parsed.sources))
            .collect();
        let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
        // use_vmac, vrrp_script, notify and track_script all act now.
        assert!(!has("use_vmac"), "{lines:#?}");
        assert!(!has("notify_master"), "{lines:#?}");
        assert!(!has("'chk'"), "{lines:#?}");
        let vs: Vec<_> = lines
            .iter()
            .filter(|l| l.contains("virtual_server"))
            .collect();
        assert_eq!(vs.len(), 1, "{lines:#?}");
        assert!(vs[0].starts_with("test.conf:16:"), "{lines:#?}");
    }

    /// Every address, route and rule attribute, and the static sections.
    const ATTRS: &str = "global_defs {
 default_interface eth1
}
static_ipaddress {
 192.0.2.50/24 brd + label eth1:st scope link
 192.0.2.51 dev nope0
 2001:db8::50/64 dev eth0 preferred_lft 30 -nodad
}
static_routes {
 blackhole 203.0.113.0/24 table 200
}
static_rules {
 from 192.0.2.0/24 table 200 priority 1000
 from 192.0.2.0/24 uidrange 1-2 table 200
}
vrrp_instance A {
 interface eth0
 virtual_router_id 1
 virtual_ipaddress {
  192.0.2.1/24 brd 192.0.2.255 label eth0:vip scope site no_track
  192.0.2.2/24 brd - dev eth1
  2001:db8::9
 }
 virtual_ipaddress_excluded {
  2001:db8::1
  2001:db8::2/64 preferred_lft forever noprefixroute
 }
 virtual_routes {
  src 192.0.2.1 to 198.51.100.0/24 via 10.0.0.254 dev eth0 scope link table main metric 9 onlink
  198.51.101.0/24 table 100 nexthop via 10.0.0.1 dev eth0 weight 2 nexthop via 10.0.0.2 onlink
  198.51.102.0/24 via 10.0.0.1 or 10.0.0.2 dev eth0
  unreachable 198.51.103.0/24 mtu 1400
  nat 198.51.104.0/24
  198.51.105.0/24 dev eth0 table isp2
  198.51.106.0/24 dev eth0 table nosuch
 }
 virtual_rules {
  from 192.0.2.0/24 to 198.51.100.0/24 iif eth0 oif eth1 fwmark 0x10/0xff tos 4 table 100 priority 50
  not to 2001:db8::/32 goto 60 no_track
  fwmark 7 prohibit
  to 10.0.0.0/8 ipproto tcp table 5
  from 192.0.2.9 lookup isp2
 }
}
";

    #[test]
    fn address_route_and_rule_attributes() {
        let (m, _) = mapped(ATTRS);
        let c = &m.config.instances[0];
        let v = &c.virtual_addresses;
        assert_eq!(v[0].label.as_deref(), Some("eth0:vip"));
        assert_eq!(v[0].broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));
        assert_eq!(v[0].scope, Some(200));
        assert!(v[0].no_track);
        assert_eq!(v[1].broadcast, Some(Ipv4Addr::new(192, 0, 2, 0)));
        assert_eq!(v[1].interface, Some(InterfaceId::named("eth1")));
        assert!(v[2].excluded, "another family's VIP is excluded");
        assert!(v[3].excluded && v[3].nodad);
        assert_eq!(v[3].effective_preferred_lft(), 0);
        assert_eq!(v[4].effective_preferred_lft(), u32::MAX);
        assert!(v[4].noprefixroute);
        let r = &c.virtual_routes;
        assert_eq!(r.len(), 5, "{r:#?}");
        assert_eq!(r[4].table, Some(1002));
        assert_eq!(r[0].source, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(
            (r[0].table, r[0].metric, r[0].scope),
            (None, Some(9), Some(253))
        );
        assert!(r[0].onlink);
        assert_eq!(r[1].table, Some(100));
        assert_eq!(r[1].nexthops.len(), 2);
        assert_eq!(r[1].nexthops[0].weight, 2);
        assert_eq!(r[1].nexthops[0].interface, Some(InterfaceId::named("eth0")));
        assert!(r[1].nexthops[1].onlink);
        assert_eq!(r[2].nexthops.len(), 2);
        assert_eq!(r[2].nexthops[1].gateway, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(r[3].kind, RouteKind::Unreachable);
        let rules = &c.virtual_rules;
        assert_eq!(rules.len(), 4, "{rules:#?}");
        assert_eq!(rules[3].table, Some(1002));
        assert_eq!(rules[0].from, Some(("192.0.2.0".parse().unwrap(), 24)));
        assert_eq!(rules[0].to, Some(("198.51.100.0".parse().unwrap(), 24)));
        assert_eq!(rules[0].iif.as_deref(), Some("eth0"));
        assert_eq!(rules[0].oif.as_deref(), Some("eth1"));
        assert_eq!(rules[0].fwmark, Some((0x10, Some(0xff))));
        assert_eq!(
            (rules[0].tos, rules[0].table, rules[0].priority),
            (4, Some(100), Some(50))
        );
        assert!(rules[1].ipv6 && rules[1].invert && rules[1].no_track);
        assert_eq!(rules[1].action, RuleAction::Goto(60));
        assert!(!rules[2].ipv6);
        assert_eq!(rules[2].action, RuleAction::Prohibit);
        assert!(m.config.validate().is_ok());
    }

    #[test]
    fn static_sections_and_attribute_warnings() {
        let (m, parsed) = mapped(ATTRS);
        let lines: Vec<String> = m
            .warnings
            .iter()
            .map(|w| w.render(&parsed.sources))
            .collect();
        let st = &m.config.statics;
        assert_eq!(st.addresses.len(), 2);
        assert_eq!(st.addresses[0].interface, Some(InterfaceId(3)));
        assert_eq!(
            st.addresses[0].broadcast,
            Some(Ipv4Addr::new(192, 0, 2, 255))
        );
        assert_eq!(st.addresses[0].label.as_deref(), Some("eth1:st"));
        assert_eq!(st.addresses[1].preferred_lft, Some(30));
        assert!(!st.addresses[1].nodad);
        assert_eq!(st.routes[0].kind, RouteKind::Blackhole);
        assert_eq!(st.routes[0].table, Some(200));
        assert_eq!(st.rules.len(), 1);
        assert_eq!(st.rules[0].priority, Some(1000));
        let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
        assert!(
            has("test.conf:6: static_ipaddress 192.0.2.51: interface 'nope0'"),
            "{lines:#?}"
        );
        assert!(has("'mtu' not supported"), "{lines:#?}");
        assert!(has("route type 'nat'"), "{lines:#?}");
        assert!(has("unknown routing table 'nosuch'"), "{lines:#?}");
        assert!(
            has("'uidrange' is not supported yet: rule ignored"),
            "{lines:#?}"
        );
        assert!(
            has("'ipproto' is not supported yet: rule ignored"),
            "{lines:#?}"
        );
        assert!(!has("not acted"), "{lines:#?}");
        assert_eq!(lines.len(), 6, "{lines:#?}");
        assert!(m.config.validate().is_ok());
    }

    #[test]
    fn scripts_and_files_become_trackers() {
        let (m, _) = mapped(
            "global_defs {\n script_user nobody\n}\nvrrp_script chk {\n script \"pidof x || exit 1\"\n interval 2\n weight -20\n rise 2\n fall 3\n init_fail\n}\nvrrp_script plain {\n script \"/bin/test -f '/a b'\"\n}\ntrack_file tf {\n file /run/x\n weight 5 reverse\n init_file 3\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_script {\n  chk\n  plain weight 10\n  nope\n }\n track_file {\n  tf\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
        );
        let t = &m.config.trackers;
        assert_eq!(t.len(), 3, "{t:#?}");
        let TrackerKind::Script(chk) = &t[0].kind else {
            panic!("{t:#?}")
        };
        assert!(chk.shell);
        assert_eq!(chk.argv, ["pidof x || exit 1"]);
        assert_eq!(chk.interval, Duration::from_secs(2));
        assert_eq!(chk.timeout, Duration::from_secs(2));
        assert_eq!((chk.rise, chk.fall), (2, 3));
        assert!(chk.uid.is_some_and(|u| u != 0));
        assert_eq!(t[0].initial, TrackerStatus::Down);
        let TrackerKind::Script(plain) = &t[1].kind else {
            panic!("{t:#?}")
        };
        assert!(!plain.shell);
        assert_eq!(plain.argv, ["/bin/test", "-f", "/a b"]);
        let TrackerKind::File(f) = &t[2].kind else {
            panic!("{t:#?}")
        };
        assert_eq!(f.path, std::path::Path::new("/run/x"));
        assert_eq!(f.init_value, Some(3));
        let b = &m.config.instances[0].track;
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].weight, b[0].reverse), (-20, false));
        assert_eq!((b[1].weight, b[1].reverse), (10, false));
        assert_eq!((b[2].weight, b[2].reverse), (5, true));
        assert!(m.warnings.iter().any(|w| w.message.contains("'nope'")));
        assert!(m.config.validate().is_ok());
    }

    #[test]
    fn interface_without_address_waits_for_one() {
        let (m, _) = mapped(
            "vrrp_instance A {\n interface eth1\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
        );
        assert!(m.config.instances[0].primary_addr.is_unspecified());
        let w = m
            .warnings
            .iter()
            .find(|w| w.message.contains("no IPv4 address"));
        assert_eq!(w.map(|w| w.span.line), Some(2), "{:#?}", m.warnings);
    }

    #[test]
    fn missing_interface_is_named_and_waited_for() {
        let (m, _) = mapped(
            "vrrp_instance A {\n interface nope0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n track_interface {\n  nope1\n }\n}\n",
        );
        let c = &m.config.instances[0];
        assert_eq!(c.interface, InterfaceId::named("nope0"));
        assert!(c.primary_addr.is_unspecified());
        assert!(m.config.interfaces.iter().any(|i| i.name == "nope1"));
        let missing: Vec<u32> = m
            .warnings
            .iter()
            .filter(|w| w.message.contains("does not exist"))
            .map(|w| w.span.line)
            .collect();
        assert_eq!(missing, [2, 8], "{:#?}", m.warnings);
        assert!(m.config.validate().is_ok());
    }

    #[test]
    fn use_vmac_names_a_macvlan_on_the_base() {
        let (m, _) = mapped(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n  192.0.2.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 52\n use_vmac vm52\n vmac_xmit_base\n virtual_ipaddress {\n  fe80::52\n  2001:db8::52\n }\n}\n",
        );
        assert!(m.warnings.is_empty(), "{:#?}", m.warnings);
        let a = &m.config.instances[0];
        assert_eq!(a.interface, InterfaceId::named("vrrp.51"));
        // The driver picks the source (the base's IPv4 address).
        assert!(a.primary_addr.is_unspecified());
        let vmac = |name: &str| {
            m.config
                .interfaces
                .iter()
                .find(|i| i.name == name)
                .and_then(|i| i.vmac.clone())
                .unwrap()
        };
        let va = vmac("vrrp.51");
        assert_eq!(va.base, InterfaceId::named("eth0"));
        assert_eq!(va.mac, [0, 0, 0x5e, 0, 1, 51]);
        assert!(!va.xmit_base);
        let vb = vmac("vm52");
        assert_eq!(vb.mac, [0, 0, 0x5e, 0, 2, 52]);
        assert!(vb.xmit_base);
        let b = &m.config.instances[1];
        assert!(b.primary_addr.is_ipv6() && b.primary_addr.is_unspecified());
    }

    #[test]
    fn mcast_dst_ip_and_global_groups() {
        let (m, _) = mapped(
            "global_defs {\n vrrp_mcast_group4 224.0.0.19\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n mcast_dst_ip 224.0.0.88\n virtual_ipaddress {\n  192.0.2.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n  192.0.2.2\n }\n}\nvrrp_instance C {\n interface eth0\n virtual_router_id 3\n mcast_dst_ip ff02::88\n virtual_ipaddress {\n  192.0.2.3\n }\n}\n",
        );
        let g: Vec<Option<IpAddr>> = m.config.instances.iter().map(|i| i.mcast_group).collect();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(g, [ip("224.0.0.88"), ip("224.0.0.19"), ip("224.0.0.19")]);
        assert!(
            m.warnings
                .iter()
                .any(|w| w.message.contains("mcast_dst_ip") && w.span.line == 22),
            "{:#?}",
            m.warnings
        );
        assert!(
            !m.warnings
                .iter()
                .any(|w| w.message.contains("not supported"))
        );
    }

    #[test]
    fn instances_share_equal_garp_settings() {
        let (m, _) = mapped(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n  192.0.2.2\n }\n}\nvrrp_instance C {\n interface eth0\n virtual_router_id 3\n garp_master_repeat 2\n virtual_ipaddress {\n  192.0.2.3\n }\n}\n",
        );
        let [a, b, c] = &m.config.instances[..] else {
            panic!("{:?}", m.config.instances);
        };
        assert!(a.garp.ptr_eq(&b.garp), "equal settings: one copy");
        assert!(!a.garp.ptr_eq(&c.garp));
        assert_eq!(c.garp.master_repeat, 2);
    }

    #[test]
    fn strict_mode_enforces_the_rfc() {
        let (m, _) = mapped(
            "global_defs {\n vrrp_strict\n}\nvrrp_instance A {\n state MASTER\n interface eth0\n virtual_router_id 1\n priority 200\n preempt_delay 5\n higher_prio_send_advert\n authentication {\n  auth_type PASS\n  auth_pass x\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\nvrrp_instance O {\n interface eth0\n virtual_router_id 2\n priority 255\n virtual_ipaddress {\n  192.0.2.2\n }\n}\nvrrp_instance N {\n interface eth0\n virtual_router_id 3\n strict_mode off\n no_accept\n virtual_ipaddress {\n  192.0.2.3\n }\n}\n",
        );
        let a = &m.config.instances[0];
        assert_eq!(a.initial_state, InitialState::Backup);
        assert_eq!(a.auth, AuthConfig::None);
        assert_eq!(a.preempt_delay, Duration::ZERO);
        assert!(a.knobs.lower_prio_no_advert);
        assert!(!a.knobs.higher_prio_send_advert);
        assert_eq!(a.garp.lower_prio_repeat, 0);
        assert!(!a.accept);
        assert!(m.config.instances[1].accept, "an owner accepts");
        let n = &m.config.instances[2];
        assert!(!n.accept);
        assert!(n.knobs.higher_prio_send_advert, "not strict");
        for needle in [
            "state MASTER",
            "authentication",
            "preempt_delay",
            "higher_prio",
        ] {
            assert!(
                m.warnings.iter().any(|w| w.message.contains(needle)),
                "{needle}: {:#?}",
                m.warnings
            );
        }
        for bad in [
            "global_defs {\n vrrp_strict\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n}\n",
            "vrrp_instance A {\n strict_mode\n interface eth0\n virtual_router_id 1\n unicast_peer {\n  10.0.0.2\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
        ] {
            let parsed = confparse::parse_str(bad, "t.conf");
            let e = map(&parsed.config, &FakeHost).unwrap_err();
            assert!(e.message.contains("strict mode"), "{}", e.message);
        }
    }

    #[test]
    fn fractional_v2_interval_warns() {
        let (m, _) = mapped(
            "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n advert_int 1.5\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
        );
        assert_eq!(
            m.config.instances[0].advert_interval,
            AdvertInterval::V2(Seconds(1))
        );
        assert!(m.warnings.iter().any(|w| w.message.contains("advert_int")));
    }
}
