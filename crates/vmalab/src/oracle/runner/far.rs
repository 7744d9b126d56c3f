// SPDX-License-Identifier: GPL-2.0-or-later
//! The far region on the kernel's side (see `window::Window`): where the
//! kernel places mappings whose address it chooses, made the same for
//! every run.
//!
//! The kernel's top-down allocator takes the highest free gap below
//! `mmap_base` that fits. The runner fills every gap above the open area
//! (the large free range below its lowest mapping) with PROT_NONE
//! shared-anonymous mappings, then covers the top of the open area down to
//! a PMD boundary with more of them. From then on every mapping the kernel
//! places itself lands just below that boundary, the far region's top,
//! under a neighbour nothing merges with and nothing grows into -- as in
//! the model, whose `mmap_base` is its own far top with one such page on
//! it. The covering pieces also bring the runner's VMA count up to
//! [`RUNNER_VMAS`], as `pad_vmas` does where there is no far region.

use crate::window::{FAR_ALIGN, FAR_PAGES, RUNNER_VMAS};

/// Probes before giving up: each fills one gap above the open area.
const MAX_PROBES: usize = 256;

/// Claims the far region; returns its top.
pub fn claim(ps: u64) -> Result<u64, String> {
    let open = (FAR_PAGES + RUNNER_VMAS as u64) * ps + FAR_ALIGN;
    let mut gap_top = None;
    for _ in 0..MAX_PROBES {
        // The highest gap that takes one page is where the kernel puts it.
        let p = map(None, ps)?;
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
            map(Some(below), p - below)?;
        }
    }
    let top_of_gap = gap_top.ok_or("no open area below the runner's mappings")?;
    let have = mappings().len();
    let pieces = RUNNER_VMAS.saturating_sub(have).max(1) as u64;
    let top = (top_of_gap - pieces * ps) / FAR_ALIGN * FAR_ALIGN;
    // Pieces of one page from the gap's top down, the last one reaching
    // down to the far region's top: each a VMA of its own.
    let mut end = top_of_gap;
    for i in 0..pieces {
        let start = if i + 1 == pieces { top } else { end - ps };
        map(Some(start), end - start)?;
        end = start;
    }
    Ok(top)
}

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
/// exactly at `at` if that is free.
fn map(at: Option<u64>, len: u64) -> Result<u64, String> {
    let fixed = if at.is_some() {
        libc::MAP_FIXED_NOREPLACE
    } else {
        0
    };
    let want = at.unwrap_or(0);
    // SAFETY: without MAP_FIXED no existing mapping can be replaced
    // (MAP_FIXED_NOREPLACE fails instead).
    let got = unsafe {
        libc::mmap(
            want as *mut libc::c_void,
            len as usize,
            libc::PROT_NONE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | fixed,
            -1,
            0,
        )
    };
    if got == libc::MAP_FAILED {
        return Err(format!(
            "cannot map the far region's neighbours: {}",
            crate::scenario::names::errno_name(super::errno())
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
