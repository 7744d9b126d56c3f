//! mbind(2) through the public API; mirrors scenarios/mbind/, checked on
//! Linux 6.18 (one NUMA node online).

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Config, Errno, Mm};

const N0: u64 = 1;
const N01: u64 = 3;

#[test]
fn bind_splits_and_default_merges() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    assert_eq!(m.mbind(pg(2), 2 * P, MPOL_BIND, N0, 0), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-4 rw-p mpol=bind:0 [rd wr mr mw me ac]
         4-8 rw-p [rd wr mr mw me ac]",
    );
    assert_eq!(m.mbind(pg(4), 2 * P, MPOL_BIND, N0, 0), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-6 rw-p mpol=bind:0 [rd wr mr mw me ac]
         6-8 rw-p [rd wr mr mw me ac]",
    );
    assert_eq!(m.mbind(pg(0), 8 * P, MPOL_DEFAULT, 0, 0), Ok(()));
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me ac]");
    assert_eq!(m.mbind(pg(0), 8 * P, MPOL_BIND, 0, 0), Err(Errno::EINVAL));
}

#[test]
fn holes_are_efault_unless_default() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    map(&mut m, 10, 4, RW);
    assert_eq!(m.mbind(pg(0), 14 * P, MPOL_BIND, N0, 0), Err(Errno::EFAULT));
    assert_eq!(
        m.mbind(pg(6), 8 * P, MPOL_PREFERRED, N0, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        m.mbind(pg(8), 4 * P, MPOL_INTERLEAVE, N0, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(m.mbind(pg(10), 6 * P, MPOL_BIND, N0, 0), Err(Errno::EFAULT));
    assert_layout(
        &m,
        "0-8 rw-p [rd wr mr mw me ac]\n10-14 rw-p [rd wr mr mw me ac]",
    );
    m.mbind(pg(0), 4 * P, MPOL_BIND, N0, 0).unwrap();
    m.mbind(pg(12), 2 * P, MPOL_BIND, N0, 0).unwrap();
    assert_eq!(m.mbind(pg(0), 14 * P, MPOL_DEFAULT, 0, 0), Ok(()));
    assert_layout(
        &m,
        "0-8 rw-p [rd wr mr mw me ac]\n10-14 rw-p [rd wr mr mw me ac]",
    );
    assert_eq!(
        m.mbind(pg(20), 2 * P, MPOL_DEFAULT, 0, 0),
        Err(Errno::EFAULT)
    );
}

#[test]
fn modes_and_policy_identity() {
    let mut m = mm();
    map(&mut m, 0, 16, RW);
    m.mbind(pg(0), 2 * P, MPOL_BIND, N01, 0).unwrap();
    m.mbind(pg(2), 2 * P, MPOL_BIND, N0, 0).unwrap();
    m.mbind(pg(4), 2 * P, MPOL_BIND | MPOL_F_STATIC_NODES, N01, 0)
        .unwrap();
    m.mbind(pg(6), 2 * P, MPOL_BIND | MPOL_F_STATIC_NODES, N0, 0)
        .unwrap();
    m.mbind(pg(8), 2 * P, MPOL_PREFERRED, 0, 0).unwrap();
    m.mbind(pg(10), 2 * P, MPOL_LOCAL, 0, 0).unwrap();
    m.mbind(pg(12), P, MPOL_INTERLEAVE, N0, 0).unwrap();
    m.mbind(pg(13), P, MPOL_PREFERRED, N01, 0).unwrap();
    m.mbind(pg(14), P, MPOL_BIND | MPOL_F_RELATIVE_NODES, N0, 0)
        .unwrap();
    m.mbind(pg(15), P, MPOL_BIND | MPOL_F_NUMA_BALANCING, N0, 0)
        .unwrap();
    assert_layout(
        &m,
        "0-4 rw-p mpol=bind:0 [rd wr mr mw me ac]
         4-6 rw-p mpol=bind:0 [rd wr mr mw me ac]
         6-8 rw-p mpol=bind:0 [rd wr mr mw me ac]
         8-12 rw-p mpol=local [rd wr mr mw me ac]
         12-13 rw-p mpol=interleave:0 [rd wr mr mw me ac]
         13-14 rw-p mpol=prefer:0 [rd wr mr mw me ac]
         14-15 rw-p mpol=bind:0 [rd wr mr mw me ac]
         15-16 rw-p mpol=bind:0 [rd wr mr mw me ac]",
    );
    m.mbind(pg(0), 16 * P, MPOL_DEFAULT, 0, 0).unwrap();
    assert_layout(&m, "0-16 rw-p [rd wr mr mw me ac]");
}

#[test]
fn argument_errors() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    let e = Err(Errno::EINVAL);
    assert_eq!(m.mbind(pg(0), 2 * P, 7, N0, 0), e);
    let both = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES;
    assert_eq!(m.mbind(pg(0), 2 * P, MPOL_BIND | both, N0, 0), e);
    let bal = MPOL_F_NUMA_BALANCING;
    assert_eq!(m.mbind(pg(0), 2 * P, MPOL_INTERLEAVE | bal, N0, 0), e);
    assert_eq!(m.mbind(pg(0), 2 * P, MPOL_DEFAULT, N0, 0), e);
    assert_eq!(m.mbind(pg(0), 2 * P, MPOL_LOCAL, N0, 0), e);
    let st = MPOL_F_STATIC_NODES;
    assert_eq!(m.mbind(pg(0), 2 * P, MPOL_PREFERRED | st, 0, 0), e);
    assert_eq!(m.mbind(pg(0), 2 * P, MPOL_BIND, 1 << 5, 0), e);
    assert_eq!(m.mbind(pg(0), 2 * P, MPOL_BIND, N0, 8), e);
    assert_eq!(m.mbind(pg(0) + 1, 2 * P, MPOL_BIND, N0, 0), e);
    assert_eq!(
        m.mbind(pg(0), 2 * P, MPOL_BIND, N0, MPOL_MF_MOVE_ALL),
        Err(Errno::EPERM)
    );
    assert_eq!(m.mbind(pg(0), 0, MPOL_BIND, N0, 0), Ok(()));
    assert_eq!(m.mbind(pg(0), u64::MAX, MPOL_BIND, N0, 0), Ok(()));
    let flags = MPOL_MF_STRICT | MPOL_MF_MOVE;
    assert_eq!(m.mbind(pg(0), 2 * P, MPOL_BIND, N0, flags), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p mpol=bind:0 [rd wr mr mw me ac]\n2-4 rw-p [rd wr mr mw me ac]",
    );
    let mut m = Mm::new(Config {
        numa: false,
        ..Config::default()
    });
    assert_eq!(m.mbind(pg(0), P, MPOL_BIND, N0, 0), Err(Errno::ENOSYS));
}
