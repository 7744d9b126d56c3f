// SPDX-License-Identifier: GPL-2.0-or-later
//! The smaps `VmFlags` mnemonic set of a layout entry.

use std::collections::BTreeSet;
use std::fmt;

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
