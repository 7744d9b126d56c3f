//! How the model's system calls scale with the number of VMAs: the cost of
//! each operation in an address space of 1k VMAs and of 1M VMAs, measured
//! in one run, and their ratio (logarithmic structures keep it small).
//!
//! `cargo run --release -p vma --example scale`

use std::hint::black_box;
use std::time::Instant;
use vma::sys::consts::*;
use vma::{Access, Config, Mm};

const P: u64 = 0x1000;
const BASE: u64 = 0x1000_0000;

/// An address space of `n` one-page VMAs separated by one-page holes.
fn populated(n: u64) -> Mm {
    let mut mm = Mm::new(Config {
        max_map_count: usize::MAX / 2,
        ..Config::default()
    });
    for i in 0..n {
        let prot = if i % 2 == 0 {
            PROT_READ
        } else {
            PROT_READ | PROT_WRITE
        };
        mm.mmap(
            BASE + 2 * i * P,
            P,
            prot,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    }
    mm
}

/// Nanoseconds per call of `op(mm, i)` for `iters` calls at spread addresses.
fn time(mm: &mut Mm, n: u64, iters: u64, op: fn(&mut Mm, u64)) -> f64 {
    let step = (n / iters).max(1);
    let t = Instant::now();
    for k in 0..iters {
        op(mm, (k * step * 7919) % n);
    }
    t.elapsed().as_nanos() as f64 / iters as f64
}

type Op = (&'static str, fn(&mut Mm, u64));

const OPS: &[Op] = &[
    ("mprotect split+merge", |mm, i| {
        let a = BASE + 2 * i * P;
        mm.mprotect(a, P, PROT_NONE).unwrap();
        mm.mprotect(
            a,
            P,
            if i % 2 == 0 {
                PROT_READ
            } else {
                PROT_READ | PROT_WRITE
            },
        )
        .unwrap();
    }),
    ("mmap fixed in a hole + munmap", |mm, i| {
        let a = BASE + (2 * i + 1) * P;
        mm.mmap(
            a,
            P,
            PROT_EXEC,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
        mm.munmap(a, P).unwrap();
    }),
    ("mmap anywhere (gap search) + munmap", |mm, _| {
        let a = mm
            .mmap(0, 3 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, None, 0)
            .unwrap();
        mm.munmap(a, 3 * P).unwrap();
    }),
    ("read fault (VMA lookup)", |mm, i| {
        let _ = black_box(mm.fault(BASE + 2 * i * P, Access::Read));
    }),
];

fn main() {
    let (small, large) = (1_000u64, 1_000_000u64);
    let iters = 20_000;
    let t = Instant::now();
    let mut a = populated(small);
    let mut b = populated(large);
    println!(
        "built {small} and {large} VMAs in {:.2}s",
        t.elapsed().as_secs_f64()
    );
    println!(
        "{:<38} {:>12} {:>12} {:>8}",
        "operation (ns/op)", "1k VMAs", "1M VMAs", "1M/1k"
    );
    for (name, op) in OPS {
        let x = time(&mut a, small, iters, *op);
        let y = time(&mut b, large, iters, *op);
        println!("{name:<38} {x:>12.0} {y:>12.0} {:>8.2}", y / x);
    }
    a.validate().unwrap();
    b.validate().unwrap();
}
