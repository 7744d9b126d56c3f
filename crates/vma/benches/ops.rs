//! The model's hot system calls at 1k and 1M VMAs (one-page VMAs with
//! one-page holes, alternating protections so none merge). `vmalab bench`
//! prints these beside the live kernel; this is the one-command view of a
//! change's effect on the model alone.
//!
//! `cargo bench -p vma --bench ops`

use divan::{black_box, Bencher};
use vma::sys::consts::*;
use vma::{Access, Config, Mm};

fn main() {
    divan::main();
}

const SIZES: [u64; 2] = [1_000, 1_000_000];
const P: u64 = 0x1000;
const BASE: u64 = 0x1000_0000;

fn prot(i: u64) -> u32 {
    if i % 2 == 0 {
        PROT_READ
    } else {
        PROT_READ | PROT_WRITE
    }
}

fn populated(n: u64) -> Mm {
    let mut mm = Mm::new(Config {
        max_map_count: usize::MAX / 2,
        ..Config::default()
    });
    for i in 0..n {
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        mm.mmap(BASE + 2 * i * P, P, prot(i), flags, None, 0)
            .expect("mapping a free page");
    }
    mm
}

fn spread(n: u64) -> impl FnMut() -> u64 {
    let mut k = 0u64;
    move || {
        k += 1;
        (k * 7919) % n
    }
}

#[divan::bench(args = SIZES)]
fn mprotect_split_merge(b: Bencher, n: u64) {
    let mut mm = populated(n);
    let mut next = spread(n);
    b.bench_local(|| {
        let i = next();
        let a = BASE + 2 * i * P;
        let _ = mm.mprotect(a, P, PROT_NONE);
        let _ = mm.mprotect(a, P, prot(i));
    });
}

#[divan::bench(args = SIZES)]
fn mmap_fixed_munmap(b: Bencher, n: u64) {
    let mut mm = populated(n);
    let mut next = spread(n);
    b.bench_local(|| {
        let a = BASE + (2 * next() + 1) * P;
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        let _ = mm.mmap(a, P, PROT_EXEC, flags, None, 0);
        let _ = mm.munmap(a, P);
    });
}

#[divan::bench(args = SIZES)]
fn find_vma(b: Bencher, n: u64) {
    let mm = populated(n);
    let mut next = spread(n);
    b.bench_local(|| black_box(mm.find_vma(BASE + 2 * next() * P)));
}

#[divan::bench(args = SIZES)]
fn read_fault(b: Bencher, n: u64) {
    let mut mm = populated(n);
    let mut next = spread(n);
    b.bench_local(|| black_box(mm.fault(BASE + 2 * next() * P, Access::Read)));
}
