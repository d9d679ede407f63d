//! Parses the project's full test configuration (every keyword the model interprets) and checks
//! the values that come out.

#![allow(clippy::unwrap_used, clippy::panic)] // tests may unwrap
#![allow(
    clippy::unnecessary_wraps,
    clippy::too_many_lines,
    clippy::many_single_char_names
)] // long assertion lists

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use confparse::model::*;

fn full() -> confparse::Parsed {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/full.conf");
    confparse::parse_file(&path, &confparse::Options::default()).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cmd(words: &[&str]) -> Option<Command> {
    Some(Command::new(
        words.iter().map(|s| (*s).to_owned()).collect(),
    ))
}

#[test]
fn only_the_expected_findings() {
    let p = full();
    let codes: Vec<(&str, u32)> = p
        .diagnostics
        .iter()
        .map(|d| (d.code, d.span.line))
        .collect();
    let text = p.render();
    assert_eq!(codes.len(), 3, "{text}");
    assert!(text.contains("'or' in routes is deprecated"), "{text}");
    assert!(codes.iter().any(|(c, _)| *c == "deprecated"), "{text}");
    assert!(text.contains("'nb_get_retry' is deprecated"), "{text}");
    assert!(
        text.contains("'lvs_sync_daemon_interface' is deprecated"),
        "{text}"
    );
    assert_eq!(
        p.sources.files().len(),
        3,
        "full.conf and the two included files"
    );
}

#[test]
fn global_defs() {
    let g = full().config.global;
    assert_eq!(g.router_id.as_deref(), Some("lab-r1"));
    assert_eq!(
        g.notification_email,
        ["ops@example.net", "noc@example.net", "oncall@example.net"]
    );
    assert_eq!(
        g.notification_email_from.as_deref(),
        Some("kad@example.net")
    );
    assert_eq!(
        g.smtp_server,
        Some(SmtpServer {
            host: "192.0.2.25".into(),
            port: 2525
        })
    );
    assert_eq!(g.smtp_connect_timeout, Duration::from_secs(12));
    assert_eq!(g.smtp_helo_name.as_deref(), Some("r1.example.net"));
    assert_eq!(
        (g.smtp_alert, g.smtp_alert_vrrp, g.smtp_alert_checker),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!(
        g.smtp_security,
        SmtpSecurity {
            starttls: Some(StartTls::Opportunistic),
            tls_ca: Some("/etc/keepalived/smtp-ca.pem".into()),
            auth_user: Some("alerts".into()),
            auth_password_file: Some("/etc/keepalived/smtp.secret".into()),
            ..SmtpSecurity::default()
        }
    );
    assert!(g.lvs_flush);
    let d = g.lvs_sync_daemon.unwrap();
    assert_eq!(
        (d.interface.as_str(), d.instance.as_str()),
        ("lan0", "VI_ONE")
    );
    assert_eq!(
        (d.id, d.maxlen, d.port, d.ttl, d.group),
        (
            Some(7),
            Some(1400),
            Some(8848),
            Some(2),
            Some(ip("239.1.2.3"))
        )
    );
    assert_eq!(g.vrrp_mcast_group4.to_string(), "224.0.0.19");
    assert_eq!(g.vrrp_mcast_group6.to_string(), "ff02::13");
    assert_eq!(g.vrrp_version, 3);
    assert!(g.vrrp_check_unicast_src && g.vrrp_skip_check_adv_addr);
    assert!(g.vrrp_higher_prio_send_advert && g.vrrp_lower_prio_no_advert);
    assert_eq!(g.garp.master_delay, Some(Duration::from_secs(3)));
    assert_eq!(g.garp.master_repeat, Some(4));
    assert_eq!(g.garp.master_refresh, Some(Duration::from_secs(60)));
    assert_eq!(g.garp.master_refresh_repeat, Some(2));
    assert_eq!(g.garp.lower_prio_delay, Some(Duration::from_millis(1500)));
    assert_eq!(g.garp.lower_prio_repeat, Some(3));
    assert_eq!(g.vrrp_garp_interval, Some(Duration::from_millis(2)));
    assert_eq!(g.vrrp_gna_interval, Some(Duration::from_millis(3)));
    assert_eq!(
        g.script_user,
        Some(ScriptUser {
            user: "nobody".into(),
            group: Some("nogroup".into())
        })
    );
    assert!(g.enable_script_security);
    let f = g.notify_fifo.unwrap();
    assert_eq!(f.path, "/run/ka.fifo");
    assert_eq!(f.script, cmd(&["/usr/local/bin/fifo-reader", "--all"]));
    assert_eq!(g.vrrp_notify_fifo.unwrap().script, None);
    assert_eq!(
        g.lvs_notify_fifo.unwrap().script,
        cmd(&["/usr/local/bin/lvs-reader"])
    );
    assert!(g.enable_traps && g.linkbeat_use_polling && g.dynamic_interfaces);
    assert_eq!(g.default_interface.as_deref(), Some("lan9"));
}

#[test]
fn static_addresses_routes_rules() {
    let c = full().config;
    let a = &c.static_ipaddress[0];
    assert_eq!(
        a.prefix,
        IpPrefix {
            addr: ip("192.0.2.200"),
            len: 24
        }
    );
    assert_eq!(a.dev.as_deref(), Some("lan0"));
    assert_eq!(a.scope, Some(Scope::Global));
    assert_eq!(a.broadcast.as_deref(), Some("192.0.2.255"));
    assert_eq!(a.label.as_deref(), Some("lan0:st"));
    let b = &c.static_ipaddress[1];
    assert!(b.no_track);
    assert_eq!(b.options, ["-nodad"]);
    let r = &c.static_routes[0];
    assert_eq!(r.dest, IpPrefix::parse("10.10.0.0/16"));
    assert_eq!(
        (r.via, r.dev.as_deref(), r.table.as_deref(), r.metric),
        (Some(ip("192.0.2.1")), Some("lan0"), Some("100"), Some(20))
    );
    assert_eq!(c.static_routes[1].kind.as_deref(), Some("blackhole"));
    let r = &c.static_routes[2];
    assert_eq!(
        (r.or, r.src, r.scope),
        (
            Some(ip("192.0.2.2")),
            Some(ip("192.0.2.200")),
            Some(Scope::Link)
        )
    );
    assert_eq!(r.options, ["onlink"]);
    assert_eq!(
        c.static_rules[0].words,
        ["from", "192.0.2.0/24", "table", "100", "priority", "50"]
    );
}

#[test]
fn scripts_and_track_files() {
    let c = full().config;
    let s = &c.vrrp_scripts[0];
    assert_eq!(s.name, "chk_web");
    assert_eq!(
        s.script,
        cmd(&["/usr/local/bin/check-web", "--port", "80", "with space"])
    );
    assert_eq!(
        (s.interval, s.timeout),
        (Duration::from_secs(2), Some(Duration::from_millis(1500)))
    );
    assert_eq!(
        (s.weight, s.weight_reverse, s.rise, s.fall, s.init_fail),
        (-20, true, 3, 2, true)
    );
    assert_eq!(
        s.user,
        Some(ScriptUser {
            user: "www-data".into(),
            group: Some("www-data".into())
        })
    );
    let z = &c.vrrp_scripts[1];
    assert_eq!(
        (z.name.as_str(), z.interval, z.weight, z.rise),
        ("chk_zero", Duration::from_secs(1), 0, 1)
    );
    let t = &c.track_files[0];
    assert_eq!(
        (t.file.as_deref(), t.weight, t.reverse),
        (Some("/run/maint.state"), -10, true)
    );
    assert_eq!(
        t.init_file,
        Some(InitFile {
            value: 5,
            overwrite: true
        })
    );
}

#[test]
fn instances() {
    let c = full().config;
    let i = &c.instances[0];
    assert_eq!(i.name, "VI_ONE");
    assert_eq!(i.state, InitialState::Master);
    assert_eq!(i.interface.as_ref().map(|s| s.value.as_str()), Some("lan0"));
    assert_eq!(i.use_vmac, Some(Some("vrrp.51".into())));
    assert!(i.vmac_xmit_base && i.dont_track_primary && !i.native_ipv6);
    assert_eq!(i.track_interface.len(), 2);
    assert_eq!(
        (i.track_interface[0].weight, i.track_interface[1].weight),
        (Some(-30), None)
    );
    assert_eq!(i.track_script[1].weight, Some(5));
    assert_eq!(i.track_file[0].name, "maint");
    assert_eq!(
        i.unicast_src_ip.as_ref().map(|s| s.value),
        Some(ip("192.0.2.10"))
    );
    let peers = &i.unicast_peer.as_ref().unwrap().value;
    assert_eq!(peers.len(), 2);
    assert_eq!((peers[1].min_ttl, peers[1].max_ttl), (Some(250), Some(255)));
    assert_eq!(i.unicast_ttl, Some(255));
    assert!(i.unicast_fault_no_peer && i.check_unicast_src);
    assert_eq!(i.virtual_router_id.as_ref().map(|v| v.value), Some(51));
    assert_eq!(i.priority(), 150);
    assert_eq!(i.advert_int, Duration::from_millis(500));
    assert_eq!(i.version, Some(3));
    assert_eq!(
        i.virtual_ipaddress[0].prefix,
        IpPrefix {
            addr: ip("198.51.100.1"),
            len: 24
        }
    );
    assert_eq!(i.virtual_ipaddress[0].label.as_deref(), Some("lan0:vip"));
    assert_eq!(
        i.virtual_ipaddress_excluded[0].prefix.addr,
        ip("198.51.100.2")
    );
    assert_eq!(i.virtual_routes[0].via, Some(ip("198.51.100.254")));
    assert_eq!(i.virtual_rules[0].words[0], "from");
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert_eq!(i.nopreempt, None);
    assert_eq!(
        (i.accept, i.strict_mode, i.higher_prio_send_advert),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!(
        (i.lower_prio_no_advert, i.skip_check_adv_addr, i.debug),
        (Some(false), Some(true), 2)
    );
    assert_eq!(i.notify.master, cmd(&["/etc/ka/notify.sh", "master"]));
    let mut as_backup = cmd(&["/etc/ka/notify.sh"]).unwrap();
    as_backup.user = Some(confparse::model::ScriptUser {
        user: "backup".into(),
        group: None,
    });
    assert_eq!(
        i.notify.backup.as_ref().map(|c| (&c.args, &c.user)),
        Some((&as_backup.args, &as_backup.user)),
        "words after an unquoted script are USER [GROUP], as in keepalived 2.x"
    );
    assert_eq!(i.notify.fault, cmd(&["/etc/ka/notify.sh", "fault"]));
    assert_eq!(i.notify.stop, cmd(&["/etc/ka/notify.sh", "stop"]));
    assert_eq!(i.notify.deleted, cmd(&["/etc/ka/notify.sh", "deleted"]));
    assert_eq!(
        i.notify.master_rx_lower_pri,
        cmd(&["/etc/ka/notify.sh", "lower"])
    );
    assert_eq!(i.notify.generic, cmd(&["/etc/ka/notify-all.sh"]));
    assert!(i.notify.priority_changes);
    assert_eq!(i.smtp_alert, Some(true));
    assert_eq!(i.garp.master_delay, Some(Duration::from_secs(2)));
    assert_eq!(i.garp.lower_prio_repeat, Some(1));
    assert_eq!(i.version(&c.global), 3);

    let two = &c.instances[1];
    assert!(two.native_ipv6 && two.is_ipv6());
    assert!(two.nopreempt.is_some());
    assert_eq!(
        two.mcast_src_ip.as_ref().map(|s| s.value),
        Some(ip("fe80::1"))
    );
    assert_eq!(
        (two.priority(), two.advert_int, two.version(&c.global)),
        (90, Duration::from_secs(2), 2)
    );

    let three = &c.instances[2];
    let auth = &three.authentication.as_ref().unwrap().value;
    assert_eq!(
        (auth.auth_type, auth.auth_pass.as_deref()),
        (Some(AuthType::Ah), Some("secret"))
    );
    assert_eq!(three.priority(), 100, "keepalived's default priority");
    assert_eq!(three.preempt_delay, Duration::from_secs(30));
    assert_eq!(three.lvs_sync_daemon_interface.as_deref(), Some("lan0"));
}

#[test]
fn sync_group_and_ssl() {
    let c = full().config;
    let g = &c.sync_groups[0];
    let members: Vec<&str> = g.group.iter().map(|m| m.value.as_str()).collect();
    assert_eq!(members, ["VI_ONE", "VI_TWO", "VI_THREE"]);
    assert_eq!(g.notify.master, cmd(&["/etc/ka/group.sh", "master"]));
    assert_eq!(g.notify.generic, cmd(&["/etc/ka/group-all.sh"]));
    assert!(g.global_tracking && g.sync_group_tracking_weight);
    assert_eq!(g.smtp_alert, Some(true));
    assert_eq!(
        (
            g.track_interface.len(),
            g.track_script.len(),
            g.track_file.len()
        ),
        (1, 1, 1)
    );
    let s = c.ssl.unwrap();
    assert_eq!(
        (s.password.as_deref(), s.key.as_deref()),
        (Some("s3cret"), Some("/etc/ka/key.pem"))
    );
}

#[test]
fn virtual_servers() {
    let c = full().config;
    let g = &c.virtual_server_groups[0];
    assert_eq!(g.entries.len(), 4);
    assert!(matches!(
        g.entries[0],
        VsgEntry::Address {
            last: Some(110),
            port: 80,
            ..
        }
    ));
    assert!(matches!(
        g.entries[1],
        VsgEntry::Address {
            last: Some(0x1f),
            port: 443,
            ..
        }
    ));
    assert!(matches!(g.entries[3], VsgEntry::Fwmark { mark: 7, .. }));

    // Order: the two included files come where the include line is.
    let keys: Vec<String> = c
        .virtual_servers
        .iter()
        .map(|v| v.key.to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "2001:db8::80 443",
            "192.0.2.180 80",
            "group VSG_WEB",
            "fwmark 7"
        ]
    );
    assert_eq!(c.virtual_servers[0].protocol, Some(Protocol::Sctp));
    let seq: Vec<SocketAddr> = c.virtual_servers[1]
        .real_servers
        .iter()
        .map(|r| r.addr)
        .collect();
    assert_eq!(seq.len(), 3);
    assert_eq!(seq[2], "192.0.2.183:80".parse().unwrap());

    let vs = &c.virtual_servers[2];
    assert_eq!(
        (vs.lb_algo.as_str(), vs.lb_kind, vs.protocol),
        ("wrr", LbKind::Tun, Some(Protocol::Udp))
    );
    assert_eq!(vs.persistence_timeout, Some(300));
    assert_eq!(vs.persistence_granularity.as_deref(), Some("255.255.255.0"));
    assert_eq!(vs.persistence_engine.as_deref(), Some("sip"));
    assert!(vs.ha_suspend && vs.ops && vs.omega && vs.inhibit_on_failure);
    assert_eq!(vs.virtualhost.as_deref(), Some("www.example.net"));
    assert_eq!((vs.quorum, vs.hysteresis), (2, 1));
    assert_eq!(vs.quorum_up, cmd(&["/etc/ka/quorum.sh", "up"]));
    let sorry = vs.sorry_server.as_ref().unwrap();
    assert_eq!(
        (sorry.addr, sorry.inhibit, sorry.lvs_method),
        ("192.0.2.250:80".parse().unwrap(), true, Some(LbKind::Nat))
    );
    assert_eq!(vs.smtp_alert, Some(false));
    assert_eq!(vs.timing.delay_loop, Some(Interval::from_secs(6)));
    assert_eq!((vs.timing.retry, vs.timing.alpha), (Some(4), Some(true)));
    assert_eq!(vs.timing.connect_timeout, Some(Interval::from_secs(4)));

    let rs = &vs.real_servers[0];
    assert_eq!(
        (
            rs.weight,
            rs.uthreshold,
            rs.lthreshold,
            rs.inhibit_on_failure
        ),
        (3, Some(1000), Some(10), true)
    );
    assert_eq!(
        rs.notify_down.as_deref(),
        cmd(&["/etc/ka/rs.sh", "down"]).as_ref()
    );
    assert_eq!(
        (rs.virtualhost.as_deref(), rs.smtp_alert, rs.lvs_method),
        (Some("rs1.example.net"), Some(true), Some(LbKind::Dr))
    );
    assert_eq!(
        (rs.timing.warmup, rs.timing.alpha),
        (Some(Interval::ZERO), Some(false))
    );
    let kinds: Vec<&str> = rs.checkers.iter().map(|c| c.kind.keyword()).collect();
    assert_eq!(
        kinds,
        [
            "HTTP_GET",
            "SSL_GET",
            "TCP_CHECK",
            "SMTP_CHECK",
            "MISC_CHECK",
            "DNS_CHECK",
            "UDP_CHECK",
            "PING_CHECK",
            "FILE_CHECK"
        ]
    );

    let http = &rs.checkers[0];
    let CheckerKind::Http(h) = &http.kind else {
        panic!("not HTTP")
    };
    assert_eq!(h.urls.len(), 2);
    let u = &h.urls[0];
    assert_eq!(&*u.path, "/health");
    assert_eq!(
        u.digest.as_deref(),
        Some("9b3a0c85a887a256d6939da88aabd8cd")
    );
    assert_eq!(*u.status_code, [(200, 200), (301, 303)]);
    assert_eq!(
        (
            u.virtualhost.as_deref(),
            u.regex.as_deref(),
            u.regex_no_match
        ),
        (Some("h.example.net"), Some("^ok$"), true)
    );
    assert!(
        h.urls[1].status_code.is_empty(),
        "empty means the default 200-299"
    );
    assert_eq!(
        (
            h.virtualhost.as_deref(),
            h.http_protocol.as_deref(),
            h.enable_sni,
            h.fast_recovery
        ),
        (Some("c.example.net"), Some("1.1"), true, true)
    );
    let k = http.connect_opts();
    assert_eq!(
        (k.connect_ip, k.connect_port, k.bindto, k.bind_port),
        (
            Some(ip("192.0.2.61")),
            Some(8080),
            Some(ip("192.0.2.10")),
            Some(40000)
        )
    );
    assert_eq!((k.bind_if.as_deref(), k.fwmark), (Some("lan0"), Some(3)));
    assert_eq!(
        http.timing.retry,
        Some(3),
        "nb_get_retry is the same field as retry; the later one wins"
    );
    assert_eq!(http.timing.delay_loop, Some(Interval::from_secs(10)));
    assert_eq!(http.log_all_failures, Some(true));
    // Inheritance: checker, then real server, then virtual server, then keepalived's defaults.
    let eff = http
        .timing
        .inherit(&rs.timing)
        .inherit(&vs.timing)
        .resolve();
    assert_eq!(eff.connect_timeout, Some(Interval::from_secs(3)));
    let tcp = &rs.checkers[2];
    let eff = tcp.timing.inherit(&rs.timing).inherit(&vs.timing).resolve();
    assert_eq!(
        (eff.delay_loop, eff.retry, eff.warmup),
        (Some(Interval::from_secs(7)), Some(1), Some(Interval::ZERO))
    );

    let CheckerKind::Smtp(s) = &rs.checkers[3].kind else {
        panic!("not SMTP")
    };
    assert_eq!(s.helo_name.as_deref(), Some("probe.example.net"));
    assert_eq!(s.hosts.len(), 2);
    assert_eq!(
        (s.hosts[0].connect_port, s.hosts[0].connect_timeout),
        (Some(2525), Some(Duration::from_secs(4)))
    );
    assert_eq!(
        rs.checkers[3].timing.connect_timeout,
        Some(Interval::from_secs(9))
    );
    let CheckerKind::Misc(m) = &rs.checkers[4].kind else {
        panic!("not MISC")
    };
    assert_eq!(m.path, cmd(&["/etc/ka/misc.sh", "192.0.2.51"]));
    assert_eq!((m.timeout, m.dynamic), (Some(Duration::from_secs(5)), true));
    let CheckerKind::Dns(d) = &rs.checkers[5].kind else {
        panic!("not DNS")
    };
    assert_eq!(
        (d.query_type.as_deref(), d.name.as_deref()),
        (Some("AAAA"), Some("www.example.net"))
    );
    let CheckerKind::Udp(u) = &rs.checkers[6].kind else {
        panic!("not UDP")
    };
    assert_eq!(u.require_reply, Some(Some("0a0bXX".into())));
    assert_eq!(
        (u.min_reply_length, u.max_reply_length),
        (Some(2), Some(200))
    );
    let CheckerKind::File(f) = &rs.checkers[8].kind else {
        panic!("not FILE")
    };
    assert_eq!((f.weight, f.reverse, f.dynamic), (Some(5), true, true));

    assert!(vs.real_servers[1].checkers.is_empty());
    let fw = &c.virtual_servers[3];
    assert_eq!(fw.key, VsKey::Fwmark(7));
    assert_eq!(
        fw.real_servers[0].addr.port(),
        0,
        "no port: 0, as keepalived does for fwmark services"
    );
}

#[test]
fn printed_form_reads_back_the_same() {
    let p = full();
    let text = confparse::to_conf(&p.config);
    let again = confparse::parse_str(&text, "printed.conf");
    assert_eq!(again.config, p.config, "{text}");
    // The printed form is a fixed point.
    assert_eq!(confparse::to_conf(&again.config), text);
}
