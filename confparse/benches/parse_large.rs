//! Benchmark: `keepalived -t` against confparse on a generated configuration of about 500,000
//! lines (2,000 virtual servers x 20 real servers, each with an `HTTP_GET` checker).
//!
//! Both are run as separate processes under `/usr/bin/time -v`, so that wall time and peak
//! resident memory are measured the same way; our process is this binary re-run with `--child
//! FILE`, which only parses (and checks) the file. Each side runs `RUNS` times; the median is
//! reported, with the ratios.
//!
//! Run: `cargo bench -p confparse --bench parse_large` (add `-- --keep` to keep the file).

#![allow(clippy::cast_precision_loss)] // sizes and times printed as approximate floats

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const VIRTUAL_SERVERS: usize = 2_000;
const REAL_SERVERS: usize = 20;
const RUNS: usize = 7;

fn generate(path: &Path) -> std::io::Result<usize> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut lines = 0;
    writeln!(out, "global_defs {{\n    router_id bench\n}}\n")?;
    lines += 4;
    for v in 0..VIRTUAL_SERVERS {
        let (a, b) = (v / 250, v % 250);
        writeln!(out, "virtual_server 10.{a}.{b}.1 80 {{")?;
        writeln!(
            out,
            "    delay_loop 6\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n"
        )?;
        lines += 6;
        for r in 0..REAL_SERVERS {
            writeln!(
                out,
                "    real_server 172.{a}.{b}.{} 8080 {{\n        weight 1\n        HTTP_GET {{\n            url {{\n              path /health\n              status_code 200\n            }}\n            connect_timeout 3\n            retry 3\n            delay_before_retry 2\n        }}\n    }}",
                r + 10
            )?;
            lines += 12;
        }
        writeln!(out, "}}")?;
        lines += 1;
    }
    out.flush()?;
    Ok(lines)
}

/// Wall seconds and peak RSS (KiB) of a command, from `/usr/bin/time -v`.
fn measure(cmd: &[&str]) -> Option<(f64, u64, i32)> {
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .args(cmd)
        .output()
        .ok()?;
    let wall = start.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    let rss = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())?;
    Some((wall, rss, out.status.code().unwrap_or(-1)))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn child(file: &str) {
    let start = Instant::now();
    match confparse::parse_file(Path::new(file), &confparse::Options::default()) {
        Ok(p) => {
            let rs: usize = p
                .config
                .virtual_servers
                .iter()
                .map(|v| v.real_servers.len())
                .sum();
            println!(
                "parsed {} virtual servers, {rs} real servers, {} findings in {:.3} s",
                p.config.virtual_servers.len(),
                p.diagnostics.len(),
                start.elapsed().as_secs_f64()
            );
            // Like `keepalived -t`, exit as soon as the verdict is known; the model is not freed.
            let _ = std::io::stdout().flush();
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(4);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(args.get(i + 1).map_or("", String::as_str));
        return;
    }
    let keep = args.iter().any(|a| a == "--keep");
    let file: PathBuf =
        std::env::temp_dir().join(format!("kars-bench-{}.conf", std::process::id()));
    let lines = match generate(&file) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("cannot write {}: {e}", file.display());
            return;
        }
    };
    let size = std::fs::metadata(&file).map_or(0, |m| m.len());
    println!(
        "config: {} ({lines} lines, {:.1} MB)",
        file.display(),
        size as f64 / 1e6
    );
    let Ok(me) = std::env::current_exe() else {
        return;
    };
    let me = me.to_string_lossy().into_owned();
    let f = file.to_string_lossy().into_owned();
    if !Path::new("/usr/bin/time").exists() {
        println!("skipped: needs /usr/bin/time (apt-get install time)");
        return;
    }
    let ka = Path::new("/usr/sbin/keepalived").exists();
    let (mut ours_t, mut ours_m, mut ka_t, mut ka_m) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        if let Some((t, m, _)) = measure(&[&me, "--child", &f]) {
            ours_t.push(t);
            ours_m.push(m as f64);
        }
        if ka
            && let Some((t, m, code)) = measure(&["/usr/sbin/keepalived", "-t", "-f", &f])
            && (code == 0 || code == 5)
        {
            ka_t.push(t);
            ka_m.push(m as f64);
        }
    }
    if ours_t.is_empty() {
        println!("could not run the parser");
        return;
    }
    let _ = Command::new(&me).args(["--child", &f]).status();
    let (ot, om) = (median(ours_t), median(ours_m) / 1024.0);
    println!("keepalived-rs confparse : {ot:.3} s wall, {om:.1} MiB peak RSS (median of {RUNS})");
    if ka_t.is_empty() {
        println!("keepalived: not installed (/usr/sbin/keepalived); no comparison");
    } else {
        let (kt, km) = (median(ka_t), median(ka_m) / 1024.0);
        println!(
            "keepalived -t           : {kt:.3} s wall, {km:.1} MiB peak RSS (median of {RUNS})"
        );
        println!("ratio: {:.1}x faster, {:.2}x the memory", kt / ot, om / km);
    }
    if !keep {
        let _ = std::fs::remove_file(&file);
    }
}
