//! Every diagnostic the parser and the checks produce, each on a small configuration written for
//! the test, with the place it points at.

#![allow(clippy::unwrap_used, clippy::panic)] // tests may unwrap

use std::net::IpAddr;

use confparse::{HostFacts, Options, Severity};

fn parse(text: &str) -> confparse::Parsed {
    confparse::parse_str(text, "t.conf")
}

/// (code, line, column) of every finding.
fn found(text: &str) -> Vec<(&'static str, u32, u32)> {
    parse(text)
        .diagnostics
        .iter()
        .map(|d| (d.code, d.span.line, d.span.col))
        .collect()
}

fn auth_pass(p: &confparse::Parsed) -> Option<&str> {
    let auth = p.config.instances[0].authentication.as_ref()?;
    auth.value.auth_pass.as_deref()
}

fn has(text: &str, code: &str, line: u32, col: u32) {
    let f = found(text);
    assert!(
        f.contains(&(code, line, col)),
        "expected {code} at {line}:{col}, got {f:?}\n{}",
        parse(text).render()
    );
}

const BASE: &str = "vrrp_instance V {\n interface lan0\n virtual_router_id 1\n";

#[test]
fn unknown_keyword_with_suggestion_and_block_skipped() {
    let t = "vrrp_instance V {\n  interface lan0\n  virtual_router_id 1\n  prority 100\n  virtual_ipadress {\n    10.0.0.1\n  }\n  priority 50\n}\n";
    let p = parse(t);
    assert_eq!(p.diagnostics.len(), 2, "{}", p.render());
    assert_eq!(
        p.diagnostics[0].help.as_deref(),
        Some("did you mean 'priority'?")
    );
    assert_eq!(
        p.diagnostics[1].help.as_deref(),
        Some("did you mean 'virtual_ipaddress'?")
    );
    // The unknown block is skipped as a whole: its '}' does not close the instance (1.2.13 bug).
    assert_eq!(p.config.instances[0].priority(), 50);
    let text = p.render();
    assert!(text.contains("t.conf:4:3"), "{text}");
    assert!(text.contains("4 |   prority 100\n  |   ^^^^^^^"), "{text}");
}

#[test]
fn keyword_in_the_wrong_block() {
    let p = parse("global_defs {\n  virtual_router_id 5\n}\n");
    assert_eq!(
        p.diagnostics[0].help.as_deref(),
        Some("'virtual_router_id' belongs in vrrp_instance")
    );
}

#[test]
fn one_line_blocks_and_brace_on_next_line() {
    let p = parse(
        "vrrp_instance V\n{\n interface lan0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 10.0.0.2/24 }\n}\n",
    );
    assert!(
        p.diagnostics.iter().all(|d| d.code == "unknown-option"),
        "{}",
        p.render()
    );
    // `10.0.0.2/24` on the same line is an unknown option of the first address, and says so.
    has(
        "vrrp_instance V\n{\n interface lan0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 10.0.0.2/24 }\n}\n",
        "unknown-option",
        5,
        31,
    );
    let p = parse("vrrp_instance V { interface lan0; }\n");
    assert!(!p.diagnostics.is_empty());
}

#[test]
fn brace_balance() {
    has(
        "vrrp_instance V {\n interface lan0\n",
        "missing-brace",
        1,
        1,
    );
    has("global_defs {\n}\n}\n", "extra-brace", 3, 1);
    has(
        "global_defs {\n router_id x\n {\n a\n }\n}\n",
        "unexpected-brace",
        3,
        2,
    );
    has("vrrp_instance V\n interface lan0\n", "expected-block", 1, 1);
}

#[test]
fn values_and_ranges() {
    has(&format!("{BASE} priority 256\n}}\n"), "out-of-range", 4, 11);
    has(
        &format!("{BASE} priority high\n}}\n"),
        "not-a-number",
        4,
        11,
    );
    has(
        "vrrp_instance V {\n interface lan0\n virtual_router_id 0\n}\n",
        "out-of-range",
        3,
        20,
    );
    has(
        &format!("{BASE} advert_int 0.001\n}}\n"),
        "out-of-range",
        4,
        13,
    );
    has(&format!("{BASE} state master\n}}\n"), "bad-value", 4, 8);
    has(
        &format!("{BASE} nopreempt maybe\n}}\n"),
        "not-a-boolean",
        4,
        12,
    );
    has(
        &format!("{BASE} unicast_src_ip 10.0.0.300\n}}\n"),
        "bad-address",
        4,
        17,
    );
    has(&format!("{BASE} interface\n}}\n"), "missing-argument", 4, 2);
    has(
        "global_defs {\n router_id a b\n}\n",
        "extra-arguments",
        2,
        14,
    );
    has(
        "virtual_server 10.0.0.1 80 {\n lb_kind FNAT\n}\n",
        "bad-value",
        2,
        10,
    );
    has(
        "virtual_server 10.0.0.1 80 {\n persistence_timeout 0\n}\n",
        "out-of-range",
        2,
        22,
    );
    has(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    path /\n    status_code 2000\n   }\n  }\n }\n}\n",
        "bad-value",
        6,
        17,
    );
}

#[test]
fn auth_pass_longer_than_8() {
    let t =
        format!("{BASE} authentication {{\n  auth_type PASS\n  auth_pass 0123456789\n }}\n}}\n");
    has(&t, "auth-pass-truncated", 6, 13);
    let p = parse(&t);
    assert_eq!(auth_pass(&p), Some("01234567"));
}

#[test]
fn comment_character_inside_a_word() {
    has(
        &format!("{BASE} authentication {{\n  auth_pass ab!cd\n }}\n}}\n"),
        "comment-in-word",
        5,
        15,
    );
    // Quoted, it is the password.
    let p = parse(&format!(
        "{BASE} authentication {{\n  auth_pass \"ab!cd\"\n }}\n}}\n"
    ));
    assert_eq!(auth_pass(&p), Some("ab!cd"));
}

#[test]
fn undefined_references() {
    has(
        &format!(
            "vrrp_script chk {{\n script /bin/true\n}}\n{BASE} track_script {{\n  chk_typo\n }}\n}}\n"
        ),
        "undefined-reference",
        8,
        3,
    );
    let p = parse(&format!(
        "vrrp_script chk_web {{\n script /bin/true\n}}\n{BASE} track_script {{\n  chk_wbe\n }}\n}}\n"
    ));
    assert_eq!(
        p.diagnostics[0].help.as_deref(),
        Some("did you mean 'chk_web'?")
    );
    has(
        "vrrp_sync_group G {\n group {\n  VI_9\n }\n}\n",
        "undefined-reference",
        3,
        3,
    );
    has("vrrp_sync_group G {\n}\n", "missing-keyword", 1, 1);
    has(
        "virtual_server group NOPE {\n}\n",
        "undefined-reference",
        1,
        1,
    );
    has(
        &format!("{BASE} track_file {{\n  nofile\n }}\n}}\n"),
        "undefined-reference",
        5,
        3,
    );
}

#[test]
fn duplicates() {
    let two = "vrrp_instance A {\n interface lan0\n virtual_router_id 7\n}\nvrrp_instance B {\n interface lan0\n virtual_router_id 7\n}\n";
    has(two, "duplicate-vrid", 7, 20);
    // Same VRID on another interface is fine.
    let ok = "vrrp_instance A {\n interface lan0\n virtual_router_id 7\n}\nvrrp_instance B {\n interface lan1\n virtual_router_id 7\n}\n";
    assert!(found(ok).is_empty());
    has(
        "vrrp_instance A {\n interface lan0\n virtual_router_id 7\n}\nvrrp_instance A {\n interface lan1\n virtual_router_id 8\n}\n",
        "duplicate",
        5,
        1,
    );
    has(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80\n real_server 10.0.0.2 80\n}\n",
        "duplicate",
        3,
        2,
    );
}

#[test]
fn loopback_interface() {
    has(
        "vrrp_instance V {\n interface lo\n virtual_router_id 1\n}\n",
        "loopback-interface",
        2,
        12,
    );
}

#[test]
fn vrrp_versions() {
    has(
        &format!("{BASE} advert_int 0.5\n}}\n"),
        "vrrpv2-advert",
        1,
        1,
    );
    assert!(found(&format!("{BASE} version 3\n advert_int 0.5\n}}\n")).is_empty());
    has(
        &format!("{BASE} version 3\n advert_int 50\n}}\n"),
        "vrrpv3-limit",
        1,
        1,
    );
    has(
        &format!(
            "{BASE} version 3\n authentication {{\n  auth_type PASS\n  auth_pass x\n }}\n}}\n"
        ),
        "vrrpv3-auth",
        5,
        2,
    );
}

#[test]
fn address_families() {
    has(
        &format!("{BASE} virtual_ipaddress {{\n  10.0.0.1\n  2001:db8::1\n }}\n}}\n"),
        "mixed-family",
        6,
        3,
    );
    has(
        &format!(
            "{BASE} unicast_peer {{\n  2001:db8::1\n }}\n virtual_ipaddress {{\n  10.0.0.1\n }}\n}}\n"
        ),
        "mixed-family",
        5,
        3,
    );
}

#[test]
fn more_traps() {
    has(
        &format!("{BASE} state MASTER\n preempt_delay 10\n}}\n"),
        "preempt-delay-master",
        1,
        1,
    );
    has(
        &format!(
            "{BASE} unicast_src_ip 10.0.0.1\n unicast_peer {{\n  10.0.0.2\n  10.0.0.1\n }}\n}}\n"
        ),
        "peer-is-local",
        7,
        3,
    );
}

#[test]
fn traps() {
    has(
        &format!("{BASE} state MASTER\n nopreempt\n}}\n"),
        "nopreempt-master",
        5,
        2,
    );
    has(
        &format!("{BASE} unicast_peer {{\n }}\n}}\n"),
        "empty-unicast-peer",
        4,
        2,
    );
    has(
        &format!(
            "global_defs {{\n vrrp_strict\n}}\n{BASE} virtual_ipaddress {{\n  10.0.0.1\n }}\n}}\n"
        ),
        "strict-accept",
        4,
        1,
    );
    has(
        &format!(
            "global_defs {{\n vrrp_strict\n}}\n{BASE} unicast_peer {{\n  10.0.0.2\n }}\n accept\n}}\n"
        ),
        "strict",
        4,
        1,
    );
    // A priority-255 owner cannot have its priority lowered by weights.
    has(
        &format!(
            "vrrp_script s {{\n script /bin/true\n weight -50\n}}\n{BASE} priority 255\n track_script {{\n  s\n }}\n}}\n"
        ),
        "weight-no-effect",
        10,
        3,
    );
    // In a sync group without sync_group_tracking_weight, weights are ignored.
    let t = format!(
        "vrrp_script s {{\n script /bin/true\n}}\n{BASE} track_script {{\n  s weight -20\n }}\n}}\nvrrp_instance W {{\n interface lan0\n virtual_router_id 2\n}}\nvrrp_sync_group G {{\n group {{\n  V W\n }}\n}}\n"
    );
    has(&t, "weight-no-effect", 8, 3);
    assert!(
        found(&t.replace(
            "group {\n  V W\n }",
            "group {\n  V W\n }\n sync_group_tracking_weight"
        ))
        .is_empty()
    );
    has(
        "vrrp_instance V {\n interface lan0\n virtual_router_id 1\n}\nvrrp_sync_group G {\n group {\n  V\n }\n}\n",
        "sync-group-single",
        5,
        1,
    );
    has(
        "virtual_server 10.0.0.1 80 {\n quorum 5\n real_server 10.0.0.2 80\n}\n",
        "quorum-unreachable",
        1,
        1,
    );
}

struct FakeHost;
impl HostFacts for FakeHost {
    fn has_interface(&self, name: &str) -> Option<bool> {
        Some(name == "lan0")
    }
    fn has_address(&self, addr: IpAddr) -> Option<bool> {
        Some(addr == "10.0.0.5".parse::<IpAddr>().unwrap())
    }
    fn has_program(&self, path: &std::path::Path) -> Option<bool> {
        Some(path == std::path::Path::new("/bin/sh"))
    }
}

#[test]
fn host_facts() {
    let text = "vrrp_instance V {\n interface lan7\n virtual_router_id 1\n unicast_src_ip 10.0.0.6\n unicast_peer {\n  10.0.0.5\n }\n notify_master \"/opt/x.sh up\"\n notify_backup /bin/sh -c true\n}\n";
    let mut l = confparse::MemLoader::new();
    l.add("/h.conf", text);
    let p = confparse::parse_with(
        &l,
        std::path::Path::new("/h.conf"),
        &Options {
            config_id: None,
            host: &FakeHost,
        },
    )
    .unwrap();
    let f: Vec<_> = p
        .diagnostics
        .iter()
        .map(|d| (d.code, d.span.line, d.span.col))
        .collect();
    assert!(f.contains(&("no-such-interface", 2, 12)), "{f:?}");
    assert!(f.contains(&("no-such-address", 4, 17)), "{f:?}");
    assert!(f.contains(&("peer-is-local", 6, 3)), "{f:?}");
    assert!(f.contains(&("no-such-program", 8, 16)), "{f:?}");
    assert_eq!(f.len(), 4, "{f:?}");
    // Without host facts those checks are skipped.
    assert!(found(text).is_empty());
}

#[test]
fn deprecated_and_obsolete_are_warnings_not_errors() {
    let p = parse(
        "global_defs {\n lvs_id x\n}\nvirtual_server 10.0.0.1 80 {\n nat_mask 255.255.255.0\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   nb_get_retry 2\n   url {\n    path /\n   }\n  }\n }\n}\n",
    );
    assert_eq!(p.diagnostics.len(), 3, "{}", p.render());
    assert!(
        p.diagnostics
            .iter()
            .all(|d| d.severity == Severity::Warning)
    );
    assert_eq!(
        p.config.virtual_servers[0].real_servers[0].checkers[0]
            .timing
            .retry,
        Some(2)
    );
}

#[test]
fn not_implemented_is_kept_and_reported() {
    let p = parse(
        "global_defs {\n vrrp_iptables KA-IN KA-OUT\n}\nvrrp_instance V {\n interface lan0\n virtual_router_id 1\n track_process {\n  p1\n }\n}\n",
    );
    assert_eq!(
        found("global_defs {\n vrrp_iptables KA-IN KA-OUT\n}\n"),
        [("not-implemented", 2, 2)]
    );
    assert_eq!(
        p.config.global.extra[0].words,
        ["vrrp_iptables", "KA-IN", "KA-OUT"]
    );
    let raw = &p.config.instances[0].extra[0];
    assert_eq!(
        raw.block.as_ref().map(|b| b[0].words.clone()),
        Some(vec!["p1".to_owned()])
    );
    // And printed back.
    let text = confparse::to_conf(&p.config);
    assert!(
        text.contains("vrrp_iptables KA-IN KA-OUT") && text.contains("track_process {"),
        "{text}"
    );
}

#[test]
fn sorted_and_rendered_with_file_names() {
    let p = parse("zzz\nglobal_defs {\n rooter_id a\n}\n");
    let lines: Vec<u32> = p.diagnostics.iter().map(|d| d.span.line).collect();
    assert_eq!(lines, [1, 3]);
    assert!(p.has_errors());
    let r = p.render();
    assert!(
        r.starts_with("error: unknown keyword 'zzz' at the top level")
            || r.starts_with("error: unknown keyword 'zzz' in the top level"),
        "{r}"
    );
    assert!(r.contains("--> t.conf:3:2"), "{r}");
}

#[test]
fn extra_arguments_are_never_dropped_silently() {
    has(
        &format!("{BASE} nopreempt on now\n}}\n"),
        "extra-arguments",
        4,
        15,
    );
    has(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 81\n}\n",
        "extra-arguments",
        2,
        26,
    );
    has(
        "virtual_server_group G {\n 10.0.0.1 80 90\n}\n",
        "extra-arguments",
        2,
        14,
    );
    has(
        "global_defs {\n smtp_server 192.0.2.1 25 x\n}\n",
        "extra-arguments",
        2,
        27,
    );
}

#[test]
fn mcast_dst_ip_is_typed_and_must_be_multicast() {
    let p = parse(&format!("{BASE} mcast_dst_ip 224.0.0.88\n}}\n"));
    assert_eq!(
        p.config.instances[0].mcast_dst_ip.as_ref().map(|s| s.value),
        Some("224.0.0.88".parse::<IpAddr>().unwrap())
    );
    assert!(
        !found(&format!("{BASE} mcast_dst_ip 224.0.0.88\n}}\n"))
            .iter()
            .any(|(code, _, _)| *code == "not-implemented")
    );
    let text = format!("{BASE} mcast_dst_ip 10.0.0.1\n}}\n");
    has(&text, "bad-address", 4, 15);
    assert!(parse(&text).config.instances[0].mcast_dst_ip.is_none());
}

#[test]
fn ipv6_instances_are_vrrpv3_without_a_version() {
    // keepalived 2.x runs IPv6 instances as VRRPv3 whatever `vrrp_version` says: a sub-second
    // interval is fine there.
    let text = format!("{BASE} advert_int 0.1\n virtual_ipaddress {{\n  fd00::1/64\n }}\n}}\n");
    let p = parse(&text);
    assert!(
        !p.diagnostics.iter().any(|d| d.severity == Severity::Error),
        "{}",
        p.render()
    );
    assert_eq!(p.config.instances[0].version(&p.config.global), 3);
}

/// STARTTLS and AUTH for alerts (keepalived-rs extension): accepted without a word when
/// complete; AUTH that would go in clear text, or lacks half of its credentials, is an error.
#[test]
fn smtp_starttls_and_auth_extension() {
    let g = |body: &str| format!("global_defs {{\n smtp_server mail.example.com 587\n{body}}}\n");
    let clean = parse(&g(
        " smtp_starttls\n smtp_auth_user ka\n smtp_auth_password_file /etc/ka.pw\n",
    ));
    let codes: Vec<_> = clean.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["smtp-host-name"], "{}", clean.render());
    let s = &clean.config.global.smtp_security;
    assert_eq!(s.starttls, Some(confparse::model::StartTls::Required));
    assert_eq!(s.auth_user.as_deref(), Some("ka"));
    // A password written in the configuration is kept, and Debug does not show it.
    let inline = parse(&g(
        " smtp_starttls required\n smtp_auth_user ka\n smtp_auth_password s3cr3t\n",
    ));
    assert_eq!(inline.diagnostics.len(), 1, "{}", inline.render());
    assert!(!format!("{:?}", inline.config).contains("s3cr3t"));
    assert!(confparse::to_conf(&inline.config).contains("smtp_auth_password s3cr3t"));
    has(
        &g(" smtp_auth_user ka\n smtp_auth_password x\n"),
        "smtp-auth-cleartext",
        3,
        2,
    );
    assert_eq!(
        parse(&g(
            " smtp_auth_user ka\n smtp_auth_password x\n smtp_auth_plaintext\n"
        ))
        .diagnostics
        .len(),
        1
    );
    has(
        &g(" smtp_starttls\n smtp_auth_user ka\n"),
        "smtp-auth-incomplete",
        4,
        2,
    );
    has(
        &g(" smtp_starttls\n smtp_auth_password_file /p\n"),
        "smtp-auth-incomplete",
        4,
        2,
    );
    has(&g(" smtp_starttls sometimes\n"), "bad-value", 3, 16);
    has(&g(" smtp_tls_insecure\n"), "smtp-unused", 3, 2);
    has(
        &g(" smtp_starttls opportunistic\n smtp_tls_insecure\n smtp_tls_ca /ca.pem\n"),
        "smtp-unused",
        5,
        2,
    );
}
