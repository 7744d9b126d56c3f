//! Anonymous MAP_HUGETLB through the public API; mirrors scenarios/hugetlb/,
//! checked on Linux 6.18 with empty pools, plus what the empty pools of the
//! project's machines cannot show (pools with pages, missing page sizes).

mod common;
use common::*;
use vma::config::{HugePool, HUGE_SHIFT_1G, HUGE_SHIFT_2M};
use vma::sys::consts::*;
use vma::{Access, Config, Errno, Mm, Signal};

/// Window pages per 2 MiB huge page.
const H: u64 = 512;
const HUGE: u32 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED;
const HUGE_NR: u32 = HUGE | MAP_NORESERVE;

/// Maps `n` pages at window page `a` with `flags`, expecting success.
fn huge_map(m: &mut Mm, a: u64, n: u64, prot: u32, flags: u32) {
    assert_eq!(m.mmap(pg(a), n * P, prot, flags, None, 0), Ok(pg(a)));
}

/// An address space whose 2 MiB pool has `free` free, unreserved pages.
fn mm_with_pool(free: u64) -> Mm {
    Mm::new(Config {
        huge_pools: vec![
            HugePool {
                shift: HUGE_SHIFT_2M,
                nr: free,
                free,
                resv: 0,
            },
            HugePool::empty(HUGE_SHIFT_1G),
        ],
        ..Config::default()
    })
}

#[test]
fn noreserve_maps_with_an_empty_pool() {
    let mut m = mm();
    huge_map(&mut m, H, 1, RW, HUGE_NR);
    assert_layout(&m, "512-1024 rw-p [rd wr mr mw me de nr ht]");
    let v = m.get(m.vma_at(pg(H)).unwrap()).unwrap();
    let f = v.file.as_ref().unwrap();
    assert_eq!(f.inner().path, "/anon_hugepage (deleted)");
    assert_eq!(f.huge_page_size(), Some(2 << 20));
}

#[test]
fn mappings_of_fresh_files_never_merge() {
    let mut m = mm();
    huge_map(&mut m, H, H, RW, HUGE_NR);
    huge_map(&mut m, 2 * H, H, RW, HUGE_NR);
    huge_map(&mut m, 3 * H, H, RW, HUGE_NR | MAP_SHARED);
    assert_layout(
        &m,
        "512-1024 rw-p [rd wr mr mw me de nr ht]
         1024-1536 rw-p [rd wr mr mw me de nr ht]
         1536-2048 rw-s [rd wr sh mr mw me ms de nr ht]",
    );
}

#[test]
fn fixed_address_must_be_huge_page_aligned() {
    let mut m = mm();
    assert_eq!(
        m.mmap(pg(1), H * P, RW, HUGE_NR, None, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.mmap(pg(256), P, RW, HUGE_NR, None, 0), Err(Errno::EINVAL));
    // 1 GiB pages need 1 GiB alignment.
    let one_gig = HUGE_NR | MAP_HUGE_1GB;
    assert_eq!(m.mmap(pg(H), P, RW, one_gig, None, 0), Err(Errno::EINVAL));
    assert_eq!(m.mmap(pg(0), P, RW, one_gig, None, 0), Ok(pg(0)));
    assert_layout(&m, "0-262144 rw-p [rd wr mr mw me de nr ht]");
}

#[test]
fn sizes_the_kernel_lacks_are_einval() {
    let mut m = mm();
    let kb512 = HUGE_NR | (19 << MAP_HUGE_SHIFT);
    assert_eq!(m.mmap(pg(H), P, RW, kb512, None, 0), Err(Errno::EINVAL));
    let mut c = Config::default();
    c.huge_pools.clear();
    let mut m = Mm::new(c);
    assert_eq!(m.mmap(pg(H), P, RW, HUGE_NR, None, 0), Err(Errno::EINVAL));
}

#[test]
fn the_default_size_is_configurable() {
    let mut m = Mm::new(Config {
        default_huge_shift: HUGE_SHIFT_1G,
        ..Config::default()
    });
    assert_eq!(m.mmap(pg(H), P, RW, HUGE_NR, None, 0), Err(Errno::EINVAL));
    assert_eq!(m.mmap(pg(0), P, RW, HUGE_NR, None, 0), Ok(pg(0)));
    assert_eq!(m.vmas().next().unwrap().1.pages(), 1 << 18);
}

#[test]
fn lengths_that_wrap_when_rounded_are_einval() {
    let mut m = mm();
    for len in [0, u64::MAX - 0xFFE, u64::MAX - (2 << 20) + 2] {
        assert_eq!(m.mmap(pg(H), len, RW, HUGE_NR, None, 0), Err(Errno::EINVAL));
    }
}

#[test]
fn bad_flags_and_offsets_are_einval() {
    let mut m = mm();
    let nofix = HUGE_NR & !MAP_FIXED;
    assert_eq!(
        m.mmap(0, P, RW, nofix | MAP_GROWSDOWN, None, 0),
        Err(Errno::EINVAL)
    );
    let droppable = MAP_DROPPABLE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE;
    assert_eq!(m.mmap(0, P, RW, droppable, None, 0), Err(Errno::EINVAL));
    assert_eq!(m.mmap(0, P, RW, nofix, None, P), Err(Errno::EINVAL));
    assert_eq!(
        m.mmap(pg(0), P, RW, HUGE_NR, None, 256 * P),
        Err(Errno::EINVAL)
    );
    // A huge-page-aligned offset is kept.
    assert_eq!(m.mmap(pg(0), P, RW, HUGE_NR, None, H * P), Ok(pg(0)));
    assert_eq!(m.vmas().next().unwrap().1.pgoff, H);
}

#[test]
fn a_file_not_on_hugetlbfs_is_einval() {
    let mut m = mm();
    let f = memfd(H, true);
    for ty in [MAP_PRIVATE, MAP_SHARED] {
        let flags = ty | MAP_HUGETLB | MAP_FIXED;
        assert_eq!(
            m.mmap(pg(0), H * P, RW, flags, Some(&f), 0),
            Err(Errno::EINVAL)
        );
    }
}

#[test]
fn hints_are_rounded_up_to_a_huge_page() {
    let mut m = mm();
    let flags = HUGE_NR & !MAP_FIXED;
    assert_eq!(m.mmap(pg(1), P, PROT_READ, flags, None, 0), Ok(pg(H)));
    // Without a usable hint the search returns a huge-page-aligned gap.
    let a = m.mmap(0, P, PROT_READ, flags, None, 0).unwrap();
    assert_eq!(a % (2 << 20), 0);
}

#[test]
fn hints_were_rounded_down_before_6_13() {
    let mut m = Mm::new(Config {
        version: vma::KernelVersion(6, 12, 0),
        ..Config::default()
    });
    let flags = HUGE_NR & !MAP_FIXED;
    assert_eq!(m.mmap(pg(1), P, PROT_READ, flags, None, 0), Ok(pg(0)));
    assert_eq!(m.mmap(pg(H + 1), P, PROT_READ, flags, None, 0), Ok(pg(H)));
}

#[test]
fn reservations_come_from_the_pool() {
    let mut m = mm();
    assert_eq!(m.mmap(pg(H), P, RW, HUGE, None, 0), Err(Errno::ENOMEM));
    let mut m = mm_with_pool(2);
    huge_map(&mut m, H, H, RW, HUGE);
    // No "nr" and no "ac": hugetlb is not charged to overcommit.
    assert_layout(&m, "512-1024 rw-p [rd wr mr mw me de ht]");
    huge_map(&mut m, 2 * H, H, RW, HUGE | MAP_SHARED);
    assert_eq!(m.mmap(pg(3 * H), P, RW, HUGE, None, 0), Err(Errno::ENOMEM));
    // Unmapping gives a reservation back.
    assert_eq!(m.munmap(pg(H), H * P), Ok(()));
    huge_map(&mut m, 3 * H, 1, RW, HUGE);
}

#[test]
fn a_failing_fixed_mapping_loses_what_it_replaced() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    assert_eq!(m.mmap(pg(0), P, RW, HUGE, None, 0), Err(Errno::ENOMEM));
    assert_layout(&m, "");
}

#[test]
fn splits_only_on_huge_page_boundaries() {
    let mut m = mm();
    huge_map(&mut m, H, 2 * H, RW, HUGE_NR);
    assert_eq!(m.munmap(pg(H + 1), P), Err(Errno::EINVAL));
    assert_eq!(m.munmap(pg(H), P), Err(Errno::EINVAL));
    assert_eq!(m.mprotect(pg(600), P, PROT_READ), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(H), P, MADV_DONTFORK), Err(Errno::EINVAL));
    assert_layout(&m, "512-1536 rw-p [rd wr mr mw me de nr ht]");
    assert_eq!(m.mprotect(pg(H), H * P, PROT_READ), Ok(()));
    assert_eq!(m.mprotect(pg(H), H * P, RW), Ok(()));
    // Split pieces stay apart: the close hook forbids the merge.
    assert_layout(
        &m,
        "512-1024 rw-p [rd wr mr mw me de nr ht]
         1024-1536 rw-p [rd wr mr mw me de nr ht]",
    );
    assert_eq!(m.vmas().nth(1).unwrap().1.pgoff, H);
    assert_eq!(m.munmap(pg(2 * H), H * P), Ok(()));
    assert_layout(&m, "512-1024 rw-p [rd wr mr mw me de nr ht]");
}

#[test]
fn mmap_that_would_cut_a_huge_page_fails() {
    let mut m = mm();
    huge_map(&mut m, H, H, RW, HUGE_NR);
    assert_eq!(
        m.mmap(pg(600), P, PROT_READ, ANON, None, 0),
        Err(Errno::EINVAL)
    );
    // Before 6.12 every failure to unmap the old range was ENOMEM.
    let mut m = Mm::new(Config {
        version: vma::KernelVersion(6, 1, 0),
        ..Config::default()
    });
    huge_map(&mut m, H, H, RW, HUGE_NR);
    assert_eq!(
        m.mmap(pg(600), P, PROT_READ, ANON, None, 0),
        Err(Errno::ENOMEM)
    );
    assert_layout(&m, "512-1024 rw-p [rd wr mr mw me de nr ht]");
}

#[test]
fn madvise_on_hugetlb() {
    let mut m = mm();
    huge_map(&mut m, H, 2 * H, RW, HUGE_NR);
    assert_eq!(m.madvise(pg(600), P, MADV_DONTNEED), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(H), P, MADV_DONTNEED), Ok(()));
    assert_eq!(m.madvise(pg(H), (H + 1) * P, MADV_DONTNEED), Ok(()));
    for advice in [MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_WIPEONFORK] {
        assert_eq!(m.madvise(pg(H), H * P, advice), Err(Errno::EINVAL));
    }
    assert_eq!(m.madvise(pg(H), H * P, MADV_REMOVE), Err(Errno::EACCES));
    assert_eq!(m.madvise(pg(H), H * P, MADV_MERGEABLE), Ok(()));
    assert_eq!(m.madvise(pg(H), P, MADV_POPULATE_READ), Err(Errno::EFAULT));
    assert_layout(&m, "512-1536 rw-p [rd wr mr mw me de nr ht]");
}

#[test]
fn never_locked() {
    let mut m = mm();
    huge_map(&mut m, H, 2 * H, RW, HUGE_NR);
    // Populating NORESERVE pages from an empty pool fails.
    assert_eq!(m.mlock(pg(600), P), Err(Errno::ENOMEM));
    assert_eq!(m.munlock(pg(2 * H), P), Ok(()));
    huge_map(&mut m, 0, 1, RW, HUGE_NR | MAP_LOCKED);
    assert_layout(
        &m,
        "0-512 rw-p [rd wr mr mw me de nr ht]
         512-1536 rw-p [rd wr mr mw me de nr ht]",
    );
    assert_eq!(m.stats().locked_vm, 0);
    // With a reservation the pages exist and mlock succeeds, still without
    // VM_LOCKED.
    let mut m = mm_with_pool(1);
    huge_map(&mut m, H, H, RW, HUGE);
    assert_eq!(m.mlock(pg(H), P), Ok(()));
    assert_layout(&m, "512-1024 rw-p [rd wr mr mw me de ht]");
}

#[test]
fn faults_need_a_huge_page() {
    let mut m = mm();
    huge_map(&mut m, H, H, RW, HUGE_NR);
    huge_map(&mut m, 2 * H, H, PROT_READ, HUGE_NR | MAP_SHARED);
    assert_eq!(m.fault(pg(600), Access::Read), Err(Signal::Bus));
    assert_eq!(m.fault(pg(H), Access::Write), Err(Signal::Bus));
    assert_eq!(m.fault(pg(2 * H), Access::Write), Err(Signal::SegvAccerr));
    // A free page in the pool, or a reservation, makes the fault succeed.
    let mut m = mm_with_pool(1);
    huge_map(&mut m, H, H, RW, HUGE_NR);
    assert_eq!(m.fault(pg(600), Access::Write), Ok(()));
    let mut m = mm_with_pool(1);
    huge_map(&mut m, H, H, RW, HUGE);
    assert_eq!(m.fault(pg(600), Access::Write), Ok(()));
}

#[test]
fn mremap_rules() {
    let mut m = mm();
    huge_map(&mut m, H, H, RW, HUGE_NR);
    huge_map(&mut m, 2 * H, H, RW, HUGE_NR);
    assert_eq!(m.mremap(pg(H), H * P, 2 * H * P, 0, 0), Err(Errno::EINVAL));
    let may = MREMAP_MAYMOVE;
    assert_eq!(
        m.mremap(pg(H), H * P, 2 * H * P, may, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.mremap(pg(H + 1), P, P, 0, 0), Err(Errno::EINVAL));
    // Even an unused new address must be aligned.
    assert_eq!(m.mremap(pg(H), H * P, H * P, 0, pg(1)), Err(Errno::EINVAL));
    assert_eq!(m.mremap(pg(H), P, P, 0, 0), Ok(pg(H)));
    assert_eq!(m.mremap(pg(2 * H), H * P, 256 * P, 0, 0), Ok(pg(2 * H)));
    let dontunmap = may | MREMAP_DONTUNMAP;
    assert_eq!(
        m.mremap(pg(2 * H), H * P, H * P, dontunmap, 0),
        Err(Errno::EINVAL)
    );
    // Both VMAs move together.
    let fixed = may | MREMAP_FIXED;
    assert_eq!(
        m.mremap(pg(H), 2 * H * P, 2 * H * P, fixed, pg(4 * H)),
        Ok(pg(4 * H))
    );
    // One page moves the whole huge page.
    assert_eq!(m.mremap(pg(4 * H), P, P, fixed, pg(6 * H)), Ok(pg(6 * H)));
    assert_layout(
        &m,
        "2560-3072 rw-p [rd wr mr mw me de nr ht]
         3072-3584 rw-p [rd wr mr mw me de nr ht]",
    );
}

#[test]
fn fork_copies_hugetlb_vmas() {
    let mut m = mm();
    huge_map(&mut m, H, H, RW, HUGE_NR);
    let child = m.fork().unwrap();
    assert_layout(&child, "512-1024 rw-p [rd wr mr mw me de nr ht]");
}

#[test]
fn uffd_registration_in_whole_huge_pages() {
    const C: vma::UffdCtx = vma::UffdCtx(1);
    let missing = UFFDIO_REGISTER_MODE_MISSING;
    let mut m = mm();
    huge_map(&mut m, H, 2 * H, RW, HUGE_NR);
    // Unaligned start (also from a hole before the VMA) or end: nothing
    // changes.
    assert_eq!(
        m.uffd_register(C, pg(H + 1), (H - 1) * P, missing),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.uffd_register(C, pg(256), H * P, missing),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.uffd_register(C, pg(H), (H + 1) * P, missing),
        Err(Errno::EINVAL)
    );
    assert_layout(&m, "512-1536 rw-p [rd wr mr mw me de nr ht]");
    assert_eq!(m.uffd_register(C, pg(0), 3 * H * P, missing), Ok(()));
    assert_layout(&m, "512-1536 rw-p [rd wr mr mw me de nr ht um]");
    // Unregistering checks only the start; here the split at the
    // unaligned end fails before anything changed.
    assert_eq!(m.uffd_unregister(C, pg(600), P), Err(Errno::EINVAL));
    assert_eq!(m.uffd_unregister(C, pg(H), (H + 1) * P), Err(Errno::EINVAL));
    assert_layout(&m, "512-1536 rw-p [rd wr mr mw me de nr ht um]");
}
