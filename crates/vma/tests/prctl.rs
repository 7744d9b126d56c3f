//! PR_SET_VMA_ANON_NAME and PR_SET_MEMORY_MERGE through the public API.
//! The host kernel has no CONFIG_ANON_VMA_NAME (every call is EINVAL,
//! scenarios/misc/anon_name_disabled*.scenario); the named cases follow
//! the kernel source and scenarios/misc/anon_name.scenario.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Config, Errno, Mm};

fn named_mm() -> Mm {
    Mm::new(Config {
        anon_vma_name: true,
        ..Config::default()
    })
}

#[test]
fn without_the_option_every_call_is_einval() {
    let mut m = mm();
    map(&mut m, 0, 2, RW);
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0), 2 * P, None),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0), 8 * P, Some("x")),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0) + 1, P, Some("x")),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0), 0, Some("x")),
        Err(Errno::EINVAL)
    );
    assert_layout(&m, "0-2 rw-p [rd wr mr mw me ac]");
}

#[test]
fn names_are_merge_identity() {
    let mut m = named_mm();
    map(&mut m, 0, 4, RW);
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0), 2 * P, Some("heap")),
        Ok(())
    );
    assert_eq!(m.maps().0[0].name, "[anon:heap]");
    assert_eq!(m.map_count(), 2);
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(2), 2 * P, Some("heap")),
        Ok(())
    );
    assert_eq!(m.map_count(), 1);
    assert_eq!(m.prctl_set_vma_anon_name(pg(0), 4 * P, None), Ok(()));
    assert_eq!(m.maps().0[0].name, "");
    layout(&m);
}

#[test]
fn name_validation_and_vma_rules() {
    let mut m = named_mm();
    map(&mut m, 0, 2, RW);
    let long = "a".repeat(80);
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0), P, Some(&long)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0), P, Some(&long[..79])),
        Ok(())
    );
    for bad in ["a[b", "a]", "$x", "back\\slash", "`", "tab\t", "é"] {
        assert_eq!(
            m.prctl_set_vma_anon_name(pg(0), P, Some(bad)),
            Err(Errno::EINVAL)
        );
    }
    // The name is a C string: it ends at the first NUL.
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0), 2 * P, Some("ok\0[bad")),
        Ok(())
    );
    assert_eq!(m.maps().0[0].name, "[anon:ok]");
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0) + 1, P, Some("x")),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(0), 4 * P, Some("x")),
        Err(Errno::ENOMEM)
    );
    assert_eq!(m.maps().0[0].name, "[anon:x]");
    let f = memfd(2, true);
    m.mmap(pg(4), 2 * P, RW, MAP_PRIVATE | MAP_FIXED, Some(&f), 0)
        .unwrap();
    assert_eq!(
        m.prctl_set_vma_anon_name(pg(4), 2 * P, Some("x")),
        Err(Errno::EBADF)
    );
    m.mmap(pg(8), 2 * P, RW, SHARED_ANON, None, 0).unwrap();
    assert_eq!(m.prctl_set_vma_anon_name(pg(8), 2 * P, Some("shm")), Ok(()));
    assert_eq!(m.maps().0[2].name, "[anon_shmem:shm]");
    layout(&m);
}

#[test]
fn memory_merge_sets_flags_in_place() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 4, 4, PROT_READ);
    m.mmap(pg(8), 4 * P, RW, SHARED_ANON, None, 0).unwrap();
    m.madvise(pg(0), 2 * P, MADV_DONTDUMP).unwrap();
    assert_eq!(m.prctl_set_memory_merge(true), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac dd mg]
         2-4 rw-p [rd wr mr mw me ac mg]
         4-8 r--p [rd mr mw me mg]
         8-12 rw-s [rd wr sh mr mw me ms]",
    );
    assert_eq!(m.prctl_set_memory_merge(true), Ok(()));
    map(&mut m, 12, 2, RW);
    m.madvise(pg(2), P, MADV_UNMERGEABLE).unwrap();
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac dd mg]
         2-3 rw-p [rd wr mr mw me ac]
         3-4 rw-p [rd wr mr mw me ac mg]
         4-8 r--p [rd mr mw me mg]
         8-12 rw-s [rd wr sh mr mw me ms]
         12-14 rw-p [rd wr mr mw me ac mg]",
    );
    assert_eq!(m.prctl_set_memory_merge(false), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac dd]
         2-3 rw-p [rd wr mr mw me ac]
         3-4 rw-p [rd wr mr mw me ac]
         4-8 r--p [rd mr mw me]
         8-12 rw-s [rd wr sh mr mw me ms]
         12-14 rw-p [rd wr mr mw me ac]",
    );
    assert!(!m.process().merge_any);
    m.config.ksm = false;
    assert_eq!(m.prctl_set_memory_merge(true), Err(Errno::EINVAL));
}
