//! Protection keys on the three kinds of kernel and CPU: a `pku` CPU, a
//! CPU without it (the kernel built with protection keys), and a kernel
//! built without them. Every machine runs all three.

mod common;
use common::*;
use vma::config::CpuFeatures;
use vma::sys::consts::*;
use vma::{Access, Config, Errno, Mm, Signal};

fn mm_on(cpu: CpuFeatures) -> Mm {
    Mm::new(Config::default().with_cpu(cpu))
}

fn no_pku() -> CpuFeatures {
    CpuFeatures {
        pku: false,
        ..CpuFeatures::default()
    }
}

#[test]
fn with_pku_keys_are_allocated_from_one() {
    let mut m = mm_on(CpuFeatures::ALL);
    assert_eq!(m.pkey_alloc(0, 0), Ok(1));
    assert_eq!(m.pkey_alloc(0, PKEY_DISABLE_WRITE), Ok(2));
    map(&mut m, 0, 4, RW);
    assert_eq!(m.pkey_mprotect(pg(1), 2 * P, RW, 1), Ok(()));
    assert_eq!(m.pkey_free(1), Ok(()));
    assert_eq!(m.pkey_free(1), Err(Errno::EINVAL));
}

#[test]
fn without_pku_the_first_alloc_is_einval_then_enospc() {
    let mut m = mm_on(no_pku());
    assert_eq!(m.pkey_alloc(0, 0), Err(Errno::EINVAL));
    assert_eq!(m.pkey_alloc(0, 0), Err(Errno::ENOSPC));
    assert_eq!(m.pkey_alloc(0, PKEY_DISABLE_ACCESS), Err(Errno::ENOSPC));
    // Argument checks come first.
    assert_eq!(m.pkey_alloc(1, 0), Err(Errno::EINVAL));
    assert_eq!(m.pkey_alloc(0, 4), Err(Errno::EINVAL));
    // The child inherits the full map.
    let mut child = m.fork().expect("fork");
    assert_eq!(child.pkey_alloc(0, 0), Err(Errno::ENOSPC));
}

#[test]
fn without_pku_no_key_but_minus_one_is_accepted() {
    let mut m = mm_on(no_pku());
    map(&mut m, 0, 4, RW);
    for key in [0, 1, 15] {
        assert_eq!(
            m.pkey_mprotect(pg(0), P, PROT_READ, key),
            Err(Errno::EINVAL)
        );
        assert_eq!(m.pkey_free(key as i64), Err(Errno::EINVAL));
    }
    let _ = m.pkey_alloc(0, 0);
    assert_eq!(m.pkey_mprotect(pg(0), P, PROT_READ, 0), Err(Errno::EINVAL));
    assert_eq!(m.pkey_mprotect(pg(0), P, PROT_READ, -1), Ok(()));
    assert_layout(
        &m,
        "0-1 r--p [rd mr mw me]
         1-4 rw-p [rd wr mr mw me ac]",
    );
}

#[test]
fn without_pku_execute_only_memory_has_key_0_and_is_readable() {
    let mut m = mm_on(no_pku());
    map(&mut m, 0, 4, PROT_EXEC);
    assert_eq!(m.fault(pg(1), Access::Read), Ok(()));
    assert_eq!(m.fault(pg(1), Access::Write), Err(Signal::SegvAccerr));
    let v = m.find_vma(pg(0)).expect("mapped");
    assert_eq!(m.get(v).expect("live").flags.pkey(), 0);
    // mlock populates it without complaint.
    assert_eq!(m.mlock(pg(0), 4 * P), Ok(()));
}

#[test]
fn with_pku_execute_only_memory_refuses_data_access() {
    let mut m = mm_on(CpuFeatures::ALL);
    map(&mut m, 0, 4, PROT_EXEC);
    assert_eq!(m.fault(pg(1), Access::Read), Err(Signal::SegvPkuerr));
    let v = m.find_vma(pg(0)).expect("mapped");
    assert_eq!(m.get(v).expect("live").flags.pkey(), 1);
    assert_eq!(m.mlock(pg(0), 4 * P), Err(Errno::ENOMEM));
}

#[test]
fn a_kernel_without_protection_keys_has_no_pkey_calls() {
    let mut m = Mm::new(Config {
        pkeys: false,
        ..Config::default()
    });
    map(&mut m, 0, 4, RW);
    assert_eq!(m.pkey_alloc(0, 0), Err(Errno::ENOSYS));
    assert_eq!(m.pkey_free(1), Err(Errno::ENOSYS));
    assert_eq!(m.pkey_mprotect(pg(0), P, PROT_READ, 0), Err(Errno::ENOSYS));
    assert_eq!(m.mprotect(pg(0), P, PROT_READ), Ok(()));
}

#[test]
fn la57_moves_task_size_to_56_bits() {
    assert_eq!(Config::default().task_size, (1 << 47) - P);
    let c = Config::default().with_cpu(CpuFeatures::ALL);
    assert_eq!(c.task_size, (1 << 56) - P);
    let mut m = Mm::new(c);
    let high = 1u64 << 50;
    assert_eq!(m.mmap(high, P, RW, ANON, None, 0), Ok(high));
    let mut m4 = mm();
    assert_eq!(m4.mmap(high, P, RW, ANON, None, 0), Err(Errno::ENOMEM));
}
