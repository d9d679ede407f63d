//! Conformance: every configuration of the shared corpus (`../shared/conformance` next to the
//! repository, or `$KARS_CONFORMANCE_DIR`) is parsed, and our `-t` verdict is compared with
//! keepalived 2.2.7's recorded one. Differences must be the known, explained ones (see
//! docs/COMPATIBILITY.md); a new difference fails the test. The table is printed (run with
//! `--nocapture`) and written to `$CARGO_TARGET_TMPDIR/conformance.md`.
//!
//! When the corpus is absent the test says so and passes.

#![allow(clippy::unwrap_used, clippy::panic)] // tests may unwrap

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Files where our verdict differs from keepalived 2.2.7's (run with the interfaces present) for
/// a reason other than the host, and why. Empty: every such difference would be a bug.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn corpus() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("KARS_CONFORMANCE_DIR") {
        return Some(PathBuf::from(d));
    }
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    d.is_dir().then_some(d)
}

/// Our verdict, as `keepalived -t` would exit, and the distinct finding codes.
fn verdict(path: &Path) -> (u8, Vec<String>) {
    match confparse::parse_file(path, &confparse::Options::default()) {
        Err(_) => (4, vec!["unreadable".into()]),
        Ok(p) => {
            let mut codes: Vec<String> = p.diagnostics.iter().map(|d| d.code.to_owned()).collect();
            codes.sort();
            codes.dedup();
            (if p.diagnostics.is_empty() { 0 } else { 5 }, codes)
        }
    }
}

fn tsv(path: &Path) -> Vec<HashMap<String, String>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| (*h).to_owned())
                .zip(l.split('\t').map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn corpus_verdicts_match_keepalived() {
    let Some(dir) = corpus() else {
        println!("skipped: the conformance corpus (../shared/conformance) is not present");
        return;
    };
    let mut table = String::from(
        "| file | keepalived 2.2.7 | keepalived-rs | our findings |\n|---|---|---|---|\n",
    );
    let mut unexplained = Vec::new();
    let mut read = 0;

    // Upstream samples: no recorded verdicts beyond Appendix A; every file must be read.
    for sub in ["v1.2.13", "latest"] {
        let Ok(rd) = std::fs::read_dir(dir.join("upstream-samples").join(sub)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            let (ours, codes) = verdict(&f);
            read += 1;
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let _ = writeln!(
                table,
                "| {sub}/{name} | – | {ours} | {} |",
                codes.join(", ")
            );
        }
    }

    // Real-world corpus with keepalived's verdicts (with the interfaces created, so that
    // host-dependent findings do not count).
    let rw = dir.join("real-world");
    let analysis = tsv(&rw.join("KA_ANALYSIS.tsv"));
    for row in &analysis {
        let file = &row["file"];
        let ka: u8 = row
            .get("ka_exit_with_ifaces")
            .and_then(|v| v.parse().ok())
            .unwrap_or(255);
        let (ours, codes) = verdict(&rw.join(file));
        read += 1;
        // keepalived exits 6 for script-security findings, which need the host's users and files.
        let ka_cmp = if ka == 6 { 5 } else { ka };
        let same = ka_cmp == ours;
        // keepalived's findings that depend on the host it ran on (script files, users): the
        // test parses without host facts, so these may differ.
        let cats = row
            .get("msg_categories_with_ifaces")
            .map_or("", String::as_str);
        let host_only = !cats.is_empty()
            && cats
                .split(',')
                .all(|c| c.starts_with("env:") || c.starts_with("security:"));
        let known = (host_only && ours == 0) || KNOWN_DIFFERENCES.iter().any(|(f, _)| f == file);
        if !same && !known {
            unexplained.push(format!(
                "{file}: keepalived {ka}, ours {ours} ({})",
                codes.join(", ")
            ));
        }
        let _ = writeln!(
            table,
            "| {file} | {ka} | {ours}{} | {} |",
            if same {
                ""
            } else if host_only {
                " (host)"
            } else {
                " ≠"
            },
            codes.join(", ")
        );
    }
    assert!(
        read > 0,
        "the corpus folder exists but holds no configuration"
    );
    println!("{table}");
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance.md"),
        &table,
    );
    assert!(
        unexplained.is_empty(),
        "verdicts that differ from keepalived's without an explanation:\n{}",
        unexplained.join("\n")
    );
}
