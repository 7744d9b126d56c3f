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

use std::collections::BTreeSet;
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

/// `text` as one word of a layout line: whitespace and backslashes become
/// three-digit octal escapes (`\040`, `\011`, `\134`). Paths in
/// /proc/PID/maps may hold any byte but a newline, and anonymous VMA names
/// may hold spaces.
pub fn escape_word(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(|c: char| c.is_whitespace() || c == '\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if (c.is_whitespace() || c == '\\') && (c as u32) < 0o400 {
            out.push_str(&format!("\\{:03o}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The inverse of [`escape_word`]; `None` for a malformed escape (a
/// backslash not followed by three octal digits).
pub fn unescape_word(word: &str) -> Option<String> {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let digits = rest.get(i + 1..i + 4)?;
        if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return None;
        }
        out.push(char::from_u32(u32::from_str_radix(digits, 8).ok()?)?);
        rest = &rest[i + 4..];
    }
    out.push_str(rest);
    Some(out)
}

/// The NUMA policy at the start of `text` as numa_maps prints it (`bind:0`,
/// `bind=static:0`, `prefer (many):0`, `weighted interleave:0`): the first
/// word, or two where the mode's name has a space in it.
pub fn policy_token(text: &str) -> &str {
    let word_end = |from: usize| {
        text[from..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| from + i)
    };
    for mode in vma::PolicyMode::ALL {
        let name = mode.name();
        if name.contains(' ') && text.starts_with(name) {
            return &text[..word_end(name.len())];
        }
    }
    &text[..word_end(0)]
}

/// A set of smaps `VmFlags` two-letter mnemonics (`rd`, `wr`, `ac`, `gu`...).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct VmFlags(pub BTreeSet<String>);

impl VmFlags {
    /// Builds a set from whitespace-separated mnemonics.
    pub fn from_words(s: &str) -> VmFlags {
        VmFlags(s.split_whitespace().map(str::to_string).collect())
    }

    /// True if the mnemonic is in the set.
    pub fn contains(&self, m: &str) -> bool {
        self.0.contains(m)
    }

    /// The mnemonics in the order the kernel prints them: by flag bit, as
    /// `vma::VmFlags` numbers them (one table for both crates); mnemonics
    /// it does not know sort after, alphabetically.
    pub fn ordered(&self) -> Vec<&str> {
        let rank = |m: &str| vma::VmFlags::from_mnemonic(m).map_or(64, |f| f.0.trailing_zeros());
        let mut v: Vec<&str> = self.0.iter().map(String::as_str).collect();
        v.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
        v
    }
}

impl fmt::Display for VmFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.ordered().join(" "))
    }
}

/// One mapping inside the window.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapEntry {
    /// First page, relative to the window base.
    pub start_page: u64,
    /// One past the last page, relative to the window base.
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
            "{}-{} {} {} {}",
            self.start_page, self.end_page, self.perms, self.offset, self.file
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

/// How an expected entry constrains `VmFlags`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum FlagsExpect {
    /// No bracket group: flags are not compared.
    #[default]
    Any,
    /// `[rd wr ...]`: exactly this set.
    Exact(VmFlags),
    /// `[+lo -ac]`: these present, those absent, the rest not compared.
    Partial { present: VmFlags, absent: VmFlags },
}

/// One line of an `expect layout` block. `None` fields are written `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedEntry {
    pub start_page: u64,
    pub end_page: u64,
    pub perms: Perms,
    pub offset: Option<i64>,
    pub file: Option<FileId>,
    pub name: Option<String>,
    pub policy: Option<String>,
    pub pkey: u32,
    pub flags: FlagsExpect,
}

/// The body of an `expect layout` block.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ExpectedLayout(pub Vec<ExpectedEntry>);

impl fmt::Display for ExpectedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{} {} ", self.start_page, self.end_page, self.perms)?;
        match self.offset {
            Some(o) => write!(f, "{o}")?,
            None => f.write_str("*")?,
        }
        match &self.file {
            Some(id) => write!(f, " {id}")?,
            None => f.write_str(" *")?,
        }
        if let Some(n) = &self.name {
            write!(f, " name={}", escape_word(n))?;
        }
        if let Some(p) = &self.policy {
            write!(f, " mpol={p}")?;
        }
        if self.pkey != 0 {
            write!(f, " pkey={}", self.pkey)?;
        }
        match &self.flags {
            FlagsExpect::Any => Ok(()),
            FlagsExpect::Exact(v) => write!(f, " {v}"),
            FlagsExpect::Partial { present, absent } => {
                let mut parts: Vec<String> =
                    present.ordered().iter().map(|m| format!("+{m}")).collect();
                parts.extend(absent.ordered().iter().map(|m| format!("-{m}")));
                write!(f, " [{}]", parts.join(" "))
            }
        }
    }
}

impl From<&MapEntry> for ExpectedEntry {
    /// The exact expectation an actual entry satisfies.
    fn from(e: &MapEntry) -> Self {
        ExpectedEntry {
            start_page: e.start_page,
            end_page: e.end_page,
            perms: e.perms,
            offset: Some(e.offset),
            file: Some(e.file.clone()),
            name: e.name.clone(),
            policy: e.policy.clone(),
            pkey: e.pkey,
            flags: FlagsExpect::Exact(e.vm_flags.clone()),
        }
    }
}

impl ExpectedEntry {
    /// Describes the first field where `actual` differs, or `None` if it
    /// satisfies this expectation.
    pub fn mismatch(&self, actual: &MapEntry) -> Option<String> {
        if (self.start_page, self.end_page) != (actual.start_page, actual.end_page) {
            return Some(format!(
                "range {}-{} != expected {}-{}",
                actual.start_page, actual.end_page, self.start_page, self.end_page
            ));
        }
        if self.perms != actual.perms {
            return Some(format!("perms {} != expected {}", actual.perms, self.perms));
        }
        if let Some(o) = self.offset {
            if o != actual.offset {
                return Some(format!("offset {} != expected {o}", actual.offset));
            }
        }
        if let Some(id) = &self.file {
            if *id != actual.file {
                return Some(format!("file {} != expected {id}", actual.file));
            }
        }
        if self.name != actual.name {
            return Some(format!(
                "name {:?} != expected {:?}",
                actual.name, self.name
            ));
        }
        if self.policy != actual.policy {
            return Some(format!(
                "mpol {:?} != expected {:?}",
                actual.policy, self.policy
            ));
        }
        if self.pkey != actual.pkey {
            return Some(format!("pkey {} != expected {}", actual.pkey, self.pkey));
        }
        match &self.flags {
            FlagsExpect::Any => None,
            FlagsExpect::Exact(v) if *v != without_unnamed_build_flags(&actual.vm_flags, v) => {
                Some(format!("flags {} != expected {v}", actual.vm_flags))
            }
            FlagsExpect::Exact(_) => None,
            FlagsExpect::Partial { present, absent } => {
                let missing: Vec<&str> = present
                    .ordered()
                    .into_iter()
                    .filter(|m| !actual.vm_flags.contains(m))
                    .collect();
                let extra: Vec<&str> = absent
                    .ordered()
                    .into_iter()
                    .filter(|m| actual.vm_flags.contains(m))
                    .collect();
                if missing.is_empty() && extra.is_empty() {
                    None
                } else {
                    Some(format!(
                        "flags {}: missing [{}], unexpected [{}]",
                        actual.vm_flags,
                        missing.join(" "),
                        extra.join(" ")
                    ))
                }
            }
        }
    }
}

impl ExpectedLayout {
    /// Checks a layout; on mismatch returns a message naming the first
    /// difference.
    pub fn check(&self, actual: &Layout) -> Result<(), String> {
        for (i, exp) in self.0.iter().enumerate() {
            let Some(act) = actual.0.get(i) else {
                return Err(format!("missing entry {}: expected `{exp}`", i + 1));
            };
            if let Some(why) = exp.mismatch(act) {
                return Err(format!("entry {} `{act}`: {why}", i + 1));
            }
        }
        if let Some(extra) = actual.0.get(self.0.len()) {
            return Err(format!("unexpected entry `{extra}`"));
        }
        Ok(())
    }
}

/// Mnemonics that a kernel build option puts on every VMA (`sd` with
/// `CONFIG_MEM_SOFT_DIRTY`): an exact flags expectation that does not name
/// one holds with or without it, so one scenario serves kernels built
/// either way. Kernel and model are still compared on every flag.
const BUILD_OPTION_FLAGS: &[&str] = &["sd"];

/// `actual` without the build-option flags `expected` does not name.
fn without_unnamed_build_flags(actual: &VmFlags, expected: &VmFlags) -> VmFlags {
    let mut v = actual.clone();
    for m in BUILD_OPTION_FLAGS {
        if !expected.contains(m) {
            v.0.remove(*m);
        }
    }
    v
}

/// Parses one layout line; errors carry the 0-based byte column in `text`.
///
/// Used for `expect layout` bodies and for the oracle's line protocol.
pub fn parse_entry(text: &str) -> Result<ExpectedEntry, (usize, String)> {
    let words = split_words(text);
    let mut it = words.iter();
    let Some(&(col, range)) = it.next() else {
        return Err((0, "empty layout line".into()));
    };
    let (s, e) = range
        .split_once('-')
        .ok_or((col, format!("expected START-END in pages, found `{range}`")))?;
    let start_page: u64 = s
        .parse()
        .map_err(|_| (col, format!("bad start page `{s}`")))?;
    let end_page: u64 = e
        .parse()
        .map_err(|_| (col + s.len() + 1, format!("bad end page `{e}`")))?;
    if end_page <= start_page {
        return Err((col, format!("empty or reversed range `{range}`")));
    }
    let end_col = text.len();
    let &(col, p) = it
        .next()
        .ok_or((end_col, "missing permissions (e.g. rw-p)".to_string()))?;
    let perms = Perms::parse(p).ok_or((col, format!("bad permissions `{p}` (e.g. rw-p, r--s)")))?;
    let &(col, o) = it
        .next()
        .ok_or((end_col, "missing offset in pages (or *)".to_string()))?;
    let offset = if o == "*" {
        None
    } else {
        Some(
            o.parse::<i64>()
                .map_err(|_| (col, format!("bad offset `{o}` (pages, or *)")))?,
        )
    };
    let &(col, fname) = it.next().ok_or((
        end_col,
        "missing file (anon, a file name, shmN, or *)".to_string(),
    ))?;
    let file = if fname == "*" {
        None
    } else if fname.starts_with('[') && fname.len() <= 3 {
        return Err((col, "missing file before the flags".into()));
    } else {
        Some(FileId::parse(fname).ok_or((col, format!("bad file `{fname}`")))?)
    };
    let mut entry = ExpectedEntry {
        start_page,
        end_page,
        perms,
        offset,
        file,
        name: None,
        policy: None,
        pkey: 0,
        flags: FlagsExpect::Any,
    };
    let mut it = it.peekable();
    while let Some(&(col, w)) = it.next() {
        if let Some(v) = w.strip_prefix("name=") {
            let name = unescape_word(v).ok_or((col + 5, format!("bad escape in `{v}`")))?;
            entry.name = Some(name);
        } else if w.starts_with("mpol=") {
            let policy = policy_token(&text[col + 5..]);
            let end = col + 5 + policy.len();
            while it.next_if(|&&(c, _)| c < end).is_some() {}
            entry.policy = Some(policy.to_string());
        } else if let Some(v) = w.strip_prefix("pkey=") {
            entry.pkey = v
                .parse()
                .map_err(|_| (col + 5, format!("bad pkey `{v}`")))?;
        } else if w.starts_with('[') {
            let inner = &text[col + 1..];
            let close = inner
                .find(']')
                .ok_or((col, "unclosed `[` in flags".to_string()))?;
            let body = &inner[..close];
            let rest = &inner[close + 1..];
            if !rest.trim().is_empty() {
                return Err((col + 2 + close, "nothing may follow the flags group".into()));
            }
            entry.flags = parse_flag_group(body, col + 1)?;
            break;
        } else {
            return Err((
                col,
                format!("unexpected `{w}` (name=, mpol=, pkey= or [flags])"),
            ));
        }
    }
    Ok(entry)
}

/// Parses the inside of `[...]`: all plain mnemonics, or all `+m`/`-m`.
fn parse_flag_group(body: &str, base_col: usize) -> Result<FlagsExpect, (usize, String)> {
    let mut exact = BTreeSet::new();
    let mut present = BTreeSet::new();
    let mut absent = BTreeSet::new();
    for (col, w) in split_words(body) {
        let (set, m) = if let Some(m) = w.strip_prefix('+') {
            (&mut present, m)
        } else if let Some(m) = w.strip_prefix('-') {
            (&mut absent, m)
        } else {
            (&mut exact, w)
        };
        // Kernels print `??` for a flag they have no name for (6.1 for
        // VM_LOCKONFAULT).
        let named = m.len() == 2 && m.bytes().all(|b| b.is_ascii_lowercase());
        if !named && m != "??" {
            return Err((
                base_col + col,
                format!(
                    "bad VmFlags mnemonic `{w}` (two lowercase letters, e.g. rd, ac, gu, or ??)"
                ),
            ));
        }
        set.insert(m.to_string());
    }
    let partial = !present.is_empty() || !absent.is_empty();
    if partial && !exact.is_empty() {
        return Err((
            base_col,
            "mix of exact and +/- flags; use either [rd wr] or [+lo -ac]".into(),
        ));
    }
    Ok(if partial {
        FlagsExpect::Partial {
            present: VmFlags(present),
            absent: VmFlags(absent),
        }
    } else {
        FlagsExpect::Exact(VmFlags(exact))
    })
}

/// Converts an exact expectation (as the oracle protocol writes it) back to
/// an entry; fails if any field is a wildcard.
pub fn entry_from_exact(e: ExpectedEntry) -> Option<MapEntry> {
    let FlagsExpect::Exact(vm_flags) = e.flags else {
        return None;
    };
    Some(MapEntry {
        start_page: e.start_page,
        end_page: e.end_page,
        perms: e.perms,
        offset: e.offset?,
        file: e.file?,
        name: e.name,
        policy: e.policy,
        pkey: e.pkey,
        vm_flags,
    })
}

/// Splits on ASCII whitespace, keeping each word's byte column.
pub(crate) fn split_words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_names_with_spaces_round_trip() {
        let line = "0-2 rw-s 0 /anon_hugepage\\040(deleted) name=a\\040b\\134c [rd sh]";
        let e = parse_entry(line).unwrap();
        assert_eq!(
            e.file,
            Some(FileId::Path("/anon_hugepage (deleted)".into()))
        );
        assert_eq!(e.name.as_deref(), Some("a b\\c"));
        assert_eq!(e.to_string(), line);
        assert!(parse_entry("0-2 rw-s 0 /x\\04 [rd]").is_err());
        assert_eq!(unescape_word("a\\9zz"), None);
    }

    #[test]
    fn two_word_policies_are_one_value() {
        let e = parse_entry("0-2 rw-p 0 anon mpol=prefer (many):0 pkey=1 [rd]").unwrap();
        assert_eq!(e.policy.as_deref(), Some("prefer (many):0"));
        assert_eq!(e.pkey, 1);
        let e = parse_entry("0-2 rw-p 0 anon mpol=weighted interleave=static:0 [rd]").unwrap();
        assert_eq!(e.policy.as_deref(), Some("weighted interleave=static:0"));
        assert_eq!(
            e.to_string(),
            "0-2 rw-p 0 anon mpol=weighted interleave=static:0 [rd]"
        );
        assert_eq!(policy_token("prefer:1 anon=2"), "prefer:1");
        assert_eq!(policy_token("prefer (many):0 anon=1"), "prefer (many):0");
    }

    #[test]
    fn mnemonics_print_in_bit_order() {
        let f = VmFlags::from_words("zz ac sd um rd gu");
        assert_eq!(f.ordered(), ["rd", "um", "gu", "ac", "sd", "zz"]);
    }

    #[test]
    fn round_trip() {
        let e = MapEntry {
            start_page: 0,
            end_page: 4,
            perms: Perms::parse("rw-p").unwrap(),
            offset: -3,
            file: FileId::Anon,
            name: Some("heap".into()),
            policy: Some("bind:0".into()),
            pkey: 1,
            vm_flags: VmFlags::from_words("ac wr rd"),
        };
        let text = e.to_string();
        assert_eq!(
            text,
            "0-4 rw-p -3 anon name=heap mpol=bind:0 pkey=1 [rd wr ac]"
        );
        let back = entry_from_exact(parse_entry(&text).unwrap()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn partial_flags_and_wildcards() {
        let x = parse_entry("2-3 r--s * * [+lo -ac]").unwrap();
        assert_eq!(x.offset, None);
        assert_eq!(x.file, None);
        assert!(matches!(x.flags, FlagsExpect::Partial { .. }));
        assert_eq!(x.to_string(), "2-3 r--s * * [+lo -ac]");
    }

    #[test]
    fn errors_have_columns() {
        assert_eq!(parse_entry("0-4 rw-q 0 anon").unwrap_err().0, 4);
        assert_eq!(parse_entry("0-4 rw-p x anon").unwrap_err().0, 9);
        assert_eq!(parse_entry("0-4 rw-p 0 anon [rd wr").unwrap_err().0, 16);
        assert_eq!(parse_entry("0-4 rw-p 0 anon [rd +ac]").unwrap_err().0, 17);
        assert!(parse_entry("4-4 rw-p 0 anon").is_err());
        assert!(parse_entry("0-4 rw-p 0 anon [rdx]").is_err());
        assert!(parse_entry("0-4 rw-p 0 anon [rd] x").is_err());
    }
}
