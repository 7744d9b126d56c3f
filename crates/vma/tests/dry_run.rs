//! `Mm::dry_run`: a call made on a scratch copy returns what the real
//! call then returns and leaves the layout it then leaves, while the
//! address space itself -- VMAs, counters, page state, `anon_vma`s (also
//! those shared with a fork child) and the environment -- stays as it was.

mod common;
use common::*;
use std::fmt::Debug;
use vma::sys::consts::*;
use vma::{Access, Config, Env, Errno, KResult, Mm, NullEnv, RecordingEnv};

/// Everything a user can observe of an address space, as text.
fn state<E: Env + Debug>(m: &Mm<E>) -> String {
    let vmas: Vec<String> = m.vmas().map(|(id, v)| format!("{id:?} {v:?}")).collect();
    format!(
        "{}\n{vmas:#?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        m.maps(),
        m.stats(),
        m.process(),
        m.pages(),
        m.guards(),
        m.merge_verdicts(),
        m.env
    )
}

/// The layout a call leaves, without identities that differ between two
/// runs of the same call (fresh `anon_vma` and inode numbers).
fn outcome<E: Env>(m: &Mm<E>) -> String {
    m.validate().expect("invariants hold");
    let vmas: Vec<String> = m
        .vmas()
        .map(|(_, v)| {
            format!(
                "{:#x}-{:#x} {:?} pgoff={:#x} anon={} chain={}",
                v.start,
                v.end,
                v.flags,
                v.pgoff,
                v.anon_vma.is_some(),
                v.chain_len()
            )
        })
        .collect();
    format!("{vmas:#?}\n{:?}\n{:?}", m.stats(), m.pages())
}

/// Dry-runs `call`, checks that nothing changed, then makes the call for
/// real and checks it returns what the dry run did and leaves the same
/// layout. Returns the result.
fn same_as_real<E, T>(m: &mut Mm<E>, call: impl Fn(&mut Mm<E>) -> T) -> T
where
    E: Env + Clone + Debug,
    T: PartialEq + Debug,
{
    let before = state(m);
    let (dry, dry_layout) = m.dry_run(|s| {
        let r = call(s);
        (r, outcome(s))
    });
    assert_eq!(state(m), before, "the dry run changed the address space");
    let real = call(m);
    assert_eq!(dry, real, "the dry run answered differently");
    assert_eq!(dry_layout, outcome(m), "the dry run left another layout");
    real
}

/// Three VMAs at pages 0-4 (rw), 4-8 (r), 8-12 (rw), the first two with
/// pages faulted in.
fn three() -> Mm {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 4, 4, PROT_READ);
    map(&mut m, 8, 4, RW);
    m.fault(pg(1), Access::Write).unwrap();
    m.fault(pg(5), Access::Read).unwrap();
    m
}

#[test]
fn mmap_fixed_over_existing_vmas() {
    let mut m = three();
    let r = same_as_real(&mut m, |m| {
        m.mmap(pg(2), 8 * P, PROT_READ | PROT_EXEC, ANON, None, 0)
    });
    assert_eq!(r, Ok(pg(2)));
    assert_eq!(m.map_count(), 3);
}

#[test]
fn mprotect_splitting() {
    let mut m = three();
    let r = same_as_real(&mut m, |m| m.mprotect(pg(1), P, PROT_NONE));
    assert_eq!(r, Ok(()));
    assert_eq!(m.map_count(), 5);
}

#[test]
fn munmap_and_its_errors() {
    let mut m = three();
    assert_eq!(same_as_real(&mut m, |m| m.munmap(pg(5), P)), Ok(()));
    assert_eq!(
        same_as_real(&mut m, |m| m.munmap(pg(1) + 1, P)),
        Err(Errno::EINVAL)
    );
}

#[test]
fn mremap_move_of_faulted_memory() {
    let mut m = three();
    let r = same_as_real(&mut m, |m| {
        m.mremap(pg(0), 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, pg(20))
    });
    assert_eq!(r, Ok(pg(20)));
}

#[test]
fn mlock_over_the_limit() {
    let mut m = three();
    m.config.rlimits.memlock = 4 * P;
    assert_eq!(
        same_as_real(&mut m, |m| m.mlock(pg(0), 8 * P)),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        same_as_real(&mut m, |m| m.mlock2(pg(0), 2 * P, MLOCK_ONFAULT)),
        Ok(())
    );
    assert_eq!(m.stats().locked_vm, 2);
}

#[test]
fn several_calls_in_one_dry_run() {
    let m = three();
    let (a, b, count) = m.dry_run(|s| {
        let a = s.munmap(pg(4), 4 * P);
        let b = s.mremap(pg(0), 4 * P, 8 * P, 0, 0);
        (a, b, s.map_count())
    });
    assert_eq!(
        (a, b, count),
        (Ok(()), Ok(pg(0)), 1),
        "grown in place, merged"
    );
    assert_eq!(m.map_count(), 3);
}

#[test]
fn fork_relatives_keep_their_anon_vmas() {
    let mut parent = three();
    let child = parent.fork().unwrap();
    let child_state = state(&child);
    // The parent's anon_vmas are the child's anon_vmas' parents: calls
    // that unlink, merge or split the parent's VMAs change their counters.
    assert_eq!(parent.dry_run(|m| m.munmap(pg(0), 12 * P)), Ok(()));
    assert_eq!(parent.dry_run(|m| m.mprotect(pg(1), P, PROT_READ)), Ok(()));
    assert_eq!(state(&child), child_state, "a dry run reached the child");
    assert_eq!(
        same_as_real(&mut parent, |m| m.munmap(pg(0), 2 * P)),
        Ok(())
    );
}

#[test]
fn an_injected_allocation_failure_is_foreseen() {
    let mut m: Mm<RecordingEnv> = Mm::with_env(Config::default(), RecordingEnv::new());
    let prot = |m: &mut Mm<RecordingEnv>| -> KResult<()> { m.mprotect(pg(1), P, PROT_NONE) };
    m.mmap(pg(0), 4 * P, RW, ANON, None, 0).unwrap();
    m.env.fail_alloc = Some(m.env.allocs);
    let allocs = m.env.allocs;
    let r = same_as_real(&mut m, prot);
    assert_eq!(r, Err(Errno::ENOMEM));
    assert!(m.env.allocs > allocs, "the real call allocated");
}

#[test]
fn dry_run_with_an_environment_of_its_own() {
    let mut m: Mm<RecordingEnv> = Mm::with_env(Config::default(), RecordingEnv::new());
    m.mmap(pg(0), 4 * P, RW, ANON, None, 0).unwrap();
    let events = m.env.events.len();
    let r = m.dry_run_with(NullEnv, |s| s.munmap(pg(1), P));
    assert_eq!(r, Ok(()));
    assert_eq!(
        m.env.events.len(),
        events,
        "the recording env heard nothing"
    );
    assert_eq!(m.map_count(), 1);
}
