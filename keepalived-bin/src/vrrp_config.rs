//! keepalived.conf (the `confparse` model) onto the VRRP engine's own configuration.
//!
//! Every part of the model that the engine or its Linux driver cannot act on yet gives a
//! [`Warning`] naming the keyword and where it was written: nothing is dropped silently. The
//! host (interface indexes, primary addresses) comes in through [`HostView`], so the mapping is
//! testable without a kernel.

use std::net::IpAddr;
use std::time::Duration;

use confparse::model::{self, AuthType, Config, Track, VrrpInstance};
use confparse::{SourceMap, Span};
use vrrp_engine::EngineConfig;
use vrrp_engine::config::{FileTracker, ScriptTracker};
use vrrp_engine::config::{
    GarpConfig, GroupId, InitialState, InstanceConfig, InstanceId, InterfaceId, SyncGroupConfig,
    TrackBinding, TrackerConfig, TrackerId, TrackerKind, TrackerStatus, UnicastPeer,
    VirtualAddress, VirtualRoute,
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
    /// Notify scripts, notify FIFO and e-mail alerts.
    pub alerts: crate::notify::Alerts,
}

struct Ctx<'a> {
    host: &'a dyn HostView,
    warnings: Vec<Warning>,
    trackers: Vec<TrackerConfig>,
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

    fn interface(&self, name: &str, span: Span) -> Result<InterfaceId, MapError> {
        self.host
            .if_index(name)
            .map(InterfaceId)
            .ok_or_else(|| MapError {
                span,
                message: format!("interface '{name}' does not exist"),
            })
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
            out.push(TrackBinding {
                tracker,
                weight: t.weight.unwrap_or(s.weight),
                reverse: if t.weight.is_some() {
                    t.reverse
                } else {
                    s.weight_reverse || t.reverse
                },
            });
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
            && user.is_none_or(|u| u.uid == 0)
            && !spec.shell
        {
            let why = crate::script::locate(&cmd.args[0]).map_or_else(
                || Some(format!("{} not found", cmd.args[0])),
                |p| crate::script::insecure_reason(&p),
            );
            if let Some(why) = why {
                self.warn(
                    s.span,
                    format!("vrrp_script '{}' is insecure ({why}): not run", s.name),
                );
                return None;
            }
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
            out.push(TrackBinding {
                tracker,
                weight: t.weight.unwrap_or(f.weight),
                reverse: if t.weight.is_some() {
                    t.reverse
                } else {
                    f.reverse || t.reverse
                },
            });
        }
        out
    }
}

/// Maps the VRRP side of `config`. Fails only when an instance cannot run at all (a missing
/// interface, VRID or source address); the engine's own validation runs later, in `Runner::new`.
pub(crate) fn map(config: &Config, host: &dyn HostView) -> Result<Mapped, MapError> {
    let mut cx = Ctx {
        host,
        warnings: Vec::new(),
        trackers: Vec::new(),
        config,
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
    Ok(Mapped {
        config: EngineConfig {
            instances,
            sync_groups,
            trackers: cx.trackers,
            log_interval: Duration::from_secs(60),
            log_unknown_vrids: false,
        },
        warnings: cx.warnings,
        alerts,
    })
}

fn unknown_keyword(raw: &model::RawStatement, cx: &mut Ctx<'_>) {
    let word = raw.words.first().map_or("?", String::as_str);
    cx.warn(raw.span, format!("'{word}' is not supported yet: ignored"));
}

fn global_warnings(config: &Config, cx: &mut Ctx<'_>) {
    let g = &config.global;
    let none = Span::NONE;
    if g.vrrp_strict {
        cx.warn(none, "global_defs vrrp_strict is not enforced yet: ignored");
    }
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
    let ifindex = cx.interface(&ifname.value, ifname.span)?;
    let Some(vrid) = vi.virtual_router_id.as_ref() else {
        return Err(MapError {
            span: vi.span,
            message: format!("vrrp_instance {}: no virtual_router_id", vi.name),
        });
    };
    let ipv6 = is_ipv6(vi);
    let primary = vi
        .unicast_src_ip
        .as_ref()
        .or(vi.mcast_src_ip.as_ref())
        .map(|s| s.value)
        .or_else(|| {
            // Never one of our own virtual addresses: a crashed run may have left one behind.
            cx.host
                .source_addresses(ifindex.0, ipv6)
                .into_iter()
                .find(|a| {
                    !vi.virtual_ipaddress
                        .iter()
                        .chain(&vi.virtual_ipaddress_excluded)
                        .any(|v| v.prefix.addr == *a)
                })
        })
        .ok_or_else(|| MapError {
            span: ifname.span,
            message: format!(
                "vrrp_instance {}: interface '{}' has no {} address to send adverts from",
                vi.name,
                ifname.value,
                if ipv6 { "IPv6 link-local" } else { "IPv4" }
            ),
        })?;
    let priority = vi.priority.as_ref().map_or(100, |p| p.value);
    let mut ic = InstanceConfig::new(vi.name.clone(), ifindex, vrid.value, priority, primary);
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
    ic.track.extend(cx.track_scripts(&vi.track_script));
    ic.track.extend(cx.track_files(&vi.track_file));
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
    let name = &vi.name;
    let ignored = [
        ("use_vmac", vi.use_vmac.is_some()),
        ("vmac_xmit_base", vi.vmac_xmit_base),
        ("native_ipv6", vi.native_ipv6),
        ("unicast_ttl", vi.unicast_ttl.is_some()),
        ("accept/no_accept", vi.accept.is_some()),
        ("strict_mode", vi.strict_mode.is_some()),
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
        assert_eq!(c.interface, InterfaceId(2));
        assert_eq!(c.vrid, 51);
        assert_eq!(c.priority.0, 150);
        assert_eq!(c.advert_interval, AdvertInterval::V2(Seconds(2)));
        assert_eq!(c.initial_state, InitialState::Master);
        assert!(!c.preempt);
        assert_eq!(c.preempt_delay, Duration::from_secs(10));
        assert_eq!(c.primary_addr, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(c.auth, AuthConfig::Simple(*b"secret\0\0"));
        assert_eq!(c.virtual_addresses.len(), 3);
        assert_eq!(c.virtual_addresses[0].prefix_len, 24);
        assert_eq!(c.virtual_addresses[1].interface, Some(InterfaceId(3)));
        assert!(c.virtual_addresses[2].excluded);
        assert_eq!(c.track.len(), 1);
        assert_eq!(c.track[0].weight, -20);
        assert_eq!(
            m.config.trackers[0].kind,
            TrackerKind::Interface(InterfaceId(3))
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
        assert_eq!(a.primary_addr, "fe80::1".parse::<IpAddr>().unwrap());
        assert!(matches!(a.advert_interval, AdvertInterval::V3(_)));
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
        assert_eq!(r.interface, Some(InterfaceId(2)));
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
        assert!(has("'use_vmac'"), "{lines:#?}");
        assert!(!has("notify_master"), "{lines:#?}");
        let vs: Vec<_> = lines
            .iter()
            .filter(|l| l.contains("virtual_server"))
            .collect();
        assert_eq!(vs.len(), 1, "{lines:#?}");
        assert!(vs[0].starts_with("test.conf:16:"), "{lines:#?}");
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
    fn interface_without_address_is_an_error() {
        let parsed = confparse::parse_str(
            "vrrp_instance A {\n interface eth1\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
            "t.conf",
        );
        let e = map(&parsed.config, &FakeHost).unwrap_err();
        assert_eq!(e.span.line, 2);
        assert!(e.message.contains("no IPv4 address"), "{}", e.message);
    }

    #[test]
    fn missing_interface_is_an_error() {
        let parsed = confparse::parse_str(
            "vrrp_instance A {\n interface nope0\n virtual_router_id 1\n}\n",
            "t.conf",
        );
        let e = map(&parsed.config, &FakeHost).unwrap_err();
        assert_eq!(e.span.line, 2);
        assert!(e.message.contains("nope0"));
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
