//! `mremap(2)` through the public API: layouts (range, perms, page offset,
//! smaps flags), errnos and counters, as Linux 6.18 showed them (see the
//! scenarios in scenarios/mremap/, run against the live kernel).

use vma::sys::consts::*;
use vma::{Access, KernelVersion};
use vma::{Config, Env, Errno, File, FileKind, Mm, RecordingEnv, VmOps};

const P: u64 = 0x1000;
const BASE: u64 = 0x1000_0000_0000;
const RW: u32 = PROT_READ | PROT_WRITE;
const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const MOVE: u32 = MREMAP_MAYMOVE | MREMAP_FIXED;

fn mm() -> Mm {
    Mm::new(Config::default())
}

/// Address of window page `n`.
fn pg(n: u64) -> u64 {
    BASE + n * P
}

/// The address space, one VMA a line, after validating it:
/// `START-END PERMS PGOFF [FLAGS]`, with START/END in window pages and the
/// page offset of anonymous VMAs relative to the window (where the VMA was
/// created), of file VMAs as is. VMAs outside the window show `@ADDR`.
fn layout<E: Env>(m: &Mm<E>) -> Vec<String> {
    m.validate().unwrap();
    m.vmas()
        .map(|(_, v)| {
            let e = m.map_entry(v);
            let perms = String::from_utf8(e.perms.to_vec()).unwrap();
            let range = if v.start >= BASE && v.end <= BASE + (1 << 32) {
                format!("{}-{}", (v.start - BASE) / P, (v.end - BASE) / P)
            } else {
                format!("@{:#x}-{:#x}", v.start, v.end)
            };
            let pgoff = if v.file.is_some() {
                v.pgoff as i64
            } else {
                v.pgoff as i64 - (BASE / P) as i64
            };
            format!("{range} {perms} {pgoff} [{}]", v.flags.smaps())
        })
        .collect()
}

/// The VMAs' ranges alone, in window pages (see [`layout`]).
fn ranges<E: Env>(m: &Mm<E>) -> Vec<String> {
    layout(m)
        .iter()
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

fn map(m: &mut Mm, start: u64, pages: u64, prot: u32) {
    assert_eq!(
        m.mmap(pg(start), pages * P, prot, ANON, None, 0),
        Ok(pg(start))
    );
}

const RW_FLAGS: &str = "[rd wr mr mw me ac]";

#[test]
fn argument_errors_in_kernel_order() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    let before = layout(&m);
    let cases: &[(u64, u64, u64, u32, u64, Errno)] = &[
        (pg(0), 4 * P, 4 * P, 8, 0, Errno::EINVAL),
        (pg(0), 4 * P, 4 * P, 0x10, 0, Errno::EINVAL),
        (pg(0) + 1, 4 * P, 8 * P, 0, 0, Errno::EINVAL),
        (pg(0), 4 * P, 0, 0, 0, Errno::EINVAL),
        // PAGE_ALIGN wraps to 0.
        (pg(0), 4 * P, u64::MAX, 0, 0, Errno::EINVAL),
        (pg(0), 4 * P, 0xFFFF_FFFF_FFFF_F001, 0, 0, Errno::EINVAL),
        // Longer than TASK_SIZE, even without a move.
        (pg(0), 4 * P, 0x8000_0000_0000, 0, 0, Errno::EINVAL),
        (pg(0), 4 * P, 4 * P, MREMAP_FIXED, pg(16), Errno::EINVAL),
        (pg(0), 4 * P, 4 * P, MOVE, pg(16) + 1, Errno::EINVAL),
        (pg(0), 4 * P, 4 * P, MREMAP_DONTUNMAP, pg(16), Errno::EINVAL),
        (
            pg(0),
            4 * P,
            8 * P,
            MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
            pg(16),
            Errno::EINVAL,
        ),
        // Overlapping source and destination.
        (pg(0), 4 * P, 4 * P, MOVE, pg(2), Errno::EINVAL),
        (pg(0), 4 * P, 4 * P, MOVE, pg(0), Errno::EINVAL),
        (
            pg(0),
            4 * P,
            4 * P,
            MOVE,
            0xFFFF_FFFF_FFFF_F000,
            Errno::EINVAL,
        ),
        // Nothing mapped at the old address, whatever the sizes.
        (pg(8), 4 * P, 4 * P, 0, 0, Errno::EFAULT),
        (pg(8), 4 * P, 8 * P, 0, 0, Errno::EFAULT),
        (pg(8), 4 * P, 2 * P, 0, 0, Errno::EFAULT),
        (0xFFFF_FFFF_FFFF_F000, 4 * P, 8 * P, 0, 0, Errno::EFAULT),
        // Growing a range that crosses the VMA's end.
        (pg(0), 8 * P, 16 * P, 0, 0, Errno::EFAULT),
        (pg(2), 4 * P, 8 * P, MREMAP_MAYMOVE, 0, Errno::EFAULT),
        // old_len 0 duplicates only shared mappings; 2^64-1 aligns to 0.
        (pg(0), 0, 4 * P, MREMAP_MAYMOVE, 0, Errno::EINVAL),
        (pg(0), 0, 4 * P, 0, 0, Errno::EINVAL),
        (pg(0), u64::MAX, 8 * P, MREMAP_MAYMOVE, 0, Errno::EINVAL),
    ];
    for &(addr, old, new, flags, new_addr, errno) in cases {
        assert_eq!(
            m.mremap(addr, old, new, flags, new_addr),
            Err(errno),
            "mremap({addr:#x}, {old:#x}, {new:#x}, {flags:#x}, {new_addr:#x})"
        );
        assert_eq!(layout(&m), before);
    }
    // Same size, nothing moves: success even past the VMA's end.
    assert_eq!(m.mremap(pg(0), 8 * P, 8 * P, 0, 0), Ok(pg(0)));
    assert_eq!(m.mremap(pg(0), 4 * P, 4 * P, MREMAP_MAYMOVE, 0), Ok(pg(0)));
    assert_eq!(layout(&m), before);
}

#[test]
fn shrink_unmaps_the_tail_across_vmas_and_holes() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 4, 2, PROT_READ);
    map(&mut m, 8, 4, RW);
    assert_eq!(m.mremap(pg(0), 10 * P, 2 * P, 0, 0), Ok(pg(0)));
    assert_eq!(
        layout(&m),
        [
            format!("0-2 rw-p 0 {RW_FLAGS}"),
            format!("10-12 rw-p 10 {RW_FLAGS}")
        ]
    );
    assert_eq!(m.stats().total_vm, 4);
    assert_eq!(m.stats().committed, 4);
    assert_eq!(m.map_count(), 2);
}

#[test]
fn shrink_inside_a_vma_splits_it() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    assert_eq!(m.mremap(pg(2), 4 * P, 2 * P, 0, 0), Ok(pg(2)));
    assert_eq!(
        layout(&m),
        [
            format!("0-4 rw-p 0 {RW_FLAGS}"),
            format!("6-8 rw-p 6 {RW_FLAGS}")
        ]
    );
    // MAYMOVE does not matter to a shrink; sub-page lengths round up.
    assert_eq!(m.mremap(pg(0), 2 * P, 1, MREMAP_MAYMOVE, 0), Ok(pg(0)));
    assert_eq!(
        layout(&m),
        [
            format!("0-1 rw-p 0 {RW_FLAGS}"),
            format!("2-4 rw-p 2 {RW_FLAGS}"),
            format!("6-8 rw-p 6 {RW_FLAGS}")
        ]
    );
    assert_eq!(m.stats().committed, 5);
}

#[test]
fn grow_in_place_and_when_blocked() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    m.fault(pg(0), Access::Write).unwrap();
    assert_eq!(m.mremap(pg(0), 4 * P, 8 * P, 0, 0), Ok(pg(0)));
    assert_eq!(layout(&m), [format!("0-8 rw-p 0 {RW_FLAGS}")]);
    map(&mut m, 10, 2, PROT_READ);
    assert_eq!(m.mremap(pg(0), 8 * P, 12 * P, 0, 0), Err(Errno::ENOMEM));
    // Exactly up to the neighbour; no merge (different protection).
    assert_eq!(m.mremap(pg(0), 8 * P, 10 * P, 0, 0), Ok(pg(0)));
    assert_eq!(
        layout(&m),
        [
            format!("0-10 rw-p 0 {RW_FLAGS}"),
            "10-12 r--p 10 [rd mr mw me]".to_string()
        ]
    );
    assert_eq!(m.stats().total_vm, 12);
    assert_eq!(m.stats().data_vm, 10);
    assert_eq!(m.stats().committed, 10);
}

#[test]
fn grow_in_place_merges_the_next_vma() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 6, 4, RW);
    assert_eq!(m.map_count(), 2);
    assert_eq!(m.mremap(pg(0), 4 * P, 6 * P, 0, 0), Ok(pg(0)));
    assert_eq!(layout(&m), [format!("0-10 rw-p 0 {RW_FLAGS}")]);
    assert_eq!(m.map_count(), 1);
    assert_eq!(m.stats().committed, 10);
}

#[test]
fn grow_from_inside_a_vma_must_move() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    // [2, 4) does not end the VMA: no growth in place.
    assert_eq!(m.mremap(pg(2), 2 * P, 4 * P, 0, 0), Err(Errno::ENOMEM));
    let got = m.mremap(pg(2), 2 * P, 4 * P, MREMAP_MAYMOVE, 0).unwrap();
    assert!(got < BASE || got >= pg(8), "moved to {got:#x}");
    let vmas: Vec<_> = m.vmas().map(|(_, v)| (v.start, v.end, v.pgoff)).collect();
    assert!(vmas.contains(&(pg(0), pg(2), BASE / P)));
    assert!(vmas.contains(&(pg(4), pg(8), BASE / P + 4)));
    // Unfaulted: the moved part takes its new address as page offset.
    assert!(vmas.contains(&(got, got + 4 * P, got / P)));
    assert_eq!(m.stats().committed, 10);
    assert_eq!(m.stats().total_vm, 10);
    m.validate().unwrap();
}

#[test]
fn grow_maymove_goes_where_mmap_would() {
    let mut m = mm();
    map(&mut m, 0, 2, RW);
    map(&mut m, 2, 2, PROT_READ);
    assert_eq!(m.mremap(pg(0), 2 * P, 4 * P, 0, 0), Err(Errno::ENOMEM));
    let expect = m
        .mmap(0, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, None, 0)
        .unwrap();
    m.munmap(expect, 4 * P).unwrap();
    assert_eq!(m.mremap(pg(0), 2 * P, 4 * P, MREMAP_MAYMOVE, 0), Ok(expect));
    assert_eq!(
        layout(&m),
        [
            "2-4 r--p 2 [rd mr mw me]".to_string(),
            format!(
                "@{:#x}-{:#x} rw-p {} {RW_FLAGS}",
                expect,
                expect + 4 * P,
                (expect / P) as i64 - (BASE / P) as i64
            )
        ]
    );
    assert_eq!(m.stats().committed, 4);
}

#[test]
fn move_fixed_unfaulted_merges_faulted_does_not() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 8, 4, RW);
    assert_eq!(m.mremap(pg(8), 4 * P, 4 * P, MOVE, pg(4)), Ok(pg(4)));
    assert_eq!(layout(&m), [format!("0-8 rw-p 0 {RW_FLAGS}")]);
    map(&mut m, 16, 4, RW);
    map(&mut m, 24, 4, RW);
    m.fault(pg(24), Access::Write).unwrap();
    assert_eq!(m.mremap(pg(24), 4 * P, 4 * P, MOVE, pg(20)), Ok(pg(20)));
    // The faulted VMA keeps its page offset (24), so it cannot continue
    // the one at 16 (offset 16, needs 20).
    assert_eq!(
        layout(&m),
        [
            format!("0-8 rw-p 0 {RW_FLAGS}"),
            format!("16-20 rw-p 16 {RW_FLAGS}"),
            format!("20-24 rw-p 24 {RW_FLAGS}")
        ]
    );
    assert_eq!(m.mremap(pg(20), 4 * P, 4 * P, MOVE, pg(24)), Ok(pg(24)));
    assert_eq!(
        layout(&m),
        [
            format!("0-8 rw-p 0 {RW_FLAGS}"),
            format!("16-20 rw-p 16 {RW_FLAGS}"),
            format!("24-28 rw-p 24 {RW_FLAGS}")
        ]
    );
    assert_eq!(m.stats().committed, 16);
}

#[test]
fn move_fixed_unmaps_the_destination_first() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 10, 6, PROT_READ);
    m.fault(pg(1), Access::Write).unwrap();
    assert_eq!(m.mremap(pg(0), 4 * P, 4 * P, MOVE, pg(11)), Ok(pg(11)));
    assert_eq!(
        layout(&m),
        [
            "10-11 r--p 10 [rd mr mw me]".to_string(),
            format!("11-15 rw-p 0 {RW_FLAGS}"),
            "15-16 r--p 15 [rd mr mw me]".to_string()
        ]
    );
    assert_eq!(m.stats().total_vm, 6);
    assert_eq!(m.stats().committed, 4);
}

#[test]
fn move_part_of_a_vma_next_to_itself() {
    // [2, 4) of an unfaulted [0, 4) moved to [4, 6): the copy extends the
    // source VMA itself, then the source range is cut out of it.
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    assert_eq!(m.mremap(pg(2), 2 * P, 2 * P, MOVE, pg(4)), Ok(pg(4)));
    assert_eq!(
        layout(&m),
        [
            format!("0-2 rw-p 0 {RW_FLAGS}"),
            format!("4-6 rw-p 4 {RW_FLAGS}")
        ]
    );
    assert_eq!(m.stats().committed, 4);
    assert_eq!(m.stats().total_vm, 4);
}

#[test]
fn shrinking_fixed_move_may_unmap_past_the_vma() {
    let mut m = mm();
    map(&mut m, 16, 4, RW);
    map(&mut m, 20, 4, PROT_READ);
    assert_eq!(m.mremap(pg(16), 6 * P, 2 * P, MOVE, pg(32)), Ok(pg(32)));
    assert_eq!(
        layout(&m),
        [
            "22-24 r--p 22 [rd mr mw me]".to_string(),
            format!("32-34 rw-p 32 {RW_FLAGS}")
        ]
    );
    // Linux 6.18 charges the shrink's 4 pages as if the move grew, and
    // never gives them back (Committed_AS leaks; checked on the live kernel
    // with a 1 GiB mapping).
    assert_eq!(m.stats().committed, 2 + 4);
    assert_eq!(m.stats().total_vm, 4);
    m.munmap(pg(32), 2 * P).unwrap();
    assert_eq!(m.stats().committed, 4);
    layout(&m);
}

#[test]
fn growing_fixed_move() {
    let mut m = mm();
    map(&mut m, 0, 2, RW);
    m.fault(pg(0), Access::Write).unwrap();
    assert_eq!(m.mremap(pg(0), 2 * P, 6 * P, MOVE, pg(10)), Ok(pg(10)));
    assert_eq!(layout(&m), [format!("10-16 rw-p 0 {RW_FLAGS}")]);
    assert_eq!(m.stats().committed, 6);
    assert_eq!(m.stats().total_vm, 6);
    assert_eq!(m.stats().data_vm, 6);
}

#[test]
fn dontunmap_keeps_the_source_mapped() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    m.fault(pg(1), Access::Write).unwrap();
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(0), 4 * P, 4 * P, flags, pg(16)), Ok(pg(16)));
    assert_eq!(
        layout(&m),
        [
            format!("0-4 rw-p 0 {RW_FLAGS}"),
            format!("16-20 rw-p 0 {RW_FLAGS}")
        ]
    );
    // The whole source moved away: it lost its anon_vma, the copy has it.
    let src = m.vma_at(pg(0)).unwrap();
    let dst = m.vma_at(pg(16)).unwrap();
    assert!(m.get(src).unwrap().anon_vma.is_none());
    assert!(m.get(dst).unwrap().anon_vma.is_some());
    // The copy was charged in full; the source stays accounted.
    assert_eq!(m.stats().committed, 8);
    assert_eq!(m.stats().total_vm, 8);
    // A hint without MREMAP_FIXED is taken when free.
    let hint = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(0), 2 * P, 2 * P, hint, pg(30)), Ok(pg(30)));
    assert_eq!(m.stats().committed, 10);
}

/// A DONTUNMAP copy of an unfaulted tail moved just past its source, with
/// a fresh VMA after it, under each build's rule:
///
/// ```text
///   before   |SSSSSSS|..|NN|      S 22..29, N 31..33, move 27..29 -> 29
///   Merges   |SSSSSSSSSSS|        one VMA
///   Skips    |SSSSSSS|CCNN|       the copy joins N only
///   Nothing  |SSSSSSS|CC|NN|      the copy stands alone
/// ```
#[test]
fn dontunmap_copy_beside_its_source_follows_the_build() {
    use vma::DontunmapBesideSource::*;
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
    for (rule, want) in [
        (Merges, &["22-33"][..]),
        (SkipsSource, &["22-29", "29-33"][..]),
        (MergesNothing, &["22-29", "29-31", "31-33"][..]),
    ] {
        let c = Config {
            dontunmap_beside_source: rule,
            ..Config::default()
        };
        let mut m = Mm::new(c.clone());
        map(&mut m, 22, 7, RW);
        map(&mut m, 31, 2, RW);
        assert_eq!(m.mremap(pg(27), 2 * P, 2 * P, flags, pg(29)), Ok(pg(29)));
        assert_eq!(ranges(&m), want, "{rule:?}");
        // A plain move is not affected: the copy joins its source, then
        // the source range is cut out.
        let mut m = Mm::new(c);
        map(&mut m, 22, 7, RW);
        map(&mut m, 31, 2, RW);
        assert_eq!(m.mremap(pg(27), 2 * P, 2 * P, MOVE, pg(29)), Ok(pg(29)));
        assert_eq!(ranges(&m), ["22-27", "29-33"], "{rule:?}, plain move");
    }
}

#[test]
fn dontunmap_unlocks_the_whole_source_vma() {
    let mut m = mm();
    let locked = ANON | MAP_LOCKED;
    assert_eq!(m.mmap(pg(0), 8 * P, RW, locked, None, 0), Ok(pg(0)));
    assert_eq!(m.stats().locked_vm, 8);
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(2), 2 * P, 2 * P, flags, pg(16)), Ok(pg(16)));
    assert_eq!(
        layout(&m),
        [
            format!("0-8 rw-p 0 {RW_FLAGS}"),
            // MAP_LOCKED populated (faulted) it: the copy keeps its offset.
            "16-18 rw-p 2 [rd wr mr mw me lo ac]".to_string()
        ]
    );
    // The kernel adds the copy and removes nothing.
    assert_eq!(m.stats().locked_vm, 10);
}

/// Where DONTUNMAP unlocks only the moved range (7.2 here), the range is
/// split out and stays apart from an unlocked neighbour it could join:
///
/// ```text
///   before  |uuuuLLLL|    locked 0..8 (MAP_LOCKED), then munlock 0..4
///   after   |uuuu|u|LLL|  4..5 moved away and unlocked, beside 0..4
/// ```
#[test]
fn dontunmap_unlocks_just_the_moved_range_on_newer_kernels() {
    let mut m = Mm::new(Config::linux(KernelVersion(7, 2, 13)));
    let locked = ANON | MAP_LOCKED;
    assert_eq!(m.mmap(pg(0), 8 * P, RW, locked, None, 0), Ok(pg(0)));
    assert_eq!(m.munlock(pg(0), 4 * P), Ok(()));
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(4), P, P, flags, pg(16)), Ok(pg(16)));
    assert_eq!(ranges(&m), ["0-4", "4-5", "5-8", "16-17"]);
    let lo = |a: u64| {
        m.get(m.vma_at(pg(a)).unwrap())
            .unwrap()
            .flags
            .contains(vma::VmFlags::LOCKED)
    };
    assert!(!lo(0) && !lo(4) && lo(5) && lo(16));
}

#[test]
fn dontunmap_of_shared_memory_shares_the_object() {
    let mut m = mm();
    let shared = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
    assert_eq!(m.mmap(pg(0), 4 * P, RW, shared, None, 0), Ok(pg(0)));
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(0), 4 * P, 4 * P, flags, pg(8)), Ok(pg(8)));
    let files: Vec<_> = m.vmas().map(|(_, v)| v.file.clone().unwrap()).collect();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0], files[1]);
    assert_eq!(
        layout(&m),
        [
            "0-4 rw-s 0 [rd wr sh mr mw me ms]".to_string(),
            "8-12 rw-s 0 [rd wr sh mr mw me ms]".to_string()
        ]
    );
}

#[test]
fn old_len_zero_duplicates_a_shared_mapping() {
    let mut m = mm();
    let shared = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
    assert_eq!(m.mmap(pg(0), 4 * P, RW, shared, None, 0), Ok(pg(0)));
    assert_eq!(m.mremap(pg(1), 0, 2 * P, MOVE, pg(8)), Ok(pg(8)));
    assert_eq!(
        layout(&m),
        [
            "0-4 rw-s 0 [rd wr sh mr mw me ms]".to_string(),
            "8-10 rw-s 1 [rd wr sh mr mw me ms]".to_string()
        ]
    );
    assert_eq!(m.stats().total_vm, 6);
}

#[test]
fn file_mapping_moves_with_its_offset_and_merges() {
    let mut m = mm();
    let f = File::new("/data", 64, FileKind::Regular, true, true);
    let fl = MAP_PRIVATE | MAP_FIXED;
    assert_eq!(m.mmap(pg(0), 4 * P, PROT_READ, fl, Some(&f), 0), Ok(pg(0)));
    assert_eq!(
        m.mmap(pg(20), 4 * P, PROT_READ, fl, Some(&f), 4 * P),
        Ok(pg(20))
    );
    // Offset 4 moved right after offset 0..4: one VMA.
    assert_eq!(m.mremap(pg(20), 4 * P, 4 * P, MOVE, pg(4)), Ok(pg(4)));
    assert_eq!(layout(&m), ["0-8 r--p 0 [rd mr mw me]".to_string()]);
    // Grow in place past what is mapped of the file.
    assert_eq!(m.mremap(pg(0), 8 * P, 12 * P, 0, 0), Ok(pg(0)));
    assert_eq!(layout(&m), ["0-12 r--p 0 [rd mr mw me]".to_string()]);
    assert_eq!(m.stats().committed, 0);
}

#[test]
fn multi_vma_move_keeps_the_holes() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 6, 2, PROT_READ);
    map(&mut m, 9, 3, RW);
    m.fault(pg(0), Access::Write).unwrap();
    m.fault(pg(9), Access::Write).unwrap();
    assert_eq!(m.mremap(pg(1), 10 * P, 10 * P, MOVE, pg(40)), Ok(pg(40)));
    assert_eq!(
        layout(&m),
        [
            format!("0-1 rw-p 0 {RW_FLAGS}"),
            format!("11-12 rw-p 11 {RW_FLAGS}"),
            format!("40-43 rw-p 1 {RW_FLAGS}"),
            "45-47 r--p 45 [rd mr mw me]".to_string(),
            format!("48-50 rw-p 9 {RW_FLAGS}")
        ]
    );
    // A range starting in a hole: EFAULT, nothing moves.
    let before = layout(&m);
    assert_eq!(
        m.mremap(pg(43), 10 * P, 10 * P, MOVE, pg(80)),
        Err(Errno::EFAULT)
    );
    assert_eq!(layout(&m), before);
    // Ending in a hole is fine.
    assert_eq!(m.mremap(pg(41), 19 * P, 19 * P, MOVE, pg(80)), Ok(pg(80)));
    assert_eq!(
        layout(&m),
        [
            format!("0-1 rw-p 0 {RW_FLAGS}"),
            format!("11-12 rw-p 11 {RW_FLAGS}"),
            format!("40-41 rw-p 1 {RW_FLAGS}"),
            format!("80-82 rw-p 2 {RW_FLAGS}"),
            "84-86 r--p 84 [rd mr mw me]".to_string(),
            format!("87-89 rw-p 9 {RW_FLAGS}")
        ]
    );
    // Nothing at all in the range.
    assert_eq!(
        m.mremap(pg(100), 4 * P, 4 * P, MOVE, pg(110)),
        Err(Errno::EFAULT)
    );
    // With MREMAP_DONTUNMAP every source VMA stays.
    let flags = MOVE | MREMAP_DONTUNMAP;
    assert_eq!(
        m.mremap(pg(80), 10 * P, 10 * P, flags, pg(100)),
        Ok(pg(100))
    );
    let l = layout(&m);
    assert_eq!(l.len(), 9);
    assert_eq!(l[6], format!("100-102 rw-p 2 {RW_FLAGS}"));
    assert_eq!(l[7], "104-106 r--p 104 [rd mr mw me]");
    assert_eq!(l[8], format!("107-109 rw-p 9 {RW_FLAGS}"));
    assert_eq!(m.stats().total_vm, 15);
    assert_eq!(m.stats().committed, 11);
}

#[test]
fn multi_vma_move_leaves_mappings_in_destination_holes() {
    let mut m = mm();
    map(&mut m, 20, 2, RW);
    map(&mut m, 23, 2, RW);
    map(&mut m, 31, 1, PROT_READ);
    assert_eq!(m.mremap(pg(20), 5 * P, 5 * P, MOVE, pg(29)), Ok(pg(29)));
    assert_eq!(
        layout(&m),
        [
            format!("29-31 rw-p 29 {RW_FLAGS}"),
            "31-32 r--p 31 [rd mr mw me]".to_string(),
            format!("32-34 rw-p 32 {RW_FLAGS}")
        ]
    );
}

#[test]
fn max_map_count_headroom() {
    let config = Config {
        max_map_count: 16,
        ..Config::default()
    };
    let mut m = Mm::new(config);
    // Fill up to 10 VMAs (max - 6): a fixed move still works.
    for i in 0..10 {
        let prot = if i % 2 == 0 { RW } else { PROT_READ };
        map(&mut m, 100 + i, 1, prot);
    }
    map(&mut m, 0, 1, RW);
    assert_eq!(m.map_count(), 11);
    assert_eq!(
        m.mremap(pg(0), P, P, MOVE, pg(50)),
        Err(Errno::ENOMEM),
        "map_count + 2 >= max - 3"
    );
    m.munmap(pg(109), P).unwrap();
    assert_eq!(m.map_count(), 10);
    assert_eq!(m.mremap(pg(0), P, P, MOVE, pg(50)), Ok(pg(50)));
    // A move chosen by mremap (MAYMOVE growth) needs map_count < max - 3.
    map(&mut m, 51, 1, PROT_READ);
    map(&mut m, 109, 1, PROT_READ);
    map(&mut m, 120, 1, RW);
    assert_eq!(m.map_count(), 13);
    assert_eq!(
        m.mremap(pg(50), P, 2 * P, MREMAP_MAYMOVE, 0),
        Err(Errno::ENOMEM)
    );
    m.munmap(pg(120), P).unwrap();
    assert!(m.mremap(pg(50), P, 2 * P, MREMAP_MAYMOVE, 0).is_ok());
    // Shrinking and growing in place have no headroom rule.
    layout(&m);
}

#[test]
fn rlimit_as_and_memlock() {
    let mut config = Config::default();
    config.rlimits.address_space = 8 * P;
    config.rlimits.memlock = 6 * P;
    let mut m = Mm::new(config);
    map(&mut m, 0, 4, RW);
    assert_eq!(m.mremap(pg(0), 4 * P, 9 * P, 0, 0), Err(Errno::ENOMEM));
    assert_eq!(m.mremap(pg(0), 4 * P, 8 * P, 0, 0), Ok(pg(0)));
    assert_eq!(m.mremap(pg(0), 8 * P, 4 * P, 0, 0), Ok(pg(0)));
    // MREMAP_DONTUNMAP adds a whole copy to the address space.
    let flags = MOVE | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(0), 4 * P, 4 * P, flags, pg(8)), Ok(pg(8)));
    assert_eq!(m.mremap(pg(0), P, P, flags, pg(20)), Err(Errno::ENOMEM));
    m.munmap(pg(8), 4 * P).unwrap();
    m.munmap(pg(0), 4 * P).unwrap();
    let locked = ANON | MAP_LOCKED;
    assert_eq!(m.mmap(pg(0), 4 * P, RW, locked, None, 0), Ok(pg(0)));
    assert_eq!(m.mremap(pg(0), 4 * P, 7 * P, 0, 0), Err(Errno::EAGAIN));
    assert_eq!(m.mremap(pg(0), 4 * P, 6 * P, 0, 0), Ok(pg(0)));
    assert_eq!(m.stats().locked_vm, 6);
    assert_eq!(
        layout(&m),
        ["0-6 rw-p 0 [rd wr mr mw me lo ac]".to_string()]
    );
}

#[test]
fn locked_vma_moves_locked() {
    let mut m = mm();
    let locked = ANON | MAP_LOCKED;
    assert_eq!(m.mmap(pg(0), 4 * P, RW, locked, None, 0), Ok(pg(0)));
    assert_eq!(m.mremap(pg(0), 4 * P, 6 * P, MOVE, pg(10)), Ok(pg(10)));
    assert_eq!(
        layout(&m),
        ["10-16 rw-p 0 [rd wr mr mw me lo ac]".to_string()]
    );
    assert_eq!(m.stats().locked_vm, 6);
    assert_eq!(m.stats().committed, 6);
}

#[test]
fn overcommit_never_refuses_the_growth() {
    let mut config = Config::default();
    config.overcommit = vma::config::Overcommit::Never;
    config.total_ram_pages = 20;
    config.overcommit_ratio = 50;
    let mut m = Mm::new(config);
    map(&mut m, 0, 8, RW);
    assert_eq!(m.mremap(pg(0), 8 * P, 11 * P, 0, 0), Err(Errno::ENOMEM));
    assert_eq!(m.mremap(pg(0), 8 * P, 10 * P, 0, 0), Ok(pg(0)));
    // A same-size move charges nothing.
    assert_eq!(m.mremap(pg(0), 10 * P, 10 * P, MOVE, pg(20)), Ok(pg(20)));
    // A copy that keeps its source does.
    let flags = MOVE | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(20), P, P, flags, pg(40)), Err(Errno::ENOMEM));
    assert_eq!(m.stats().committed, 10);
    layout(&m);
}

#[test]
fn driver_may_refuse_the_split_of_a_move() {
    let ops = VmOps {
        id: 7,
        may_split: true,
        ..VmOps::default()
    };
    let f = File::with_ops("/dev/thing", 16, ops);
    let mut env = RecordingEnv::new();
    env.refuse_split = Some(Errno::EINVAL);
    let mut m = Mm::with_env(Config::default(), env);
    let fl = MAP_SHARED | MAP_FIXED;
    assert_eq!(m.mmap(pg(0), 8 * P, RW, fl, Some(&f), 0), Ok(pg(0)));
    let before = layout(&m);
    assert_eq!(
        m.mremap(pg(2), 2 * P, 2 * P, MOVE, pg(20)),
        Err(Errno::EINVAL)
    );
    assert_eq!(layout(&m), before);
    // The whole VMA needs no split.
    assert_eq!(m.mremap(pg(0), 8 * P, 8 * P, MOVE, pg(20)), Ok(pg(20)));
    assert_eq!(
        layout(&m),
        ["20-28 rw-s 0 [rd wr sh mr mw me ms]".to_string()]
    );
}

/// An environment whose page-table moves stop half way.
#[derive(Default)]
struct ShortMove {
    moves: Vec<(u64, u64, u64)>,
}
impl Env for ShortMove {
    fn move_page_tables(&mut self, from: u64, to: u64, len: u64) -> u64 {
        self.moves.push((from, to, len));
        if self.moves.len() == 1 {
            len / 2
        } else {
            len
        }
    }
}

#[test]
fn failed_page_table_move_is_undone() {
    let mut m = Mm::with_env(Config::default(), ShortMove::default());
    assert_eq!(m.mmap(pg(0), 4 * P, RW, ANON, None, 0), Ok(pg(0)));
    m.fault(pg(0), Access::Write).unwrap();
    assert_eq!(
        m.mremap(pg(0), 4 * P, 4 * P, MOVE, pg(10)),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        m.env.moves,
        [(pg(0), pg(10), 4 * P), (pg(10), pg(0), 2 * P)]
    );
    assert_eq!(layout(&m), [format!("0-4 rw-p 0 {RW_FLAGS}")]);
    assert_eq!(m.stats().total_vm, 4);
    assert_eq!(m.stats().committed, 4);
}

#[test]
fn older_kernel_anon_rules_still_move() {
    // The mremap paths do not depend on the version; the merge rules do.
    let config = Config {
        version: KernelVersion(6, 12, 0),
        ..Config::default()
    };
    let mut m = Mm::new(config);
    map(&mut m, 0, 4, RW);
    map(&mut m, 8, 4, RW);
    m.fault(pg(0), Access::Write).unwrap();
    assert_eq!(m.mremap(pg(8), 4 * P, 4 * P, MOVE, pg(4)), Ok(pg(4)));
    assert_eq!(layout(&m), [format!("0-8 rw-p 0 {RW_FLAGS}")]);
}

#[test]
fn absurd_arguments_never_panic() {
    let values = [
        0,
        1,
        P - 1,
        P,
        pg(0),
        pg(3),
        pg(0) + 1,
        0x7FFF_FFFF_F000,
        0x8000_0000_0000,
        1 << 63,
        u64::MAX - P + 1,
        u64::MAX - P,
        u64::MAX,
    ];
    let flag_set = [
        0,
        MREMAP_MAYMOVE,
        MREMAP_FIXED,
        MOVE,
        MOVE | MREMAP_DONTUNMAP,
        MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
        u32::MAX,
    ];
    for &addr in &values {
        for &old in &values {
            for &new in &values {
                for &flags in &flag_set {
                    for &new_addr in &[0, pg(8), u64::MAX - P + 1] {
                        let mut m = mm();
                        map(&mut m, 0, 4, RW);
                        let _ = m.mremap(addr, old, new, flags, new_addr);
                        m.validate().unwrap();
                    }
                }
            }
        }
    }
}

#[test]
fn faulted_vma_grows_over_an_unfaulted_neighbour() {
    // scenarios/mremap/grow_merges_next.scenario
    let mut m = mm();
    map(&mut m, 16, 4, RW);
    map(&mut m, 22, 4, RW);
    m.fault(pg(16), Access::Write).unwrap();
    assert_eq!(m.mremap(pg(16), 4 * P, 6 * P, 0, 0), Ok(pg(16)));
    assert_eq!(layout(&m), [format!("16-26 rw-p 16 {RW_FLAGS}")]);
    map(&mut m, 28, 2, PROT_READ);
    assert_eq!(m.mremap(pg(16), 10 * P, 12 * P, 0, 0), Ok(pg(16)));
    assert_eq!(m.mremap(pg(16), 10 * P, 13 * P, 0, 0), Err(Errno::ENOMEM));
    assert_eq!(
        layout(&m),
        [
            format!("16-28 rw-p 16 {RW_FLAGS}"),
            "28-30 r--p 28 [rd mr mw me]".to_string()
        ]
    );
    assert_eq!(m.stats().committed, 12);
}

#[test]
fn growing_move_from_inside_a_vma_must_fit_in_it() {
    // scenarios/mremap/shrink_fixed_move.scenario
    let mut m = mm();
    map(&mut m, 22, 2, PROT_READ);
    let before = layout(&m);
    assert_eq!(
        m.mremap(pg(22), 4 * P, 6 * P, MOVE, pg(50)),
        Err(Errno::EFAULT)
    );
    assert_eq!(layout(&m), before);
}

#[test]
fn locked_vma_grows_locked_in_place() {
    // scenarios/mremap/locked_grow.scenario
    let mut m = mm();
    let locked = ANON | MAP_LOCKED;
    assert_eq!(m.mmap(pg(0), 4 * P, RW, locked, None, 0), Ok(pg(0)));
    assert_eq!(m.mremap(pg(0), 4 * P, 8 * P, 0, 0), Ok(pg(0)));
    assert_eq!(
        layout(&m),
        ["0-8 rw-p 0 [rd wr mr mw me lo ac]".to_string()]
    );
    assert_eq!(m.stats().locked_vm, 8);
    let noreserve = locked | MAP_NORESERVE;
    assert_eq!(m.mmap(pg(40), 4 * P, RW, noreserve, None, 0), Ok(pg(40)));
    assert_eq!(m.mremap(pg(40), 4 * P, 6 * P, 0, 0), Ok(pg(40)));
    assert_eq!(
        layout(&m)[1],
        "40-46 rw-p 40 [rd wr mr mw me lo nr]".to_string()
    );
    assert_eq!(m.stats().locked_vm, 14);
    assert_eq!(m.stats().committed, 8);
}

/// `mremap(MREMAP_DONTUNMAP)` of the middle of a locked VMA on `version`.
fn dontunmap_middle_of_locked(version: vma::KernelVersion) -> Vec<String> {
    let mut m = Mm::new(Config {
        version,
        ..Config::default()
    });
    let locked = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_LOCKED;
    assert_eq!(m.mmap(pg(0), 8 * P, RW, locked, None, 0), Ok(pg(0)));
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(2), 2 * P, 2 * P, flags, pg(16)), Ok(pg(16)));
    layout(&m)
}

#[test]
fn dontunmap_of_a_locked_range_unlocks_the_whole_vma_up_to_6_18() {
    assert_eq!(
        dontunmap_middle_of_locked(vma::KernelVersion(6, 18, 0)),
        [
            "0-8 rw-p 0 [rd wr mr mw me ac]",
            "16-18 rw-p 2 [rd wr mr mw me lo ac]"
        ]
    );
}

#[test]
fn dontunmap_of_a_locked_range_unlocks_just_that_range_after_6_18() {
    assert_eq!(
        dontunmap_middle_of_locked(vma::KernelVersion(7, 2, 0)),
        [
            "0-2 rw-p 0 [rd wr mr mw me lo ac]",
            "2-4 rw-p 2 [rd wr mr mw me ac]",
            "4-8 rw-p 4 [rd wr mr mw me lo ac]",
            "16-18 rw-p 2 [rd wr mr mw me lo ac]"
        ]
    );
}
