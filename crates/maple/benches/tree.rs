//! The tree's hot paths at 1k and 1M entries (one-page entries with
//! one-page holes): point lookups spread over the tree, and the
//! store-next-to-a-lookup pattern of a VMA split and merge, which the
//! finger answers without walking from the root.
//!
//! `cargo bench -p maple --bench tree`

use divan::{black_box, Bencher};
use maple::MapleTree;

fn main() {
    divan::main();
}

const SIZES: [u64; 2] = [1_000, 1_000_000];

fn tree(n: u64) -> MapleTree<u64> {
    let mut t = MapleTree::new();
    for i in 0..n {
        t.store(2 * i..2 * i + 1, i);
    }
    t
}

/// Entry indices visited in a spread order.
fn spread(n: u64) -> impl FnMut() -> u64 {
    let mut k = 0u64;
    move || {
        k += 1;
        (k * 7919) % n
    }
}

#[divan::bench(args = SIZES)]
fn load(b: Bencher, n: u64) {
    let t = tree(n);
    let mut next = spread(n);
    b.bench_local(|| black_box(t.load(2 * next()).map(|(_, v)| *v)));
}

#[divan::bench(args = SIZES)]
fn find(b: Bencher, n: u64) {
    let t = tree(n);
    let mut next = spread(n);
    b.bench_local(|| {
        let a = 2 * next() + 1;
        black_box(t.find(a, a + 4).map(|(_, v)| *v))
    });
}

/// Split an entry by storing over its upper half, then merge it back: four
/// lookups around and two stores, as one mprotect split and merge does.
#[divan::bench(args = SIZES)]
fn split_merge(b: Bencher, n: u64) {
    let mut t = MapleTree::new();
    for i in 0..n {
        t.store(4 * i..4 * i + 2, i);
    }
    let mut next = spread(n);
    b.bench_local(|| {
        let i = next();
        let a = 4 * i;
        black_box(t.prev_entry(a));
        black_box(t.load(a));
        black_box(t.next_entry(a + 2));
        t.store(a + 1..a + 2, u64::MAX);
        black_box(t.load(a + 1));
        t.store(a..a + 2, i);
    });
}
