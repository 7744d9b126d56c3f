//! The one boundary between the VMA layer and the world: the counterpart of
//! the kernel's `vma_internal.h`. Page tables, file and driver hooks,
//! memory accounting and every allocation the core makes go through
//! [`Env`], so a test can watch them or make any one of them fail.

use crate::errno::{Errno, KResult};
use crate::file::File;
use crate::flags::VmFlags;
use crate::slab::VmaId;
use crate::vma::Vma;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// Every place the core allocates memory. Each may fail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AllocSite {
    /// `vm_area_alloc` / `vm_area_dup`.
    Vma,
    /// `anon_vma_alloc`.
    AnonVma,
    /// `anon_vma_chain_alloc`.
    AnonVmaChain,
    /// Maple tree preallocation (`vma_iter_prealloc`) or a storing write
    /// that allocates (`mas_store_gfp`, `vma_iter_clear_gfp`).
    TreeNodes,
    /// `vma_dup_policy` / `mpol_dup`.
    Policy,
    /// `shmem_zero_setup`'s new file.
    ShmemFile,
    /// `anon_vma_name` duplication.
    AnonName,
}

/// What the kernel would tell the rest of the system while the VMA layer works.
pub trait Env {
    /// An allocation is about to happen; `false` makes it fail (ENOMEM paths).
    fn alloc(&mut self, _site: AllocSite) -> bool {
        true
    }
    /// `vma_start_write`: the VMA is write-locked before it is changed
    /// (per-VMA locks; page faults on it wait).
    fn vma_start_write(&mut self, _vma: VmaId) {}
    /// Page-table entries in `[start, end)` are being torn down.
    fn zap(&mut self, _start: u64, _end: u64) {}
    /// Page tables move (mremap, exec stack relocation). Returns how many
    /// bytes moved; anything short of `len` is a failure.
    fn move_page_tables(&mut self, _from: u64, _to: u64, len: u64) -> u64 {
        len
    }
    /// Protection of `[start, end)` changes to the given flags.
    fn change_protection(&mut self, _start: u64, _end: u64, _flags: VmFlags) {}
    /// `f_op->mmap` on a new VMA. May refuse with an errno; may change the
    /// flags (the kernel lets drivers do so) through `flags`.
    fn file_mmap(&mut self, _file: &File, _vma: &Vma, _flags: &mut VmFlags) -> KResult<()> {
        Ok(())
    }
    /// `vm_ops->open` on a VMA that was just duplicated.
    fn vma_open(&mut self, _vma: &Vma) {}
    /// `vm_ops->close` on a VMA that is going away.
    fn vma_close(&mut self, _vma: &Vma) {}
    /// `vm_ops->may_split` before a split at `addr`.
    fn may_split(&mut self, _vma: &Vma, _addr: u64) -> KResult<()> {
        Ok(())
    }
    /// Overcommit accounting: may `pages` more pages be committed? Called
    /// after the address space's own overcommit policy agreed.
    fn vm_enough_memory(&mut self, _pages: u64) -> KResult<()> {
        Ok(())
    }
}

/// The environment of a plain userland model: nothing fails, nothing is recorded.
#[derive(Default, Debug, Clone, Copy)]
pub struct NullEnv;
impl Env for NullEnv {}

/// One call the core made into the environment.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EnvEvent {
    /// An allocation at a site, and whether it was allowed.
    Alloc(AllocSite, bool),
    /// `zap(start, end)`.
    Zap(u64, u64),
    /// `move_page_tables(from, to, len)`.
    MovePageTables(u64, u64, u64),
    /// `change_protection(start, end, flags)`.
    ChangeProtection(u64, u64, VmFlags),
    /// `file_mmap` on the file with this inode.
    FileMmap(u64),
    /// `vma_open` on the VMA `[start, end)`.
    Open(u64, u64),
    /// `vma_close` on the VMA `[start, end)`.
    Close(u64, u64),
    /// `may_split` of the VMA `[start, end)` at an address.
    MaySplit(u64, u64, u64),
    /// `vma_start_write` on a VMA.
    WriteLock(VmaId),
}

/// A userland environment that records what was asked of it and can fail
/// the n-th allocation or refuse splits: the test double of `vma_internal.h`.
#[derive(Default, Debug, Clone)]
pub struct RecordingEnv {
    /// What was asked, in order (when `record` is on).
    pub events: Vec<EnvEvent>,
    /// Number of allocations attempted so far.
    pub allocs: usize,
    /// Fail the allocation with this index (0-based), and only that one.
    pub fail_alloc: Option<usize>,
    /// Fail every allocation of this site.
    pub fail_site: Option<AllocSite>,
    /// Errno returned by `may_split` (for VMAs whose ops have `may_split`).
    pub refuse_split: Option<Errno>,
    /// Errno returned by `file_mmap`.
    pub refuse_mmap: Option<Errno>,
    /// Number of `vm_ops->close` calls.
    pub closes: usize,
    /// Record events (off keeps long runs cheap).
    pub record: bool,
    /// VMAs write-locked since their last [`RecordingEnv::write_started`] check.
    pub write_locked: BTreeSet<VmaId>,
}

impl RecordingEnv {
    /// A recording environment that fails nothing and records events.
    pub fn new() -> Self {
        RecordingEnv {
            record: true,
            ..Default::default()
        }
    }
    /// Was `vma` write-locked since the last check? Re-arms, like the
    /// kernel harness's `vma_write_started`.
    pub fn write_started(&mut self, vma: VmaId) -> bool {
        self.write_locked.remove(&vma)
    }

    fn push(&mut self, e: EnvEvent) {
        if self.record {
            self.events.push(e);
        }
    }
}

impl Env for RecordingEnv {
    fn alloc(&mut self, site: AllocSite) -> bool {
        let n = self.allocs;
        self.allocs += 1;
        let ok = self.fail_alloc != Some(n) && self.fail_site != Some(site);
        self.push(EnvEvent::Alloc(site, ok));
        ok
    }
    fn vma_start_write(&mut self, vma: VmaId) {
        self.write_locked.insert(vma);
        self.push(EnvEvent::WriteLock(vma));
    }
    fn zap(&mut self, start: u64, end: u64) {
        self.push(EnvEvent::Zap(start, end));
    }
    fn move_page_tables(&mut self, from: u64, to: u64, len: u64) -> u64 {
        self.push(EnvEvent::MovePageTables(from, to, len));
        len
    }
    fn change_protection(&mut self, start: u64, end: u64, flags: VmFlags) {
        self.push(EnvEvent::ChangeProtection(start, end, flags));
    }
    fn file_mmap(&mut self, file: &File, _vma: &Vma, _flags: &mut VmFlags) -> KResult<()> {
        self.push(EnvEvent::FileMmap(file.inner().ino));
        match self.refuse_mmap {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
    fn vma_open(&mut self, vma: &Vma) {
        self.push(EnvEvent::Open(vma.start, vma.end));
    }
    fn vma_close(&mut self, vma: &Vma) {
        self.closes += 1;
        self.push(EnvEvent::Close(vma.start, vma.end));
    }
    fn may_split(&mut self, vma: &Vma, addr: u64) -> KResult<()> {
        self.push(EnvEvent::MaySplit(vma.start, vma.end, addr));
        match self.refuse_split {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
