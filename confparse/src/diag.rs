//! Diagnostics: what is wrong with a configuration, where, and what to do about it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};

use crate::span::{SourceMap, Span};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// The configuration does not mean what it says, or part of it cannot be used.
    Error,
    /// The configuration works, but probably not as intended (or keepalived itself warns).
    Warning,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding about a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A short stable identifier of the kind of finding, e.g. `unknown-keyword`.
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where (the span may be [`Span::NONE`] for findings about the whole configuration).
    pub span: Span,
    /// What to do about it (e.g. "did you mean 'priority'?").
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    /// A new warning.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code,
            message: message.into(),
            span,
            help: None,
        }
    }

    /// Adds a help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Renders diagnostics as text: `severity: message`, `--> file:line:col`, the source line and a
/// caret under the offending token, then the help line.
///
/// Files given in memory are taken from the [`SourceMap`]; files read from disk are read again
/// (only the lines needed). When a file can no longer be read the source line is left out.
pub fn render(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut needed: HashMap<u16, Vec<u32>> = HashMap::new();
    for d in diags {
        if d.span.is_real() {
            needed.entry(d.span.file.0).or_default().push(d.span.line);
        }
    }
    let mut lines: HashMap<(u16, u32), String> = HashMap::new();
    for (file, mut want) in needed {
        want.sort_unstable();
        want.dedup();
        let Some(src) = sources.get(crate::span::FileId(file)) else {
            continue;
        };
        let mut store = |no: u32, text: &str| {
            if want.binary_search(&no).is_ok() {
                lines.insert((file, no), text.trim_end_matches(['\r', '\n']).to_owned());
            }
        };
        if let Some(text) = &src.text {
            for (i, l) in text.split(['\n', '\r']).enumerate() {
                store(u32::try_from(i + 1).unwrap_or(u32::MAX), l);
            }
        } else if let Ok(f) = std::fs::File::open(&src.path) {
            let mut no = 0u32;
            for chunk in BufReader::new(f).split(b'\n') {
                let Ok(chunk) = chunk else { break };
                for piece in chunk.split(|b| *b == b'\r') {
                    no += 1;
                    store(no, &String::from_utf8_lossy(piece));
                }
            }
        }
    }
    let mut out = String::new();
    for d in diags {
        let _ = writeln!(out, "{}: {}", d.severity.label(), d.message);
        if d.span.is_real() {
            let path = sources.path(d.span.file).display();
            let _ = writeln!(out, "  --> {}:{}:{}", path, d.span.line, d.span.col);
            if let Some(text) = lines.get(&(d.span.file.0, d.span.line)) {
                let no = d.span.line.to_string();
                let pad = " ".repeat(no.len());
                let shown: String = text
                    .chars()
                    .map(|c| if c == '\t' { ' ' } else { c })
                    .collect();
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{no} | {shown}");
                let caret_pad = " ".repeat(d.span.col.saturating_sub(1) as usize);
                let carets = "^".repeat(usize::from(d.span.len.max(1)));
                let _ = writeln!(out, "{pad} | {caret_pad}{carets}");
            }
        }
        if let Some(h) = &d.help {
            let _ = writeln!(out, "  = help: {h}");
        }
    }
    out
}

/// Levenshtein distance with an early exit, for did-you-mean suggestions.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if word.len() > 64 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let limit = (c.len().max(word.len()) / 3).max(1);
        // Cheap filter: the distance is at least the difference in length.
        if c.len().abs_diff(word.len()) > limit {
            continue;
        }
        let d = if c.eq_ignore_ascii_case(word) {
            0
        } else {
            distance(&lower, &c.to_ascii_lowercase())
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let kws = ["priority", "interface", "virtual_router_id", "nopreempt"];
        assert_eq!(did_you_mean("prority", &kws), Some("priority"));
        assert_eq!(did_you_mean("Priority", &kws), Some("priority"));
        assert_eq!(did_you_mean("interfaces", &kws), Some("interface"));
        assert_eq!(did_you_mean("zzz", &kws), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn render_points_at_the_token() {
        let mut sm = SourceMap::default();
        let id = sm.add("t.conf".into(), Some("a\n  prority 100\n".into()));
        let d = Diagnostic::warning(
            "unknown-keyword",
            Span {
                file: id,
                line: 2,
                col: 3,
                len: 7,
            },
            "unknown keyword 'prority'",
        )
        .with_help("did you mean 'priority'?");
        let out = render(&[d], &sm);
        assert!(out.contains("warning: unknown keyword 'prority'"), "{out}");
        assert!(out.contains("--> t.conf:2:3"), "{out}");
        assert!(out.contains("2 |   prority 100"), "{out}");
        assert!(out.contains("  |   ^^^^^^^\n"), "{out}");
        assert!(out.contains("help: did you mean 'priority'?"), "{out}");
    }
}
