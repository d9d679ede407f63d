//! A network-namespace lab for integration tests (feature `testlab`): a switch namespace with a
//! bridge and N host namespaces, each joined to it by a veth pair (`eth0` in the host).
//!
//! * Names are unique per process and lab (`kt<pid>n<counter>…`), so tests run in parallel
//!   under `cargo test` (threads) and cargo-nextest (processes).
//! * [`Lab`]'s `Drop` kills the processes it started, then deletes its namespaces, even when the
//!   test failed.
//! * Code runs inside a host either in a thread that entered its namespace ([`Lab::spawn_in`],
//!   [`Lab::spawn_driver`]) or as a process under `ip netns exec` ([`Lab::command`],
//!   [`Lab::spawn_process`]).
//! * [`Capture`] records every frame a host's `eth0` sees (an `AF_PACKET` socket).
//! * A third host can play the client: [`Lab::neighbour`] reads its neighbour table,
//!   [`Lab::mac`] names the routers' MACs, [`Lab::isolate`] partitions routers at the switch
//!   (bridge port isolation) while the client still reaches both.
//! * [`Lab::kill_all_in`] crashes everything in a host (a whole daemon tree). The test process
//!   becomes a child subreaper so that orphaned grandchildren are reaped, not left as zombies.
//!
//! Host `i` (from 0) has `10.99.0.(i+1)/24` and `fd99::(i+1)/64` (no DAD anywhere).
//! Requires root and iproute2; [`privileged`] decides whether a test runs.

use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::EngineConfig;
use crate::linux::{DriverError, Exit, Hooks, Options, Runner, StopHandle};

/// Why the lab could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// A command failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its standard error.
        stderr: String,
    },
    /// I/O error.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// `KARS_PRIVILEGED_TESTS=require` but root or a tool is missing.
    #[error("privileged tests required but unavailable: {0}")]
    Unavailable(String),
    /// The driver failed to start.
    #[error("driver: {0}")]
    Driver(#[from] DriverError),
}

/// Whether privileged tests can run: `Ok(true)` with root and `ip`; `Ok(false)` (after printing
/// "skipped: needs root") without; `Err` without when `KARS_PRIVILEGED_TESTS=require`.
pub fn privileged(test: &str) -> Result<bool, LabError> {
    privileged_with(test, &["ip"])
}

/// [`privileged`] plus the listed programs (looked up in `PATH` and `/usr/sbin`).
pub fn privileged_with(test: &str, tools: &[&str]) -> Result<bool, LabError> {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| find_tool(t).is_none())
        .collect();
    if root && missing.is_empty() {
        return Ok(true);
    }
    let why = if root {
        format!("missing {}", missing.join(", "))
    } else {
        "not root".to_owned()
    };
    if std::env::var("KARS_PRIVILEGED_TESTS").is_ok_and(|v| v == "require") {
        return Err(LabError::Unavailable(why));
    }
    println!("{test}: skipped: needs root ({why})");
    Ok(false)
}

/// Full path of `tool` in `PATH`, `/usr/sbin` or `/sbin`.
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One host of a lab.
#[derive(Clone, Debug)]
pub struct Host {
    /// Namespace name.
    pub ns: String,
    /// Interface name inside the namespace.
    pub ifname: String,
    /// IPv4 address on it.
    pub ipv4: Ipv4Addr,
    /// IPv6 address on it.
    pub ipv6: Ipv6Addr,
}

/// A bridge namespace and N hosts. Deleted on drop.
#[derive(Debug)]
pub struct Lab {
    switch: String,
    hosts: Vec<Host>,
    dir: PathBuf,
    children: Mutex<Vec<Child>>,
}

/// Runs `ip` (or any program) and returns its standard output.
pub fn run(program: &str, args: &[&str]) -> Result<String, LabError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            command: format!("{program} {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

impl Lab {
    /// Builds the switch and `hosts` hosts.
    pub fn new(hosts: usize) -> Result<Lab, LabError> {
        // The grandchildren of the processes a lab starts (keepalived's VRRP child, a daemon's
        // workers) are re-parented to us when their parent dies, so that a crash of a whole
        // daemon tree leaves no zombie a restarted daemon would take for a live one.
        crate::linux::sys::set_child_subreaper()?;
        // Pids are reused (pid_max is often 32768): skip names that a killed test process with
        // our pid left behind, so that `ip netns add` does not fail on them.
        let (prefix, dir) = loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let prefix = format!("kt{}n{n}", std::process::id());
            let dir = std::env::temp_dir().join(&prefix);
            let netns = Path::new("/var/run/netns");
            let taken = dir.exists()
                || netns.join(format!("{prefix}sw")).exists()
                || (0..hosts).any(|i| netns.join(format!("{prefix}h{i}")).exists());
            if !taken {
                break (prefix, dir);
            }
        };
        remove_journals(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut lab = Lab {
            switch: format!("{prefix}sw"),
            hosts: Vec::new(),
            dir,
            children: Mutex::new(Vec::new()),
        };
        let sw = lab.switch.clone();
        run("ip", &["netns", "add", &sw])?;
        let ipn = |ns: &str, args: &str| -> Result<String, LabError> {
            let mut v = vec!["-n", ns];
            v.extend(args.split(' '));
            run("ip", &v)
        };
        ipn(&sw, "link add br0 type bridge")?;
        ipn(
            &sw,
            "link set br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0",
        )?;
        ipn(&sw, "link set lo up")?;
        ipn(&sw, "link set br0 up")?;
        for i in 0..hosts {
            let k =
                u8::try_from(i + 1).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            let host = Host {
                ns: format!("{prefix}h{i}"),
                ifname: "eth0".to_owned(),
                ipv4: Ipv4Addr::new(10, 99, 0, k),
                ipv6: Ipv6Addr::new(0xfd99, 0, 0, 0, 0, 0, 0, u16::from(k)),
            };
            run("ip", &["netns", "add", &host.ns])?;
            lab.hosts.push(host.clone());
            // No DAD: addresses (link-local included) are usable at once.
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &host.ns,
                    "sh",
                    "-c",
                    "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; \
                     echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad",
                ],
            )?;
            let port = format!("p{i}");
            ipn(
                &sw,
                &format!("link add {port} type veth peer name eth0 netns {}", host.ns),
            )?;
            ipn(&sw, &format!("link set {port} master br0 up"))?;
            ipn(&host.ns, "link set lo up")?;
            ipn(&host.ns, &format!("addr add {}/24 dev eth0", host.ipv4))?;
            ipn(
                &host.ns,
                &format!("addr add {}/64 dev eth0 nodad", host.ipv6),
            )?;
            ipn(&host.ns, "link set eth0 up")?;
        }
        Ok(lab)
    }

    /// Host `i`.
    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    /// A directory for this lab's files (configs, pid files), removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `ip -n <host> ARGS`.
    pub fn ip(&self, host: usize, args: &[&str]) -> Result<String, LabError> {
        let mut v = vec!["-n", self.hosts[host].ns.as_str()];
        v.extend_from_slice(args);
        run("ip", &v)
    }

    /// The addresses on `eth0` of `host` (from `ip -o addr`).
    pub fn addresses(&self, host: usize) -> Result<Vec<IpAddr>, LabError> {
        self.addresses_on(host, "eth0")
    }

    /// The addresses on interface `dev` of `host` (an error if it does not exist).
    pub fn addresses_on(&self, host: usize, dev: &str) -> Result<Vec<IpAddr>, LabError> {
        let out = self.ip(host, &["-o", "addr", "show", "dev", dev])?;
        Ok(out
            .lines()
            .filter_map(|l| {
                let mut w = l
                    .split_whitespace()
                    .skip_while(|w| *w != "inet" && *w != "inet6");
                w.next()?;
                w.next()?.split('/').next()?.parse().ok()
            })
            .collect())
    }

    /// The ifindex of `eth0` in `host`.
    pub fn ifindex(&self, host: usize) -> Result<u32, LabError> {
        let out = self.ip(host, &["-o", "link", "show", "dev", "eth0"])?;
        out.split(':')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| LabError::Io(io::Error::other(format!("no eth0 index in {out:?}"))))
    }

    /// The IPv6 link-local address of `eth0` in `host` (the source of its VRRPv3 adverts).
    pub fn link_local(&self, host: usize) -> Result<Ipv6Addr, LabError> {
        self.addresses(host)?
            .into_iter()
            .find_map(|a| match a {
                IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(v6),
                _ => None,
            })
            .ok_or_else(|| {
                LabError::Io(io::Error::other(format!(
                    "no link-local address in {}",
                    self.hosts[host].ns
                )))
            })
    }

    /// Whether `addr` is on `eth0` of `host`.
    pub fn has_address(&self, host: usize, addr: IpAddr) -> bool {
        self.addresses(host).is_ok_and(|a| a.contains(&addr))
    }

    /// The MAC address of `eth0` in `host`.
    pub fn mac(&self, host: usize) -> Result<[u8; 6], LabError> {
        let out = self.ip(host, &["-o", "link", "show", "dev", "eth0"])?;
        out.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .and_then(parse_mac)
            .ok_or_else(|| LabError::Io(io::Error::other(format!("no MAC in {out:?}"))))
    }

    /// The link-layer address `host`'s neighbour table (ARP or NDP) holds for `addr` on
    /// `eth0`, if it has a usable entry (not FAILED or INCOMPLETE).
    pub fn neighbour(&self, host: usize, addr: IpAddr) -> Result<Option<[u8; 6]>, LabError> {
        let out = self.ip(
            host,
            &["neigh", "show", "to", &addr.to_string(), "dev", "eth0"],
        )?;
        Ok(out
            .split_whitespace()
            .skip_while(|w| *w != "lladdr")
            .nth(1)
            .and_then(parse_mac))
    }

    /// Cuts (`true`) or heals (`false`) the path between `host` and every other isolated host
    /// at the switch (bridge port isolation): isolated ports reach only non-isolated ones, so
    /// two routers isolated from each other are partitioned while a third host still reaches
    /// both. Needs the `bridge` tool.
    pub fn isolate(&self, host: usize, isolated: bool) -> Result<(), LabError> {
        let port = format!("p{host}");
        let on = if isolated { "on" } else { "off" };
        run(
            "bridge",
            &[
                "-n",
                &self.switch,
                "link",
                "set",
                "dev",
                &port,
                "isolated",
                on,
            ],
        )
        .map(drop)
    }

    /// The ids of every process in `host`'s namespace (`ip netns pids`).
    pub fn pids_in(&self, host: usize) -> Result<Vec<u32>, LabError> {
        let out = run("ip", &["netns", "pids", &self.hosts[host].ns])?;
        let me = std::process::id();
        Ok(out
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .filter(|p| *p != me)
            .collect())
    }

    /// A crash of everything running in `host` (a whole daemon tree, whatever its process
    /// model): every process is stopped first (so that no parent respawns a child and no child
    /// sees its parent die), then killed with `SIGKILL`. Waits until none is left. Returns the
    /// pids killed.
    pub fn kill_all_in(&self, host: usize) -> Result<Vec<u32>, LabError> {
        let pids = self.pids_in(host)?;
        for sig in ["-STOP", "-KILL"] {
            for pid in &pids {
                // A process may have exited meanwhile.
                let _ = run("kill", &[sig, &pid.to_string()]);
            }
        }
        for pid in &pids {
            let ours = self
                .children
                .lock()
                .map_err(|_| io::Error::other("lab poisoned"))?
                .iter()
                .any(|c| c.id() == *pid);
            if ours {
                self.wait_exit(*pid, Duration::from_secs(10))?;
            } else {
                // A grandchild re-parented to us (we are a subreaper): reap it.
                let mut failure = None;
                wait_for(Duration::from_secs(10), || {
                    crate::linux::sys::reap(*pid).unwrap_or_else(|e| {
                        failure = Some(e);
                        true
                    })
                });
                if let Some(e) = failure {
                    return Err(e.into());
                }
            }
        }
        let gone = wait_for(Duration::from_secs(10), || {
            self.pids_in(host).is_ok_and(|p| p.is_empty())
        });
        if !gone {
            return Err(LabError::Io(io::Error::other(format!(
                "processes left in {} after SIGKILL",
                self.hosts[host].ns
            ))));
        }
        Ok(pids)
    }

    /// A command that runs `program` inside `host` (`ip netns exec`).
    pub fn command(&self, host: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.hosts[host].ns]).arg(program);
        c
    }

    /// Starts `command` and keeps it: the lab kills it (SIGKILL) on drop. Returns its pid.
    pub fn spawn_process(&self, mut command: Command) -> Result<u32, LabError> {
        let child = command.stdin(Stdio::null()).spawn()?;
        let pid = child.id();
        self.children
            .lock()
            .map_err(|_| io::Error::other("lab poisoned"))?
            .push(child);
        Ok(pid)
    }

    /// Starts Debian's keepalived (`/usr/sbin/keepalived`, or `keepalived` in `PATH`) in `host`
    /// with `config` as its configuration, in the foreground, logging to
    /// [`Lab::keepalived_log`]. Returns its pid; the lab kills it on drop.
    pub fn spawn_keepalived(&self, host: usize, config: &str) -> Result<u32, LabError> {
        let bin = find_tool("keepalived")
            .ok_or_else(|| LabError::Unavailable("keepalived is not installed".into()))?;
        let path = |ext: &str| self.dir.join(format!("keepalived-h{host}.{ext}"));
        std::fs::write(path("conf"), config)?;
        let log = File::create(self.keepalived_log(host))?;
        let mut cmd = self.command(host, bin);
        cmd.args(["-n", "-l", "-D", "-f"])
            .arg(path("conf"))
            .arg("-p")
            .arg(path("pid"))
            .arg("-r")
            .arg(path("vrrp.pid"))
            .arg("-c")
            .arg(path("check.pid"))
            .stdout(log.try_clone()?)
            .stderr(log);
        self.spawn_process(cmd)
    }

    /// Where [`Lab::spawn_keepalived`] sends the output of the keepalived in `host`.
    pub fn keepalived_log(&self, host: usize) -> PathBuf {
        self.dir.join(format!("keepalived-h{host}.log"))
    }

    /// Sends `SIGTERM` to process `pid` (one this lab started).
    pub fn terminate(&self, pid: u32) -> Result<(), LabError> {
        run("kill", &["-TERM", &pid.to_string()]).map(drop)
    }

    /// Waits up to `timeout` for process `pid` (started by this lab) to exit; returns whether
    /// it did.
    pub fn wait_exit(&self, pid: u32, timeout: Duration) -> Result<bool, LabError> {
        let mut children = self
            .children
            .lock()
            .map_err(|_| io::Error::other("lab poisoned"))?;
        let Some(child) = children.iter_mut().find(|c| c.id() == pid) else {
            return Ok(true);
        };
        let mut failure = None;
        let exited = wait_for(timeout, || match child.try_wait() {
            Ok(status) => status.is_some(),
            Err(e) => {
                failure = Some(e);
                true
            }
        });
        match failure {
            Some(e) => Err(e.into()),
            None => Ok(exited),
        }
    }

    /// Runs `f` on a new thread inside `host`'s namespace.
    pub fn spawn_in<T, F>(&self, host: usize, f: F) -> JoinHandle<Result<T, LabError>>
    where
        T: Send + 'static,
        F: FnOnce(&Host) -> Result<T, LabError> + Send + 'static,
    {
        let host = self.hosts[host].clone();
        std::thread::spawn(move || {
            let ns = File::open(Path::new("/var/run/netns").join(&host.ns))?;
            crate::linux::enter_netns(&ns)?;
            f(&host)
        })
    }

    /// Runs a driver in a thread inside `host`: `config` gets the host and the ifindex of its
    /// `eth0`. Returns once the driver has started (or failed to).
    pub fn spawn_driver<F, H>(
        &self,
        host: usize,
        config: F,
        hooks: H,
    ) -> Result<DriverThread, LabError>
    where
        F: FnOnce(&Host, crate::InterfaceId) -> EngineConfig + Send + 'static,
        H: Hooks + Send + 'static,
    {
        let options = Options {
            handle_signals: false,
            ..Options::default()
        };
        self.spawn_driver_with(host, config, hooks, options)
    }

    /// [`Lab::spawn_driver`] with explicit runner options (signal handling should stay off in
    /// a thread).
    pub fn spawn_driver_with<F, H>(
        &self,
        host: usize,
        config: F,
        hooks: H,
        options: Options,
    ) -> Result<DriverThread, LabError>
    where
        F: FnOnce(&Host, crate::InterfaceId) -> EngineConfig + Send + 'static,
        H: Hooks + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let join = self.spawn_in(host, move |h| {
            let ifindex = crate::linux::if_index(&h.ifname)?;
            let cfg = config(h, crate::InterfaceId(ifindex));
            let runner = match Runner::new(cfg, Box::new(hooks), options) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(None);
                    return Err(e.into());
                }
            };
            let _ = tx.send(Some(runner.handle()));
            Ok(runner.run()?)
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Some(handle)) => Ok(DriverThread {
                handle,
                join: Some(join),
            }),
            _ => match join.join() {
                Ok(Err(e)) => Err(e),
                _ => Err(LabError::Io(io::Error::other(
                    "driver thread did not start",
                ))),
            },
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Everything running in our namespaces was started by this lab (the names are unique):
        // kill it all, including the children of processes we started (keepalived's VRRP
        // child), which would otherwise outlive the lab.
        for ns in self
            .hosts
            .iter()
            .map(|h| h.ns.as_str())
            .chain([self.switch.as_str()])
        {
            if let Ok(pids) = run("ip", &["netns", "pids", ns]) {
                let me = std::process::id().to_string();
                for pid in pids.split_whitespace().filter(|p| *p != me) {
                    let _ = run("kill", &["-KILL", pid]);
                }
            }
        }
        if let Ok(mut children) = self.children.lock() {
            for c in children.iter_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        for h in &self.hosts {
            let _ = run("ip", &["netns", "del", &h.ns]);
        }
        let _ = run("ip", &["netns", "del", &self.switch]);
        let _ = std::fs::remove_dir_all(&self.dir);
        remove_journals(&self.dir);
    }
}

/// Removes the journals that our daemon (keepalived-bin) keeps in `/run/keepalived-rs/` for
/// pidfiles under the lab directory `dir`: it names them after the pidfile's path with `/`
/// turned into `_` (`tmp_kt1n0_h0.vrrp.pid.journal` for `/tmp/kt1n0/h0.vrrp.pid`).
fn remove_journals(dir: &Path) {
    let flat = dir
        .to_string_lossy()
        .trim_start_matches('/')
        .replace('/', "_");
    let prefix = format!("{flat}_");
    let Ok(entries) = std::fs::read_dir("/run/keepalived-rs") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".journal") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A driver running on its own thread; an orderly shutdown is asked for on drop.
#[derive(Debug)]
pub struct DriverThread {
    handle: StopHandle,
    join: Option<JoinHandle<Result<Exit, LabError>>>,
}

impl DriverThread {
    /// Orderly shutdown; waits for the thread.
    pub fn shutdown(mut self) -> Result<Exit, LabError> {
        self.handle.shutdown()?;
        self.wait()
    }

    /// Asks the driver to reload (it calls its hooks' `reload`).
    pub fn reload(&self) -> Result<(), LabError> {
        Ok(self.handle.reload()?)
    }

    /// Stops without cleanup (a crash); waits for the thread.
    pub fn abort(mut self) -> Result<Exit, LabError> {
        self.handle.abort()?;
        self.wait()
    }

    fn wait(&mut self) -> Result<Exit, LabError> {
        match self.join.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(LabError::Io(io::Error::other("driver thread panicked"))),
            None => Err(LabError::Io(io::Error::other("already stopped"))),
        }
    }
}

impl Drop for DriverThread {
    fn drop(&mut self) {
        if self.join.is_some() {
            let _ = self.handle.shutdown();
            let _ = self.wait();
        }
    }
}

/// Captured frames with their arrival times.
type Frames = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

/// Records every frame seen on a host's interfaces until dropped.
#[derive(Debug)]
pub struct Capture {
    frames: Frames,
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<Result<(), LabError>>>,
}

impl Capture {
    /// Starts capturing in `host`; returns once the socket is open.
    pub fn start(lab: &Lab, host: usize) -> Result<Capture, LabError> {
        Capture::start_in(&lab.hosts[host].ns, None)
    }

    /// Starts capturing in the network namespace `ns` (a name under `/var/run/netns`), on the
    /// interface `ifname` only, or on all of them; returns once the socket is open. For
    /// topologies that [`Lab`] does not build (the scale benchmark's veth pairs).
    pub fn start_in(ns: &str, ifname: Option<&str>) -> Result<Capture, LabError> {
        let frames: Frames = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let (f2, s2) = (Arc::clone(&frames), Arc::clone(&stop));
        let ns = Path::new("/var/run/netns").join(ns);
        let ifname = ifname.map(str::to_owned);
        let join = std::thread::spawn(move || {
            let opened = File::open(&ns)
                .and_then(|f| crate::linux::enter_netns(&f))
                .and_then(|()| {
                    let all = libc::ETH_P_ALL as u16;
                    let s = Socket::new(
                        Domain::PACKET,
                        Type::RAW,
                        Some(Protocol::from(i32::from(all.to_be()))),
                    )?;
                    if let Some(name) = &ifname {
                        let index = crate::linux::if_index(name)?;
                        s.bind(&crate::linux::sys::link_layer_addr(index, all)?)?;
                    }
                    Ok(s)
                });
            let socket = match opened {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(false);
                    return Err(e.into());
                }
            };
            socket.set_read_timeout(Some(Duration::from_millis(20)))?;
            // Kernel receive timestamps: a capture thread descheduled under load must not make
            // frames look closer together than they were on the wire.
            crate::linux::sys::set_int_option(&socket, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
            // Room for seconds of traffic, so that a capture thread kept off the CPU by a busy
            // machine loses no frame (root may exceed rmem_max; failing that, the default).
            let _ = crate::linux::sys::set_int_option(
                &socket,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                16 << 20,
            );
            let _ = tx.send(true);
            let mut buf = [0u8; 2048];
            let mut control = [0u8; 128];
            while !s2.load(Ordering::SeqCst) {
                match crate::linux::sys::recvmsg(&socket, &mut buf, &mut control) {
                    Ok((n, control_len, _)) => {
                        let n = n.min(buf.len());
                        let at = kernel_stamp(&control[..control_len.min(control.len())]);
                        if let Ok(mut v) = f2.lock() {
                            v.push((at, buf[..n].to_vec()));
                        }
                    }
                    // EINTR too: a socket read with SO_RCVTIMEO is not restarted after a
                    // signal handler (SIGCHLD when a lab process exits), even with SA_RESTART.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock
                                | io::ErrorKind::TimedOut
                                | io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        });
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(true) => Ok(Capture {
                frames,
                stop,
                join: Some(join),
            }),
            _ => Err(LabError::Io(io::Error::other("capture did not start"))),
        }
    }

    /// A copy of the frames so far, with their arrival times.
    pub fn frames(&self) -> Vec<(Instant, Vec<u8>)> {
        self.frames.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// The kernel's receive time of a frame (`SO_TIMESTAMPNS`, wall clock) as an [`Instant`]: now,
/// less how long ago the kernel stamped it. Falls back to now without a timestamp.
fn kernel_stamp(control: &[u8]) -> Instant {
    let now = Instant::now();
    let stamp = crate::linux::socket::control_messages(control).find_map(|(level, kind, data)| {
        (level == libc::SOL_SOCKET && kind == libc::SO_TIMESTAMPNS && data.len() >= 16).then(|| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&data[..8]);
            let secs = i64::from_ne_bytes(w);
            w.copy_from_slice(&data[8..16]);
            let nanos = i64::from_ne_bytes(w);
            (u64::try_from(secs).ok(), u32::try_from(nanos).ok())
        })
    });
    let Some((Some(secs), Some(nanos))) = stamp else {
        return now;
    };
    let stamped = std::time::UNIX_EPOCH + Duration::new(secs, nanos);
    let age = std::time::SystemTime::now()
        .duration_since(stamped)
        .unwrap_or(Duration::ZERO);
    now.checked_sub(age).unwrap_or(now)
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` is alive: it exists and is not a zombie waiting for its reaper.
pub fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

/// The VRRP advert carried by an Ethernet frame, if any: (source, VRID, priority).
pub fn vrrp_in_frame(frame: &[u8]) -> Option<(IpAddr, u8, u8)> {
    let (eth, payload) = vrrp_proto::ethernet::Repr::parse(frame).ok()?;
    match eth.ethertype {
        vrrp_proto::ethernet::ETHERTYPE_IPV4 => {
            let rx = vrrp_proto::decode_ipv4(payload).ok()?;
            Some((rx.endpoints.src(), rx.advert.vrid, rx.advert.priority))
        }
        vrrp_proto::ethernet::ETHERTYPE_IPV6 => {
            let (ip, msg) = vrrp_proto::ipv6::Repr::parse(payload).ok()?;
            if ip.next_header != vrrp_proto::vrrp::IP_PROTOCOL {
                return None;
            }
            let rx = vrrp_proto::decode_ipv6(msg, ip.src, ip.dst, ip.hop_limit).ok()?;
            Some((rx.endpoints.src(), rx.advert.vrid, rx.advert.priority))
        }
        _ => None,
    }
}

/// `aa:bb:cc:dd:ee:ff` as bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The Ethernet source address of a frame.
pub fn ethernet_source(frame: &[u8]) -> Option<[u8; 6]> {
    frame.get(6..12)?.try_into().ok()
}

/// The address a gratuitous ARP frame announces, if it is one.
pub fn garp_in_frame(frame: &[u8]) -> Option<Ipv4Addr> {
    let (_, arp) = vrrp_proto::arp::parse_frame(frame).ok()?;
    arp.is_gratuitous().then_some(arp.sender_ip)
}

/// The target of an unsolicited NA frame, if it is one.
pub fn na_in_frame(frame: &[u8]) -> Option<Ipv6Addr> {
    vrrp_proto::ndisc::parse_frame(frame)
        .ok()
        .map(|f| f.na.target)
}

/// The `main` of a `harness = false` test binary (tests that must own the main thread, such as
/// signal handling): runs the selected `tests` in order, honouring libtest's name filters,
/// `--exact`, `--list` and `--ignored` so that `cargo test` and cargo-nextest can drive it.
/// A failing test panics, which fails the binary.
pub fn run_harnessless(tests: &[(&str, fn())]) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let value_flags = ["--format", "--color", "--test-threads", "--logfile", "-Z"];
    let filters: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            !a.starts_with('-') && (*i == 0 || !value_flags.contains(&args[i - 1].as_str()))
        })
        .map(|(_, a)| a)
        .collect();
    let exact = flag("--exact");
    let selected = tests.iter().filter(|(name, _)| {
        filters.is_empty()
            || filters.iter().any(|f| {
                if exact {
                    f.as_str() == *name
                } else {
                    name.contains(f.as_str())
                }
            })
    });
    if flag("--list") {
        if !flag("--ignored") {
            for (name, _) in selected {
                println!("{name}: test");
            }
        }
        return;
    }
    if flag("--ignored") {
        return;
    }
    for (name, test) in selected {
        test();
        println!("test {name} ... ok");
    }
}
