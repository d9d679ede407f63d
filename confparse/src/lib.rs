//! keepalived.conf into a typed model, with diagnostics people can act on.
//!
//! `confparse` reads the configuration language of keepalived, both the 1.2.13 dialect and the
//! modern (2.x) one: `#`/`!` comments, quoted strings, braces on the keyword line or on their
//! own line, one-line blocks, `include` (with globs, relative to the including file), `@id`
//! conditional lines, `$NAME=` parameters, `~SEQ`/`~LST` repetition and CRLF files. It produces a
//! [`Config`]: owned, documented types with keepalived's defaults applied and a [`Span`] on
//! everything a later check may need to point at.
//!
//! Unlike keepalived, which silently ignores typos and some malformed lines, every problem is
//! reported as a [`Diagnostic`] with file, line and column, the source line, a caret, and a hint
//! (including did-you-mean for unknown keywords). Whole-configuration checks catch references to
//! undefined scripts, instances or groups, duplicate VRIDs, `VRRPv3` limits, mixed address families
//! and the traps users fall into (weights that can never cause a failover, `nopreempt` with
//! `state MASTER`, an empty `unicast_peer`, `vrrp_strict` side effects, a source address the host
//! does not have — host facts come in through [`HostFacts`]).
//!
//! [`to_conf`] prints a model back as canonical keepalived.conf text; parsing that text gives an
//! equal model.
//!
//! keepalived-rs extensions, keywords keepalived does not know (it rejects them, so a file that
//! uses them is for keepalived-rs only): in `global_defs`, STARTTLS and AUTH for SMTP alerts,
//! `smtp_starttls [required|opportunistic]`, `smtp_tls_ca FILE`, `smtp_tls_insecure`,
//! `smtp_auth_user NAME`, `smtp_auth_password SECRET`, `smtp_auth_password_file PATH` and
//! `smtp_auth_plaintext` ([`model::SmtpSecurity`]). A consistent use gives no finding; AUTH that
//! would go in clear text or lacks half of its credentials is an error.
//!
//! What this crate does **not** do: it does not run anything, resolve host names, create
//! interfaces or talk to the kernel; host-dependent checks only run against the [`HostFacts`]
//! given. It does not reproduce the 1.2.13 tokenizer bugs (see docs/COMPATIBILITY.md): it reads
//! what keepalived 2.x reads and warns where 1.2.13 would have read something else.
//!
//! ```
//! let parsed = confparse::parse_str(
//!     "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  prority 150\n  virtual_ipaddress { 192.0.2.1/24 }\n}\n",
//!     "example.conf",
//! );
//! let vi = &parsed.config.instances[0];
//! assert_eq!(vi.virtual_router_id.as_ref().map(|v| v.value), Some(51));
//! assert_eq!(vi.virtual_ipaddress.len(), 1);
//! // The typo is reported, with a suggestion, instead of being silently ignored.
//! let d = &parsed.diagnostics[0];
//! assert_eq!((d.span.line, d.span.col), (4, 3));
//! assert_eq!(d.help.as_deref(), Some("did you mean 'priority'?"));
//! assert!(parsed.render().contains("example.conf:4:3"));
//! ```

// A configuration model has many independent on/off keywords, and the block handlers are long
// `match`es over keyword tables: splitting them would scatter one block's keywords.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]
#![allow(
    clippy::struct_excessive_bools,
    clippy::too_many_lines,
    clippy::many_single_char_names
)]

mod build;
mod check;
pub mod diag;
mod lexer;
pub mod model;
mod parser;
mod print;
pub mod span;

use std::path::{Path, PathBuf};

pub use check::{HostFacts, LocalHost, NoHost};
pub use diag::{Diagnostic, Severity};
pub use lexer::{FsLoader, MemLoader, SourceLoader, Token};
pub use model::Config;
pub use parser::{format_seconds, parse_seconds, split_command};
pub use print::to_conf;
pub use span::{FileId, SourceMap, Span, Spanned};

/// Why a configuration could not be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The main configuration file cannot be opened.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// How to parse.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// The config id that `@ID` / `@^ID` lines are compared with (keepalived's `-i`, by default
    /// the host name up to the first dot). `None`: every `@ID` line is skipped, every `@^ID`
    /// line is kept.
    pub config_id: Option<&'a str>,
    /// Facts about the host for host-dependent checks ([`NoHost`] skips them).
    pub host: &'a dyn HostFacts,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            config_id: None,
            host: &NoHost,
        }
    }
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("config_id", &self.config_id)
            .finish_non_exhaustive()
    }
}

/// The result of a parse: the model, every finding, and the files that were read.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The configuration, as far as it could be understood.
    pub config: Config,
    /// Errors and warnings, sorted by file and position (findings about the whole configuration last).
    pub diagnostics: Vec<Diagnostic>,
    /// The files read, for rendering spans.
    pub sources: SourceMap,
}

impl Parsed {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
    /// The diagnostics as text (see [`diag::render`]).
    pub fn render(&self) -> String {
        diag::render(&self.diagnostics, &self.sources)
    }
}

/// Parses configuration text held in memory. `include`s are resolved on the file system,
/// relative to the directory of `name`.
pub fn parse_str(text: &str, name: &str) -> Parsed {
    let mut loader = MemLoader::new();
    loader.add(name, text);
    let fs = Overlay {
        mem: &loader,
        name: Path::new(name),
    };
    match parse_with(&fs, Path::new(name), &Options::default()) {
        Ok(p) => p,
        Err(_) => Parsed {
            config: Config::default(),
            diagnostics: Vec::new(),
            sources: SourceMap::default(),
        },
    }
}

/// Parses a file and everything it includes.
pub fn parse_file(path: &Path, opts: &Options<'_>) -> Result<Parsed, Error> {
    parse_with(&FsLoader, path, opts)
}

/// Parses `path` read through `loader` (a [`MemLoader`] for tests and fuzzing).
pub fn parse_with(
    loader: &dyn SourceLoader,
    path: &Path,
    opts: &Options<'_>,
) -> Result<Parsed, Error> {
    let mut lex = lexer::Lexer::new(
        loader,
        lexer::LexOptions {
            config_id: opts.config_id.map(str::to_owned),
        },
    );
    lex.push_file(path, Span::NONE)
        .map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let mut p = parser::Parser::new(lex);
    let config = build::config(&mut p);
    let mut diagnostics = std::mem::take(&mut p.diags);
    diagnostics.append(&mut p.lex.diags);
    check::check(&config, opts.host, &mut diagnostics);
    diagnostics.sort_by_key(|d| (!d.span.is_real(), d.span.file, d.span.line, d.span.col));
    let sources = std::mem::take(&mut p.lex.sources);
    Ok(Parsed {
        config,
        diagnostics,
        sources,
    })
}

/// The in-memory main file over the real file system (for includes from [`parse_str`]).
struct Overlay<'a> {
    mem: &'a MemLoader,
    name: &'a Path,
}

impl SourceLoader for Overlay<'_> {
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn std::io::BufRead>> {
        if path == self.name {
            self.mem.open(path)
        } else {
            FsLoader.open(path)
        }
    }
    fn glob(&self, pattern: &Path) -> Vec<PathBuf> {
        FsLoader.glob(pattern)
    }
    fn canonical(&self, path: &Path) -> PathBuf {
        if path == self.name {
            path.to_path_buf()
        } else {
            FsLoader.canonical(path)
        }
    }
    fn memory_text(&self, path: &Path) -> Option<String> {
        if path == self.name {
            self.mem.memory_text(path)
        } else {
            None
        }
    }
}
