//! Deterministic large tests: 100k entries built, churned and torn down,
//! with `validate()` at intervals and the contents checked against a model.

mod common;

use common::Model;
use maple::MapleTree;

const PAGE: u64 = 4096;

fn same(t: &MapleTree<u32>, m: &Model) {
    t.validate().unwrap();
    assert_eq!(t.len(), m.map.len());
    assert!(t.iter().map(|(r, v)| (r, *v)).eq(m.entries()));
    assert!(t
        .iter()
        .rev()
        .map(|(r, v)| (r, *v))
        .eq(m.entries().into_iter().rev()));
}

#[test]
fn hundred_thousand_build_churn_teardown() {
    let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
    let mut t = MapleTree::new();
    let mut m = Model::default();
    // Build ascending, page-aligned, with random holes.
    let mut at = 0x1000;
    for k in 0..100_000u32 {
        let len = (1 + rng.u64(..8)) * PAGE;
        t.store(at..at + len, k);
        m.store(at, at + len, k);
        at += len
            + if rng.u64(..3) == 0 {
                (1 + rng.u64(..4)) * PAGE
            } else {
                0
            };
        if k % 10_000 == 0 {
            t.validate().unwrap();
        }
    }
    same(&t, &m);
    let top = at;
    // Churn: random stores and erases anywhere, some spanning many entries.
    for k in 0..20_000u32 {
        let s = rng.u64(..top / PAGE) * PAGE;
        let len = match rng.u64(..10) {
            0 => rng.u64(..2000) * PAGE,
            _ => (1 + rng.u64(..6)) * PAGE,
        };
        if rng.u64(..2) == 0 {
            t.store(s..s + len, 1_000_000 + k);
            m.store(s, s + len, 1_000_000 + k);
        } else {
            t.erase(s..s + len);
            m.erase(s, s + len);
        }
        if k % 2_000 == 0 {
            same(&t, &m);
            let (lo, hi) = (rng.u64(..top), rng.u64(..top));
            let size = (1 + rng.u64(..16)) * PAGE;
            assert_eq!(t.lowest_gap(lo, hi, size), m.lowest_gap(lo, hi, size));
            assert_eq!(t.highest_gap(lo, hi, size), m.highest_gap(lo, hi, size));
        }
    }
    same(&t, &m);
    // Tear down in random chunks.
    let mut k = 0;
    while !t.is_empty() {
        let s = rng.u64(..top / PAGE) * PAGE;
        let len = rng.u64(..500) * PAGE;
        t.erase(s..s + len);
        m.erase(s, s + len);
        k += 1;
        if k % 500 == 0 {
            same(&t, &m);
        }
        if k > 20_000 {
            t.erase(0..u64::MAX);
            m.erase(0, u64::MAX);
        }
    }
    same(&t, &m);
    assert_eq!(t.height(), 0);
}

#[test]
fn adjacent_ranges_descending_then_one_store_over_all() {
    let mut t = MapleTree::new();
    let mut m = Model::default();
    // Top-down growth with no holes at all, like mmap placing each mapping
    // right below the previous one.
    for k in 0..20_000u64 {
        let s = (1 << 40) - (k + 1) * PAGE;
        t.store(s..s + PAGE, k as u32);
        m.store(s, s + PAGE, k as u32);
    }
    same(&t, &m);
    assert_eq!(t.lowest_gap(0, u64::MAX, PAGE), Some(0));
    assert_eq!(
        t.lowest_gap((1 << 40) - 20_000 * PAGE, u64::MAX, PAGE),
        Some(1 << 40)
    );
    // One store covering everything but the first and last half pages.
    let lo = (1 << 40) - 20_000 * PAGE + PAGE / 2;
    let hi = (1 << 40) - PAGE / 2;
    t.store(lo..hi, 7);
    m.store(lo, hi, 7);
    same(&t, &m);
    assert_eq!(t.len(), 3);
}

#[test]
fn alternating_holes_filled_then_emptied() {
    let mut t = MapleTree::new();
    let mut m = Model::default();
    for k in 0..30_000u64 {
        t.store(k * 2..k * 2 + 1, k as u32);
        m.store(k * 2, k * 2 + 1, k as u32);
    }
    same(&t, &m);
    assert_eq!(t.lowest_gap(0, u64::MAX, 2), Some(59_999));
    // Fill every hole from the top down: all-adjacent.
    for k in (0..30_000u64).rev() {
        t.store(k * 2 + 1..k * 2 + 2, 0);
        m.store(k * 2 + 1, k * 2 + 2, 0);
    }
    same(&t, &m);
    assert_eq!(t.lowest_gap(0, u64::MAX, 1), Some(60_000));
    assert_eq!(t.highest_gap(0, 60_000, 1), None);
    // Erase every other entry again, bottom up.
    for k in 0..30_000u64 {
        t.erase(k * 2..k * 2 + 1);
        m.erase(k * 2, k * 2 + 1);
    }
    same(&t, &m);
    // Then everything in one go.
    t.erase(0..u64::MAX);
    m.erase(0, u64::MAX);
    same(&t, &m);
    assert!(t.is_empty());
}

#[test]
fn split_one_entry_many_times() {
    let mut t = MapleTree::new();
    let mut m = Model::default();
    t.store(0..u64::MAX, 1);
    m.store(0, u64::MAX, 1);
    let mut rng = fastrand::Rng::with_seed(42);
    for _ in 0..5_000 {
        let s = rng.u64(..);
        let e = s.saturating_add(rng.u64(..1 << 50));
        t.erase(s..e);
        m.erase(s, e);
    }
    same(&t, &m);
}

#[test]
fn clone_and_memory() {
    // Values with a niche, as the VMA layer's ids have: a leaf's value slot
    // (an `Option<V>`) then costs exactly the value.
    use core::num::NonZeroU64;
    let mut t = MapleTree::new();
    for k in 0..50_000u64 {
        let v = NonZeroU64::new(k + 1).unwrap();
        t.store(k * 3 * PAGE..(k * 3 + 2) * PAGE, v);
    }
    let c = t.clone();
    c.validate().unwrap();
    assert!(c.iter().eq(t.iter()));
    let per = (t.memory_bytes() - t.len() * 8) / t.len();
    assert!(per <= 32, "overhead {per} bytes per entry");
    t.clear();
    assert!(t.is_empty());
    t.validate().unwrap();
}

#[test]
fn deep_tree_erased_in_random_chunks_validating_every_step() {
    // Enough entries for three inner levels, then erases of random ranges
    // (up to a few thousand entries wide) that empty whole subtrees and
    // force merges and redistributions at every level.
    let mut rng = fastrand::Rng::with_seed(7);
    let mut t = MapleTree::new();
    let mut m = Model::default();
    let n = 40_000u64;
    for k in 0..n {
        t.store(k * 4..k * 4 + 3, k as u32);
        m.store(k * 4, k * 4 + 3, k as u32);
    }
    assert!(t.height() >= 2, "height {}", t.height());
    let mut steps = 0;
    while !t.is_empty() && steps < 3_000 {
        let s = rng.u64(..n * 4);
        let wide = rng.u64(..4) == 0;
        let len = 1 + rng.u64(..if wide { 16_000 } else { 400 });
        t.erase(s..s + len);
        m.erase(s, s + len);
        if let Err(e) = t.validate() {
            panic!("after erase {s}..{}: {e}", s + len);
        }
        assert_eq!(t.len(), m.map.len());
        steps += 1;
    }
    same(&t, &m);
}

#[test]
fn preallocated_store_or_erase_does_not_grow_memory() {
    let mut rng = fastrand::Rng::with_seed(99);
    let mut t = MapleTree::new();
    for k in 0..20_000u64 {
        t.store(k * 3..k * 3 + 2, k);
    }
    for k in 0..5_000u64 {
        t.preallocate().unwrap();
        let before = t.memory_bytes();
        let s = rng.u64(..70_000);
        let span = if k % 10 == 0 { 3_000 } else { 4 };
        let e = s + 1 + rng.u64(..span);
        if k % 2 == 0 {
            t.store(s..e, k);
        } else {
            t.erase(s..e);
        }
        assert_eq!(t.memory_bytes(), before, "op {k} allocated");
    }
    t.validate().unwrap();
}
