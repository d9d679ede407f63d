//! `embedded-router`: two VRRP routers embedded in one process, each with its own I/O loop,
//! talking over UDP on loopback instead of raw IP sockets. It shows the embedding API of
//! `vrrp-engine`: feed it decoded adverts and timer expiries with the current time, drain its
//! actions, sleep until `poll_timeout`.
//!
//! ```text
//! embedded-router                  # demo: r1 (priority 200) and r2 (100); r1 shuts down at 6 s
//! embedded-router --seconds 20     # run longer
//! ```
//!
//! Each UDP datagram carries the IPv4 datagram a raw socket would (header included), encoded
//! and decoded with `vrrp-proto`, so the wire format is the real one. Address, route and GARP
//! actions are printed rather than performed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant as WallClock};

use vrrp_engine::{
    Action, AdvertTx, Command, Engine, EngineConfig, InstanceConfig, Instant, InterfaceId,
    NotifyEvent, VirtualAddress,
};

/// The interface id our routers use for their one "LAN".
const LAN: InterfaceId = InterfaceId(1);

/// One embedded router: an engine, a socket standing in for the wire, and a clock origin.
struct Router {
    name: &'static str,
    engine: Engine,
    socket: UdpSocket,
    peer: SocketAddr,
    origin: WallClock,
    ident: u16,
}

impl Router {
    fn new(
        name: &'static str,
        priority: u8,
        ip: Ipv4Addr,
        port: u16,
        peer_port: u16,
        origin: WallClock,
    ) -> Result<Router, String> {
        let mut vi = InstanceConfig::new("VI_1", LAN, 51, priority, IpAddr::V4(ip));
        vi.virtual_addresses = vec![VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(
            192, 0, 2, 100,
        )))]
        .into();
        let engine = Engine::new(EngineConfig {
            instances: vec![vi],
            log_interval: Duration::from_secs(60),
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
        let socket = UdpSocket::bind(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        Ok(Router {
            name,
            engine,
            socket,
            peer: SocketAddr::from(([127, 0, 0, 1], peer_port)),
            origin,
            ident: 0,
        })
    }

    /// The engine's clock: time since the shared origin.
    fn now(&self) -> Instant {
        Instant::from_std(self.origin, WallClock::now())
    }

    fn stamp(&self) -> String {
        format!("{:7.3}s {}", self.origin.elapsed().as_secs_f64(), self.name)
    }

    /// Performs every pending action, in order.
    fn drain(&mut self) {
        while let Some(action) = self.engine.poll_action() {
            match action {
                Action::SendAdvert(tx) => self.send(&tx),
                Action::AddAddress { address, .. } => {
                    println!(
                        "{} + address {}/{}",
                        self.stamp(),
                        address.addr,
                        address.prefix_len
                    );
                }
                Action::RemoveAddress { address, .. } => {
                    println!(
                        "{} - address {}/{}",
                        self.stamp(),
                        address.addr,
                        address.prefix_len
                    );
                }
                Action::Announce {
                    addresses, repeat, ..
                } => {
                    let list: Vec<String> = addresses.iter().map(|a| a.addr.to_string()).collect();
                    println!(
                        "{} gratuitous ARP x{repeat} for {}",
                        self.stamp(),
                        list.join(", ")
                    );
                }
                Action::Notify(n) => {
                    if let NotifyEvent::State(s) = n.event {
                        println!(
                            "{} notify: INSTANCE \"{}\" {s} {}",
                            self.stamp(),
                            n.name,
                            n.priority.0
                        );
                    }
                }
                Action::Log(record) => println!("{} log: {record}", self.stamp()),
                other => println!("{} {other:?}", self.stamp()),
            }
        }
    }

    fn send(&mut self, tx: &AdvertTx) {
        let IpAddr::V4(src) = tx.source else {
            return;
        };
        self.ident = self.ident.wrapping_add(1).max(1);
        let header = vrrp_proto::Ipv4Header {
            src,
            dst: vrrp_proto::vrrp::MULTICAST_V4,
            ident: self.ident,
            ttl: 255,
            tos: 0xc0,
        };
        let mut buf = [0u8; 1500];
        let ah = tx.ah_params();
        match vrrp_proto::emit_ipv4(&mut buf, &header, &tx.repr(), tx.checksum_mode, ah.as_ref()) {
            Ok(n) => {
                // A send error is a lost frame, which VRRP tolerates.
                let _ = self.socket.send_to(&buf[..n], self.peer);
            }
            Err(e) => eprintln!("{} cannot encode advert: {e}", self.stamp()),
        }
    }

    /// The I/O loop: wait for a datagram or the engine's deadline, whichever comes first.
    fn run(mut self, until: Duration, shutdown_at: Option<Duration>) {
        let now = self.now();
        self.engine.start(now);
        self.drain();
        let mut buf = [0u8; 2048];
        let mut shut = false;
        loop {
            let elapsed = self.origin.elapsed();
            if elapsed >= until {
                break;
            }
            if let Some(at) = shutdown_at
                && !shut
                && elapsed >= at
            {
                shut = true;
                let now = self.now();
                // Only instance ids from our own configuration are used, so this cannot fail.
                let _ = self.engine.handle_command(now, Command::Shutdown);
                self.drain();
            }
            // Sleep until the engine's deadline, the shutdown time, or the end, at most 1 s.
            let now = self.now();
            let mut wait = Duration::from_secs(1).min(until.saturating_sub(elapsed));
            if let Some(d) = self.engine.poll_timeout() {
                wait = wait.min(d - now);
            }
            if let Some(at) = shutdown_at.filter(|_| !shut) {
                wait = wait.min(at.saturating_sub(elapsed));
            }
            // A zero timeout means "block forever" to the socket API.
            let _ = self
                .socket
                .set_read_timeout(Some(wait.max(Duration::from_micros(100))));
            if let Ok((n, _)) = self.socket.recv_from(&mut buf) {
                let now = self.now();
                match vrrp_proto::decode_ipv4(&buf[..n]) {
                    Ok(rx) => self.engine.handle_advert(now, LAN, &rx),
                    Err(e) => {
                        let src = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                        self.engine.handle_rx_error(now, LAN, src, None, e);
                    }
                }
                self.drain();
            }
            let now = self.now();
            if self.engine.poll_timeout().is_some_and(|d| d <= now) {
                self.engine.handle_timeout(now);
                self.drain();
            }
        }
        // What a status command would print.
        for st in self.engine.statuses() {
            println!(
                "{} status: {} VRID {} {} priority {}/{} master {:?}; adverts sent {}, received {}, \
                 priority-0 sent {}, received {}",
                self.stamp(),
                st.name,
                st.vrid,
                st.state,
                st.effective_priority.0,
                st.base_priority.0,
                st.master,
                st.counters.sent_advertisements,
                st.counters.rcvd_advertisements,
                st.counters.sent_pri_zero,
                st.counters.rcvd_pri_zero,
            );
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = match args.as_slice() {
        [] => 12,
        [flag, n] if flag == "--seconds" => match n.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("embedded-router: --seconds needs a positive integer");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: embedded-router [--seconds N]");
            return ExitCode::from(2);
        }
    };
    let until = Duration::from_secs(seconds);
    let origin = WallClock::now();
    let routers = (
        Router::new(
            "r1",
            200,
            Ipv4Addr::new(192, 0, 2, 1),
            15_101,
            15_102,
            origin,
        ),
        Router::new(
            "r2",
            100,
            Ipv4Addr::new(192, 0, 2, 2),
            15_102,
            15_101,
            origin,
        ),
    );
    let (r1, r2) = match routers {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("embedded-router: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = Some(Duration::from_secs(6));
    let t1 = thread::spawn(move || r1.run(until, shutdown));
    let t2 = thread::spawn(move || r2.run(until, None));
    if t1.join().is_err() || t2.join().is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
