//! Fault injection: every allocation an operation makes fails in turn, and
//! the address space must be left exactly as the kernel leaves it --
//! untouched for all-or-nothing operations, or with the splits already made
//! where the kernel keeps them.

use super::fixture::{Ctx, F};
use super::picture::{draw, render, Names, PAGE};
use super::Failure;
use crate::config::DontunmapBesideSource::Merges;
use crate::errno::Errno;
use crate::flags::VmFlags;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

const FA: VmFlags = VmFlags(F.0 | VmFlags::ACCOUNT.0);
const RO: VmFlags = VmFlags(VmFlags::READ.0 | VmFlags::MAYREAD.0 | VmFlags::MAYWRITE.0);

/// A faulted `AAAAAA` (pages 0-5), or another drawing.
fn setup(drawing: &str) -> Result<(Ctx, Names), Failure> {
    let mut t = Ctx::new();
    let names = draw(&mut t, drawing, FA)?;
    for (&id, _) in names.0.iter() {
        ok!(t.mm.core().anon_vma_prepare(id));
    }
    t.validate()?;
    Ok((t, names))
}

/// Per failing allocation: what the operation returned, and the drawing left.
type Failures = Vec<(Result<(), Errno>, String)>;

/// Runs `op` once to count its allocations, then once per allocation with
/// that one failing. Returns, per failing allocation, the errno and the
/// drawing left behind.
fn each_failure(
    drawing: &str,
    op: fn(&mut Ctx, &Names) -> Result<(), Errno>,
) -> Result<Failures, Failure> {
    let (mut t, names) = setup(drawing)?;
    let before = t.mm.env.allocs;
    ok!(op(&mut t, &names));
    t.validate()?;
    let n = t.mm.env.allocs - before;
    check!(n > 0);
    let mut out = Vec::new();
    for i in 0..n {
        let (mut t, names) = setup(drawing)?;
        t.mm.env.fail_alloc = Some(t.mm.env.allocs + i);
        let r = op(&mut t, &names);
        t.validate()?;
        out.push((r, render(&t.mm, &names)));
    }
    Ok(out)
}

/// Checks that every failure returned ENOMEM and left one of the drawings
/// in `allowed`, the first failure leaving `allowed[0]`, in order.
fn expect_failures(
    results: &[(Result<(), Errno>, String)],
    allowed: &[&str],
) -> Result<(), Failure> {
    let mut stage = 0;
    for (i, (r, drawing)) in results.iter().enumerate() {
        check_eq!(*r, Err(Errno::ENOMEM));
        while stage < allowed.len() && drawing.trim_end() != allowed[stage] {
            stage += 1;
        }
        if stage == allowed.len() {
            return Err(Failure {
                file: file!(),
                line: line!(),
                message: format!(
                    "failing allocation {i} left |{drawing}|, expected one of {allowed:?} in order"
                ),
            });
        }
        if i == 0 {
            check_eq!(stage, 0);
        }
    }
    Ok(())
}

pub(crate) fn split() -> Result<(), Failure> {
    let r = each_failure("AAAA", |t, n| {
        t.mm.core()
            .split(n.id('A'), 2 * PAGE, crate::core::split::NewPart::Below)
            .map(|_| ())
    })?;
    expect_failures(&r, &["AAAA"])
}

pub(crate) fn modify() -> Result<(), Failure> {
    // Two splits; a failure in the second keeps the first, as in the kernel.
    let r = each_failure("AAAAAA", |t, n| {
        let mut flags = RO;
        t.mm.core()
            .modify_flags(Some(n.id('A')), n.id('A'), 2 * PAGE, 4 * PAGE, &mut flags)
            .map(|_| ())
    })?;
    expect_failures(&r, &["AAAAAA", "xxAAAA"])
}

pub(crate) fn merge() -> Result<(), Failure> {
    // P unfaulted, V faulted with P's flags changing to V's: V merges into P,
    // which must take V's anon_vma first. All or nothing.
    let r = each_failure("PPVV", |t, n| {
        let (p, v) = (n.id('P'), n.id('V'));
        crate::core::anon::unlink_anon_vmas(t.mm.vma_mut(p));
        let mut flags = FA;
        t.mm.core()
            .modify_flags(Some(p), v, 2 * PAGE, 4 * PAGE, &mut flags)
            .map(|_| ())
    })?;
    expect_failures(&r, &["PPVV"])
}

pub(crate) fn munmap() -> Result<(), Failure> {
    // Start split, end split, detach, clear: splits made stay.
    let r = each_failure("AAAAAA", |t, _| t.mm.core().do_munmap(2 * PAGE, 2 * PAGE))?;
    expect_failures(&r, &["AAAAAA", "xxAAAA", "xxAAyy"])
}

pub(crate) fn mmap_region() -> Result<(), Failure> {
    // Replacing the middle: splits stay; once the old pages were cleared a
    // failure to build the new VMA leaves a hole, as the kernel does.
    let r = each_failure("AAAAAA", |t, _| {
        t.mm.core()
            .mmap_region(None, 2 * PAGE, 2 * PAGE, RO, 2)
            .map(|_| ())
    })?;
    expect_failures(&r, &["AAAAAA", "xxAAAA", "xxAAyy", "xx  yy"])
}

pub(crate) fn copy_vma() -> Result<(), Failure> {
    let r = each_failure("AA", |t, n| {
        t.mm.core()
            .copy_vma(n.id('A'), (4 * PAGE, 2 * PAGE), 4, Merges)
            .map(|_| ())
            .ok_or(Errno::ENOMEM)
    })?;
    expect_failures(&r, &["AA"])
}
