//! Property: printing a model and parsing the text again gives the same model.

#![allow(clippy::unwrap_used, clippy::panic)] // tests may unwrap

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use confparse::model::*;
use confparse::{Span, Spanned};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

/// Names: identifiers as people write them.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_.-]{0,10}"
}

/// Free text with the characters that need quoting or escaping (no `$`: keepalived's language
/// has no escape for `${`, see `to_conf`).
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_./:@~ #!'\"{}\\\\-]{1,14}"
}

fn command() -> impl Strategy<Value = Command> {
    vec(prop_oneof![text(), Just(String::new())], 1..4)
        .prop_filter("program name not empty", |a| !a[0].is_empty())
        .prop_map(Command::new)
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        any::<u128>().prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
    ]
}

fn secs(max_centis: u64) -> impl Strategy<Value = Duration> {
    (1..max_centis).prop_map(|c| Duration::from_millis(c * 10))
}

fn address() -> impl Strategy<Value = IpAddress> {
    (
        ip(),
        any::<u8>(),
        of(name()),
        of(0..5u8),
        of(name()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(addr, len, dev, scope, label, brd, no_track)| {
            let max = if addr.is_ipv4() { 33 } else { 129 };
            let scope = scope.map(|s| {
                [
                    Scope::Global,
                    Scope::Site,
                    Scope::Link,
                    Scope::Host,
                    Scope::Nowhere,
                ][s as usize]
            });
            IpAddress {
                prefix: IpPrefix {
                    addr,
                    len: len % max,
                },
                dev,
                scope,
                broadcast: (brd && addr.is_ipv4()).then(|| "192.0.2.255".to_owned()),
                label,
                peer: None,
                no_track,
                options: Vec::new(),
                span: Span::NONE,
            }
        })
}

fn track() -> impl Strategy<Value = Track> {
    (name(), of(-254..=254i32), any::<bool>()).prop_map(|(name, weight, reverse)| Track {
        name,
        weight,
        reverse,
        span: Span::NONE,
    })
}

fn script() -> impl Strategy<Value = VrrpScript> {
    (
        name(),
        command(),
        secs(10_000),
        of(secs(1000)),
        -254..=254i32,
        1..10u32,
        1..10u32,
        any::<bool>(),
    )
        .prop_map(
            |(name, cmd, interval, timeout, weight, rise, fall, init_fail)| VrrpScript {
                name,
                script: Some(cmd),
                interval,
                timeout,
                weight,
                rise,
                fall,
                init_fail,
                ..VrrpScript::default()
            },
        )
}

fn instance() -> impl Strategy<Value = VrrpInstance> {
    (
        (
            name(),
            any::<bool>(),
            of(name()),
            1..=255u8,
            of(1..=255u8),
            secs(25_500),
            of(2..=3u8),
        ),
        (
            vec(address(), 0..4),
            vec(track(), 0..3),
            of(vec(ip(), 0..3)),
            any::<bool>(),
        ),
        (of(command()), of(command()), of(text()), of(ip())),
    )
        .prop_map(
            |(
                (name, master, ifname, vrid, prio, adv, version),
                (vips, tracks, peers, nopreempt),
                (nm, nb, pass, src),
            )| {
                VrrpInstance {
                    name,
                    state: if master {
                        InitialState::Master
                    } else {
                        InitialState::Backup
                    },
                    interface: ifname.map(|i| Spanned::new(i, Span::NONE)),
                    virtual_router_id: Some(Spanned::new(vrid, Span::NONE)),
                    priority: prio.map(|p| Spanned::new(p, Span::NONE)),
                    advert_int: adv,
                    version,
                    virtual_ipaddress: vips,
                    track_script: tracks,
                    unicast_peer: peers.map(|p| {
                        Spanned::new(
                            p.into_iter()
                                .map(|addr| UnicastPeer {
                                    addr,
                                    min_ttl: None,
                                    max_ttl: Some(255),
                                    span: Span::NONE,
                                })
                                .collect(),
                            Span::NONE,
                        )
                    }),
                    unicast_src_ip: src.map(|s| Spanned::new(s, Span::NONE)),
                    nopreempt: nopreempt.then_some(Span::NONE),
                    notify: Notify {
                        master: nm,
                        backup: nb,
                        ..Notify::default()
                    },
                    authentication: pass.map(|p| {
                        let mut p = p;
                        p.truncate(8);
                        Spanned::new(
                            Authentication {
                                auth_type: Some(AuthType::Pass),
                                auth_pass: Some(p),
                            },
                            Span::NONE,
                        )
                    }),
                    ..VrrpInstance::default()
                }
            },
        )
}

fn checker() -> impl Strategy<Value = Checker> {
    let url = (
        text(),
        of("[0-9a-f]{32}"),
        vec((200..300u16, 0..50u16), 0..3),
    )
        .prop_map(|(path, digest, codes)| Url {
            path: path.into(),
            digest: digest.map(Into::into),
            status_code: codes.into_iter().map(|(a, d)| (a, a + d)).collect(),
            ..Url::default()
        });
    let kind = prop_oneof![
        Just(CheckerKind::Tcp),
        vec(url, 1..3).prop_map(|urls| CheckerKind::Http(HttpCheck {
            urls,
            ..HttpCheck::default()
        })),
        (command(), any::<bool>()).prop_map(|(c, dynamic)| CheckerKind::Misc(Box::new(
            MiscCheck {
                path: Some(c),
                dynamic,
                ..MiscCheck::default()
            }
        ))),
        Just(CheckerKind::Ping),
    ];
    (kind, of(1..65535u16), of(0..10u32), of(secs(10_000))).prop_map(
        |(kind, port, retry, delay)| {
            let socket = !matches!(kind, CheckerKind::Misc(_));
            Checker {
                kind,
                connect: port.filter(|_| socket).map(|port| {
                    Box::new(ConnectOpts {
                        connect_port: Some(port),
                        ..ConnectOpts::default()
                    })
                }),
                timing: CheckTiming {
                    retry,
                    delay_before_retry: delay.map(Into::into),
                    ..CheckTiming::default()
                },
                log_all_failures: None,
                extra: Extra::default(),
                span: Span::NONE,
            }
        },
    )
}

fn virtual_server() -> impl Strategy<Value = VirtualServer> {
    let key = prop_oneof![
        (ip(), any::<u16>()).prop_map(|(a, p)| VsKey::Addr(SocketAddr::new(a, p))),
        (1..u32::MAX).prop_map(VsKey::Fwmark),
        name().prop_map(VsKey::Group),
    ];
    let rs = (
        ip(),
        any::<u16>(),
        0..100i32,
        vec(checker(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(a, p, weight, checkers, inhibit)| {
            let mut r = RealServer::new(SocketAddr::new(a, p));
            r.weight = weight;
            r.checkers = checkers;
            r.inhibit_on_failure = inhibit;
            r
        });
    (
        key,
        name(),
        0..3usize,
        of(0..3usize),
        vec(rs, 0..4),
        of(secs(100_000)),
        1..5u32,
        of(command()),
    )
        .prop_map(
            |(key, algo, kind, proto, real_servers, delay_loop, quorum, up)| {
                let mut vs = VirtualServer::new(key);
                vs.lb_algo = algo;
                vs.lb_kind = [LbKind::Nat, LbKind::Dr, LbKind::Tun][kind];
                vs.protocol = proto.map(|p| [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][p]);
                vs.real_servers = real_servers;
                vs.timing.delay_loop = delay_loop.map(Into::into);
                vs.quorum = quorum;
                vs.quorum_up = up;
                vs
            },
        )
}

fn config() -> impl Strategy<Value = Config> {
    (
        (
            of(text()),
            vec(text(), 0..3),
            2..=3u8,
            any::<bool>(),
            of(1..100u32),
        ),
        vec(script(), 0..3),
        vec(instance(), 0..3),
        vec(virtual_server(), 0..3),
        vec(address(), 0..2),
    )
        .prop_map(
            |((router_id, emails, version, strict, repeat), scripts, instances, vss, statics)| {
                let mut c = Config::default();
                c.global.router_id = router_id;
                c.global.notification_email = emails;
                c.global.vrrp_version = version;
                c.global.vrrp_strict = strict;
                c.global.garp.master_repeat = repeat;
                c.vrrp_scripts = scripts;
                c.instances = instances;
                c.virtual_servers = vss;
                c.static_ipaddress = statics;
                c
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_of_print_is_identity(c in config()) {
        let text = confparse::to_conf(&c);
        let parsed = confparse::parse_str(&text, "roundtrip.conf");
        let syntax: Vec<_> = parsed.diagnostics.iter()
            .filter(|d| !matches!(d.code, "duplicate" | "duplicate-vrid" | "undefined-reference" | "mixed-family"
                | "missing-keyword" | "vrrpv2-advert" | "vrrpv3-auth" | "vrrpv3-limit" | "strict" | "strict-accept"
                | "empty-unicast-peer" | "nopreempt-master" | "weight-no-effect" | "quorum-unreachable" | "too-many-vips"
                | "truncated" | "ignored" | "peer-is-local" | "auth-ipv6" | "sync-group-single"))
            .collect();
        prop_assert!(syntax.is_empty(), "{}\n{}", text, parsed.render());
        prop_assert_eq!(&parsed.config, &c, "{}", text);
    }
}
