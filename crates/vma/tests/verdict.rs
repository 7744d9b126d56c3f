//! Merge verdicts agree with what the kernel's rules do. Random call
//! sequences build layouts (files with contiguous and broken offsets,
//! faults, forks, policies, names, userfaultfd, locks); then, for every
//! pair of adjacent VMAs, the verdict is compared with a real merge
//! attempt on a fresh copy of the same layout:
//!
//! `mprotect` the upper VMA to a protection that neither it, the lower
//! VMA nor the VMA above it has (so nothing can merge), then back to its
//! own protection. The second call sets the upper VMA's attributes again
//! as they were, with the lower one as `prev`: exactly the question the
//! verdict answers. The pair merged iff the lower VMA now covers the
//! upper one's start.
//!
//! `VMALAB_VERDICT_CASES=N` sets the number of layouts (default 2000).

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Access, Config, KernelVersion, Mm, NoMerge, UffdCtx, VmFlags};

/// Pages of the window the calls stay in.
const PAGES: u64 = 24;

/// The address space a seed builds, with the ancestors a fork left
/// behind (alive, as a waiting parent is) and the files.
struct Built {
    mm: Mm,
    _parents: Vec<Mm>,
}

fn config(version: (u16, u16)) -> Config {
    Config {
        version: KernelVersion(version.0, version.1, 0),
        anon_vma_name: true,
        numa: true,
        numa_nodes: 2,
        userfaultfd: true,
        ..Config::default()
    }
}

/// A random page-aligned range of the window.
fn range(r: &mut Rng) -> (u64, u64) {
    let start = r.below(PAGES);
    let len = 1 + r.below((PAGES - start).min(6));
    (pg(start), len * P)
}

fn prot(r: &mut Rng) -> u32 {
    // Mostly one protection, so that other attributes decide.
    [
        PROT_READ,
        RW,
        PROT_NONE,
        PROT_READ | PROT_EXEC,
        RW,
        RW,
        RW,
        RW,
    ][r.below(8) as usize]
}

/// Runs `ops` random calls from `seed`; results are ignored (a refused
/// call is part of the layout's history too).
fn build(seed: u64, ops: u64, version: (u16, u16)) -> Built {
    let mut r = Rng::seeded(seed);
    let mut mm = Mm::new(config(version));
    let files = [memfd(64, true), memfd(64, true)];
    let mut parents = Vec::new();
    for _ in 0..ops {
        let (a, len) = range(&mut r);
        match r.below(16) {
            0..=3 => {
                let extra = if r.below(4) == 0 { MAP_NORESERVE } else { 0 };
                let _ = mm.mmap(a, len, prot(&mut r), ANON | extra, None, 0);
            }
            4 | 5 => {
                let f = &files[r.below(2) as usize];
                // Mostly the page's own offset, so neighbours line up.
                let off = if r.below(3) == 0 {
                    r.below(8) * P
                } else {
                    a - BASE
                };
                let flags = MAP_SHARED | MAP_FIXED;
                let _ = mm.mmap(a, len, prot(&mut r), flags, Some(f), off);
            }
            6 | 7 => {
                let _ = mm.mprotect(a, len, prot(&mut r));
            }
            8 => {
                let _ = mm.munmap(a, len);
            }
            9 | 10 => {
                let _ = mm.fault(a, Access::Write);
            }
            11 => {
                if let Ok(child) = mm.fork() {
                    parents.push(std::mem::replace(&mut mm, child));
                }
            }
            12 => {
                let advice = [MADV_DONTDUMP, MADV_DODUMP, MADV_DODUMP][r.below(3) as usize];
                let _ = mm.madvise(a, len, advice);
            }
            13 => {
                let _ = mm.mbind(a, len, MPOL_BIND, 1 + r.below(2), 0);
            }
            14 => {
                let name = ["a", "b"][r.below(2) as usize];
                let _ = mm.prctl_set_vma_anon_name(a, len, Some(name));
            }
            _ => {
                let ctx = UffdCtx(1 + r.below(2) as u32);
                let _ = mm.uffd_register(ctx, a, len, UFFDIO_REGISTER_MODE_MISSING);
            }
        }
    }
    Built {
        mm,
        _parents: parents,
    }
}

fn prot_of(f: VmFlags) -> u32 {
    (f.bits() & 7) as u32
}

/// What the round trip on pair `k` of a fresh build showed: `None` when
/// it could not ask (a call failed, or the round trip changed more than
/// the protection).
fn merged_by_round_trip(seed: u64, ops: u64, version: (u16, u16), k: usize) -> Option<bool> {
    let mut b = build(seed, ops, version);
    let mm = &mut b.mm;
    let pair = mm.merge_verdicts()[k];
    let (l, u) = (mm.get(pair.lower)?, mm.get(pair.upper)?);
    let (u_start, u_len, u_flags) = (u.start, u.end - u.start, u.flags);
    let above = mm.vma_at(u.end).and_then(|id| mm.get(id)).map(|v| v.flags);
    let taken = [Some(l.flags), Some(u_flags), above];
    let other = [PROT_NONE, PROT_READ, PROT_READ | PROT_EXEC]
        .into_iter()
        .find(|&q| !taken.iter().flatten().any(|&f| prot_of(f) == q))?;
    mm.mprotect(u_start, u_len, other).ok()?;
    if mm.get(pair.upper).map(|v| v.flags.without(VmFlags::ACCESS))
        != Some(u_flags.without(VmFlags::ACCESS))
    {
        return None;
    }
    mm.mprotect(u_start, u_len, prot_of(u_flags)).ok()?;
    let merged = mm.vma_at(u_start) == Some(pair.lower);
    if !merged && mm.get(pair.upper).map(|v| v.flags) != Some(u_flags) {
        return None;
    }
    mm.validate().ok()?;
    Some(merged)
}

#[test]
fn verdicts_agree_with_merges_on_random_layouts() {
    let cases: u64 = std::env::var("VMALAB_VERDICT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let versions = [(6, 12), (6, 18), (7, 2)];
    let (mut asked, mut unasked, mut merges) = (0, 0, 0);
    let mut reasons = std::collections::BTreeMap::new();
    let mut anon_kinds = std::collections::BTreeSet::new();
    for seed in 1..=cases {
        let version = versions[seed as usize % versions.len()];
        let ops = 10 + seed % 40;
        let b = build(seed, ops, version);
        let verdicts = b.mm.merge_verdicts();
        for (k, pair) in verdicts.iter().enumerate() {
            let Some(merged) = merged_by_round_trip(seed, ops, version, k) else {
                unasked += 1;
                continue;
            };
            asked += 1;
            merges += u64::from(merged);
            let rule = pair.verdict.reason().map_or("merges", NoMerge::rule);
            if let Some(NoMerge::AnonVma(c)) = pair.verdict.reason() {
                let kind = format!("{c:?}");
                anon_kinds.insert(kind.split(['(', ' ']).next().unwrap_or("").to_string());
            }
            *reasons.entry(rule).or_insert(0u64) += 1;
            assert_eq!(
                pair.verdict.would_merge(),
                merged,
                "seed {seed}, {ops} calls, Linux {version:?}, pair {k}: verdict {} \
                 but the merge {}",
                pair.verdict,
                if merged { "happened" } else { "did not" }
            );
        }
    }
    println!("{asked} pairs asked ({merges} merged), {unasked} not askable; by rule: {reasons:?}");
    assert!(asked > 2 * unasked && asked >= cases, "too few pairs asked");
    // The layouts must exercise the interesting rules, or the test proves little.
    for rule in [
        "merges",
        "flags differ",
        "anon_vma incompatible",
        "offset discontiguous",
        "different file",
        "memory policy differs",
        "anon name differs",
        "userfaultfd context differs",
    ] {
        assert!(reasons.contains_key(rule), "no pair refused for {rule}");
    }
    for kind in ["BothFaulted", "ForkChild", "ChainNotSingular"] {
        assert!(anon_kinds.contains(kind), "no anon_vma refusal {kind}");
    }
}
