//! Preprocessor and tokenizer.
//!
//! Reads lines from a stack of files (`include`), applies `@id` / `@^id` conditional lines,
//! `$NAME=` definitions, `$NAME` / `${NAME}` substitution and `~SEQ` / `~LST` repetition, and cuts
//! each resulting line into tokens. `{` and `}` outside quotes become items of their own, so a block
//! may open on the keyword line, on its own line, or hold its content on the same line.
//!
//! Limits keep hostile input bounded: include depth and cycles, expansion depth, the length of an
//! expanded line, and the number of lines one `~SEQ`/`~LST` may produce are all capped, and
//! exceeding a cap is an error, never a hang.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::span::{FileId, SourceMap, Span};

/// Deepest include nesting accepted.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 32;
/// Longest line (after expansion) accepted, in bytes.
pub(crate) const MAX_LINE: usize = 1 << 20;
/// Nesting limit for `$NAME` expansion.
const MAX_EXPANSION_DEPTH: usize = 16;
/// Most lines a single `~SEQ` / `~LST` line may produce.
const MAX_REPEAT_LINES: usize = 1 << 17;
/// Work (expansion steps plus bytes/64) one physical line may cost; bounds nested expansions
/// that produce little output for a lot of work.
const WORK_BUDGET: u64 = 1 << 21;
/// Expansion work one whole parse may cost.
const TOTAL_WORK_BUDGET: u64 = 1 << 24;
/// Most files (including repeated includes of one file) read by one parse.
pub(crate) const MAX_FILES: usize = 4096;
/// Most diagnostics kept; the rest are counted in a final one.
pub(crate) const MAX_DIAGNOSTICS: usize = 10_000;

/// A word of the configuration, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The text, quotes removed and escapes applied.
    pub text: String,
    /// Location of the word in its (expanded) line.
    pub span: Span,
    /// True when any part of the word was quoted.
    pub quoted: bool,
}

/// One unit of the token stream.
#[derive(Debug)]
pub(crate) enum Item {
    /// The words of a (part of a) line.
    Line(Vec<Token>),
    /// An unquoted `{`.
    Open(Span),
    /// An unquoted `}`.
    Close(Span),
}

/// Where configuration text comes from: the file system, or memory (tests, fuzzing).
pub trait SourceLoader {
    /// Opens a file for reading.
    fn open(&self, path: &Path) -> io::Result<Box<dyn BufRead>>;
    /// The files matching a glob pattern (`*`, `?`, `[…]`), sorted.
    fn glob(&self, pattern: &Path) -> Vec<PathBuf>;
    /// A name that identifies the file whatever path reached it (for cycle detection).
    fn canonical(&self, path: &Path) -> PathBuf {
        path.to_path_buf()
    }
    /// The whole text of a file held in memory, kept for rendering diagnostics. `None` (the
    /// default) for files on disk, which are read again when a diagnostic is rendered.
    fn memory_text(&self, _path: &Path) -> Option<String> {
        None
    }
}

/// Reads from the file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct FsLoader;

impl SourceLoader for FsLoader {
    fn open(&self, path: &Path) -> io::Result<Box<dyn BufRead>> {
        let f = std::fs::File::open(path)?;
        if f.metadata()?.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        Ok(Box::new(io::BufReader::with_capacity(64 * 1024, f)))
    }
    fn glob(&self, pattern: &Path) -> Vec<PathBuf> {
        fs_glob(pattern)
    }
    fn canonical(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Serves files from memory; paths are matched exactly.
#[derive(Clone, Debug, Default)]
pub struct MemLoader {
    files: HashMap<PathBuf, Vec<u8>>,
}

impl MemLoader {
    /// An empty set of files.
    pub fn new() -> Self {
        MemLoader::default()
    }
    /// Adds (or replaces) a file.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> &mut Self {
        self.files.insert(path.into(), text.into().into_bytes());
        self
    }
    /// Adds (or replaces) a file given as bytes (which need not be UTF-8).
    pub fn add_bytes(&mut self, path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(path.into(), bytes.into());
        self
    }
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl SourceLoader for MemLoader {
    fn open(&self, path: &Path) -> io::Result<Box<dyn BufRead>> {
        match self.files.get(&normalize(path)) {
            Some(t) => Ok(Box::new(io::Cursor::new(t.clone()))),
            None => Err(io::Error::new(io::ErrorKind::NotFound, "no such file")),
        }
    }
    fn glob(&self, pattern: &Path) -> Vec<PathBuf> {
        let pat = normalize(pattern);
        let pat = pat.to_string_lossy();
        let mut v: Vec<PathBuf> = self
            .files
            .keys()
            .filter(|p| wildcard_match(&pat, &p.to_string_lossy()))
            .cloned()
            .collect();
        v.sort();
        v
    }
    fn canonical(&self, path: &Path) -> PathBuf {
        normalize(path)
    }
    fn memory_text(&self, path: &Path) -> Option<String> {
        self.files
            .get(&normalize(path))
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// Shell-style wildcard match of a whole string: `*`, `?` and `[…]` (with `!`/`^` negation and
/// ranges). `*` and `?` do not match `/`.
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' if n[ni] != '/' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p, pi, n[ni]) {
                        if matched {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] && c != '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) if n[sn] != '/' => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            _ => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`; returns (matched, index after `]`),
/// or `None` when the class is not terminated.
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands a glob against the file system, component by component.
fn fs_glob(pattern: &Path) -> Vec<PathBuf> {
    let text = pattern.to_string_lossy();
    if !has_wildcard(&text) {
        return if pattern.exists() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let mut current: Vec<PathBuf> = vec![if pattern.is_absolute() {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy();
        if matches!(comp, std::path::Component::RootDir) {
            continue;
        }
        let mut next = Vec::new();
        for base in &current {
            if has_wildcard(&part) {
                let dir = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base.as_path()
                };
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect();
                names.sort();
                for name in names {
                    if (!name.starts_with('.') || part.starts_with('.'))
                        && wildcard_match(&part, &name)
                    {
                        next.push(base.join(name));
                    }
                }
            } else {
                let p = base.join(&*part);
                if p.exists() || p.is_symlink() {
                    next.push(p);
                }
            }
        }
        current = next;
    }
    current.retain(|p| p.is_file());
    current
}

/// One open file on the include stack.
struct Frame {
    file: FileId,
    reader: Box<dyn BufRead>,
    line: u32,
    dir: PathBuf,
    canon: PathBuf,
    /// Physical lines split off a line that held bare `\r` separators.
    pending: VecDeque<String>,
    /// Expanded lines that followed an `include` produced by the same expansion (`~SEQ`, a
    /// multi-line parameter): they come after the included files.
    after: VecDeque<(String, FileId, u32)>,
}

/// What reading a physical line gave.
enum Physical {
    /// A line of the top file: text, file, 1-based number.
    Line(String, FileId, u32),
    /// An included file ended and its includer has expanded lines to finish first.
    Resume,
}

/// Options of the preprocessor.
#[derive(Clone, Debug, Default)]
pub(crate) struct LexOptions {
    /// The config id that `@id` lines are compared with.
    pub config_id: Option<String>,
}

/// The preprocessor and tokenizer. Produces [`Item`]s on demand.
pub(crate) struct Lexer<'l> {
    loader: &'l dyn SourceLoader,
    frames: Vec<Frame>,
    /// Expanded lines waiting to be tokenized: text, file, line number.
    lines: VecDeque<(String, FileId, u32)>,
    items: VecDeque<Item>,
    params: HashMap<String, String>,
    opts: LexOptions,
    pub(crate) sources: SourceMap,
    pub(crate) diags: Vec<Diagnostic>,
    buf: Vec<u8>,
    /// Work left for the current physical line.
    budget: u64,
    /// Expansion work left for the whole parse.
    total_budget: u64,
    /// Files opened so far.
    opened: usize,
}

/// White space as keepalived sees it (C `isspace`): ASCII only.
fn ascii_space(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\x0b'
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl<'l> Lexer<'l> {
    /// A lexer with nothing to read yet.
    pub(crate) fn new(loader: &'l dyn SourceLoader, opts: LexOptions) -> Self {
        Lexer {
            loader,
            frames: Vec::new(),
            lines: VecDeque::new(),
            items: VecDeque::new(),
            params: HashMap::new(),
            opts,
            sources: SourceMap::default(),
            diags: Vec::new(),
            buf: Vec::new(),
            budget: WORK_BUDGET,
            total_budget: TOTAL_WORK_BUDGET,
            opened: 0,
        }
    }

    /// Records a diagnostic, up to [`MAX_DIAGNOSTICS`].
    fn report(&mut self, d: Diagnostic) {
        push_capped(&mut self.diags, d);
    }

    /// Spends expansion work; false (reported once per line) when the line's budget is used up.
    fn spend(&mut self, units: u64, span: Span) -> bool {
        if self.budget == 0 || self.total_budget == 0 {
            return false;
        }
        if self.budget < units || self.total_budget < units {
            let whole = self.total_budget < units;
            self.budget = 0;
            if whole {
                self.total_budget = 0;
            }
            let msg = if whole {
                "parameter / ~SEQ expansion of the whole configuration is too large; later expansions are dropped"
            } else {
                "parameter / ~SEQ expansion of this line is too large; the rest is dropped"
            };
            self.report(
                Diagnostic::error("expansion-too-large", span, msg)
                    .with_help("split the expansion over several lines"),
            );
            return false;
        }
        self.budget -= units;
        self.total_budget -= units;
        true
    }

    /// Pushes a file on the include stack. Returns false (with a diagnostic when `at` is real) if it
    /// cannot be opened.
    pub(crate) fn push_file(&mut self, path: &Path, at: Span) -> Result<(), io::Error> {
        let canon = self.loader.canonical(path);
        if self.frames.iter().any(|f| f.canon == canon) {
            self.report(
                Diagnostic::error(
                    "include-cycle",
                    at,
                    format!("include cycle: '{}' is already being read", path.display()),
                )
                .with_help("remove the include that leads back to a file that includes it"),
            );
            return Ok(());
        }
        if self.frames.len() >= MAX_INCLUDE_DEPTH {
            self.report(Diagnostic::error(
                "include-depth",
                at,
                format!(
                    "includes nested deeper than {MAX_INCLUDE_DEPTH} levels; '{}' not read",
                    path.display()
                ),
            ));
            return Ok(());
        }
        if self.opened >= MAX_FILES {
            self.report(Diagnostic::error(
                "too-many-files",
                at,
                format!(
                    "more than {MAX_FILES} files included; '{}' not read",
                    path.display()
                ),
            ));
            return Ok(());
        }
        self.opened += 1;
        let reader = self.loader.open(path)?;
        let file = self
            .sources
            .add(path.to_path_buf(), self.loader.memory_text(path));
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.frames.push(Frame {
            file,
            reader,
            line: 0,
            dir,
            canon,
            pending: VecDeque::new(),
            after: VecDeque::new(),
        });
        Ok(())
    }

    /// The next item, or `None` at the end of the input.
    pub(crate) fn next_item(&mut self) -> Option<Item> {
        loop {
            if let Some(it) = self.items.pop_front() {
                return Some(it);
            }
            if let Some((text, file, line)) = self.lines.pop_front() {
                self.tokenize(&text, 0, file, line);
                continue;
            }
            if let Some(top) = self.frames.last_mut()
                && !top.after.is_empty()
            {
                self.lines = std::mem::take(&mut top.after);
                continue;
            }
            let Physical::Line(raw, file, line) = self.read_physical()? else {
                continue;
            };
            self.logical(&raw, file, line);
            // Give the line's allocation back to the read buffer.
            self.buf = raw.into_bytes();
        }
    }

    /// Reads one physical line from the top frame, popping finished frames. `Some(Physical::Resume)` when a
    /// frame was popped and the includer has expanded lines waiting (see [`Frame::after`]).
    fn read_physical(&mut self) -> Option<Physical> {
        loop {
            let frame = self.frames.last_mut()?;
            if let Some(l) = frame.pending.pop_front() {
                frame.line += 1;
                return Some(Physical::Line(l, frame.file, frame.line));
            }
            self.buf.clear();
            match frame.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.frames.pop();
                    if self.frames.last().is_some_and(|f| !f.after.is_empty()) {
                        return Some(Physical::Resume);
                    }
                }
                Ok(_) => {
                    if self.buf.last() == Some(&b'\n') {
                        self.buf.pop();
                    }
                    if self.buf.last() == Some(&b'\r') {
                        self.buf.pop();
                    }
                    let text = match String::from_utf8(std::mem::take(&mut self.buf)) {
                        Ok(s) => s,
                        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    };
                    if text.contains('\r') {
                        // Old Mac line ends: each `\r` ends a line too.
                        let mut parts = text.split('\r').map(str::to_owned);
                        let first = parts.next().unwrap_or_default();
                        frame.pending.extend(parts);
                        frame.line += 1;
                        return Some(Physical::Line(first, frame.file, frame.line));
                    }
                    frame.line += 1;
                    return Some(Physical::Line(text, frame.file, frame.line));
                }
                Err(e) => {
                    let span = Span {
                        file: frame.file,
                        line: frame.line + 1,
                        col: 1,
                        len: 1,
                    };
                    self.report(Diagnostic::error(
                        "read-error",
                        span,
                        format!("cannot read: {e}"),
                    ));
                    self.frames.pop();
                }
            }
        }
    }

    fn span(file: FileId, line: u32, col: usize, len: usize) -> Span {
        Span {
            file,
            line,
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
            len: u16::try_from(len.max(1)).unwrap_or(u16::MAX),
        }
    }

    /// Handles one physical line: limits, conditionals, definitions, then expansion.
    fn logical(&mut self, raw: &str, file: FileId, line: u32) {
        self.budget = WORK_BUDGET;
        if raw.len() > MAX_LINE {
            self.report(Diagnostic::error(
                "line-too-long",
                Self::span(file, line, 0, 1),
                format!("line longer than {MAX_LINE} bytes ignored"),
            ));
            return;
        }
        if let Some(pos) = raw.find('\0') {
            self.report(Diagnostic::error(
                "nul-byte",
                Self::span(file, line, raw[..pos].chars().count(), 1),
                "line contains a NUL byte; line ignored",
            ));
            return;
        }
        let trimmed_start = raw.len() - raw.trim_start_matches(ascii_space).len();
        let mut body = &raw[trimmed_start..];
        let mut offset = trimmed_start;
        // Conditional lines: `@ID rest` or `@^ID rest`.
        if let Some(rest) = body.strip_prefix('@') {
            let (negate, rest) = match rest.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let id_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let id = &rest[..id_len];
            let matches = self.opts.config_id.as_deref() == Some(id);
            if matches == negate {
                return;
            }
            let after = &rest[id_len..];
            let ws = after.len() - after.trim_start_matches(ascii_space).len();
            offset += body.len() - after.len() + ws;
            body = after.trim_start_matches(ascii_space);
        }
        // Definitions: `$NAME=value`, continued with a trailing `\`.
        if let Some(def) = body.strip_prefix('$') {
            let name_len = def.find(|c: char| !is_name_char(c)).unwrap_or(def.len());
            if name_len > 0 && def.starts_with(is_name_start) && def[name_len..].starts_with('=') {
                let name = def[..name_len].to_owned();
                let mut value = def[name_len + 1..].trim_matches(ascii_space).to_owned();
                while value.ends_with('\\') {
                    value.pop();
                    let Some(Physical::Line(next, _, _)) = self.read_physical() else {
                        break;
                    };
                    value.push('\n');
                    value.push_str(next.trim_matches(ascii_space));
                    if value.len() > MAX_LINE {
                        self.report(Diagnostic::error(
                            "definition-too-long",
                            Self::span(file, line, offset, name_len + 1),
                            format!("definition of ${name} longer than {MAX_LINE} bytes"),
                        ));
                        return;
                    }
                }
                self.params.insert(name, value);
                return;
            }
        }
        if !body.contains('$') && !body.starts_with('~') {
            // Nothing to expand: tokenize in place.
            let col0 = raw[..offset].chars().count();
            self.tokenize(body, col0, file, line);
            return;
        }
        let mut out = Vec::new();
        let padded = format!("{}{}", " ".repeat(offset.min(raw.len())), body);
        self.expand_line(&padded, file, line, 0, &mut out);
        for l in out {
            self.lines.push_back((l, file, line));
        }
    }

    /// Expands `~SEQ`/`~LST` and parameters of one line into `out`.
    fn expand_line(
        &mut self,
        text: &str,
        file: FileId,
        line: u32,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        if !self.spend(1 + text.len() as u64 / 64, Self::span(file, line, 0, 1)) {
            return;
        }
        let trimmed = text.trim_start_matches(ascii_space);
        let indent = text.len() - trimmed.len();
        if let Some(rep) = ["~SEQx(", "~SEQ(", "~LST("]
            .iter()
            .find(|p| trimmed.starts_with(**p))
        {
            let span = Self::span(file, line, indent, rep.len() - 1);
            if depth >= MAX_EXPANSION_DEPTH {
                self.report(Diagnostic::error(
                    "expansion-depth",
                    span,
                    "~SEQ/~LST nested too deeply",
                ));
                return;
            }
            let Some(close) = trimmed.find(')') else {
                self.report(Diagnostic::error(
                    "bad-repeat",
                    span,
                    format!("{} without a closing ')'", &rep[..rep.len() - 1]),
                ));
                return;
            };
            let inner = self.substitute(&trimmed[rep.len()..close], span, 0);
            let rest = &trimmed[close + 1..];
            let args = split_top_level(&inner);
            let Some((vars, rows)) = self.repeat_values(rep, &args, span) else {
                return;
            };
            let saved: Vec<Option<String>> =
                vars.iter().map(|v| self.params.get(v).cloned()).collect();
            for row in rows {
                if out.len() >= MAX_REPEAT_LINES {
                    self.report(Diagnostic::error(
                        "repeat-too-long",
                        span,
                        format!("~SEQ/~LST expansion stopped after {MAX_REPEAT_LINES} lines"),
                    ));
                    break;
                }
                for (var, value) in vars.iter().zip(row) {
                    self.params.insert(var.clone(), value);
                }
                let padded = format!("{}{}", " ".repeat(indent), rest);
                self.expand_line(&padded, file, line, depth + 1, out);
            }
            for (var, old) in vars.into_iter().zip(saved) {
                match old {
                    Some(s) => self.params.insert(var, s),
                    None => self.params.remove(&var),
                };
            }
            return;
        }
        let span = Self::span(file, line, indent, 1);
        let expanded = if text.contains('$') {
            self.substitute(text, span, 0)
        } else {
            text.to_owned()
        };
        if expanded.len() > MAX_LINE {
            self.report(Diagnostic::error(
                "line-too-long",
                span,
                format!("line longer than {MAX_LINE} bytes after expansion"),
            ));
            return;
        }
        if expanded.contains('\n') {
            out.extend(expanded.split('\n').map(str::to_owned));
        } else {
            out.push(expanded);
        }
    }

    /// The variables and the rows of values a `~SEQ(var, [start,] [step,] end)`, `~LST(var, v…)`
    /// or `~LST({a,b}, {1,2}, …)` iterates over.
    #[allow(clippy::type_complexity)]
    fn repeat_values(
        &mut self,
        rep: &str,
        args: &[String],
        span: Span,
    ) -> Option<(Vec<String>, Vec<Vec<String>>)> {
        let var_name = |v: &str| {
            let v = v.trim().trim_start_matches('$');
            (v.starts_with(is_name_start) && v.chars().all(is_name_char)).then(|| v.to_owned())
        };
        let bad = |me: &mut Self, msg: String| {
            me.report(Diagnostic::error("bad-repeat", span, msg));
            None
        };
        let var_ok = args
            .first()
            .is_some_and(|v| var_name(v).is_some() || (rep == "~LST(" && v.starts_with('{')));
        if !var_ok {
            return bad(
                self,
                format!(
                    "{}: the first argument must be a variable name",
                    &rep[..rep.len() - 1]
                ),
            );
        }
        if rep == "~LST(" {
            if args.len() < 2 {
                return bad(
                    self,
                    "~LST needs a variable and at least one value".to_owned(),
                );
            }
            let Some(list) = args[0].strip_prefix('{').and_then(|a| a.strip_suffix('}')) else {
                let var = var_name(&args[0]).unwrap_or_default();
                return Some((
                    vec![var],
                    args[1..].iter().map(|v| vec![v.clone()]).collect(),
                ));
            };
            // ~LST({a,b}, {1,2}, {3,4}): several variables, one row of values per group.
            let vars: Option<Vec<String>> = list.split(',').map(var_name).collect();
            let Some(vars) = vars else {
                return bad(self, "~LST: {…} must list variable names".to_owned());
            };
            let mut rows = Vec::new();
            for a in &args[1..] {
                let Some(vals) = a.strip_prefix('{').and_then(|a| a.strip_suffix('}')) else {
                    return bad(
                        self,
                        format!("~LST: '{a}' must be {{v1,v2,…}} like the variable list"),
                    );
                };
                let row: Vec<String> = vals.split(',').map(|v| v.trim().to_owned()).collect();
                if row.len() != vars.len() {
                    return bad(
                        self,
                        format!(
                            "~LST: '{a}' has {} values for {} variables",
                            row.len(),
                            vars.len()
                        ),
                    );
                }
                rows.push(row);
            }
            return Some((vars, rows));
        }
        let var = var_name(&args[0]).unwrap_or_default();
        let hex = rep == "~SEQx(";
        let mut nums = Vec::new();
        for a in &args[1..] {
            let v = if hex {
                i64::from_str_radix(a.trim_start_matches("0x"), 16).ok()
            } else {
                a.parse::<i64>().ok()
            };
            match v {
                Some(v) => nums.push(v),
                None => return bad(self, format!("~SEQ: '{a}' is not a number")),
            }
        }
        let (start, step, end) = match nums.as_slice() {
            [end] => (1, 1, *end),
            [start, end] => (*start, 1, *end),
            [start, step, end] => (*start, *step, *end),
            _ => return bad(self, "~SEQ takes (var, [start,] [step,] end)".to_owned()),
        };
        if step == 0 {
            return bad(self, "~SEQ step must not be 0".to_owned());
        }
        let mut values = Vec::new();
        let mut v = start;
        while (step > 0 && v <= end) || (step < 0 && v >= end) {
            if values.len() >= MAX_REPEAT_LINES {
                return bad(
                    self,
                    format!("~SEQ would produce more than {MAX_REPEAT_LINES} lines"),
                );
            }
            if !self.spend(1, span) {
                break;
            }
            values.push(if hex { format!("{v:x}") } else { v.to_string() });
            let Some(n) = v.checked_add(step) else { break };
            v = n;
        }
        Some((vec![var], values.into_iter().map(|v| vec![v]).collect()))
    }

    /// Replaces `$NAME` (followed by a non-name character) and `${NAME}` by their definitions,
    /// recursively. Unknown `$NAME` is left as written (it is often shell syntax in a script);
    /// unknown `${NAME}` is reported.
    fn substitute(&mut self, text: &str, span: Span, depth: usize) -> String {
        if depth > MAX_EXPANSION_DEPTH {
            self.report(Diagnostic::error(
                "expansion-depth",
                span,
                "parameter expansion nested too deeply (a definition that refers to itself?)",
            ));
            return String::new();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            if !self.spend(1 + out.len() as u64 / 64, span) {
                break;
            }
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            if let Some(braced) = after.strip_prefix('{') {
                if let Some(end) = braced.find('}') {
                    let inner = braced[..end].trim();
                    let value = self
                        .builtin(inner)
                        .or_else(|| self.params.get(inner).cloned());
                    match value {
                        Some(v) => {
                            let v = self.substitute(&v, span, depth + 1);
                            out.push_str(&v);
                        }
                        None => {
                            self.report(
                                Diagnostic::error(
                                    "undefined-parameter",
                                    span,
                                    format!("parameter '${{{inner}}}' is not defined"),
                                )
                                .with_help("define it earlier with $NAME=value"),
                            );
                        }
                    }
                    rest = &braced[end + 1..];
                    continue;
                }
                out.push('$');
                rest = after;
                continue;
            }
            let name_len = after
                .find(|c: char| !is_name_char(c))
                .unwrap_or(after.len());
            let name = &after[..name_len];
            if name_len > 0
                && name.starts_with(is_name_start)
                && let Some(v) = self.params.get(name).cloned()
            {
                let v = self.substitute(&v, span, depth + 1);
                out.push_str(&v);
                rest = &after[name_len..];
                continue;
            }
            out.push('$');
            rest = after;
            if out.len() > MAX_LINE {
                break;
            }
        }
        out.push_str(rest);
        if out.len() > MAX_LINE {
            out.truncate(MAX_LINE + 1);
        }
        out
    }

    /// Predefined parameters: `_PWD`, `_INSTANCE`, `_HASH`, `_BANG`, `_ENV VAR`, `_RANDOM [MIN [MAX]]`.
    fn builtin(&self, inner: &str) -> Option<String> {
        let mut words = inner.split_whitespace();
        match words.next()? {
            "_PWD" => {
                let dir = self
                    .frames
                    .last()
                    .map(|f| f.dir.clone())
                    .unwrap_or_default();
                Some(dir.to_string_lossy().into_owned())
            }
            "_INSTANCE" => Some(self.opts.config_id.clone().unwrap_or_default()),
            "_HASH" => Some("#".to_owned()),
            "_BANG" => Some("!".to_owned()),
            "_ENV" => Some(
                words
                    .next()
                    .and_then(|v| std::env::var(v).ok())
                    .unwrap_or_default(),
            ),
            "_RANDOM" => {
                let min: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let max: u64 = words
                    .next()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(u64::from(u32::MAX));
                let seed = {
                    use std::hash::{BuildHasher, Hasher};
                    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                    h.write(inner.as_bytes());
                    h.finish()
                };
                let span = max.saturating_sub(min).saturating_add(1);
                Some((min + if span == 0 { seed } else { seed % span }).to_string())
            }
            _ => None,
        }
    }

    /// Cuts an expanded line into tokens and brace items; handles `include` lines. `col0` is the
    /// column (in characters, 0-based) of `text`'s first character in the source line.
    ///
    /// Only ASCII characters delimit (like keepalived's `isspace`), so the scan works on bytes
    /// and every cut falls on a character boundary.
    fn tokenize(&mut self, text: &str, col0: usize, file: FileId, line: u32) {
        fn space(b: u8) -> bool {
            matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
        }
        fn special(b: u8) -> bool {
            matches!(b, b'{' | b'}' | b'#' | b'!' | b'"' | b'\'' | b'\\')
        }
        let b = text.as_bytes();
        let ascii = text.is_ascii();
        let col = |i: usize| col0 + if ascii { i } else { text[..i].chars().count() };
        let mut tokens: Vec<Token> = Vec::new();
        let before = self.items.len();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if space(c) {
                i += 1;
                continue;
            }
            if c == b'#' || c == b'!' {
                break;
            }
            if c == b'{' || c == b'}' {
                if !tokens.is_empty() {
                    self.items
                        .push_back(Item::Line(std::mem::take(&mut tokens)));
                }
                let sp = Self::span(file, line, col(i), 1);
                self.items.push_back(if c == b'{' {
                    Item::Open(sp)
                } else {
                    Item::Close(sp)
                });
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !space(b[i]) && !special(b[i]) {
                i += 1;
            }
            let mut word = text[start..i].to_owned();
            let mut quoted = false;
            // Slow path: quotes, escapes, or a comment character inside the word.
            while i < b.len() && !space(b[i]) && b[i] != b'{' && b[i] != b'}' {
                match b[i] {
                    c @ (b'#' | b'!') => {
                        let c = c as char;
                        self.report(
                            Diagnostic::warning(
                                "comment-in-word",
                                Self::span(file, line, col(i), 1),
                                format!("'{c}' inside a word starts a comment (keepalived 2.x); keepalived 1.x kept it as part of the word"),
                            )
                            .with_help(format!("quote the value or write \\{c} if the '{c}' is meant literally; put a space before it if it starts a comment")),
                        );
                        // The rest of the line is a comment.
                        let end = i;
                        i = b.len();
                        if !word.is_empty() || quoted {
                            tokens.push(Token {
                                text: word,
                                span: Self::span(file, line, col(start), col(end) - col(start)),
                                quoted,
                            });
                        }
                        word = String::new();
                        quoted = false;
                        break;
                    }
                    q @ (b'"' | b'\'') => {
                        quoted = true;
                        let qstart = i;
                        i += 1;
                        let mut closed = false;
                        while i < b.len() {
                            let d = b[i];
                            if d == q {
                                closed = true;
                                i += 1;
                                break;
                            }
                            if d == b'\\'
                                && q == b'"'
                                && i + 1 < b.len()
                                && matches!(b[i + 1], b'"' | b'\\')
                            {
                                word.push(b[i + 1] as char);
                                i += 2;
                                continue;
                            }
                            let run = i;
                            while i < b.len() && b[i] != q && b[i] != b'\\' {
                                i += 1;
                            }
                            if i == run {
                                word.push('\\');
                                i += 1;
                            } else {
                                word.push_str(&text[run..i]);
                            }
                        }
                        if !closed {
                            self.report(
                                Diagnostic::error(
                                    "unterminated-quote",
                                    Self::span(file, line, col(qstart), col(i) - col(qstart)),
                                    format!("missing closing {}", q as char),
                                )
                                .with_help("the value runs to the end of the line"),
                            );
                        }
                    }
                    b'\\' if i + 1 < b.len() => {
                        let ch = text[i + 1..].chars().next().unwrap_or('\\');
                        word.push(ch);
                        i += 1 + ch.len_utf8();
                    }
                    _ => {
                        let run = i;
                        i += 1;
                        while i < b.len() && !space(b[i]) && !special(b[i]) {
                            i += 1;
                        }
                        word.push_str(&text[run..i]);
                    }
                }
            }
            if !word.is_empty() || quoted {
                tokens.push(Token {
                    text: word,
                    span: Self::span(file, line, col(start), col(i) - col(start)),
                    quoted,
                });
            }
        }
        if !ascii {
            self.unicode_space(text, col0, file, line);
        }
        if !tokens.is_empty() {
            self.items.push_back(Item::Line(tokens));
        }
        // `include PATTERN` on a line of its own.
        if self.items.len() == before + 1
            && let Some(Item::Line(toks)) = self.items.back()
            && !toks[0].quoted
            && toks[0].text.starts_with("include")
            && is_include_keyword(&toks[0].text)
        {
            let Some(Item::Line(toks)) = self.items.pop_back() else {
                return;
            };
            self.include(&toks);
        }
    }

    /// Points at the first non-ASCII space of a line (outside comments): keepalived, like this
    /// parser, only splits words at ASCII white space, so the space is part of a word.
    fn unicode_space(&mut self, text: &str, col0: usize, file: FileId, line: u32) {
        let mut quote = None;
        for (i, c) in text.chars().enumerate() {
            match (c, quote) {
                ('"' | '\'', None) => quote = Some(c),
                (q, Some(open)) if q == open => quote = None,
                ('#' | '!', None) => return,
                (c, None) if c.is_whitespace() && !c.is_ascii() => {
                    self.report(
                        Diagnostic::warning(
                            "unicode-space",
                            Self::span(file, line, col0 + i, 1),
                            format!("U+{:04X} is not an ASCII space: keepalived (and keepalived-rs) read it as part of a word", c as u32),
                        )
                        .with_help("replace it with an ordinary space (it usually comes from copying text from a web page)"),
                    );
                    return;
                }
                _ => {}
            }
        }
    }

    fn include(&mut self, toks: &[Token]) {
        // Lines still waiting from the same expansion come after the included files.
        if !self.lines.is_empty()
            && let Some(top) = self.frames.last_mut()
        {
            let mut rest = std::mem::take(&mut self.lines);
            rest.append(&mut top.after);
            top.after = rest;
        }
        let kw = &toks[0];
        if toks.len() != 2 {
            self.report(
                Diagnostic::error(
                    "bad-include",
                    kw.span,
                    format!("'{}' takes exactly one file name or pattern", kw.text),
                )
                .with_help("quote a path that contains spaces"),
            );
            return;
        }
        let pat = Path::new(&toks[1].text);
        let dir = self
            .frames
            .last()
            .map(|f| f.dir.clone())
            .unwrap_or_default();
        let full = if pat.is_absolute() || dir.as_os_str().is_empty() {
            pat.to_path_buf()
        } else {
            dir.join(pat)
        };
        let matches = self.loader.glob(&full);
        if matches.is_empty() {
            self.report(Diagnostic::warning(
                "include-no-match",
                toks[1].span,
                format!("'{}' matches no file; nothing included", full.display()),
            ));
            return;
        }
        // Push in reverse so the first match is read first.
        for m in matches.iter().rev() {
            if let Err(e) = self.push_file(m, toks[1].span) {
                self.report(Diagnostic::error(
                    "include-unreadable",
                    toks[1].span,
                    format!("cannot read '{}': {e}", m.display()),
                ));
            }
        }
    }
}

/// Adds a diagnostic unless [`MAX_DIAGNOSTICS`] are already there (then one summary is kept).
pub(crate) fn push_capped(diags: &mut Vec<Diagnostic>, d: Diagnostic) {
    match diags.len() {
        n if n < MAX_DIAGNOSTICS => diags.push(d),
        n if n == MAX_DIAGNOSTICS => diags.push(Diagnostic::error(
            "too-many-diagnostics",
            Span::NONE,
            format!("more than {MAX_DIAGNOSTICS} findings; the rest are not shown"),
        )),
        _ => {}
    }
}

/// Splits at commas that are not inside `{…}`, trimming each part.
fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(cur.trim().to_owned());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_owned());
    out
}

fn is_include_keyword(s: &str) -> bool {
    matches!(
        s,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(text: &str) -> (Vec<String>, Vec<Diagnostic>) {
        let mut l = MemLoader::new();
        l.add("/c/k.conf", text);
        lex_with(&l, None)
    }

    fn lex_with(l: &MemLoader, id: Option<&str>) -> (Vec<String>, Vec<Diagnostic>) {
        let mut lx = Lexer::new(
            l,
            LexOptions {
                config_id: id.map(str::to_owned),
            },
        );
        lx.push_file(Path::new("/c/k.conf"), Span::NONE).unwrap();
        let mut out = Vec::new();
        while let Some(it) = lx.next_item() {
            out.push(match it {
                Item::Line(t) => t
                    .iter()
                    .map(|t| t.text.clone())
                    .collect::<Vec<_>>()
                    .join("|"),
                Item::Open(_) => "{".into(),
                Item::Close(_) => "}".into(),
            });
        }
        (out, lx.diags)
    }

    #[test]
    fn braces_comments_quotes() {
        let (o, d) = lex(
            "vrrp_instance VI_1 {\n  virtual_ipaddress { 1.2.3.4 } # c\n ! x\n notify \"a b#c\" 'd e'\n}\r\n",
        );
        assert_eq!(
            o,
            [
                "vrrp_instance|VI_1",
                "{",
                "virtual_ipaddress",
                "{",
                "1.2.3.4",
                "}",
                "notify|a b#c|d e",
                "}"
            ]
        );
        assert!(d.is_empty());
    }

    #[test]
    fn unicode_spaces_are_not_separators() {
        let (o, d) = lex("\u{a0}\u{a0}delay_loop 6\u{a0} # c\u{a0}\n");
        assert_eq!(o, ["\u{a0}\u{a0}delay_loop|6\u{a0}"]);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].code, d[0].span.col), ("unicode-space", 1));
    }

    #[test]
    fn comment_inside_word_warns() {
        let (o, d) = lex("auth_pass ab!cd\nx a\\#b\n");
        assert_eq!(o, ["auth_pass|ab", "x|a#b"]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "comment-in-word");
    }

    #[test]
    fn params_and_conditionals() {
        let (o, _) = lex("$IF=eth0\n$M=a \\\nb\n@n1 x $IF\n@^n1 y ${IF}\nz $M\n");
        assert_eq!(o, ["y|eth0", "z|a", "b"]);
        let mut l = MemLoader::new();
        l.add("/c/k.conf", "@n1 x\n@^n1 y\n");
        assert_eq!(lex_with(&l, Some("n1")).0, ["x"]);
    }

    #[test]
    fn seq_and_lst() {
        let (o, d) = lex(
            "~SEQ(i, 3) r 10.0.0.$i\n~SEQ(i, 2, 2, 6) s $i\n~LST(n, a, b) t ${n}\n~SEQx(i, 9, b) h $i\n",
        );
        let (o2, d2) = lex("~LST({a, b}, {1, x}, {2, y}) m $a $b\n~LST({a,b}, {1}) z\n");
        assert_eq!(o2, ["m|1|x", "m|2|y"]);
        assert!(d2.iter().any(|d| d.code == "bad-repeat"));
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            o,
            [
                "r|10.0.0.1",
                "r|10.0.0.2",
                "r|10.0.0.3",
                "s|2",
                "s|4",
                "s|6",
                "t|a",
                "t|b",
                "h|9",
                "h|a",
                "h|b"
            ]
        );
    }

    #[test]
    fn self_reference_is_bounded() {
        let (_, d) = lex("$A=$A$A\nx $A\n");
        assert!(d.iter().any(|d| d.code == "expansion-depth"));
        let (_, d) = lex("~SEQ(i, 1, 1, 99999999999) x\n");
        assert!(d.iter().any(|d| d.code == "bad-repeat"));
    }

    #[test]
    fn runaway_expansion_is_bounded() {
        use std::fmt::Write as _;
        // Nested repetition: a million times a million lines.
        let (o, d) = lex("~SEQ(i, 1000000) ~SEQ(j, 1000000) x\n");
        assert!(o.len() <= MAX_REPEAT_LINES, "{}", o.len());
        assert!(d.iter().any(|d| matches!(
            d.code,
            "expansion-too-large" | "repeat-too-long" | "bad-repeat"
        )));
        // Exponential work with empty output.
        let mut text = String::from("$E=\n");
        let mut prev = "E".to_owned();
        for n in 0..12 {
            let name = format!("P{n}");
            let _ = writeln!(text, "${name}={}", format!("${prev} ").repeat(40));
            prev = name;
        }
        let _ = writeln!(text, "x ${prev}");
        let (_, d) = lex(&text);
        assert!(
            d.iter()
                .any(|d| matches!(d.code, "expansion-too-large" | "line-too-long")),
            "{d:?}"
        );
        // Undefined parameters repeated: the findings are capped.
        let (_, d) = lex("~SEQ(i, 100000) x ${NOPE}\n");
        assert!(d.len() <= MAX_DIAGNOSTICS + 1);
    }

    #[test]
    fn includes_relative_glob_and_cycle() {
        let mut l = MemLoader::new();
        l.add("/c/k.conf", "a\ninclude conf.d/*.conf\nb\n");
        l.add("/c/conf.d/2.conf", "two\n");
        l.add("/c/conf.d/1.conf", "one\ninclude ../k.conf\n");
        let (o, d) = lex_with(&l, None);
        assert_eq!(o, ["a", "one", "two", "b"]);
        assert!(d.iter().any(|d| d.code == "include-cycle"));
    }

    #[test]
    fn includes_from_an_expansion_keep_their_order() {
        let mut l = MemLoader::new();
        l.add("/c/k.conf", "~SEQ(i, 1, 2) include part$i.conf\nend\n");
        l.add("/c/part1.conf", "one\n");
        l.add("/c/part2.conf", "two\n");
        assert_eq!(lex_with(&l, None).0, ["one", "two", "end"]);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("/a/*.conf", "/a/x.conf"));
        assert!(!wildcard_match("/a/*.conf", "/a/b/x.conf"));
        assert!(wildcard_match("/a/[0-9]?.c*", "/a/1x.conf"));
        assert!(!wildcard_match("/a/[!0-9]*", "/a/1"));
    }

    #[test]
    fn unterminated_quote_and_nul() {
        let (o, d) = lex("x \"abc\ny a\0b\n");
        assert_eq!(o, ["x|abc"]);
        assert!(d.iter().any(|d| d.code == "unterminated-quote"));
        assert!(d.iter().any(|d| d.code == "nul-byte"));
    }
}
