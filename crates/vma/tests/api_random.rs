//! The whole public API of `Mm` under random call sequences: every system
//! call with arguments mostly inside a small window and sometimes absurd,
//! under varied configurations, with random allocation failures, forks
//! that continue in the child, and `validate` after every call. No call
//! may panic and no invariant may break. Some calls are dry-run first
//! (`Mm::dry_run`), which must answer the same and change nothing.
//!
//! `VMALAB_API_CALLS=N` sets the number of calls (default 20 000);
//! `VMALAB_API_SEED=S` the first seed. `.ci/run` runs a million calls.

mod common;
use common::*;
use vma::config::Overcommit;
use vma::sys::consts::*;
use vma::{
    Access, Config, File, FileKind, KernelVersion, Mm, RecordingEnv, SeedProcess, SeedVma, UffdCtx,
    VmFlags,
};

/// Calls per address space before a fresh one (with a fresh configuration).
const CALLS_PER_MM: u64 = 2_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An address: the window, a page of it plus bytes, or an edge value.
fn addr(r: &mut Rng, task_size: u64) -> u64 {
    match r.below(40) {
        0 => task_size.wrapping_sub(P),
        1 => task_size.wrapping_add(r.below(3)).wrapping_sub(1),
        2 => 1 << 63,
        3 => u64::MAX - r.below(P),
        _ => r.addr(),
    }
}

/// A configuration: the default kernel, varied in what changes behaviour.
fn config(r: &mut Rng) -> Config {
    let versions = [(6, 1), (6, 12), (6, 18), (7, 2)];
    let (major, minor) = versions[r.below(4) as usize];
    let mut c = Config {
        version: KernelVersion(major, minor, 0),
        anon_vma_name: r.below(2) == 0,
        pkeys: r.below(2) == 0,
        numa: r.below(4) != 0,
        numa_nodes: 1 + r.below(3),
        userfaultfd: r.below(4) != 0,
        transparent_hugepage: r.below(2) == 0,
        soft_dirty: r.below(4) == 0,
        max_map_count: 6 + r.below(60) as usize,
        cap_ipc_lock: r.below(4) == 0,
        ..Config::default()
    };
    c.rlimits.memlock = r.below(6) * 4 * P;
    // RLIMIT_AS bounds what a mapping may populate: the model faults pages
    // in one by one, so a populated mapping of 2^40 pages would never end.
    c.rlimits.address_space = [1 << 30, 48 * P][r.below(2) as usize];
    c.rlimits.data = [u64::MAX, 24 * P][r.below(2) as usize];
    if r.below(4) == 0 {
        c.overcommit = Overcommit::Never;
        c.total_ram_pages = 64;
        c.total_swap_pages = 0;
    }
    if r.below(8) == 0 {
        absurd(&mut c, r);
    }
    c
}

/// Configuration is input too: sometimes a value no kernel has.
fn absurd(c: &mut Config, r: &mut Rng) {
    match r.below(6) {
        0 => c.task_size = [u64::MAX, !(P - 1), P - 1, 0, 1 << 56][r.below(5) as usize],
        1 => {
            c.overcommit = Overcommit::Never;
            c.total_ram_pages = u64::MAX;
            c.overcommit_ratio = u64::MAX;
            c.total_swap_pages = u64::MAX;
        }
        2 => c.stack_guard_gap = u64::MAX - r.below(P),
        3 => c.mmap_min_addr = [u64::MAX, 1 << 63, BASE + 8 * P][r.below(3) as usize],
        4 => {
            c.rlimits.memlock = u64::MAX;
            c.rlimits.stack = u64::MAX;
            c.max_map_count = usize::MAX;
        }
        _ => c.numa_nodes = u64::MAX,
    }
}

/// `mmap` flags: a mapping type, often `MAP_FIXED`, and sometimes the
/// flags that change what a mapping becomes.
fn mmap_flags(r: &mut Rng) -> u32 {
    let ty = [
        MAP_PRIVATE,
        MAP_SHARED,
        MAP_SHARED_VALIDATE,
        MAP_DROPPABLE,
        0,
    ][r.below(5) as usize];
    let mut f = ty;
    if r.below(3) != 0 {
        f |= MAP_ANONYMOUS;
    }
    if r.below(4) != 0 {
        f |= MAP_FIXED;
    }
    for extra in [
        MAP_FIXED_NOREPLACE,
        MAP_LOCKED,
        MAP_POPULATE,
        MAP_NORESERVE,
        MAP_GROWSDOWN,
        MAP_STACK,
        MAP_32BIT,
        MAP_HUGETLB,
    ] {
        if r.below(12) == 0 {
            f |= extra;
        }
    }
    f
}

fn advice(r: &mut Rng) -> i32 {
    const ADVICE: [i32; 27] = [
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
        -1,
    ];
    ADVICE[r.below(ADVICE.len() as u64) as usize]
}

/// One random call; returns a description of it for failure messages.
fn call(m: &mut Mm<RecordingEnv>, r: &mut Rng, files: &[File]) -> String {
    let ts = m.config.task_size;
    let (a, l) = (addr(r, ts), r.len());
    match r.below(30) {
        0..=4 => {
            let prot = r.below(8) as u32 | if r.below(16) == 0 { PROT_GROWSDOWN } else { 0 };
            let flags = mmap_flags(r);
            let file = &files[r.below(files.len() as u64) as usize];
            let off = match r.below(8) {
                0 => r.next() & !(P - 1),
                1 => r.below(P),
                _ => r.below(8) * P,
            };
            let res = m.mmap(a, l, prot, flags, Some(file), off);
            format!("mmap({a:#x}, {l:#x}, {prot:#x}, {flags:#x}, off {off:#x}) = {res:?}")
        }
        5 | 6 => format!("munmap({a:#x}, {l:#x}) = {:?}", m.munmap(a, l)),
        7 => {
            let prot = r.below(8) as u32 | [0, PROT_GROWSDOWN, 0x40][r.below(3) as usize];
            format!(
                "mprotect({a:#x}, {l:#x}, {prot:#x}) = {:?}",
                m.mprotect(a, l, prot)
            )
        }
        8 => {
            let key = r.below(18) as i32 - 1;
            let res = m.pkey_mprotect(a, l, r.below(8) as u32, key);
            format!("pkey_mprotect({a:#x}, {l:#x}, key {key}) = {res:?}")
        }
        9 => format!(
            "pkey_alloc = {:?}",
            m.pkey_alloc(r.below(8) / 7, r.below(4))
        ),
        10 => {
            let key = r.below(18) as i64 - 1;
            format!("pkey_free({key}) = {:?}", m.pkey_free(key))
        }
        11..=13 => {
            let new_len = r.len();
            let flags = r.below(8) as u32 | if r.below(32) == 0 { 8 } else { 0 };
            let to = addr(r, ts);
            let res = m.mremap(a, l, new_len, flags, to);
            format!("mremap({a:#x}, {l:#x}, {new_len:#x}, {flags}, {to:#x}) = {res:?}")
        }
        14 | 15 => {
            let adv = advice(r);
            format!(
                "madvise({a:#x}, {l:#x}, {adv}) = {:?}",
                m.madvise(a, l, adv)
            )
        }
        16 => format!("mlock({a:#x}, {l:#x}) = {:?}", m.mlock(a, l)),
        17 => {
            let f = r.below(3) as u32;
            format!("mlock2({a:#x}, {l:#x}, {f}) = {:?}", m.mlock2(a, l, f))
        }
        18 => format!("munlock({a:#x}, {l:#x}) = {:?}", m.munlock(a, l)),
        19 => {
            let f = r.below(9) as u32;
            format!("mlockall({f}) = {:?}", m.mlockall(f))
        }
        20 => format!("munlockall = {:?}", m.munlockall()),
        21 => format!(
            "mseal({a:#x}, {l:#x}) = {:?}",
            m.mseal(a, l, r.below(4) / 3)
        ),
        22 => {
            let mode = r.below(9) as u32 | ((r.below(8) as u32) << 13);
            let res = m.mbind(a, l, mode, r.below(8), r.below(9) as u32);
            format!("mbind({a:#x}, {l:#x}, {mode:#x}) = {res:?}")
        }
        23 => {
            let ctx = UffdCtx(r.below(2) as u32);
            let mode = r.below(9);
            let res = m.uffd_register(ctx, a, l, mode);
            format!("uffd_register({ctx:?}, {a:#x}, {l:#x}, {mode}) = {res:?}")
        }
        24 => {
            let ctx = UffdCtx(r.below(2) as u32);
            let res = m.uffd_unregister(ctx, a, l);
            format!("uffd_unregister({ctx:?}, {a:#x}, {l:#x}) = {res:?}")
        }
        25 => {
            let name = [None, Some("n"), Some("m"), Some("bad["), Some("")][r.below(5) as usize];
            let res = m.prctl_set_vma_anon_name(a, l, name);
            format!("prctl_set_vma_anon_name({a:#x}, {l:#x}, {name:?}) = {res:?}")
        }
        26 => {
            let on = r.below(2) == 0;
            format!(
                "prctl_set_memory_merge({on}) = {:?}",
                m.prctl_set_memory_merge(on)
            )
        }
        27 => {
            let to = match r.below(4) {
                0 => a,
                _ => m
                    .process()
                    .start_brk
                    .wrapping_add(r.below(16) * P + r.below(2) * r.below(P)),
            };
            format!("brk({to:#x}) = {:#x}", m.brk(to))
        }
        28 if r.below(4) == 0 => format!("note_anon_fault({a:#x}) = {:?}", m.note_anon_fault(a)),
        28 => {
            let start = m
                .vmas()
                .nth(r.below(8) as usize)
                .map_or(a, |(_, v)| v.start);
            let shift = r.below(8) * P + if r.below(16) == 0 { 1 } else { 0 };
            let res = m.relocate_stack(start, shift);
            format!("relocate_stack({start:#x}, {shift:#x}) = {res:?}")
        }
        _ => {
            let acc = [Access::Read, Access::Write][r.below(2) as usize];
            format!("fault({a:#x}, {acc:?}) = {:?}", m.fault(a, acc))
        }
    }
}

/// Flags a private anonymous VMA of a real process may carry. (A seed
/// takes any flags; combinations no kernel makes, such as
/// `VM_LOCKONFAULT` without `VM_LOCKED`, drive its counters where Linux's
/// would go too -- below zero.)
const SEED_FLAGS: [VmFlags; 17] = [
    VmFlags::WRITE,
    VmFlags::EXEC,
    VmFlags::MAYREAD,
    VmFlags::MAYWRITE,
    VmFlags::MAYEXEC,
    VmFlags::ACCOUNT,
    VmFlags::LOCKED,
    VmFlags::DONTCOPY,
    VmFlags::WIPEONFORK,
    VmFlags::DONTDUMP,
    VmFlags::HUGEPAGE,
    VmFlags::NOHUGEPAGE,
    VmFlags::MERGEABLE,
    VmFlags::SEALED,
    VmFlags::GROWSDOWN,
    VmFlags::SEQ_READ,
    VmFlags::NORESERVE,
];

/// Seeds the empty address space with a few VMAs of random flags, in
/// order or (sometimes) not, as a snapshot of a real process would.
fn seed_from_snapshot(m: &mut Mm<RecordingEnv>, r: &mut Rng) -> String {
    let mut vmas = Vec::new();
    let mut at = 0;
    for _ in 0..r.below(6) {
        at += r.below(4);
        let len = 1 + r.below(6);
        let mut flags = VmFlags::READ;
        for f in SEED_FLAGS {
            if r.below(3) == 0 {
                flags |= f;
            }
        }
        if flags.contains(VmFlags::LOCKED) && r.below(2) == 0 {
            flags |= VmFlags::LOCKONFAULT;
        }
        vmas.push(SeedVma {
            start: pg(at),
            end: pg(at + len),
            pgoff: pg(at) / P,
            flags,
            file: None,
            faulted: r.below(2) == 0,
        });
        at += len;
    }
    if r.below(8) == 0 {
        vmas.reverse();
    }
    let res = m.seed(&vmas, SeedProcess::default());
    format!("seed({} VMAs) = {res:?}", vmas.len())
}

/// A random call dry-run first (with the same random choices), then made:
/// the dry run must answer what the call answers and change nothing.
fn dry_then_real(m: &mut Mm<RecordingEnv>, r: &mut Rng, files: &[File]) -> String {
    let before = (
        m.maps().to_string(),
        m.stats(),
        m.pages().clone(),
        m.env.allocs,
    );
    let mut same_choices = r.clone();
    let dry = m.dry_run(|s| call(s, &mut same_choices, files));
    let after = (
        m.maps().to_string(),
        m.stats(),
        m.pages().clone(),
        m.env.allocs,
    );
    assert!(
        before == after,
        "the dry run of {dry} changed the address space"
    );
    let real = call(m, r, files);
    assert_eq!(dry, real, "a dry run answered differently");
    format!("{real} (dry-run first)")
}

/// Runs `calls` random calls from `seed`, starting a fresh address space
/// every `CALLS_PER_MM` calls. Panics with the seed and the last calls on
/// a broken invariant. Returns how many calls succeeded and the sum of the
/// VMA counts seen after each call (to show the sequences do real work).
fn run(seed: u64, calls: u64) -> (u64, u64) {
    let (mut ok, mut vmas) = (0, 0);
    let mut r = Rng::seeded(seed);
    let files = [
        File::new("f", 16, FileKind::Regular, true, true),
        File::new("ro", 16, FileKind::Regular, true, false),
        File::new("shm", 16, FileKind::Shmem, true, true),
    ];
    let mut done = 0;
    while done < calls {
        let mut m = Mm::with_env(config(&mut r), RecordingEnv::default());
        if r.below(16) == 0 {
            // A process layout no loader makes.
            let at = [0, u64::MAX - P + 1, 1 << 63][r.below(3) as usize];
            let mut p = m.process().clone();
            p.mmap_base = at;
            p.mmap_legacy_base = at;
            p.legacy_layout = r.below(2) == 0;
            p.start_brk = at;
            p.brk = at;
            m.set_process(p).expect("any layout is accepted");
        }
        let mut recent: Vec<String> = Vec::new();
        if r.below(4) == 0 {
            recent.push(seed_from_snapshot(&mut m, &mut r));
        }
        for _ in 0..CALLS_PER_MM.min(calls - done) {
            done += 1;
            let inject = r.below(8) == 0;
            if inject {
                m.env.fail_alloc = Some(m.env.allocs + r.below(4) as usize);
            }
            let what = if r.below(200) == 0 {
                match m.fork() {
                    // The rest of the sequence runs in the child (or stays
                    // in the parent), as after a real fork.
                    Ok(child) if r.below(2) == 0 => {
                        m = child;
                        "fork, continuing in the child".to_string()
                    }
                    res => format!("fork = {:?}", res.map(|_| ())),
                }
            } else if r.below(32) == 0 {
                dry_then_real(&mut m, &mut r, &files)
            } else {
                call(&mut m, &mut r, &files)
            };
            m.env.fail_alloc = None;
            if recent.len() == 12 {
                recent.remove(0);
            }
            ok += u64::from(!what.contains("Err("));
            vmas += m.map_count() as u64;
            recent.push(if inject {
                format!("{what} (allocation failing)")
            } else {
                what
            });
            if let Err(e) = m.validate() {
                panic!(
                    "seed {seed}, call {done}: {e}\nlast calls:\n{}",
                    recent.join("\n")
                );
            }
        }
    }
    (ok, vmas)
}

#[test]
fn random_calls_keep_every_invariant() {
    let calls = env_u64("VMALAB_API_CALLS", 20_000);
    let seed = env_u64("VMALAB_API_SEED", 1);
    let (ok, vmas) = run(seed, calls);
    assert!(
        ok > calls / 5 && vmas > calls,
        "{ok} of {calls} calls succeeded, {vmas} VMAs seen"
    );
}
