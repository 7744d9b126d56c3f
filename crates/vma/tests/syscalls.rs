//! System calls through the public API: layouts and errnos.

use vma::sys::consts::*;
use vma::{Access, Config, Errno, Mm, Signal, VmFlags};

const P: u64 = 0x1000;
const BASE: u64 = 0x1000_0000;
const RW: u32 = PROT_READ | PROT_WRITE;
const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS;

fn mm() -> Mm {
    Mm::new(Config::default())
}

/// `(start page, end page, perms)` relative to BASE, after validating.
fn layout(mm: &Mm) -> Vec<(u64, u64, String)> {
    mm.validate().unwrap();
    mm.maps()
        .0
        .iter()
        .map(|e| {
            (
                (e.start - BASE) / P,
                (e.end - BASE) / P,
                String::from_utf8(e.perms.to_vec()).unwrap(),
            )
        })
        .collect()
}

fn l(v: &[(u64, u64, &str)]) -> Vec<(u64, u64, String)> {
    v.iter().map(|&(s, e, p)| (s, e, p.to_string())).collect()
}

#[test]
fn adjacent_anonymous_mappings_merge() {
    let mut m = mm();
    assert_eq!(m.mmap(BASE, 4 * P, RW, ANON | MAP_FIXED, None, 0), Ok(BASE));
    assert_eq!(
        m.mmap(BASE + 4 * P, 4 * P, RW, ANON | MAP_FIXED, None, 0),
        Ok(BASE + 4 * P)
    );
    assert_eq!(layout(&m), l(&[(0, 8, "rw-p")]));
    assert_eq!(m.stats().total_vm, 8);
    assert_eq!(m.stats().data_vm, 8);
    assert_eq!(m.stats().committed, 8);
}

#[test]
fn mprotect_splits_and_remerges() {
    let mut m = mm();
    m.mmap(BASE, 8 * P, RW, ANON | MAP_FIXED, None, 0).unwrap();
    assert_eq!(m.mprotect(BASE + 2 * P, 2 * P, PROT_READ), Ok(()));
    assert_eq!(
        layout(&m),
        l(&[(0, 2, "rw-p"), (2, 4, "r--p"), (4, 8, "rw-p")])
    );
    assert_eq!(m.mprotect(BASE + 2 * P, 2 * P, RW), Ok(()));
    assert_eq!(layout(&m), l(&[(0, 8, "rw-p")]));
    assert_eq!(m.mprotect(BASE + 1, P, RW), Err(Errno::EINVAL));
    assert_eq!(m.mprotect(BASE + 20 * P, P, RW), Err(Errno::ENOMEM));
    assert_eq!(m.mprotect(BASE, P, 0x10), Err(Errno::EINVAL));
}

#[test]
fn mprotect_across_a_hole_applies_up_to_it() {
    let mut m = mm();
    m.mmap(BASE, 2 * P, RW, ANON | MAP_FIXED, None, 0).unwrap();
    m.mmap(BASE + 3 * P, 2 * P, RW, ANON | MAP_FIXED, None, 0)
        .unwrap();
    assert_eq!(m.mprotect(BASE, 5 * P, PROT_READ), Err(Errno::ENOMEM));
    assert_eq!(layout(&m), l(&[(0, 2, "r--p"), (3, 5, "rw-p")]));
}

#[test]
fn mmap_argument_errors() {
    let mut m = mm();
    assert_eq!(m.mmap(BASE, 0, RW, ANON, None, 0), Err(Errno::EINVAL));
    assert_eq!(m.mmap(BASE, P, RW, ANON, None, 1), Err(Errno::EINVAL));
    assert_eq!(
        m.mmap(BASE + 1, P, RW, ANON | MAP_FIXED, None, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.mmap(BASE, P, RW, MAP_ANONYMOUS, None, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.mmap(BASE, P, RW, MAP_PRIVATE, None, 0), Err(Errno::EBADF));
    assert_eq!(
        m.mmap(BASE, u64::MAX, RW, ANON, None, 0),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        m.mmap(u64::MAX - P + 1, P, RW, ANON | MAP_FIXED, None, 0),
        Err(Errno::ENOMEM)
    );
    m.mmap(BASE, P, RW, ANON | MAP_FIXED, None, 0).unwrap();
    assert_eq!(
        m.mmap(BASE, P, RW, ANON | MAP_FIXED_NOREPLACE, None, 0),
        Err(Errno::EEXIST)
    );
    assert_eq!(layout(&m), l(&[(0, 1, "rw-p")]));
}

#[test]
fn hint_is_taken_when_free_else_topdown() {
    let mut m = mm();
    assert_eq!(m.mmap(BASE, P, RW, ANON, None, 0), Ok(BASE));
    let a = m.mmap(BASE, P, RW, ANON, None, 0).unwrap();
    assert_ne!(a, BASE);
    assert!(a < m.process().mmap_base);
    let b = m.mmap(0, P, RW, ANON, None, 0).unwrap();
    assert_eq!(b + P, a, "top-down: the next mapping goes right below");
    m.validate().unwrap();
}

#[test]
fn faults_give_anon_vma_and_signals() {
    let mut m = mm();
    m.mmap(BASE, 2 * P, RW, ANON | MAP_FIXED, None, 0).unwrap();
    m.mmap(BASE + 4 * P, P, PROT_READ, ANON | MAP_FIXED, None, 0)
        .unwrap();
    assert_eq!(m.fault(BASE, Access::Read), Ok(()));
    assert!(m.get(m.vma_at(BASE).unwrap()).unwrap().anon_vma.is_none());
    assert_eq!(m.fault(BASE, Access::Write), Ok(()));
    assert!(m.get(m.vma_at(BASE).unwrap()).unwrap().anon_vma.is_some());
    assert_eq!(m.fault(BASE + 3 * P, Access::Read), Err(Signal::SegvMaperr));
    assert_eq!(
        m.fault(BASE + 4 * P, Access::Write),
        Err(Signal::SegvAccerr)
    );
    m.validate().unwrap();
}

#[test]
fn fork_child_cannot_merge_faulted_heap() {
    let mut m = mm();
    m.mmap(BASE, 2 * P, RW, ANON | MAP_FIXED, None, 0).unwrap();
    m.fault(BASE, Access::Write).unwrap();
    let mut child = m.fork().unwrap();
    child.fault(BASE, Access::Write).unwrap();
    assert!(child
        .get(child.vma_at(BASE).unwrap())
        .unwrap()
        .is_fork_child());
    child
        .mmap(BASE + 2 * P, P, RW, ANON | MAP_FIXED, None, 0)
        .unwrap();
    assert_eq!(layout(&child), l(&[(0, 2, "rw-p"), (2, 3, "rw-p")]));
    m.mmap(BASE + 2 * P, P, RW, ANON | MAP_FIXED, None, 0)
        .unwrap();
    assert_eq!(layout(&m), l(&[(0, 3, "rw-p")]));
    drop(child);
    m.validate().unwrap();
}

#[test]
fn brk_grows_and_shrinks_the_heap() {
    let mut m = mm();
    let start = m.process().start_brk;
    assert_eq!(m.brk(start + 3 * P), start + 3 * P);
    assert_eq!(m.brk(start + 5 * P + 10), start + 5 * P + 10);
    assert_eq!(m.map_count(), 1);
    let heap = m.maps().0[0].clone();
    assert_eq!(
        (heap.start, heap.end, heap.name.as_str()),
        (start, start + 6 * P, "[heap]")
    );
    assert_eq!(m.brk(start + P), start + P);
    assert_eq!(m.maps().0[0].end, start + P);
    assert_eq!(m.brk(start - P), start + P);
    m.validate().unwrap();
}

#[test]
fn stack_grows_down_on_fault() {
    let mut m = mm();
    let top = 0x7fff_0000_0000;
    m.mmap(
        top - 4 * P,
        4 * P,
        RW,
        ANON | MAP_FIXED | MAP_GROWSDOWN,
        None,
        0,
    )
    .unwrap();
    assert_eq!(m.fault(top - 6 * P, Access::Write), Ok(()));
    let e = &m.maps().0[0];
    assert_eq!((e.start, e.end), (top - 6 * P, top));
    assert!(e.flags.contains(VmFlags::GROWSDOWN));
    m.validate().unwrap();
}

#[test]
fn munmap_spanning_holes() {
    let mut m = mm();
    for i in [0u64, 3, 6] {
        m.mmap(BASE + i * P, 2 * P, RW, ANON | MAP_FIXED, None, 0)
            .unwrap();
    }
    assert_eq!(m.munmap(BASE + P, 6 * P), Ok(()));
    assert_eq!(layout(&m), l(&[(0, 1, "rw-p"), (7, 8, "rw-p")]));
    assert_eq!(m.stats().total_vm, 2);
}

fn limited(f: impl FnOnce(&mut Config)) -> Mm {
    let mut c = Config::default();
    f(&mut c);
    Mm::new(c)
}

#[test]
fn rlimit_as_and_data_refuse_with_enomem() {
    let mut m = limited(|c| c.rlimits.address_space = 8 * P);
    assert_eq!(
        m.mmap(BASE, 8 * P, PROT_READ, ANON | MAP_FIXED, None, 0),
        Ok(BASE)
    );
    assert_eq!(
        m.mmap(BASE + 8 * P, P, PROT_READ, ANON | MAP_FIXED, None, 0),
        Err(Errno::ENOMEM)
    );
    // Replacing mapped pages does not grow the address space.
    assert_eq!(m.mmap(BASE, 8 * P, RW, ANON | MAP_FIXED, None, 0), Ok(BASE));

    let mut m = limited(|c| c.rlimits.data = 4 * P);
    assert_eq!(m.mmap(BASE, 4 * P, RW, ANON | MAP_FIXED, None, 0), Ok(BASE));
    assert_eq!(
        m.mmap(BASE + 8 * P, P, RW, ANON | MAP_FIXED, None, 0),
        Err(Errno::ENOMEM)
    );
    // Read-only or shared memory is not data.
    assert_eq!(
        m.mmap(BASE + 8 * P, P, PROT_READ, ANON | MAP_FIXED, None, 0),
        Ok(BASE + 8 * P)
    );
    assert_eq!(
        m.mmap(
            BASE + 9 * P,
            P,
            RW,
            MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0
        ),
        Ok(BASE + 9 * P)
    );
    // Turning read-only memory into data is checked too.
    assert_eq!(m.mprotect(BASE + 8 * P, P, RW), Err(Errno::ENOMEM));
    m.validate().unwrap();
}

#[test]
fn rlimit_stack_bounds_stack_growth() {
    let mut m = limited(|c| c.rlimits.stack = 6 * P);
    let top = 0x7fff_0000_0000;
    m.mmap(
        top - 4 * P,
        4 * P,
        RW,
        ANON | MAP_FIXED | MAP_GROWSDOWN,
        None,
        0,
    )
    .unwrap();
    assert_eq!(m.fault(top - 6 * P, Access::Write), Ok(()));
    assert_eq!(m.fault(top - 7 * P, Access::Write), Err(Signal::SegvMaperr));
    assert_eq!(m.maps().0[0].start, top - 6 * P);
    assert_eq!(m.stats().stack_vm, 6);
    m.validate().unwrap();
}

#[test]
fn strict_overcommit_charges_private_writable_memory() {
    let mut m = limited(|c| {
        c.overcommit = vma::config::Overcommit::Never;
        c.total_ram_pages = 20;
        c.overcommit_ratio = 50;
    });
    assert_eq!(
        m.mmap(BASE, 10 * P, RW, ANON | MAP_FIXED, None, 0),
        Ok(BASE)
    );
    assert_eq!(m.stats().committed, 10);
    assert_eq!(
        m.mmap(BASE + 16 * P, P, RW, ANON | MAP_FIXED, None, 0),
        Err(Errno::ENOMEM)
    );
    // Not charged: read-only, shared; MAP_NORESERVE is ignored in strict mode.
    assert_eq!(
        m.mmap(BASE + 16 * P, P, PROT_READ, ANON | MAP_FIXED, None, 0),
        Ok(BASE + 16 * P)
    );
    assert_eq!(
        m.mmap(
            BASE + 20 * P,
            P,
            RW,
            ANON | MAP_FIXED | MAP_NORESERVE,
            None,
            0
        ),
        Err(Errno::ENOMEM)
    );
    m.munmap(BASE, 5 * P).unwrap();
    assert_eq!(m.stats().committed, 5);
    assert_eq!(
        m.mmap(BASE + 20 * P, P, RW, ANON | MAP_FIXED, None, 0),
        Ok(BASE + 20 * P)
    );
    m.validate().unwrap();
}

#[test]
fn max_map_count_refuses_splits_and_mappings() {
    let mut m = limited(|c| c.max_map_count = 3);
    for i in 0..3 {
        m.mmap(BASE + 2 * i * P, P, RW, ANON | MAP_FIXED, None, 0)
            .unwrap();
    }
    m.mmap(BASE + 10 * P, 4 * P, PROT_READ, ANON | MAP_FIXED, None, 0)
        .unwrap();
    assert_eq!(m.map_count(), 4);
    // do_mmap refuses only above the limit; splits refuse at it.
    assert_eq!(m.mprotect(BASE + 11 * P, P, RW), Err(Errno::ENOMEM));
    assert_eq!(
        m.mmap(BASE + 20 * P, P, RW, ANON | MAP_FIXED, None, 0),
        Err(Errno::ENOMEM)
    );
    m.validate().unwrap();
}
