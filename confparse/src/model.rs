//! The typed configuration model: what a keepalived.conf means, with keepalived's defaults applied.
//!
//! Every value a keyword can set has a field. Values whose default depends on something else in the
//! configuration (for example a checker's `warmup`, which defaults to the virtual server's
//! `delay_loop`) are `Option`s, where `None` means "inherit"; the consumer resolves them, and
//! accessor methods document the rule. Keywords that keepalived knows but this model does not
//! (yet) give meaning to are kept verbatim in the `extra` field of their block, and a warning says
//! so: nothing is dropped silently.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU64;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::span::{Span, Spanned};

/// A whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `global_defs { }` (several blocks are merged).
    pub global: GlobalDefs,
    /// `static_ipaddress { }` lines.
    pub static_ipaddress: Vec<IpAddress>,
    /// `static_routes { }` lines.
    pub static_routes: Vec<Route>,
    /// `static_rules { }` lines.
    pub static_rules: Vec<Rule>,
    /// `vrrp_script NAME { }` blocks, in file order.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `track_file NAME { }` (and the older `vrrp_track_file`) blocks.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_sync_group NAME { }` blocks.
    pub sync_groups: Vec<SyncGroup>,
    /// `vrrp_instance NAME { }` blocks.
    pub instances: Vec<VrrpInstance>,
    /// The root `SSL { }` block.
    pub ssl: Option<SslConfig>,
    /// `virtual_server_group NAME { }` blocks.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `virtual_server … { }` blocks.
    pub virtual_servers: Vec<VirtualServer>,
    /// Root-level keywords keepalived knows that this model does not interpret.
    pub extra: Vec<RawStatement>,
}

/// A statement kept verbatim: a keyword keepalived accepts that the model does not interpret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawStatement {
    /// Keyword and arguments, as written (quotes removed).
    pub words: Vec<String>,
    /// Nested statements, when the keyword opened a block.
    pub block: Option<Vec<RawStatement>>,
    /// Where the keyword was.
    pub span: Span,
}

/// Statements kept verbatim in a block that a large configuration repeats many times (real
/// servers, checkers): like a `Vec<RawStatement>`, which it dereferences to as a slice, but
/// 8 bytes when empty instead of 24.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(clippy::box_collection)] // deliberate: one pointer when empty, the usual case
pub struct Extra(Option<Box<Vec<RawStatement>>>);

impl Extra {
    /// Adds a statement.
    pub fn push(&mut self, s: RawStatement) {
        self.0.get_or_insert_with(Box::default).push(s);
    }
}

impl Deref for Extra {
    type Target = [RawStatement];
    fn deref(&self) -> &[RawStatement] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl From<Vec<RawStatement>> for Extra {
    fn from(v: Vec<RawStatement>) -> Extra {
        Extra((!v.is_empty()).then(|| Box::new(v)))
    }
}

impl Extend<RawStatement> for Extra {
    fn extend<I: IntoIterator<Item = RawStatement>>(&mut self, iter: I) {
        for s in iter {
            self.push(s);
        }
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = &'a RawStatement;
    type IntoIter = std::slice::Iter<'a, RawStatement>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A command line (a script with arguments), as keepalived 2.x splits it into words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    /// Program and arguments; never empty in a parsed model.
    pub args: Vec<String>,
    /// Where the command was written.
    pub span: Span,
    /// `notify* SCRIPT [USER [GROUP]]`: the user the script runs as (notify scripts only).
    pub user: Option<ScriptUser>,
}

impl Command {
    /// A command from its words (with no source location).
    pub fn new(args: Vec<String>) -> Self {
        Command {
            args,
            span: Span::NONE,
            user: None,
        }
    }
    /// The program (first word).
    pub fn program(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }
}

impl fmt::Display for Command {
    /// Prints the command as one double-quoted string, escaping as needed, so it reads back the same.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| !c.is_whitespace() && !"'\"\\#!{}$".contains(c));
            if plain {
                line.push_str(a);
            } else {
                line.push('\'');
                for c in a.chars() {
                    if c == '\'' {
                        line.push_str("'\\''");
                    } else {
                        line.push(c);
                    }
                }
                line.push('\'');
            }
        }
        f.write_str("\"")?;
        for c in line.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

/// A user (and optional group) that scripts run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptUser {
    /// User name.
    pub user: String,
    /// Group name (default: the user's primary group).
    pub group: Option<String>,
}

/// A notify FIFO: a named pipe that receives one line per state change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyFifo {
    /// Path of the FIFO.
    pub path: String,
    /// Optional `*_fifo_script` that keepalived starts to read the FIFO.
    pub script: Option<Command>,
}

/// `smtp_server IP|NAME [PORT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpServer {
    /// Address or host name as written (keepalived resolves names once, at start-up;
    /// keepalived-rs resolves them for every alert).
    pub host: String,
    /// TCP port (default 25).
    pub port: u16,
}

/// `smtp_starttls [required|opportunistic]` (keepalived-rs extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartTls {
    /// The server must offer STARTTLS and the TLS handshake must succeed, or no mail is sent.
    Required,
    /// STARTTLS when the server offers it, plain SMTP otherwise (never AUTH in clear text
    /// unless `smtp_auth_plaintext`). A failed handshake still fails the mail: no fallback.
    Opportunistic,
}

/// A secret (a password): `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// STARTTLS and AUTH for SMTP alerts: a keepalived-rs extension in `global_defs` (keepalived
/// has neither and rejects these keywords as unknown).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmtpSecurity {
    /// `smtp_starttls [required|opportunistic]` (no value: `required`); `None`: plain SMTP.
    pub starttls: Option<StartTls>,
    /// `smtp_tls_ca FILE`: PEM certificates to trust instead of the system's roots.
    pub tls_ca: Option<String>,
    /// `smtp_tls_insecure`: accept any server certificate (self-signed lab servers).
    pub tls_insecure: bool,
    /// `smtp_auth_user NAME`: log in (AUTH PLAIN or LOGIN) as NAME.
    pub auth_user: Option<String>,
    /// `smtp_auth_password SECRET` (prefer `smtp_auth_password_file`).
    pub auth_password: Option<Secret>,
    /// `smtp_auth_password_file PATH`: the password is the file's first line, read at each alert.
    pub auth_password_file: Option<String>,
    /// `smtp_auth_plaintext`: allow AUTH without TLS (a trusted path to the server only).
    pub auth_plaintext: bool,
}

/// `lvs_sync_daemon INTERFACE INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]`, or the
/// per-instance `lvs_sync_daemon_interface`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    /// Interface the sync daemon uses.
    pub interface: String,
    /// VRRP instance whose state drives the daemon (master/backup).
    pub instance: String,
    /// Sync id (default: the instance's VRID).
    pub id: Option<u8>,
    /// Maximum sync message length.
    pub maxlen: Option<u16>,
    /// UDP port.
    pub port: Option<u16>,
    /// Multicast TTL.
    pub ttl: Option<u8>,
    /// Multicast group.
    pub group: Option<IpAddr>,
}

/// `global_defs { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalDefs {
    /// `router_id` (default: the host name).
    pub router_id: Option<String>,
    /// `notification_email { }` recipients.
    pub notification_email: Vec<String>,
    /// `notification_email_from` (default `<user>@<hostname>`).
    pub notification_email_from: Option<String>,
    /// `smtp_server`; without it no mail is sent.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_connect_timeout` (default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `smtp_helo_name` (default: the host name).
    pub smtp_helo_name: Option<String>,
    /// `smtp_alert` (global default for VRRP and checkers).
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`.
    pub smtp_alert_checker: Option<bool>,
    /// `smtp_starttls`, `smtp_tls_*`, `smtp_auth_*` (keepalived-rs extension).
    pub smtp_security: SmtpSecurity,
    /// `lvs_id` (1.x; unused).
    pub lvs_id: Option<String>,
    /// `lvs_sync_daemon`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `lvs_flush`: flush the IPVS table at start-up.
    pub lvs_flush: bool,
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6` (default `ff02::12`).
    pub vrrp_mcast_group6: Ipv6Addr,
    /// `vrrp_version` 2 or 3 (default 2).
    pub vrrp_version: u8,
    /// `vrrp_strict`.
    pub vrrp_strict: bool,
    /// `vrrp_check_unicast_src`.
    pub vrrp_check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_higher_prio_send_advert`.
    pub vrrp_higher_prio_send_advert: bool,
    /// `vrrp_lower_prio_no_advert`.
    pub vrrp_lower_prio_no_advert: bool,
    /// GARP defaults for every instance (`vrrp_garp_*`, `vrrp_gna_interval`).
    pub garp: GarpSettings,
    /// `vrrp_garp_interval` (delay between gratuitous ARPs on one interface).
    pub vrrp_garp_interval: Option<Duration>,
    /// `vrrp_gna_interval` (delay between unsolicited NAs on one interface).
    pub vrrp_gna_interval: Option<Duration>,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `notify_fifo` / `notify_fifo_script`.
    pub notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_fifo` / `vrrp_notify_fifo_script`.
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    /// `lvs_notify_fifo` / `lvs_notify_fifo_script`.
    pub lvs_notify_fifo: Option<NotifyFifo>,
    /// `enable_traps` (SNMP).
    pub enable_traps: bool,
    /// `linkbeat_use_polling` (root level in 1.2.13, also accepted in `global_defs`).
    pub linkbeat_use_polling: bool,
    /// `default_interface`.
    pub default_interface: Option<String>,
    /// `dynamic_interfaces`.
    pub dynamic_interfaces: bool,
    /// Keywords keepalived knows in `global_defs` that this model does not interpret.
    pub extra: Vec<RawStatement>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_helo_name: None,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            smtp_security: SmtpSecurity::default(),
            lvs_id: None,
            lvs_sync_daemon: None,
            lvs_flush: false,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_version: 2,
            vrrp_strict: false,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_lower_prio_no_advert: false,
            garp: GarpSettings::default(),
            vrrp_garp_interval: None,
            vrrp_gna_interval: None,
            script_user: None,
            enable_script_security: false,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            enable_traps: false,
            linkbeat_use_polling: false,
            default_interface: None,
            dynamic_interfaces: false,
            extra: Vec::new(),
        }
    }
}

/// Gratuitous ARP / unsolicited NA timing. `None` means "inherit": an instance inherits from
/// `global_defs`, which inherits keepalived's defaults (see the accessors).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GarpSettings {
    /// `garp_master_delay`: delay before the second burst after becoming master (default 5 s).
    pub master_delay: Option<Duration>,
    /// `garp_master_repeat`: GARPs per burst (default 5).
    pub master_repeat: Option<u32>,
    /// `garp_master_refresh`: periodic burst while master (default 0 = off).
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`: GARPs per refresh burst (default 1).
    pub master_refresh_repeat: Option<u32>,
    /// `garp_lower_prio_delay`: delay after seeing a lower-priority advert.
    pub lower_prio_delay: Option<Duration>,
    /// `garp_lower_prio_repeat`: GARPs sent after seeing a lower-priority advert.
    pub lower_prio_repeat: Option<u32>,
}

/// Address scope (`scope` option of address and route lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// `global` (0).
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
}

impl Scope {
    /// The kernel's numeric value.
    pub fn value(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
        }
    }
    /// The configuration keyword.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Site => "site",
            Scope::Link => "link",
            Scope::Host => "host",
            Scope::Nowhere => "nowhere",
        }
    }
    /// Parses a scope name.
    pub fn from_name(s: &str) -> Option<Scope> {
        Some(match s {
            "global" => Scope::Global,
            "site" => Scope::Site,
            "link" => Scope::Link,
            "host" => Scope::Host,
            "nowhere" => Scope::Nowhere,
            _ => return None,
        })
    }
}

/// An address with a prefix length, e.g. `10.0.0.0/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    /// Address.
    pub addr: IpAddr,
    /// Prefix length (0..=32 for IPv4, 0..=128 for IPv6).
    pub len: u8,
}

impl IpPrefix {
    /// Parses `ADDR[/LEN]`; without `/LEN` the prefix is a host prefix.
    pub fn parse(s: &str) -> Option<IpPrefix> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            Some(l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
                l.parse::<u8>().ok()?
            }
            Some(_) => return None,
            None => max,
        };
        (len <= max).then_some(IpPrefix { addr, len })
    }
    /// True when this is a host prefix (/32 or /128).
    pub fn is_host(&self) -> bool {
        self.len == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// One line of `static_ipaddress`, `virtual_ipaddress` or `virtual_ipaddress_excluded`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpAddress {
    /// Address and prefix (default /32 or /128).
    pub prefix: IpPrefix,
    /// `dev IFNAME` (default: the instance's interface; `eth0` for `static_ipaddress` in 1.2.13).
    pub dev: Option<String>,
    /// `scope`.
    pub scope: Option<Scope>,
    /// `broadcast` / `brd` (IPv4 only; `+` and `-` as in `ip addr` are kept as written).
    pub broadcast: Option<String>,
    /// `label`.
    pub label: Option<String>,
    /// `peer ADDR[/LEN]`.
    pub peer: Option<IpPrefix>,
    /// `no_track`: the state of this address does not affect the instance.
    pub no_track: bool,
    /// Other `ip addr` options keepalived 2.x accepts (`home`, `-nodad`, `noprefixroute`,
    /// `autojoin`, `preferred_lft N`, `track_group NAME`), kept as written.
    pub options: Vec<String>,
    /// Where the line was.
    pub span: Span,
}

/// One line of `static_routes` or `virtual_routes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Route type when given (`blackhole`, `unreachable`, `prohibit`, `throw`, `local`, …).
    pub kind: Option<String>,
    /// Destination (`[to] DST[/LEN]`); `None` only for malformed lines that were reported.
    pub dest: Option<IpPrefix>,
    /// `via` / `gw`.
    pub via: Option<IpAddr>,
    /// `or GW2`: a second hop (1.2.13 multipath; deprecated in 2.x in favour of `nexthop`).
    pub or: Option<IpAddr>,
    /// `src`.
    pub src: Option<IpAddr>,
    /// `dev` / `oif`.
    pub dev: Option<String>,
    /// `table`.
    pub table: Option<String>,
    /// `metric` / `priority` / `preference`.
    pub metric: Option<u32>,
    /// `scope`.
    pub scope: Option<Scope>,
    /// `no_track`.
    pub no_track: bool,
    /// Other `ip route` options keepalived 2.x accepts (e.g. `onlink`, `mtu 1400`, `nexthop …`),
    /// kept as written, in order.
    pub options: Vec<String>,
    /// Where the line was.
    pub span: Span,
}

/// One line of `static_rules` or `virtual_rules` (`ip rule` syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The words of the rule as written (e.g. `from 10.0.0.0/8 table 100`).
    pub words: Vec<String>,
    /// Where the line was.
    pub span: Span,
}

/// A reference to a tracked object, with an optional weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// Name of the interface, script, file or process.
    pub name: String,
    /// `weight W`; `None` means the tracked object's own default.
    pub weight: Option<i32>,
    /// `reverse`: the weight applies the other way round.
    pub reverse: bool,
    /// Where the reference was.
    pub span: Span,
}

/// `vrrp_script NAME { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpScript {
    /// The script's name.
    pub name: String,
    /// `script` (required).
    pub script: Option<Command>,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: `interval`).
    pub timeout: Option<Duration>,
    /// `weight` (default 0: a failing script puts the instance in FAULT).
    pub weight: i32,
    /// `weight W reverse`.
    pub weight_reverse: bool,
    /// `rise` (default 1).
    pub rise: u32,
    /// `fall` (default 1).
    pub fall: u32,
    /// `user USER [GROUP]`.
    pub user: Option<ScriptUser>,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
    /// Where the block was.
    pub span: Span,
}

impl Default for VrrpScript {
    fn default() -> Self {
        VrrpScript {
            name: String::new(),
            script: None,
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
            span: Span::NONE,
        }
    }
}

/// `track_file NAME { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFile {
    /// Name.
    pub name: String,
    /// `file PATH` (required).
    pub file: Option<String>,
    /// `weight W` (default 1).
    pub weight: i32,
    /// `weight W reverse`.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create the file at start-up.
    pub init_file: Option<InitFile>,
    /// Where the block was.
    pub span: Span,
}

/// `init_file [VALUE] [overwrite]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitFile {
    /// Value written (default 0).
    pub value: i64,
    /// Overwrite an existing file.
    pub overwrite: bool,
}

impl Default for TrackFile {
    fn default() -> Self {
        TrackFile {
            name: String::new(),
            file: None,
            weight: 1,
            reverse: false,
            init_file: None,
            span: Span::NONE,
        }
    }
}

/// Notify scripts shared by instances and sync groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<Command>,
    /// `notify_backup`.
    pub backup: Option<Command>,
    /// `notify_fault`.
    pub fault: Option<Command>,
    /// `notify_stop`.
    pub stop: Option<Command>,
    /// `notify_deleted` (instances): its script, if one was given.
    pub deleted: Option<Command>,
    /// `notify_deleted` was given (with or without a script): a deleted instance is reported
    /// as `DELETED` rather than `FAULT`.
    pub report_deleted: bool,
    /// `notify_master_rx_lower_pri` (instances).
    pub master_rx_lower_pri: Option<Command>,
    /// `notify`: called with `TYPE NAME STATE PRIORITY` after the specific script.
    pub generic: Option<Command>,
    /// `notify_priority_changes`.
    pub priority_changes: bool,
}

/// `vrrp_sync_group NAME { }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncGroup {
    /// Name.
    pub name: String,
    /// `group { }` members (instance names).
    pub group: Vec<Spanned<String>>,
    /// Notify scripts.
    pub notify: Notify,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `global_tracking` (deprecated in 2.x).
    pub global_tracking: bool,
    /// `sync_group_tracking_weight`.
    pub sync_group_tracking_weight: bool,
    /// `track_interface { }`.
    pub track_interface: Vec<Track>,
    /// `track_script { }`.
    pub track_script: Vec<Track>,
    /// `track_file { }`.
    pub track_file: Vec<Track>,
    /// Keywords kept verbatim.
    pub extra: Vec<RawStatement>,
    /// Where the block was.
    pub span: Span,
}

/// Initial state of an instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitialState {
    /// `state BACKUP` (the default; anything other than MASTER means BACKUP).
    #[default]
    Backup,
    /// `state MASTER`.
    Master,
}

/// `VRRPv2` authentication type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthType {
    /// `PASS`: simple text password.
    Pass,
    /// `AH`: keepalived's IPSEC-AH variant.
    Ah,
}

/// `authentication { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    /// `auth_type`.
    pub auth_type: Option<AuthType>,
    /// `auth_pass`, already cut to 8 bytes as keepalived does (a warning says so).
    pub auth_pass: Option<String>,
}

/// One `unicast_peer` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastPeer {
    /// Peer address.
    pub addr: IpAddr,
    /// `min_ttl N`.
    pub min_ttl: Option<u8>,
    /// `max_ttl N`.
    pub max_ttl: Option<u8>,
    /// Where the line was.
    pub span: Span,
}

/// `vrrp_instance NAME { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpInstance {
    /// Name.
    pub name: String,
    /// `state`.
    pub state: InitialState,
    /// `interface` (required unless a default interface is configured).
    pub interface: Option<Spanned<String>>,
    /// `use_vmac [NAME]`: `Some(None)` means the default name `vrrp.VRID`.
    pub use_vmac: Option<Option<String>>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `native_ipv6`.
    pub native_ipv6: bool,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `track_interface { }`.
    pub track_interface: Vec<Track>,
    /// `track_script { }`.
    pub track_script: Vec<Track>,
    /// `track_file { }`.
    pub track_file: Vec<Track>,
    /// `mcast_src_ip`.
    pub mcast_src_ip: Option<Spanned<IpAddr>>,
    /// `mcast_dst_ip`: the multicast group of this instance (a multicast address).
    pub mcast_dst_ip: Option<Spanned<IpAddr>>,
    /// `unicast_src_ip`.
    pub unicast_src_ip: Option<Spanned<IpAddr>>,
    /// `unicast_peer { }`; `Some(empty)` is an empty block (which means multicast!).
    pub unicast_peer: Option<Spanned<Vec<UnicastPeer>>>,
    /// `unicast_ttl`.
    pub unicast_ttl: Option<u8>,
    /// `unicast_fault_no_peer`.
    pub unicast_fault_no_peer: bool,
    /// `check_unicast_src`.
    pub check_unicast_src: bool,
    /// `virtual_router_id` (required, 1..=255).
    pub virtual_router_id: Option<Spanned<u8>>,
    /// `priority` (1..=255; `None` means keepalived's default 100).
    pub priority: Option<Spanned<u8>>,
    /// `advert_int` (default 1 s; decimals allowed for `VRRPv3`).
    pub advert_int: Duration,
    /// `version` (default: `vrrp_version` of `global_defs`).
    pub version: Option<u8>,
    /// `virtual_ipaddress { }`.
    pub virtual_ipaddress: Vec<IpAddress>,
    /// `virtual_ipaddress_excluded { }`.
    pub virtual_ipaddress_excluded: Vec<IpAddress>,
    /// `virtual_routes { }`.
    pub virtual_routes: Vec<Route>,
    /// `virtual_rules { }`.
    pub virtual_rules: Vec<Rule>,
    /// `nopreempt` (and `preempt`, which clears it).
    pub nopreempt: Option<Span>,
    /// `preempt_delay` (0..=1000 s).
    pub preempt_delay: Duration,
    /// `accept` (`Some(true)`) or `no_accept` (`Some(false)`).
    pub accept: Option<bool>,
    /// `strict_mode`.
    pub strict_mode: Option<bool>,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: Option<bool>,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: Option<bool>,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: Option<bool>,
    /// `debug` (unused by keepalived).
    pub debug: u8,
    /// Notify scripts.
    pub notify: Notify,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `lvs_sync_daemon_interface` (deprecated; see `global_defs lvs_sync_daemon`).
    pub lvs_sync_daemon_interface: Option<String>,
    /// GARP timing (`garp_*`).
    pub garp: GarpSettings,
    /// `authentication { }`.
    pub authentication: Option<Spanned<Authentication>>,
    /// Keywords kept verbatim.
    pub extra: Vec<RawStatement>,
    /// Where the block was.
    pub span: Span,
}

impl Default for VrrpInstance {
    fn default() -> Self {
        VrrpInstance {
            name: String::new(),
            state: InitialState::Backup,
            interface: None,
            use_vmac: None,
            vmac_xmit_base: false,
            native_ipv6: false,
            dont_track_primary: false,
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            mcast_src_ip: None,
            mcast_dst_ip: None,
            unicast_src_ip: None,
            unicast_peer: None,
            unicast_ttl: None,
            unicast_fault_no_peer: false,
            check_unicast_src: false,
            virtual_router_id: None,
            priority: None,
            advert_int: Duration::from_secs(1),
            version: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            nopreempt: None,
            preempt_delay: Duration::ZERO,
            accept: None,
            strict_mode: None,
            higher_prio_send_advert: None,
            lower_prio_no_advert: None,
            skip_check_adv_addr: None,
            debug: 0,
            notify: Notify::default(),
            smtp_alert: None,
            lvs_sync_daemon_interface: None,
            garp: GarpSettings::default(),
            authentication: None,
            extra: Vec::new(),
            span: Span::NONE,
        }
    }
}

impl VrrpInstance {
    /// The configured priority, or keepalived's default of 100.
    pub fn priority(&self) -> u8 {
        self.priority.as_ref().map_or(100, |p| p.value)
    }
    /// The VRRP version in effect: the instance's `version`, else 3 for an IPv6 instance
    /// (keepalived 2.x ignores `vrrp_version` there; 1.2.13's `native_ipv6` is VRRP version 2), else
    /// the global default.
    pub fn version(&self, global: &GlobalDefs) -> u8 {
        self.version
            .unwrap_or(if self.is_ipv6() && !self.native_ipv6 {
                3
            } else {
                global.vrrp_version
            })
    }
    /// True when the instance is IPv6: `native_ipv6`, or its first VIP is IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.native_ipv6
            || self
                .virtual_ipaddress
                .first()
                .is_some_and(|a| a.prefix.addr.is_ipv6())
    }
}

/// One line of `virtual_server_group NAME { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VsgEntry {
    /// `IP[-LAST] PORT`: one address, or a range where the last part goes up to `last`
    /// (decimal last octet for IPv4, hexadecimal last group for IPv6).
    Address {
        /// First (or only) address.
        addr: IpAddr,
        /// End of the range (inclusive), if a range.
        last: Option<u16>,
        /// Port (0 = all ports).
        port: u16,
        /// Where the line was.
        span: Span,
    },
    /// `fwmark N`.
    Fwmark {
        /// The mark.
        mark: u32,
        /// Where the line was.
        span: Span,
    },
}

/// `virtual_server_group NAME { }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VirtualServerGroup {
    /// Name.
    pub name: String,
    /// Entries, in order.
    pub entries: Vec<VsgEntry>,
    /// Where the block was.
    pub span: Span,
}

/// How a virtual server is identified.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VsKey {
    /// `virtual_server IP PORT`.
    Addr(SocketAddr),
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

impl fmt::Display for VsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VsKey::Addr(a) => write!(f, "{} {}", a.ip(), a.port()),
            VsKey::Fwmark(m) => write!(f, "fwmark {m}"),
            VsKey::Group(g) => write!(f, "group {g}"),
        }
    }
}

/// IPVS forwarding method (`lb_kind` / `lvs_method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LbKind {
    /// Masquerading (the default).
    #[default]
    Nat,
    /// Direct routing.
    Dr,
    /// IP-in-IP tunnelling.
    Tun,
}

impl LbKind {
    /// The configuration keyword.
    pub fn name(self) -> &'static str {
        match self {
            LbKind::Nat => "NAT",
            LbKind::Dr => "DR",
            LbKind::Tun => "TUN",
        }
    }
}

/// Layer-4 protocol of a virtual server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// TCP (the default in keepalived 2.x).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The configuration keyword.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// Retry and timing settings that can be given at virtual-server, real-server and checker level;
/// the innermost one that is set wins, then keepalived's defaults (see [`CheckTiming::resolve`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckTiming {
    /// `delay_loop`.
    pub delay_loop: Option<Interval>,
    /// `retry` (and the deprecated `nb_get_retry`).
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<Interval>,
    /// `warmup`.
    pub warmup: Option<Interval>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Interval>,
    /// `alpha`.
    pub alpha: Option<bool>,
}

impl CheckTiming {
    /// Fills every unset field of `self` from `outer`.
    #[must_use]
    pub fn inherit(&self, outer: &CheckTiming) -> CheckTiming {
        CheckTiming {
            delay_loop: self.delay_loop.or(outer.delay_loop),
            retry: self.retry.or(outer.retry),
            delay_before_retry: self.delay_before_retry.or(outer.delay_before_retry),
            warmup: self.warmup.or(outer.warmup),
            connect_timeout: self.connect_timeout.or(outer.connect_timeout),
            alpha: self.alpha.or(outer.alpha),
        }
    }
    /// Fills what is still unset with keepalived 2.x's defaults: `delay_loop` 60 s, `retry` 1,
    /// `delay_before_retry` 1 s, `warmup` = `delay_loop`, `connect_timeout` 5 s, `alpha` off.
    #[must_use]
    pub fn resolve(&self) -> CheckTiming {
        let delay_loop = self.delay_loop.unwrap_or(Interval::from_secs(60));
        CheckTiming {
            delay_loop: Some(delay_loop),
            retry: Some(self.retry.unwrap_or(1)),
            delay_before_retry: Some(self.delay_before_retry.unwrap_or(Interval::from_secs(1))),
            warmup: Some(self.warmup.unwrap_or(delay_loop)),
            connect_timeout: Some(self.connect_timeout.unwrap_or(Interval::from_secs(5))),
            alpha: Some(self.alpha.unwrap_or(false)),
        }
    }
}

/// A checker time value (`delay_loop`, retry delays, timeouts) in whole microseconds, which
/// is keepalived's resolution, in 8 bytes (`Option<Interval>` too), where a `Duration` takes 16.
/// Converts to and from [`Duration`] (sub-microsecond parts are dropped; values saturate at
/// about 584,000 years).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval(NonZeroU64);

impl Interval {
    /// Zero.
    pub const ZERO: Interval = Interval(NonZeroU64::MIN);

    /// An interval of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Interval {
        // Stored as micros + 1, so that `Option<Interval>` needs no extra tag.
        match NonZeroU64::new(micros.saturating_add(1)) {
            Some(v) => Interval(v),
            None => Interval::ZERO,
        }
    }
    /// An interval of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Interval {
        Interval::from_micros(secs.saturating_mul(1_000_000))
    }
    /// The length in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0.get() - 1
    }
    /// The length as a [`Duration`].
    pub const fn as_duration(self) -> Duration {
        Duration::from_micros(self.as_micros())
    }
}

impl From<Duration> for Interval {
    fn from(d: Duration) -> Interval {
        Interval::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }
}

impl From<Interval> for Duration {
    fn from(i: Interval) -> Duration {
        i.as_duration()
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_duration().fmt(f)
    }
}

impl fmt::Display for Interval {
    /// Seconds, as the configuration writes them (`6`, `0.5`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::parser::format_seconds(self.as_duration()))
    }
}

/// `sorry_server IP PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SorryServer {
    /// Address and port.
    pub addr: SocketAddr,
    /// `sorry_server_inhibit`.
    pub inhibit: bool,
    /// `sorry_server_lvs_method`.
    pub lvs_method: Option<LbKind>,
}

/// `virtual_server … { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualServer {
    /// Address and port, fwmark or group.
    pub key: VsKey,
    /// `lb_algo` / `lvs_sched` (default `wlc`).
    pub lb_algo: String,
    /// `lb_kind` / `lvs_method` (default NAT).
    pub lb_kind: LbKind,
    /// `protocol` (default TCP; not used for fwmark services).
    pub protocol: Option<Protocol>,
    /// `persistence_timeout` in seconds (1..=2 678 400).
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity` (IPv4 netmask or IPv6 prefix length, as written).
    pub persistence_granularity: Option<String>,
    /// `persistence_engine`.
    pub persistence_engine: Option<String>,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `ops` (one-packet scheduling, UDP).
    pub ops: bool,
    /// `omega`.
    pub omega: bool,
    /// `inhibit_on_failure`: the default for this service's real servers.
    pub inhibit_on_failure: bool,
    /// `virtualhost` (default `Host:` for HTTP checks).
    pub virtualhost: Option<String>,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up`.
    pub quorum_up: Option<Command>,
    /// `quorum_down`.
    pub quorum_down: Option<Command>,
    /// `sorry_server` (+ `sorry_server_inhibit`, `sorry_server_lvs_method`).
    pub sorry_server: Option<SorryServer>,
    /// `nat_mask` (1.2.13 only, unused).
    pub nat_mask: Option<Ipv4Addr>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// Checker timing defaults for this service.
    pub timing: CheckTiming,
    /// `real_server` blocks.
    pub real_servers: Vec<RealServer>,
    /// Keywords kept verbatim.
    pub extra: Vec<RawStatement>,
    /// Where the block was.
    pub span: Span,
}

impl VirtualServer {
    /// A virtual server with keepalived's defaults.
    pub fn new(key: VsKey) -> Self {
        VirtualServer {
            key,
            lb_algo: "wlc".to_owned(),
            lb_kind: LbKind::Nat,
            protocol: None,
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            ha_suspend: false,
            ops: false,
            omega: false,
            inhibit_on_failure: false,
            virtualhost: None,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            nat_mask: None,
            smtp_alert: None,
            timing: CheckTiming::default(),
            real_servers: Vec::new(),
            extra: Vec::new(),
            span: Span::NONE,
        }
    }
}

/// `real_server IP PORT { }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServer {
    /// Address and port (port 0 when omitted, as keepalived does for fwmark services).
    pub addr: SocketAddr,
    /// `weight` (default 1).
    pub weight: i32,
    /// `uthreshold`.
    pub uthreshold: Option<u32>,
    /// `lthreshold`.
    pub lthreshold: Option<u32>,
    /// `inhibit_on_failure`.
    pub inhibit_on_failure: bool,
    /// `notify_up` (boxed: rarely set, and real servers are many).
    pub notify_up: Option<Box<Command>>,
    /// `notify_down` (boxed: rarely set).
    pub notify_down: Option<Box<Command>>,
    /// `virtualhost`.
    pub virtualhost: Option<Box<str>>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `lvs_method` for this destination.
    pub lvs_method: Option<LbKind>,
    /// Checker timing defaults for this server.
    pub timing: CheckTiming,
    /// Health checkers.
    pub checkers: Vec<Checker>,
    /// Keywords kept verbatim.
    pub extra: Extra,
    /// Where the block was.
    pub span: Span,
}

impl RealServer {
    /// A real server with keepalived's defaults.
    pub fn new(addr: SocketAddr) -> Self {
        RealServer {
            addr,
            weight: 1,
            uthreshold: None,
            lthreshold: None,
            inhibit_on_failure: false,
            notify_up: None,
            notify_down: None,
            virtualhost: None,
            smtp_alert: None,
            lvs_method: None,
            timing: CheckTiming::default(),
            checkers: Vec::new(),
            extra: Extra::default(),
            span: Span::NONE,
        }
    }
}

/// Socket options shared by the socket checkers (and `SMTP_CHECK` `host` blocks).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectOpts {
    /// `connect_ip` (default: the real server's address).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port` (default: the real server's port; 25 for `SMTP_CHECK`).
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `fwmark` (`SO_MARK`).
    pub fwmark: Option<u32>,
    /// `connect_timeout` (SMTP `host` blocks only; checkers keep it in their [`CheckTiming`]).
    pub connect_timeout: Option<Duration>,
}

impl ConnectOpts {
    /// No option set.
    pub const NONE: ConnectOpts = ConnectOpts {
        connect_ip: None,
        connect_port: None,
        bindto: None,
        bind_port: None,
        bind_if: None,
        fwmark: None,
        connect_timeout: None,
    };
}

/// One `url { }` of `HTTP_GET` / `SSL_GET`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Url {
    /// `path` (required). Shared with the URLs of other checkers that have the same path.
    pub path: Arc<str>,
    /// `digest`: lowercase hex MD5 of the body.
    pub digest: Option<Box<str>>,
    /// `status_code`: list of inclusive ranges; empty means keepalived 2.x's default 200-299.
    /// Shared with the URLs of other checkers that have the same list.
    pub status_code: Arc<[(u16, u16)]>,
    /// `virtualhost` for this URL.
    pub virtualhost: Option<Box<str>>,
    /// `regex`.
    pub regex: Option<Box<str>>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
    /// Where the block was.
    pub span: Span,
}

/// `HTTP_GET` / `SSL_GET` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpCheck {
    /// `url { }` blocks.
    pub urls: Vec<Url>,
    /// `virtualhost`.
    pub virtualhost: Option<Box<str>>,
    /// `http_protocol` (`1.0`, `1.0C`, `1.1`).
    pub http_protocol: Option<Box<str>>,
    /// `enable_sni`.
    pub enable_sni: bool,
    /// `fast_recovery`.
    pub fast_recovery: bool,
}

/// `DNS_CHECK` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsCheck {
    /// `type` (default SOA).
    pub query_type: Option<String>,
    /// `name` (default `.`).
    pub name: Option<String>,
}

/// `UDP_CHECK` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UdpCheck {
    /// `payload` (hex).
    pub payload: Option<String>,
    /// `require_reply [HEX]`: `Some(None)` means any reply.
    pub require_reply: Option<Option<String>>,
    /// `min_reply_length`.
    pub min_reply_length: Option<u32>,
    /// `max_reply_length`.
    pub max_reply_length: Option<u32>,
}

/// `FILE_CHECK` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileCheck {
    /// `track_file NAME`.
    pub track_file: Option<Spanned<String>>,
    /// `weight W [reverse]`.
    pub weight: Option<i32>,
    /// `reverse`.
    pub reverse: bool,
    /// `dynamic`.
    pub dynamic: bool,
}

/// `MISC_CHECK` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MiscCheck {
    /// `misc_path` (required).
    pub path: Option<Command>,
    /// `misc_timeout` (default: the delay loop).
    pub timeout: Option<Duration>,
    /// `misc_dynamic`.
    pub dynamic: bool,
    /// `user USER [GROUP]`.
    pub user: Option<ScriptUser>,
}

/// `SMTP_CHECK` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmtpCheck {
    /// `helo_name` (default `smtpchecker.keepalived.org`).
    pub helo_name: Option<String>,
    /// `host { }` blocks; empty means one host: the real server, port 25.
    pub hosts: Vec<ConnectOpts>,
}

/// What a checker checks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckerKind {
    /// `TCP_CHECK`.
    Tcp,
    /// `HTTP_GET`.
    Http(HttpCheck),
    /// `SSL_GET`.
    Ssl(HttpCheck),
    /// `SMTP_CHECK`.
    Smtp(SmtpCheck),
    /// `MISC_CHECK` (boxed: the largest settings, and the rarest in large configurations).
    Misc(Box<MiscCheck>),
    /// `DNS_CHECK`.
    Dns(DnsCheck),
    /// `UDP_CHECK`.
    Udp(UdpCheck),
    /// `PING_CHECK`.
    Ping,
    /// `FILE_CHECK`.
    File(FileCheck),
}

impl CheckerKind {
    /// The block keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Ssl(_) => "SSL_GET",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
        }
    }
}

/// One health checker of a real server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checker {
    /// Type and type-specific settings.
    pub kind: CheckerKind,
    /// Socket options (unused by `MISC_CHECK` and `FILE_CHECK`); `None` when none was given
    /// (boxed: most checkers use the real server's address). See [`Checker::connect_opts`].
    pub connect: Option<Box<ConnectOpts>>,
    /// Timing; unset fields inherit from the real server, then the virtual server.
    pub timing: CheckTiming,
    /// `log_all_failures`.
    pub log_all_failures: Option<bool>,
    /// Keywords kept verbatim.
    pub extra: Extra,
    /// Where the block was.
    pub span: Span,
}

impl Checker {
    /// The socket options, all unset when none was given.
    pub fn connect_opts(&self) -> &ConnectOpts {
        static NONE: ConnectOpts = ConnectOpts::NONE;
        self.connect.as_deref().unwrap_or(&NONE)
    }
    /// The socket options, for setting one (allocates them when none was set yet).
    pub fn connect_mut(&mut self) -> &mut ConnectOpts {
        self.connect.get_or_insert_with(Box::default)
    }
}

/// The root `SSL { }` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SslConfig {
    /// `password`.
    pub password: Option<String>,
    /// `ca`.
    pub ca: Option<String>,
    /// `certificate`.
    pub certificate: Option<String>,
    /// `key`.
    pub key: Option<String>,
}
