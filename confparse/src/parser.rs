//! Statements and blocks on top of the token stream, and helpers that read typed arguments.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::diag::{Diagnostic, did_you_mean};
use crate::lexer::{Item, Lexer, Token};
use crate::model::{Command, RawStatement, ScriptUser};
use crate::span::Span;

/// One statement: a keyword and its arguments.
#[derive(Debug)]
pub(crate) struct Stmt {
    pub kw: Token,
    pub args: Vec<Token>,
}

impl Stmt {
    pub(crate) fn name(&self) -> &str {
        &self.kw.text
    }
    /// The span from the keyword to the last argument.
    pub(crate) fn full_span(&self) -> Span {
        self.args
            .last()
            .map_or(self.kw.span, |a| self.kw.span.to(a.span))
    }
    pub(crate) fn words(&self) -> Vec<String> {
        std::iter::once(&self.kw)
            .chain(&self.args)
            .map(|t| t.text.clone())
            .collect()
    }
}

/// What comes next inside a block.
pub(crate) enum Next {
    Stmt(Stmt),
    /// The closing brace of the current block.
    Close(Span),
    /// End of input.
    Eof,
}

/// The statement reader plus the diagnostics sink.
pub(crate) struct Parser<'l> {
    pub lex: Lexer<'l>,
    peeked: Option<Item>,
    pub diags: Vec<Diagnostic>,
    /// Values that many blocks repeat (URL paths, status code lists), shared.
    pub interned: Interner,
    /// Lists being built, reused from block to block (see [`Scratch`]).
    pub scratch: Scratch,
}

/// Growing buffers for the lists of repeated blocks. A block pushes its items here from a mark
/// and then takes them out into a list of the exact size: one allocation per list, instead of
/// growing each list by doubling and leaving the freed blocks scattered through the heap.
#[derive(Default)]
pub(crate) struct Scratch {
    pub real_servers: Vec<crate::model::RealServer>,
    pub checkers: Vec<crate::model::Checker>,
}

/// The items of `v` from `mark` on, moved into a list of the exact size.
pub(crate) fn take_from<T>(v: &mut Vec<T>, mark: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(v.len().saturating_sub(mark));
    out.extend(v.drain(mark.min(v.len())..));
    out
}

/// Shares equal values between the model's blocks: a large configuration repeats the same URL
/// path and status codes for every real server.
#[derive(Default)]
pub(crate) struct Interner {
    strs: HashSet<Arc<str>>,
    codes: HashSet<Arc<[(u16, u16)]>>,
}

impl Interner {
    /// The shared copy of `s`.
    pub(crate) fn str(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strs.get(s) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(s);
        self.strs.insert(Arc::clone(&a));
        a
    }
    /// The shared copy of a status code list.
    pub(crate) fn codes(&mut self, c: &[(u16, u16)]) -> Arc<[(u16, u16)]> {
        if let Some(a) = self.codes.get(c) {
            return Arc::clone(a);
        }
        let a: Arc<[(u16, u16)]> = Arc::from(c);
        self.codes.insert(Arc::clone(&a));
        a
    }
}

impl<'l> Parser<'l> {
    pub(crate) fn new(lex: Lexer<'l>) -> Self {
        Parser {
            lex,
            peeked: None,
            diags: Vec::new(),
            interned: Interner::default(),
            scratch: Scratch::default(),
        }
    }

    fn take(&mut self) -> Option<Item> {
        self.peeked.take().or_else(|| self.lex.next_item())
    }

    fn peek_is_open(&mut self) -> bool {
        if self.peeked.is_none() {
            self.peeked = self.lex.next_item();
        }
        matches!(self.peeked, Some(Item::Open(_)))
    }

    pub(crate) fn error(&mut self, code: &'static str, span: Span, msg: impl Into<String>) {
        self.push(Diagnostic::error(code, span, msg));
    }
    pub(crate) fn warn(&mut self, code: &'static str, span: Span, msg: impl Into<String>) {
        self.push(Diagnostic::warning(code, span, msg));
    }
    pub(crate) fn push(&mut self, d: Diagnostic) {
        crate::lexer::push_capped(&mut self.diags, d);
    }

    /// The next statement of the current block. A `{` that no statement asked for is reported
    /// and its block skipped.
    pub(crate) fn next(&mut self) -> Next {
        loop {
            match self.take() {
                None => return Next::Eof,
                Some(Item::Close(sp)) => return Next::Close(sp),
                Some(Item::Open(sp)) => {
                    self.push(
                        Diagnostic::warning("unexpected-brace", sp, "unexpected '{': the line before it does not open a block; block ignored")
                            .with_help("remove the braces, or check the keyword above for a typo"),
                    );
                    self.skip_block();
                }
                Some(Item::Line(mut toks)) => {
                    let kw = toks.remove(0);
                    return Next::Stmt(Stmt { kw, args: toks });
                }
            }
        }
    }

    /// Consumes the `{` that opens the statement's block. Reports an error when there is none.
    pub(crate) fn open(&mut self, st: &Stmt) -> bool {
        if self.peek_is_open() {
            self.peeked = None;
            true
        } else {
            self.push(
                Diagnostic::error(
                    "expected-block",
                    st.kw.span,
                    format!("'{}' must be followed by a block {{ … }}", st.name()),
                )
                .with_help("add '{' at the end of the line and a matching '}'"),
            );
            false
        }
    }

    /// True when a `{` follows (without consuming it).
    pub(crate) fn has_block(&mut self) -> bool {
        self.peek_is_open()
    }

    /// Skips a block whose `{` has been consumed, through its matching `}` (or to the end of input).
    pub(crate) fn skip_block(&mut self) {
        let mut depth = 1usize;
        while depth > 0 {
            match self.take() {
                None => return,
                Some(Item::Open(_)) => depth += 1,
                Some(Item::Close(_)) => depth -= 1,
                Some(Item::Line(_)) => {}
            }
        }
    }

    /// Reads a block whose `{` has been consumed into raw statements.
    pub(crate) fn raw_block(&mut self, owner: &Stmt) -> Vec<RawStatement> {
        let mut v = Vec::new();
        loop {
            match self.next() {
                Next::Stmt(st) => {
                    let block = if self.has_block() {
                        self.peeked = None;
                        Some(self.raw_block(&st))
                    } else {
                        None
                    };
                    v.push(RawStatement {
                        words: st.words(),
                        block,
                        span: st.kw.span,
                    });
                }
                Next::Close(_) => return v,
                Next::Eof => {
                    self.missing_close(owner);
                    return v;
                }
            }
        }
    }

    /// Reports a block left open at the end of the input.
    pub(crate) fn missing_close(&mut self, owner: &Stmt) {
        self.push(
            Diagnostic::error(
                "missing-brace",
                owner.kw.span,
                format!("block of '{}' is not closed: missing '}}'", owner.name()),
            )
            .with_help(
                "add the missing '}' (keepalived 1.x tolerated this at the end of the file)",
            ),
        );
    }

    /// Runs `f` for each statement of a block whose `{` has been consumed.
    pub(crate) fn each(&mut self, owner: &Stmt, mut f: impl FnMut(&mut Self, Stmt)) {
        loop {
            match self.next() {
                Next::Stmt(st) => f(self, st),
                Next::Close(_) => return,
                Next::Eof => {
                    self.missing_close(owner);
                    return;
                }
            }
        }
    }

    /// Reports an unknown keyword with a did-you-mean, and skips its block if it has one.
    pub(crate) fn unknown(&mut self, st: &Stmt, context: &str, known: &[&str]) {
        let mut d = Diagnostic::error(
            "unknown-keyword",
            st.kw.span,
            format!("unknown keyword '{}' in {context}", shown(st.name())),
        );
        if let Some(s) = did_you_mean(st.name(), known) {
            d = d.with_help(format!("did you mean '{s}'?"));
        } else if let Some(elsewhere) = crate::build::where_known(st.name()) {
            d = d.with_help(format!("'{}' belongs in {elsewhere}", st.name()));
        } else {
            d = d.with_help("keepalived would ignore this line; remove it or fix the spelling");
        }
        self.push(d);
        if self.has_block() {
            self.peeked = None;
            self.skip_block();
        }
    }

    /// Keeps a keyword that keepalived knows but the model does not interpret, and says so.
    pub(crate) fn keep_raw(&mut self, st: &Stmt, extra: &mut impl Extend<RawStatement>) {
        self.warn(
            "not-implemented",
            st.kw.span,
            format!("'{}' is accepted by keepalived but not implemented by keepalived-rs; it has no effect", st.name()),
        );
        let block = if self.has_block() {
            self.peeked = None;
            Some(self.raw_block(st))
        } else {
            None
        };
        extra.extend([RawStatement {
            words: st.words(),
            block,
            span: st.kw.span,
        }]);
    }

    // ----- argument helpers -----

    /// The single argument; extra arguments are reported.
    pub(crate) fn one<'s>(&mut self, st: &'s Stmt) -> Option<&'s Token> {
        let Some(first) = st.args.first() else {
            self.push(
                Diagnostic::error(
                    "missing-argument",
                    st.kw.span,
                    format!("'{}' needs a value", st.name()),
                )
                .with_help("keepalived ignores the keyword without a value"),
            );
            return None;
        };
        if st.args.len() > 1 {
            let sp = st.args[1].span.to(st.args[st.args.len() - 1].span);
            self.push(
                Diagnostic::warning(
                    "extra-arguments",
                    sp,
                    format!(
                        "'{}' takes one value; the rest of the line is ignored",
                        st.name()
                    ),
                )
                .with_help("quote the value if it contains spaces"),
            );
        }
        Some(first)
    }

    /// A string argument.
    pub(crate) fn string(&mut self, st: &Stmt) -> Option<String> {
        self.one(st).map(|t| t.text.clone())
    }

    /// An integer argument within `[min, max]`.
    pub(crate) fn int<T>(&mut self, st: &Stmt, min: i64, max: i64) -> Option<T>
    where
        T: TryFrom<i64>,
    {
        let tok = self.one(st)?;
        self.int_tok(st.name(), tok, min, max)
    }

    /// Parses one token as an integer within `[min, max]`.
    pub(crate) fn int_tok<T: TryFrom<i64>>(
        &mut self,
        what: &str,
        tok: &Token,
        min: i64,
        max: i64,
    ) -> Option<T> {
        match tok.text.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => T::try_from(v).ok(),
            Ok(v) => {
                self.push(Diagnostic::error(
                    "out-of-range",
                    tok.span,
                    format!("{what} {v} is outside the range {min}..={max}; ignored"),
                ));
                None
            }
            Err(_) => {
                self.push(Diagnostic::error(
                    "not-a-number",
                    tok.span,
                    format!("{what}: '{}' is not a whole number; ignored", tok.text),
                ));
                None
            }
        }
    }

    /// A time in seconds, with up to six decimals (microsecond resolution), within `[min, max]` seconds.
    pub(crate) fn timer(&mut self, st: &Stmt, min: f64, max: f64) -> Option<Duration> {
        let tok = self.one(st)?;
        self.timer_tok(st.name(), tok, min, max)
    }

    pub(crate) fn timer_tok(
        &mut self,
        what: &str,
        tok: &Token,
        min: f64,
        max: f64,
    ) -> Option<Duration> {
        match parse_seconds(&tok.text) {
            Some(d) if d.as_secs_f64() >= min && d.as_secs_f64() <= max => Some(d),
            Some(_) => {
                self.push(Diagnostic::error(
                    "out-of-range",
                    tok.span,
                    format!(
                        "{what} {} is outside the range {min}..={max} seconds; ignored",
                        tok.text
                    ),
                ));
                None
            }
            None => {
                self.push(Diagnostic::error(
                    "not-a-number",
                    tok.span,
                    format!("{what}: '{}' is not a time in seconds; ignored", tok.text),
                ));
                None
            }
        }
    }

    /// A flag with an optional boolean argument (`on|off|true|false|yes|no`).
    /// Reports the arguments after the first `n` as ignored.
    pub(crate) fn at_most(&mut self, st: &Stmt, n: usize) {
        if st.args.len() > n {
            let sp = st.args[n].span.to(st.args[st.args.len() - 1].span);
            self.push(Diagnostic::warning(
                "extra-arguments",
                sp,
                format!(
                    "'{}' takes at most {n} value(s); the rest of the line is ignored",
                    shown(st.name())
                ),
            ));
        }
    }

    pub(crate) fn flag(&mut self, st: &Stmt) -> bool {
        self.at_most(st, 1);
        match st.args.first() {
            None => true,
            Some(t) => match t.text.to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" | "1" => true,
                "off" | "false" | "no" | "0" => false,
                _ => {
                    self.push(Diagnostic::error(
                        "not-a-boolean",
                        t.span,
                        format!(
                            "'{}' takes no value or one of on/off/true/false/yes/no, not '{}'",
                            st.name(),
                            t.text
                        ),
                    ));
                    true
                }
            },
        }
    }

    /// An address argument.
    pub(crate) fn ip(&mut self, st: &Stmt) -> Option<IpAddr> {
        let tok = self.one(st)?;
        self.ip_tok(st.name(), tok)
    }

    pub(crate) fn ip_tok(&mut self, what: &str, tok: &Token) -> Option<IpAddr> {
        parse_ip(&tok.text).or_else(|| {
            self.push(Diagnostic::error(
                "bad-address",
                tok.span,
                format!("{what}: '{}' is not an IPv4 or IPv6 address", tok.text),
            ));
            None
        })
    }

    /// A command line: all arguments; a single double-quoted argument is split like a shell would.
    pub(crate) fn command(&mut self, st: &Stmt) -> Option<Command> {
        if st.args.is_empty() {
            self.push(Diagnostic::error(
                "missing-argument",
                st.kw.span,
                format!("'{}' needs a command", st.name()),
            ));
            return None;
        }
        let args = if st.args.len() == 1 && st.args[0].quoted {
            if let Some(a) = split_command(&st.args[0].text) {
                a
            } else {
                self.push(Diagnostic::error(
                    "unterminated-quote",
                    st.args[0].span,
                    "unbalanced quote inside the command",
                ));
                return None;
            }
        } else {
            st.args.iter().map(|t| t.text.clone()).collect()
        };
        if args.is_empty() {
            self.push(Diagnostic::error(
                "missing-argument",
                st.args[0].span,
                format!("'{}': the command is empty", st.name()),
            ));
            return None;
        }
        Some(Command {
            args,
            span: st.args[0].span.to(st.args[st.args.len() - 1].span),
            user: None,
        })
    }

    /// A notify script, as keepalived reads it: `SCRIPT [USER [GROUP]]`, where SCRIPT is one
    /// word, or one quoted string holding the command and its arguments.
    pub(crate) fn notify_command(&mut self, st: &Stmt) -> Option<Command> {
        if st.args.len() < 2 {
            return self.command(st);
        }
        let first = Stmt {
            kw: st.kw.clone(),
            args: vec![st.args[0].clone()],
        };
        let mut cmd = self.command(&first)?;
        let rest = Stmt {
            kw: st.kw.clone(),
            args: st.args[1..].to_vec(),
        };
        cmd.user = self.user(&rest);
        Some(cmd)
    }

    /// `USER [GROUP]`.
    pub(crate) fn user(&mut self, st: &Stmt) -> Option<ScriptUser> {
        match st.args.as_slice() {
            [u] => Some(ScriptUser {
                user: u.text.clone(),
                group: None,
            }),
            [u, g] => Some(ScriptUser {
                user: u.text.clone(),
                group: Some(g.text.clone()),
            }),
            [] => {
                self.push(Diagnostic::error(
                    "missing-argument",
                    st.kw.span,
                    format!("'{}' needs a user name", st.name()),
                ));
                None
            }
            [u, g, ..] => {
                self.warn(
                    "extra-arguments",
                    st.args[2].span,
                    format!("'{}' takes USER [GROUP]; the rest is ignored", st.name()),
                );
                Some(ScriptUser {
                    user: u.text.clone(),
                    group: Some(g.text.clone()),
                })
            }
        }
    }

    /// Reads a value block (`{` consumed) whose lines are handled by `f`; nested blocks are errors.
    pub(crate) fn lines(&mut self, owner: &Stmt, mut f: impl FnMut(&mut Self, Stmt)) {
        self.each(owner, |p, st| {
            if p.has_block() {
                p.warn(
                    "unexpected-brace",
                    st.kw.span,
                    format!(
                        "lines of '{}' do not open blocks; block ignored",
                        owner.name()
                    ),
                );
                p.peeked = None;
                p.skip_block();
            }
            f(p, st);
        });
    }
}

/// A word for a message: escaped when it holds spaces or control characters that would not
/// show (for example a no-break space).
pub(crate) fn shown(s: &str) -> String {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        s.escape_default().to_string()
    } else {
        s.to_owned()
    }
}

/// Parses an address; IPv6 with a `%zone` suffix is not accepted here.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// Parses a decimal number of seconds (`1`, `0.5`, `2.000001`) with microsecond resolution.
pub fn parse_seconds(s: &str) -> Option<Duration> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 6
    {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    if secs > 1_000_000_000 {
        return None;
    }
    let micros: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    Some(Duration::from_secs(secs) + Duration::from_micros(u64::from(micros)))
}

/// Formats a duration as seconds the way the parser reads them back.
pub fn format_seconds(d: Duration) -> String {
    let micros = d.subsec_micros();
    if micros == 0 {
        d.as_secs().to_string()
    } else {
        let frac = format!("{micros:06}");
        format!("{}.{}", d.as_secs(), frac.trim_end_matches('0'))
    }
}

/// Splits a command line into words: whitespace separates, single quotes group literally,
/// double quotes group with `\` escapes, and `\` escapes the next character outside quotes.
/// Returns `None` on an unbalanced quote.
pub fn split_command(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        d => cur.push(d),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => cur.push(chars.next()?),
                        d => cur.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(d) = chars.next() {
                    cur.push(d);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_seconds("0.05"), Some(Duration::from_millis(50)));
        assert_eq!(parse_seconds(".5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_seconds("1.0000001"), None);
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("x"), None);
        assert_eq!(parse_seconds("."), None);
        assert_eq!(format_seconds(Duration::from_millis(50)), "0.05");
        assert_eq!(format_seconds(Duration::from_secs(3)), "3");
    }

    #[test]
    fn command_split() {
        assert_eq!(
            split_command("/bin/x.sh a 'b c' \"d\\\"e\"").unwrap(),
            ["/bin/x.sh", "a", "b c", "d\"e"]
        );
        assert_eq!(split_command("a ''").unwrap(), ["a", ""]);
        assert!(split_command("a 'b").is_none());
    }
}
