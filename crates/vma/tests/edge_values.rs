//! Every public method of `Mm` called with absurd arguments -- addresses,
//! lengths and offsets at 0, 1, a page minus one, 2^63, 2^64-1 and around
//! `TASK_SIZE`, in every combination -- returns the kernel's errno (where
//! it is pinned below), never panics, and leaves every invariant intact.
//! Run it with overflow checks on (`cargo test -p vma`, or the `ci`
//! profile of `.ci/run`): a wrapping computation is a panic there.

mod common;
use common::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use vma::config::{Overcommit, Rlimits};
use vma::sys::consts::*;
use vma::{
    Access, Config, Errno, File, FileKind, Mm, RecordingEnv, SeedProcess, SeedVma, UffdCtx, VmFlags,
};

/// `TASK_SIZE` of the default configuration.
fn task_size() -> u64 {
    Config::default().task_size
}

/// The edge values of an address, a length or an offset.
fn edges() -> Vec<u64> {
    let ts = task_size();
    vec![
        0,
        1,
        P - 1,
        P,
        BASE,
        1 << 63,
        u64::MAX - P + 1,
        u64::MAX,
        ts - P,
        ts - 1,
        ts,
        ts + 1,
    ]
}

/// Configurations the calls run under: the default, 5-level paging, a
/// small address space with the legacy layout, and absurd sysctls, limits
/// and process layouts (a `Config` is input too). Each comes with the
/// process's mmap base, if not the default.
fn configs() -> Vec<(Config, Option<u64>, bool)> {
    let d = Config {
        anon_vma_name: true,
        ..Config::default()
    };
    let huge = Config {
        task_size: !(P - 1),
        mmap_min_addr: 0,
        overcommit: Overcommit::Never,
        overcommit_ratio: u64::MAX,
        total_ram_pages: u64::MAX,
        total_swap_pages: u64::MAX,
        stack_guard_gap: u64::MAX,
        max_map_count: usize::MAX,
        cap_ipc_lock: true,
        rlimits: Rlimits {
            address_space: u64::MAX,
            data: u64::MAX,
            stack: u64::MAX,
            memlock: u64::MAX,
        },
        ..d.clone()
    };
    let tiny = Config {
        task_size: P - 1,
        mmap_min_addr: u64::MAX,
        overcommit: Overcommit::Never,
        total_ram_pages: 0,
        max_map_count: 0,
        stack_guard_gap: 0,
        rlimits: Rlimits {
            address_space: 0,
            data: 0,
            stack: 0,
            memlock: 0,
        },
        ..d.clone()
    };
    let five_level = Config {
        task_size: (1 << 56) - P,
        ..d.clone()
    };
    let small = Config {
        task_size: 1 << 32,
        ..d.clone()
    };
    vec![
        (d, None, false),
        (five_level, Some(u64::MAX - P + 1), false),
        (huge.clone(), None, false),
        (huge.clone(), Some(u64::MAX - P + 1), true),
        (
            Config {
                task_size: u64::MAX,
                ..huge
            },
            Some(1 << 63),
            false,
        ),
        (tiny, None, false),
        (small.clone(), Some(0), false),
        (small, Some(u64::MAX), true),
    ]
}

/// A file of 2^40 pages (reaching the largest offsets a file may have).
fn big_file() -> File {
    File::new("big", 1 << 40, FileKind::Regular, true, true)
}

/// An address space with something everywhere a call may look: faulted
/// anonymous memory with a guard region at `BASE`, a file mapping, a
/// shared mapping, a stack-like VMA just below `TASK_SIZE` and a heap.
/// Under the absurd configurations some of these calls fail; that is fine.
fn setup(variant: &(Config, Option<u64>, bool), fail_alloc: Option<usize>) -> Mm<RecordingEnv> {
    let (config, base, legacy) = variant;
    let mut m = Mm::with_env(config.clone(), RecordingEnv::default());
    let mut p = m.process().clone();
    if let Some(b) = *base {
        p.mmap_base = b;
        p.mmap_legacy_base = b;
    }
    p.legacy_layout = *legacy;
    m.set_process(p).expect("any layout is accepted");
    let ts = m.config.task_size;
    let _ = m.mmap(BASE, 8 * P, RW, ANON, None, 0);
    let _ = m.fault(BASE, Access::Write);
    let _ = m.madvise(BASE + 2 * P, P, MADV_GUARD_INSTALL);
    let f = big_file();
    let _ = m.mmap(
        BASE + 8 * P,
        4 * P,
        PROT_READ,
        MAP_PRIVATE | MAP_FIXED,
        Some(&f),
        0,
    );
    let _ = m.mmap(BASE + 16 * P, 4 * P, RW, SHARED_ANON, None, 0);
    let top = ts.wrapping_sub(4 * P) & !(P - 1);
    let _ = m.mmap(top, 4 * P, RW, ANON | MAP_GROWSDOWN, None, 0);
    m.brk(m.process().brk.wrapping_add(2 * P));
    m.env.fail_alloc = fail_alloc.map(|n| m.env.allocs + n);
    m
}

thread_local! {
    /// Where the last panic on this thread happened.
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Panics are collected, not printed: record where each happened.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let at = info.location().map(|l| l.to_string()).unwrap_or_default();
            let probing = PANIC_AT.with(|p| p.borrow_mut().as_mut().map(|s| *s = at).is_some());
            if !probing {
                default(info);
            }
        }))
    });
}

/// Runs `call` on a fresh address space for every allocation-failure
/// setting in `fails`; returns a description of each panic or broken
/// invariant, and checks `expect` (if any) without injected failures.
fn probe<T: std::fmt::Debug + PartialEq>(
    what: &str,
    expect: Option<Result<T, Errno>>,
    call: impl Fn(&mut Mm<RecordingEnv>) -> Result<T, Errno>,
) -> Vec<String> {
    quiet_panics();
    let mut bad = Vec::new();
    let variants = if expect.is_some() {
        configs()[..1].to_vec()
    } else {
        configs()
    };
    for (i, variant) in variants.iter().enumerate() {
        for fail in [None, Some(0), Some(1)] {
            PANIC_AT.with(|p| *p.borrow_mut() = Some(String::new()));
            let res = catch_unwind(AssertUnwindSafe(|| {
                let mut m = setup(variant, fail);
                let r = call(&mut m);
                (r, m.validate())
            }));
            let loc = PANIC_AT.with(|p| p.borrow_mut().take()).unwrap_or_default();
            let at = format!("{what} (config {i}, fail {fail:?})");
            match res {
                Err(p) => {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    bad.push(format!("{at}: panic at {loc}: {msg}"));
                    return bad;
                }
                Ok((_, Err(e))) => bad.push(format!("{at}: invariant: {e}")),
                Ok((r, Ok(()))) => {
                    if let (None, Some(want)) = (fail, &expect) {
                        if &r != want {
                            bad.push(format!("{at}: {r:?}, the kernel gives {want:?}"));
                        }
                    }
                }
            }
        }
    }
    bad
}

/// Fails with every collected problem at once.
#[track_caller]
fn assert_none(bad: Vec<String>) {
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad[..bad.len().min(40)].join("\n")
    );
}

/// A range method `(start, len)` over every pair of edge values.
fn range_method(name: &str, call: impl Fn(&mut Mm<RecordingEnv>, u64, u64) -> Result<(), Errno>) {
    let mut bad = Vec::new();
    for a in edges() {
        for l in edges() {
            bad.extend(probe(
                &format!("{name}({a:#x}, {l:#x})"),
                None::<Result<(), _>>,
                |m| call(m, a, l),
            ));
        }
    }
    assert_none(bad);
}

#[test]
fn munmap_edges() {
    range_method("munmap", |m, a, l| m.munmap(a, l));
    // do_vmi_munmap: an unaligned start, a start above TASK_SIZE, a length
    // reaching past it or rounding to nothing is EINVAL.
    let ts = task_size();
    let mut bad = Vec::new();
    for (a, l) in [
        (0, u64::MAX),
        (BASE, u64::MAX),
        (BASE, 0),
        (BASE + 1, P),
        (ts + 1, P),
        (1 << 63, P),
        (ts - P, 2 * P),
    ] {
        bad.extend(probe(
            &format!("munmap({a:#x}, {l:#x})"),
            Some(Err(Errno::EINVAL)),
            |m| m.munmap(a, l),
        ));
    }
    assert_none(bad);
}

#[test]
fn mmap_edges() {
    let file = big_file();
    let mut bad = Vec::new();
    for a in edges() {
        for l in edges() {
            for off in edges() {
                for flags in [
                    MAP_PRIVATE | MAP_ANONYMOUS,
                    ANON,
                    SHARED_ANON,
                    MAP_PRIVATE,
                    MAP_SHARED | MAP_FIXED_NOREPLACE,
                ] {
                    bad.extend(probe(
                        &format!("mmap({a:#x}, {l:#x}, off {off:#x}, flags {flags:#x})"),
                        None::<Result<u64, _>>,
                        |m| m.mmap(a, l, RW, flags, Some(&file), off),
                    ));
                }
            }
        }
    }
    assert_none(bad);
}

#[test]
fn mmap_pinned_errnos() {
    let file = big_file();
    let ts = task_size();
    let anon = MAP_PRIVATE | MAP_ANONYMOUS;
    type Case = (u64, u64, u32, u64, Result<u64, Errno>);
    let cases: &[Case] = &[
        // A length of zero; one that page-aligns to zero (ENOMEM).
        (0, 0, anon, 0, Err(Errno::EINVAL)),
        (0, u64::MAX, anon, 0, Err(Errno::ENOMEM)),
        (0, ts + 1, anon, 0, Err(Errno::ENOMEM)),
        // An unaligned offset.
        (0, P, anon, 1, Err(Errno::EINVAL)),
        // Anonymous private memory ignores its offset, even the largest.
        (
            BASE + 32 * P,
            P,
            anon | MAP_FIXED,
            u64::MAX - P + 1,
            Ok(BASE + 32 * P),
        ),
        // A file offset beyond MAX_LFS_FILESIZE (file_mmap_ok).
        (0, P, MAP_PRIVATE, u64::MAX - P + 1, Err(Errno::EOVERFLOW)),
        (0, P, MAP_PRIVATE, 1 << 63, Err(Errno::EOVERFLOW)),
        // MAP_FIXED reaching past TASK_SIZE.
        (ts - P, 2 * P, anon | MAP_FIXED, 0, Err(Errno::ENOMEM)),
        (u64::MAX - P + 1, P, anon | MAP_FIXED, 0, Err(Errno::ENOMEM)),
    ];
    let mut bad = Vec::new();
    for &(a, l, flags, off, want) in cases {
        bad.extend(probe(
            &format!("mmap({a:#x}, {l:#x}, flags {flags:#x}, off {off:#x})"),
            Some(want),
            |m| m.mmap(a, l, RW, flags, Some(&file), off),
        ));
    }
    // A hint above TASK_SIZE, with and without a file, is not taken.
    for hint in [ts, ts + 1, 1 << 63, u64::MAX] {
        for flags in [anon, MAP_PRIVATE, MAP_SHARED] {
            bad.extend(probe(
                &format!("mmap hint {hint:#x}"),
                None::<Result<u64, _>>,
                |m| {
                    let a = m.mmap(hint, P, RW, flags, Some(&file), 0)?;
                    assert!(a + P <= ts, "mapped at {a:#x}");
                    Ok(a)
                },
            ));
        }
    }
    assert_none(bad);
}

#[test]
fn mprotect_edges() {
    range_method("mprotect", |m, a, l| m.mprotect(a, l, PROT_READ));
    range_method("pkey_mprotect", |m, a, l| {
        m.pkey_mprotect(a, l, PROT_READ, 0)
    });
    let mut bad = Vec::new();
    for (a, l, want) in [
        (BASE + 1, P, Err(Errno::EINVAL)),
        (BASE, 0, Ok(())),
        (BASE, u64::MAX, Err(Errno::ENOMEM)),
        (1 << 63, P, Err(Errno::ENOMEM)),
    ] {
        bad.extend(probe(
            &format!("mprotect({a:#x}, {l:#x})"),
            Some(want),
            |m| m.mprotect(a, l, PROT_READ),
        ));
    }
    assert_none(bad);
}

#[test]
fn madvise_edges() {
    for advice in [
        MADV_DONTNEED,
        MADV_FREE,
        MADV_DONTFORK,
        MADV_WILLNEED,
        MADV_POPULATE_WRITE,
        MADV_GUARD_INSTALL,
        MADV_GUARD_REMOVE,
        MADV_COLLAPSE,
        -1,
    ] {
        range_method(&format!("madvise {advice}"), |m, a, l| {
            m.madvise(a, l, advice)
        });
    }
}

#[test]
fn mlock_family_edges() {
    range_method("mlock", |m, a, l| m.mlock(a, l));
    range_method("mlock2", |m, a, l| m.mlock2(a, l, MLOCK_ONFAULT));
    range_method("munlock", |m, a, l| m.munlock(a, l));
    let mut bad = Vec::new();
    for flags in [
        0,
        MCL_CURRENT,
        MCL_FUTURE,
        MCL_CURRENT | MCL_ONFAULT,
        8,
        u32::MAX,
    ] {
        bad.extend(probe(
            &format!("mlockall({flags:#x})"),
            None::<Result<(), _>>,
            |m| {
                m.mlockall(flags)?;
                m.munlockall()
            },
        ));
    }
    assert_none(bad);
}

#[test]
fn mseal_mbind_uffd_prctl_edges() {
    range_method("mseal", |m, a, l| m.mseal(a, l, 0));
    range_method("mbind", |m, a, l| m.mbind(a, l, MPOL_BIND, 1, 0));
    range_method("uffd_register", |m, a, l| {
        m.uffd_register(UffdCtx(1), a, l, 1)
    });
    range_method("uffd_unregister", |m, a, l| {
        m.uffd_unregister(UffdCtx(1), a, l)
    });
    range_method("prctl_set_vma_anon_name", |m, a, l| {
        m.prctl_set_vma_anon_name(a, l, Some("x"))
    });
}

#[test]
fn mremap_edges() {
    let e = edges();
    let mut bad = Vec::new();
    for &a in &e {
        for &old in &e {
            for &new in &e {
                for (flags, to) in [
                    (0, 0),
                    (MREMAP_MAYMOVE, 0),
                    (MREMAP_MAYMOVE | MREMAP_FIXED, BASE + 64 * P),
                    (MREMAP_MAYMOVE | MREMAP_FIXED, u64::MAX - P + 1),
                    (
                        MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
                        task_size() - P,
                    ),
                ] {
                    bad.extend(probe(
                        &format!("mremap({a:#x}, {old:#x}, {new:#x}, {flags}, {to:#x})"),
                        None::<Result<u64, _>>,
                        |m| m.mremap(a, old, new, flags, to),
                    ));
                }
            }
        }
    }
    assert_none(bad);
}

#[test]
fn single_address_methods() {
    let mut bad = Vec::new();
    for a in edges() {
        for acc in [Access::Read, Access::Write] {
            bad.extend(probe(
                &format!("fault({a:#x})"),
                None::<Result<(), _>>,
                |m| {
                    let _ = m.fault(a, acc);
                    Ok(())
                },
            ));
        }
        bad.extend(probe(
            &format!("brk({a:#x})"),
            None::<Result<u64, _>>,
            |m| Ok(m.brk(a)),
        ));
        for shift in edges() {
            bad.extend(probe(
                &format!("relocate_stack({a:#x}, {shift:#x})"),
                None::<Result<(), _>>,
                |m| m.relocate_stack(a, shift),
            ));
        }
        bad.extend(probe(
            &format!("pkey_free({a:#x})"),
            None::<Result<(), _>>,
            |m| m.pkey_free(a as i64),
        ));
        bad.extend(probe(
            &format!("pkey_alloc({a:#x})"),
            None::<Result<i32, _>>,
            |m| m.pkey_alloc(a, a),
        ));
    }
    for on in [true, false] {
        bad.extend(probe(
            "prctl_set_memory_merge",
            None::<Result<(), _>>,
            |m| m.prctl_set_memory_merge(on),
        ));
    }
    bad.extend(probe("fork", None::<Result<(), _>>, |m| {
        let c = m.fork()?;
        c.validate().map_err(|_| Errno::EFAULT)
    }));
    assert_none(bad);
}

/// Ranges starting in the kernel half or rounding past 2^64, as Linux 6.18
/// answers them (scenarios/misc/edge_values.scenario checks the kernel).
#[test]
fn kernel_half_and_wrapping_ranges() {
    let half = 1 << 63;
    let top = u64::MAX - P + 1;
    type RangeCall = fn(&mut Mm<RecordingEnv>, u64, u64) -> Result<(), Errno>;
    let cases: &[(&str, RangeCall, u64, u64, Errno)] = &[
        ("munmap", |m, a, l| m.munmap(a, l), top, P, Errno::EINVAL),
        (
            "munmap",
            |m, a, l| m.munmap(a, l),
            BASE,
            u64::MAX,
            Errno::EINVAL,
        ),
        (
            "mprotect",
            |m, a, l| m.mprotect(a, l, PROT_READ),
            top,
            P,
            Errno::ENOMEM,
        ),
        (
            "mprotect",
            |m, a, l| m.mprotect(a, l, PROT_READ),
            BASE,
            u64::MAX,
            Errno::ENOMEM,
        ),
        ("mlock", |m, a, l| m.mlock(a, l), half, P, Errno::ENOMEM),
        (
            "madvise",
            |m, a, l| m.madvise(a, l, MADV_DONTNEED),
            half,
            P,
            Errno::ENOMEM,
        ),
        ("mseal", |m, a, l| m.mseal(a, l, 0), half, P, Errno::ENOMEM),
    ];
    let mut bad = Vec::new();
    for &(name, call, a, l, want) in cases {
        bad.extend(probe(
            &format!("{name}({a:#x}, {l:#x})"),
            Some(Err(want)),
            |m| call(m, a, l),
        ));
    }
    assert_none(bad);
}

/// `seed` with every pair of edge values as a VMA (and absurd offsets and
/// flags), into a fresh address space; `note_anon_fault` at every edge.
#[test]
fn seed_and_note_anon_fault_edges() {
    let mut bad = Vec::new();
    for s in edges() {
        for e in edges() {
            for (pgoff, flags) in [
                (s / P, VmFlags::READ | VmFlags::WRITE | VmFlags::ACCOUNT),
                (
                    u64::MAX,
                    VmFlags::LOCKED | VmFlags::SEALED | VmFlags::GROWSDOWN,
                ),
                (0, VmFlags::SHARED | VmFlags(u64::MAX >> 1)),
            ] {
                let vma = SeedVma {
                    start: s,
                    end: e,
                    pgoff,
                    flags,
                    file: None,
                    faulted: true,
                };
                let process = SeedProcess {
                    start_brk: s,
                    brk: e,
                    start_stack: Some(e),
                    mmap_base: Some(s),
                };
                let what = format!("seed({s:#x}-{e:#x}, pgoff {pgoff:#x}, {flags:?})");
                bad.extend(probe(&what, None::<Result<(), _>>, |m| {
                    let mut fresh = Mm::with_env(m.config.clone(), RecordingEnv::default());
                    fresh.env.fail_alloc = m.env.fail_alloc.map(|n| n - m.env.allocs);
                    let r = fresh.seed(&[vma.clone(), vma.clone()], process);
                    let r2 = fresh.seed(std::slice::from_ref(&vma), process);
                    if let Err(e) = fresh.validate() {
                        panic!("invariant after seed: {e}");
                    }
                    r.or(r2)
                }));
            }
        }
        bad.extend(probe(
            &format!("note_anon_fault({s:#x})"),
            None::<Result<(), _>>,
            |m| m.note_anon_fault(s),
        ));
    }
    assert_none(bad);
}
