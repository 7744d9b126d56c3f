//! In-order iteration over entries, from either end (kernel: `mas_for_each`).

use crate::path::Pos;
use crate::MapleTree;
use core::iter::FusedIterator;
use core::ops::Range;

/// Iterator over `(range, &value)` in address order; see
/// [`MapleTree::iter`] and [`MapleTree::range`]. Steps are amortised O(1).
pub struct Iter<'a, V> {
    tree: &'a MapleTree<V>,
    /// Next entry to yield from the front, and from the back (both inclusive).
    front: Option<Pos>,
    back: Option<Pos>,
}

impl<V> MapleTree<V> {
    /// All entries in address order.
    pub fn iter(&self) -> Iter<'_, V> {
        self.range(0, u64::MAX)
    }

    /// The entries intersecting `[start, end)`, in address order.
    pub fn range(&self, start: u64, end: u64) -> Iter<'_, V> {
        let mut it = Iter {
            tree: self,
            front: None,
            back: None,
        };
        if start >= end {
            return it;
        }
        let (Some(front), Some(back)) =
            (self.seek_end_above(start), self.seek_start_at_most(end - 1))
        else {
            return it;
        };
        match self.entry_at(&front) {
            Some((s, _, _)) if s < end => {
                it.front = Some(front);
                it.back = Some(back);
            }
            _ => {}
        }
        it
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (Range<u64>, &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let front = self.front.as_mut()?;
        let leaf = self.tree.leaf(front.path.leaf());
        let (s, e, v) = leaf.entry(front.idx)?;
        if self.back.as_ref().is_some_and(|b| b.same(front)) {
            self.front = None;
            self.back = None;
        } else if front.idx + 1 < leaf.len() {
            front.idx += 1;
        } else {
            self.tree.advance(front);
        }
        Some((s..e, v))
    }
}

impl<V> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let back = self.back.as_mut()?;
        let (s, e, v) = self.tree.entry_at(back)?;
        if self.front.as_ref().is_some_and(|f| f.same(back)) {
            self.front = None;
            self.back = None;
        } else {
            self.tree.retreat(back);
        }
        Some((s..e, v))
    }
}

impl<V> FusedIterator for Iter<'_, V> {}

impl<V> Clone for Iter<'_, V> {
    fn clone(&self) -> Self {
        Iter {
            tree: self.tree,
            front: self.front,
            back: self.back,
        }
    }
}

impl<'a, V> IntoIterator for &'a MapleTree<V> {
    type Item = (Range<u64>, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}
