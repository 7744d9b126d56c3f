//! Full structural check (kernel: `mt_validate`), for tests and debugging.

use crate::node::{Summary, INNER_CAP, INNER_MIN, LEAF_CAP, LEAF_MIN, MAX_DEPTH, NIL, PAD};
use crate::MapleTree;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// A broken invariant: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateError {
    /// The invariant that does not hold.
    pub what: &'static str,
    /// Where: node kind and index, slot, keys involved.
    pub at: String,
}

impl fmt::Display for ValidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.what, self.at)
    }
}

fn err<T>(what: &'static str, at: fmt::Arguments<'_>) -> Result<T, ValidateError> {
    Err(ValidateError {
        what,
        at: alloc::format!("{at}"),
    })
}

/// Walk state: nodes seen, entries counted, end of the previous entry.
struct Walk {
    seen_leaves: Vec<bool>,
    seen_inners: Vec<bool>,
    count: usize,
    prev_end: Option<u64>,
}

impl<V> MapleTree<V> {
    /// Checks every structural invariant: entries non-empty, sorted and
    /// non-overlapping; cached child summaries (first start, last end,
    /// largest inner gap) equal a recount; all leaves at one depth; node fill
    /// within bounds (the root excepted); `len` equals the entry count; free
    /// lists acyclic, disjoint from the tree, and together with it covering
    /// both arenas.
    pub fn validate(&self) -> Result<(), ValidateError> {
        let mut w = Walk {
            seen_leaves: vec![false; self.leaves.len()],
            seen_inners: vec![false; self.inners.len()],
            count: 0,
            prev_end: None,
        };
        if self.height >= MAX_DEPTH {
            return err("height too large", format_args!("height {}", self.height));
        }
        if self.root == NIL {
            if self.height != 0 {
                return err(
                    "empty tree with height",
                    format_args!("height {}", self.height),
                );
            }
        } else {
            self.check_node(self.root, self.height, true, &mut w)?;
        }
        if w.count != self.len {
            return err(
                "len differs from entry count",
                format_args!("len {} counted {}", self.len, w.count),
            );
        }
        // Free lists.
        let mut id = self.free_leaf;
        let mut n = 0;
        while id != NIL {
            let Some(seen) = w.seen_leaves.get_mut(id as usize) else {
                return err("free leaf out of range", format_args!("leaf {id}"));
            };
            if *seen {
                return err(
                    "free leaf reachable or listed twice",
                    format_args!("leaf {id}"),
                );
            }
            *seen = true;
            let leaf = &self.leaves[id as usize];
            if !leaf.vals.is_empty() {
                return err("free leaf holds values", format_args!("leaf {id}"));
            }
            n += 1;
            id = leaf.starts[0] as u32;
        }
        if n != self.n_free_leaves {
            return err(
                "free leaf count wrong",
                format_args!("listed {n}, recorded {}", self.n_free_leaves),
            );
        }
        let mut id = self.free_inner;
        let mut n = 0;
        while id != NIL {
            let Some(seen) = w.seen_inners.get_mut(id as usize) else {
                return err("free inner node out of range", format_args!("inner {id}"));
            };
            if *seen {
                return err(
                    "free inner node reachable or listed twice",
                    format_args!("inner {id}"),
                );
            }
            *seen = true;
            n += 1;
            id = self.inners[id as usize].starts[0] as u32;
        }
        if n != self.n_free_inners {
            return err(
                "free inner count wrong",
                format_args!("listed {n}, recorded {}", self.n_free_inners),
            );
        }
        if let Some(k) = w.seen_leaves.iter().position(|s| !s) {
            return err(
                "leaf neither in the tree nor free",
                format_args!("leaf {k}"),
            );
        }
        if let Some(k) = w.seen_inners.iter().position(|s| !s) {
            return err(
                "inner node neither in the tree nor free",
                format_args!("inner {k}"),
            );
        }
        Ok(())
    }

    /// Checks the subtree at `id` (a leaf when `h == 0`) and returns its summary.
    fn check_node(
        &self,
        id: u32,
        h: usize,
        root: bool,
        w: &mut Walk,
    ) -> Result<Summary, ValidateError> {
        if h == 0 {
            let Some(seen) = w.seen_leaves.get_mut(id as usize) else {
                return err("leaf out of range", format_args!("leaf {id}"));
            };
            if *seen {
                return err("leaf reached twice", format_args!("leaf {id}"));
            }
            *seen = true;
            let leaf = &self.leaves[id as usize];
            let n = leaf.len();
            if n > LEAF_CAP || (!root && n < LEAF_MIN) {
                return err(
                    "leaf fill out of bounds",
                    format_args!("leaf {id} holds {n}"),
                );
            }
            for k in 0..n {
                let (s, e) = (leaf.starts[k], leaf.ends[k]);
                if s >= e {
                    return err(
                        "empty or inverted range",
                        format_args!("leaf {id} slot {k}: {s:#x}..{e:#x}"),
                    );
                }
                if let Some(p) = w.prev_end {
                    if s < p {
                        return err(
                            "entries out of order or overlapping",
                            format_args!("leaf {id} slot {k}: {s:#x}..{e:#x} after end {p:#x}"),
                        );
                    }
                }
                w.prev_end = Some(e);
            }
            if leaf.starts[n..]
                .iter()
                .chain(&leaf.ends[n..])
                .any(|&k| k != PAD)
            {
                return err("unused leaf key slot not padded", format_args!("leaf {id}"));
            }
            w.count += n;
            return Ok(leaf.summary());
        }
        let Some(seen) = w.seen_inners.get_mut(id as usize) else {
            return err("inner node out of range", format_args!("inner {id}"));
        };
        if *seen {
            return err("inner node reached twice", format_args!("inner {id}"));
        }
        *seen = true;
        let node = &self.inners[id as usize];
        let n = node.len();
        let min = if root { 2 } else { INNER_MIN };
        if n > INNER_CAP || n < min {
            return err(
                "inner fill out of bounds",
                format_args!("inner {id} holds {n}"),
            );
        }
        if node.starts[n..]
            .iter()
            .chain(&node.ends[n..])
            .any(|&k| k != PAD)
        {
            return err(
                "unused inner key slot not padded",
                format_args!("inner {id}"),
            );
        }
        for k in 0..n {
            let got = self.check_node(node.kids[k], h - 1, false, w)?;
            let cached = node.child_summary(k);
            if got != cached {
                return err(
                    "cached child summary differs from recount",
                    format_args!("inner {id} slot {k}: cached {cached:?}, recounted {got:?}"),
                );
            }
        }
        if node.gap != node.count_gap() {
            return err(
                "cached node gap differs from recount",
                format_args!(
                    "inner {id}: cached {:#x}, recounted {:#x}",
                    node.gap,
                    node.count_gap()
                ),
            );
        }
        Ok(node.summary())
    }
}
