//! A miniature daemon on the scheduler: a 10 ms periodic "advert" sent over UDP loopback, a
//! read task that receives it, signal handling (HUP reload, USR1 dump, TERM/INT stop), a
//! notify script with a timeout, and an orderly shutdown phase after the main loop stops.
//!
//! ```text
//! cargo run -p scheduler --example mini_daemon            # stops by itself after 200 adverts
//! cargo run -p scheduler --example mini_daemon -- 0       # runs until SIGTERM or Ctrl-C
//! ```

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use scheduler::{ChildSpec, Ctx, Error, Event, Loop, Signal, Stop};

struct Daemon {
    socket: UdpSocket,
    sent: u64,
    received: u64,
    worst_lateness: Duration,
    limit: u64,
}

/// Receives every datagram waiting, then re-arms the read task.
fn on_readable(d: &mut Daemon, ctx: &mut Ctx<Daemon>, ev: Event) {
    if ev == Event::Readable {
        let mut buf = [0u8; 64];
        while d.socket.recv(&mut buf).is_ok() {
            d.received += 1;
        }
    }
    if let Some(me) = ctx.current()
        && let Err(e) = ctx.rearm_io(me, Some(Duration::from_secs(1)))
    {
        eprintln!("cannot re-arm the receiver: {e}");
        ctx.terminate();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limit = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(socket.local_addr()?)?;
    socket.set_nonblocking(true)?;
    let fd = socket.as_raw_fd();
    let mut daemon = Daemon {
        socket,
        sent: 0,
        received: 0,
        worst_lateness: Duration::ZERO,
        limit,
    };

    // Create the loop before any thread, so every thread inherits its signal mask.
    let mut lp: Loop<Daemon> = Loop::new()?;
    let ctx = lp.ctx();
    let period = Duration::from_millis(10);
    ctx.add_periodic(
        "advert",
        ctx.now() + period,
        period,
        |d: &mut Daemon, ctx, ev| {
            let Event::Timer { deadline } = ev else {
                return;
            };
            d.worst_lateness = d
                .worst_lateness
                .max(Instant::now().saturating_duration_since(deadline));
            // A failed send is counted by its absence on the receiving side.
            let _ = d.socket.send(b"advert");
            d.sent += 1;
            if d.limit != 0 && d.sent >= d.limit {
                ctx.terminate();
            }
        },
    )?;
    ctx.add_read("receiver", fd, Some(Duration::from_secs(1)), on_readable)?;
    ctx.add_signal("reload", Signal::HUP, |_: &mut Daemon, _, _| {
        println!("SIGHUP: reload");
    })?;
    ctx.add_signal("dump", Signal::USR1, |d: &mut Daemon, ctx, _| {
        println!("SIGUSR1: sent {} received {}", d.sent, d.received);
        for task in ctx.tasks() {
            println!(
                "  {:?} {} next {:?}",
                task.kind,
                task.name,
                task.deadline
                    .map(|t| t.saturating_duration_since(ctx.now()))
            );
        }
    })?;
    for sig in [Signal::TERM, Signal::INT] {
        ctx.add_signal("stop", sig, |_: &mut Daemon, ctx, ev| {
            println!("{ev:?}: stopping");
            ctx.terminate();
        })?;
    }
    let notify = ChildSpec::new("/bin/echo")
        .arg("notify: started")
        .timeout(Duration::from_secs(5));
    ctx.spawn(
        "notify_start",
        notify.stdout(scheduler::StdioMode::Inherit),
        |_: &mut Daemon, _, ev| {
            if let Event::Exit(exit) = ev {
                println!("notify_start exited: {:?}", exit.status);
            }
        },
    )?;

    match lp.run(&mut daemon) {
        Ok(Stop::Terminated | Stop::Idle) => {}
        Ok(other) => println!("stopped: {other:?}"),
        Err(Error::Panicked { task, message }) => {
            eprintln!("task {task} panicked: {message}");
            std::process::exit(1);
        }
        Err(e) => return Err(e.into()),
    }

    // Orderly shutdown: the same loop runs the stop script; the signal tasks stay registered,
    // so a second SIGTERM now is read and handled, never fatal.
    let ctx = lp.ctx();
    let stop_script = ChildSpec::new("/bin/echo")
        .arg("notify: stopping")
        .timeout(Duration::from_secs(5));
    ctx.spawn(
        "notify_stop",
        stop_script.stdout(scheduler::StdioMode::Inherit),
        |_: &mut Daemon, ctx, _| {
            ctx.terminate();
        },
    )?;
    lp.run(&mut daemon)?;
    println!(
        "sent {} adverts, received {}, worst timer lateness {:?}, {:?}",
        daemon.sent,
        daemon.received,
        daemon.worst_lateness,
        lp.stats()
    );
    Ok(())
}
