//! Differential tests: random operation sequences on the tree and on a naive
//! model, compared after every step, with `validate()` after every mutation.

mod common;

use common::Model;
use maple::MapleTree;
use proptest::prelude::*;
use std::ops::Range;

#[derive(Debug, Clone)]
enum Op {
    Store(u64, u64, u32),
    TryStore(u64, u64, u32),
    Erase(u64, u64),
    TryErase(u64, u64),
    Load(u64),
    Find(u64, u64),
    FindRev(u64, u64),
    Next(u64),
    Prev(u64),
    Lowest(u64, u64, u64),
    Highest(u64, u64, u64),
    Cursor(u64, Vec<u8>),
    Iter(u64, u64, Vec<bool>),
    Clone,
}

/// Addresses: mostly a small window so ranges collide, some near the ends of
/// the key space.
fn addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => 0u64..400,
        2 => 0u64..4000,
        1 => (u64::MAX - 64)..=u64::MAX,
        1 => Just(0u64),
    ]
}

/// Ranges: short ones mostly, some long and some inverted or empty.
fn range() -> impl Strategy<Value = (u64, u64)> {
    prop_oneof![
        8 => (addr(), 1u64..24).prop_map(|(a, l)| (a, a.saturating_add(l))),
        2 => (addr(), 1u64..600).prop_map(|(a, l)| (a, a.saturating_add(l))),
        1 => (addr(), addr()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (range(), any::<u32>()).prop_map(|((s, e), v)| Op::Store(s, e, v)),
        2 => (range(), any::<u32>()).prop_map(|((s, e), v)| Op::TryStore(s, e, v)),
        5 => range().prop_map(|(s, e)| Op::Erase(s, e)),
        1 => range().prop_map(|(s, e)| Op::TryErase(s, e)),
        2 => addr().prop_map(Op::Load),
        2 => range().prop_map(|(s, e)| Op::Find(s, e)),
        2 => range().prop_map(|(s, e)| Op::FindRev(s, e)),
        1 => addr().prop_map(Op::Next),
        1 => addr().prop_map(Op::Prev),
        2 => (addr(), addr(), prop_oneof![1u64..40, 0u64..3, any::<u64>()]).prop_map(|(a, b, z)| Op::Lowest(a, b, z)),
        2 => (addr(), addr(), prop_oneof![1u64..40, 0u64..3, any::<u64>()]).prop_map(|(a, b, z)| Op::Highest(a, b, z)),
        2 => (addr(), prop::collection::vec(0u8..4, 0..12)).prop_map(|(a, m)| Op::Cursor(a, m)),
        1 => (range(), prop::collection::vec(any::<bool>(), 0..40)).prop_map(|((s, e), d)| Op::Iter(s, e, d)),
        1 => Just(Op::Clone),
    ]
}

fn own(x: Option<(Range<u64>, &u32)>) -> Option<(Range<u64>, u32)> {
    x.map(|(r, v)| (r, *v))
}

fn contents(t: &MapleTree<u32>) -> Vec<(Range<u64>, u32)> {
    t.iter().map(|(r, v)| (r, *v)).collect()
}

fn check_cursor(t: &MapleTree<u32>, m: &Model, a: u64, moves: &[u8]) {
    let slots = m.slots();
    let key = a.min(u64::MAX - 1);
    let mut at = slots.iter().position(|(r, _)| r.contains(&key)).unwrap();
    let mut c = t.cursor(a);
    for &mv in moves {
        assert_eq!(c.range(), slots[at].0);
        assert_eq!(c.value().copied(), slots[at].1);
        match mv {
            0 => {
                let want = slots[at + 1..]
                    .iter()
                    .position(|(_, v)| v.is_some())
                    .map(|k| at + 1 + k);
                let got = c.next_entry().map(|(r, v)| (r, *v));
                match want {
                    Some(k) => {
                        at = k;
                        assert_eq!(got, Some((slots[k].0.clone(), slots[k].1.unwrap())));
                    }
                    None => assert_eq!(got, None),
                }
            }
            1 => {
                let want = slots[..at].iter().rposition(|(_, v)| v.is_some());
                let got = c.prev_entry().map(|(r, v)| (r, *v));
                match want {
                    Some(k) => {
                        at = k;
                        assert_eq!(got, Some((slots[k].0.clone(), slots[k].1.unwrap())));
                    }
                    None => assert_eq!(got, None),
                }
            }
            2 => {
                let got = c.next_range().map(|(r, v)| (r, v.copied()));
                if at + 1 < slots.len() {
                    at += 1;
                    assert_eq!(got, Some(slots[at].clone()));
                } else {
                    assert_eq!(got, None);
                }
            }
            _ => {
                let got = c.prev_range().map(|(r, v)| (r, v.copied()));
                if at > 0 {
                    at -= 1;
                    assert_eq!(got, Some(slots[at].clone()));
                } else {
                    assert_eq!(got, None);
                }
            }
        }
    }
    assert_eq!(c.range(), slots[at].0);
    assert_eq!(c.value().copied(), slots[at].1);
}

fn run(ops: &[Op], t: &mut MapleTree<u32>, m: &mut Model) {
    for op in ops {
        match *op {
            Op::Store(s, e, v) => {
                t.store(s..e, v);
                m.store(s, e, v);
            }
            Op::TryStore(s, e, v) => {
                t.try_store(s..e, v).unwrap();
                m.store(s, e, v);
            }
            Op::Erase(s, e) => {
                t.erase(s..e);
                m.erase(s, e);
            }
            Op::TryErase(s, e) => {
                t.try_erase(s..e).unwrap();
                m.erase(s, e);
            }
            Op::Load(a) => {
                assert_eq!(own(t.load(a)), m.load(a), "load {a}");
                assert_eq!(t.get(a).copied(), m.load(a).map(|x| x.1));
            }
            Op::Find(s, e) => assert_eq!(own(t.find(s, e)), m.find(s, e), "find {s} {e}"),
            Op::FindRev(s, e) => {
                assert_eq!(own(t.find_rev(s, e)), m.find_rev(s, e), "find_rev {s} {e}")
            }
            Op::Next(a) => assert_eq!(own(t.next_entry(a)), m.next_entry(a), "next {a}"),
            Op::Prev(a) => assert_eq!(own(t.prev_entry(a)), m.prev_entry(a), "prev {a}"),
            Op::Lowest(a, b, z) => assert_eq!(
                t.lowest_gap(a, b, z),
                m.lowest_gap(a, b, z),
                "lowest {a} {b} {z}"
            ),
            Op::Highest(a, b, z) => assert_eq!(
                t.highest_gap(a, b, z),
                m.highest_gap(a, b, z),
                "highest {a} {b} {z}"
            ),
            Op::Cursor(a, ref moves) => check_cursor(t, m, a, moves),
            Op::Iter(s, e, ref dirs) => {
                let want: Vec<_> = m
                    .entries()
                    .into_iter()
                    .filter(|(r, _)| s < e && r.start < e && r.end > s)
                    .collect();
                let mut it = t.range(s, e);
                let (mut lo, mut hi) = (0, want.len());
                for &back in dirs {
                    let got = if back { it.next_back() } else { it.next() };
                    let got = own(got);
                    if lo == hi {
                        assert_eq!(got, None);
                    } else if back {
                        hi -= 1;
                        assert_eq!(got, Some(want[hi].clone()));
                    } else {
                        assert_eq!(got, Some(want[lo].clone()));
                        lo += 1;
                    }
                }
                let rest: Vec<_> = it.map(|(r, v)| (r, *v)).collect();
                assert_eq!(rest, want[lo..hi].to_vec());
            }
            Op::Clone => {
                let c = t.clone();
                c.validate().unwrap();
                assert_eq!(contents(&c), m.entries());
                *t = c;
            }
        }
        if let Err(e) = t.validate() {
            panic!("after {op:?}: {e}\n{t:?}");
        }
        assert_eq!(t.len(), m.map.len());
        assert_eq!(t.is_empty(), m.map.is_empty());
        assert_eq!(contents(t), m.entries(), "after {op:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Small trees: every operation, from empty.
    #[test]
    fn small_sequences(ops in prop::collection::vec(op(), 1..120)) {
        let mut t = MapleTree::new();
        let mut m = Model::default();
        run(&ops, &mut t, &mut m);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Larger trees (hundreds to a few thousand entries, several levels):
    /// a random build, then random operations.
    #[test]
    fn large_sequences(
        n in 200usize..3000,
        gap_every in 1u64..5,
        descending in any::<bool>(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let mut t = MapleTree::new();
        let mut m = Model::default();
        for k in 0..n as u64 {
            let k = if descending { n as u64 - 1 - k } else { k };
            // Unit ranges at 2k, with a hole after every `gap_every`-th.
            let s = k * 2;
            let e = if k % gap_every == 0 { s + 1 } else { s + 2 };
            t.store(s..e, k as u32);
            m.store(s, e, k as u32);
        }
        t.validate().unwrap();
        assert_eq!(contents(&t), m.entries());
        run(&ops, &mut t, &mut m);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any arguments at all: queries and updates never panic.
    #[test]
    fn arbitrary_arguments_never_panic(
        stores in prop::collection::vec((any::<u64>(), any::<u64>()), 0..40),
        probes in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 1..40),
    ) {
        let mut t = MapleTree::new();
        for (k, &(a, b)) in stores.iter().enumerate() {
            t.store(a..b, k as u32);
        }
        t.validate().unwrap();
        for &(a, b, c) in &probes {
            let _ = (t.load(a), t.get(b), t.find(a, b), t.find_rev(a, b));
            let _ = (t.next_entry(a), t.prev_entry(b));
            let _ = (t.lowest_gap(a, b, c), t.highest_gap(a, b, c));
            let _ = t.range(a, b).count();
            let _ = t.range(a, b).rev().count();
            let mut cur = t.cursor(a);
            for _ in 0..4 {
                let _ = (cur.next_range(), cur.prev_entry(), cur.next_entry(), cur.prev_range());
            }
            t.erase(b..c);
            t.validate().unwrap();
        }
    }
}
