//! Picture tests: a layout drawn as a string, an operation of the core,
//! the expected drawing (see [`super::picture`]).

use super::fixture::{Ctx, F};
use super::picture::{draw, expect, PAGE};
use super::Failure;
use crate::core::anon::anon_vma_fork;
use crate::core::split::NewPart;
use crate::errno::Errno;
use crate::file::{File, FileKind};
use crate::flags::VmFlags;

/// Private writable anonymous memory as mmap makes it (charged: `VM_ACCOUNT`).
const FA: VmFlags = VmFlags(F.0 | VmFlags::ACCOUNT.0);

fn mmap(t: &mut Ctx, page: u64, pages: u64, flags: VmFlags) -> Result<(), Failure> {
    ok!(t
        .mm
        .core()
        .mmap_region(None, page * PAGE, pages * PAGE, flags, page));
    t.validate()
}

/// `mprotect`-like change of the flags of `[from, to)` pages inside the VMA
/// at `from`: the core's modify, then the caller applies the flags.
fn change_flags(t: &mut Ctx, from: u64, to: u64, flags: VmFlags) -> Result<(), Failure> {
    let vma = t.mm.vma_at(from * PAGE).expect("a VMA there");
    let prev = t.mm.vma_prev_of(from * PAGE);
    let prev = if t.vma(vma).start < from * PAGE {
        Some(vma)
    } else {
        prev
    };
    let mut new_flags = flags;
    let got = ok!(t
        .mm
        .core()
        .modify_flags(prev, vma, from * PAGE, to * PAGE, &mut new_flags));
    t.vma_mut(got).flags = new_flags;
    t.validate()
}

pub(crate) fn mmap_merges() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let names = draw(&mut t, "AA   BB", FA)?;
    mmap(&mut t, 2, 1, FA)?;
    expect(&t, &names, "AAA  BB")?;
    mmap(&mut t, 4, 1, FA)?;
    expect(&t, &names, "AAA BBB")?;
    mmap(&mut t, 3, 1, FA)?;
    expect(&t, &names, "AAAAAAA")?;
    // Different flags never merge; mapping over a range replaces it.
    mmap(&mut t, 8, 1, F | VmFlags::NORESERVE)?;
    expect(&t, &names, "AAAAAAA x")?;
    // Mapping over the middle of A splits it; both remaining ends are new
    // VMAs, as is the mapping: A itself is gone.
    mmap(&mut t, 1, 2, VmFlags::READ | VmFlags::MAYREAD)?;
    expect(&t, &names, "xyyzzzz u")?;
    check_eq!(t.mm.map_count(), 4);
    Ok(())
}

pub(crate) fn mprotect_split_and_remerge() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let names = draw(&mut t, "AAAAAA", FA)?;
    change_flags(
        &mut t,
        2,
        4,
        VmFlags::READ | VmFlags::MAYREAD | VmFlags::MAYWRITE,
    )?;
    expect(&t, &names, "xxAAyy")?;
    check_eq!(t.vma(names.id('A')).pgoff, 2);
    change_flags(&mut t, 2, 4, FA)?;
    expect(&t, &names, "xxxxxx")?;
    check_eq!(t.mm.map_count(), 1);
    Ok(())
}

pub(crate) fn munmap_spanning_holes() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let names = draw(&mut t, "AA BB CC", FA)?;
    // The pieces left at both ends are new VMAs: the kernel splits the
    // start with the new VMA below and the end with the new VMA above.
    ok!(t.mm.core().do_munmap(PAGE, 6 * PAGE));
    expect(&t, &names, "x      y")?;
    check_eq!(t.vma(t.mm.vma_at(7 * PAGE).expect("y")).pgoff, 7);
    // Nothing mapped: success. Unaligned start, zero length: EINVAL.
    check_eq!(t.mm.core().do_munmap(3 * PAGE, PAGE), Ok(()));
    check_eq!(t.mm.core().do_munmap(PAGE + 1, PAGE), Err(Errno::EINVAL));
    check_eq!(t.mm.core().do_munmap(PAGE, 0), Err(Errno::EINVAL));
    check_eq!(t.mm.core().do_munmap(PAGE, u64::MAX), Err(Errno::EINVAL));
    expect(&t, &names, "x      y")
}

pub(crate) fn faulted_neighbours() -> Result<(), Failure> {
    let mut t = Ctx::new();
    // An unfaulted range joins a faulted neighbour (6.16 rule) and shares its anon_vma.
    let names = draw(&mut t, "AA", FA)?;
    ok!(t.mm.core().anon_vma_prepare(names.id('A')));
    mmap(&mut t, 2, 1, FA)?;
    expect(&t, &names, "AAA")?;
    t.cleanup()?;

    // Two faulted neighbours with different anon_vmas: only the left one merges.
    let names = draw(&mut t, "AA BB", FA)?;
    ok!(t.mm.core().anon_vma_prepare(names.id('A')));
    ok!(t.mm.core().anon_vma_prepare(names.id('B')));
    check!(t.vma(names.id('A')).anon_vma != t.vma(names.id('B')).anon_vma);
    mmap(&mut t, 2, 1, FA)?;
    expect(&t, &names, "AAABB")?;
    t.cleanup()?;

    // A fault reuses an adjacent compatible anon_vma (find_mergeable_anon_vma),
    // so that a later mprotect can merge the two.
    let names = draw(&mut t, "AA", FA)?;
    let ro = VmFlags::READ | VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::ACCOUNT;
    let b = t.alloc_and_link(2 * PAGE, 4 * PAGE, 2, ro)?;
    let mut names = names;
    names.0.insert(b, 'B');
    ok!(t.mm.core().anon_vma_prepare(names.id('A')));
    ok!(t.mm.core().anon_vma_prepare(b));
    check_eq!(t.vma(b).anon_vma, t.vma(names.id('A')).anon_vma);
    change_flags(&mut t, 2, 4, FA)?;
    expect(&t, &names, "AAAA")
}

pub(crate) fn fork_child_blocks_merge() -> Result<(), Failure> {
    let mut parent = Ctx::new();
    let mut child = Ctx::new();
    parent.mm.set.share_anon();
    child.mm.set.share_anon();
    let pnames = draw(&mut parent, "PP", FA)?;
    let p = pnames.id('P');
    ok!(parent.mm.core().anon_vma_prepare(p));
    let cnames = draw(&mut child, "CC", FA)?;
    let c = cnames.id('C');
    {
        let pvma = parent.mm.vma(p);
        let crate::mm::Mm { set, env, .. } = &mut child.mm;
        ok!(anon_vma_fork(env, set.vma_mut(c), pvma));
    }
    check_eq!(child.vma(c).chain_len(), 2);
    check!(child.vma(c).is_fork_child());
    // The child's faulted VMA may not absorb an unfaulted neighbour...
    mmap(&mut child, 2, 1, FA)?;
    expect(&child, &cnames, "CCx")?;
    // ...while the parent's, a single-chain VMA, may.
    mmap(&mut parent, 2, 1, FA)?;
    expect(&parent, &pnames, "PPP")
}

pub(crate) fn file_offsets() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let file = File::new("/data", 16, FileKind::Regular, true, false);
    let ro = VmFlags::READ | VmFlags::MAYREAD | VmFlags::MAYWRITE | VmFlags::MAYEXEC;
    let names = Default::default();
    ok!(t
        .mm
        .core()
        .mmap_region(Some(file.clone()), 0, 2 * PAGE, ro, 0));
    ok!(t
        .mm
        .core()
        .mmap_region(Some(file.clone()), 2 * PAGE, 2 * PAGE, ro, 2));
    expect(&t, &names, "xxxx")?;
    ok!(t
        .mm
        .core()
        .mmap_region(Some(file.clone()), 4 * PAGE, 2 * PAGE, ro, 7));
    expect(&t, &names, "xxxxyy")?;
    let other = File::new("/data", 16, FileKind::Regular, true, false);
    ok!(t.mm.core().mmap_region(Some(other), 6 * PAGE, PAGE, ro, 9));
    expect(&t, &names, "xxxxyyz")
}

pub(crate) fn relocate_down() -> Result<(), Failure> {
    let mut t = Ctx::new();
    let names = draw(&mut t, "      SS", FA | VmFlags::GROWSDOWN)?;
    ok!(t.mm.core().relocate_down(names.id('S'), 4 * PAGE));
    expect(&t, &names, "  SS")?;
    check_eq!(t.vma(names.id('S')).pgoff, 6);
    t.cleanup()?;
    let names = draw(&mut t, "A     SS", FA)?;
    check_eq!(
        t.mm.core().relocate_down(names.id('S'), 6 * PAGE),
        Err(Errno::EFAULT)
    );
    expect(&t, &names, "A     SS")
}

pub(crate) fn max_map_count() -> Result<(), Failure> {
    let mut t = Ctx::new();
    t.mm.config.max_map_count = 2;
    let names = draw(&mut t, "AAAA BBBB", FA)?;
    let a = names.id('A');
    // At the limit a split fails...
    check_eq!(
        t.mm.core().split(a, PAGE, NewPart::Below).map(|_| ()),
        Err(Errno::ENOMEM)
    );
    // ...and so does an munmap that would leave one more VMA...
    check_eq!(t.mm.core().do_munmap(PAGE, PAGE), Err(Errno::ENOMEM));
    expect(&t, &names, "AAAA BBBB")?;
    // ...but trimming an end is allowed (the count goes over only briefly).
    ok!(t.mm.core().do_munmap(3 * PAGE, 3 * PAGE));
    expect(&t, &names, "xxx   yyy")?;
    Ok(())
}

/// Anon names, memory policies and userfaultfd contexts are merge
/// identity: a range that differs is split out, and merges back once its
/// neighbours match it.
pub(crate) fn attributes_are_identity() -> Result<(), Failure> {
    use crate::policy::{MemPolicy, PolicyMode};
    use crate::vma::UffdCtx;
    let name: crate::vma::AnonName = alloc::sync::Arc::new("heap".into());
    let policy = MemPolicy {
        mode: PolicyMode::Bind,
        flags: 0,
        nodes: 1,
        user_nodes: 0,
        home_node: None,
    };

    let mut t = Ctx::new();
    let names = draw(&mut t, "AAAA", FA)?;
    let a = names.id('A');
    let got = ok!(t
        .mm
        .core()
        .modify_name(Some(a), a, 0, 2 * PAGE, Some(name.clone())));
    check_eq!(got, a);
    t.vma_mut(got).anon_name = Some(name.clone());
    expect(&t, &names, "AAxx")?;
    let x = t.mm.vma_at(2 * PAGE).expect("x");
    check_eq!(
        ok!(t
            .mm
            .core()
            .modify_name(Some(a), x, 2 * PAGE, 4 * PAGE, Some(name.clone()))),
        a
    );
    expect(&t, &names, "AAAA")?;
    t.cleanup()?;

    let names = draw(&mut t, "AAAA", FA)?;
    let a = names.id('A');
    let got = ok!(t
        .mm
        .core()
        .modify_policy(Some(a), a, 2 * PAGE, 4 * PAGE, Some(policy.clone())));
    t.vma_mut(got).policy = Some(alloc::boxed::Box::new(policy.clone()));
    expect(&t, &names, "xxAA")?;
    let x = t.mm.vma_at(0).expect("x");
    check_eq!(
        ok!(t
            .mm
            .core()
            .modify_policy(None, x, 0, 2 * PAGE, Some(policy.clone()))),
        a
    );
    expect(&t, &names, "AAAA")?;
    t.cleanup()?;

    let names = draw(&mut t, "AAAA", FA)?;
    let a = names.id('A');
    let uffd = FA | VmFlags::UFFD_MISSING;
    let got = ok!(t.mm.core().modify_flags_uffd(
        Some(a),
        a,
        PAGE,
        2 * PAGE,
        uffd,
        Some(UffdCtx(7)),
        false
    ));
    t.vma_mut(got).flags = uffd;
    t.vma_mut(got).uffd_ctx = Some(UffdCtx(7));
    expect(&t, &names, "xAyy")?;
    let x = t.mm.vma_at(0).expect("x");
    check_eq!(
        ok!(t
            .mm
            .core()
            .modify_flags_uffd(Some(x), a, PAGE, 2 * PAGE, FA, None, false)),
        x
    );
    expect(&t, &names, "xxxx")
}
