// SPDX-License-Identifier: GPL-2.0-or-later
//! The bench's op mix on the model alone, for instruction counts:
//! `valgrind --tool=callgrind target/release/examples/mix_model [touch]`.
//! Same seed and window as `vmalab bench` (200,000 ops).

use vmalab::bench::mix;

fn main() {
    let touch = std::env::args().nth(1).is_some_and(|a| a == "touch");
    let ops = mix::ops(0x7000_0000_0000, 200_000, 1);
    let (ns, vmas) = mix::run_model(&ops, touch);
    println!("{ns:.0} ns/op, {vmas} VMAs");
}
