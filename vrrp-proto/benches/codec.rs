//! Criterion benchmarks of the VRRP codec's receive path (decode + validate) and send path, on
//! packets captured from keepalived 2.2.7 (`tests/vectors`).
//!
//! Run: `cargo bench -p vrrp-proto --bench codec`
//!
//! Each benchmark is measured twice: `wall/...` with criterion's wall clock, and `cpu/...` with
//! the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which is the per-core cost even when the
//! machine is shared and the benchmark thread is preempted.

// Benchmark set-up may unwrap: the inputs are the committed vectors.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use support::v2_context as v2_ctx;
use vrrp_proto::{
    AddressPolicy, Addresses, AdvertInterval, AhParams, Auth, AuthConfig, Centiseconds,
    Ipv4ChecksumMode, Ipv4Header, Seconds, ValidationContext, Version, decode_ipv4, decode_ipv6,
    emit_ipv4, ipv6, validate,
};

/// Criterion measurement of the calling thread's CPU time, in nanoseconds.
mod cpu_time {
    use criterion::Throughput;
    use criterion::measurement::{Measurement, ValueFormatter};

    /// The thread CPU clock.
    pub(crate) struct ThreadCpuTime;

    fn now_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `ts`.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        ts.tv_sec.cast_unsigned() * 1_000_000_000 + ts.tv_nsec.cast_unsigned()
    }

    impl Measurement for ThreadCpuTime {
        type Intermediate = u64;
        type Value = u64;
        fn start(&self) -> u64 {
            now_ns()
        }
        fn end(&self, start: u64) -> u64 {
            now_ns().saturating_sub(start)
        }
        fn add(&self, a: &u64, b: &u64) -> u64 {
            a + b
        }
        fn zero(&self) -> u64 {
            0
        }
        #[allow(clippy::cast_precision_loss)]
        fn to_f64(&self, v: &u64) -> f64 {
            *v as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            &CpuFormatter
        }
    }

    struct CpuFormatter;

    impl ValueFormatter for CpuFormatter {
        fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
            "ns (cpu)"
        }
        #[allow(clippy::cast_precision_loss)]
        fn scale_throughputs(
            &self,
            _typical: f64,
            t: &Throughput,
            values: &mut [f64],
        ) -> &'static str {
            let n = match t {
                Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => *n,
                _ => 1,
            };
            for v in values {
                *v = n as f64 * 1e3 / *v;
            }
            "M/s per core"
        }
        fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
            "ns"
        }
    }
}

fn receive<M: criterion::measurement::Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let mut g = c.benchmark_group(format!("{prefix}/receive"));
    g.throughput(Throughput::Elements(1));

    let frame = vector!("v2-none").swap_remove(0);
    let vips = [Ipv4Addr::new(10, 99, 0, 10)];
    let ctx = v2_ctx(10, AuthConfig::None, &vips);
    let d = &frame[14..];
    assert!(validate(&decode_ipv4(d).unwrap(), &ctx).is_ok());
    g.bench_function("v2_1addr_noauth", |b| {
        b.iter(|| validate(&decode_ipv4(black_box(d)).unwrap(), black_box(&ctx)).is_ok());
    });

    let frame = vector!("v2-20addr").swap_remove(0);
    let vips: Vec<Ipv4Addr> = (1..=20).map(|i| Ipv4Addr::new(10, 99, 1, i)).collect();
    let ctx = v2_ctx(13, AuthConfig::None, &vips);
    let d = &frame[14..];
    assert!(validate(&decode_ipv4(d).unwrap(), &ctx).is_ok());
    g.bench_function("v2_20addr_noauth", |b| {
        b.iter(|| validate(&decode_ipv4(black_box(d)).unwrap(), black_box(&ctx)).is_ok());
    });

    let frame = vector!("v2-ah").swap_remove(0);
    let vips = [Ipv4Addr::new(10, 99, 0, 12)];
    let ctx = v2_ctx(
        12,
        AuthConfig::Ah(Auth::key_from_password(b"ahsecret")),
        &vips,
    );
    let d = &frame[14..];
    assert!(validate(&decode_ipv4(d).unwrap(), &ctx).is_ok());
    g.bench_function("v2_ah", |b| {
        b.iter(|| validate(&decode_ipv4(black_box(d)).unwrap(), black_box(&ctx)).is_ok());
    });

    let frame = vector!("v3-ipv6").swap_remove(0);
    let (ip, payload) = ipv6::Repr::parse(&frame[14..]).unwrap();
    let vips: [Ipv6Addr; 2] = ["fd99::30".parse().unwrap(), "fd99::31".parse().unwrap()];
    let ctx = ValidationContext {
        version: Version::V3,
        vrid: 30,
        check_ttl: true,
        checksum_mode: Ipv4ChecksumMode::PseudoHeader,
        auth: AuthConfig::None,
        interval: None,
        addresses: Addresses::v6(&vips),
        address_policy: AddressPolicy::Reject,
    };
    let rx = decode_ipv6(payload, ip.src, ip.dst, 255).unwrap();
    assert!(validate(&rx, &ctx).is_ok());
    g.bench_function("v3_ipv6_2addr", |b| {
        b.iter(|| {
            let rx = decode_ipv6(black_box(payload), ip.src, ip.dst, 255).unwrap();
            validate(&rx, black_box(&ctx)).is_ok()
        });
    });
    g.finish();
}

fn send<M: criterion::measurement::Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let mut g = c.benchmark_group(format!("{prefix}/send"));
    g.throughput(Throughput::Elements(1));
    let header = Ipv4Header {
        src: Ipv4Addr::new(10, 99, 0, 1),
        dst: vrrp_proto::vrrp::MULTICAST_V4,
        ident: 1,
        ttl: 255,
        tos: 0xc0,
    };
    let vips: Vec<Ipv4Addr> = (1..=20).map(|i| Ipv4Addr::new(10, 99, 1, i)).collect();
    let advert = vrrp_proto::Repr {
        vrid: 13,
        priority: 100,
        interval: AdvertInterval::V2(Seconds(1)),
        auth: Auth::None,
        addresses: Addresses::v4(&vips),
    };
    let mut buf = [0u8; 256];
    g.bench_function("v2_20addr_noauth", |b| {
        b.iter(|| {
            emit_ipv4(
                &mut buf,
                &header,
                black_box(&advert),
                Ipv4ChecksumMode::PseudoHeader,
                None,
            )
            .unwrap()
        });
    });
    let v3 = vrrp_proto::Repr {
        interval: AdvertInterval::V3(Centiseconds::new(100).unwrap()),
        ..advert
    };
    g.bench_function("v3_ipv4_20addr", |b| {
        b.iter(|| {
            emit_ipv4(
                &mut buf,
                &header,
                black_box(&v3),
                Ipv4ChecksumMode::PseudoHeader,
                None,
            )
            .unwrap()
        });
    });
    let ah = vrrp_proto::Repr {
        auth: Auth::Ah,
        addresses: Addresses::v4(&vips[..1]),
        ..advert
    };
    let params = AhParams {
        key: Auth::key_from_password(b"ahsecret"),
        sequence: 1,
    };
    g.bench_function("v2_ah", |b| {
        b.iter(|| {
            emit_ipv4(
                &mut buf,
                &header,
                black_box(&ah),
                Ipv4ChecksumMode::PseudoHeader,
                Some(&params),
            )
            .unwrap()
        });
    });
    g.finish();
}

fn wall(c: &mut Criterion) {
    receive(c, "wall");
    send(c, "wall");
}

fn cpu(c: &mut Criterion<cpu_time::ThreadCpuTime>) {
    receive(c, "cpu");
    send(c, "cpu");
}

criterion_group!(wall_clock, wall);
criterion_group! {
    name = cpu_clock;
    config = Criterion::default().with_measurement(cpu_time::ThreadCpuTime);
    targets = cpu
}
criterion_main!(wall_clock, cpu_clock);
