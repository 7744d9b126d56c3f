//! Marks (positions the caller keeps across changes, as a VMA operation
//! keeps its `ma_state`) change no answer: a mark is stepped, re-aimed and
//! stored through while other stores and erases change the tree around
//! it, split leaves and merge them, and every answer is compared with the
//! naive model. In debug builds every settled mark is also checked
//! against a fresh descent.

mod common;

use common::seeded;
use maple::MapleTree;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// Re-aim the mark this many keys away (wrapping inside the key range).
    Seek(i64),
    Find(u64),
    Next,
    Prev,
    /// Store through the mark, at its key.
    MarkStore(u64, u32),
    /// Store or erase elsewhere, this far from the mark's key.
    Store(i64, u64, u32),
    Erase(i64, u64),
}

const SPAN: u64 = 20_000;

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (-40i64..40).prop_map(Step::Seek),
        1 => (-5000i64..5000).prop_map(Step::Seek),
        3 => (1u64..30).prop_map(Step::Find),
        4 => Just(Step::Next),
        2 => Just(Step::Prev),
        3 => (1u64..12, any::<u32>()).prop_map(|(l, v)| Step::MarkStore(l, v)),
        2 => (-60i64..60, 1u64..12, any::<u32>()).prop_map(|(d, l, v)| Step::Store(d, l, v)),
        2 => (-60i64..60, 1u64..40).prop_map(|(d, l)| Step::Erase(d, l)),
    ]
}

fn own(x: Option<(std::ops::Range<u64>, &u32)>) -> Option<(std::ops::Range<u64>, u32)> {
    x.map(|(r, v)| (r, *v))
}

fn near(key: u64, d: i64) -> u64 {
    (key as i64 + d).rem_euclid(SPAN as i64) as u64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn marks_change_no_answer(steps in prop::collection::vec(step(), 1..300), start in 0u64..SPAN) {
        let (mut t, mut m) = seeded(SPAN / 4);
        prop_assert!(t.height() >= 2);
        let mut mk = t.mark(start);
        for st in &steps {
            let key = mk.key();
            match st {
                Step::Seek(d) => t.mark_seek(&mut mk, near(key, *d)),
                Step::Find(l) => {
                    prop_assert_eq!(own(t.mark_find(&mut mk, key + l)), m.find(key, key + l));
                }
                Step::Next => {
                    let cur = m.find(key, u64::MAX);
                    let want = cur.and_then(|(r, _)| m.next_entry(r.end));
                    prop_assert_eq!(own(t.mark_next(&mut mk)), want.clone());
                    if let Some((r, _)) = want {
                        prop_assert_eq!(own(t.mark_find(&mut mk, u64::MAX)).map(|x| x.0), Some(r));
                    }
                }
                Step::Prev => prop_assert_eq!(own(t.mark_prev(&mut mk)), m.prev_entry(key)),
                Step::MarkStore(l, v) => {
                    t.mark_store(&mut mk, key..key + l, *v);
                    m.store(key, key + l, *v);
                    prop_assert_eq!(own(t.mark_find(&mut mk, u64::MAX)), Some((key..key + l, *v)));
                }
                Step::Store(d, l, v) => {
                    let s = near(key, *d);
                    t.store(s..s + l, *v);
                    m.store(s, s + l, *v);
                }
                Step::Erase(d, l) => {
                    let s = near(key, *d);
                    t.erase(s..s + l);
                    m.erase(s, s + l);
                }
            }
            prop_assert!(t.validate().is_ok());
        }
        prop_assert_eq!(t.iter().map(|(r, v)| (r, *v)).collect::<Vec<_>>(), m.entries());
    }
}

/// A mark on an empty tree answers nothing and stores the first entry.
#[test]
fn marks_on_an_empty_tree() {
    let mut t = MapleTree::new();
    let mut mk = t.mark(10);
    assert_eq!(t.mark_find(&mut mk, u64::MAX), None);
    assert_eq!(t.mark_next(&mut mk), None);
    assert_eq!(t.mark_prev(&mut mk), None);
    t.mark_store(&mut mk, 10..20, 7u32);
    assert_eq!(own(t.mark_find(&mut mk, u64::MAX)), Some((10..20, 7)));
    t.clear();
    assert_eq!(t.mark_find(&mut mk, u64::MAX), None);
}
