// SPDX-License-Identifier: GPL-2.0-or-later
//! The bench's per-call costs (b) on the model alone, at 1k and 1M VMAs:
//! `target/release/examples/scale_model [op]` (all ops when none given).
//! Same layout and call sequence as `vmalab bench`; medians of 5 rounds.

use vmalab::bench::{mix, scale};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let only: Option<usize> = std::env::args().nth(1).and_then(|a| a.parse().ok());
    let base = 0x1000_0000;
    let iters = 20_000;
    let (n_small, n_large) = (1_000, 1_000_000);
    let mut small = mix::model();
    scale::populate(&mut small, base, n_small);
    let mut large = mix::model();
    scale::populate(&mut large, base, n_large);
    for op in 0..scale::OPS.len() {
        if only.is_some_and(|o| o != op) {
            continue;
        }
        scale::time(&mut small, base, n_small, op, iters / 4);
        scale::time(&mut large, base, n_large, op, iters / 4);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            ys.push(scale::time(&mut large, base, n_large, op, iters).unwrap_or(f64::NAN));
            xs.push(scale::time(&mut small, base, n_small, op, iters).unwrap_or(f64::NAN));
        }
        let (x, y) = (median(xs), median(ys));
        println!("{:32} {x:8.0} {y:8.0} {:6.2}", scale::OPS[op], y / x);
    }
}
