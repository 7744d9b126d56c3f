//! The finger (the remembered position of the last descent) changes no
//! answer: VMA-like operation sequences -- look up an address, its
//! neighbours, then store or erase next to it -- that keep returning to
//! the same few leaves of a tree several levels deep, compared with the
//! naive model after every step. In debug builds every use of the finger
//! is also checked against a full descent from the root.

mod common;

use common::seeded;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// Move the focus by this many pages (wrapping inside the key range).
    Move(i64),
    Load,
    Find(u64),
    Prev,
    Next,
    Store(u64, u32),
    Erase(u64),
    /// Split the entry at the focus the way a VMA split does: store the
    /// same value over its upper part.
    Split(u64),
    Cursor(Vec<u8>),
}

const SPAN: u64 = 20_000;

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (-40i64..40).prop_map(Step::Move),
        1 => (-5000i64..5000).prop_map(Step::Move),
        3 => Just(Step::Load),
        3 => (1u64..30).prop_map(Step::Find),
        2 => Just(Step::Prev),
        2 => Just(Step::Next),
        4 => (1u64..12, any::<u32>()).prop_map(|(l, v)| Step::Store(l, v)),
        2 => (1u64..12).prop_map(Step::Erase),
        2 => (1u64..6).prop_map(Step::Split),
        1 => prop::collection::vec(0u8..2, 0..20).prop_map(Step::Cursor),
    ]
}

fn own(x: Option<(std::ops::Range<u64>, &u32)>) -> Option<(std::ops::Range<u64>, u32)> {
    x.map(|(r, v)| (r, *v))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn finger_changes_no_answer(steps in prop::collection::vec(step(), 1..300), start in 0u64..SPAN) {
        let (mut t, mut m) = seeded(SPAN / 4);
        prop_assert!(t.height() >= 2);
        let mut at = start;
        for st in &steps {
            match st {
                Step::Move(d) => at = (at as i64 + d).rem_euclid(SPAN as i64) as u64,
                Step::Load => prop_assert_eq!(own(t.load(at)), m.load(at)),
                Step::Find(l) => prop_assert_eq!(own(t.find(at, at + l)), m.find(at, at + l)),
                Step::Prev => prop_assert_eq!(own(t.prev_entry(at)), m.prev_entry(at)),
                Step::Next => prop_assert_eq!(own(t.next_entry(at)), m.next_entry(at)),
                Step::Store(l, v) => {
                    t.store(at..at + l, *v);
                    m.store(at, at + l, *v);
                }
                Step::Erase(l) => {
                    t.erase(at..at + l);
                    m.erase(at, at + l);
                }
                Step::Split(d) => {
                    if let Some((r, v)) = own(t.load(at)) {
                        let cut = r.start + d;
                        if cut < r.end {
                            t.store(cut..r.end, v ^ 1);
                            m.store(cut, r.end, v ^ 1);
                        }
                    }
                }
                Step::Cursor(moves) => {
                    let mut c = t.cursor(at);
                    for mv in moves {
                        let got = if *mv == 0 { c.next_entry() } else { c.prev_entry() };
                        if let Some((r, v)) = got {
                            prop_assert_eq!(m.load(r.start), Some((r.clone(), *v)));
                        }
                    }
                }
            }
            if matches!(st, Step::Store(..) | Step::Erase(_) | Step::Split(_)) {
                prop_assert!(t.validate().is_ok());
            }
        }
        prop_assert_eq!(t.iter().map(|(r, v)| (r, *v)).collect::<Vec<_>>(), m.entries());
    }
}

/// A clone's finger refers to the clone's own nodes.
#[test]
fn clones_keep_answering() {
    let (t, m) = seeded(5000);
    assert_eq!(own(t.load(4001)), m.load(4001));
    let mut c = t.clone();
    drop(t);
    assert_eq!(own(c.load(4002)), m.load(4002));
    c.erase(4000..4004);
    assert_eq!(c.load(4001), None);
    c.clear();
    assert_eq!(c.load(4001), None);
}
