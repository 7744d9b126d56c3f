// SPDX-License-Identifier: GPL-2.0-or-later
//! What `touch read` returns in the model: a byte is 1 where the process
//! wrote it and the memory still holds it, 0 elsewhere. Page contents are
//! not part of the VMA model, so this tracks only what scenarios observe:
//! written bytes stay while their page stays mapped and are dropped when
//! the memory is replaced or discarded.

use std::collections::BTreeSet;

/// Addresses written (value 1) in one process.
#[derive(Clone, Debug, Default)]
pub struct Content(BTreeSet<u64>);

impl Content {
    pub fn write(&mut self, addr: u64) {
        self.0.insert(addr);
    }

    pub fn read(&self, addr: u64) -> i64 {
        i64::from(self.0.contains(&addr))
    }

    /// Forgets everything in `[start, end)` (new or discarded memory).
    pub fn clear(&mut self, start: u64, end: u64) {
        let gone: Vec<u64> = self.0.range(start..end).copied().collect();
        for a in gone {
            self.0.remove(&a);
        }
    }

    /// Moves what is in `[from, from + len)` to `to` (mremap).
    pub fn relocate(&mut self, from: u64, len: u64, to: u64) {
        let moved: Vec<u64> = self
            .0
            .range(from..from.saturating_add(len))
            .copied()
            .collect();
        for a in &moved {
            self.0.remove(a);
        }
        for a in moved {
            self.0.insert(a - from + to);
        }
    }

    /// Keeps only the bytes for which `mapped` holds.
    pub fn retain(&mut self, mapped: impl Fn(u64) -> bool) {
        self.0.retain(|&a| mapped(a));
    }
}
