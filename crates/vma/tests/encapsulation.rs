//! Nothing outside the system calls can break an address space's
//! invariants: the process state is replaced only through a checked
//! setter, which refuses what the counters could not follow.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Errno, VmFlags};

#[test]
fn set_process_refuses_default_flags_the_counters_cannot_follow() {
    let mut m = mm();
    let before = m.process().clone();
    for def in [
        VmFlags::ACCOUNT,
        VmFlags::STACK | VmFlags::GROWSDOWN,
        VmFlags::LOCKONFAULT,
        VmFlags(u64::MAX),
    ] {
        let mut p = before.clone();
        p.def_flags = def;
        assert_eq!(m.set_process(p), Err(Errno::EINVAL), "{def:?}");
    }
    assert_eq!(m.process(), &before, "a refused state is not applied");
    // With the state refused, a mapping is charged as it should be.
    map(&mut m, 0, 4, PROT_READ);
    assert_eq!(m.stats().committed, 0);
    m.validate().unwrap();
}

#[test]
fn set_process_refuses_keys_that_are_not_keys() {
    let mut m = mm();
    let mut p = m.process().clone();
    p.execute_only_pkey = Some(16);
    assert_eq!(m.set_process(p), Err(Errno::EINVAL));
    let mut p = m.process().clone();
    p.pkey_rights[3] = 4;
    assert_eq!(m.set_process(p), Err(Errno::EINVAL));
}

#[test]
fn set_process_takes_a_layout_and_what_mlockall_sets() {
    let mut m = mm();
    let mut p = m.process().clone();
    p.mmap_base = pg(64);
    p.def_flags = VmFlags::LOCKED | VmFlags::LOCKONFAULT | VmFlags::NOHUGEPAGE;
    m.set_process(p).unwrap();
    assert_eq!(m.process().mmap_base, pg(64));
    let a = m
        .mmap(0, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, None, 0)
        .unwrap();
    assert!(a < pg(64), "placed top-down below the new base");
    assert_eq!(m.stats().locked_vm, 4, "locked on fault, as after mlockall");
    m.validate().unwrap();
}

#[test]
fn a_huge_page_size_no_machine_has_is_an_error_not_a_panic() {
    let mut m = mm();
    m.config.huge_pools = vec![vma::config::HugePool {
        shift: 70,
        nr: 4,
        free: 4,
        resv: 0,
    }];
    m.config.default_huge_shift = 70;
    let r = m.mmap(
        0,
        2 << 20,
        RW,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
        None,
        0,
    );
    assert!(r.is_err(), "{r:?}");
    let f = vma::File::anon_hugetlb(512, 200);
    assert_eq!(f.huge_page_size(), Some(1 << 63));
    m.validate().unwrap();
}
