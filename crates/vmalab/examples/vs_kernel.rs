// SPDX-License-Identifier: GPL-2.0-or-later
//! The model against the live kernel, doing the same system calls on the
//! same layout (1000 one-page VMAs with holes between them), measured in
//! one run: ns per operation on each side and the ratio.
//!
//! `cargo run --release -p vmalab --example vs_kernel`

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::time::Instant;

use nix::sys::mman::{mmap_anonymous, mprotect, munmap, MapFlags, ProtFlags};
use vma::sys::consts::*;
use vma::{Config, Mm};

const P: usize = 4096;
const N: usize = 1000;
const ITERS: usize = 20_000;

/// The three operations, on addresses `base + i * P`.
trait Side {
    fn protect(&mut self, addr: usize, prot: u32);
    fn map_fixed(&mut self, addr: usize, prot: u32);
    fn map_anywhere(&mut self) -> usize;
    fn unmap(&mut self, addr: usize, len: usize);
}

struct Kernel;

fn prot_flags(prot: u32) -> ProtFlags {
    ProtFlags::from_bits_truncate(prot as i32)
}

impl Side for Kernel {
    fn protect(&mut self, addr: usize, prot: u32) {
        // SAFETY: the address lies in the window this program reserved and
        // owns; nothing else uses it.
        unsafe { mprotect(NonNull::new(addr as *mut _).unwrap(), P, prot_flags(prot)).unwrap() }
    }
    fn map_fixed(&mut self, addr: usize, prot: u32) {
        let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED;
        // SAFETY: MAP_FIXED over a page of this program's own window.
        unsafe {
            mmap_anonymous(
                NonZeroUsize::new(addr),
                NonZeroUsize::new(P).unwrap(),
                prot_flags(prot),
                flags,
            )
            .unwrap()
        };
    }
    fn map_anywhere(&mut self) -> usize {
        // SAFETY: a new mapping wherever the kernel chooses.
        let p = unsafe {
            mmap_anonymous(
                None,
                NonZeroUsize::new(3 * P).unwrap(),
                ProtFlags::PROT_READ,
                MapFlags::MAP_PRIVATE,
            )
        };
        p.unwrap().as_ptr() as usize
    }
    fn unmap(&mut self, addr: usize, len: usize) {
        // SAFETY: the range was mapped by this program for the benchmark.
        unsafe { munmap(NonNull::new(addr as *mut _).unwrap(), len).unwrap() }
    }
}

impl Side for Mm {
    fn protect(&mut self, addr: usize, prot: u32) {
        self.mprotect(addr as u64, P as u64, prot).unwrap();
    }
    fn map_fixed(&mut self, addr: usize, prot: u32) {
        self.mmap(
            addr as u64,
            P as u64,
            prot,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    }
    fn map_anywhere(&mut self) -> usize {
        self.mmap(
            0,
            3 * P as u64,
            PROT_READ,
            MAP_PRIVATE | MAP_ANONYMOUS,
            None,
            0,
        )
        .unwrap() as usize
    }
    fn unmap(&mut self, addr: usize, len: usize) {
        self.munmap(addr as u64, len as u64).unwrap();
    }
}

fn prot_of(i: usize) -> u32 {
    if i % 2 == 0 {
        PROT_READ
    } else {
        PROT_READ | PROT_WRITE
    }
}

/// Maps the 1000 VMAs: page 2i, alternating protections.
fn populate(side: &mut dyn Side, base: usize) {
    for i in 0..N {
        side.map_fixed(base + 2 * i * P, prot_of(i));
    }
}

fn time(side: &mut dyn Side, base: usize, op: usize) -> f64 {
    let t = Instant::now();
    for k in 0..ITERS {
        let i = (k * 7919) % N;
        match op {
            0 => {
                side.protect(base + 2 * i * P, PROT_NONE);
                side.protect(base + 2 * i * P, prot_of(i));
            }
            1 => {
                side.map_fixed(base + (2 * i + 1) * P, PROT_EXEC);
                side.unmap(base + (2 * i + 1) * P, P);
            }
            _ => {
                let a = side.map_anywhere();
                side.unmap(black_box(a), 3 * P);
            }
        }
    }
    t.elapsed().as_nanos() as f64 / ITERS as f64
}

fn main() {
    // The kernel's window: reserve it, then free it for the benchmark's VMAs.
    let len = NonZeroUsize::new(2 * N * P + P).unwrap();
    // SAFETY: a fresh reservation, unmapped again right away.
    let base =
        unsafe { mmap_anonymous(None, len, ProtFlags::PROT_NONE, MapFlags::MAP_PRIVATE).unwrap() };
    let kbase = base.as_ptr() as usize;
    // SAFETY: the reservation made just above.
    unsafe { munmap(base, len.get()).unwrap() };
    let mut kernel = Kernel;
    populate(&mut kernel, kbase);
    let mut model = Mm::new(Config::default());
    let mbase = 0x1000_0000_0000;
    populate(&mut model, mbase);
    println!("{N} VMAs on each side, {ITERS} iterations per operation");
    println!(
        "{:<36} {:>12} {:>12} {:>10}",
        "operation (ns/op)", "kernel", "model", "kernel/model"
    );
    for (op, name) in [
        "mprotect split + merge",
        "mmap fixed in a hole + munmap",
        "mmap anywhere + munmap",
    ]
    .iter()
    .enumerate()
    {
        let k = time(&mut kernel, kbase, op);
        let m = time(&mut model, mbase, op);
        println!("{name:<36} {k:>12.0} {m:>12.0} {:>10.1}", k / m);
    }
    model.validate().unwrap();
}
