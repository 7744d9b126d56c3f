//! Ported from the kernel's `tools/testing/vma/tests/merge.c` (newest
//! mainline form: 6.16 anon_vma fixture, sticky-flag permutations).

use super::fixture::{empty_vmg, set_range, set_range_anon, Ctx, CLOSE_OPS, F};
use super::Failure;
use crate::anon_vma::AnonVma;
use crate::core::vmg::{MergeOutcome, MergeState};
use crate::env::{AllocSite, EnvEvent};
use crate::flags::VmFlags;

const STICKY: VmFlags = VmFlags::MAYBE_GUARD;

pub(crate) fn simple_merge() -> Result<(), Failure> {
    let mut t = Ctx::new();
    // L*R: L=[0,1) R=[2,3), merge the new page between them.
    let left = t.alloc_and_link(0, 0x1000, 0, F)?;
    let _right = t.alloc_and_link(0x2000, 0x3000, 2, F)?;
    let mut vmg = MergeState::new(0x1000, 0x2000, F, 1);
    let vma = t.merge_new(&mut vmg)?;
    check!(vma.is_some());
    let vma = vma.unwrap();
    check_eq!(vma, left);
    check_eq!(t.vma(vma).start, 0);
    check_eq!(t.vma(vma).end, 0x3000);
    check_eq!(t.vma(vma).pgoff, 0);
    check_eq!(t.vma(vma).flags, F);
    check_eq!(t.mm.map_count(), 1);
    Ok(())
}

pub(crate) fn simple_modify() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let init = t.alloc_and_link(0, 0x3000, 0, F)?;
    let mut flags = F;
    let vma = ok!(t
        .mm
        .core()
        .modify_flags(Some(init), init, 0x1000, 0x2000, &mut flags));
    t.validate()?;
    check_eq!(vma, init);
    check_eq!(t.vma(vma).start, 0x1000);
    check_eq!(t.vma(vma).end, 0x2000);
    check_eq!(t.vma(vma).pgoff, 1);
    let pieces: alloc::vec::Vec<_> =
        t.mm.vmas()
            .map(|(_, v)| (v.start, v.end, v.pgoff))
            .collect();
    check_eq!(
        pieces,
        [(0, 0x1000, 0), (0x1000, 0x2000, 1), (0x2000, 0x3000, 2)]
    );
    Ok(())
}

pub(crate) fn simple_expand() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let vma = t.alloc_and_link(0, 0x1000, 0, F)?;
    let mut vmg = MergeState::new(0, 0x3000, VmFlags::NONE, 0);
    vmg.target = Some(vma);
    check!(t.expand(&mut vmg)?);
    check_eq!(t.vma(vma).start, 0);
    check_eq!(t.vma(vma).end, 0x3000);
    check_eq!(t.vma(vma).pgoff, 0);
    Ok(())
}

pub(crate) fn simple_shrink() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let vma = t.alloc_and_link(0, 0x3000, 0, F)?;
    ok!(t.mm.core().shrink(vma, 0, 0x1000, 0));
    t.validate()?;
    check_eq!(t.vma(vma).start, 0);
    check_eq!(t.vma(vma).end, 0x1000);
    check_eq!(t.vma(vma).pgoff, 0);
    Ok(())
}

/// `merge_new` over every combination of sticky flags on the request and
/// on A, B and C.
pub(crate) fn merge_new() -> Result<(), Failure> {
    for bits in 0..16u32 {
        let sticky = |b: u32| bits & (8 >> b) != 0;
        merge_new_case(sticky(0), sticky(1), sticky(2), sticky(3))?;
    }
    Ok(())
}

fn merge_new_case(
    is_sticky: bool,
    a_sticky: bool,
    b_sticky: bool,
    c_sticky: bool,
) -> Result<(), Failure> {
    let mut t = Ctx::new();
    let av = AnonVma::new_root();
    let flags = if is_sticky { F | STICKY } else { F };
    let mut vmg = empty_vmg();
    let has_sticky = |t: &Ctx, v| t.vma(v).flags.contains(STICKY);

    // 0123456789abc
    // AA B       CC
    let a = t.alloc_and_link(0, 0x2000, 0, flags)?;
    if a_sticky {
        t.vma_mut(a).flags |= STICKY;
    }
    let b = t.alloc_and_link(0x3000, 0x4000, 3, flags)?;
    if b_sticky {
        t.vma_mut(b).flags |= STICKY;
    }
    let c = t.alloc_and_link(0xb000, 0xc000, 0xb, flags)?;
    if c_sticky {
        t.vma_mut(c).flags |= STICKY;
    }

    // AA B   **  CC: no merge.
    let (d, merged) = t.try_merge_new(&mut vmg, 0x7000, 0x9000, 7, flags)?;
    check!(!merged);
    check_eq!(t.mm.map_count(), 4);

    // AA*B   DD  CC: merge both sides, B deleted; A takes B's anon_vma.
    t.vma_mut(a).ops = Some(CLOSE_OPS);
    t.set_anon_vma(b, &av);
    let (vma, merged) = t.try_merge_new(&mut vmg, 0x2000, 0x3000, 2, flags)?;
    check_eq!(vma, a);
    check!(merged);
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0, 0x4000, 0)
    );
    check_eq!(t.vma(vma).anon_vma, Some(av.clone()));
    check!(t.write_started(vma));
    check_eq!(t.mm.map_count(), 3);
    if is_sticky || a_sticky || b_sticky {
        check!(has_sticky(&t, vma));
    }

    // AAAA*  DD  CC: extend A.
    let (vma, merged) = t.try_merge_new(&mut vmg, 0x4000, 0x5000, 4, flags)?;
    check_eq!(vma, a);
    check!(merged);
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0, 0x5000, 0)
    );
    check_eq!(t.vma(vma).anon_vma, Some(av.clone()));
    check!(t.write_started(vma));
    check_eq!(t.mm.map_count(), 3);
    if is_sticky || a_sticky {
        check!(has_sticky(&t, vma));
    }

    // AAAAA *DD  CC: prepend to D (D's close hook does not matter: D grows).
    t.set_anon_vma(d, &av);
    t.vma_mut(d).ops = Some(CLOSE_OPS);
    let (vma, merged) = t.try_merge_new(&mut vmg, 0x6000, 0x7000, 6, flags)?;
    check_eq!(vma, d);
    check!(merged);
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0x6000, 0x9000, 6)
    );
    check_eq!(t.vma(vma).anon_vma, Some(av.clone()));
    check!(t.write_started(vma));
    check_eq!(t.mm.map_count(), 3);
    if is_sticky {
        check!(has_sticky(&t, vma));
    }

    // AAAAA*DDD  CC: merge both, D deleted (so it must lose its close hook).
    t.vma_mut(d).ops = Some(crate::file::VmOps::default());
    let (vma, merged) = t.try_merge_new(&mut vmg, 0x5000, 0x6000, 5, flags)?;
    check_eq!(vma, a);
    check!(merged);
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0, 0x9000, 0)
    );
    check_eq!(t.vma(vma).anon_vma, Some(av.clone()));
    check!(t.write_started(vma));
    check_eq!(t.mm.map_count(), 2);
    if is_sticky || a_sticky {
        check!(has_sticky(&t, vma));
    }

    // AAAAAAAAA *CC: prepend to C.
    t.set_anon_vma(c, &av);
    let (vma, merged) = t.try_merge_new(&mut vmg, 0xa000, 0xb000, 0xa, flags)?;
    check_eq!(vma, c);
    check!(merged);
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0xa000, 0xc000, 0xa)
    );
    check_eq!(t.vma(vma).anon_vma, Some(av.clone()));
    check!(t.write_started(vma));
    check_eq!(t.mm.map_count(), 2);
    if is_sticky || c_sticky {
        check!(has_sticky(&t, vma));
    }

    // AAAAAAAAA*CCC: merge both, C deleted.
    let (vma, merged) = t.try_merge_new(&mut vmg, 0x9000, 0xa000, 9, flags)?;
    check_eq!(vma, a);
    check!(merged);
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0, 0xc000, 0)
    );
    check_eq!(t.vma(vma).anon_vma, Some(av.clone()));
    check!(t.write_started(vma));
    check_eq!(t.mm.map_count(), 1);
    if is_sticky || a_sticky || c_sticky {
        check!(has_sticky(&t, vma));
    }

    let all: alloc::vec::Vec<_> =
        t.mm.vmas()
            .map(|(_, v)| (v.start, v.end, v.pgoff, v.anon_vma.clone()))
            .collect();
    check_eq!(all, [(0, 0xc000, 0, Some(av.clone()))]);
    check_eq!(t.cleanup()?, 1);
    Ok(())
}

pub(crate) fn vma_merge_special_flags() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let special = [
        VmFlags::IO,
        VmFlags::DONTEXPAND,
        VmFlags::PFNMAP,
        VmFlags::MIXEDMAP,
    ];
    let all = special.iter().fold(VmFlags::NONE, |a, &f| a | f);
    check_eq!(all, VmFlags::SPECIAL);

    // AAA*: a new range next to A never merges when either carries a special flag.
    let left = t.alloc_and_link(0, 0x3000, 0, F)?;
    let mut vmg = empty_vmg();
    set_range(&mut vmg, 0x3000, 0x4000, 3, F);
    for &s in &special {
        t.vma_mut(left).flags = F | s;
        vmg.flags = F | s;
        check_eq!(t.merge_new(&mut vmg)?, None);
        check_eq!(vmg.state, MergeOutcome::NoMerge);
    }

    // AAAB: nor does an existing range.
    let vma = t.alloc_and_link(0x3000, 0x4000, 3, F)?;
    vmg.middle = Some(vma);
    vmg.prev = Some(left);
    vmg.next = None;
    for &s in &special {
        t.vma_mut(left).flags = F | s;
        vmg.flags = F | s;
        check_eq!(t.merge_existing(&mut vmg)?, None);
        check_eq!(vmg.state, MergeOutcome::NoMerge);
    }
    t.cleanup()?;
    Ok(())
}

pub(crate) fn vma_merge_with_close() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let mut vmg = empty_vmg();

    // PPP**NNNN, N has close: reduced to expanding P; N kept.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let next = t.alloc_and_link(0x5000, 0x9000, 5, F)?;
    t.vma_mut(next).ops = Some(CLOSE_OPS);
    set_range(&mut vmg, 0x3000, 0x5000, 3, F);
    check_eq!(t.merge_new(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(prev).start, t.vma(prev).end, t.vma(prev).pgoff),
        (0, 0x5000, 0)
    );
    check_eq!(t.cleanup()?, 2);

    // PPPVV, V has close: merging V into P would delete V, so no merge.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let vma = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    t.vma_mut(vma).ops = Some(CLOSE_OPS);
    set_range(&mut vmg, 0x3000, 0x5000, 3, F);
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    check_eq!(t.merge_existing(&mut vmg)?, None);
    check_eq!(vmg.state, MergeOutcome::NoMerge);
    check_eq!(t.cleanup()?, 2);

    // VVNNNN, V has close: mirrored, no merge (and not reported as ENOMEM).
    let vma = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    let _next = t.alloc_and_link(0x5000, 0x9000, 5, F)?;
    t.vma_mut(vma).ops = Some(CLOSE_OPS);
    set_range(&mut vmg, 0x3000, 0x5000, 3, F);
    vmg.middle = Some(vma);
    check_eq!(t.merge_existing(&mut vmg)?, None);
    check_eq!(vmg.state, MergeOutcome::NoMerge);
    check_eq!(t.cleanup()?, 2);

    // PPPVVNNNN, V has close: no merge at all.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let vma = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    let _next = t.alloc_and_link(0x5000, 0x9000, 5, F)?;
    t.vma_mut(vma).ops = Some(CLOSE_OPS);
    set_range(&mut vmg, 0x3000, 0x5000, 3, F);
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    check_eq!(t.merge_existing(&mut vmg)?, None);
    check_eq!(vmg.state, MergeOutcome::NoMerge);
    check_eq!(t.cleanup()?, 3);

    // PPPVVNNNN, N has close: reduced to merging V into P.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let vma = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    let next = t.alloc_and_link(0x5000, 0x9000, 5, F)?;
    t.vma_mut(next).ops = Some(CLOSE_OPS);
    set_range(&mut vmg, 0x3000, 0x5000, 3, F);
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    check_eq!(t.merge_existing(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(prev).start, t.vma(prev).end, t.vma(prev).pgoff),
        (0, 0x5000, 0)
    );
    check_eq!(t.cleanup()?, 2);
    Ok(())
}

pub(crate) fn vma_merge_new_with_close() -> Result<(), Failure> {
    let mut t = Ctx::new();
    // AA***BB, both have close: A expands, B is kept.
    let prev = t.alloc_and_link(0, 0x2000, 0, F)?;
    let next = t.alloc_and_link(0x5000, 0x7000, 5, F)?;
    t.vma_mut(prev).ops = Some(CLOSE_OPS);
    t.vma_mut(next).ops = Some(CLOSE_OPS);
    let mut vmg = empty_vmg();
    set_range(&mut vmg, 0x2000, 0x5000, 2, F);
    let vma = t.merge_new(&mut vmg)?;
    check!(vma.is_some());
    let vma = vma.unwrap();
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0, 0x5000, 0)
    );
    check_eq!(t.vma(vma).ops, Some(CLOSE_OPS));
    check!(t.write_started(vma));
    check_eq!(t.mm.map_count(), 2);
    t.cleanup()?;
    Ok(())
}

/// `merge_existing` over every combination of sticky prev, middle and next.
pub(crate) fn merge_existing() -> Result<(), Failure> {
    for bits in 0..8u32 {
        merge_existing_case(bits & 4 != 0, bits & 2 != 0, bits & 1 != 0)?;
    }
    Ok(())
}

fn merge_existing_case(
    prev_sticky: bool,
    middle_sticky: bool,
    next_sticky: bool,
) -> Result<(), Failure> {
    let mut t = Ctx::new();
    let av = AnonVma::new_root();
    let with = |s: bool| if s { F | STICKY } else { F };
    let (flags, prev_flags, next_flags) =
        (with(middle_sticky), with(prev_sticky), with(next_sticky));
    let has_sticky = |t: &Ctx, v| t.vma(v).flags.contains(STICKY);
    let mut vmg = empty_vmg();

    // Merge right, partial:  VVVVNNN -> VNNNNNN over [3,6).
    let vma = t.alloc_and_link(0x2000, 0x6000, 2, flags)?;
    t.vma_mut(vma).ops = Some(CLOSE_OPS);
    let next = t.alloc_and_link(0x6000, 0x9000, 6, next_flags)?;
    t.vma_mut(next).ops = Some(CLOSE_OPS);
    set_range_anon(&mut vmg, 0x3000, 0x6000, 3, flags, Some(&av));
    vmg.middle = Some(vma);
    vmg.prev = Some(vma);
    t.set_anon_vma(vma, &av);
    check_eq!(t.merge_existing(&mut vmg)?, Some(next));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(next).start, t.vma(next).end, t.vma(next).pgoff),
        (0x3000, 0x9000, 3)
    );
    check_eq!(t.vma(next).anon_vma, Some(av.clone()));
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0x2000, 0x3000, 2)
    );
    check!(t.write_started(vma));
    check!(t.write_started(next));
    check_eq!(t.mm.map_count(), 2);
    if middle_sticky || next_sticky {
        check!(has_sticky(&t, next));
    }
    check_eq!(t.cleanup()?, 2);

    // Merge right, full: VVVVNNN -> NNNNNNN, V deleted.
    let vma = t.alloc_and_link(0x2000, 0x6000, 2, flags)?;
    let next = t.alloc_and_link(0x6000, 0x9000, 6, next_flags)?;
    t.vma_mut(next).ops = Some(CLOSE_OPS);
    set_range_anon(&mut vmg, 0x2000, 0x6000, 2, flags, Some(&av));
    vmg.middle = Some(vma);
    t.set_anon_vma(vma, &av);
    check_eq!(t.merge_existing(&mut vmg)?, Some(next));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(next).start, t.vma(next).end, t.vma(next).pgoff),
        (0x2000, 0x9000, 2)
    );
    check_eq!(t.vma(next).anon_vma, Some(av.clone()));
    check!(t.write_started(next));
    check_eq!(t.mm.map_count(), 1);
    if middle_sticky || next_sticky {
        check!(has_sticky(&t, next));
    }
    check_eq!(t.cleanup()?, 1);

    // Merge left, partial: PPPVVVV -> PPPPPPV over [3,6).
    let prev = t.alloc_and_link(0, 0x3000, 0, prev_flags)?;
    t.vma_mut(prev).ops = Some(CLOSE_OPS);
    let vma = t.alloc_and_link(0x3000, 0x7000, 3, flags)?;
    t.vma_mut(vma).ops = Some(CLOSE_OPS);
    set_range_anon(&mut vmg, 0x3000, 0x6000, 3, flags, Some(&av));
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    t.set_anon_vma(vma, &av);
    check_eq!(t.merge_existing(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(prev).start, t.vma(prev).end, t.vma(prev).pgoff),
        (0, 0x6000, 0)
    );
    check_eq!(t.vma(prev).anon_vma, Some(av.clone()));
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0x6000, 0x7000, 6)
    );
    check!(t.write_started(prev));
    check!(t.write_started(vma));
    check_eq!(t.mm.map_count(), 2);
    if prev_sticky || middle_sticky {
        check!(has_sticky(&t, prev));
    }
    check_eq!(t.cleanup()?, 2);

    // Merge left, full: PPPVVVV -> PPPPPPP, V deleted.
    let prev = t.alloc_and_link(0, 0x3000, 0, prev_flags)?;
    t.vma_mut(prev).ops = Some(CLOSE_OPS);
    let vma = t.alloc_and_link(0x3000, 0x7000, 3, flags)?;
    set_range_anon(&mut vmg, 0x3000, 0x7000, 3, flags, Some(&av));
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    t.set_anon_vma(vma, &av);
    check_eq!(t.merge_existing(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(prev).start, t.vma(prev).end, t.vma(prev).pgoff),
        (0, 0x7000, 0)
    );
    check_eq!(t.vma(prev).anon_vma, Some(av.clone()));
    check!(t.write_started(prev));
    check_eq!(t.mm.map_count(), 1);
    if prev_sticky || middle_sticky {
        check!(has_sticky(&t, prev));
    }
    check_eq!(t.cleanup()?, 1);

    // Merge both: PPPVVVVNNN -> PPPPPPPPPP, V and N deleted.
    let prev = t.alloc_and_link(0, 0x3000, 0, prev_flags)?;
    t.vma_mut(prev).ops = Some(CLOSE_OPS);
    let vma = t.alloc_and_link(0x3000, 0x7000, 3, flags)?;
    let _next = t.alloc_and_link(0x7000, 0x9000, 7, next_flags)?;
    set_range_anon(&mut vmg, 0x3000, 0x7000, 3, flags, Some(&av));
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    t.set_anon_vma(vma, &av);
    check_eq!(t.merge_existing(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(prev).start, t.vma(prev).end, t.vma(prev).pgoff),
        (0, 0x9000, 0)
    );
    check_eq!(t.vma(prev).anon_vma, Some(av.clone()));
    check!(t.write_started(prev));
    check_eq!(t.mm.map_count(), 1);
    if prev_sticky || middle_sticky || next_sticky {
        check!(has_sticky(&t, prev));
    }
    check_eq!(t.cleanup()?, 1);

    // Ranges strictly inside V never merge: PPPVVVVVNNN.
    let _prev = t.alloc_and_link(0, 0x3000, 0, prev_flags)?;
    let vma = t.alloc_and_link(0x3000, 0x8000, 3, flags)?;
    let _next = t.alloc_and_link(0x8000, 0xa000, 8, next_flags)?;
    for (s, e, p) in [
        (0x4000, 0x5000, 4),
        (0x5000, 0x6000, 5),
        (0x6000, 0x7000, 6),
        (0x4000, 0x7000, 4),
        (0x4000, 0x6000, 4),
        (0x5000, 0x6000, 5),
    ] {
        set_range(&mut vmg, s, e, p, flags);
        vmg.prev = Some(vma);
        vmg.middle = Some(vma);
        check_eq!(t.merge_existing(&mut vmg)?, None);
        check_eq!(vmg.state, MergeOutcome::NoMerge);
    }
    check_eq!(t.cleanup()?, 3);
    Ok(())
}

pub(crate) fn anon_vma_non_mergeable() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let (av1, av2) = (AnonVma::new_root(), AnonVma::new_root());
    let mut vmg = empty_vmg();

    // PPPVVVVNNN with P and N on different anon_vmas: only P merges.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let vma = t.alloc_and_link(0x3000, 0x7000, 3, F)?;
    let next = t.alloc_and_link(0x7000, 0x9000, 7, F)?;
    set_range_anon(&mut vmg, 0x3000, 0x7000, 3, F, None);
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    t.set_anon_vma(prev, &av1);
    t.set_anon_vma(next, &av2);
    check_eq!(t.merge_existing(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(prev).start, t.vma(prev).end, t.vma(prev).pgoff),
        (0, 0x7000, 0)
    );
    check!(t.write_started(prev));
    check!(!t.write_started(next));
    check_eq!(t.cleanup()?, 2);

    // PPP****NNN, a new range between them: the same.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let next = t.alloc_and_link(0x7000, 0x9000, 7, F)?;
    set_range_anon(&mut vmg, 0x3000, 0x7000, 3, F, None);
    t.set_anon_vma(prev, &av1);
    t.set_anon_vma(next, &av2);
    vmg.anon_vma = None;
    check_eq!(t.merge_new(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(prev).start, t.vma(prev).end, t.vma(prev).pgoff),
        (0, 0x7000, 0)
    );
    check!(t.write_started(prev));
    check!(!t.write_started(next));
    check_eq!(t.cleanup()?, 2);
    Ok(())
}

pub(crate) fn dup_anon_vma() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let av = AnonVma::new_root();
    let mut vmg = empty_vmg();

    // Expanding P over N takes N's anon_vma (P is linked to it: cloned).
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let next = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    t.set_anon_vma(next, &av);
    set_range(&mut vmg, 0, 0x5000, 0, F);
    vmg.target = Some(prev);
    vmg.next = Some(next);
    check!(t.expand(&mut vmg)?);
    check_eq!(t.vma(prev).anon_vma, Some(av.clone()));
    check_eq!(t.vma(prev).chain(), core::slice::from_ref(&av));
    t.cleanup()?;

    // PPPVVNNN, N faulted: P absorbs V and N and takes N's anon_vma.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let vma = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    let next = t.alloc_and_link(0x5000, 0x8000, 5, F)?;
    t.set_anon_vma(next, &av);
    set_range(&mut vmg, 0x3000, 0x5000, 3, F);
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    check_eq!(t.merge_existing(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!((t.vma(prev).start, t.vma(prev).end), (0, 0x8000));
    check_eq!(t.vma(prev).anon_vma, Some(av.clone()));
    check_eq!(t.vma(prev).chain(), core::slice::from_ref(&av));
    t.cleanup()?;

    // PPPVVNNN, V faulted: P absorbs both and takes V's anon_vma.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let vma = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    let _next = t.alloc_and_link(0x5000, 0x8000, 5, F)?;
    vmg.anon_vma = Some(av.clone());
    t.set_anon_vma(vma, &av);
    set_range(&mut vmg, 0x3000, 0x5000, 3, F);
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    check_eq!(t.merge_existing(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!((t.vma(prev).start, t.vma(prev).end), (0, 0x8000));
    check_eq!(t.vma(prev).anon_vma, Some(av.clone()));
    check_eq!(t.vma(prev).chain(), core::slice::from_ref(&av));
    t.cleanup()?;

    // PPPVVVVV, V faulted: P takes [3,5) and V's anon_vma; V shrinks.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let vma = t.alloc_and_link(0x3000, 0x8000, 3, F)?;
    t.set_anon_vma(vma, &av);
    set_range(&mut vmg, 0x3000, 0x5000, 3, F);
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    check_eq!(t.merge_existing(&mut vmg)?, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!((t.vma(prev).start, t.vma(prev).end), (0, 0x5000));
    check_eq!(t.vma(prev).anon_vma, Some(av.clone()));
    check_eq!(t.vma(prev).chain(), core::slice::from_ref(&av));
    t.cleanup()?;

    // VVVVVNNN, V faulted: N takes [3,5) and V's anon_vma.
    let vma = t.alloc_and_link(0, 0x5000, 0, F)?;
    let next = t.alloc_and_link(0x5000, 0x8000, 5, F)?;
    t.set_anon_vma(vma, &av);
    set_range(&mut vmg, 0x3000, 0x5000, 3, F);
    vmg.prev = Some(vma);
    vmg.middle = Some(vma);
    check_eq!(t.merge_existing(&mut vmg)?, Some(next));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!((t.vma(next).start, t.vma(next).end), (0x3000, 0x8000));
    check_eq!(t.vma(next).anon_vma, Some(av.clone()));
    check_eq!(t.vma(next).chain(), core::slice::from_ref(&av));
    t.cleanup()?;
    Ok(())
}

/// The kernel's fixture only flags "cloned" and "unlinked" and leaves the
/// pointer in place; with real `anon_vma`s the same events are a chain link
/// allocation followed by an unlink that leaves `prev` unfaulted again.
pub(crate) fn vmi_prealloc_fail() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let av = AnonVma::new_root();
    let mut vmg = empty_vmg();

    // PPPVV: V would merge into P (P takes V's anon_vma first), then prealloc fails.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let vma = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    set_range_anon(&mut vmg, 0x3000, 0x5000, 3, F, Some(&av));
    vmg.prev = Some(prev);
    vmg.middle = Some(vma);
    t.set_anon_vma(vma, &av);
    t.fail_prealloc();
    let linked = av.linked();
    t.mm.env.events.clear();
    check_eq!(t.merge_existing(&mut vmg)?, None);
    check_eq!(vmg.state, MergeOutcome::ErrorNomem);
    check!(t
        .mm
        .env
        .events
        .contains(&EnvEvent::Alloc(AllocSite::AnonVmaChain, true)));
    check_eq!(t.vma(prev).anon_vma, None);
    check_eq!(av.linked(), linked);
    check_eq!((t.vma(prev).end, t.vma(vma).start), (0x3000, 0x3000));
    t.cleanup()?;

    // The same through vma_expand.
    let prev = t.alloc_and_link(0, 0x3000, 0, F)?;
    let vma = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    t.set_anon_vma(vma, &av);
    set_range(&mut vmg, 0, 0x5000, 3, F);
    vmg.target = Some(prev);
    vmg.next = Some(vma);
    t.fail_prealloc();
    t.mm.env.events.clear();
    check!(!t.expand(&mut vmg)?);
    check_eq!(vmg.state, MergeOutcome::ErrorNomem);
    check!(t
        .mm
        .env
        .events
        .contains(&EnvEvent::Alloc(AllocSite::AnonVmaChain, true)));
    check_eq!(t.vma(prev).anon_vma, None);
    check_eq!(t.mm.map_count(), 2);
    t.cleanup()?;
    Ok(())
}

pub(crate) fn merge_extend() -> Result<(), Failure> {
    let mut t = Ctx::new();
    // V  N: extend V by two pages up to N, which merges all three.
    let vma = t.alloc_and_link(0, 0x1000, 0, F)?;
    t.alloc_and_link(0x3000, 0x4000, 3, F)?;
    check_eq!(t.mm.core().merge_extend(vma, 0x2000), Some(vma));
    t.validate()?;
    check_eq!(
        (t.vma(vma).start, t.vma(vma).end, t.vma(vma).pgoff),
        (0, 0x4000, 0)
    );
    check!(t.write_started(vma));
    check_eq!(t.mm.map_count(), 1);
    t.cleanup()?;
    Ok(())
}

pub(crate) fn expand_only_mode() -> Result<(), Failure> {
    let mut t = Ctx::new();
    // XX PP****: expand P only; the decoy X is left alone.
    let mut vmg = MergeState::new(0x5000, 0x9000, F, 5);
    t.alloc_and_link(0, 0x2000, 0, F)?;
    let prev = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    vmg.prev = Some(prev);
    vmg.just_expand = true;
    let vma = t.mm.core().merge_new_range(&mut vmg);
    t.validate()?;
    check_eq!(vma, Some(prev));
    check_eq!(vmg.state, MergeOutcome::Success);
    check_eq!(
        (t.vma(prev).start, t.vma(prev).end, t.vma(prev).pgoff),
        (0x3000, 0x9000, 3)
    );
    check!(t.write_started(prev));
    check_eq!(t.mm.map_count(), 2);
    t.cleanup()?;
    Ok(())
}
