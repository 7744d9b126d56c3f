//! Gap search (kernel: `mas_empty_area`, `mas_empty_area_rev`).
//!
//! Each inner node caches the largest gap inside every child, so a search
//! only enters children that can hold the request. A child lying wholly
//! inside the search window with a large enough gap always yields a hit, so
//! failed descents happen only along the two window edges: O(log n) nodes.

use crate::node::{count_le, count_lt, NIL};
use crate::MapleTree;

/// Lowest `a` in the empty range `[g0, g1)` with `[a, a + size)` inside it
/// and inside the window `[min, max)`.
#[inline]
fn fit_low(g0: u64, g1: u64, min: u64, max: u64, size: u64) -> Option<u64> {
    let lo = g0.max(min);
    let hi = g1.min(max);
    (hi > lo && hi - lo >= size).then_some(lo)
}

/// Highest such `a`.
#[inline]
fn fit_high(g0: u64, g1: u64, min: u64, max: u64, size: u64) -> Option<u64> {
    let lo = g0.max(min);
    let hi = g1.min(max);
    (hi > lo && hi - lo >= size).then(|| hi - size)
}

impl<V> MapleTree<V> {
    /// Lowest address `a` with `min <= a`, `a + size <= max` and
    /// `[a, a + size)` holding no entry. `None` if there is none, or if
    /// `size == 0` or `min > max`.
    pub fn lowest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        if size == 0 || min > max || max - min < size {
            return None;
        }
        if self.root == NIL || self.len == 0 {
            return Some(min);
        }
        let top = self.node_summary(self.root, self.height == 0);
        fit_low(0, top.first, min, max, size)
            .or_else(|| self.low_in(self.root, self.height, min, max, size))
            .or_else(|| fit_low(top.last, u64::MAX, min, max, size))
    }

    /// Highest address `a` with `min <= a`, `a + size <= max` and
    /// `[a, a + size)` holding no entry. `None` if there is none, or if
    /// `size == 0` or `min > max`.
    pub fn highest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        if size == 0 || min > max || max - min < size {
            return None;
        }
        if self.root == NIL || self.len == 0 {
            return Some(max - size);
        }
        let top = self.node_summary(self.root, self.height == 0);
        fit_high(top.last, u64::MAX, min, max, size)
            .or_else(|| self.high_in(self.root, self.height, min, max, size))
            .or_else(|| fit_high(0, top.first, min, max, size))
    }

    /// Lowest fit among the gaps inside node `id` (a leaf when `h == 0`).
    /// Starts at the first entry or child ending above `min`: every gap
    /// before it ends at or below `min`.
    fn low_in(&self, id: u32, h: usize, min: u64, max: u64, size: u64) -> Option<u64> {
        if h == 0 {
            let leaf = &self.leaves[id as usize];
            let n = leaf.len();
            let c = count_le(&leaf.ends[..n], min);
            for k in c.max(1)..n {
                let g0 = leaf.ends[k - 1];
                if g0 >= max {
                    break;
                }
                if let Some(a) = fit_low(g0, leaf.starts[k], min, max, size) {
                    return Some(a);
                }
            }
            return None;
        }
        let node = &self.inners[id as usize];
        let n = node.len();
        let c = count_le(&node.ends[..n - 1], min);
        for k in c..n {
            if k > 0 {
                let g0 = node.ends[k - 1];
                if g0 >= max {
                    break;
                }
                if let Some(a) = fit_low(g0, node.starts[k], min, max, size) {
                    return Some(a);
                }
            }
            if node.ends[k] <= min {
                continue;
            }
            if node.starts[k] >= max {
                break;
            }
            if node.gaps[k] >= size {
                if let Some(a) = self.low_in(node.kids[k], h - 1, min, max, size) {
                    return Some(a);
                }
            }
        }
        None
    }

    /// Highest fit among the gaps inside node `id` (a leaf when `h == 0`).
    /// Starts at the last entry or child starting below `max`: every gap
    /// after it starts at or above `max`.
    fn high_in(&self, id: u32, h: usize, min: u64, max: u64, size: u64) -> Option<u64> {
        if h == 0 {
            let leaf = &self.leaves[id as usize];
            let n = leaf.len();
            if n < 2 {
                return None;
            }
            let c = count_lt(&leaf.starts[..n], max).min(n - 1);
            for k in (1..=c).rev() {
                let g1 = leaf.starts[k];
                if g1 <= min {
                    break;
                }
                if let Some(a) = fit_high(leaf.ends[k - 1], g1, min, max, size) {
                    return Some(a);
                }
            }
            return None;
        }
        let node = &self.inners[id as usize];
        let n = node.len();
        let c = count_lt(&node.starts[..n], max).checked_sub(1)?;
        for k in (0..=c).rev() {
            if k + 1 < n {
                let g1 = node.starts[k + 1];
                if g1 <= min {
                    break;
                }
                if let Some(a) = fit_high(node.ends[k], g1, min, max, size) {
                    return Some(a);
                }
            }
            if node.ends[k] <= min {
                break;
            }
            if node.gaps[k] >= size {
                if let Some(a) = self.high_in(node.kids[k], h - 1, min, max, size) {
                    return Some(a);
                }
            }
        }
        None
    }
}
