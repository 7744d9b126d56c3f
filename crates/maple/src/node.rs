//! Node layout: leaves hold entries, inner nodes hold per-child summaries.

use crate::vals::Vals;

/// Entries per leaf. 16 keeps a leaf's key arrays at two cache lines each;
/// wider leaves made stores measurably slower (more lines touched per change).
pub(crate) const LEAF_CAP: usize = 16;
/// Children per inner node. 32 keeps a tree of a million entries four inner
/// levels deep, so descents cross fewer cache misses.
pub(crate) const INNER_CAP: usize = 32;
/// Fewest entries a non-root leaf may hold.
pub(crate) const LEAF_MIN: usize = 4;
/// Fewest children a non-root inner node may hold (the root needs two).
pub(crate) const INNER_MIN: usize = 4;
/// Levels a path can have. With at least `INNER_MIN` children per inner node
/// and at most 2^32 leaves, the height stays far below this.
pub(crate) const MAX_DEPTH: usize = 24;
/// "No node" marker for node indices and free-list links.
pub(crate) const NIL: u32 = u32::MAX;
/// Value of every unused key slot in a live node, so stale keys never linger
/// past a node's length (`validate` checks it, and dumps stay readable).
pub(crate) const PAD: u64 = u64::MAX;

/// What a parent keeps about one child subtree: the start of its first entry,
/// the end of its last entry, and the largest gap strictly between two of its
/// entries. Gaps between sibling subtrees are derived from `first`/`last` of
/// neighbours, so each gap is accounted for in exactly one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Summary {
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) gap: u64,
}

/// A leaf: up to `LEAF_CAP` entries `[starts[i], ends[i]) -> vals[i]`,
/// sorted and non-overlapping. The entry count is `vals.len()`; the values
/// live in the leaf itself (see `vals.rs`), so stores never allocate for
/// them. Unused key slots hold `PAD`.
/// A free leaf has no values and keeps the next free leaf in `starts[0]`.
pub(crate) struct Leaf<V> {
    pub(crate) starts: [u64; LEAF_CAP],
    pub(crate) ends: [u64; LEAF_CAP],
    pub(crate) vals: Vals<V>,
}

impl<V> Leaf<V> {
    /// An empty leaf.
    pub(crate) fn new() -> Self {
        Leaf {
            starts: [PAD; LEAF_CAP],
            ends: [PAD; LEAF_CAP],
            vals: Vals::new(),
        }
    }

    /// Number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.vals.len()
    }

    /// Entry `i`, if there is one.
    #[inline]
    pub(crate) fn entry(&self, i: usize) -> Option<(u64, u64, &V)> {
        let v = self.vals.get(i)?;
        Some((self.starts[i], self.ends[i], v))
    }

    /// First start, last end and largest inner gap; all zero when empty.
    pub(crate) fn summary(&self) -> Summary {
        let n = self.len();
        if n == 0 {
            return Summary::default();
        }
        let mut gap = 0;
        for k in 1..n {
            gap = gap.max(self.starts[k] - self.ends[k - 1]);
        }
        Summary {
            first: self.starts[0],
            last: self.ends[n - 1],
            gap,
        }
    }
}

impl<V: Clone> Clone for Leaf<V> {
    fn clone(&self) -> Self {
        Leaf {
            starts: self.starts,
            ends: self.ends,
            vals: self.vals.clone(),
        }
    }
}

/// An inner node: `len` children, each with its [`Summary`] spread over the
/// `starts`/`ends`/`gaps` arrays; unused `starts`/`ends` slots hold `PAD`.
/// A free inner node has `len == 0` and keeps
/// the next free inner node in `starts[0]`.
///
/// Laid out in declaration order on a cache-line boundary, so each block
/// of eight keys [`rank`] tests is one line.
#[derive(Clone)]
#[repr(C, align(64))]
pub(crate) struct Inner {
    pub(crate) starts: [u64; INNER_CAP],
    pub(crate) ends: [u64; INNER_CAP],
    pub(crate) gaps: [u64; INNER_CAP],
    pub(crate) kids: [u32; INNER_CAP],
    pub(crate) len: u32,
    /// Largest gap in the whole subtree: the maximum over children of their
    /// inner gap and of the gap before them. Kept up to date incrementally
    /// so a parent's summary of this node is O(1).
    pub(crate) gap: u64,
}

impl Inner {
    /// A node with no children.
    pub(crate) fn new() -> Self {
        Inner {
            starts: [PAD; INNER_CAP],
            ends: [PAD; INNER_CAP],
            gaps: [0; INNER_CAP],
            kids: [NIL; INNER_CAP],
            len: 0,
            gap: 0,
        }
    }

    /// Number of children.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// The summary of child `k` as cached here.
    #[inline]
    pub(crate) fn child_summary(&self, k: usize) -> Summary {
        Summary {
            first: self.starts[k],
            last: self.ends[k],
            gap: self.gaps[k],
        }
    }

    /// Largest gap term child `k` takes part in: its inner gap and the gaps
    /// between it and its neighbours. (Saturating: while a child is being
    /// emptied and rebalanced its cached keys may be stale.)
    #[inline]
    fn terms(&self, k: usize) -> u64 {
        let mut g = self.gaps[k];
        if k > 0 {
            g = g.max(self.starts[k].saturating_sub(self.ends[k - 1]));
        }
        if k + 1 < self.len() {
            g = g.max(self.starts[k + 1].saturating_sub(self.ends[k]));
        }
        g
    }

    /// The subtree's largest gap, recounted from the child summaries.
    pub(crate) fn count_gap(&self) -> u64 {
        let n = self.len();
        let mut gap = 0;
        for k in 0..n {
            gap = gap.max(self.gaps[k]);
            if k > 0 {
                gap = gap.max(self.starts[k].saturating_sub(self.ends[k - 1]));
            }
        }
        gap
    }

    /// Recounts [`Inner::gap`].
    pub(crate) fn recount(&mut self) {
        self.gap = self.count_gap();
    }

    /// Overwrites the cached summary of child `k`, updating the node's gap
    /// in O(1) unless the old maximum may have been lost.
    #[inline]
    pub(crate) fn set_summary(&mut self, k: usize, s: Summary) {
        let old = self.terms(k);
        self.starts[k] = s.first;
        self.ends[k] = s.last;
        self.gaps[k] = s.gap;
        let new = self.terms(k);
        if new >= self.gap {
            self.gap = new;
        } else if old >= self.gap {
            self.recount();
        }
    }

    /// Appends child `kid`; the caller checks there is room.
    pub(crate) fn push(&mut self, kid: u32, s: Summary) {
        let n = self.len();
        self.kids[n] = kid;
        self.starts[n] = s.first;
        self.ends[n] = s.last;
        self.gaps[n] = s.gap;
        self.len += 1;
        self.gap = self.gap.max(self.terms(n));
    }

    /// Inserts child `kid` at position `k`; the caller checks there is room.
    pub(crate) fn insert(&mut self, k: usize, kid: u32, s: Summary) {
        let n = self.len();
        self.starts.copy_within(k..n, k + 1);
        self.ends.copy_within(k..n, k + 1);
        self.gaps.copy_within(k..n, k + 1);
        self.kids.copy_within(k..n, k + 1);
        self.kids[k] = kid;
        self.starts[k] = s.first;
        self.ends[k] = s.last;
        self.gaps[k] = s.gap;
        self.len += 1;
        self.recount();
    }

    /// Removes child `k`.
    pub(crate) fn remove(&mut self, k: usize) {
        let n = self.len();
        self.starts.copy_within(k + 1..n, k);
        self.ends.copy_within(k + 1..n, k);
        self.gaps.copy_within(k + 1..n, k);
        self.kids.copy_within(k + 1..n, k);
        self.kids[n - 1] = NIL;
        self.starts[n - 1] = PAD;
        self.ends[n - 1] = PAD;
        self.gaps[n - 1] = 0;
        self.len -= 1;
        self.recount();
    }

    /// First start, last end and largest gap of the whole subtree; all zero
    /// when empty.
    #[inline]
    pub(crate) fn summary(&self) -> Summary {
        let n = self.len();
        if n == 0 {
            return Summary::default();
        }
        Summary {
            first: self.starts[0],
            last: self.ends[n - 1],
            gap: self.gap,
        }
    }
}

/// Number of keys in the sorted slice that are `<= key` (branch-free scan;
/// the slices are at most 16 long).
#[inline]
pub(crate) fn count_le(keys: &[u64], key: u64) -> usize {
    keys.iter().map(|&k| (k <= key) as usize).sum()
}

/// Number of keys in the sorted slice that are `< key`.
#[inline]
pub(crate) fn count_lt(keys: &[u64], key: u64) -> usize {
    keys.iter().map(|&k| (k < key) as usize).sum()
}

/// Keys per block of [`rank`]'s first step: one cache line of `u64`s.
const BLOCK: usize = 8;

/// Number of the first `n` keys of a node's key array that satisfy
/// `below`, a predicate true on a prefix of the array (`<= key` or
/// `< key`). The whole array is sorted, its unused slots holding `PAD`.
///
/// Two steps. First the last key of every block of eight is tested: those
/// loads do not depend on each other, so in a node not yet in cache all
/// its key lines are fetched at once (a binary search over the whole
/// array would wait for one miss before it knew the next line to read).
/// The blocks whose last key is below are wholly below; in the first one
/// that is not, a branch-free binary search finds the rest in three
/// steps. Clamping to `n` discounts `PAD` slots a key of `u64::MAX` would
/// count.
#[inline]
fn rank<const N: usize>(keys: &[u64; N], n: usize, below: impl Fn(u64) -> bool) -> usize {
    debug_assert!(N % BLOCK == 0 && n <= N);
    let mut q = 0;
    for b in 0..N / BLOCK {
        q += usize::from(below(keys[b * BLOCK + BLOCK - 1]));
    }
    if q == N / BLOCK {
        return n;
    }
    let block = &keys[q * BLOCK..q * BLOCK + BLOCK];
    let mut base = 0;
    let mut step = BLOCK / 2;
    while step > 0 {
        base += usize::from(below(block[base + step - 1])) * step;
        step /= 2;
    }
    (q * BLOCK + base + usize::from(below(block[base]))).min(n)
}

/// Number of the first `n` keys `<= key` (see [`rank`]).
#[inline]
pub(crate) fn rank_le<const N: usize>(keys: &[u64; N], n: usize, key: u64) -> usize {
    rank(keys, n, |k| k <= key)
}

/// Number of the first `n` keys `< key` (see [`rank`]).
#[inline]
pub(crate) fn rank_lt<const N: usize>(keys: &[u64; N], n: usize, key: u64) -> usize {
    rank(keys, n, |k| k < key)
}

/// Two distinct elements of one slice, mutably.
pub(crate) fn pair_mut<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    debug_assert!(a != b);
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = v.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

/// Where to cut `t` items (more than `cap`) into two nodes of `min..=cap`.
/// A change at the right end leaves the left node nearly full (ascending
/// growth, as when mappings are added above the last one); a change at the
/// left end does the mirror (top-down mmap growth); otherwise halve.
pub(crate) fn split_point(t: usize, at_start: bool, at_end: bool, min: usize) -> usize {
    match (at_start, at_end) {
        (false, true) => t - min,
        (true, false) => min,
        _ => t / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary search agrees with a scan on every prefix length, for
    /// keys below, on, between and above the array's, and `u64::MAX`.
    #[test]
    fn rank_agrees_with_a_scan() {
        let mut keys = [PAD; LEAF_CAP];
        for n in 0..=LEAF_CAP {
            for (k, slot) in keys.iter_mut().enumerate() {
                *slot = if k < n { 10 * k as u64 + 5 } else { PAD };
            }
            for key in (0..=10 * LEAF_CAP as u64 + 10).chain([u64::MAX - 1, u64::MAX]) {
                assert_eq!(rank_le(&keys, n, key), count_le(&keys[..n], key));
                assert_eq!(rank_lt(&keys, n, key), count_lt(&keys[..n], key));
            }
        }
    }
}
