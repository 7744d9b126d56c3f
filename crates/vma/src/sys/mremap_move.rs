//! The move half of `mremap(2)` (mm/mremap.c: `move_vma`,
//! `prep_move_vma`, `copy_vma_and_data`, `dontunmap_complete`,
//! `unmap_source_vma`): copy the VMA to its destination, move the page
//! tables, then unmap the source -- or, with `MREMAP_DONTUNMAP`, leave it
//! mapped and empty.

use super::consts::*;
use super::mremap::Remap;
use crate::config::{DontunmapBesideSource, PAGE_SHIFT};
use crate::core::anon::unlink_anon_vmas;
use crate::core::split::NewPart;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;

impl<E: Env> Mm<E> {
    /// `move_vma`: move `[vrm.addr, vrm.addr + old_len)` to `vrm.new_addr`
    /// (already chosen), `new_len` long. Returns the new address.
    ///
    /// If the page tables cannot all be moved, the moved part is moved back
    /// and the new VMA is unmapped instead of the old one (ENOMEM).
    pub(super) fn move_vma(&mut self, vrm: &mut Remap) -> KResult<u64> {
        self.prep_move_vma(vrm)?;
        self.remap_charge(vrm)?;
        self.env.vma_start_write(vrm.vma());
        self.split_out_locked_source(vrm);
        let accounted = self.vma(vrm.vma()).flags.contains(VmFlags::ACCOUNT);
        let (new_vma, err) = self.copy_vma_and_data(vrm)?;
        let copied = if accounted {
            vrm.new_len >> PAGE_SHIFT
        } else {
            0
        };
        // On failure the new VMA is counted here and uncounted by the unmap.
        self.remap_stat_account(vrm, vrm.new_len);
        let unaccounted = if err.is_none() && vrm.flags & MREMAP_DONTUNMAP != 0 {
            self.dontunmap_complete(vrm, new_vma);
            0
        } else {
            self.unmap_source_vma(vrm)
        };
        // What was charged but is carried by no VM_ACCOUNT VMA stays charged
        // for good: the growth charged by a shrinking fixed move (the kernel
        // charges the shrink's delta), the growth of a failed move, and
        // everything after a failed unmap.
        self.set
            .leak_committed(vrm.charged.wrapping_add(unaccounted).wrapping_sub(copied));
        match err {
            Some(e) => Err(e),
            None => Ok(vrm.new_addr),
        }
    }

    /// `prep_move_vma`: the checks before anything changes. The move needs
    /// room for up to three more VMAs (a copy that does not merge, a
    /// source split in three); a driver may refuse the splits.
    fn prep_move_vma(&mut self, vrm: &Remap) -> KResult<()> {
        if self.map_count() >= self.config.max_map_count.saturating_sub(3) {
            return Err(Errno::ENOMEM);
        }
        let end = vrm.addr.wrapping_add(vrm.old_len);
        let Mm { set, env, .. } = self;
        let v = set.vma(vrm.vma());
        if v.ops.is_some_and(|o| o.may_split) {
            if v.start != vrm.addr {
                env.may_split(v, vrm.addr)?;
            }
            if v.end != end {
                env.may_split(v, end)?;
            }
        }
        Ok(())
    }

    /// `copy_vma_and_data`: copy the VMA to the destination (merging there
    /// if it can; an unfaulted anonymous VMA takes the destination's page
    /// offset) and move the page tables. Returns the new VMA and, if the
    /// page tables did not all move, the error: `vrm` then describes the
    /// new range, which the caller unmaps. Fails outright (uncharged) only
    /// if the copy could not be made.
    fn copy_vma_and_data(&mut self, vrm: &mut Remap) -> KResult<(VmaId, Option<Errno>)> {
        let v = self.vma(vrm.vma());
        let new_pgoff = v.pgoff.wrapping_add((vrm.addr - v.start) >> PAGE_SHIFT);
        let beside_source = if vrm.flags & MREMAP_DONTUNMAP != 0 {
            self.config.dontunmap_beside_source
        } else {
            DontunmapBesideSource::Merges
        };
        let dest = (vrm.new_addr, vrm.new_len);
        let Some(copied) = self
            .core()
            .copy_vma(vrm.vma(), dest, new_pgoff, beside_source)
        else {
            self.remap_uncharge(vrm);
            return Err(Errno::ENOMEM);
        };
        // The source may have been merged into the copy.
        vrm.vma = Some(copied.src);
        let moved = self
            .env
            .move_page_tables(vrm.addr, vrm.new_addr, vrm.old_len);
        if moved < vrm.old_len {
            self.env.move_page_tables(vrm.new_addr, vrm.addr, moved);
            vrm.vma = Some(copied.new);
            vrm.old_len = vrm.new_len;
            vrm.addr = vrm.new_addr;
            return Ok((copied.new, Some(Errno::ENOMEM)));
        }
        // Guard markers are page-table entries: they travel with the pages.
        self.guards.move_range(vrm.addr, vrm.new_addr, vrm.old_len);
        self.pages.move_range(vrm.addr, vrm.new_addr, vrm.old_len);
        self.remap_uffd_prep(copied.new);
        Ok((copied.new, None))
    }

    /// `mremap_userfaultfd_prep` for a context without
    /// `UFFD_FEATURE_EVENT_REMAP` (the only kind modelled): the moved VMA
    /// is no longer registered.
    fn remap_uffd_prep(&mut self, new_vma: VmaId) {
        if self.vma(new_vma).uffd_ctx.is_none() {
            return;
        }
        self.env.vma_start_write(new_vma);
        let v = self.vma_mut(new_vma);
        v.flags.remove(VmFlags::UFFD_FLAGS);
        v.uffd_ctx = None;
    }

    /// `dontunmap_complete`: the source stays mapped but empty and stops
    /// being locked (`locked_vm` is not reduced: the kernel leaves it
    /// counted twice), keeping `VM_ACCOUNT`: the whole source VMA, which
    /// is just the moved range where that was split out first (see
    /// [`Self::split_out_locked_source`]). If all of the VMA moved to
    /// another VMA, it drops its `anon_vma`, so it may merge, and be
    /// unaccounted by mprotect, like an unfaulted VMA again.
    fn dontunmap_complete(&mut self, vrm: &Remap, new_vma: VmaId) {
        let id = vrm.vma();
        let end = vrm.addr.wrapping_add(vrm.old_len);
        let v = self.vma(id);
        let whole = vrm.addr == v.start && end == v.end;
        if v.flags.intersects(VmFlags::LOCKED_MASK) {
            // Unlocked, still counted in locked_vm.
            self.set.leak_locked(v.pages());
        }
        self.env.vma_start_write(id);
        let v = self.vma_mut(id);
        v.flags.remove(VmFlags::LOCKED_MASK);
        if new_vma != id && whole {
            unlink_anon_vmas(v);
        }
    }

    /// Where `MREMAP_DONTUNMAP` unlocks just the moved range (see
    /// [`Config::dontunmap_unlocks_moved_range`]), the range of a locked
    /// source is split out of it before the copy is made, merging with
    /// nothing: the copy then sees the rest of the old VMA as an ordinary
    /// neighbour, and the range is unlocked in place once the pages moved
    /// (6.1, 6.12 and 7.2 agree). If a split fails, the whole VMA is
    /// unlocked instead, as the kernels without the split do.
    ///
    /// [`Config::dontunmap_unlocks_moved_range`]: crate::Config::dontunmap_unlocks_moved_range
    fn split_out_locked_source(&mut self, vrm: &Remap) {
        let id = vrm.vma();
        let v = self.vma(id);
        let end = vrm.addr.wrapping_add(vrm.old_len);
        if vrm.flags & MREMAP_DONTUNMAP == 0
            || !v.flags.intersects(VmFlags::LOCKED_MASK)
            || !self.config.dontunmap_unlocks_moved_range()
        {
            return;
        }
        if v.start < vrm.addr && self.core().split(id, vrm.addr, NewPart::Below).is_err() {
            return;
        }
        if self.vma(id).end > end {
            let _ = self.core().split(id, end, NewPart::Above);
        }
    }

    /// `unmap_source_vma`: unmap the moved-from range. An accounted move
    /// was charged only for its growth, so `VM_ACCOUNT` is cleared for the
    /// unmap (which would otherwise uncharge the range) and set again on
    /// what remains of the VMA on either side. If the unmap fails, the
    /// kernel only charges the range again (and the remains keep
    /// `VM_ACCOUNT` cleared). Returns the pages that lost `VM_ACCOUNT` for
    /// good plus those charged again, for the leak bookkeeping.
    fn unmap_source_vma(&mut self, vrm: &mut Remap) -> u64 {
        let (addr, len) = (vrm.addr, vrm.old_len);
        let end = addr.wrapping_add(len);
        let id = vrm.vma();
        let v = self.vma(id);
        let (vm_start, vm_end) = (v.start, v.end);
        let accountable = v.flags.contains(VmFlags::ACCOUNT) && vrm.flags & MREMAP_DONTUNMAP == 0;
        if accountable {
            self.env.vma_start_write(id);
            self.vma_mut(id).flags.remove(VmFlags::ACCOUNT);
        }
        let mut unaccounted = if accountable {
            (vm_end - vm_start) >> PAGE_SHIFT
        } else {
            0
        };
        vrm.vma = None;
        if self.core().do_munmap(addr, len).is_err() {
            self.set.add_committed(len >> PAGE_SHIFT);
            return unaccounted + (len >> PAGE_SHIFT);
        }
        if !accountable {
            return 0;
        }
        if vm_start < addr {
            if let Some(prev) = self.vma_prev_of(addr) {
                self.restore_account(prev);
                unaccounted -= (addr - vm_start) >> PAGE_SHIFT;
            }
        }
        if vm_end > end {
            if let Some(next) = self.find_vma(end) {
                self.restore_account(next);
                unaccounted -= (vm_end - end) >> PAGE_SHIFT;
            }
        }
        unaccounted
    }

    /// Sets `VM_ACCOUNT` again on what remains of a moved-from VMA.
    fn restore_account(&mut self, id: VmaId) {
        self.env.vma_start_write(id);
        self.vma_mut(id).flags.insert(VmFlags::ACCOUNT);
    }
}
