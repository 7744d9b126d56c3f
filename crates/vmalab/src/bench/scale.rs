// SPDX-License-Identifier: GPL-2.0-or-later
//! Per-call costs in an address space of `n` one-page VMAs separated by
//! one-page holes (alternating protections, so nothing merges): on the
//! model at 1k and at 1M VMAs, and on the live kernel at 1k.

use std::hint::black_box;
use std::time::Instant;

use vma::sys::consts::*;
use vma::{Access, Mm};

use super::child::sys;

const P: u64 = 4096;

/// The calls measured, in table order.
pub const OPS: [&str; 5] = [
    "mprotect split+merge",
    "mmap fixed + munmap",
    "mmap anywhere + munmap",
    "lookup (find_vma)",
    "madvise DONTNEED + read fault",
];

/// One side of the comparison.
pub trait Side {
    fn protect(&mut self, addr: u64, prot: u32);
    fn map_fixed(&mut self, addr: u64, prot: u32);
    fn map_anywhere(&mut self) -> u64;
    fn unmap(&mut self, addr: u64, len: u64);
    /// Looks up the VMA at `addr`; `None` where a side cannot (the kernel
    /// has no lookup call of its own).
    fn lookup(&mut self, addr: u64) -> Option<()>;
    /// A read fault on a page with no page present.
    fn fault(&mut self, addr: u64);
}

fn prot_of(i: u64) -> u32 {
    if i % 2 == 0 {
        PROT_READ
    } else {
        PROT_READ | PROT_WRITE
    }
}

/// Maps `n` one-page VMAs at `base + 2iP`.
pub fn populate(side: &mut dyn Side, base: u64, n: u64) {
    for i in 0..n {
        side.map_fixed(base + 2 * i * P, prot_of(i));
    }
}

/// ns per call of operation `op` over `iters` calls at spread VMAs; `None`
/// when the side cannot do it.
pub fn time(side: &mut dyn Side, base: u64, n: u64, op: usize, iters: u64) -> Option<f64> {
    let step = (n / iters).max(1);
    let t = Instant::now();
    for k in 0..iters {
        let i = (k * step * 7919) % n;
        let a = base + 2 * i * P;
        match op {
            0 => {
                side.protect(a, PROT_NONE);
                side.protect(a, prot_of(i));
            }
            1 => {
                side.map_fixed(a + P, PROT_EXEC);
                side.unmap(a + P, P);
            }
            2 => {
                let a = side.map_anywhere();
                side.unmap(black_box(a), 3 * P);
            }
            3 => side.lookup(a)?,
            _ => side.fault(a),
        }
    }
    Some(t.elapsed().as_nanos() as f64 / iters as f64)
}

impl Side for Mm {
    fn protect(&mut self, addr: u64, prot: u32) {
        let _ = self.mprotect(addr, P, prot);
    }
    fn map_fixed(&mut self, addr: u64, prot: u32) {
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        let _ = self.mmap(addr, P, prot, flags, None, 0);
    }
    fn map_anywhere(&mut self) -> u64 {
        let flags = MAP_PRIVATE | MAP_ANONYMOUS;
        self.mmap(0, 3 * P, PROT_READ, flags, None, 0).unwrap_or(0)
    }
    fn unmap(&mut self, addr: u64, len: u64) {
        let _ = self.munmap(addr, len);
    }
    fn lookup(&mut self, addr: u64) -> Option<()> {
        black_box(self.find_vma(addr));
        Some(())
    }
    fn fault(&mut self, addr: u64) {
        // As on the kernel: drop the page, then fault it in again.
        let _ = self.madvise(addr, P, MADV_DONTNEED);
        let _ = black_box(Mm::fault(self, addr, Access::Read));
    }
}

/// The live kernel, from inside the benchmark's child.
pub struct Kernel;

impl Side for Kernel {
    fn protect(&mut self, addr: u64, prot: u32) {
        sys::protect(addr, P, prot as i32);
    }
    fn map_fixed(&mut self, addr: u64, prot: u32) {
        sys::map_fixed(addr, P, prot as i32);
    }
    fn map_anywhere(&mut self) -> u64 {
        sys::map_anywhere(3 * P, PROT_READ as i32)
    }
    fn unmap(&mut self, addr: u64, len: u64) {
        sys::unmap(addr, len);
    }
    fn lookup(&mut self, _addr: u64) -> Option<()> {
        None
    }
    fn fault(&mut self, addr: u64) {
        // Drop the page first so the touch faults it in again; the
        // madvise is part of what is timed.
        sys::drop_pages(addr, P);
        sys::touch(addr, false);
    }
}
