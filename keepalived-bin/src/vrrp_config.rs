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

use std::net::IpAddr;
use std::time::Duration;

use confparse::model::{self, AuthType, Config, Track, VrrpInstance};
use confparse::{SourceMap, Span};
use vrrp_engine::EngineConfig;
use vrrp_engine::config::{
    GarpConfig, GroupId, InitialState, InstanceConfig, InstanceId, InterfaceConfig, InterfaceId,
    SyncGroupConfig, TrackBinding, TrackerConfig, TrackerId, TrackerKind, TrackerStatus,
    UnicastPeer, VirtualAddress, VirtualRoute, VmacConfig,
};
use vrrp_engine::{AdvertInterval, AuthConfig, Centiseconds, Seconds};

/// What the mapping needs to know about the host.
pub(crate) trait HostView {
    /// The kernel index of interface `name`, if it exists.
    fn if_index(&self, name: &str) -> Option<u32>;
    /// The addresses of interface `ifindex` in the given family that adverts may be sent from
    /// (for IPv6, the link-local ones), in the kernel's order.
    fn source_addresses(&self, ifindex: u32, ipv6: bool) -> Vec<IpAddr>;
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
}

struct Ctx<'a> {
    host: &'a dyn HostView,
    warnings: Vec<Warning>,
    trackers: Vec<TrackerConfig>,
    interfaces: Vec<InterfaceConfig>,
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

    fn unsupported_tracks(&mut self, keyword: &str, tracks: &[Track]) {
        for t in tracks {
            self.warn(
                t.span,
                format!("{keyword} '{}' is not run yet: ignored", t.name),
            );
        }
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
    };
    global_warnings(config, &mut cx);
    let mut instances = Vec::with_capacity(config.instances.len());
    for vi in &config.instances {
        instances.push(instance(config, vi, &mut cx)?);
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
        let track = cx.track_interfaces(&g.track_interface)?;
        cx.unsupported_tracks("track_script", &g.track_script);
        cx.unsupported_tracks("track_file", &g.track_file);
        notify_warnings(&g.notify, g.span, &mut cx);
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
    Ok(Mapped {
        config: EngineConfig {
            instances,
            sync_groups,
            trackers: cx.trackers,
            log_interval: Duration::from_secs(60),
            log_unknown_vrids: false,
            interfaces: cx.interfaces,
        },
        warnings: cx.warnings,
    })
}

fn unknown_keyword(raw: &model::RawStatement, cx: &mut Ctx<'_>) {
    let word = raw.words.first().map_or("?", String::as_str);
    cx.warn(raw.span, format!("'{word}' is not supported yet: ignored"));
}

fn notify_warnings(n: &model::Notify, span: Span, cx: &mut Ctx<'_>) {
    let scripts = [
        ("notify_master", &n.master),
        ("notify_backup", &n.backup),
        ("notify_fault", &n.fault),
        ("notify_stop", &n.stop),
        ("notify_deleted", &n.deleted),
        ("notify_master_rx_lower_pri", &n.master_rx_lower_pri),
        ("notify", &n.generic),
    ];
    for (kw, cmd) in scripts {
        if let Some(c) = cmd {
            let at = if c.span.is_real() { c.span } else { span };
            cx.warn(at, format!("{kw}: notify scripts are not run yet: ignored"));
        }
    }
}

fn global_warnings(config: &Config, cx: &mut Ctx<'_>) {
    let g = &config.global;
    let none = Span::NONE;
    if g.notify_fifo.is_some() || g.vrrp_notify_fifo.is_some() || g.lvs_notify_fifo.is_some() {
        cx.warn(
            none,
            "global_defs notify_fifo: notify FIFOs are not written yet",
        );
    }
    if g.smtp_server.is_some() || !g.notification_email.is_empty() {
        cx.warn(
            none,
            "global_defs smtp_server/notification_email: e-mail alerts are not sent yet",
        );
    }
    if g.enable_traps {
        cx.warn(none, "global_defs enable_traps: SNMP is not supported");
    }
    for raw in &g.extra {
        unknown_keyword(raw, cx);
    }
    for a in &config.static_ipaddress {
        cx.warn(
            a.span,
            format!(
                "static_ipaddress {}: static addresses are not installed yet",
                a.prefix.addr
            ),
        );
    }
    for r in &config.static_routes {
        cx.warn(r.span, "static_routes: static routes are not installed yet");
    }
    for r in &config.static_rules {
        cx.warn(r.span, "static_rules: static rules are not installed yet");
    }
    for s in &config.vrrp_scripts {
        cx.warn(
            s.span,
            format!("vrrp_script '{}': scripts are not run yet", s.name),
        );
    }
    for f in &config.track_files {
        cx.warn(
            f.span,
            format!("track_file '{}': track files are not read yet", f.name),
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

fn address(
    a: &model::IpAddress,
    excluded: bool,
    cx: &mut Ctx<'_>,
) -> Result<VirtualAddress, MapError> {
    let interface = match &a.dev {
        Some(dev) => Some(cx.interface(dev, a.span)?),
        None => None,
    };
    let ignored = [
        ("scope", a.scope.is_some()),
        ("brd", a.broadcast.is_some()),
        ("label", a.label.is_some()),
        ("peer", a.peer.is_some()),
        ("no_track", a.no_track),
        ("options", !a.options.is_empty()),
    ];
    for (kw, set) in ignored {
        if set {
            cx.warn(
                a.span,
                format!(
                    "virtual address {}: '{kw}' is not supported yet: ignored",
                    a.prefix.addr
                ),
            );
        }
    }
    Ok(VirtualAddress {
        addr: a.prefix.addr,
        prefix_len: a.prefix.len,
        interface,
        excluded,
    })
}

fn route(r: &model::Route, cx: &mut Ctx<'_>) -> Result<Option<VirtualRoute>, MapError> {
    let Some(dest) = r.dest else {
        cx.warn(
            r.span,
            "virtual_routes entry without a destination: ignored",
        );
        return Ok(None);
    };
    if let Some(kind) = &r.kind {
        cx.warn(
            r.span,
            format!("virtual_routes: route type '{kind}' is not supported yet: route ignored"),
        );
        return Ok(None);
    }
    let table = match &r.table {
        None => None,
        Some(t) => {
            match t.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) if t == "main" => None,
                Err(_) => {
                    cx.warn(r.span, format!("virtual_routes: table '{t}' by name is not supported yet: route ignored"));
                    return Ok(None);
                }
            }
        }
    };
    let ignored = [
        ("or", r.or.is_some()),
        ("scope", r.scope.is_some()),
        ("no_track", r.no_track),
        ("options", !r.options.is_empty()),
    ];
    for (kw, set) in ignored {
        if set {
            cx.warn(
                r.span,
                format!("virtual_routes: '{kw}' is not supported yet: ignored"),
            );
        }
    }
    let interface = match &r.dev {
        Some(dev) => Some(cx.interface(dev, r.span)?),
        None => None,
    };
    Ok(Some(VirtualRoute {
        dest: dest.addr,
        prefix_len: dest.len,
        gateway: r.via,
        source: r.src,
        interface,
        table,
        metric: r.metric,
    }))
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
    let version = vi.version.unwrap_or(global.vrrp_version);
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
    ic.virtual_addresses =
        Vec::with_capacity(vi.virtual_ipaddress.len() + vi.virtual_ipaddress_excluded.len());
    for a in &vi.virtual_ipaddress {
        ic.virtual_addresses.push(address(a, false, cx)?);
    }
    for a in &vi.virtual_ipaddress_excluded {
        ic.virtual_addresses.push(address(a, true, cx)?);
    }
    for r in &vi.virtual_routes {
        if let Some(r) = route(r, cx)? {
            ic.virtual_routes.push(r);
        }
    }
    for r in &vi.virtual_rules {
        cx.warn(r.span, "virtual_rules are not supported yet: ignored");
    }
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
    ic.track = cx.track_interfaces(&vi.track_interface)?;
    cx.unsupported_tracks("track_script", &vi.track_script);
    cx.unsupported_tracks("track_file", &vi.track_file);
    ic.garp = garp(global, &vi.garp);
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
    notify_warnings(&vi.notify, vi.span, cx);
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
        ("smtp_alert", vi.smtp_alert.is_some()),
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
        if raw.words.first().map(String::as_str) != Some("mcast_dst_ip") {
            unknown_keyword(raw, cx);
        }
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
    let own = vi
        .extra
        .iter()
        .find(|r| r.words.first().map(String::as_str) == Some("mcast_dst_ip"));
    if let Some(raw) = own {
        let parsed = raw.words.get(1).and_then(|w| w.parse::<IpAddr>().ok());
        match parsed {
            Some(a) if a.is_multicast() && a.is_ipv6() == ipv6 => return Some(a),
            _ => cx.warn(
                raw.span,
                format!(
                    "vrrp_instance {}: mcast_dst_ip needs an {} multicast address: ignored",
                    vi.name,
                    if ipv6 { "IPv6" } else { "IPv4" }
                ),
            ),
        }
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
    use std::net::Ipv4Addr;

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
        assert_eq!(c.name, "VI_1");
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
            a.unicast_peers,
            vec![UnicastPeer::new("10.0.0.2".parse().unwrap())]
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
        assert!(has("test.conf:1: vrrp_script 'chk'"), "{lines:#?}");
        assert!(has("test.conf:8: notify_master"), "{lines:#?}");
        assert!(has("test.conf:10: track_script 'chk'"), "{lines:#?}");
        let vs: Vec<_> = lines
            .iter()
            .filter(|l| l.contains("virtual_server"))
            .collect();
        assert_eq!(vs.len(), 1, "{lines:#?}");
        assert!(vs[0].starts_with("test.conf:16:"), "{lines:#?}");
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
            "global_defs {\n vrrp_mcast_group4 224.0.0.19\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n mcast_dst_ip 224.0.0.88\n virtual_ipaddress {\n  192.0.2.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n  192.0.2.2\n }\n}\nvrrp_instance C {\n interface eth0\n virtual_router_id 3\n mcast_dst_ip 10.0.0.1\n virtual_ipaddress {\n  192.0.2.3\n }\n}\n",
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
