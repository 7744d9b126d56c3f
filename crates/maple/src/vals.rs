//! `Vals<V>`: a leaf's values, held in the leaf itself in a fixed array of
//! `LEAF_CAP` slots. A lookup reads the value from the leaf's own memory
//! (no pointer to a separate buffer to follow, so one dependent cache miss
//! fewer in a large tree), and stores move values within the array
//! instead of through `Vec`'s general-purpose insert and drain.
//!
//! Invariant: slots `0..len` hold `Some`, slots `len..` hold `None`.

use crate::node::LEAF_CAP;

/// Up to `LEAF_CAP` values in order; see the module comment.
pub(crate) struct Vals<V> {
    slots: [Option<V>; LEAF_CAP],
    len: u8,
}

impl<V> Vals<V> {
    /// No values.
    pub(crate) fn new() -> Self {
        Vals {
            slots: core::array::from_fn(|_| None),
            len: 0,
        }
    }

    /// Number of values.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there is no value.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Value `i`, if `i < len`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&V> {
        if i < self.len() {
            self.slots[i].as_ref()
        } else {
            None
        }
    }

    /// Overwrites value `i` (`i < len`); out of range does nothing.
    #[inline]
    pub(crate) fn set(&mut self, i: usize, v: V) {
        debug_assert!(i < self.len(), "set within the values");
        if i < self.len() {
            self.slots[i] = Some(v);
        }
    }

    /// Drops every value.
    pub(crate) fn clear(&mut self) {
        for s in &mut self.slots[..self.len as usize] {
            *s = None;
        }
        self.len = 0;
    }

    /// Inserts `v` before value `i` (`i <= len < LEAF_CAP`).
    #[inline]
    pub(crate) fn insert(&mut self, i: usize, v: V) {
        let n = self.len();
        debug_assert!(
            i <= n && n < LEAF_CAP,
            "insert with room, within the values"
        );
        if i > n || n >= LEAF_CAP {
            return;
        }
        // Slot `n` is empty: walk it down to `i`.
        for k in (i..n).rev() {
            self.slots.swap(k, k + 1);
        }
        self.slots[i] = Some(v);
        self.len += 1;
    }

    /// Drops values `lo..hi` (`lo <= hi <= len`), closing the hole.
    #[inline]
    pub(crate) fn remove_range(&mut self, lo: usize, hi: usize) {
        let n = self.len();
        debug_assert!(lo <= hi && hi <= n, "a range of the values");
        if lo >= hi || hi > n {
            return;
        }
        let k = hi - lo;
        for s in &mut self.slots[lo..hi] {
            *s = None;
        }
        for d in lo..n - k {
            self.slots.swap(d, d + k);
        }
        self.len = (n - k) as u8;
    }

    /// Appends values `from..` of `self` to `dst` (which must have room),
    /// removing them here.
    pub(crate) fn move_tail_to(&mut self, from: usize, dst: &mut Vals<V>) {
        let n = self.len();
        let d = dst.len();
        debug_assert!(from <= n && d + (n - from) <= LEAF_CAP, "room for the tail");
        if from > n || d + (n - from) > LEAF_CAP {
            return;
        }
        for k in from..n {
            dst.slots[d + k - from] = self.slots[k].take();
        }
        dst.len = (d + n - from) as u8;
        self.len = from as u8;
    }

    /// Appends the first `k` values of `src` to `self` (which must have
    /// room), removing them from `src`.
    pub(crate) fn take_head_from(&mut self, src: &mut Vals<V>, k: usize) {
        let d = self.len();
        debug_assert!(k <= src.len() && d + k <= LEAF_CAP, "room for the head");
        if k > src.len() || d + k > LEAF_CAP {
            return;
        }
        for q in 0..k {
            self.slots[d + q] = src.slots[q].take();
        }
        self.len = (d + k) as u8;
        src.remove_range(0, k);
    }

    /// Puts values `from..` of `self` in front of the values of `dst`
    /// (which must have room), removing them here.
    pub(crate) fn move_tail_before(&mut self, from: usize, dst: &mut Vals<V>) {
        let n = self.len();
        let d = dst.len();
        let k = n.saturating_sub(from);
        debug_assert!(from <= n && d + k <= LEAF_CAP, "room for the tail");
        if from > n || d + k > LEAF_CAP {
            return;
        }
        // Shift dst's values up by k (its slots d..d+k are empty).
        for q in (0..d).rev() {
            dst.slots.swap(q, q + k);
        }
        for q in 0..k {
            dst.slots[q] = self.slots[from + q].take();
        }
        dst.len = (d + k) as u8;
        self.len = from as u8;
    }
}

impl<V> core::ops::Index<usize> for Vals<V> {
    type Output = V;
    /// Value `i`; `i < len` is the caller's invariant, as for a slice.
    #[inline]
    fn index(&self, i: usize) -> &V {
        match self.get(i) {
            Some(v) => v,
            None => panic!("maple: value index {i} out of range"),
        }
    }
}

impl<V: Clone> Clone for Vals<V> {
    fn clone(&self) -> Self {
        Vals {
            slots: self.slots.clone(),
            len: self.len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn contents(v: &Vals<u32>) -> Vec<u32> {
        (0..v.len()).map(|i| v[i]).collect()
    }

    fn of(xs: &[u32]) -> Vals<u32> {
        let mut v = Vals::new();
        for (i, &x) in xs.iter().enumerate() {
            v.insert(i, x);
        }
        v
    }

    fn tidy(v: &Vals<u32>) -> bool {
        v.slots[..v.len()].iter().all(Option::is_some)
            && v.slots[v.len()..].iter().all(Option::is_none)
    }

    #[test]
    fn moves_keep_order_and_leave_empty_slots_empty() {
        let mut a = of(&[1, 2, 3, 4, 5]);
        a.insert(0, 0);
        a.insert(6, 6);
        a.insert(3, 9);
        assert_eq!(contents(&a), [0, 1, 2, 9, 3, 4, 5, 6]);
        a.remove_range(2, 4);
        assert_eq!(contents(&a), [0, 1, 3, 4, 5, 6]);
        a.remove_range(3, 3);
        let mut b = of(&[7, 8]);
        a.move_tail_to(4, &mut b);
        assert_eq!(
            (contents(&a), contents(&b)),
            (alloc::vec![0, 1, 3, 4], alloc::vec![7, 8, 5, 6])
        );
        a.take_head_from(&mut b, 3);
        assert_eq!(
            (contents(&a), contents(&b)),
            (alloc::vec![0, 1, 3, 4, 7, 8, 5], alloc::vec![6])
        );
        a.move_tail_before(5, &mut b);
        assert_eq!(
            (contents(&a), contents(&b)),
            (alloc::vec![0, 1, 3, 4, 7], alloc::vec![8, 5, 6])
        );
        a.set(0, 10);
        assert_eq!(a.get(0), Some(&10));
        assert_eq!(a.get(5), None);
        assert!(tidy(&a) && tidy(&b));
        a.clear();
        assert!(a.is_empty() && tidy(&a));
    }
}
