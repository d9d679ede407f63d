//! Block handlers: statements into the typed model.

use std::net::{IpAddr, SocketAddr};

use crate::diag::Diagnostic;
#[allow(clippy::wildcard_imports)] // every model type is used here
use crate::model::*;
use crate::parser::{Next, Parser, Stmt, parse_ip, take_from};
use crate::span::Spanned;

/// Root keywords.
#[rustfmt::skip]
pub(crate) const ROOT_KW: &[&str] = &[
    "global_defs", "linkbeat_use_polling", "static_ipaddress", "static_routes", "static_rules",
    "vrrp_script", "track_file", "vrrp_track_file", "vrrp_sync_group", "vrrp_instance", "SSL",
    "virtual_server_group", "virtual_server",
];
/// Root keywords keepalived 2.x knows that the model keeps verbatim.
#[rustfmt::skip]
const ROOT_RAW: &[&str] = &[
    "garp_group", "vrrp_track_process", "track_process", "bfd_instance", "static_track_group",
    "net_namespace", "net_namespace_ipvs", "namespace_with_ipsets", "use_pid_dir", "instance",
];

#[rustfmt::skip]
pub(crate) const GLOBAL_KW: &[&str] = &[
    "router_id", "notification_email", "notification_email_from", "smtp_server",
    "smtp_connect_timeout", "smtp_helo_name", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker",
    "lvs_id", "lvs_sync_daemon", "lvs_flush", "vrrp_mcast_group4", "vrrp_mcast_group6",
    "vrrp_version", "vrrp_strict", "vrrp_check_unicast_src", "vrrp_skip_check_adv_addr",
    "vrrp_higher_prio_send_advert", "vrrp_lower_prio_no_advert", "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat", "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat", "vrrp_garp_interval",
    "vrrp_gna_interval", "script_user", "enable_script_security", "notify_fifo",
    "notify_fifo_script", "vrrp_notify_fifo", "vrrp_notify_fifo_script", "lvs_notify_fifo",
    "lvs_notify_fifo_script", "enable_traps", "linkbeat_use_polling", "default_interface",
    "dynamic_interfaces", "plugin_dir",
    // keepalived-rs extensions (keepalived rejects them): STARTTLS and AUTH for alerts.
    "smtp_starttls", "smtp_tls_ca", "smtp_tls_insecure", "smtp_auth_user", "smtp_auth_password",
    "smtp_auth_password_file", "smtp_auth_plaintext",
];
#[rustfmt::skip]
const GLOBAL_RAW: &[&str] = &[
    "max_auto_priority", "min_auto_priority_delay", "vrrp_iptables", "vrrp_ipsets", "nftables",
    "nftables_priority", "nftables_ifindex", "nftables_counters", "vrrp_no_swap", "vrrp_priority",
    "vrrp_rt_priority", "vrrp_cpu_affinity", "vrrp_rlimit_rttime", "checker_no_swap",
    "checker_priority", "checker_rt_priority", "checker_cpu_affinity", "checker_rlimit_rttime",
    "bfd_priority", "bfd_rt_priority", "bfd_no_swap", "bfd_cpu_affinity", "bfd_rlimit_rttime",
    "snmp_socket", "enable_snmp_vrrp", "enable_snmp_keepalived", "enable_snmp_checker",
    "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_dbus", "dbus_service_name",
    "net_namespace", "net_namespace_ipvs", "namespace_with_ipsets", "instance", "use_pid_dir",
    "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force", "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force", "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force", "vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier",
    "vrrp_startup_delay", "vrrp_delay_after_boot", "log_unknown_vrids", "umask", "random_seed",
    "child_wait_time", "startup_script", "startup_script_timeout", "shutdown_script",
    "shutdown_script_timeout", "reload_check_config", "reload_time_file", "reload_repeat",
    "reload_file", "config_save_dir", "tmp_config_directory", "include_check", "data_use_instance",
    "state_dump_file", "stats_dump_file", "json_dump_file", "json_version",
    "vrrp_owner_ignore_adverts", "vrrp_min_garp", "vrrp_garp_extra_if", "lvs_timeouts",
    "lvs_flush_on_stop", "checker_log_all_failures", "no_email_faults", "vmac_prefix",
    "vmac_addr_prefix", "process_names", "process_name", "vrrp_process_name",
    "checker_process_name", "bfd_process_name", "fifo_write_vrrp_states_on_reload",
    "disable_local_igmp", "linkbeat_interfaces", "vrrp_notify_priority_changes", "rs_init_notifies",
    "no_checker_emails", "vrrp_track_process", "vrrp_mcast_group4_ttl", "vrrp_unicast_ttl",
    "vrrp_rx_buf_size",
];

#[rustfmt::skip]
pub(crate) const SCRIPT_KW: &[&str] = &[
    "script", "interval", "timeout", "weight", "rise", "fall", "user", "init_fail",
];
pub(crate) const TRACK_FILE_KW: &[&str] = &["file", "weight", "init_file"];
#[rustfmt::skip]
pub(crate) const SYNC_KW: &[&str] = &[
    "group", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify",
    "notify_priority_changes", "smtp_alert", "global_tracking", "sync_group_tracking_weight",
    "track_interface", "track_script", "track_file",
];
const SYNC_RAW: &[&str] = &["track_process", "track_bfd"];
#[rustfmt::skip]
pub(crate) const INSTANCE_KW: &[&str] = &[
    "state", "interface", "use_vmac", "vmac_xmit_base", "native_ipv6", "dont_track_primary",
    "track_interface", "track_script", "track_file", "mcast_src_ip", "mcast_dst_ip", "unicast_src_ip",
    "unicast_peer", "unicast_ttl", "unicast_fault_no_peer", "check_unicast_src",
    "virtual_router_id", "priority", "advert_int", "version", "virtual_ipaddress",
    "virtual_ipaddress_excluded", "virtual_routes", "virtual_rules", "nopreempt", "preempt",
    "preempt_delay", "accept", "no_accept", "strict_mode", "higher_prio_send_advert",
    "lower_prio_no_advert", "skip_check_adv_addr", "debug", "notify_master", "notify_backup",
    "notify_fault", "notify_stop", "notify_deleted", "notify_master_rx_lower_pri", "notify",
    "notify_priority_changes", "smtp_alert", "lvs_sync_daemon_interface", "garp_master_delay",
    "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat",
    "garp_lower_prio_delay", "garp_lower_prio_repeat", "authentication",
];
#[rustfmt::skip]
const INSTANCE_RAW: &[&str] = &[
    "track_process", "track_bfd", "use_ipvlan", "use_vmac_addr",
    "promote_secondaries", "kernel_rx_buf_size", "down_timer_adverts", "old_unicast_checksum",
    "track_src_ip", "garp_extra_if", "no_virtual_ipaddress", "linkbeat_use_polling",
    "vrrp_garp_extra_if", "unicast_chksum_compat",
];
#[rustfmt::skip]
pub(crate) const VS_KW: &[&str] = &[
    "delay_loop", "lb_algo", "lvs_sched", "lb_kind", "lvs_method", "protocol",
    "persistence_timeout", "persistence_granularity", "persistence_engine", "ha_suspend", "ops",
    "alpha", "omega", "inhibit_on_failure", "virtualhost", "quorum", "hysteresis", "quorum_up",
    "quorum_down", "sorry_server", "sorry_server_inhibit", "sorry_server_lvs_method", "nat_mask",
    "smtp_alert", "retry", "delay_before_retry", "warmup", "connect_timeout", "real_server",
];
#[rustfmt::skip]
const VS_RAW: &[&str] = &[
    "ip_family", "sh-port", "sh-fallback", "mh-port", "mh-fallback", "flag-1", "flag-2", "flag-3",
    "snmp_name", "quorum_up_script", "rs_init_notifies",
];
#[rustfmt::skip]
pub(crate) const RS_KW: &[&str] = &[
    "weight", "uthreshold", "lthreshold", "inhibit_on_failure", "notify_up", "notify_down",
    "virtualhost", "smtp_alert", "lvs_method", "delay_loop", "retry", "delay_before_retry",
    "warmup", "connect_timeout", "alpha", "TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK",
    "MISC_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK",
];
#[rustfmt::skip]
const RS_RAW: &[&str] = &[
    "BFD_CHECK", "tunnel_type", "tunnel_port", "tunnel_nocsum", "tunnel_csum", "tunnel_remcsum",
];
#[rustfmt::skip]
pub(crate) const CONNECT_KW: &[&str] = &[
    "connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "fwmark", "connect_timeout",
];
#[rustfmt::skip]
pub(crate) const TIMING_KW: &[&str] = &[
    "warmup", "retry", "nb_get_retry", "delay_before_retry", "delay_loop", "alpha",
    "log_all_failures",
];
#[rustfmt::skip]
pub(crate) const HTTP_KW: &[&str] = &[
    "url", "virtualhost", "http_protocol", "enable_sni", "fast_recovery",
];
const HTTP_RAW: &[&str] = &["tls_compliant", "sni_name", "use_sni"];
#[rustfmt::skip]
pub(crate) const URL_KW: &[&str] = &[
    "path", "digest", "status_code", "virtualhost", "regex", "regex_no_match",
];
#[rustfmt::skip]
const URL_RAW: &[&str] = &[
    "regex_options", "regex_stack", "regex_min_offset", "regex_max_offset",
];
pub(crate) const SMTP_KW: &[&str] = &["helo_name", "host"];
pub(crate) const MISC_KW: &[&str] = &["misc_path", "misc_timeout", "misc_dynamic", "user"];
pub(crate) const DNS_KW: &[&str] = &["type", "name"];
#[rustfmt::skip]
pub(crate) const UDP_KW: &[&str] = &[
    "payload", "require_reply", "min_reply_length", "max_reply_length",
];
pub(crate) const FILE_KW: &[&str] = &["track_file", "weight", "dynamic"];
pub(crate) const SSL_KW: &[&str] = &["password", "ca", "certificate", "key"];
pub(crate) const AUTH_KW: &[&str] = &["auth_type", "auth_pass"];

/// For a keyword used in the wrong place: where it does belong.
pub(crate) fn where_known(kw: &str) -> Option<&'static str> {
    let tables: &[(&[&str], &str)] = &[
        (ROOT_KW, "the top level"),
        (GLOBAL_KW, "global_defs"),
        (INSTANCE_KW, "vrrp_instance"),
        (SYNC_KW, "vrrp_sync_group"),
        (SCRIPT_KW, "vrrp_script"),
        (VS_KW, "virtual_server"),
        (RS_KW, "real_server"),
        (CONNECT_KW, "a checker block"),
        (TIMING_KW, "a checker block"),
        (HTTP_KW, "HTTP_GET / SSL_GET"),
        (URL_KW, "url { } of HTTP_GET / SSL_GET"),
        (AUTH_KW, "authentication { } of vrrp_instance"),
    ];
    tables
        .iter()
        .find(|(kws, _)| kws.contains(&kw))
        .map(|(_, w)| *w)
}

fn concat(a: &[&'static str], b: &[&'static str]) -> Vec<&'static str> {
    a.iter().chain(b).copied().collect()
}

/// A name argument for blocks like `vrrp_instance NAME`.
fn block_name(p: &mut Parser<'_>, st: &Stmt) -> String {
    if let Some(t) = st.args.first() {
        if st.args.len() > 1 {
            p.warn(
                "extra-arguments",
                st.args[1].span,
                format!("'{}' takes one name; the rest is ignored", st.name()),
            );
        }
        t.text.clone()
    } else {
        p.error(
            "missing-name",
            st.kw.span,
            format!("'{}' needs a name", st.name()),
        );
        String::new()
    }
}

/// Parses the whole input.
pub(crate) fn config(p: &mut Parser<'_>) -> Config {
    let mut c = Config::default();
    let mut global_seen = false;
    loop {
        let st = match p.next() {
            Next::Eof => break,
            Next::Close(sp) => {
                p.push(
                    Diagnostic::error("extra-brace", sp, "extra '}' at the top level; ignored")
                        .with_help("a block was closed twice, or a '{' is missing"),
                );
                continue;
            }
            Next::Stmt(st) => st,
        };
        match st.name() {
            "global_defs" => {
                if global_seen {
                    p.warn(
                        "duplicate-block",
                        st.kw.span,
                        "second global_defs block; its settings are merged into the first",
                    );
                }
                global_seen = true;
                if p.open(&st) {
                    global_defs(p, &st, &mut c.global);
                }
            }
            "linkbeat_use_polling" => c.global.linkbeat_use_polling = p.flag(&st),
            "static_ipaddress" => {
                if p.open(&st) {
                    p.lines(&st, |p, l| c.static_ipaddress.extend(address(p, &l)));
                }
            }
            "static_routes" => {
                if p.open(&st) {
                    p.lines(&st, |p, l| c.static_routes.extend(route(p, &l)));
                }
            }
            "static_rules" => {
                if p.open(&st) {
                    p.lines(&st, |_, l| {
                        c.static_rules.push(Rule {
                            words: l.words(),
                            span: l.kw.span,
                        });
                    });
                }
            }
            "vrrp_script" => {
                let mut s = VrrpScript {
                    name: block_name(p, &st),
                    span: st.kw.span,
                    ..VrrpScript::default()
                };
                if p.open(&st) {
                    vrrp_script(p, &st, &mut s);
                }
                c.vrrp_scripts.push(s);
            }
            "track_file" | "vrrp_track_file" => {
                if st.name() == "vrrp_track_file" {
                    p.warn(
                        "deprecated",
                        st.kw.span,
                        "'vrrp_track_file' is deprecated; use 'track_file'",
                    );
                }
                let mut t = TrackFile {
                    name: block_name(p, &st),
                    span: st.kw.span,
                    ..TrackFile::default()
                };
                if p.open(&st) {
                    track_file(p, &st, &mut t);
                }
                c.track_files.push(t);
            }
            "vrrp_sync_group" => {
                let mut g = SyncGroup {
                    name: block_name(p, &st),
                    span: st.kw.span,
                    ..SyncGroup::default()
                };
                if p.open(&st) {
                    sync_group(p, &st, &mut g);
                }
                c.sync_groups.push(g);
            }
            "vrrp_instance" => {
                let mut i = VrrpInstance {
                    name: block_name(p, &st),
                    span: st.kw.span,
                    ..VrrpInstance::default()
                };
                if p.open(&st) {
                    instance(p, &st, &mut i);
                }
                c.instances.push(i);
            }
            "SSL" => {
                let mut s = SslConfig::default();
                if p.open(&st) {
                    ssl(p, &st, &mut s);
                }
                c.ssl = Some(s);
            }
            "virtual_server_group" => {
                let mut g = VirtualServerGroup {
                    name: block_name(p, &st),
                    span: st.kw.span,
                    entries: Vec::new(),
                };
                if p.open(&st) {
                    p.lines(&st, |p, l| g.entries.extend(vsg_entry(p, &l)));
                }
                c.virtual_server_groups.push(g);
            }
            "virtual_server" => {
                if let Some(vs) = virtual_server(p, &st) {
                    c.virtual_servers.push(vs);
                }
            }
            n if ROOT_RAW.contains(&n) => p.keep_raw(&st, &mut c.extra),
            _ => p.unknown(&st, "the top level", &concat(ROOT_KW, ROOT_RAW)),
        }
    }
    c
}

fn fifo(p: &mut Parser<'_>, st: &Stmt, slot: &mut Option<NotifyFifo>) {
    if let Some(path) = st.args.first() {
        let script = slot.as_mut().and_then(|f| f.script.take());
        *slot = Some(NotifyFifo {
            path: path.text.clone(),
            script,
        });
        if st.args.len() > 1 {
            p.warn(
                "not-implemented",
                st.args[1].span,
                "the FIFO owner (user/group) is not implemented by keepalived-rs; ignored",
            );
        }
    } else {
        p.error(
            "missing-argument",
            st.kw.span,
            format!("'{}' needs a path", st.name()),
        );
    }
}

fn fifo_script(p: &mut Parser<'_>, st: &Stmt, slot: &mut Option<NotifyFifo>) {
    let Some(cmd) = p.command(st) else { return };
    match slot {
        Some(f) => f.script = Some(cmd),
        None => p.error(
            "order",
            st.kw.span,
            format!(
                "'{}' must come after the FIFO it reads ('{}')",
                st.name(),
                st.name().trim_end_matches("_script")
            ),
        ),
    }
}

fn global_defs(p: &mut Parser<'_>, owner: &Stmt, g: &mut GlobalDefs) {
    // Where each SMTP extension keyword was written, for the checks across them.
    let mut sec: Vec<(&'static str, crate::span::Span)> = Vec::new();
    p.each(owner, |p, st| match st.name() {
        "router_id" => g.router_id = p.string(&st),
        "notification_email" => {
            if p.open(&st) {
                p.lines(&st, |_, l| {
                    g.notification_email.push(l.kw.text.clone());
                    g.notification_email.extend(l.args.iter().map(|t| t.text.clone()));
                });
            }
        }
        "notification_email_from" => g.notification_email_from = p.string(&st),
        "smtp_server" => match st.args.as_slice() {
            [] => p.error("missing-argument", st.kw.span, "'smtp_server' needs an address"),
            [h, rest @ ..] => {
                p.at_most(&st, 2);
                if parse_ip(&h.text).is_none() {
                    p.push(
                        Diagnostic::warning("smtp-host-name", h.span, format!("smtp_server '{}' is not an IP address", h.text))
                            .with_help("keepalived-rs resolves it for every alert, but keepalived resolves it once, at start-up: if DNS is not ready then, keepalived never sends mail"),
                    );
                }
                let port = match rest.first() {
                    Some(t) => p.int_tok::<u16>("smtp_server port", t, 1, 65535).unwrap_or(25),
                    None => 25,
                };
                g.smtp_server = Some(SmtpServer { host: h.text.clone(), port });
            }
        },
        "smtp_connect_timeout" => {
            if let Some(t) = p.timer(&st, 0.0, 3600.0) {
                g.smtp_connect_timeout = t;
            }
        }
        "smtp_helo_name" => g.smtp_helo_name = p.string(&st),
        "smtp_alert" => g.smtp_alert = Some(p.flag(&st)),
        "smtp_alert_vrrp" => g.smtp_alert_vrrp = Some(p.flag(&st)),
        "smtp_alert_checker" => g.smtp_alert_checker = Some(p.flag(&st)),
        "smtp_starttls" | "smtp_tls_ca" | "smtp_tls_insecure" | "smtp_auth_user" | "smtp_auth_password"
        | "smtp_auth_password_file" | "smtp_auth_plaintext" => smtp_security(p, &st, &mut g.smtp_security, &mut sec),
        "lvs_id" => {
            p.warn("obsolete", st.kw.span, "'lvs_id' has no effect (keepalived 1.x and 2.x ignore it)");
            g.lvs_id = p.string(&st);
        }
        "lvs_sync_daemon" => g.lvs_sync_daemon = lvs_sync_daemon(p, &st),
        "lvs_flush" => g.lvs_flush = p.flag(&st),
        "vrrp_mcast_group4" => match p.ip(&st) {
            Some(IpAddr::V4(a)) if a.is_multicast() => g.vrrp_mcast_group4 = a,
            Some(_) => p.error("bad-address", st.full_span(), "vrrp_mcast_group4 must be an IPv4 multicast address"),
            None => {}
        },
        "vrrp_mcast_group6" => match p.ip(&st) {
            Some(IpAddr::V6(a)) if a.is_multicast() => g.vrrp_mcast_group6 = a,
            Some(_) => p.error("bad-address", st.full_span(), "vrrp_mcast_group6 must be an IPv6 multicast address"),
            None => {}
        },
        "vrrp_version" => {
            if let Some(v) = p.int(&st, 2, 3) {
                g.vrrp_version = v;
            }
        }
        "vrrp_strict" => g.vrrp_strict = p.flag(&st),
        "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = p.flag(&st),
        "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = p.flag(&st),
        "vrrp_higher_prio_send_advert" => g.vrrp_higher_prio_send_advert = p.flag(&st),
        "vrrp_lower_prio_no_advert" => g.vrrp_lower_prio_no_advert = p.flag(&st),
        n if n.starts_with("vrrp_garp_") && garp(p, &st, &n["vrrp_".len()..], &mut g.garp) => {}
        "vrrp_garp_interval" => g.vrrp_garp_interval = p.timer(&st, 0.0, 1000.0),
        "vrrp_gna_interval" => g.vrrp_gna_interval = p.timer(&st, 0.0, 1000.0),
        "script_user" => g.script_user = p.user(&st),
        "enable_script_security" => g.enable_script_security = p.flag(&st),
        "notify_fifo" => fifo(p, &st, &mut g.notify_fifo),
        "notify_fifo_script" => fifo_script(p, &st, &mut g.notify_fifo),
        "vrrp_notify_fifo" => fifo(p, &st, &mut g.vrrp_notify_fifo),
        "vrrp_notify_fifo_script" => fifo_script(p, &st, &mut g.vrrp_notify_fifo),
        "lvs_notify_fifo" => fifo(p, &st, &mut g.lvs_notify_fifo),
        "lvs_notify_fifo_script" => fifo_script(p, &st, &mut g.lvs_notify_fifo),
        "enable_traps" => g.enable_traps = p.flag(&st),
        "linkbeat_use_polling" => g.linkbeat_use_polling = p.flag(&st),
        "default_interface" => g.default_interface = p.string(&st),
        "dynamic_interfaces" => g.dynamic_interfaces = p.flag(&st),
        "plugin_dir" => p.warn("obsolete", st.kw.span, "'plugin_dir' is unused (even by keepalived 1.2.13); ignored"),
        n if GLOBAL_RAW.contains(&n) => p.keep_raw(&st, &mut g.extra),
        _ => p.unknown(&st, "global_defs", &concat(GLOBAL_KW, GLOBAL_RAW)),
    });
    smtp_security_check(p, &g.smtp_security, &sec);
}

/// The SMTP STARTTLS and AUTH keywords, a keepalived-rs extension (keepalived has neither):
/// `smtp_starttls [required|opportunistic]`, `smtp_tls_ca FILE`, `smtp_tls_insecure`,
/// `smtp_auth_user NAME`, `smtp_auth_password SECRET`, `smtp_auth_password_file PATH`,
/// `smtp_auth_plaintext`.
fn smtp_security(
    p: &mut Parser<'_>,
    st: &Stmt,
    s: &mut SmtpSecurity,
    seen: &mut Vec<(&'static str, crate::span::Span)>,
) {
    let kw = match st.name() {
        "smtp_starttls" => {
            p.at_most(st, 1);
            s.starttls = match st.args.first() {
                None => Some(StartTls::Required),
                Some(t) if t.text == "required" => Some(StartTls::Required),
                Some(t) if t.text == "opportunistic" => Some(StartTls::Opportunistic),
                Some(t) => {
                    p.push(
                        Diagnostic::error(
                            "bad-value",
                            t.span,
                            format!(
                                "smtp_starttls takes 'required' or 'opportunistic', not '{}'",
                                t.text
                            ),
                        )
                        .with_help("STARTTLS is then required"),
                    );
                    Some(StartTls::Required)
                }
            };
            "smtp_starttls"
        }
        "smtp_tls_ca" => {
            s.tls_ca = p.string(st);
            "smtp_tls_ca"
        }
        "smtp_tls_insecure" => {
            s.tls_insecure = p.flag(st);
            "smtp_tls_insecure"
        }
        "smtp_auth_user" => {
            s.auth_user = p.string(st);
            "smtp_auth_user"
        }
        "smtp_auth_password" => {
            s.auth_password = p.string(st).map(Secret);
            "smtp_auth_password"
        }
        "smtp_auth_password_file" => {
            s.auth_password_file = p.string(st);
            "smtp_auth_password_file"
        }
        _ => {
            s.auth_plaintext = p.flag(st);
            "smtp_auth_plaintext"
        }
    };
    seen.push((kw, st.kw.span));
}

/// The traps across the SMTP extension keywords: AUTH without a user or a password, or in
/// clear text without saying so; TLS settings without STARTTLS.
fn smtp_security_check(
    p: &mut Parser<'_>,
    s: &SmtpSecurity,
    seen: &[(&'static str, crate::span::Span)],
) {
    let at = |kw: &str| {
        seen.iter()
            .rev()
            .find(|(k, _)| *k == kw)
            .map_or(crate::span::Span::NONE, |(_, sp)| *sp)
    };
    let password = s.auth_password.is_some() || s.auth_password_file.is_some();
    if s.auth_user.is_some() && !password {
        p.error("smtp-auth-incomplete", at("smtp_auth_user"), "smtp_auth_user without smtp_auth_password_file or smtp_auth_password: alerts are sent without AUTH");
    }
    if s.auth_user.is_none() && password {
        let kw = if s.auth_password_file.is_some() {
            "smtp_auth_password_file"
        } else {
            "smtp_auth_password"
        };
        p.error(
            "smtp-auth-incomplete",
            at(kw),
            format!("{kw} without smtp_auth_user: alerts are sent without AUTH"),
        );
    }
    if s.auth_password.is_some() && s.auth_password_file.is_some() {
        p.error(
            "smtp-auth-conflict",
            at("smtp_auth_password"),
            "both smtp_auth_password and smtp_auth_password_file: the file is used",
        );
    }
    let auth = s.auth_user.is_some() && password;
    if auth && s.starttls.is_none() && !s.auth_plaintext {
        p.push(
            Diagnostic::error("smtp-auth-cleartext", at("smtp_auth_user"), "AUTH without smtp_starttls would send the password in clear text: alerts are sent without AUTH")
                .with_help("add 'smtp_starttls', or 'smtp_auth_plaintext' if the path to the server is trusted"),
        );
    }
    if s.auth_plaintext && !auth {
        p.warn(
            "smtp-unused",
            at("smtp_auth_plaintext"),
            "smtp_auth_plaintext without smtp_auth_user has no effect",
        );
    }
    for kw in ["smtp_tls_ca", "smtp_tls_insecure"] {
        let set = if kw == "smtp_tls_ca" {
            s.tls_ca.is_some()
        } else {
            s.tls_insecure
        };
        if set && s.starttls.is_none() {
            p.warn(
                "smtp-unused",
                at(kw),
                format!("{kw} without smtp_starttls has no effect"),
            );
        }
    }
    if s.tls_insecure && s.tls_ca.is_some() {
        p.warn(
            "smtp-unused",
            at("smtp_tls_ca"),
            "smtp_tls_ca with smtp_tls_insecure: no certificate is checked",
        );
    }
}

/// `garp_*` keywords (with the `vrrp_` prefix stripped for the global ones). Returns false if `name`
/// is not one of them.
fn garp(p: &mut Parser<'_>, st: &Stmt, name: &str, g: &mut GarpSettings) -> bool {
    match name {
        "garp_master_delay" => g.master_delay = p.timer(st, 0.0, 1000.0),
        "garp_master_repeat" => g.master_repeat = p.int(st, 1, 255),
        "garp_master_refresh" => g.master_refresh = p.timer(st, 0.0, 86400.0),
        "garp_master_refresh_repeat" => g.master_refresh_repeat = p.int(st, 1, 255),
        "garp_lower_prio_delay" => g.lower_prio_delay = p.timer(st, 0.0, 1000.0),
        "garp_lower_prio_repeat" => g.lower_prio_repeat = p.int(st, 0, 255),
        _ => return false,
    }
    true
}

fn lvs_sync_daemon(p: &mut Parser<'_>, st: &Stmt) -> Option<LvsSyncDaemon> {
    let [ifname, inst, rest @ ..] = st.args.as_slice() else {
        p.error(
            "missing-argument",
            st.kw.span,
            "'lvs_sync_daemon' needs INTERFACE VRRP_INSTANCE",
        );
        return None;
    };
    let mut d = LvsSyncDaemon {
        interface: ifname.text.clone(),
        instance: inst.text.clone(),
        id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut it = rest.iter();
    while let Some(opt) = it.next() {
        let Some(val) = it.next() else {
            p.error(
                "missing-argument",
                opt.span,
                format!("lvs_sync_daemon option '{}' needs a value", opt.text),
            );
            break;
        };
        match opt.text.as_str() {
            "id" => d.id = p.int_tok("lvs_sync_daemon id", val, 0, 255),
            "maxlen" => d.maxlen = p.int_tok("lvs_sync_daemon maxlen", val, 1, 65535 - 20 - 8),
            "port" => d.port = p.int_tok("lvs_sync_daemon port", val, 1, 65535),
            "ttl" => d.ttl = p.int_tok("lvs_sync_daemon ttl", val, 1, 255),
            "group" => d.group = p.ip_tok("lvs_sync_daemon group", val),
            _ => p.error(
                "unknown-option",
                opt.span,
                format!("unknown lvs_sync_daemon option '{}'", opt.text),
            ),
        }
    }
    Some(d)
}

fn vrrp_script(p: &mut Parser<'_>, owner: &Stmt, s: &mut VrrpScript) {
    p.each(owner, |p, st| match st.name() {
        "script" => s.script = p.command(&st),
        "interval" => {
            if let Some(t) = p.timer(&st, 0.000_001, 86400.0) {
                s.interval = t;
            }
        }
        "timeout" => s.timeout = p.timer(&st, 0.000_001, 86400.0),
        "weight" => {
            let (w, r) = weight(p, &st);
            if let Some(w) = w {
                s.weight = w;
            }
            s.weight_reverse = r;
        }
        "rise" => {
            if let Some(v) = p.int(&st, 1, i64::from(u32::MAX)) {
                s.rise = v;
            }
        }
        "fall" => {
            if let Some(v) = p.int(&st, 1, i64::from(u32::MAX)) {
                s.fall = v;
            }
        }
        "user" => s.user = p.user(&st),
        "init_fail" => s.init_fail = p.flag(&st),
        _ => p.unknown(&st, "vrrp_script", SCRIPT_KW),
    });
    if s.script.is_none() {
        p.error(
            "missing-keyword",
            owner.kw.span,
            format!("vrrp_script {} has no 'script'; it is ignored", s.name),
        );
    }
}

/// `weight W [reverse]` with W in -254..=254.
fn weight(p: &mut Parser<'_>, st: &Stmt) -> (Option<i32>, bool) {
    let Some(first) = st.args.first() else {
        p.error("missing-argument", st.kw.span, "'weight' needs a value");
        return (None, false);
    };
    let w = p.int_tok("weight", first, -254, 254);
    let mut reverse = false;
    for t in &st.args[1..] {
        if t.text == "reverse" {
            reverse = true;
        } else {
            p.error(
                "bad-value",
                t.span,
                format!(
                    "unexpected '{}' after weight (only 'reverse' may follow)",
                    t.text
                ),
            );
        }
    }
    (w, reverse)
}

fn track_file(p: &mut Parser<'_>, owner: &Stmt, t: &mut TrackFile) {
    p.each(owner, |p, st| match st.name() {
        "file" => t.file = p.string(&st),
        "weight" => {
            let (w, r) = weight(p, &st);
            if let Some(w) = w {
                t.weight = w;
            }
            t.reverse = r;
        }
        "init_file" => {
            let mut init = InitFile::default();
            for a in &st.args {
                if a.text == "overwrite" {
                    init.overwrite = true;
                } else if let Ok(v) = a.text.parse() {
                    init.value = v;
                } else {
                    p.error(
                        "bad-value",
                        a.span,
                        format!("init_file takes [VALUE] [overwrite], not '{}'", a.text),
                    );
                }
            }
            t.init_file = Some(init);
        }
        _ => p.unknown(&st, "track_file", TRACK_FILE_KW),
    });
    if t.file.is_none() {
        p.error(
            "missing-keyword",
            owner.kw.span,
            format!("track_file {} has no 'file'", t.name),
        );
    }
}

/// A `track_*` block: one `NAME [weight W [reverse]]` per line.
fn track_block(p: &mut Parser<'_>, st: &Stmt, out: &mut Vec<Track>) {
    if !p.open(st) {
        return;
    }
    p.lines(st, |p, l| {
        let mut t = Track {
            name: l.kw.text.clone(),
            weight: None,
            reverse: false,
            span: l.kw.span,
        };
        let mut it = l.args.iter();
        while let Some(a) = it.next() {
            match a.text.as_str() {
                "weight" => match it.next() {
                    Some(v) => t.weight = p.int_tok("weight", v, -254, 254),
                    None => p.error("missing-argument", a.span, "'weight' needs a value"),
                },
                "reverse" => t.reverse = true,
                _ => p.error(
                    "bad-value",
                    a.span,
                    format!(
                        "unexpected '{}' in {} (expected 'weight W [reverse]')",
                        a.text,
                        st.name()
                    ),
                ),
            }
        }
        out.push(t);
    });
}

fn notify(p: &mut Parser<'_>, st: &Stmt, n: &mut Notify) -> bool {
    let slot = match st.name() {
        "notify_master" => &mut n.master,
        "notify_backup" => &mut n.backup,
        "notify_fault" => &mut n.fault,
        "notify_stop" => &mut n.stop,
        "notify_master_rx_lower_pri" => &mut n.master_rx_lower_pri,
        "notify" => &mut n.generic,
        "notify_priority_changes" => {
            n.priority_changes = p.flag(st);
            return true;
        }
        // `notify_deleted [SCRIPT [USER [GROUP]]]`: the script is optional.
        "notify_deleted" if st.args.is_empty() => {
            n.report_deleted = true;
            return true;
        }
        "notify_deleted" => {
            n.report_deleted = true;
            &mut n.deleted
        }
        _ => return false,
    };
    *slot = p.notify_command(st);
    true
}

fn sync_group(p: &mut Parser<'_>, owner: &Stmt, g: &mut SyncGroup) {
    let mut has_group = false;
    p.each(owner, |p, st| match st.name() {
        "group" => {
            has_group = true;
            if p.open(&st) {
                p.lines(&st, |_, l| {
                    for t in std::iter::once(&l.kw).chain(&l.args) {
                        g.group.push(Spanned::new(t.text.clone(), t.span));
                    }
                });
            }
        }
        "smtp_alert" => g.smtp_alert = Some(p.flag(&st)),
        "global_tracking" => g.global_tracking = p.flag(&st),
        "sync_group_tracking_weight" => g.sync_group_tracking_weight = p.flag(&st),
        "track_interface" => track_block(p, &st, &mut g.track_interface),
        "track_script" => track_block(p, &st, &mut g.track_script),
        "track_file" => track_block(p, &st, &mut g.track_file),
        n if n.starts_with("notify") && notify(p, &st, &mut g.notify) => {}
        n if SYNC_RAW.contains(&n) => p.keep_raw(&st, &mut g.extra),
        _ => p.unknown(&st, "vrrp_sync_group", &concat(SYNC_KW, SYNC_RAW)),
    });
    if !has_group {
        p.push(
            Diagnostic::error("missing-keyword", owner.kw.span, format!("vrrp_sync_group {} has no 'group {{ }}' block", g.name))
                .with_help("list the member instances: group { VI_1 VI_2 } (keepalived 1.2.13 crashes without it)"),
        );
    }
}

fn instance(p: &mut Parser<'_>, owner: &Stmt, i: &mut VrrpInstance) {
    p.each(owner, |p, st| match st.name() {
        "state" => {
            if let Some(t) = p.one(&st) {
                i.state = match t.text.as_str() {
                    "MASTER" => InitialState::Master,
                    "BACKUP" => InitialState::Backup,
                    other => {
                        let help = if other.eq_ignore_ascii_case("master") {
                            "write MASTER in capitals; keepalived only recognises MASTER"
                        } else {
                            "use MASTER or BACKUP"
                        };
                        p.push(Diagnostic::warning("bad-value", t.span, format!("state '{other}' is neither MASTER nor BACKUP; BACKUP is used")).with_help(help));
                        InitialState::Backup
                    }
                };
            }
        }
        "interface" => i.interface = p.one(&st).map(|t| Spanned::new(t.text.clone(), t.span)),
        "use_vmac" => {
            if st.args.len() > 1 {
                p.warn("not-implemented", st.args[1].span, "use_vmac options beyond the name are not implemented by keepalived-rs; ignored");
            }
            i.use_vmac = Some(st.args.first().map(|t| t.text.clone()));
        }
        "vmac_xmit_base" => i.vmac_xmit_base = p.flag(&st),
        "native_ipv6" => i.native_ipv6 = p.flag(&st),
        "dont_track_primary" => i.dont_track_primary = p.flag(&st),
        "track_interface" => track_block(p, &st, &mut i.track_interface),
        "track_script" => track_block(p, &st, &mut i.track_script),
        "track_file" => track_block(p, &st, &mut i.track_file),
        "mcast_src_ip" => i.mcast_src_ip = p.one(&st).and_then(|t| p.ip_tok("mcast_src_ip", t).map(|a| Spanned::new(a, t.span))),
        "mcast_dst_ip" => {
            let group = p.one(&st).and_then(|t| p.ip_tok("mcast_dst_ip", t).map(|a| Spanned::new(a, t.span)));
            match group {
                Some(g) if !g.value.is_multicast() => {
                    p.warn("bad-address", g.span, "mcast_dst_ip must be a multicast address: ignored");
                }
                g => i.mcast_dst_ip = g,
            }
        }
        "unicast_src_ip" => {
            i.unicast_src_ip = p.one(&st).and_then(|t| p.ip_tok("unicast_src_ip", t).map(|a| Spanned::new(a, t.span)));
        }
        "unicast_peer" => {
            let mut peers = i.unicast_peer.take().map(|s| s.value).unwrap_or_default();
            if p.open(&st) {
                p.lines(&st, |p, l| peers.extend(unicast_peer(p, &l)));
            }
            i.unicast_peer = Some(Spanned::new(peers, st.kw.span));
        }
        "unicast_ttl" => i.unicast_ttl = p.int(&st, 1, 255),
        "unicast_fault_no_peer" => i.unicast_fault_no_peer = p.flag(&st),
        "check_unicast_src" => i.check_unicast_src = p.flag(&st),
        "virtual_router_id" => i.virtual_router_id = p.one(&st).and_then(|t| p.int_tok("virtual_router_id", t, 1, 255).map(|v| Spanned::new(v, t.span))),
        "priority" => i.priority = p.one(&st).and_then(|t| p.int_tok("priority", t, 1, 255).map(|v| Spanned::new(v, t.span))),
        "advert_int" => {
            if let Some(t) = p.timer(&st, 0.01, 255.0) {
                i.advert_int = t;
            }
        }
        "version" => i.version = p.int(&st, 2, 3),
        "virtual_ipaddress" => {
            if p.open(&st) {
                p.lines(&st, |p, l| i.virtual_ipaddress.extend(address(p, &l)));
            }
        }
        "virtual_ipaddress_excluded" => {
            if p.open(&st) {
                p.lines(&st, |p, l| i.virtual_ipaddress_excluded.extend(address(p, &l)));
            }
        }
        "virtual_routes" => {
            if p.open(&st) {
                p.lines(&st, |p, l| i.virtual_routes.extend(route(p, &l)));
            }
        }
        "virtual_rules" => {
            if p.open(&st) {
                p.lines(&st, |_, l| i.virtual_rules.push(Rule { words: l.words(), span: l.kw.span }));
            }
        }
        "nopreempt" => {
            if p.flag(&st) {
                i.nopreempt = Some(st.kw.span);
            } else {
                i.nopreempt = None;
            }
        }
        "preempt" => i.nopreempt = None,
        "preempt_delay" => {
            if let Some(t) = p.timer(&st, 0.0, 1000.0) {
                i.preempt_delay = t;
            }
        }
        "accept" => i.accept = Some(p.flag(&st)),
        "no_accept" => i.accept = Some(!p.flag(&st)),
        "strict_mode" => i.strict_mode = Some(p.flag(&st)),
        "higher_prio_send_advert" => i.higher_prio_send_advert = Some(p.flag(&st)),
        "lower_prio_no_advert" => i.lower_prio_no_advert = Some(p.flag(&st)),
        "skip_check_adv_addr" => i.skip_check_adv_addr = Some(p.flag(&st)),
        "debug" => i.debug = p.int(&st, 0, 4).unwrap_or(0),
        "smtp_alert" => i.smtp_alert = Some(p.flag(&st)),
        "lvs_sync_daemon_interface" => {
            p.push(
                Diagnostic::warning("deprecated", st.kw.span, "'lvs_sync_daemon_interface' is deprecated")
                    .with_help("use 'lvs_sync_daemon INTERFACE INSTANCE' in global_defs"),
            );
            i.lvs_sync_daemon_interface = p.string(&st);
        }
        "authentication" => {
            if p.open(&st) {
                let mut a = Authentication { auth_type: None, auth_pass: None };
                p.each(&st, |p, s| match s.name() {
                    "auth_type" => {
                        if let Some(t) = p.one(&s) {
                            a.auth_type = match t.text.as_str() {
                                "PASS" => Some(AuthType::Pass),
                                "AH" => Some(AuthType::Ah),
                                other => {
                                    p.error("bad-value", t.span, format!("auth_type '{other}' is neither PASS nor AH; no authentication"));
                                    None
                                }
                            };
                        }
                    }
                    "auth_pass" => {
                        if let Some(t) = p.one(&s) {
                            let mut pass = t.text.clone();
                            if pass.len() > 8 {
                                let mut cut = 8;
                                while !pass.is_char_boundary(cut) {
                                    cut -= 1;
                                }
                                pass.truncate(cut);
                                p.push(
                                    Diagnostic::warning("auth-pass-truncated", t.span, format!("auth_pass is longer than 8 characters; only '{pass}' is used"))
                                        .with_help("VRRP carries 8 bytes of password; both routers must use the same first 8 characters"),
                                );
                            }
                            a.auth_pass = Some(pass);
                        }
                    }
                    _ => p.unknown(&s, "authentication", AUTH_KW),
                });
                i.authentication = Some(Spanned::new(a, st.kw.span));
            }
        }
        n if n.starts_with("garp_") && garp(p, &st, n, &mut i.garp) => {}
        n if n.starts_with("notify") && notify(p, &st, &mut i.notify) => {}
        n if INSTANCE_RAW.contains(&n) => p.keep_raw(&st, &mut i.extra),
        _ => p.unknown(&st, "vrrp_instance", &concat(INSTANCE_KW, INSTANCE_RAW)),
    });
}

fn unicast_peer(p: &mut Parser<'_>, l: &Stmt) -> Option<UnicastPeer> {
    let addr = p.ip_tok("unicast_peer", &l.kw)?;
    let mut peer = UnicastPeer {
        addr,
        min_ttl: None,
        max_ttl: None,
        span: l.kw.span,
    };
    let mut it = l.args.iter();
    while let Some(a) = it.next() {
        let slot = match a.text.as_str() {
            "min_ttl" => &mut peer.min_ttl,
            "max_ttl" => &mut peer.max_ttl,
            _ => {
                p.push(
                    Diagnostic::error(
                        "bad-value",
                        a.span,
                        format!("unexpected '{}' in unicast_peer", a.text),
                    )
                    .with_help("write one address per line, optionally with min_ttl N / max_ttl N"),
                );
                continue;
            }
        };
        match it.next() {
            Some(v) => *slot = p.int_tok(&a.text, v, 0, 255),
            None => p.error(
                "missing-argument",
                a.span,
                format!("'{}' needs a value", a.text),
            ),
        }
    }
    Some(peer)
}

/// An address line: `ADDR[/LEN] [dev IF] [scope S] [brd B] [label L] …`.
fn address(p: &mut Parser<'_>, l: &Stmt) -> Option<IpAddress> {
    let Some(prefix) = IpPrefix::parse(&l.kw.text) else {
        p.push(
            Diagnostic::error(
                "bad-address",
                l.kw.span,
                format!("'{}' is not an address (ADDR[/PREFIX])", l.kw.text),
            )
            .with_help("keepalived skips this line"),
        );
        return None;
    };
    let mut a = IpAddress {
        prefix,
        dev: None,
        scope: None,
        broadcast: None,
        label: None,
        peer: None,
        no_track: false,
        options: Vec::new(),
        span: l.kw.span,
    };
    let mut it = l.args.iter();
    while let Some(opt) = it.next() {
        let o = opt.text.as_str();
        let takes_value = matches!(
            o,
            "dev"
                | "scope"
                | "broadcast"
                | "brd"
                | "label"
                | "peer"
                | "preferred_lft"
                | "track_group"
        );
        if !takes_value {
            match o {
                "no_track" => a.no_track = true,
                "home" | "-nodad" | "nodad" | "noprefixroute" | "autojoin" => a.options.push(o.to_owned()),
                _ => p.push(Diagnostic::error("unknown-option", opt.span, format!("unknown address option '{o}'")).with_help(
                    "expected dev, scope, brd, label, peer, no_track, home, -nodad, noprefixroute, autojoin, preferred_lft or track_group",
                )),
            }
            continue;
        }
        let Some(v) = it.next() else {
            p.error(
                "missing-argument",
                opt.span,
                format!("address option '{o}' needs a value"),
            );
            break;
        };
        match o {
            "dev" => a.dev = Some(v.text.clone()),
            "scope" => match Scope::from_name(&v.text) {
                Some(s) => a.scope = Some(s),
                None => p.error(
                    "bad-value",
                    v.span,
                    format!(
                        "unknown scope '{}' (global, site, link, host, nowhere)",
                        v.text
                    ),
                ),
            },
            "broadcast" | "brd" => {
                if prefix.addr.is_ipv6() {
                    p.error(
                        "bad-value",
                        opt.span,
                        "IPv6 addresses have no broadcast; keepalived skips this line",
                    );
                    return None;
                }
                a.broadcast = Some(v.text.clone());
            }
            "label" => {
                if v.text.len() > 15 {
                    p.warn(
                        "truncated",
                        v.span,
                        "label longer than 15 characters; the kernel limit is 15",
                    );
                }
                a.label = Some(v.text.clone());
            }
            "peer" => {
                a.peer = IpPrefix::parse(&v.text).or_else(|| {
                    p.error(
                        "bad-address",
                        v.span,
                        format!("peer '{}' is not an address", v.text),
                    );
                    None
                });
            }
            _ => {
                a.options.push(o.to_owned());
                a.options.push(v.text.clone());
            }
        }
    }
    Some(a)
}

#[rustfmt::skip]
const ROUTE_TYPES: &[&str] = &[
    "blackhole", "unreachable", "prohibit", "throw", "local", "broadcast", "anycast", "multicast",
    "nat", "unicast",
];
#[rustfmt::skip]
const ROUTE_OPTS_WITH_VALUE: &[&str] = &[
    "proto", "protocol", "tos", "dsfield", "mtu", "advmss", "rtt", "rttvar", "reordering", "window",
    "cwnd", "initcwnd", "initrwnd", "features", "quickack", "congctl", "pref", "ssthresh", "realms",
    "rto_min", "hoplimit", "fastopen_no_cookie", "expires", "track_group", "ttl-propagate", "encap",
];

/// A route line, `ip route` style.
fn route(p: &mut Parser<'_>, l: &Stmt) -> Option<Route> {
    let mut r = Route {
        kind: None,
        dest: None,
        via: None,
        or: None,
        src: None,
        dev: None,
        table: None,
        metric: None,
        scope: None,
        no_track: false,
        options: Vec::new(),
        span: l.kw.span,
    };
    let toks: Vec<&crate::lexer::Token> = std::iter::once(&l.kw).chain(&l.args).collect();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let w = t.text.as_str();
        let val = toks.get(i + 1).copied();
        let need = |p: &mut Parser<'_>| {
            if val.is_none() {
                p.error(
                    "missing-argument",
                    t.span,
                    format!("route option '{w}' needs a value"),
                );
            }
            val
        };
        match w {
            _ if ROUTE_TYPES.contains(&w) && r.kind.is_none() && r.dest.is_none() => {
                r.kind = Some(w.to_owned());
                i += 1;
                continue;
            }
            "via" | "gw" => {
                if let Some(v) = need(p) {
                    r.via = p.ip_tok("via", v);
                }
            }
            "or" => {
                if let Some(v) = need(p) {
                    p.push(
                        Diagnostic::warning("deprecated", t.span, "'or' in routes is deprecated")
                            .with_help("use 'nexthop via GW1 nexthop via GW2'"),
                    );
                    r.or = p.ip_tok("or", v);
                }
            }
            "src" => {
                if let Some(v) = need(p) {
                    r.src = p.ip_tok("src", v);
                }
            }
            "dev" | "oif" => {
                if let Some(v) = need(p) {
                    r.dev = Some(v.text.clone());
                }
            }
            "table" => {
                if let Some(v) = need(p) {
                    r.table = Some(v.text.clone());
                }
            }
            "metric" | "priority" | "preference" => {
                if let Some(v) = need(p) {
                    r.metric = p.int_tok(w, v, 0, i64::from(u32::MAX));
                }
            }
            "scope" => {
                if let Some(v) = need(p) {
                    r.scope = Scope::from_name(&v.text);
                    if r.scope.is_none() {
                        p.error("bad-value", v.span, format!("unknown scope '{}'", v.text));
                    }
                }
            }
            "no_track" => {
                r.no_track = true;
                i += 1;
                continue;
            }
            "onlink" | "pervasive" => {
                r.options.push(w.to_owned());
                i += 1;
                continue;
            }
            "nexthop" => {
                r.options.extend(toks[i..].iter().map(|t| t.text.clone()));
                break;
            }
            _ if ROUTE_OPTS_WITH_VALUE.contains(&w) => {
                if let Some(v) = need(p) {
                    r.options.push(w.to_owned());
                    r.options.push(v.text.clone());
                }
            }
            _ => {
                let (dest_tok, step) = if w == "to" { (val, 2) } else { (Some(t), 1) };
                match dest_tok.and_then(|d| {
                    if d.text == "default" {
                        Some(IpPrefix {
                            addr: IpAddr::from([0, 0, 0, 0]),
                            len: 0,
                        })
                    } else {
                        IpPrefix::parse(&d.text)
                    }
                }) {
                    Some(d) if r.dest.is_none() => r.dest = Some(d),
                    _ => p.error("bad-value", t.span, format!("unexpected '{w}' in route")),
                }
                i += step;
                continue;
            }
        }
        i += 2;
    }
    if r.dest.is_none() {
        p.error(
            "missing-argument",
            l.kw.span,
            "route has no destination; keepalived skips it",
        );
        return None;
    }
    Some(r)
}

fn vsg_entry(p: &mut Parser<'_>, l: &Stmt) -> Option<VsgEntry> {
    p.at_most(l, 1);
    if l.name() == "fwmark" {
        let t = l.args.first().or_else(|| {
            p.error("missing-argument", l.kw.span, "'fwmark' needs a number");
            None
        })?;
        let mark = p.int_tok("fwmark", t, 1, i64::from(u32::MAX))?;
        return Some(VsgEntry::Fwmark {
            mark,
            span: l.kw.span,
        });
    }
    let (addr_s, last) = match l.kw.text.rsplit_once('-') {
        Some((a, b)) if parse_ip(a).is_some() => (a, Some(b)),
        _ => (l.kw.text.as_str(), None),
    };
    let Some(addr) = parse_ip(addr_s) else {
        p.error(
            "bad-address",
            l.kw.span,
            format!(
                "'{}' is not an address, a range (IP-LAST) or 'fwmark N'",
                l.kw.text
            ),
        );
        return None;
    };
    let last = match last {
        None => None,
        Some(b) => {
            let v = if addr.is_ipv6() {
                u16::from_str_radix(b, 16).ok()
            } else {
                b.parse::<u16>().ok().filter(|v| *v <= 255)
            };
            let first_part = match addr {
                IpAddr::V4(a) => u16::from(a.octets()[3]),
                IpAddr::V6(a) => a.segments()[7],
            };
            match v {
                Some(v) if v >= first_part => Some(v),
                _ => {
                    p.error(
                        "bad-value",
                        l.kw.span,
                        format!("bad range end '{b}' in '{}'", l.kw.text),
                    );
                    return None;
                }
            }
        }
    };
    let port = if let Some(t) = l.args.first() {
        p.int_tok("port", t, 0, 65535)?
    } else {
        p.error(
            "missing-argument",
            l.kw.span,
            "virtual_server_group entry needs a port",
        );
        return None;
    };
    Some(VsgEntry::Address {
        addr,
        last,
        port,
        span: l.kw.span,
    })
}

fn lb_kind(p: &mut Parser<'_>, st: &Stmt) -> Option<LbKind> {
    let t = p.one(st)?;
    match t.text.as_str() {
        "NAT" => Some(LbKind::Nat),
        "DR" => Some(LbKind::Dr),
        "TUN" => Some(LbKind::Tun),
        other => {
            p.push(
                Diagnostic::error(
                    "bad-value",
                    t.span,
                    format!("unknown forwarding method '{other}'; NAT is used"),
                )
                .with_help("use NAT, DR or TUN"),
            );
            None
        }
    }
}

fn socket_addr(
    p: &mut Parser<'_>,
    st: &Stmt,
    ip: &crate::lexer::Token,
    port: Option<&crate::lexer::Token>,
) -> Option<SocketAddr> {
    if st.name() != "virtual_server" {
        p.at_most(st, 2);
    }
    let addr = p.ip_tok(st.name(), ip)?;
    let port = match port {
        Some(t) => p.int_tok("port", t, 0, 65535)?,
        None => 0,
    };
    Some(SocketAddr::new(addr, port))
}

/// Timing keywords shared by `virtual_server`, `real_server` and checkers. Returns false if not one.
fn timing(p: &mut Parser<'_>, st: &Stmt, t: &mut CheckTiming) -> bool {
    match st.name() {
        "delay_loop" => t.delay_loop = p.timer(st, 0.000_001, 86400.0 * 365.0).map(Into::into),
        "retry" => t.retry = p.int(st, 0, i64::from(u32::MAX)),
        "nb_get_retry" => {
            p.push(
                Diagnostic::warning("deprecated", st.kw.span, "'nb_get_retry' is deprecated")
                    .with_help("use 'retry'"),
            );
            t.retry = p.int(st, 0, i64::from(u32::MAX));
        }
        "delay_before_retry" => t.delay_before_retry = p.timer(st, 0.0, 86400.0).map(Into::into),
        "warmup" => t.warmup = p.timer(st, 0.0, 86400.0).map(Into::into),
        "connect_timeout" => t.connect_timeout = p.timer(st, 0.000_001, 86400.0).map(Into::into),
        "alpha" => t.alpha = Some(p.flag(st)),
        _ => return false,
    }
    true
}

fn virtual_server(p: &mut Parser<'_>, st: &Stmt) -> Option<VirtualServer> {
    let key = match st.args.as_slice() {
        [k, v, ..] if k.text == "fwmark" => p
            .int_tok("fwmark", v, 1, i64::from(u32::MAX))
            .map(VsKey::Fwmark),
        [k, v, ..] if k.text == "group" => Some(VsKey::Group(v.text.clone())),
        [ip, port, ..] => socket_addr(p, st, ip, Some(port)).map(VsKey::Addr),
        _ => {
            p.push(
                Diagnostic::error(
                    "missing-argument",
                    st.kw.span,
                    "virtual_server needs 'IP PORT', 'fwmark N' or 'group NAME'",
                )
                .with_help("the whole block is ignored"),
            );
            None
        }
    };
    if st.args.len() > 2 {
        p.warn(
            "extra-arguments",
            st.args[2].span,
            "extra words after the virtual_server address are ignored",
        );
    }
    if !p.open(st) {
        return None;
    }
    let Some(key) = key else {
        p.skip_block();
        return None;
    };
    let mut vs = VirtualServer::new(key);
    vs.span = st.kw.span;
    let mut sorry_inhibit_before = None;
    let mark = p.scratch.real_servers.len();
    p.each(st, |p, s| match s.name() {
        "lb_algo" | "lvs_sched" => {
            if let Some(a) = p.string(&s) {
                vs.lb_algo = a;
            }
        }
        "lb_kind" | "lvs_method" => {
            if let Some(k) = lb_kind(p, &s) {
                vs.lb_kind = k;
            }
        }
        "protocol" => {
            if let Some(t) = p.one(&s) {
                vs.protocol = match t.text.as_str() {
                    "TCP" => Some(Protocol::Tcp),
                    "UDP" => Some(Protocol::Udp),
                    "SCTP" => Some(Protocol::Sctp),
                    other => {
                        p.error(
                            "bad-value",
                            t.span,
                            format!("unknown protocol '{other}' (TCP, UDP or SCTP)"),
                        );
                        None
                    }
                };
                if matches!(vs.key, VsKey::Fwmark(_)) {
                    p.warn(
                        "ignored",
                        s.kw.span,
                        "protocol is ignored for a fwmark service",
                    );
                }
            }
        }
        "persistence_timeout" => vs.persistence_timeout = p.int(&s, 1, 2_678_400),
        "persistence_granularity" => vs.persistence_granularity = p.string(&s),
        "persistence_engine" => vs.persistence_engine = p.string(&s),
        "ha_suspend" => vs.ha_suspend = p.flag(&s),
        "ops" => vs.ops = p.flag(&s),
        "omega" => vs.omega = p.flag(&s),
        "inhibit_on_failure" => vs.inhibit_on_failure = p.flag(&s),
        "virtualhost" => vs.virtualhost = p.string(&s),
        "quorum" => {
            if let Some(q) = p.int(&s, 1, i64::from(u32::MAX)) {
                vs.quorum = q;
            }
        }
        "hysteresis" => {
            if let Some(h) = p.int(&s, 0, i64::from(u32::MAX)) {
                vs.hysteresis = h;
            }
        }
        "quorum_up" => vs.quorum_up = p.command(&s),
        "quorum_down" => vs.quorum_down = p.command(&s),
        "sorry_server" => {
            if let [ip, rest @ ..] = s.args.as_slice() {
                if let Some(addr) = socket_addr(p, &s, ip, rest.first()) {
                    let inhibit = vs.sorry_server.as_ref().is_some_and(|x| x.inhibit)
                        || sorry_inhibit_before.is_some();
                    vs.sorry_server = Some(SorryServer {
                        addr,
                        inhibit,
                        lvs_method: None,
                    });
                }
            } else {
                p.error("missing-argument", s.kw.span, "sorry_server needs IP PORT");
            }
        }
        "sorry_server_inhibit" => {
            let on = p.flag(&s);
            match &mut vs.sorry_server {
                Some(ss) => ss.inhibit = on,
                None => sorry_inhibit_before = Some(s.kw.span),
            }
        }
        "sorry_server_lvs_method" => {
            let k = lb_kind(p, &s);
            match &mut vs.sorry_server {
                Some(ss) => ss.lvs_method = k,
                None => p.error(
                    "order",
                    s.kw.span,
                    "sorry_server_lvs_method must come after sorry_server",
                ),
            }
        }
        "nat_mask" => {
            p.push(
                Diagnostic::warning(
                    "obsolete",
                    s.kw.span,
                    "'nat_mask' has no effect (unused since keepalived 1.2; removed in 2.x)",
                )
                .with_help("remove the line"),
            );
            if let Some(IpAddr::V4(m)) = p.ip(&s) {
                vs.nat_mask = Some(m);
            }
        }
        "smtp_alert" => vs.smtp_alert = Some(p.flag(&s)),
        "real_server" => {
            if let Some(rs) = real_server(p, &s) {
                p.scratch.real_servers.push(rs);
            }
        }
        n if timing(p, &s, &mut vs.timing) => {
            let _ = n;
        }
        n if VS_RAW.contains(&n) => p.keep_raw(&s, &mut vs.extra),
        _ => p.unknown(&s, "virtual_server", &concat(VS_KW, VS_RAW)),
    });
    vs.real_servers = take_from(&mut p.scratch.real_servers, mark);
    if let (Some(sp), None) = (sorry_inhibit_before, &vs.sorry_server) {
        p.warn(
            "ignored",
            sp,
            "sorry_server_inhibit without a sorry_server has no effect",
        );
    }
    Some(vs)
}

fn real_server(p: &mut Parser<'_>, st: &Stmt) -> Option<RealServer> {
    let addr = if let [ip, rest @ ..] = st.args.as_slice() {
        socket_addr(p, st, ip, rest.first())
    } else {
        p.error(
            "missing-argument",
            st.kw.span,
            "real_server needs IP [PORT]",
        );
        None
    };
    let Some(addr) = addr else {
        if p.has_block() && p.open(st) {
            p.skip_block();
        }
        return None;
    };
    let mut rs = RealServer::new(addr);
    rs.span = st.kw.span;
    if !p.has_block() {
        // A real server without a block is valid (no checker: always up).
        return Some(rs);
    }
    p.open(st);
    let mark = p.scratch.checkers.len();
    p.each(st, |p, s| match s.name() {
        "weight" => {
            if let Some(w) = p.int(&s, 0, 65535) {
                rs.weight = w;
            }
        }
        "uthreshold" => rs.uthreshold = p.int(&s, 0, i64::from(u32::MAX)),
        "lthreshold" => rs.lthreshold = p.int(&s, 0, i64::from(u32::MAX)),
        "inhibit_on_failure" => rs.inhibit_on_failure = p.flag(&s),
        "notify_up" => rs.notify_up = p.command(&s).map(Box::new),
        "notify_down" => rs.notify_down = p.command(&s).map(Box::new),
        "virtualhost" => rs.virtualhost = p.string(&s).map(Into::into),
        "smtp_alert" => rs.smtp_alert = Some(p.flag(&s)),
        "lvs_method" => rs.lvs_method = lb_kind(p, &s),
        "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "SMTP_CHECK" | "MISC_CHECK" | "DNS_CHECK"
        | "UDP_CHECK" | "PING_CHECK" | "FILE_CHECK" => {
            let c = checker(p, &s);
            p.scratch.checkers.push(c);
        }
        n if timing(p, &s, &mut rs.timing) => {
            let _ = n;
        }
        n if RS_RAW.contains(&n) => p.keep_raw(&s, &mut rs.extra),
        _ => p.unknown(&s, "real_server", &concat(RS_KW, RS_RAW)),
    });
    rs.checkers = take_from(&mut p.scratch.checkers, mark);
    Some(rs)
}

/// Socket options. Returns false if `st` is not one.
fn connect(p: &mut Parser<'_>, st: &Stmt, c: &mut Option<Box<ConnectOpts>>) -> bool {
    if !CONNECT_KW.contains(&st.name()) || st.name() == "connect_timeout" {
        return false;
    }
    connect_opt(p, st, c.get_or_insert_with(Box::default))
}

/// Socket options into `c`. Returns false if `st` is not one.
fn connect_opt(p: &mut Parser<'_>, st: &Stmt, c: &mut ConnectOpts) -> bool {
    match st.name() {
        "connect_ip" => c.connect_ip = p.ip(st),
        "connect_port" => c.connect_port = p.int(st, 1, 65535),
        "bindto" => c.bindto = p.ip(st),
        "bind_port" => c.bind_port = p.int(st, 1, 65535),
        "bind_if" => c.bind_if = p.string(st),
        "fwmark" => c.fwmark = p.int(st, 0, i64::from(u32::MAX)),
        _ => return false,
    }
    true
}

fn checker(p: &mut Parser<'_>, st: &Stmt) -> Checker {
    let kind = match st.name() {
        "TCP_CHECK" => CheckerKind::Tcp,
        "HTTP_GET" => CheckerKind::Http(HttpCheck::default()),
        "SSL_GET" => CheckerKind::Ssl(HttpCheck::default()),
        "SMTP_CHECK" => CheckerKind::Smtp(SmtpCheck::default()),
        "MISC_CHECK" => CheckerKind::Misc(Box::default()),
        "DNS_CHECK" => CheckerKind::Dns(DnsCheck::default()),
        "UDP_CHECK" => CheckerKind::Udp(UdpCheck::default()),
        "PING_CHECK" => CheckerKind::Ping,
        _ => CheckerKind::File(FileCheck::default()),
    };
    let mut c = Checker {
        kind,
        connect: None,
        timing: CheckTiming::default(),
        log_all_failures: None,
        extra: Extra::default(),
        span: st.kw.span,
    };
    if !p.open(st) {
        return c;
    }
    let name = st.name().to_owned();
    p.each(st, |p, s| {
        let uses_socket = !matches!(c.kind, CheckerKind::Misc(_) | CheckerKind::File(_));
        if s.name() == "connect_timeout" && uses_socket {
            c.timing.connect_timeout = p.timer(&s, 0.000_001, 86400.0).map(Into::into);
            return;
        }
        if uses_socket && !matches!(c.kind, CheckerKind::Smtp(_)) && connect(p, &s, &mut c.connect)
        {
            return;
        }
        if s.name() == "log_all_failures" {
            c.log_all_failures = Some(p.flag(&s));
            return;
        }
        if s.name() != "connect_timeout" && timing(p, &s, &mut c.timing) {
            return;
        }
        let handled = match &mut c.kind {
            CheckerKind::Http(h) | CheckerKind::Ssl(h) => http_kw(p, &s, h),
            CheckerKind::Smtp(m) => match s.name() {
                "helo_name" => {
                    m.helo_name = p.string(&s);
                    true
                }
                "host" => {
                    let mut h = ConnectOpts::default();
                    if p.open(&s) {
                        p.each(&s, |p, hs| {
                            if hs.name() == "connect_timeout" {
                                h.connect_timeout = p.timer(&hs, 0.000_001, 86400.0);
                            } else if !connect_opt(p, &hs, &mut h) {
                                p.unknown(&hs, "SMTP_CHECK host", CONNECT_KW);
                            }
                        });
                    }
                    m.hosts.push(h);
                    true
                }
                _ => connect(p, &s, &mut c.connect),
            },
            CheckerKind::Misc(m) => match s.name() {
                "misc_path" => {
                    m.path = p.command(&s);
                    true
                }
                "misc_timeout" => {
                    m.timeout = p.timer(&s, 0.000_001, 86400.0);
                    true
                }
                "misc_dynamic" => {
                    m.dynamic = p.flag(&s);
                    true
                }
                "user" => {
                    m.user = p.user(&s);
                    true
                }
                _ => false,
            },
            CheckerKind::Dns(d) => match s.name() {
                "type" => {
                    d.query_type = p.string(&s).map(|t| t.to_ascii_uppercase());
                    if let Some(t) = &d.query_type
                        && !["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"].contains(&t.as_str())
                    {
                        p.error(
                            "bad-value",
                            s.full_span(),
                            format!(
                                "DNS_CHECK type '{t}' is not one of A NS CNAME SOA MX TXT AAAA"
                            ),
                        );
                    }
                    true
                }
                "name" => {
                    d.name = p.string(&s);
                    true
                }
                _ => false,
            },
            CheckerKind::Udp(u) => match s.name() {
                "payload" => {
                    u.payload = p.string(&s);
                    true
                }
                "require_reply" => {
                    u.require_reply = Some(st_opt(&s));
                    true
                }
                "min_reply_length" => {
                    u.min_reply_length = p.int(&s, 0, 65535);
                    true
                }
                "max_reply_length" => {
                    u.max_reply_length = p.int(&s, 0, 65535);
                    true
                }
                _ => false,
            },
            CheckerKind::File(f) => match s.name() {
                "track_file" => {
                    f.track_file = p.one(&s).map(|t| Spanned::new(t.text.clone(), t.span));
                    true
                }
                "weight" => {
                    let (w, r) = weight(p, &s);
                    f.weight = w;
                    f.reverse = r;
                    true
                }
                "dynamic" => {
                    f.dynamic = p.flag(&s);
                    true
                }
                _ => false,
            },
            CheckerKind::Tcp | CheckerKind::Ping => false,
        };
        if !handled {
            let mut known: Vec<&str> = TIMING_KW.to_vec();
            if uses_socket {
                known.extend(CONNECT_KW);
            }
            known.extend(match &c.kind {
                CheckerKind::Http(_) | CheckerKind::Ssl(_) => HTTP_KW,
                CheckerKind::Smtp(_) => SMTP_KW,
                CheckerKind::Misc(_) => MISC_KW,
                CheckerKind::Dns(_) => DNS_KW,
                CheckerKind::Udp(_) => UDP_KW,
                CheckerKind::File(_) => FILE_KW,
                _ => &[],
            });
            if matches!(c.kind, CheckerKind::Http(_) | CheckerKind::Ssl(_))
                && HTTP_RAW.contains(&s.name())
            {
                p.keep_raw(&s, &mut c.extra);
            } else {
                p.unknown(&s, &name, &known);
            }
        }
    });
    if c.connect.as_deref() == Some(&ConnectOpts::NONE) {
        // Only invalid values were given: they were reported, and nothing is set.
        c.connect = None;
    }
    match &c.kind {
        CheckerKind::Misc(m) if m.path.is_none() => {
            p.error(
                "missing-keyword",
                st.kw.span,
                "MISC_CHECK has no 'misc_path'; the checker is ignored",
            );
        }
        CheckerKind::File(f) if f.track_file.is_none() => {
            p.error(
                "missing-keyword",
                st.kw.span,
                "FILE_CHECK has no 'track_file'; the checker is ignored",
            );
        }
        CheckerKind::Http(h) | CheckerKind::Ssl(h) if h.urls.is_empty() => {
            p.error(
                "missing-keyword",
                st.kw.span,
                format!("{} has no 'url {{ }}'; the checker is ignored", st.name()),
            );
        }
        _ => {}
    }
    c
}

fn st_opt(s: &Stmt) -> Option<String> {
    s.args.first().map(|t| t.text.clone())
}

fn http_kw(p: &mut Parser<'_>, s: &Stmt, h: &mut HttpCheck) -> bool {
    match s.name() {
        "url" => {
            let mut u = Url {
                span: s.kw.span,
                ..Url::default()
            };
            let mut extra: Vec<RawStatement> = Vec::new();
            let mut path = String::new();
            let mut codes = Vec::new();
            if p.open(s) {
                p.each(s, |p, us| match us.name() {
                    "path" => path = p.string(&us).unwrap_or_default(),
                    "digest" => {
                        if let Some(d) = p.string(&us) {
                            if d.len() != 32 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                                p.error(
                                    "bad-value",
                                    us.full_span(),
                                    "digest must be 32 hexadecimal digits (an MD5 sum)",
                                );
                            }
                            u.digest = Some(d.to_ascii_lowercase().into_boxed_str());
                        }
                    }
                    "status_code" => status_codes(p, &us, &mut codes),
                    "virtualhost" => u.virtualhost = p.string(&us).map(Into::into),
                    "regex" => u.regex = p.string(&us).map(Into::into),
                    "regex_no_match" => u.regex_no_match = p.flag(&us),
                    n if URL_RAW.contains(&n) => p.keep_raw(&us, &mut extra),
                    _ => p.unknown(&us, "url", &concat(URL_KW, URL_RAW)),
                });
            }
            u.path = p.interned.str(&path);
            u.status_code = p.interned.codes(&codes);
            if u.path.is_empty() {
                p.error("missing-keyword", s.kw.span, "url has no 'path'");
            }
            // Usually one url per checker: push into the exact-size list directly, without the
            // capacity of 4 that a first push gives.
            h.urls.reserve_exact(1);
            h.urls.push(u);
        }
        "virtualhost" => h.virtualhost = p.string(s).map(Into::into),
        "http_protocol" => {
            if let Some(v) = p.string(s) {
                if !["1.0", "1.0C", "1.0c", "1.1"].contains(&v.as_str()) {
                    p.error(
                        "bad-value",
                        s.full_span(),
                        format!("http_protocol '{v}' is not 1.0, 1.0C or 1.1"),
                    );
                }
                h.http_protocol = Some(v.into_boxed_str());
            }
        }
        "enable_sni" => h.enable_sni = p.flag(s),
        "fast_recovery" => h.fast_recovery = p.flag(s),
        _ => return false,
    }
    true
}

/// `status_code 200 301-303 …`.
fn status_codes(p: &mut Parser<'_>, s: &Stmt, out: &mut Vec<(u16, u16)>) {
    if s.args.is_empty() {
        p.error(
            "missing-argument",
            s.kw.span,
            "status_code needs at least one code or range",
        );
    }
    for t in &s.args {
        let (a, b) = t.text.split_once('-').unwrap_or((&t.text, &t.text));
        match (a.parse::<u16>(), b.parse::<u16>()) {
            (Ok(a), Ok(b)) if (100..=599).contains(&a) && (a..=599).contains(&b) => {
                out.push((a, b));
            }
            _ => p.error(
                "bad-value",
                t.span,
                format!(
                    "'{}' is not an HTTP status code (100-599) or a range of them",
                    t.text
                ),
            ),
        }
    }
}

fn ssl(p: &mut Parser<'_>, owner: &Stmt, s: &mut SslConfig) {
    p.each(owner, |p, st| match st.name() {
        "password" => s.password = p.string(&st),
        "ca" => s.ca = p.string(&st),
        "certificate" => s.certificate = p.string(&st),
        "key" => s.key = p.string(&st),
        _ => p.unknown(&st, "SSL", SSL_KW),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every keyword in a table reaches its handler: none is reported as unknown.
    fn handled(wrap: &dyn Fn(&str) -> String, kws: &[&str]) {
        for kw in kws {
            let text = wrap(&format!("{kw} 1"));
            let p = crate::parse_str(&text, "k.conf");
            assert!(
                !p.diagnostics.iter().any(|d| d.code == "unknown-keyword"),
                "{kw}:\n{}",
                p.render()
            );
        }
    }

    #[test]
    fn every_listed_keyword_is_handled() {
        handled(&|s| format!("{s}\n"), &concat(ROOT_KW, ROOT_RAW));
        handled(
            &|s| format!("global_defs {{\n{s}\n}}\n"),
            &concat(GLOBAL_KW, GLOBAL_RAW),
        );
        handled(
            &|s| format!("vrrp_instance V {{\n{s}\n}}\n"),
            &concat(INSTANCE_KW, INSTANCE_RAW),
        );
        handled(
            &|s| format!("vrrp_instance V {{\nauthentication {{\n{s}\n}}\n}}\n"),
            AUTH_KW,
        );
        handled(
            &|s| format!("vrrp_sync_group G {{\n{s}\n}}\n"),
            &concat(SYNC_KW, SYNC_RAW),
        );
        handled(&|s| format!("vrrp_script S {{\n{s}\n}}\n"), SCRIPT_KW);
        handled(&|s| format!("track_file F {{\n{s}\n}}\n"), TRACK_FILE_KW);
        handled(&|s| format!("SSL {{\n{s}\n}}\n"), SSL_KW);
        handled(
            &|s| format!("virtual_server 10.0.0.1 80 {{\n{s}\n}}\n"),
            &concat(VS_KW, VS_RAW),
        );
        let rs = |s: &str| {
            format!("virtual_server 10.0.0.1 80 {{\nreal_server 10.0.0.2 80 {{\n{s}\n}}\n}}\n")
        };
        handled(&rs, &concat(RS_KW, RS_RAW));
        let socket_checkers: &[(&str, &[&str])] = &[
            ("TCP_CHECK", &[]),
            ("HTTP_GET", &concat(HTTP_KW, HTTP_RAW)),
            ("SSL_GET", HTTP_KW),
            ("SMTP_CHECK", SMTP_KW),
            ("DNS_CHECK", DNS_KW),
            ("UDP_CHECK", UDP_KW),
            ("PING_CHECK", &[]),
        ];
        for (checker, own) in socket_checkers {
            let wrap = |s: &str| rs(&format!("{checker} {{\n{s}\n}}"));
            handled(&wrap, own);
            handled(&wrap, CONNECT_KW);
            handled(&wrap, TIMING_KW);
        }
        for (checker, own) in [("MISC_CHECK", MISC_KW), ("FILE_CHECK", FILE_KW)] {
            let wrap = |s: &str| rs(&format!("{checker} {{\n{s}\n}}"));
            handled(&wrap, own);
            handled(&wrap, TIMING_KW);
        }
        handled(
            &|s| rs(&format!("HTTP_GET {{\nurl {{\n{s}\n}}\n}}")),
            &concat(URL_KW, URL_RAW),
        );
        handled(
            &|s| rs(&format!("SMTP_CHECK {{\nhost {{\n{s}\n}}\n}}")),
            CONNECT_KW,
        );
    }
}
