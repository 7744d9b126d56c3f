// SPDX-License-Identifier: GPL-2.0-or-later
//! The expected layout of `expect layout` blocks: entries with wildcards
//! and partial flag sets, and how they match an observed layout.

use std::fmt;

use super::{escape_word, span_text, FileId, Layout, MapEntry, Perms, VmFlags};

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
    /// In the far region (see [`MapEntry::far`]).
    pub far: bool,
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
        write!(
            f,
            "{} {} ",
            span_text(self.far, self.start_page, self.end_page),
            self.perms
        )?;
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
            far: e.far,
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
        let span = |far, s, e| span_text(far, s, e);
        if (self.far, self.start_page, self.end_page)
            != (actual.far, actual.start_page, actual.end_page)
        {
            return Some(format!(
                "range {} != expected {}",
                span(actual.far, actual.start_page, actual.end_page),
                span(self.far, self.start_page, self.end_page)
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
