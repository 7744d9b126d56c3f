// SPDX-License-Identifier: GPL-2.0-or-later
//! The window's mappings as seen after a step, in window pages: what the
//! kernel shows in `/proc/PID/smaps` (and what the model must reproduce),
//! plus the looser "expected layout" written in scenarios.
//!
//! One line per mapping, the same syntax for output and expectations:
//!
//! ```text
//! START-END PERMS OFFSET FILE [name=NAME] [mpol=POLICY] [pkey=N] [FLAGS]
//! 0-4 rw-p 0 anon [rd wr mr mw me ac]
//! 8-12 r--s 2 f1 [rd sh mr mw me ms]
//! ```
//!
//! `OFFSET` is the file offset in pages, as /proc/PID/maps shows it: 0 for
//! anonymous memory, whatever its internal `vm_pgoff`.

//!
//! By job: this file holds the observed layout (what a mapping is);
//! `words` the word-level text (escapes, policies, columns), `vmflags` the
//! smaps flag set, `expect` the looser expected layout and its matching,
//! `parse` the line parser shared by scenarios and the oracle protocol.

mod expect;
mod parse;
mod vmflags;
mod words;

pub use expect::{ExpectedEntry, ExpectedLayout, FlagsExpect};
pub use parse::{entry_from_exact, parse_entry};
pub use vmflags::VmFlags;
pub(crate) use words::split_words;
pub use words::{escape_word, policy_token, unescape_word};

use std::fmt;

/// Protection and sharing, as the four characters of a maps line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
}

impl Perms {
    /// Parses `rwxp` / `r--s` style text.
    pub fn parse(s: &str) -> Option<Perms> {
        let b = s.as_bytes();
        if b.len() != 4 {
            return None;
        }
        let flag = |c: u8, on: u8| match c {
            x if x == on => Some(true),
            b'-' => Some(false),
            _ => None,
        };
        Some(Perms {
            read: flag(b[0], b'r')?,
            write: flag(b[1], b'w')?,
            exec: flag(b[2], b'x')?,
            shared: match b[3] {
                b's' => true,
                b'p' => false,
                _ => return None,
            },
        })
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |on: bool, ch: char| if on { ch } else { '-' };
        write!(
            f,
            "{}{}{}{}",
            c(self.read, 'r'),
            c(self.write, 'w'),
            c(self.exec, 'x'),
            if self.shared { 's' } else { 'p' }
        )
    }
}

/// What backs a mapping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileId {
    /// Private anonymous memory (no file).
    Anon,
    /// A file declared in the scenario (`file NAME`).
    File(String),
    /// A shared-memory object not declared in the scenario (shared anonymous
    /// mappings), numbered from 1 in order of first appearance in the trace
    /// (by address within one layout).
    Shmem(u32),
    /// A kernel-named area such as `[stack]` or `[heap]`.
    Special(String),
    /// Any other file, by path.
    Path(String),
}

impl FileId {
    /// Parses the FILE column. Returns `None` for text that names nothing
    /// valid (an empty string).
    pub fn parse(s: &str) -> Option<FileId> {
        if s.is_empty() {
            return None;
        }
        let s = &unescape_word(s)?;
        if s == "anon" {
            return Some(FileId::Anon);
        }
        if s.starts_with('[') {
            return Some(FileId::Special(s.to_string()));
        }
        if s.starts_with('/') {
            return Some(FileId::Path(s.to_string()));
        }
        if let Some(n) = s.strip_prefix("shm") {
            if let Ok(n) = n.parse::<u32>() {
                return Some(FileId::Shmem(n));
            }
        }
        Some(FileId::File(s.to_string()))
    }
}

impl fmt::Display for FileId {
    /// Paths and names are written as one word: whitespace and `\` in
    /// them as octal escapes (`\040` for a space), as /proc/mounts does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileId::Anon => f.write_str("anon"),
            FileId::File(n) | FileId::Special(n) | FileId::Path(n) => f.write_str(&escape_word(n)),
            FileId::Shmem(n) => write!(f, "shm{n}"),
        }
    }
}

/// A mapping's pages as layouts write them: `3-5` in the window, or
/// `far-8-far-4` in the far region (pages below its top; an end at the
/// top itself is `far`).
pub fn span_text(far: bool, start: u64, end: u64) -> String {
    if far {
        let at = |p: u64| {
            if p == 0 {
                "far".to_string()
            } else {
                format!("far-{p}")
            }
        };
        format!("{}-{}", at(start), at(end))
    } else {
        format!("{start}-{end}")
    }
}

/// Reads a span written by [`span_text`]: (far, start, end); `None` if it
/// is not one.
pub fn parse_span(text: &str) -> Option<(bool, u64, u64)> {
    let page = |t: &str| t.parse::<u64>().ok();
    match text.strip_prefix("far-") {
        Some(rest) => {
            let (start, end) = rest.split_once('-')?;
            let end = match end {
                "far" => 0,
                e => page(e.strip_prefix("far-")?)?,
            };
            Some((true, page(start)?, end))
        }
        None => {
            let (start, end) = text.split_once('-')?;
            Some((false, page(start)?, page(end)?))
        }
    }
}

/// One mapping inside the window or the far region.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapEntry {
    /// In the far region: the pages below count down from its top.
    pub far: bool,
    /// First page, relative to the window base (in the far region: how
    /// many pages below its top).
    pub start_page: u64,
    /// One past the last page, relative to the window base (in the far
    /// region: how many pages below its top).
    pub end_page: u64,
    pub perms: Perms,
    /// The file offset in pages (0 for anonymous memory, as maps shows).
    pub offset: i64,
    pub file: FileId,
    /// The anonymous VMA name (`[anon:NAME]` / `[anon_shmem:NAME]`), if any.
    pub name: Option<String>,
    /// The NUMA memory policy if not `default` (as numa_maps prints it).
    pub policy: Option<String>,
    /// The protection key (0 is the default key).
    pub pkey: u32,
    pub vm_flags: VmFlags,
}

impl fmt::Display for MapEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            span_text(self.far, self.start_page, self.end_page),
            self.perms,
            self.offset,
            self.file
        )?;
        if let Some(n) = &self.name {
            write!(f, " name={}", escape_word(n))?;
        }
        if let Some(p) = &self.policy {
            write!(f, " mpol={p}")?;
        }
        if self.pkey != 0 {
            write!(f, " pkey={}", self.pkey)?;
        }
        write!(f, " {}", self.vm_flags)
    }
}

/// The mappings inside the window, sorted by address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Layout(pub Vec<MapEntry>);

impl fmt::Display for Layout {
    /// One maps-like line per mapping; `(empty)` for an empty window.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return writeln!(f, "(empty)");
        }
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}
