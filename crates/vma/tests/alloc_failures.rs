//! Every allocation a system call makes fails in turn: the call returns
//! an errno (never panics) and the address space stays consistent
//! (`validate`), whatever state the kernel's partial failure leaves.

use vma::sys::consts::*;
use vma::{Access, Config, Errno, File, FileKind, Mm, RecordingEnv};

const P: u64 = 0x1000;
const BASE: u64 = 0x1000_0000;
const RW: u32 = PROT_READ | PROT_WRITE;
const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

type Call = fn(&mut Mm<RecordingEnv>) -> Result<(), Errno>;

/// Faulted private VMAs with different flags, holes, a shared mapping,
/// and an unfaulted private one.
fn setup() -> Mm<RecordingEnv> {
    let mut m = Mm::with_env(Config::default(), RecordingEnv::default());
    m.mmap(BASE, 8 * P, RW, ANON, None, 0).unwrap();
    m.mmap(BASE + 8 * P, 4 * P, PROT_READ, ANON, None, 0)
        .unwrap();
    m.mmap(
        BASE + 16 * P,
        4 * P,
        RW,
        MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
        None,
        0,
    )
    .unwrap();
    m.mmap(BASE + 24 * P, 4 * P, PROT_READ | PROT_EXEC, ANON, None, 0)
        .unwrap();
    for page in [0, 5, 16] {
        m.fault(BASE + page * P, Access::Write).unwrap();
    }
    m
}

const CALLS: &[(&str, Call)] = &[
    ("mmap over two VMAs", |m| {
        m.mmap(BASE + 6 * P, 4 * P, PROT_EXEC, ANON, None, 0)
            .map(|_| ())
    }),
    ("munmap across a split", |m| m.munmap(BASE + 2 * P, 8 * P)),
    ("mmap a private file over accounted memory", |m| {
        let file = File::new("f", 16, FileKind::Regular, true, true);
        let flags = MAP_PRIVATE | MAP_FIXED;
        m.mmap(BASE + 2 * P, 2 * P, RW, flags, Some(&file), 0)
            .map(|_| ())
    }),
    ("mprotect splitting", |m| {
        m.mprotect(BASE + 2 * P, 2 * P, PROT_READ)
    }),
    ("mprotect merging", |m| m.mprotect(BASE + 8 * P, 4 * P, RW)),
    ("mremap move", |m| {
        m.mremap(
            BASE + 2 * P,
            4 * P,
            4 * P,
            MREMAP_MAYMOVE | MREMAP_FIXED,
            BASE + 40 * P,
        )
        .map(|_| ())
    }),
    ("mremap grow", |m| {
        m.mremap(BASE + 8 * P, 4 * P, 6 * P, MREMAP_MAYMOVE, 0)
            .map(|_| ())
    }),
    ("mremap dontunmap", |m| {
        m.mremap(
            BASE,
            4 * P,
            4 * P,
            MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
            BASE + 40 * P,
        )
        .map(|_| ())
    }),
    ("madvise split", |m| {
        m.madvise(BASE + 2 * P, 2 * P, MADV_DONTFORK)
    }),
    ("guard install", |m| {
        m.madvise(BASE + 2 * P, 2 * P, MADV_GUARD_INSTALL)
    }),
    ("mlock", |m| m.mlock(BASE + P, 2 * P)),
    ("mseal", |m| m.mseal(BASE + P, 2 * P, 0)),
    ("first write fault", |m| {
        m.mprotect(BASE + 24 * P, 4 * P, RW)?;
        m.fault(BASE + 25 * P, Access::Write)
            .map_err(|_| Errno::EFAULT)
    }),
    ("fork", |m| m.fork().map(|_| ())),
    ("relocate stack", |m| m.relocate_stack(BASE, 4 * P)),
];

#[test]
fn every_allocation_may_fail() {
    for (name, call) in CALLS {
        let mut m = setup();
        let before = m.env.allocs;
        let ok = call(&mut m);
        m.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let n = m.env.allocs - before;
        assert!(ok.is_ok(), "{name} fails without injected failures: {ok:?}");
        for i in 0..n {
            let mut m = setup();
            m.env.fail_alloc = Some(m.env.allocs + i);
            let r = call(&mut m);
            m.validate()
                .unwrap_or_else(|e| panic!("{name}, allocation {i} failing: {e}"));
            if let Err(e) = r {
                assert!(
                    matches!(e, Errno::ENOMEM | Errno::EAGAIN | Errno::EFAULT),
                    "{name}, allocation {i} failing: unexpected {e}"
                );
            }
        }
    }
}

#[test]
fn a_relocation_failing_half_way_counts_the_locked_pages_it_spans() {
    // The VMA stays over both ranges; locked_vm follows it like total_vm.
    let mut m = setup();
    m.mlock(BASE, 8 * P).unwrap();
    let locked = m.stats().locked_vm;
    let before = m.env.allocs;
    m.relocate_stack(BASE, 4 * P).unwrap();
    let n = m.env.allocs - before;
    for i in 0..n {
        let mut m = setup();
        m.mlock(BASE, 8 * P).unwrap();
        m.env.fail_alloc = Some(m.env.allocs + i);
        let grown = match m.relocate_stack(BASE, 4 * P) {
            Ok(()) => 0,
            Err(_) => m.get(m.vma_at(BASE).unwrap()).unwrap().pages() - 8,
        };
        m.validate().unwrap();
        assert_eq!(
            m.stats().locked_vm,
            locked + grown,
            "allocation {i} failing"
        );
    }
}
