//! Codec costs on the host (no kernel needed): decoding the kernel's service and destination
//! dump messages captured in `tests/data/`, and encoding the changes of a batch.
//! `cargo bench -p ipvs --bench codec`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ipvs::netlink_packet_core::{Emitable, NlasIterator};
use ipvs::nl::CmdAttr;
use ipvs::{Change, Destination, Family, Forward, Service, ServiceId};

const DUMPS: &str = include_str!("../tests/data/kernel-6.1-dumps.txt");

fn captured(kind: &str) -> Vec<u8> {
    let line = DUMPS.lines().find(|l| l.starts_with(kind)).unwrap();
    let hex = line.split_whitespace().last().unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn nest(msg: &[u8]) -> Vec<u8> {
    let nla = NlasIterator::new(msg).next().unwrap().unwrap();
    let len = usize::from(nla.length());
    nla.into_inner()[4..len].to_vec()
}

fn bench(c: &mut Criterion) {
    let svc = nest(&captured("service"));
    let dest = nest(&captured("dest"));
    c.bench_function("decode kernel service nest", |b| {
        b.iter(|| Service::parse_nest(black_box(&svc)).unwrap());
    });
    c.bench_function("decode kernel destination nest", |b| {
        b.iter(|| Destination::parse_nest(black_box(&dest), Family::Ipv4).unwrap());
    });
    let id = ServiceId::tcp("10.0.0.1".parse().unwrap(), 80);
    let change = Change::AddDestination(
        id,
        Destination::new("192.168.0.1".parse().unwrap(), 8080, Forward::Masquerade),
    );
    let mut buf = vec![0u8; 512];
    c.bench_function("encode add-destination attributes (Vec model)", |b| {
        b.iter(|| {
            let attrs: Vec<CmdAttr> = black_box(&change).attrs();
            let len = attrs.as_slice().buffer_len();
            attrs.as_slice().emit(&mut buf[..len]);
            len
        });
    });
    let changes = vec![change; 1000];
    c.bench_function("encode 1000 add-destination messages (batch path)", |b| {
        let mut out = Vec::with_capacity(256 * 1024);
        b.iter(|| {
            out.clear();
            for c in black_box(&changes) {
                c.encode(&mut out).unwrap();
            }
            out.len()
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
