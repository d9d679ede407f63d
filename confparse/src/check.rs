//! Checks across the whole model: references, duplicates, limits, and the traps users fall into.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use crate::diag::Diagnostic;
use crate::lexer::push_capped;
use crate::model::{AuthType, CheckerKind, Command, Config, InitialState, VrrpInstance, VsKey};
use crate::span::Span;

/// What the host offers, for checks that depend on it (interfaces, local addresses).
///
/// Each method returns `None` when it does not know, and the check is then skipped.
pub trait HostFacts {
    /// Whether a network interface of this name exists.
    fn has_interface(&self, name: &str) -> Option<bool>;
    /// Whether this address is configured on the host.
    fn has_address(&self, addr: IpAddr) -> Option<bool>;
    /// Whether a program (an absolute path) exists. The default does not know.
    fn has_program(&self, _path: &std::path::Path) -> Option<bool> {
        None
    }
}

/// Knows nothing: every host-dependent check is skipped.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHost;

impl HostFacts for NoHost {
    fn has_interface(&self, _: &str) -> Option<bool> {
        None
    }
    fn has_address(&self, _: IpAddr) -> Option<bool> {
        None
    }
}

/// Reads the running host's interfaces from `/sys/class/net` and its addresses from
/// `/proc/net/fib_trie` (IPv4) and `/proc/net/if_inet6` (IPv6), once, when created.
#[derive(Clone, Debug, Default)]
pub struct LocalHost {
    interfaces: Option<HashSet<String>>,
    addrs4: Option<HashSet<IpAddr>>,
    addrs6: Option<HashSet<IpAddr>>,
}

impl LocalHost {
    /// Takes a snapshot of the host.
    pub fn snapshot() -> Self {
        let interfaces = std::fs::read_dir("/sys/class/net").ok().map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        });
        let addrs4 = std::fs::read_to_string("/proc/net/fib_trie").ok().map(|t| {
            let mut set = HashSet::new();
            let mut last: Option<IpAddr> = None;
            for line in t.lines() {
                let l = line.trim();
                if let Some(rest) = l.strip_prefix("|-- ").or_else(|| l.strip_prefix("+-- ")) {
                    last = rest.split(['/', ' ']).next().and_then(|a| a.parse().ok());
                } else if l.contains("/32 host LOCAL")
                    && let Some(a) = last
                {
                    set.insert(a);
                }
            }
            set
        });
        let addrs6 = std::fs::read_to_string("/proc/net/if_inet6").ok().map(|t| {
            t.lines()
                .filter_map(|l| {
                    let hex = l.split_whitespace().next()?;
                    let v = u128::from_str_radix(hex, 16).ok()?;
                    Some(IpAddr::V6(v.into()))
                })
                .collect()
        });
        LocalHost {
            interfaces,
            addrs4,
            addrs6,
        }
    }
}

impl HostFacts for LocalHost {
    fn has_interface(&self, name: &str) -> Option<bool> {
        self.interfaces.as_ref().map(|s| s.contains(name))
    }
    fn has_address(&self, addr: IpAddr) -> Option<bool> {
        let set = if addr.is_ipv4() {
            &self.addrs4
        } else {
            &self.addrs6
        };
        set.as_ref().map(|s| s.contains(&addr))
    }
    fn has_program(&self, path: &std::path::Path) -> Option<bool> {
        Some(path.is_file())
    }
}

/// Every command of the configuration, with what it is for.
fn commands(c: &Config) -> Vec<(&'static str, &Command)> {
    fn notify<'a>(v: &mut Vec<(&'static str, &'a Command)>, n: &'a crate::model::Notify) {
        let all = [
            &n.master,
            &n.backup,
            &n.fault,
            &n.stop,
            &n.deleted,
            &n.master_rx_lower_pri,
            &n.generic,
        ];
        v.extend(all.into_iter().flatten().map(|c| ("notify script", c)));
    }
    let mut v: Vec<(&'static str, &Command)> = Vec::new();
    let g = &c.global;
    for f in [&g.notify_fifo, &g.vrrp_notify_fifo, &g.lvs_notify_fifo]
        .into_iter()
        .flatten()
    {
        v.extend(f.script.iter().map(|s| ("notify FIFO script", s)));
    }
    for s in &c.vrrp_scripts {
        v.extend(s.script.iter().map(|s| ("vrrp_script", s)));
    }
    for i in &c.instances {
        notify(&mut v, &i.notify);
    }
    for g in &c.sync_groups {
        notify(&mut v, &g.notify);
    }
    for vs in &c.virtual_servers {
        v.extend(
            vs.quorum_up
                .iter()
                .chain(&vs.quorum_down)
                .map(|s| ("quorum script", s)),
        );
        for rs in &vs.real_servers {
            v.extend(
                rs.notify_up
                    .iter()
                    .chain(&rs.notify_down)
                    .map(|s| ("notify script", &**s)),
            );
            for ch in &rs.checkers {
                if let CheckerKind::Misc(m) = &ch.kind {
                    v.extend(m.path.iter().map(|s| ("MISC_CHECK script", s)));
                }
            }
        }
    }
    v
}

/// Runs every whole-configuration check and appends findings to `out`.
pub(crate) fn check(c: &Config, host: &dyn HostFacts, out: &mut Vec<Diagnostic>) {
    for (what, cmd) in commands(c) {
        let Some(prog) = cmd.program() else { continue };
        let path = std::path::Path::new(prog);
        if path.is_absolute() && host.has_program(path) == Some(false) {
            push_capped(
                out,
                Diagnostic::warning(
                    "no-such-program",
                    cmd.span,
                    format!("{what} '{prog}' does not exist on this host"),
                )
                .with_help(
                    "keepalived disables a script it cannot find; install it or fix the path",
                ),
            );
        }
    }
    let scripts: HashMap<&str, &crate::model::VrrpScript> = c
        .vrrp_scripts
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let files: HashSet<&str> = c.track_files.iter().map(|f| f.name.as_str()).collect();
    let instances: HashSet<&str> = c.instances.iter().map(|i| i.name.as_str()).collect();
    duplicates(
        c.vrrp_scripts.iter().map(|s| (s.name.as_str(), s.span)),
        "vrrp_script",
        out,
    );
    duplicates(
        c.track_files.iter().map(|s| (s.name.as_str(), s.span)),
        "track_file",
        out,
    );
    duplicates(
        c.instances.iter().map(|s| (s.name.as_str(), s.span)),
        "vrrp_instance",
        out,
    );
    duplicates(
        c.sync_groups.iter().map(|s| (s.name.as_str(), s.span)),
        "vrrp_sync_group",
        out,
    );
    duplicates(
        c.virtual_server_groups
            .iter()
            .map(|s| (s.name.as_str(), s.span)),
        "virtual_server_group",
        out,
    );

    // Sync groups: members exist, belong to one group, more than one member.
    let mut member_of: HashMap<&str, &crate::model::SyncGroup> = HashMap::new();
    for g in &c.sync_groups {
        for m in &g.group {
            if !instances.contains(m.value.as_str()) {
                push_capped(
                    out,
                    Diagnostic::error(
                        "undefined-reference",
                        m.span,
                        format!(
                            "sync group {}: no vrrp_instance named '{}'",
                            g.name, m.value
                        ),
                    ),
                );
            } else if let Some(other) = member_of.insert(m.value.as_str(), g)
                && other.name != g.name
            {
                push_capped(
                    out,
                    Diagnostic::error(
                        "duplicate",
                        m.span,
                        format!(
                            "vrrp_instance {} is already in sync group {}",
                            m.value, other.name
                        ),
                    ),
                );
            }
        }
        if g.group.len() == 1 {
            push_capped(
                out,
                Diagnostic::warning(
                    "sync-group-single",
                    g.span,
                    format!("sync group {} has only one instance", g.name),
                )
                .with_help("a sync group only has an effect with two or more instances"),
            );
        }
        track_refs(&g.track_script, &g.track_file, &scripts, &files, out);
    }

    let mut vrids: HashMap<(String, bool, u8), &VrrpInstance> = HashMap::new();
    for i in &c.instances {
        let v3 = i.version(&c.global) == 3;
        let name = &i.name;
        let Some(vrid) = &i.virtual_router_id else {
            push_capped(
                out,
                Diagnostic::error(
                    "missing-keyword",
                    i.span,
                    format!("vrrp_instance {name} has no virtual_router_id"),
                )
                .with_help(
                    "add 'virtual_router_id N' (1-255), the same on every router of this instance",
                ),
            );
            continue;
        };
        let ifname = i
            .interface
            .as_ref()
            .map(|s| s.value.clone())
            .or_else(|| c.global.default_interface.clone());
        match (&i.interface, &ifname) {
            (_, None) => push_capped(
                out,
                Diagnostic::error(
                    "missing-keyword",
                    i.span,
                    format!("vrrp_instance {name} has no interface"),
                ),
            ),
            (Some(ifc), Some(n)) if n == "lo" => push_capped(
                out,
                Diagnostic::error(
                    "loopback-interface",
                    ifc.span,
                    format!("vrrp_instance {name}: VRRP cannot run on the loopback interface"),
                ),
            ),
            (Some(ifc), Some(n)) if host.has_interface(n) == Some(false) => {
                push_capped(
                    out,
                    Diagnostic::warning(
                        "no-such-interface",
                        ifc.span,
                        format!("interface '{n}' does not exist on this host"),
                    ),
                );
            }
            _ => {}
        }
        if let Some(n) = &ifname
            && let Some(other) = vrids.insert((n.clone(), i.is_ipv6(), vrid.value), i)
        {
            push_capped(
                out,
                Diagnostic::error(
                    "duplicate-vrid",
                    vrid.span,
                    format!(
                        "virtual_router_id {} is already used by vrrp_instance {} on interface {n}",
                        vrid.value, other.name
                    ),
                )
                .with_help("each instance on one interface and address family needs its own VRID"),
            );
        }
        // Advertisement interval and version.
        let adv = i.advert_int;
        if v3 {
            if adv > Duration::from_millis(40_950) {
                push_capped(
                    out,
                    Diagnostic::error(
                        "vrrpv3-limit",
                        i.span,
                        format!("vrrp_instance {name}: VRRPv3 advert_int is at most 40.95 s"),
                    ),
                );
            }
            if adv.subsec_micros() % 10_000 != 0 {
                push_capped(
                    out,
                    Diagnostic::warning(
                        "vrrpv3-limit",
                        i.span,
                        format!(
                            "vrrp_instance {name}: VRRPv3 carries advert_int in centiseconds; it is rounded"
                        ),
                    ),
                );
            }
            if let Some(a) = &i.authentication {
                push_capped(
                    out,
                    Diagnostic::error(
                        "vrrpv3-auth",
                        a.span,
                        format!("vrrp_instance {name}: VRRPv3 has no authentication"),
                    )
                    .with_help("remove the authentication block, or use version 2"),
                );
            }
        } else if adv.subsec_micros() != 0 {
            push_capped(
                out,
                Diagnostic::error(
                    "vrrpv2-advert",
                    i.span,
                    format!("vrrp_instance {name}: VRRPv2 advert_int must be whole seconds"),
                )
                .with_help("use 'version 3' for sub-second adverts"),
            );
        }
        // Address families.
        let v6 = i.is_ipv6();
        for a in i.virtual_ipaddress.iter().skip(1) {
            if a.prefix.addr.is_ipv6() != v6 {
                push_capped(out,
                    Diagnostic::warning("mixed-family", a.span, format!("vrrp_instance {name}: {} is not of the instance's address family", a.prefix.addr))
                        .with_help("keepalived 2.x moves it to virtual_ipaddress_excluded (it is not advertised); put it there, or in an instance of its own"),
                );
            }
        }
        if i.virtual_ipaddress.len() > 20 && !v3 {
            push_capped(
                out,
                Diagnostic::warning(
                    "too-many-vips",
                    i.span,
                    format!(
                        "vrrp_instance {name}: {} VIPs; keepalived 1.x uses only the first 20",
                        i.virtual_ipaddress.len()
                    ),
                )
                .with_help("move the rest to virtual_ipaddress_excluded"),
            );
        }
        for src in [&i.unicast_src_ip, &i.mcast_src_ip].into_iter().flatten() {
            if src.value.is_ipv6() != v6 {
                push_capped(
                    out,
                    Diagnostic::error(
                        "mixed-family",
                        src.span,
                        format!(
                            "vrrp_instance {name}: source {} is not of the instance's address family",
                            src.value
                        ),
                    ),
                );
            } else if host.has_address(src.value) == Some(false) {
                push_capped(out,
                    Diagnostic::warning("no-such-address", src.span, format!("{} is not configured on this host", src.value))
                        .with_help("adverts cannot be sent from an address the host does not have (\"bind failed\"); check it is up before keepalived starts"),
                );
            }
        }
        if let Some(peers) = &i.unicast_peer {
            if peers.value.is_empty() {
                push_capped(out,
                    Diagnostic::warning("empty-unicast-peer", peers.span, format!("vrrp_instance {name}: unicast_peer is empty, so adverts go to multicast"))
                        .with_help("list the peers' addresses, or remove the block to use multicast on purpose"),
                );
            }
            for peer in &peers.value {
                if peer.addr.is_ipv6() != v6 {
                    push_capped(
                        out,
                        Diagnostic::error(
                            "mixed-family",
                            peer.span,
                            format!(
                                "unicast_peer {} is not of the instance's address family",
                                peer.addr
                            ),
                        ),
                    );
                }
                let own_src = i.unicast_src_ip.as_ref().map(|s| s.value);
                if own_src == Some(peer.addr) || host.has_address(peer.addr) == Some(true) {
                    push_capped(
                        out,
                        Diagnostic::warning(
                            "peer-is-local",
                            peer.span,
                            format!("unicast_peer {} is this router's own address", peer.addr),
                        )
                        .with_help("list the other routers' addresses, not this one's"),
                    );
                }
            }
        }
        if let (Some(sp), InitialState::Master) = (i.nopreempt, i.state) {
            push_capped(
                out,
                Diagnostic::warning(
                    "nopreempt-master",
                    sp,
                    format!("vrrp_instance {name}: nopreempt has no effect with 'state MASTER'"),
                )
                .with_help("use 'state BACKUP' on every router when nopreempt is wanted"),
            );
        }
        if i.state == InitialState::Master && !i.preempt_delay.is_zero() {
            push_capped(
                out,
                Diagnostic::warning(
                    "preempt-delay-master",
                    i.span,
                    format!(
                        "vrrp_instance {name}: preempt_delay has no effect with 'state MASTER'"
                    ),
                )
                .with_help("use 'state BACKUP' when a delay before preempting is wanted"),
            );
        }
        if let Some(a) = &i.authentication {
            if v6 && a.value.auth_type.is_some() {
                push_capped(
                    out,
                    Diagnostic::warning(
                        "auth-ipv6",
                        a.span,
                        format!("vrrp_instance {name}: authentication is ignored for IPv6"),
                    ),
                );
            }
            if a.value.auth_type == Some(AuthType::Ah) && i.state == InitialState::Master {
                push_capped(
                    out,
                    Diagnostic::warning(
                        "ah-master",
                        a.span,
                        format!(
                            "vrrp_instance {name}: keepalived 2.x clears 'state MASTER' with AH authentication"
                        ),
                    ),
                );
            }
            if a.value.auth_type == Some(AuthType::Pass) && a.value.auth_pass.is_none() {
                push_capped(
                    out,
                    Diagnostic::error(
                        "missing-keyword",
                        a.span,
                        format!("vrrp_instance {name}: auth_type PASS without auth_pass"),
                    ),
                );
            }
        }
        let strict = i.strict_mode.unwrap_or(c.global.vrrp_strict);
        if strict {
            if i.authentication.is_some() {
                push_capped(
                    out,
                    Diagnostic::error(
                        "strict",
                        i.span,
                        format!(
                            "vrrp_instance {name}: vrrp_strict forbids authentication (keepalived removes it)"
                        ),
                    ),
                );
            }
            if i.unicast_peer.as_ref().is_some_and(|p| !p.value.is_empty()) {
                push_capped(
                    out,
                    Diagnostic::error(
                        "strict",
                        i.span,
                        format!("vrrp_instance {name}: vrrp_strict forbids unicast peers"),
                    ),
                );
            }
            if i.priority() != 255 && i.accept != Some(true) {
                push_capped(out,
                    Diagnostic::warning("strict-accept", i.span, format!("vrrp_instance {name}: with vrrp_strict, packets to the VIPs are dropped on this router unless it owns them"))
                        .with_help("the VIPs will not answer ping, ssh or other traffic; add 'accept' or drop vrrp_strict"),
                );
            }
        }
        track_refs(&i.track_script, &i.track_file, &scripts, &files, out);
        // Weights that can never cause a failover.
        let weighted = i
            .track_script
            .iter()
            .filter(|t| {
                t.weight
                    .or_else(|| scripts.get(t.name.as_str()).map(|s| s.weight))
                    .unwrap_or(0)
                    != 0
            })
            .chain(
                i.track_interface
                    .iter()
                    .filter(|t| t.weight.unwrap_or(0) != 0),
            )
            .chain(i.track_file.iter().filter(|t| t.weight.unwrap_or(1) != 0))
            .next();
        if let Some(t) = weighted {
            if i.priority() == 255 {
                push_capped(out,
                    Diagnostic::warning("weight-no-effect", t.span, format!("vrrp_instance {name} has priority 255 (address owner); tracking weights never change its priority"))
                        .with_help("use a priority below 255, or weight 0 so that a failure means FAULT"),
                );
            } else if let Some(g) = member_of.get(name.as_str())
                && !g.global_tracking
                && !g.sync_group_tracking_weight
            {
                push_capped(out,
                        Diagnostic::warning("weight-no-effect", t.span, format!("vrrp_instance {name} is in sync group {}: its tracking weights are ignored and a failure means FAULT", g.name))
                            .with_help("add 'sync_group_tracking_weight' (or 'global_tracking') to the sync group if the weights are meant"),
                    );
            }
        }
    }
    if let Some(d) = &c.global.lvs_sync_daemon
        && !instances.contains(d.instance.as_str())
    {
        push_capped(
            out,
            Diagnostic::error(
                "undefined-reference",
                Span::NONE,
                format!("lvs_sync_daemon: no vrrp_instance named '{}'", d.instance),
            ),
        );
    }

    let groups: HashSet<&str> = c
        .virtual_server_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    let mut services: HashMap<String, Span> = HashMap::new();
    for vs in &c.virtual_servers {
        let key = format!("{}/{:?}", vs.key, vs.protocol);
        if services.insert(key, vs.span).is_some() {
            push_capped(
                out,
                Diagnostic::error(
                    "duplicate",
                    vs.span,
                    format!("virtual_server {} is defined twice", vs.key),
                ),
            );
        }
        if let VsKey::Group(g) = &vs.key
            && !groups.contains(g.as_str())
        {
            push_capped(
                out,
                Diagnostic::error(
                    "undefined-reference",
                    vs.span,
                    format!("virtual_server group {g}: no virtual_server_group named '{g}'"),
                ),
            );
        }
        let mut seen = HashSet::new();
        for rs in &vs.real_servers {
            if !seen.insert(rs.addr) {
                push_capped(
                    out,
                    Diagnostic::error(
                        "duplicate",
                        rs.span,
                        format!(
                            "real_server {} {} appears twice in virtual_server {}",
                            rs.addr.ip(),
                            rs.addr.port(),
                            vs.key
                        ),
                    ),
                );
            }
            if let VsKey::Addr(a) = &vs.key
                && a.is_ipv4() != rs.addr.is_ipv4()
                && vs.lb_kind != crate::model::LbKind::Tun
            {
                push_capped(
                    out,
                    Diagnostic::error(
                        "mixed-family",
                        rs.span,
                        "real_server address family differs from the virtual server's (only TUN can mix)",
                    ),
                );
            }
            for ch in &rs.checkers {
                if let CheckerKind::File(f) = &ch.kind
                    && let Some(t) = &f.track_file
                    && !files.contains(t.value.as_str())
                {
                    push_capped(
                        out,
                        Diagnostic::error(
                            "undefined-reference",
                            t.span,
                            format!("FILE_CHECK: no track_file named '{}'", t.value),
                        ),
                    );
                }
            }
        }
        if vs.quorum > 1 {
            let total: i64 = vs.real_servers.iter().map(|r| i64::from(r.weight)).sum();
            if total < i64::from(vs.quorum) {
                push_capped(
                    out,
                    Diagnostic::warning(
                        "quorum-unreachable",
                        vs.span,
                        format!(
                            "virtual_server {}: quorum {} is above the total weight {total} of its real servers",
                            vs.key, vs.quorum
                        ),
                    ),
                );
            }
        }
    }
}

fn duplicates<'a>(
    items: impl Iterator<Item = (&'a str, Span)>,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let mut seen = HashSet::new();
    for (name, span) in items {
        if !seen.insert(name) {
            push_capped(
                out,
                Diagnostic::error("duplicate", span, format!("{what} {name} is defined twice")),
            );
        }
    }
}

fn track_refs(
    scripts_ref: &[crate::model::Track],
    files_ref: &[crate::model::Track],
    scripts: &HashMap<&str, &crate::model::VrrpScript>,
    files: &HashSet<&str>,
    out: &mut Vec<Diagnostic>,
) {
    for t in scripts_ref {
        if !scripts.contains_key(t.name.as_str()) {
            let mut d = Diagnostic::error(
                "undefined-reference",
                t.span,
                format!("track_script: no vrrp_script named '{}'", t.name),
            );
            let names: Vec<&str> = scripts.keys().copied().collect();
            if let Some(s) = crate::diag::did_you_mean(&t.name, &names) {
                d = d.with_help(format!("did you mean '{s}'?"));
            } else {
                d = d.with_help("keepalived ignores the reference: the script is never run");
            }
            push_capped(out, d);
        }
    }
    for t in files_ref {
        if !files.contains(t.name.as_str()) {
            push_capped(
                out,
                Diagnostic::error(
                    "undefined-reference",
                    t.span,
                    format!("track_file: no track_file named '{}'", t.name),
                ),
            );
        }
    }
}
