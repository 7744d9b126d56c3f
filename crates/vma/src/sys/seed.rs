//! An address space that already exists: seeding an empty [`Mm`] from a
//! snapshot of a real process (its /proc/PID/smaps, brk and stack), and
//! telling it about page faults it could not see. This is how a lab or an
//! embedder takes over a process that the model did not build call by
//! call.
//!
//! What a snapshot cannot carry is approximated, and said so: each VMA
//! with anonymous pages gets an `anon_vma` of its own (the kernel's may be
//! shared with a neighbour or a parent), and page presence is only what
//! the caller reports.

use alloc::vec::Vec;

use crate::config::PAGE_SHIFT;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::File;
use crate::flags::VmFlags;
use crate::mm::{count_stats, Mm};
use crate::vma::Vma;

/// One VMA of a snapshot.
#[derive(Clone, Debug)]
pub struct SeedVma {
    /// First byte (page aligned).
    pub start: u64,
    /// One past the last byte (page aligned).
    pub end: u64,
    /// File offset in pages (for anonymous memory: any, usually `start`'s
    /// page number).
    pub pgoff: u64,
    /// The VMA's flags, as smaps' `VmFlags` line gives them.
    pub flags: VmFlags,
    /// The mapped file, if any.
    pub file: Option<File>,
    /// It has anonymous pages (so it has an `anon_vma`).
    pub faulted: bool,
}

impl SeedVma {
    /// The page offset of a VMA a maps line shows at `start` with byte
    /// offset `offset`: the offset in pages for a file mapping; for
    /// anonymous memory (whose maps offset is 0) the start's page number,
    /// what a fresh anonymous VMA there has.
    pub fn pgoff_from_maps(start: u64, offset: u64, has_file: bool) -> u64 {
        if has_file {
            offset >> PAGE_SHIFT
        } else {
            start >> PAGE_SHIFT
        }
    }
}

/// The process facts a snapshot gives beside the VMAs.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeedProcess {
    /// `mm->start_brk` and `mm->brk` (/proc/PID/stat fields 47 and 48 hold
    /// start_brk; brk is the end of `[heap]`, or start_brk without one).
    pub start_brk: u64,
    /// `mm->brk`.
    pub brk: u64,
    /// An address inside the initial stack (`mm->start_stack`).
    pub start_stack: Option<u64>,
    /// `mm->mmap_base`, where top-down placement starts.
    pub mmap_base: Option<u64>,
}

impl<E: Env> Mm<E> {
    /// Fills an empty address space with `vmas` (sorted, page aligned,
    /// non-empty, not overlapping, below `TASK_SIZE`), as they are, without
    /// merging; counters follow. EBUSY if the address space is not empty,
    /// EINVAL for a bad VMA list, ENOMEM if an allocation fails (the
    /// address space is then left empty).
    pub fn seed(&mut self, vmas: &[SeedVma], process: SeedProcess) -> KResult<()> {
        if self.map_count() != 0 {
            return Err(Errno::EBUSY);
        }
        check_seed(vmas, self.config.task_size)?;
        for s in vmas {
            if let Err(e) = self.seed_one(s) {
                self.clear_seeded();
                return Err(e);
            }
        }
        let p = &mut self.process;
        p.start_brk = process.start_brk;
        p.brk = process.brk.max(process.start_brk);
        p.start_stack = process.start_stack;
        if let Some(base) = process.mmap_base {
            p.mmap_base = base;
        }
        debug_assert!(self.validate().is_ok(), "{:?}", self.validate());
        Ok(())
    }

    fn seed_one(&mut self, s: &SeedVma) -> KResult<()> {
        self.alloc(crate::env::AllocSite::Vma)?;
        let mut vma = Vma::new(s.start, s.end, s.pgoff, s.flags);
        vma.ops = s.file.as_ref().and_then(|f| f.inner().vm_ops);
        vma.file = s.file.clone();
        let mut stats = self.stats();
        count_stats(&mut stats, &vma);
        self.set.set_stats(stats);
        let id = self.set.link(vma);
        if s.faulted {
            self.core().anon_vma_prepare(id)?;
        }
        Ok(())
    }

    /// Undoes a failed seed.
    fn clear_seeded(&mut self) {
        let all: Vec<(u64, u64)> = self.vmas().map(|(_, v)| (v.start, v.end)).collect();
        for (s, e) in all {
            let _ = self.munmap(s, e - s);
        }
    }

    /// A page at `addr` was faulted in as an anonymous page where the
    /// model could not see it (a process it follows wrote there): the VMA
    /// gets its `anon_vma` as a write fault would give it, whatever its
    /// current protection. EFAULT if no VMA holds `addr`.
    pub fn note_anon_fault(&mut self, addr: u64) -> KResult<()> {
        let id = self.vma_at(addr).ok_or(Errno::EFAULT)?;
        if self.vma(id).flags.contains(VmFlags::SHARED) {
            return Ok(());
        }
        self.core().anon_vma_prepare(id)?;
        let page = addr & !(crate::config::PAGE_SIZE - 1);
        self.page_faulted_in(id, page, page + crate::config::PAGE_SIZE, true);
        Ok(())
    }
}

/// The invariants a seed must meet.
fn check_seed(vmas: &[SeedVma], task_size: u64) -> KResult<()> {
    let page = crate::config::PAGE_SIZE;
    let mut last_end = 0;
    for s in vmas {
        let aligned = s.start % page == 0 && s.end % page == 0;
        if !aligned || s.start >= s.end || s.start < last_end || s.end > task_size {
            return Err(Errno::EINVAL);
        }
        last_end = s.end;
    }
    Ok(())
}

impl<E: Env> Mm<E> {
    /// Gives the seeded VMA containing `addr` the anonymous name a
    /// snapshot shows (`[anon:NAME]`), as it is: nothing merges or splits.
    /// EFAULT if no VMA holds `addr`; EINVAL for a file VMA.
    pub fn seed_anon_name(&mut self, addr: u64, name: &str) -> KResult<()> {
        let id = self.vma_at(addr).ok_or(Errno::EFAULT)?;
        let vma = self.vma_mut(id);
        if vma.file.is_some() {
            return Err(Errno::EINVAL);
        }
        vma.anon_name = Some(alloc::sync::Arc::new(alloc::string::String::from(name)));
        Ok(())
    }
}
