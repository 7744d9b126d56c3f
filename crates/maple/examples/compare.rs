//! Benchmark: `maple::MapleTree` against a `BTreeMap`-based range map, on
//! address-space-like layouts of 1k, 64k and 1M entries, in one run.
//!
//! `cargo run --release -p maple --example compare`
//!
//! Layout: page-aligned mappings of 1-16 pages laid out upwards from 64 KiB,
//! a third of them followed by a hole of 1-4 pages. Operations:
//! * lookup: `load` at a random address (hit or miss);
//! * store: store 1-2 pages at a random page (splits, trims, fills holes);
//! * erase: erase 1-3 pages at a random page;
//! * lowest gap / highest gap: first fit of 1-6 pages above a random
//!   address / below a random address (holes are at most 4 pages, so about a
//!   third of the requests must look far away);
//! * next-walk: a cursor stepping through every entry with `next_entry`.
//!
//! Each measurement is one untimed warm-up run of the same operations, then
//! the best of three timed runs (store/erase batches each run on a fresh copy
//! of the tree, made right before its timed part); the capped baseline gap
//! walks run once, with no warm-up.
//!
//! The baseline is a `BTreeMap<u64, (u64, V)>` keyed by start with the same
//! store/erase semantics; it finds gaps by walking entries in order. Its gap
//! walks are capped (see `SCAN_CAP`) so the run stays short.

use maple::MapleTree;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::mem::size_of;
use std::time::Instant;

const PAGE: u64 = 4096;
/// Total entries the baseline may walk per gap-search line; queries beyond
/// the cap are not run (the line reports how many were).
const SCAN_CAP: u64 = 60_000_000;
/// Timed runs per measurement (after one warm-up run); the best is kept.
const RUNS: usize = 3;

/// The baseline: start -> (end, value).
#[derive(Clone, Default)]
struct Baseline {
    map: BTreeMap<u64, (u64, u64)>,
}

impl Baseline {
    fn load(&self, a: u64) -> Option<&u64> {
        let (_, (e, v)) = self.map.range(..=a).next_back()?;
        (a < *e).then_some(v)
    }

    fn erase(&mut self, s: u64, e: u64) {
        if let Some((&a, &(b, v))) = self.map.range(..s).next_back() {
            if b > s {
                self.map.insert(a, (s, v));
                if b > e {
                    self.map.insert(e, (b, v));
                }
            }
        }
        while let Some((&a, &(b, v))) = self.map.range(s..e).next() {
            self.map.remove(&a);
            if b > e {
                self.map.insert(e, (b, v));
            }
        }
    }

    fn store(&mut self, s: u64, e: u64, v: u64) {
        self.erase(s, e);
        self.map.insert(s, (e, v));
    }

    /// Linear walk upwards from `min`; `visits` counts entries looked at.
    fn lowest_gap(&self, min: u64, max: u64, size: u64, visits: &mut u64) -> Option<u64> {
        let mut lo = match self.map.range(..=min).next_back() {
            Some((_, &(e, _))) if e > min => e,
            _ => min,
        };
        for (&a, &(b, _)) in self.map.range(lo..) {
            *visits += 1;
            if lo >= max {
                return None;
            }
            if a.min(max) >= lo + size {
                return Some(lo);
            }
            lo = b;
        }
        (max >= lo.saturating_add(size)).then_some(lo)
    }

    /// Linear walk downwards from `max`.
    fn highest_gap(&self, min: u64, max: u64, size: u64, visits: &mut u64) -> Option<u64> {
        let mut hi = match self.map.range(..max).next_back() {
            Some((&a, &(e, _))) if e > max => a,
            _ => max,
        };
        for (&a, &(b, _)) in self.map.range(..hi).rev() {
            *visits += 1;
            if hi <= min {
                return None;
            }
            let lo = b.max(min);
            if hi >= lo + size {
                return Some(hi - size);
            }
            hi = a;
        }
        (hi >= min + size).then(|| hi - size)
    }
}

/// An address-space-like layout of `n` entries; returns it and its top.
fn layout(n: usize, rng: &mut fastrand::Rng) -> (Vec<(u64, u64)>, u64) {
    let mut out = Vec::with_capacity(n);
    let mut at = 16 * PAGE;
    for _ in 0..n {
        let len = (1 + rng.u64(..16)) * PAGE;
        out.push((at, at + len));
        at += len;
        if rng.u64(..3) == 0 {
            at += (1 + rng.u64(..4)) * PAGE;
        }
    }
    (out, at)
}

/// Runs `f` (which times itself) once untimed to warm up, then `RUNS`
/// times, and keeps the fastest: the machine is shared, and noise only
/// ever adds time.
fn best_of(mut f: impl FnMut() -> f64) -> f64 {
    f();
    (0..RUNS).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn ns_per(start: Instant, ops: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / ops.max(1) as f64
}

fn line(op: &str, maple: f64, base: f64, note: &str) {
    println!(
        "  {op:<12} {maple:>10.1} {base:>12.1} {:>8.2}  {note}",
        maple / base
    );
}

/// Store/erase batches: every batch starts from a fresh copy of the built
/// tree so `n` stays put; copying is not timed.
fn batches(n: usize) -> (usize, usize) {
    let per = (n / 2).clamp(500, 100_000);
    let rounds = (100_000 / per).max(1);
    (per, rounds)
}

/// A tree and its gap-search queries, kept for the 1M-vs-1k comparison.
struct Kept {
    tree: MapleTree<u64>,
    /// Random-window queries: (address, size) for each direction.
    queries: [Vec<(u64, u64)>; 2],
    /// Fixed-window queries, mmap style: (bound, size), the bound being the
    /// bottom of the layout for upward searches and its top for downward ones.
    fixed: [Vec<(u64, u64)>; 2],
    /// Lookup addresses, for the same comparison on plain lookups.
    lookups: Vec<u64>,
}

/// One timed pass of gap searches: `dir` 0 searches upwards from each
/// address, 1 downwards.
fn time_gaps(tree: &MapleTree<u64>, qs: &[(u64, u64)], dir: usize, out: &mut [Option<u64>]) -> f64 {
    let t0 = Instant::now();
    for (k, &(a, size)) in qs.iter().enumerate() {
        out[k] = black_box(if dir == 0 {
            tree.lowest_gap(a, u64::MAX, size)
        } else {
            tree.highest_gap(0, a, size)
        });
    }
    ns_per(t0, qs.len())
}

fn bench(n: usize, rng: &mut fastrand::Rng) -> Kept {
    let (entries, top) = layout(n, rng);
    let mut tree = MapleTree::new();
    let mut base = Baseline::default();
    for (k, &(s, e)) in entries.iter().enumerate() {
        tree.store(s..e, k as u64);
        base.store(s, e, k as u64);
    }
    tree.validate().expect("valid tree");
    let overhead = (tree.memory_bytes() - n * size_of::<u64>()) as f64 / n as f64;
    println!(
        "n = {n} (height {}): memory {} bytes, overhead beyond the value {overhead:.1} B/entry",
        tree.height(),
        tree.memory_bytes()
    );
    println!(
        "  {:<12} {:>10} {:>12} {:>8}",
        "op", "maple ns", "btreemap ns", "ratio"
    );

    // lookup
    let q: Vec<u64> = (0..1_000_000).map(|_| rng.u64(..top)).collect();
    let mut hits = 0;
    let m = best_of(|| {
        let t0 = Instant::now();
        hits = q
            .iter()
            .filter(|&&a| black_box(tree.get(a)).is_some())
            .count();
        ns_per(t0, q.len())
    });
    let mut bhits = 0;
    let b = best_of(|| {
        let t0 = Instant::now();
        bhits = q
            .iter()
            .filter(|&&a| black_box(base.load(a)).is_some())
            .count();
        ns_per(t0, q.len())
    });
    assert_eq!(hits, bhits);
    line("lookup", m, b, "");

    // store and erase
    let (per, rounds) = batches(n);
    for what in ["store", "erase"] {
        let batches: Vec<Vec<(u64, u64)>> = (0..rounds)
            .map(|_| {
                (0..per)
                    .map(|_| {
                        let s = rng.u64(..top / PAGE) * PAGE;
                        let pages = if what == "store" {
                            1 + rng.u64(..2)
                        } else {
                            1 + rng.u64(..3)
                        };
                        (s, s + pages * PAGE)
                    })
                    .collect()
            })
            .collect();
        let mut lens = Vec::new();
        let mut churned = (0, 0);
        let m = best_of(|| {
            lens.clear();
            let mut total = 0.0;
            for ops in &batches {
                // Copied right before its timed run, so the copy is as warm
                // as the baseline's below.
                let mut t = tree.clone();
                let t0 = Instant::now();
                for (k, &(s, e)) in ops.iter().enumerate() {
                    if what == "store" {
                        t.store(s..e, k as u64);
                    } else {
                        t.erase(s..e);
                    }
                }
                total += ns_per(t0, per);
                lens.push(t.len());
                churned = (t.memory_bytes(), t.len());
            }
            total / rounds as f64
        });
        let mut blens = Vec::new();
        let b = best_of(|| {
            blens.clear();
            let mut total = 0.0;
            for ops in &batches {
                let mut bb = base.clone();
                let t0 = Instant::now();
                for (k, &(s, e)) in ops.iter().enumerate() {
                    if what == "store" {
                        bb.store(s, e, k as u64);
                    } else {
                        bb.erase(s, e);
                    }
                }
                total += ns_per(t0, per);
                blens.push(bb.map.len());
            }
            total / rounds as f64
        });
        assert_eq!(lens, blens);
        line(
            what,
            m,
            b,
            &format!("{rounds} x {per} ops, each batch on a fresh copy"),
        );
        if what == "store" {
            let (bytes, len) = churned;
            println!(
                "  (after a batch of random stores: {len} entries, overhead {:.1} B/entry)",
                (bytes - len * size_of::<u64>()) as f64 / len as f64
            );
        }
    }

    // gap search
    let mut kept: [Vec<(u64, u64)>; 2] = [Vec::new(), Vec::new()];
    for (dir, what) in [(0, "lowest gap"), (1, "highest gap")] {
        let qs: Vec<(u64, u64)> = (0..100_000)
            .map(|_| (rng.u64(..top), (1 + rng.u64(..6)) * PAGE))
            .collect();
        let mut mres = vec![None; qs.len()];
        let m = best_of(|| time_gaps(&tree, &qs, dir, &mut mres));
        let mut visits = 0;
        let mut done = 0;
        let t0 = Instant::now();
        for (k, &(a, size)) in qs.iter().enumerate() {
            if visits >= SCAN_CAP {
                break;
            }
            let r = if dir == 0 {
                base.lowest_gap(a, u64::MAX, size, &mut visits)
            } else {
                base.highest_gap(0, a, size, &mut visits)
            };
            assert_eq!(
                black_box(r),
                mres[k],
                "{what} disagrees at {a:#x} size {size:#x}"
            );
            done += 1;
        }
        let b = ns_per(t0, done);
        let note = if done < qs.len() {
            format!("baseline capped: ran {done} of {} queries", qs.len())
        } else {
            String::new()
        };
        line(what, m, b, &note);
        kept[dir] = qs;
    }

    // next-walk
    let mut steps = 0;
    let m = best_of(|| {
        let t0 = Instant::now();
        let mut c = tree.cursor(0);
        steps = usize::from(c.value().is_some());
        while black_box(c.next_entry()).is_some() {
            steps += 1;
        }
        ns_per(t0, steps)
    });
    let mut bsteps = 0;
    let b = best_of(|| {
        let t0 = Instant::now();
        bsteps = base.map.iter().map(black_box).count();
        ns_per(t0, bsteps)
    });
    assert_eq!(steps, bsteps);
    line("next-walk", m, b, "ns per step over all entries");
    println!();
    let sizes: Vec<u64> = (0..100_000).map(|_| (1 + rng.u64(..6)) * PAGE).collect();
    Kept {
        tree,
        queries: kept,
        fixed: [
            sizes.iter().map(|&z| (16 * PAGE, z)).collect(),
            sizes.iter().map(|&z| (top, z)).collect(),
        ],
        lookups: q[..100_000].to_vec(),
    }
}

fn main() {
    println!(
        "maple vs BTreeMap<u64, (u64, u64)> baseline; V = u64; ns/op; ratio = maple / baseline"
    );
    println!(
        "(baseline gap search walks entries linearly, capped at {SCAN_CAP} entry visits per line)\n"
    );
    let mut rng = fastrand::Rng::with_seed(0x2545_f491_4f6c_dd1d);
    let small = bench(1_000, &mut rng);
    drop(bench(65_536, &mut rng));
    let large = bench(1_000_000, &mut rng);

    // The scaling ratio compares two measurements, so load from other
    // processes between them would skew it: time the 1k and 1M searches in
    // alternation, after a warm-up of each, and keep the best of each.
    let mut out = vec![None; 100_000];
    for (label, pick) in [("random windows", 0usize), ("fixed window (mmap-style)", 1)] {
        let mut best = [[f64::INFINITY; 2]; 2];
        for round in 0..=5 {
            for (i, kept) in [&small, &large].into_iter().enumerate() {
                for (dir, slot) in best[i].iter_mut().enumerate() {
                    let qs = if pick == 0 {
                        &kept.queries[dir]
                    } else {
                        &kept.fixed[dir]
                    };
                    let t = time_gaps(&kept.tree, qs, dir, &mut out);
                    if round > 0 {
                        *slot = slot.min(t);
                    }
                }
            }
        }
        println!(
            "gap search 1M vs 1k, {label}: lowest {:.1} / {:.1} ns = {:.2}x, highest {:.1} / {:.1} ns = {:.2}x",
            best[1][0],
            best[0][0],
            best[1][0] / best[0][0],
            best[1][1],
            best[0][1],
            best[1][1] / best[0][1]
        );
    }
    let mut best = [f64::INFINITY; 2];
    for round in 0..=5 {
        for (i, kept) in [&small, &large].into_iter().enumerate() {
            let t0 = Instant::now();
            let hits = kept
                .lookups
                .iter()
                .filter(|&&a| black_box(kept.tree.get(a)).is_some())
                .count();
            black_box(hits);
            if round > 0 {
                best[i] = best[i].min(ns_per(t0, kept.lookups.len()));
            }
        }
    }
    println!(
        "for scale, lookup 1M vs 1k at random addresses: {:.1} / {:.1} ns = {:.2}x",
        best[1],
        best[0],
        best[1] / best[0]
    );
    println!("(target <= 3x; alternating 1k/1M runs, best of 5 each)");
}
