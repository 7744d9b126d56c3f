// SPDX-License-Identifier: GPL-2.0-or-later
//! The random op mix: `MAP_FIXED` mmaps and mprotects of 1-8 pages anywhere
//! in a 65,536-page window, half each, with one of four protections (none,
//! r, rw, rx), the same seeded sequence on the live kernel and on the
//! model. An mmap lands in a hole or over mappings (an overmap, once the
//! window has filled); an mprotect may reach a hole (ENOMEM, after changing
//! what lies before it). About 17,700 VMAs in steady state. With touches,
//! every accessible mmap is followed by an access to its first page (a
//! write if writable), which gives VMAs `anon_vma`s and so changes which of
//! them merge.

use std::time::Instant;

use vma::sys::consts::*;
use vma::{Access, Config, Mm};

use super::child::sys;
use crate::fuzz::rng::Rng;

/// Pages in the window.
pub const WINDOW_PAGES: u64 = 65_536;
const PAGE: u64 = 4096;

/// One call of the mix.
#[derive(Clone, Copy)]
pub enum Op {
    Map { addr: u64, len: u64, prot: u32 },
    Protect { addr: u64, len: u64, prot: u32 },
}

const PROTS: [u32; 4] = [
    PROT_NONE,
    PROT_READ,
    PROT_READ | PROT_WRITE,
    PROT_READ | PROT_EXEC,
];

/// The first `n` ops of the mix for window `base`.
pub fn ops(base: u64, n: usize, seed: u64) -> Vec<Op> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| {
            let page = r.below(WINDOW_PAGES - 8);
            let addr = base + page * PAGE;
            let len = (1 + r.below(8)) * PAGE;
            let prot = PROTS[r.below(4) as usize];
            if r.below(2) == 0 {
                Op::Map { addr, len, prot }
            } else {
                Op::Protect { addr, len, prot }
            }
        })
        .collect()
}

/// Runs the mix on the live kernel (the caller is the forked child owning
/// the window); returns ns/op.
pub fn run_kernel(ops: &[Op], touch: bool) -> f64 {
    let t = Instant::now();
    for op in ops {
        match *op {
            Op::Map { addr, len, prot } => {
                sys::map_fixed(addr, len, prot as i32);
                if touch && prot != PROT_NONE {
                    sys::touch(addr, prot & PROT_WRITE != 0);
                }
            }
            Op::Protect { addr, len, prot } => {
                sys::protect(addr, len, prot as i32);
            }
        }
    }
    t.elapsed().as_nanos() as f64 / ops.len() as f64
}

/// An address space configured for benchmarks: no map count limit in the way.
pub fn model() -> Mm {
    Mm::new(Config {
        max_map_count: usize::MAX / 2,
        ..Config::default()
    })
}

/// Runs the mix on a fresh model; returns ns/op and the VMA count at the end.
pub fn run_model(ops: &[Op], touch: bool) -> (f64, usize) {
    let mut mm = model();
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    let t = Instant::now();
    for op in ops {
        match *op {
            Op::Map { addr, len, prot } => {
                let _ = mm.mmap(addr, len, prot, flags, None, 0);
                if touch && prot != PROT_NONE {
                    let access = if prot & PROT_WRITE != 0 {
                        Access::Write
                    } else {
                        Access::Read
                    };
                    let _ = mm.fault(addr, access);
                }
            }
            Op::Protect { addr, len, prot } => {
                let _ = mm.mprotect(addr, len, prot);
            }
        }
    }
    let ns = t.elapsed().as_nanos() as f64 / ops.len() as f64;
    (ns, mm.map_count())
}
