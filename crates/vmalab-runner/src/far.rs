// SPDX-License-Identifier: GPL-2.0-or-later
//! The far region on the kernel's side (see `window::Window`): where the
//! kernel places mappings whose address it chooses, made the same for
//! every run.
//!
//! The kernel's top-down allocator takes the highest free gap below
//! `mmap_base` that fits. The runner fills every gap above the open area
//! (the large free range below its lowest mapping) with PROT_NONE
//! shared-anonymous mappings, puts one page on a PMD boundary near the top
//! of the open area, and makes the rest above it unusable at the cost of a
//! few pages (one-page `MAP_GROWSDOWN` mappings closer together than the
//! stack guard gap, which the allocator keeps free below each). From then on every mapping the kernel
//! places itself lands just below that boundary, the far region's top,
//! under a neighbour nothing merges with and nothing grows into -- as in
//! the model, whose `mmap_base` is its own far top with one such page on
//! it. The covering pieces also bring the runner's VMA count up to
//! [`RUNNER_VMAS`], as `pad_vmas` does where there is no far region.

use vmalab_lang::window::{FAR_ALIGN, FAR_PAGES, RUNNER_VMAS};

/// Probes before giving up: each fills one gap above the open area.
const MAX_PROBES: usize = 256;

/// Claims the far region; returns its top.
pub fn claim(ps: u64) -> Result<u64, String> {
    let open = (FAR_PAGES + RUNNER_VMAS as u64) * ps + FAR_ALIGN;
    let mut gap_top = None;
    for _ in 0..MAX_PROBES {
        // The highest gap that takes one page is where the kernel puts it.
        let p = map(None, ps, false)?;
        let below = mappings()
            .into_iter()
            .filter(|&(_, end)| end <= p)
            .map(|(_, end)| end)
            .max()
            .unwrap_or(0);
        if p - below >= open {
            unmap(p, ps);
            gap_top = Some(p + ps);
            break;
        }
        if below < p {
            map(Some(below), p - below, false)?;
        }
    }
    let top_of_gap = gap_top.ok_or("no open area below the runner's mappings")?;
    let have = mappings().len();
    // The far region's top: a PMD boundary low enough for a page on it,
    // the padding pieces above that, and the stack guard gap.
    let guard = GUARD_PAGES * ps;
    let top = (top_of_gap - guard - 2 * ps) / FAR_ALIGN * FAR_ALIGN;
    // Above the top the rest of the gap, up to 2 MiB, must take no new
    // mapping, without costing its size in VM (mlockall compares the whole
    // VM with RLIMIT_MEMLOCK): one-page MAP_GROWSDOWN mappings from the
    // gap's top down, closer together than the stack guard gap, the
    // lowest one exactly a guard gap above the top. The allocator keeps
    // the guard gap below each free, so every hole between them is
    // unusable, and its search lands below the top.
    let mut stacks = Vec::new();
    let mut at = top_of_gap - ps;
    while at > top + guard {
        stacks.push(at);
        at = at.saturating_sub(STEP * ps).max(top + guard);
    }
    stacks.push(top + guard);
    let pieces = RUNNER_VMAS.saturating_sub(have + 1 + stacks.len()) as u64;
    map(Some(top), ps, false)?;
    for i in 0..pieces {
        map(Some(top + ps + i * ps), ps, false)?;
    }
    for at in stacks {
        map(Some(at), ps, true)?;
    }
    Ok(top)
}

/// The stack guard gap the allocator keeps below a `MAP_GROWSDOWN`
/// mapping, in pages: the kernel's default (`stack_guard_gap=` at boot
/// changes it, which the far region does not follow).
const GUARD_PAGES: u64 = 256;

/// The spacing of the one-page MAP_GROWSDOWN mappings above the far
/// region's top, in pages: well under [`GUARD_PAGES`].
const STEP: u64 = 128;

/// The runner's mappings as /proc/self/maps lists them (the vsyscall page
/// is listed but is no VMA of the process).
fn mappings() -> Vec<(u64, u64)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    maps.lines()
        .filter(|l| !l.ends_with("[vsyscall]"))
        .filter_map(|l| {
            let (range, _) = l.split_once(' ')?;
            let (s, e) = range.split_once('-')?;
            Some((
                u64::from_str_radix(s, 16).ok()?,
                u64::from_str_radix(e, 16).ok()?,
            ))
        })
        .collect()
}

/// Maps `len` bytes of PROT_NONE shared anonymous memory (a shmem object
/// of its own, which nothing merges with) where the kernel chooses, or
/// exactly at `at` if that is free; `growsdown`: private anonymous
/// `MAP_GROWSDOWN` memory instead.
fn map(at: Option<u64>, len: u64, growsdown: bool) -> Result<u64, String> {
    let fixed = if at.is_some() {
        libc::MAP_FIXED_NOREPLACE
    } else {
        0
    };
    let kind = if growsdown {
        libc::MAP_PRIVATE | libc::MAP_GROWSDOWN
    } else {
        libc::MAP_SHARED
    };
    let want = at.unwrap_or(0);
    // SAFETY: without MAP_FIXED no existing mapping can be replaced
    // (MAP_FIXED_NOREPLACE fails instead).
    let got = unsafe {
        libc::mmap(
            want as *mut libc::c_void,
            len as usize,
            libc::PROT_NONE,
            kind | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | fixed,
            -1,
            0,
        )
    };
    if got == libc::MAP_FAILED {
        return Err(format!(
            "cannot map the far region's neighbours: {}",
            vmalab_lang::scenario::names::errno_name(super::errno())
        ));
    }
    if at.is_some_and(|a| a != got as u64) {
        // An old kernel took NOREPLACE as a hint.
        unmap(got as u64, len);
        return Err("MAP_FIXED_NOREPLACE is not honoured".into());
    }
    Ok(got as u64)
}

/// Unmaps a mapping this module made.
fn unmap(addr: u64, len: u64) {
    // SAFETY: `addr` and `len` are those of a mapping `map` just made.
    unsafe { libc::munmap(addr as *mut libc::c_void, len as usize) };
}
