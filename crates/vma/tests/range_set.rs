//! `RangeSet` against the plainest model of a set: one flag per value of a
//! small universe. Random inserts and removes of short and long ranges --
//! inside, across and around existing ranges -- must leave the same members,
//! kept as sorted, disjoint, non-adjacent ranges, and the queries must
//! agree with the flags.

mod common;
use common::Rng;
use vma::sys::RangeSet;

const UNIVERSE: u64 = 160;

/// The members of `set` as flags, checking its ranges' shape on the way.
fn flags(set: &RangeSet) -> Vec<bool> {
    let mut out = vec![false; UNIVERSE as usize];
    let mut last_end = None;
    for (s, e) in set.iter() {
        assert!(s < e && e <= UNIVERSE, "bad range {s}..{e}");
        if let Some(le) = last_end {
            assert!(
                s > le,
                "ranges not sorted, disjoint and apart: {le} then {s}"
            );
        }
        for x in s..e {
            out[x as usize] = true;
        }
        last_end = Some(e);
    }
    out
}

#[test]
fn random_inserts_and_removes_match_flags() {
    let mut rng = Rng::seeded(11);
    for _ in 0..300 {
        let mut set = RangeSet::default();
        let mut want = vec![false; UNIVERSE as usize];
        for _ in 0..80 {
            let start = rng.below(UNIVERSE);
            let len = if rng.below(4) == 0 {
                rng.below(60)
            } else {
                rng.below(6)
            };
            let end = (start + len).min(UNIVERSE);
            let add = rng.below(2) == 0;
            if add {
                set.insert(start, end);
            } else {
                set.remove(start, end);
            }
            for x in start..end {
                want[x as usize] = add;
            }
            assert_eq!(flags(&set), want, "after {add} {start}..{end}");
            let (a, b) = (rng.below(UNIVERSE + 1), rng.below(UNIVERSE + 1));
            let (a, b) = (a.min(b), a.max(b));
            let first = (a..b).find(|&x| want[x as usize]);
            assert_eq!(set.first_in(a, b), first);
            assert_eq!(set.intersects(a, b), first.is_some());
            assert_eq!(set.first_gap(a, b), (a..b).find(|&x| !want[x as usize]));
            assert_eq!(set.contains(a), a < UNIVERSE && want[a as usize]);
        }
    }
}
