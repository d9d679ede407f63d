//! Source locations: which file, line and column a piece of configuration came from.

use std::fmt;
use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`] (16 bits, to keep [`Span`]s small: a parse that reads
/// more than 65,535 files gives the last id to all the files after that).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u16);

/// Where a token or a statement came from: file, 1-based line and column (in characters) and the
/// length of the token in characters. 12 bytes: the model keeps one in every block, and a large
/// configuration has many blocks.
///
/// Spans never take part in equality: two spans always compare equal, so that two models with the
/// same meaning compare equal whatever file they were read from (for example a model and the model
/// read back from its printed form). Compare the fields when the location itself matters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// The file, an index into the [`SourceMap`] of the parse.
    pub file: FileId,
    /// 1-based line number (0 when the span is synthetic, e.g. a default value).
    pub line: u32,
    /// 1-based column of the first character.
    pub col: u32,
    /// Length in characters (at least 1 for real tokens; saturates at 65,535).
    pub len: u16,
}

impl Span {
    /// A span that points nowhere (used for values that did not come from a file).
    pub const NONE: Span = Span {
        file: FileId(0),
        line: 0,
        col: 0,
        len: 0,
    };

    /// True when the span points at a real place in a file.
    pub fn is_real(&self) -> bool {
        self.line > 0
    }

    /// The smallest span covering `self` and `other` when both are on the same line; otherwise `self`.
    #[must_use]
    pub fn to(self, other: Span) -> Span {
        if self.file == other.file && self.line == other.line && other.col >= self.col {
            Span {
                len: u16::try_from(
                    other
                        .col
                        .saturating_add(u32::from(other.len))
                        .saturating_sub(self.col),
                )
                .unwrap_or(u16::MAX),
                ..self
            }
        } else {
            self
        }
    }
}

impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}
impl Eq for Span {}

/// One file that took part in a parse.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path as given (after include-relative resolution), or a name like `<string>`.
    pub path: PathBuf,
    /// The text, when the source was given in memory. Files read from disk are not kept in
    /// memory; the renderer reads the lines it needs again.
    pub text: Option<String>,
}

/// All files read by one parse, indexed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Registers a file and returns its id.
    pub fn add(&mut self, path: PathBuf, text: Option<String>) -> FileId {
        let id = FileId(u16::try_from(self.files.len()).unwrap_or(u16::MAX));
        self.files.push(SourceFile { path, text });
        id
    }

    /// The file with this id, if any.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The path of a file, or `<unknown>`.
    pub fn path(&self, id: FileId) -> &Path {
        self.get(id)
            .map_or(Path::new("<unknown>"), |f| f.path.as_path())
    }

    /// Every file, in the order they were first read.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }
}

/// A value with the span of the text it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps a value.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}
