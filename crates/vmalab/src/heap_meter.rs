// SPDX-License-Identifier: GPL-2.0-or-later
//! The binary's global allocator: the system allocator, counting live heap
//! bytes once `vmalab bench` switches counting on (one relaxed load per
//! call otherwise). Lives in the binary because only a binary may choose
//! its global allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// The system allocator with a live-bytes counter.
pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Starts counting (from zero: only differences are meaningful).
pub fn start() {
    ON.store(true, Relaxed);
}

/// Bytes allocated and not freed since counting started, net.
pub fn live() -> usize {
    LIVE.load(Relaxed)
}

// SAFETY: every call is passed to `System` unchanged; the counter is only
// arithmetic on the side (wrapping, so a free of a block allocated before
// counting began cannot panic).
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
