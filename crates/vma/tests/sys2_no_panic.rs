//! No input panics: random sequences of the part-2 system calls (madvise,
//! guard regions, mlock family, mseal, mbind, userfaultfd, prctl) with
//! arbitrary arguments, mixed with mmap/munmap/mprotect/fork/faults, keep
//! every invariant.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Access, Config, Mm, UffdCtx};

fn step(m: &mut Mm, r: &mut Rng) -> bool {
    let (a, l) = (r.addr(), r.len());
    let res = match r.below(18) {
        0 | 1 => {
            let prot = [PROT_NONE, PROT_READ, RW][r.below(3) as usize];
            let flags =
                [ANON, SHARED_ANON, MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED][r.below(3) as usize];
            m.mmap(a, l, prot, flags, None, 0).map(|_| ())
        }
        2 => m.munmap(a, l),
        3 => m.mprotect(a, l, r.below(8) as u32),
        4 | 5 => {
            let advice = if r.below(4) == 0 {
                r.next() as i32
            } else {
                [
                    MADV_NORMAL,
                    MADV_RANDOM,
                    MADV_SEQUENTIAL,
                    MADV_WILLNEED,
                    MADV_DONTNEED,
                    MADV_FREE,
                    MADV_REMOVE,
                    MADV_DONTFORK,
                    MADV_DOFORK,
                    MADV_MERGEABLE,
                    MADV_UNMERGEABLE,
                    MADV_HUGEPAGE,
                    MADV_NOHUGEPAGE,
                    MADV_DONTDUMP,
                    MADV_DODUMP,
                    MADV_WIPEONFORK,
                    MADV_KEEPONFORK,
                    MADV_COLD,
                    MADV_PAGEOUT,
                    MADV_POPULATE_READ,
                    MADV_POPULATE_WRITE,
                    MADV_DONTNEED_LOCKED,
                    MADV_COLLAPSE,
                    MADV_HWPOISON,
                    MADV_GUARD_INSTALL,
                    MADV_GUARD_REMOVE,
                ][r.below(26) as usize]
            };
            m.madvise(a, l, advice)
        }
        6 => m.mlock(a, l),
        7 => m.mlock2(a, l, r.below(3) as u32),
        8 => m.munlock(a, l),
        9 => m.mlockall(r.below(9) as u32),
        10 => m.munlockall(),
        11 => m.mseal(a, l, r.below(4) / 3),
        12 => m.mbind(
            a,
            l,
            r.below(9) as u32 | ((r.below(8) as u32) << 13),
            r.below(4),
            r.below(9) as u32,
        ),
        13 => m.uffd_register(UffdCtx(r.below(2) as u32), a, l, r.below(9)),
        14 => m.uffd_unregister(UffdCtx(1), a, l),
        15 => {
            let names = [None, Some("n"), Some("m"), Some("bad["), Some("")];
            m.prctl_set_vma_anon_name(a, l, names[r.below(5) as usize])
        }
        16 => m.prctl_set_memory_merge(r.below(2) == 0),
        _ => {
            let acc = if r.below(2) == 0 {
                Access::Read
            } else {
                Access::Write
            };
            let _ = m.fault(a, acc);
            Ok(())
        }
    };
    if let Err(e) = m.validate() {
        panic!("invariant broken: {e}");
    }
    res.is_ok()
}

#[test]
fn random_sequences_keep_invariants() {
    for seed in 1..=40u64 {
        let mut r = Rng::seeded(seed);
        let mut m = Mm::new(Config {
            anon_vma_name: seed % 2 == 0,
            max_map_count: 6 + (seed as usize % 40),
            ..Config::default()
        });
        m.config.rlimits.memlock = (seed % 5) * 4 * P;
        let mut ok = 0;
        let mut vmas = 0;
        for i in 0..400 {
            ok += usize::from(step(&mut m, &mut r));
            vmas += m.map_count();
            if i % 97 == 96 {
                let mut c = m.fork().unwrap();
                for _ in 0..20 {
                    step(&mut c, &mut r);
                }
            }
        }
        // The sequences do real work, not just argument errors.
        assert!(ok > 100 && vmas > 400, "seed {seed}: {ok} calls succeeded");
    }
}
