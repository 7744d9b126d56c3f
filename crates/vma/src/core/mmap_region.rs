//! Mapping a range (`mmap_region`): unmap what was there, merge with the
//! neighbours or create a VMA, run the file's `mmap` hook, account.

use super::account::accountable_mapping;
use super::hugetlb::is_file_hugepages;
use super::munmap::Munmap;
use super::set::account_kind;
use super::vmg::MergeState;
use super::Core;
use crate::env::{AllocSite, Env};
use crate::errno::KResult;
use crate::file::{File, FileKind, VmOps};
use crate::flags::VmFlags;
use crate::slab::VmaId;
use crate::vma::Vma;

/// Ops id of the shmem VMAs `shmem_zero_setup` creates.
pub(crate) const SHMEM_OPS_ID: u32 = u32::MAX - 1;

/// `struct mmap_state`: the mapping being made.
struct MapState {
    addr: u64,
    end: u64,
    pgoff: u64,
    pglen: u64,
    flags: VmFlags,
    file: Option<File>,
    charged: u64,
    /// Accounted pages of the replaced VMAs, whose charge the new mapping
    /// took over (`vms->nr_accounted` before `__mmap_setup` zeroes it).
    took_over: u64,
    prev: Option<VmaId>,
    next: Option<VmaId>,
    vms: Munmap,
}

impl<E: Env> Core<'_, E> {
    /// `mmap_region`: maps `[addr, addr + len)` (aligned, checked) with
    /// `flags`, replacing whatever was there. Returns `addr`.
    pub(crate) fn mmap_region(
        &mut self,
        file: Option<File>,
        addr: u64,
        len: u64,
        flags: VmFlags,
        pgoff: u64,
    ) -> KResult<u64> {
        // Callers place the range with get_unmapped_area, below TASK_SIZE.
        debug_assert!(addr.checked_add(len).is_some(), "range wraps");
        let mut map = MapState {
            addr,
            end: addr + len,
            pgoff,
            pglen: len >> crate::config::PAGE_SHIFT,
            flags,
            file,
            charged: 0,
            took_over: 0,
            prev: None,
            next: None,
            vms: self.munmap_state(addr, addr + len),
        };
        if let Err(e) = self.mmap_setup(&mut map) {
            self.munmap_abort(&mut map.vms);
            return Err(e);
        }
        let merged = if map.prev.is_some() || map.next.is_some() {
            let mut vmg = MergeState::new(map.addr, map.end, map.flags, map.pgoff);
            vmg.file = map.file.clone();
            vmg.prev = map.prev;
            vmg.next = map.next;
            if self.config.new_vma_merges_prev_first_6_12() {
                self.merge_new_range(&mut vmg)
            } else {
                self.merge_new_range_next_first(&mut vmg)
            }
        } else {
            None
        };
        let vma = match merged {
            Some(v) => v,
            None => match self.mmap_new_vma(&mut map) {
                Ok(v) => v,
                Err(e) => {
                    self.vm_unacct_memory(map.charged);
                    self.munmap_abort(&mut map.vms);
                    self.leak_taken_over_charge(&map);
                    return Err(e);
                }
            },
        };
        self.mmap_complete(&mut map, vma);
        Ok(addr)
    }

    /// `__mmap_setup`: gather what the range overlaps, check the limits,
    /// charge the memory, and clear what will be replaced.
    fn mmap_setup(&mut self, map: &mut MapState) -> KResult<()> {
        let mut at = self.set.mark(map.addr);
        if let Some(first) = self.set.find_at(&mut at, map.addr, map.end) {
            if let Err(e) = self.munmap_gather(&mut map.vms, first, at) {
                map.vms.nr_pages = 0;
                if e != crate::errno::Errno::EPERM && !self.config.mmap_passes_unmap_errors() {
                    return Err(crate::errno::Errno::ENOMEM);
                }
                return Err(e);
            }
            map.prev = map.vms.prev;
            map.next = map.vms.next;
        } else {
            map.prev = self.set.prev_at(&mut at);
            map.next = self.set.find_at(&mut at, map.addr, u64::MAX);
        }
        if !self.set.may_expand_vm(
            self.config,
            map.flags,
            map.pglen.wrapping_sub(map.vms.nr_pages),
        ) {
            return Err(crate::errno::Errno::ENOMEM);
        }
        if accountable_mapping(map.file.as_ref(), map.flags) {
            let charged = map.pglen - map.vms.nr_accounted;
            if charged > 0 {
                self.vm_enough_memory(charged)?;
            }
            map.charged = charged;
            map.took_over = map.vms.nr_accounted;
            map.vms.nr_accounted = 0;
            map.flags |= VmFlags::ACCOUNT;
        }
        self.munmap_clean_up(&mut map.vms);
        Ok(())
    }

    /// The new VMA failed after the replaced ones were closed: they are
    /// gone (a gap is left), but their charge had moved to the new mapping,
    /// which uncharges only its own part -- the kernel never uncharges
    /// theirs. Kept apart so that a recount still agrees.
    fn leak_taken_over_charge(&mut self, map: &MapState) {
        debug_assert!(map.vms.detached.is_empty(), "replaced VMAs were freed");
        self.set.committed_leaked = self.set.committed_leaked.wrapping_add(map.took_over);
    }

    /// `__mmap_new_vma`: no merge was possible; allocate and insert a VMA.
    fn mmap_new_vma(&mut self, map: &mut MapState) -> KResult<VmaId> {
        self.alloc(AllocSite::Vma)?;
        let mut vma = Vma::new(map.addr, map.end, map.pgoff, map.flags);
        self.tree_prealloc()?;
        if let Some(file) = map.file.clone() {
            vma.file = Some(file.clone());
            if file.inner().has_mmap {
                let mut flags = vma.flags;
                let hooked = if file.inner().kind == FileKind::Socket {
                    Err(crate::errno::Errno::ENODEV)
                } else if is_file_hugepages(Some(&file)) {
                    self.hugetlbfs_mmap(&file, &vma).map(|f| flags = f)
                } else {
                    self.shmem_seals_at_mmap(&file, &mut flags)
                        .and_then(|()| self.env.file_mmap(&file, &vma, &mut flags))
                };
                if let Err(e) = hooked {
                    self.zap(map.addr, map.end);
                    return Err(e);
                }
                vma.flags = flags;
                // A private /dev/zero mapping is anonymous memory: no ops.
                if file.inner().kind != FileKind::DevZero {
                    vma.ops = Some(file.inner().vm_ops.unwrap_or_default());
                }
            }
            map.flags = vma.flags;
        } else if map.flags.contains(VmFlags::SHARED) {
            self.alloc(AllocSite::ShmemFile)?;
            vma.file = Some(File::anon_shmem(map.pglen));
            vma.ops = Some(VmOps {
                id: SHMEM_OPS_ID,
                ..VmOps::default()
            });
        }
        let id = self.set.vmas.insert(vma);
        self.env.vma_start_write(id);
        self.set.tree.store(map.addr, map.end, id);
        self.set.map_count += 1;
        Ok(id)
    }

    /// Before 6.12 a memfd's write seals were met here, once the range was
    /// cleared, by `shmem_mmap`: the rule `do_mmap` applies since (see
    /// [`File::check_write_seal`] and
    /// [`Config::memfd_seals_checked_in_do_mmap_6_12`](crate::Config::memfd_seals_checked_in_do_mmap_6_12)).
    fn shmem_seals_at_mmap(&self, file: &File, flags: &mut VmFlags) -> KResult<()> {
        if self.config.memfd_seals_checked_in_do_mmap_6_12() {
            return Ok(());
        }
        file.check_write_seal(flags)
    }

    /// `__mmap_complete`: unmap what was replaced, account the new pages,
    /// and apply `VM_LOCKED` and soft-dirty.
    fn mmap_complete(&mut self, map: &mut MapState, vma: VmaId) {
        self.munmap_complete(&mut map.vms);
        let flags = self.vma(vma).flags;
        self.set.stats.total_vm = self.set.stats.total_vm.wrapping_add(map.pglen);
        account_kind(&mut self.set.stats, flags, map.pglen as i64);
        if flags.intersects(VmFlags::LOCKED) {
            if !supports_mlock(self.vma(vma)) {
                self.vma_mut(vma).flags.remove(VmFlags::LOCKED_MASK);
            } else {
                self.set.stats.locked_vm = self.set.stats.locked_vm.wrapping_add(map.pglen);
            }
        }
        if self.config.soft_dirty {
            self.vma_mut(vma).flags |= VmFlags::SOFTDIRTY;
        }
    }
}

/// `vma_supports_mlock`: special, droppable and hugetlb VMAs cannot be locked.
pub(crate) fn supports_mlock(vma: &Vma) -> bool {
    !vma.flags
        .intersects(VmFlags::SPECIAL | VmFlags::DROPPABLE | VmFlags::HUGETLB)
}
