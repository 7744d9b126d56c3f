// SPDX-License-Identifier: GPL-2.0-or-later
//! The binary's global allocator: the system allocator, counting live heap
//! bytes only while `vmalab bench` measures a VMA's footprint (one relaxed
//! load per call otherwise, so the timed runs pay nothing for the meter).
//! Lives in the binary because only a binary may choose its global
//! allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// The system allocator with a live-bytes counter.
pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Net heap bytes `f` allocates and does not free (0 if it frees more
/// than it allocates). Counting is on only while `f` runs.
pub fn net_bytes(f: &mut dyn FnMut()) -> usize {
    LIVE.store(0, Relaxed);
    ON.store(true, Relaxed);
    f();
    ON.store(false, Relaxed);
    let net = LIVE.load(Relaxed) as isize;
    net.max(0) as usize
}

// SAFETY: every call is passed to `System` unchanged; the counter is only
// arithmetic on the side (wrapping, so a free of a block allocated while
// counting was off cannot panic).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is `System`'s.
        let p = unsafe { System.alloc(l) };
        if ON.load(Relaxed) && !p.is_null() {
            LIVE.fetch_add(l.size(), Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if ON.load(Relaxed) {
            LIVE.fetch_sub(l.size(), Relaxed);
        }
        // SAFETY: `p` came from `alloc`/`realloc` above, i.e. from `System`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(l) };
        if ON.load(Relaxed) && !p.is_null() {
            LIVE.fetch_add(l.size(), Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: `p` and `l` describe a block `System` allocated.
        let q = unsafe { System.realloc(p, l, new) };
        if ON.load(Relaxed) && !q.is_null() {
            LIVE.fetch_add(new, Relaxed);
            LIVE.fetch_sub(l.size(), Relaxed);
        }
        q
    }
}
