//! The state dumps of the VRRP child (keepalived-behaviour.md §7.2, §7.7, §8.5): `SIGUSR1`
//! writes the configuration and state to `keepalived.data`, `SIGUSR2` the counters to
//! `keepalived.stats`, `SIGRTMIN+2` both as JSON to `keepalived.json`, in `$TMPDIR` (default
//! `/tmp`), as keepalived 2.x does.
//!
//! The text files carry the information keepalived's do, in our own words and layout. The JSON
//! file keeps keepalived's shape (an array of `{"data": {...}, "stats": {...}}`, one per
//! instance) and its key names and state numbers, so that tools reading keepalived's file
//! (exporters, monitoring checks) read ours; keys keepalived has and we have no value for are
//! left out, and a few of ours are added. Passwords are never written (keepalived writes them).
//!
//! A file is written under a temporary name (created exclusively, mode 0600) and renamed into
//! place, so a reader never sees half a dump and a link planted at the final name is replaced,
//! not followed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use vrrp_engine::linux::DumpKind;
use vrrp_engine::{
    AuthConfig, Engine, GroupId, InstanceConfig, InstanceStatus, InterfaceId, State, TrackerKind,
    TrackerStatus, VirtualAddress, VirtualRoute,
};

/// What the daemon remembers about an instance beyond the engine's state (from its
/// notifications): when it last changed state and how often it left MASTER. 16 bytes.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    /// Time of the last state change in nanoseconds since the Unix epoch; 0 for none.
    last_transition_ns: u64,
    /// Times it left MASTER (keepalived's "released master").
    pub released_master: u32,
    /// The state it is in, as last notified.
    pub state: Option<State>,
}

impl History {
    /// Time of the last state change.
    pub(crate) fn last_transition(&self) -> Option<SystemTime> {
        (self.last_transition_ns != 0).then(|| {
            SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(self.last_transition_ns)
        })
    }

    /// Records a state change at `t` (a clock before 1970 counts as its first nanosecond).
    pub(crate) fn set_last_transition(&mut self, t: SystemTime) {
        let ns = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_nanos()).ok())
            .unwrap_or(u64::MAX);
        self.last_transition_ns = ns.max(1);
    }
}

/// The [`History`] of every instance that has been notified, by name (so that it survives a
/// reload, which renumbers instances): a vector sorted by name, 32 bytes an instance, where a
/// hash map took about three times that for its spare buckets (1,000 instances: 32 KB instead
/// of 100 KB). Insertions are rare (an instance's first notification), lookups a binary search.
#[derive(Clone, Debug, Default)]
pub(crate) struct Histories(Vec<(std::sync::Arc<str>, History)>);

impl Histories {
    /// The history of instance `name`, if it has one.
    pub(crate) fn get(&self, name: &str) -> Option<&History> {
        let i = self.0.binary_search_by(|(n, _)| (**n).cmp(name)).ok()?;
        self.0.get(i).map(|(_, h)| h)
    }

    /// The history of instance `name`, created empty if it has none (sharing the name).
    pub(crate) fn entry(&mut self, name: &std::sync::Arc<str>) -> &mut History {
        let i = match self.0.binary_search_by(|(n, _)| (**n).cmp(name)) {
            Ok(i) => i,
            Err(i) => {
                self.0
                    .insert(i, (std::sync::Arc::clone(name), History::default()));
                i
            }
        };
        &mut self.0[i].1
    }
}

/// Everything a dump shows.
pub(crate) struct Snapshot<'a> {
    /// The engine: configuration, states, counters.
    pub engine: &'a Engine,
    /// Interface names (and whether up), as the driver sees them.
    pub interface: &'a dyn Fn(InterfaceId) -> Option<(String, bool)>,
    /// Per-instance history, by instance name.
    pub history: &'a Histories,
}

impl Snapshot<'_> {
    fn ifname(&self, id: InterfaceId) -> String {
        (self.interface)(id).map_or_else(|| format!("#{}", id.0), |(n, _)| n)
    }

    fn instances(&self) -> impl Iterator<Item = (InstanceStatus<'_>, &InstanceConfig)> + '_ {
        self.engine.statuses().filter_map(|s| {
            let cfg = self.engine.config(s.id)?;
            Some((s, cfg))
        })
    }

    fn groups(&self) -> impl Iterator<Item = (GroupId, &str)> + '_ {
        (0u32..)
            .map(GroupId)
            .map_while(|g| Some((g, self.engine.group_name(g)?)))
    }
}

/// The file a dump goes to in `dir`.
pub(crate) fn file_name(kind: DumpKind) -> &'static str {
    match kind {
        DumpKind::Data => "keepalived.data",
        DumpKind::Stats => "keepalived.stats",
        _ => "keepalived.json",
    }
}

/// Where dumps go: `$TMPDIR`, else `/tmp`.
pub(crate) fn directory() -> PathBuf {
    std::env::var_os("TMPDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

/// Writes dump `kind` of `snap` into `dir`; returns the file written.
pub(crate) fn write(kind: DumpKind, snap: &Snapshot<'_>, dir: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let text = match kind {
        DumpKind::Data => data(snap),
        DumpKind::Stats => stats(snap),
        _ => json(snap),
    };
    let name = file_name(kind);
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    // No fsync: this runs on the VRRP loop, and a flush to a busy disk could hold adverts back
    // long enough for a backup to take over. The rename alone keeps readers from a half file.
    let written = f.write_all(text.as_bytes());
    drop(f);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, &path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(path)
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn seconds(d: std::time::Duration) -> String {
    format!("{}", d.as_secs_f64())
}

fn auth_name(auth: &AuthConfig) -> &'static str {
    match auth {
        AuthConfig::None => "none",
        AuthConfig::Simple(_) => "PASS (simple password)",
        AuthConfig::Ah(_) => "AH (IPSEC-AH)",
    }
}

fn address(snap: &Snapshot<'_>, va: &VirtualAddress) -> String {
    let mut s = format!("{}/{}", va.addr, va.prefix_len);
    if let Some(i) = va.interface {
        let _ = write!(s, " dev {}", snap.ifname(i));
    }
    s
}

fn route(snap: &Snapshot<'_>, r: &VirtualRoute) -> String {
    let mut s = format!("{}/{}", r.dest, r.prefix_len);
    if let Some(g) = r.gateway {
        let _ = write!(s, " via {g}");
    }
    if let Some(src) = r.source {
        let _ = write!(s, " src {src}");
    }
    if let Some(i) = r.interface {
        let _ = write!(s, " dev {}", snap.ifname(i));
    }
    if let Some(t) = r.table {
        let _ = write!(s, " table {t}");
    }
    if let Some(m) = r.metric {
        let _ = write!(s, " metric {m}");
    }
    s
}

fn tracker_kind(kind: &TrackerKind) -> &'static str {
    match kind {
        TrackerKind::Interface(_) => "interface",
        TrackerKind::Script(_) => "script",
        TrackerKind::File(_) => "file",
        TrackerKind::Process => "process",
        TrackerKind::Bfd => "bfd",
        _ => "tracker",
    }
}

fn tracker_status(status: TrackerStatus) -> String {
    match status {
        TrackerStatus::Up => "up".to_owned(),
        TrackerStatus::Down => "down".to_owned(),
        TrackerStatus::Value(v) => format!("value {v}"),
    }
}

/// Trackers of `cfg`: `name (kind) weight W [reverse]: status`.
fn trackers(snap: &Snapshot<'_>, cfg: &InstanceConfig) -> Vec<String> {
    cfg.track
        .iter()
        .map(|b| {
            let (name, kind, status) = snap.engine.tracker(b.tracker).map_or_else(
                || (format!("#{}", b.tracker.0), "tracker", "unknown".to_owned()),
                |(c, s)| (c.name.clone(), tracker_kind(&c.kind), tracker_status(s)),
            );
            let reverse = if b.reverse { " reverse" } else { "" };
            format!("{name} ({kind}) weight {}{reverse}: {status}", b.weight)
        })
        .collect()
}

fn destination(cfg: &InstanceConfig) -> String {
    if cfg.unicast_peers.is_empty() {
        let group = match cfg.primary_addr {
            IpAddr::V4(_) => "224.0.0.18",
            IpAddr::V6(_) => "ff02::12",
        };
        format!("multicast {group}")
    } else {
        let peers: Vec<String> = cfg
            .unicast_peers
            .iter()
            .map(|p| p.addr.to_string())
            .collect();
        format!("unicast to {}", peers.join(", "))
    }
}

fn version(cfg: &InstanceConfig) -> u8 {
    match cfg.version() {
        vrrp_engine::Version::V2 => 2,
        vrrp_engine::Version::V3 => 3,
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `keepalived.data`: the configuration and state of every instance, sync group and tracker.
#[allow(clippy::too_many_lines)] // one field after another
pub(crate) fn data(snap: &Snapshot<'_>) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "keepalived-rs {} VRRP state, process {}, at {:.6} (Unix time)",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        unix_seconds(SystemTime::now())
    );
    let _ = writeln!(o, "\n=== VRRP instances ===");
    for (st, cfg) in snap.instances() {
        let h = snap.history.get(st.name);
        let _ = writeln!(o, "Instance {}", st.name);
        let mut line = |k: &str, v: &dyn std::fmt::Display| {
            let _ = writeln!(o, "    {k:<28} {v}");
        };
        line("state:", &st.state);
        if st.waiting_for_group {
            line("held by its sync group:", &"yes");
        }
        if let Some(g) = st.group {
            line(
                "sync group:",
                &snap.engine.group_name(g).unwrap_or("?").to_owned(),
            );
        }
        if let Some(t) = h.and_then(History::last_transition) {
            line("last state change:", &format!("{:.6}", unix_seconds(t)));
        }
        let (ifname, up) = (snap.interface)(st.interface)
            .map_or_else(|| (snap.ifname(st.interface), None), |(n, u)| (n, Some(u)));
        let link = match up {
            Some(true) => "up",
            Some(false) => "down",
            None => "missing",
        };
        line("interface:", &format!("{ifname} ({link})"));
        line("source address:", &cfg.primary_addr);
        line("adverts go to:", &destination(cfg));
        line("virtual router id:", &st.vrid);
        line("VRRP version:", &version(cfg));
        line(
            "advert interval:",
            &format!("{} s", seconds(cfg.advert_interval.to_duration())),
        );
        line(
            "master's advert interval:",
            &format!("{} s", seconds(st.master_adver_interval)),
        );
        line("priority:", &st.base_priority.0);
        line("effective priority:", &st.effective_priority.0);
        line(
            "current master:",
            &st.master
                .map_or_else(|| "unknown".to_owned(), |m| m.to_string()),
        );
        line("preempt:", &yes(cfg.preempt));
        line(
            "preempt delay:",
            &format!("{} s", seconds(cfg.preempt_delay)),
        );
        line("authentication:", &auth_name(&cfg.auth));
        line("adverts before down:", &cfg.down_timer_adverts);
        line(
            "GARP/NA after MASTER:",
            &format!(
                "{} at once, {} more after {}",
                cfg.garp.master_repeat,
                cfg.garp.master_repeat,
                cfg.garp
                    .master_delay
                    .map_or_else(|| "never".to_owned(), |d| format!("{} s", seconds(d)))
            ),
        );
        line(
            "GARP/NA refresh:",
            &cfg.garp.master_refresh.map_or_else(
                || "off".to_owned(),
                |d| {
                    format!(
                        "every {} s, {} each",
                        seconds(d),
                        cfg.garp.master_refresh_repeat
                    )
                },
            ),
        );
        line(
            "higher_prio_send_advert:",
            &yes(cfg.knobs.higher_prio_send_advert),
        );
        line(
            "lower_prio_no_advert:",
            &yes(cfg.knobs.lower_prio_no_advert),
        );
        line("skip_check_adv_addr:", &yes(cfg.knobs.skip_check_adv_addr));
        line("dont_track_primary:", &yes(cfg.knobs.dont_track_primary));
        let installed = st.state == State::Master;
        let set = if installed {
            "installed"
        } else {
            "not installed"
        };
        let _ = writeln!(
            o,
            "    virtual addresses ({}, {set}):",
            cfg.virtual_addresses.len()
        );
        for va in &cfg.virtual_addresses {
            let excluded = if va.excluded { " (excluded)" } else { "" };
            let _ = writeln!(o, "        {}{excluded}", address(snap, va));
        }
        if !cfg.virtual_routes.is_empty() {
            let _ = writeln!(
                o,
                "    virtual routes ({}, {set}):",
                cfg.virtual_routes.len()
            );
            for r in &cfg.virtual_routes {
                let _ = writeln!(o, "        {}", route(snap, r));
            }
        }
        let tracked = trackers(snap, cfg);
        if !tracked.is_empty() {
            let _ = writeln!(o, "    tracking:");
            for t in tracked {
                let _ = writeln!(o, "        {t}");
            }
        }
    }
    let mut groups = snap.groups().peekable();
    if groups.peek().is_some() {
        let _ = writeln!(o, "\n=== Sync groups ===");
    }
    for (g, name) in groups {
        let state = snap
            .engine
            .group_state(g)
            .map_or_else(|| "?".to_owned(), |s| s.to_string());
        let members: Vec<&str> = snap
            .engine
            .statuses()
            .filter(|s| s.group == Some(g))
            .map(|s| s.name)
            .collect();
        let _ = writeln!(o, "Group {name}: {state}");
        let _ = writeln!(o, "    members: {}", members.join(", "));
    }
    o
}

/// `keepalived.stats`: the counters of every instance.
pub(crate) fn stats(snap: &Snapshot<'_>) -> String {
    let mut o = String::new();
    for (st, _) in snap.instances() {
        let c = st.counters;
        let released = snap.history.get(st.name).map_or(0, |h| h.released_master);
        let _ = writeln!(o, "Instance {}", st.name);
        let mut section = |title: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(o, "    {title}");
            for (k, v) in rows {
                let _ = writeln!(o, "        {k:<24} {v}");
            }
        };
        section(
            "adverts:",
            &[
                ("received", c.rcvd_advertisements),
                ("sent", c.sent_advertisements),
            ],
        );
        section(
            "mastership:",
            &[
                ("became master", c.master_transitions),
                ("left master", u64::from(released)),
            ],
        );
        section(
            "bad packets:",
            &[
                ("length", c.packet_length_errors),
                ("TTL / hop limit", c.ip_ttl_errors),
                ("type", c.rcvd_invalid_type),
                ("advert interval", c.adv_interval_errors),
                ("address list", c.address_list_errors),
                ("version", c.version_errors),
                ("checksum", c.checksum_errors),
                ("VRID", c.vrid_errors),
                ("source", c.source_errors),
            ],
        );
        section(
            "authentication:",
            &[
                ("unknown type", c.invalid_auth_type),
                ("type mismatch", c.auth_type_mismatch),
                ("failed", c.auth_failures),
            ],
        );
        section(
            "priority 0:",
            &[("received", c.rcvd_pri_zero), ("sent", c.sent_pri_zero)],
        );
    }
    let g = snap.engine.global_counters();
    let _ = writeln!(o, "Not attributed to an instance");
    for (k, v) in [
        ("checksum", g.checksum_errors),
        ("version", g.version_errors),
        ("unknown VRID", g.vrid_errors),
        ("other", g.other_errors),
    ] {
        let _ = writeln!(o, "        {k:<24} {v}");
    }
    o
}

/// keepalived's state numbers in its JSON dump.
fn state_number(s: State) -> u32 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stopped => 98,
    }
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '/' => o.push_str("\\/"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON object being written: `key: value` pairs, values already in JSON form.
struct Object(Vec<(&'static str, String)>);

impl Object {
    fn raw(&mut self, key: &'static str, json: String) -> &mut Self {
        self.0.push((key, json));
        self
    }
    fn num(&mut self, key: &'static str, n: impl std::fmt::Display) -> &mut Self {
        self.raw(key, n.to_string())
    }
    fn flag(&mut self, key: &'static str, b: bool) -> &mut Self {
        self.raw(key, u8::from(b).to_string())
    }
    fn boolean(&mut self, key: &'static str, b: bool) -> &mut Self {
        self.raw(key, b.to_string())
    }
    fn str(&mut self, key: &'static str, s: &str) -> &mut Self {
        self.raw(key, quote(s))
    }
    fn strs(&mut self, key: &'static str, items: impl IntoIterator<Item = String>) -> &mut Self {
        let v: Vec<String> = items.into_iter().map(|s| quote(&s)).collect();
        self.raw(key, format!("[{}]", v.join(",")))
    }
    fn render(&self) -> String {
        let fields: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}:{v}", quote(k)))
            .collect();
        format!("{{{}}}", fields.join(","))
    }
}

/// `keepalived.json`: one `{"data", "stats"}` object per instance, keepalived's keys.
pub(crate) fn json(snap: &Snapshot<'_>) -> String {
    let mut items = Vec::new();
    for (st, cfg) in snap.instances() {
        let h = snap.history.get(st.name);
        let installed = st.state == State::Master;
        let mut d = Object(Vec::new());
        d.str("iname", st.name)
            .flag("dont_track_primary", cfg.knobs.dont_track_primary)
            .flag("skip_check_adv_addr", cfg.knobs.skip_check_adv_addr)
            .str("ifp_ifname", &snap.ifname(st.interface))
            .num(
                "last_transition",
                h.and_then(History::last_transition)
                    .map_or(0.0, unix_seconds),
            )
            .num(
                "garp_delay",
                cfg.garp.master_delay.map_or(0, |d| d.as_secs()),
            )
            .num(
                "garp_refresh",
                cfg.garp.master_refresh.map_or(0, |d| d.as_secs()),
            )
            .num("garp_rep", cfg.garp.master_repeat)
            .num("garp_refresh_rep", cfg.garp.master_refresh_repeat)
            .num(
                "garp_lower_prio_delay",
                cfg.garp.lower_prio_delay.map_or(0, |d| d.as_secs()),
            )
            .num("garp_lower_prio_rep", cfg.garp.lower_prio_repeat)
            .flag("lower_prio_no_advert", cfg.knobs.lower_prio_no_advert)
            .flag("higher_prio_send_advert", cfg.knobs.higher_prio_send_advert)
            .num("vrid", st.vrid)
            .num("base_priority", st.base_priority.0)
            .num("effective_priority", st.effective_priority.0)
            .boolean("vipset", installed)
            .raw("adver_int", seconds(cfg.advert_interval.to_duration()))
            .raw("master_adver_int", seconds(st.master_adver_interval))
            .boolean("nopreempt", !cfg.preempt)
            .raw("preempt_delay", seconds(cfg.preempt_delay))
            .num("state", state_number(st.state))
            .num("wantstate", state_number(st.state))
            .num("version", version(cfg))
            .strs(
                "vips",
                cfg.virtual_addresses
                    .iter()
                    .filter(|a| !a.excluded)
                    .map(|a| address(snap, a)),
            )
            .strs(
                "evips",
                cfg.virtual_addresses
                    .iter()
                    .filter(|a| a.excluded)
                    .map(|a| address(snap, a)),
            )
            .strs("vroutes", cfg.virtual_routes.iter().map(|r| route(snap, r)))
            .strs("track", trackers(snap, cfg))
            .num(
                "auth_type",
                match cfg.auth {
                    AuthConfig::None => 0,
                    AuthConfig::Simple(_) => 1,
                    AuthConfig::Ah(_) => 2,
                },
            )
            // Ours: the state by name, the master as heard, the source address.
            .str("state_name", &st.state.to_string())
            .str(
                "master_addr",
                &st.master.map(|m| m.to_string()).unwrap_or_default(),
            )
            .str("src_ip", &cfg.primary_addr.to_string());
        if let Some(g) = st.group.and_then(|g| snap.engine.group_name(g)) {
            d.str("sync_group", g);
        }
        let c = st.counters;
        let mut s = Object(Vec::new());
        s.num("advert_rcvd", c.rcvd_advertisements)
            .num("advert_sent", c.sent_advertisements)
            .num("become_master", c.master_transitions)
            .num("release_master", h.map_or(0, |h| h.released_master))
            .num("packet_len_err", c.packet_length_errors)
            .num("advert_interval_err", c.adv_interval_errors)
            .num("ip_ttl_err", c.ip_ttl_errors)
            .num("invalid_type_rcvd", c.rcvd_invalid_type)
            .num("addr_list_err", c.address_list_errors)
            .num("invalid_authtype", c.invalid_auth_type)
            .num("authtype_mismatch", c.auth_type_mismatch)
            .num("auth_failure", c.auth_failures)
            .num("pri_zero_rcvd", c.rcvd_pri_zero)
            .num("pri_zero_sent", c.sent_pri_zero);
        items.push(format!(
            "{{\"data\":{},\"stats\":{}}}",
            d.render(),
            s.render()
        ));
    }
    format!("[{}]\n", items.join(","))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use vrrp_engine::{EngineConfig, InstanceConfig, VirtualAddress};

    fn engine() -> Engine {
        let mut a = InstanceConfig::new(
            "VI_\"1\"",
            InterfaceId(3),
            51,
            150,
            "10.0.0.1".parse().unwrap(),
        );
        a.virtual_addresses = vec![VirtualAddress::host("10.0.0.100".parse().unwrap())].into();
        a.auth = AuthConfig::Simple(*b"secret\0\0");
        Engine::new(EngineConfig {
            instances: vec![a],
            ..EngineConfig::default()
        })
        .unwrap()
    }

    fn names(id: InterfaceId) -> Option<(String, bool)> {
        (id.0 == 3).then(|| ("eth0".to_owned(), true))
    }

    #[test]
    fn data_and_stats_name_the_instance_and_hide_the_password() {
        let e = engine();
        let history = Histories::default();
        let snap = Snapshot {
            engine: &e,
            interface: &names,
            history: &history,
        };
        let d = data(&snap);
        assert!(d.contains("Instance VI_\"1\""), "{d}");
        assert!(d.contains("eth0 (up)"), "{d}");
        assert!(d.contains("10.0.0.100/32"), "{d}");
        assert!(d.contains("PASS"), "{d}");
        assert!(!d.contains("secret"), "{d}");
        let s = stats(&snap);
        assert!(s.contains("Instance VI_\"1\"") && s.contains("sent"), "{s}");
    }

    #[test]
    fn history_keeps_the_transition_time_to_the_nanosecond() {
        let mut h = History::default();
        assert_eq!(h.last_transition(), None);
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 123_456_789);
        h.set_last_transition(t);
        assert_eq!(h.last_transition(), Some(t));
        h.set_last_transition(SystemTime::UNIX_EPOCH);
        assert!(
            h.last_transition().is_some(),
            "the epoch itself is still a time"
        );
        assert_eq!(std::mem::size_of::<History>(), 16);
    }

    #[test]
    fn histories_find_each_name_whatever_the_insertion_order() {
        let mut h = Histories::default();
        let names: Vec<std::sync::Arc<str>> = ["vs_k1_v2", "vs_k0_v10", "b", "vs_k0_v1", "a"]
            .into_iter()
            .map(std::sync::Arc::from)
            .collect();
        for (i, n) in names.iter().enumerate() {
            h.entry(n).released_master = i as u32 + 1;
        }
        // A second entry() finds the first, never adds a duplicate.
        h.entry(&names[2]).state = Some(State::Master);
        assert_eq!(h.0.len(), names.len());
        for (i, n) in names.iter().enumerate() {
            assert_eq!(
                h.get(n).map(|x| x.released_master),
                Some(i as u32 + 1),
                "{n}"
            );
        }
        assert_eq!(h.get("b").and_then(|x| x.state), Some(State::Master));
        assert!(h.get("vs_k0_v").is_none());
        assert!(h.0.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn json_is_escaped_and_shaped_like_keepalived() {
        let e = engine();
        let mut history = Histories::default();
        history
            .entry(&std::sync::Arc::from("VI_\"1\""))
            .released_master = 2;
        let snap = Snapshot {
            engine: &e,
            interface: &names,
            history: &history,
        };
        let j = json(&snap);
        assert!(
            j.starts_with("[{\"data\":{\"iname\":\"VI_\\\"1\\\"\""),
            "{j}"
        );
        assert!(j.contains("\"vips\":[\"10.0.0.100\\/32\"]"), "{j}");
        assert!(j.contains("\"release_master\":2"), "{j}");
        assert!(j.contains("\"state\":0"), "{j}");
        assert!(!j.contains("secret"), "{j}");
    }

    #[test]
    fn quoting_escapes_controls() {
        assert_eq!(quote("a\u{1}b\n"), "\"a\\u0001b\\n\"");
    }
}
