//! Prints a model back as canonical keepalived.conf text that parses to the same model.

use std::fmt::Write as _;

#[allow(clippy::wildcard_imports)] // every model type is used here
use crate::model::*;
use crate::parser::format_seconds;

/// Quotes a word when it would not read back as itself.
fn q(s: &str) -> String {
    // Words that would mean something else at the start of a line are quoted too: conditional
    // lines (`@`), definitions and repetitions (`$`, `~`) and includes.
    let plain = !s.is_empty()
        && !s.starts_with(['@', '~', '$'])
        && !s.starts_with("include")
        && s.chars()
            .all(|c| !c.is_whitespace() && !"'\"\\#!{}".contains(c));
    if plain {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

struct W {
    out: String,
    depth: usize,
}

impl W {
    fn line(&mut self, text: &str) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }
    fn open(&mut self, text: &str) {
        self.line(&format!("{text} {{"));
        self.depth += 1;
    }
    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.line("}");
    }
    fn kv(&mut self, k: &str, v: Option<impl std::fmt::Display>) {
        if let Some(v) = v {
            self.line(&format!("{k} {v}"));
        }
    }
    fn s(&mut self, k: &str, v: Option<impl AsRef<str>>) {
        if let Some(v) = v {
            self.line(&format!("{k} {}", q(v.as_ref())));
        }
    }
    fn flag(&mut self, k: &str, on: bool) {
        if on {
            self.line(k);
        }
    }
    fn obool(&mut self, k: &str, v: Option<bool>) {
        if let Some(v) = v {
            self.line(&format!("{k} {}", if v { "on" } else { "off" }));
        }
    }
    fn secs(&mut self, k: &str, v: Option<impl Into<std::time::Duration>>) {
        if let Some(v) = v {
            self.line(&format!("{k} {}", format_seconds(v.into())));
        }
    }
    fn cmd(&mut self, k: &str, v: Option<&Command>) {
        if let Some(v) = v {
            match &v.user {
                None => self.line(&format!("{k} {v}")),
                Some(u) => match &u.group {
                    None => self.line(&format!("{k} {v} {}", q(&u.user))),
                    Some(g) => self.line(&format!("{k} {v} {} {}", q(&u.user), q(g))),
                },
            }
        }
    }
    fn raw(&mut self, r: &[RawStatement]) {
        for s in r {
            let words: Vec<String> = s.words.iter().map(|w| q(w)).collect();
            match &s.block {
                Some(b) => {
                    self.open(&words.join(" "));
                    self.raw(b);
                    self.close();
                }
                None => self.line(&words.join(" ")),
            }
        }
    }
}

/// Prints the configuration as keepalived.conf text.
///
/// Only values that differ from keepalived's defaults are written. Parsing the output gives a
/// model equal to `c` (spans aside), with one limitation: a literal `${…}` inside a value cannot
/// be written, because keepalived's language has no escape for it.
pub fn to_conf(c: &Config) -> String {
    let mut w = W {
        out: String::new(),
        depth: 0,
    };
    global(&mut w, &c.global);
    if !c.static_ipaddress.is_empty() {
        w.open("static_ipaddress");
        for a in &c.static_ipaddress {
            address(&mut w, a);
        }
        w.close();
    }
    if !c.static_routes.is_empty() {
        w.open("static_routes");
        for r in &c.static_routes {
            route(&mut w, r);
        }
        w.close();
    }
    if !c.static_rules.is_empty() {
        w.open("static_rules");
        for r in &c.static_rules {
            w.line(&words(&r.words));
        }
        w.close();
    }
    for s in &c.vrrp_scripts {
        w.open(&format!("vrrp_script {}", q(&s.name)));
        w.cmd("script", s.script.as_ref());
        if s.interval != VrrpScript::default().interval {
            w.secs("interval", Some(s.interval));
        }
        w.secs("timeout", s.timeout);
        if s.weight != 0 || s.weight_reverse {
            w.line(&format!(
                "weight {}{}",
                s.weight,
                if s.weight_reverse { " reverse" } else { "" }
            ));
        }
        if s.rise != 1 {
            w.kv("rise", Some(s.rise));
        }
        if s.fall != 1 {
            w.kv("fall", Some(s.fall));
        }
        user(&mut w, "user", s.user.as_ref());
        w.flag("init_fail", s.init_fail);
        w.close();
    }
    for t in &c.track_files {
        w.open(&format!("track_file {}", q(&t.name)));
        w.s("file", t.file.as_ref());
        if t.weight != 1 || t.reverse {
            w.line(&format!(
                "weight {}{}",
                t.weight,
                if t.reverse { " reverse" } else { "" }
            ));
        }
        if let Some(i) = &t.init_file {
            w.line(&format!(
                "init_file {}{}",
                i.value,
                if i.overwrite { " overwrite" } else { "" }
            ));
        }
        w.close();
    }
    for i in &c.instances {
        instance(&mut w, i);
    }
    for g in &c.sync_groups {
        w.open(&format!("vrrp_sync_group {}", q(&g.name)));
        w.open("group");
        for m in &g.group {
            w.line(&q(&m.value));
        }
        w.close();
        notify(&mut w, &g.notify);
        w.obool("smtp_alert", g.smtp_alert);
        w.flag("global_tracking", g.global_tracking);
        w.flag("sync_group_tracking_weight", g.sync_group_tracking_weight);
        tracks(&mut w, "track_interface", &g.track_interface);
        tracks(&mut w, "track_script", &g.track_script);
        tracks(&mut w, "track_file", &g.track_file);
        w.raw(&g.extra);
        w.close();
    }
    if let Some(s) = &c.ssl {
        w.open("SSL");
        w.s("password", s.password.as_ref());
        w.s("ca", s.ca.as_ref());
        w.s("certificate", s.certificate.as_ref());
        w.s("key", s.key.as_ref());
        w.close();
    }
    for g in &c.virtual_server_groups {
        w.open(&format!("virtual_server_group {}", q(&g.name)));
        for e in &g.entries {
            match e {
                VsgEntry::Address {
                    addr,
                    last: None,
                    port,
                    ..
                } => w.line(&format!("{addr} {port}")),
                VsgEntry::Address {
                    addr,
                    last: Some(l),
                    port,
                    ..
                } => {
                    if addr.is_ipv6() {
                        w.line(&format!("{addr}-{l:x} {port}"));
                    } else {
                        w.line(&format!("{addr}-{l} {port}"));
                    }
                }
                VsgEntry::Fwmark { mark, .. } => w.line(&format!("fwmark {mark}")),
            }
        }
        w.close();
    }
    for vs in &c.virtual_servers {
        virtual_server(&mut w, vs);
    }
    w.raw(&c.extra);
    w.out
}

fn words(v: &[String]) -> String {
    v.iter().map(|s| q(s)).collect::<Vec<_>>().join(" ")
}

fn user(w: &mut W, k: &str, u: Option<&ScriptUser>) {
    if let Some(u) = u {
        match &u.group {
            Some(g) => w.line(&format!("{k} {} {}", q(&u.user), q(g))),
            None => w.line(&format!("{k} {}", q(&u.user))),
        }
    }
}

fn fifo(w: &mut W, k: &str, f: Option<&NotifyFifo>) {
    if let Some(f) = f {
        w.line(&format!("{k} {}", q(&f.path)));
        w.cmd(&format!("{k}_script"), f.script.as_ref());
    }
}

fn garp(w: &mut W, prefix: &str, g: &GarpSettings) {
    w.secs(&format!("{prefix}garp_master_delay"), g.master_delay);
    w.kv(&format!("{prefix}garp_master_repeat"), g.master_repeat);
    w.secs(&format!("{prefix}garp_master_refresh"), g.master_refresh);
    w.kv(
        &format!("{prefix}garp_master_refresh_repeat"),
        g.master_refresh_repeat,
    );
    w.secs(
        &format!("{prefix}garp_lower_prio_delay"),
        g.lower_prio_delay,
    );
    w.kv(
        &format!("{prefix}garp_lower_prio_repeat"),
        g.lower_prio_repeat,
    );
}

fn global(w: &mut W, g: &GlobalDefs) {
    if *g == GlobalDefs::default() {
        return;
    }
    let d = GlobalDefs::default();
    w.open("global_defs");
    w.s("router_id", g.router_id.as_ref());
    if !g.notification_email.is_empty() {
        w.open("notification_email");
        for e in &g.notification_email {
            w.line(&q(e));
        }
        w.close();
    }
    w.s(
        "notification_email_from",
        g.notification_email_from.as_ref(),
    );
    if let Some(s) = &g.smtp_server {
        w.line(&format!("smtp_server {} {}", q(&s.host), s.port));
    }
    if g.smtp_connect_timeout != d.smtp_connect_timeout {
        w.secs("smtp_connect_timeout", Some(g.smtp_connect_timeout));
    }
    w.s("smtp_helo_name", g.smtp_helo_name.as_ref());
    w.obool("smtp_alert", g.smtp_alert);
    w.obool("smtp_alert_vrrp", g.smtp_alert_vrrp);
    w.obool("smtp_alert_checker", g.smtp_alert_checker);
    let sec = &g.smtp_security;
    match sec.starttls {
        Some(StartTls::Required) => w.line("smtp_starttls required"),
        Some(StartTls::Opportunistic) => w.line("smtp_starttls opportunistic"),
        None => {}
    }
    w.s("smtp_tls_ca", sec.tls_ca.as_ref());
    w.flag("smtp_tls_insecure", sec.tls_insecure);
    w.s("smtp_auth_user", sec.auth_user.as_ref());
    w.s(
        "smtp_auth_password",
        sec.auth_password.as_ref().map(|p| &p.0),
    );
    w.s("smtp_auth_password_file", sec.auth_password_file.as_ref());
    w.flag("smtp_auth_plaintext", sec.auth_plaintext);
    w.s("lvs_id", g.lvs_id.as_ref());
    if let Some(l) = &g.lvs_sync_daemon {
        let mut line = format!("lvs_sync_daemon {} {}", q(&l.interface), q(&l.instance));
        for (k, v) in [
            ("id", l.id.map(u32::from)),
            ("maxlen", l.maxlen.map(u32::from)),
            ("port", l.port.map(u32::from)),
            ("ttl", l.ttl.map(u32::from)),
        ] {
            if let Some(v) = v {
                let _ = write!(line, " {k} {v}");
            }
        }
        if let Some(gr) = l.group {
            let _ = write!(line, " group {gr}");
        }
        w.line(&line);
    }
    w.flag("lvs_flush", g.lvs_flush);
    if g.vrrp_mcast_group4 != d.vrrp_mcast_group4 {
        w.kv("vrrp_mcast_group4", Some(g.vrrp_mcast_group4));
    }
    if g.vrrp_mcast_group6 != d.vrrp_mcast_group6 {
        w.kv("vrrp_mcast_group6", Some(g.vrrp_mcast_group6));
    }
    if g.vrrp_version != 2 {
        w.kv("vrrp_version", Some(g.vrrp_version));
    }
    w.flag("vrrp_strict", g.vrrp_strict);
    w.flag("vrrp_check_unicast_src", g.vrrp_check_unicast_src);
    w.flag("vrrp_skip_check_adv_addr", g.vrrp_skip_check_adv_addr);
    w.flag(
        "vrrp_higher_prio_send_advert",
        g.vrrp_higher_prio_send_advert,
    );
    w.flag("vrrp_lower_prio_no_advert", g.vrrp_lower_prio_no_advert);
    garp(w, "vrrp_", &g.garp);
    w.secs("vrrp_garp_interval", g.vrrp_garp_interval);
    w.secs("vrrp_gna_interval", g.vrrp_gna_interval);
    user(w, "script_user", g.script_user.as_ref());
    w.flag("enable_script_security", g.enable_script_security);
    fifo(w, "notify_fifo", g.notify_fifo.as_ref());
    fifo(w, "vrrp_notify_fifo", g.vrrp_notify_fifo.as_ref());
    fifo(w, "lvs_notify_fifo", g.lvs_notify_fifo.as_ref());
    w.flag("enable_traps", g.enable_traps);
    w.flag("linkbeat_use_polling", g.linkbeat_use_polling);
    w.s("default_interface", g.default_interface.as_ref());
    w.flag("dynamic_interfaces", g.dynamic_interfaces);
    w.raw(&g.extra);
    w.close();
}

fn address(w: &mut W, a: &IpAddress) {
    let mut line = if a.prefix.is_host() {
        a.prefix.addr.to_string()
    } else {
        a.prefix.to_string()
    };
    if let Some(d) = &a.dev {
        let _ = write!(line, " dev {}", q(d));
    }
    if let Some(s) = a.scope {
        let _ = write!(line, " scope {}", s.name());
    }
    if let Some(b) = &a.broadcast {
        let _ = write!(line, " brd {}", q(b));
    }
    if let Some(l) = &a.label {
        let _ = write!(line, " label {}", q(l));
    }
    if let Some(p) = &a.peer {
        let _ = write!(line, " peer {p}");
    }
    if a.no_track {
        line.push_str(" no_track");
    }
    for o in &a.options {
        let _ = write!(line, " {}", q(o));
    }
    w.line(&line);
}

fn route(w: &mut W, r: &Route) {
    let mut parts: Vec<String> = Vec::new();
    if let Some(k) = &r.kind {
        parts.push(k.clone());
    }
    if let Some(d) = &r.dest {
        parts.push(format!("to {d}"));
    }
    if let Some(v) = r.via {
        parts.push(format!("via {v}"));
    }
    if let Some(v) = r.or {
        parts.push(format!("or {v}"));
    }
    if let Some(v) = r.src {
        parts.push(format!("src {v}"));
    }
    if let Some(v) = &r.dev {
        parts.push(format!("dev {}", q(v)));
    }
    if let Some(v) = &r.table {
        parts.push(format!("table {}", q(v)));
    }
    if let Some(v) = r.metric {
        parts.push(format!("metric {v}"));
    }
    if let Some(v) = r.scope {
        parts.push(format!("scope {}", v.name()));
    }
    if r.no_track {
        parts.push("no_track".into());
    }
    parts.extend(r.options.iter().map(|o| q(o)));
    w.line(&parts.join(" "));
}

fn tracks(w: &mut W, k: &str, t: &[Track]) {
    if t.is_empty() {
        return;
    }
    w.open(k);
    for t in t {
        let mut line = q(&t.name);
        if let Some(wt) = t.weight {
            let _ = write!(line, " weight {wt}");
        }
        if t.reverse {
            line.push_str(" reverse");
        }
        w.line(&line);
    }
    w.close();
}

fn notify(w: &mut W, n: &Notify) {
    w.cmd("notify_master", n.master.as_ref());
    w.cmd("notify_backup", n.backup.as_ref());
    w.cmd("notify_fault", n.fault.as_ref());
    w.cmd("notify_stop", n.stop.as_ref());
    w.cmd("notify_deleted", n.deleted.as_ref());
    w.flag("notify_deleted", n.report_deleted && n.deleted.is_none());
    w.cmd("notify_master_rx_lower_pri", n.master_rx_lower_pri.as_ref());
    w.cmd("notify", n.generic.as_ref());
    w.flag("notify_priority_changes", n.priority_changes);
}

fn instance(w: &mut W, i: &VrrpInstance) {
    w.open(&format!("vrrp_instance {}", q(&i.name)));
    if i.state == InitialState::Master {
        w.line("state MASTER");
    }
    if let Some(n) = &i.interface {
        w.line(&format!("interface {}", q(&n.value)));
    }
    match &i.use_vmac {
        Some(Some(n)) => w.line(&format!("use_vmac {}", q(n))),
        Some(None) => w.line("use_vmac"),
        None => {}
    }
    w.flag("vmac_xmit_base", i.vmac_xmit_base);
    w.flag("native_ipv6", i.native_ipv6);
    w.flag("dont_track_primary", i.dont_track_primary);
    tracks(w, "track_interface", &i.track_interface);
    tracks(w, "track_script", &i.track_script);
    tracks(w, "track_file", &i.track_file);
    w.kv("mcast_src_ip", i.mcast_src_ip.as_ref());
    w.kv("mcast_dst_ip", i.mcast_dst_ip.as_ref());
    w.kv("unicast_src_ip", i.unicast_src_ip.as_ref());
    if let Some(p) = &i.unicast_peer {
        w.open("unicast_peer");
        for peer in &p.value {
            let mut line = peer.addr.to_string();
            if let Some(t) = peer.min_ttl {
                let _ = write!(line, " min_ttl {t}");
            }
            if let Some(t) = peer.max_ttl {
                let _ = write!(line, " max_ttl {t}");
            }
            w.line(&line);
        }
        w.close();
    }
    w.kv("unicast_ttl", i.unicast_ttl);
    w.flag("unicast_fault_no_peer", i.unicast_fault_no_peer);
    w.flag("check_unicast_src", i.check_unicast_src);
    w.kv("virtual_router_id", i.virtual_router_id.as_ref());
    w.kv("priority", i.priority.as_ref());
    if i.advert_int != VrrpInstance::default().advert_int {
        w.secs("advert_int", Some(i.advert_int));
    }
    w.kv("version", i.version);
    for (k, v) in [
        ("virtual_ipaddress", &i.virtual_ipaddress),
        ("virtual_ipaddress_excluded", &i.virtual_ipaddress_excluded),
    ] {
        if !v.is_empty() {
            w.open(k);
            for a in v {
                address(w, a);
            }
            w.close();
        }
    }
    if !i.virtual_routes.is_empty() {
        w.open("virtual_routes");
        for r in &i.virtual_routes {
            route(w, r);
        }
        w.close();
    }
    if !i.virtual_rules.is_empty() {
        w.open("virtual_rules");
        for r in &i.virtual_rules {
            w.line(&words(&r.words));
        }
        w.close();
    }
    w.flag("nopreempt", i.nopreempt.is_some());
    if !i.preempt_delay.is_zero() {
        w.secs("preempt_delay", Some(i.preempt_delay));
    }
    w.obool("accept", i.accept);
    w.obool("strict_mode", i.strict_mode);
    w.obool("higher_prio_send_advert", i.higher_prio_send_advert);
    w.obool("lower_prio_no_advert", i.lower_prio_no_advert);
    w.obool("skip_check_adv_addr", i.skip_check_adv_addr);
    if i.debug != 0 {
        w.kv("debug", Some(i.debug));
    }
    notify(w, &i.notify);
    w.obool("smtp_alert", i.smtp_alert);
    w.s(
        "lvs_sync_daemon_interface",
        i.lvs_sync_daemon_interface.as_ref(),
    );
    garp(w, "", &i.garp);
    if let Some(a) = &i.authentication {
        w.open("authentication");
        match a.value.auth_type {
            Some(AuthType::Pass) => w.line("auth_type PASS"),
            Some(AuthType::Ah) => w.line("auth_type AH"),
            None => {}
        }
        w.s("auth_pass", a.value.auth_pass.as_ref());
        w.close();
    }
    w.raw(&i.extra);
    w.close();
}

fn timing(w: &mut W, t: &CheckTiming) {
    w.secs("delay_loop", t.delay_loop);
    w.kv("retry", t.retry);
    w.secs("delay_before_retry", t.delay_before_retry);
    w.secs("warmup", t.warmup);
    w.secs("connect_timeout", t.connect_timeout);
    w.obool("alpha", t.alpha);
}

fn connect(w: &mut W, c: &ConnectOpts) {
    w.kv("connect_ip", c.connect_ip);
    w.kv("connect_port", c.connect_port);
    w.kv("bindto", c.bindto);
    w.kv("bind_port", c.bind_port);
    w.s("bind_if", c.bind_if.as_ref());
    w.kv("fwmark", c.fwmark);
    w.secs("connect_timeout", c.connect_timeout);
}

fn virtual_server(w: &mut W, vs: &VirtualServer) {
    let key = match &vs.key {
        VsKey::Group(g) => format!("group {}", q(g)),
        k => k.to_string(),
    };
    w.open(&format!("virtual_server {key}"));
    if vs.lb_algo != "wlc" {
        w.line(&format!("lb_algo {}", q(&vs.lb_algo)));
    }
    if vs.lb_kind != LbKind::Nat {
        w.line(&format!("lb_kind {}", vs.lb_kind.name()));
    }
    if let Some(p) = vs.protocol {
        w.line(&format!("protocol {}", p.name()));
    }
    w.kv("persistence_timeout", vs.persistence_timeout);
    w.s(
        "persistence_granularity",
        vs.persistence_granularity.as_ref(),
    );
    w.s("persistence_engine", vs.persistence_engine.as_ref());
    w.flag("ha_suspend", vs.ha_suspend);
    w.flag("ops", vs.ops);
    w.flag("omega", vs.omega);
    w.flag("inhibit_on_failure", vs.inhibit_on_failure);
    w.s("virtualhost", vs.virtualhost.as_ref());
    if vs.quorum != 1 {
        w.kv("quorum", Some(vs.quorum));
    }
    if vs.hysteresis != 0 {
        w.kv("hysteresis", Some(vs.hysteresis));
    }
    w.cmd("quorum_up", vs.quorum_up.as_ref());
    w.cmd("quorum_down", vs.quorum_down.as_ref());
    if let Some(s) = &vs.sorry_server {
        w.line(&format!("sorry_server {} {}", s.addr.ip(), s.addr.port()));
        w.flag("sorry_server_inhibit", s.inhibit);
        if let Some(m) = s.lvs_method {
            w.line(&format!("sorry_server_lvs_method {}", m.name()));
        }
    }
    w.kv("nat_mask", vs.nat_mask);
    w.obool("smtp_alert", vs.smtp_alert);
    timing(w, &vs.timing);
    w.raw(&vs.extra);
    for rs in &vs.real_servers {
        w.open(&format!("real_server {} {}", rs.addr.ip(), rs.addr.port()));
        if rs.weight != 1 {
            w.kv("weight", Some(rs.weight));
        }
        w.kv("uthreshold", rs.uthreshold);
        w.kv("lthreshold", rs.lthreshold);
        w.flag("inhibit_on_failure", rs.inhibit_on_failure);
        w.cmd("notify_up", rs.notify_up.as_deref());
        w.cmd("notify_down", rs.notify_down.as_deref());
        w.s("virtualhost", rs.virtualhost.as_ref());
        w.obool("smtp_alert", rs.smtp_alert);
        if let Some(m) = rs.lvs_method {
            w.line(&format!("lvs_method {}", m.name()));
        }
        timing(w, &rs.timing);
        for c in &rs.checkers {
            checker(w, c);
        }
        w.raw(&rs.extra);
        w.close();
    }
    w.close();
}

fn checker(w: &mut W, c: &Checker) {
    w.open(c.kind.keyword());
    connect(w, c.connect_opts());
    timing(w, &c.timing);
    w.obool("log_all_failures", c.log_all_failures);
    match &c.kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
            for u in &h.urls {
                w.open("url");
                w.line(&format!("path {}", q(&u.path)));
                w.s("digest", u.digest.as_ref());
                if !u.status_code.is_empty() {
                    let codes: Vec<String> = u
                        .status_code
                        .iter()
                        .map(|(a, b)| {
                            if a == b {
                                a.to_string()
                            } else {
                                format!("{a}-{b}")
                            }
                        })
                        .collect();
                    w.line(&format!("status_code {}", codes.join(" ")));
                }
                w.s("virtualhost", u.virtualhost.as_ref());
                w.s("regex", u.regex.as_ref());
                w.flag("regex_no_match", u.regex_no_match);
                w.close();
            }
            w.s("virtualhost", h.virtualhost.as_ref());
            w.s("http_protocol", h.http_protocol.as_ref());
            w.flag("enable_sni", h.enable_sni);
            w.flag("fast_recovery", h.fast_recovery);
        }
        CheckerKind::Smtp(s) => {
            w.s("helo_name", s.helo_name.as_ref());
            for h in &s.hosts {
                w.open("host");
                connect(w, h);
                w.close();
            }
        }
        CheckerKind::Misc(m) => {
            w.cmd("misc_path", m.path.as_ref());
            w.secs("misc_timeout", m.timeout);
            w.flag("misc_dynamic", m.dynamic);
            user(w, "user", m.user.as_ref());
        }
        CheckerKind::Dns(d) => {
            w.s("type", d.query_type.as_ref());
            w.s("name", d.name.as_ref());
        }
        CheckerKind::Udp(u) => {
            w.s("payload", u.payload.as_ref());
            match &u.require_reply {
                Some(Some(r)) => w.line(&format!("require_reply {}", q(r))),
                Some(None) => w.line("require_reply"),
                None => {}
            }
            w.kv("min_reply_length", u.min_reply_length);
            w.kv("max_reply_length", u.max_reply_length);
        }
        CheckerKind::File(f) => {
            if let Some(t) = &f.track_file {
                w.line(&format!("track_file {}", q(&t.value)));
            }
            if let Some(wt) = f.weight {
                w.line(&format!(
                    "weight {wt}{}",
                    if f.reverse { " reverse" } else { "" }
                ));
            }
            w.flag("dynamic", f.dynamic);
        }
        CheckerKind::Tcp | CheckerKind::Ping => {}
    }
    w.raw(&c.extra);
    w.close();
}
