//! `mremap(2)`: argument checks, the per-VMA checks, shrinking, growing in
//! place, and the choice between a resize where the mapping lies and a move
//! (mm/mremap.c: `do_mremap`, `check_mremap_params`, `check_prep_vma`,
//! `mremap_at`, `mremap_to`, `expand_vma`, `shrink_vma`, `remap_move`).
//! The move itself is in `mremap_move.rs`.
//!
//! Reproduces Linux 6.18. Not modelled:
//! - hugetlb pool reservations: a hugetlb VMA moves or shrinks (never
//!   grows, see `align_hugetlb`) with the reservation it was mapped with;
//! - guard regions: their markers live in page tables, which move with the
//!   pages; only the sticky `VM_MAYBE_GUARD` flag exists here, copied like
//!   any other flag;
//! - userfaultfd remap events: the contexts here have no event features, so
//!   a moved VMA simply loses its registration, as Linux does without
//!   `UFFD_FEATURE_EVENT_REMAP`;
//! - `vm_ops->mremap` (special mappings such as the vDSO): no file here
//!   has one;
//! - KSM unmerging of the moved range (page state only).

use super::consts::*;
use super::hugetlb::vma_huge_page_size;
use crate::config::{PAGE_SHIFT, PAGE_SIZE};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;

/// What a remap does to the size of the range (`enum mremap_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum RemapKind {
    NoResize,
    Shrink,
    Expand,
}

/// One mremap operation as it progresses (`struct vma_remap_struct`). A
/// multi-VMA move rewrites the range fields for each VMA in turn.
#[derive(Clone, Debug)]
pub(super) struct Remap {
    pub addr: u64,
    pub old_len: u64,
    pub new_len: u64,
    pub flags: u32,
    pub new_addr: u64,
    /// The VMA being remapped, once looked up.
    pub vma: Option<VmaId>,
    /// `|old_len - new_len|`.
    pub delta: u64,
    pub kind: RemapKind,
    /// Pages charged to overcommit accounting by this operation.
    pub charged: u64,
    /// A locked VMA grew: fault in the new part once done.
    pub populate_expand: bool,
}

impl Remap {
    /// `vrm_set_delta` and `vrm_remap_type`.
    fn set_delta(&mut self) {
        self.delta = self.old_len.abs_diff(self.new_len);
        self.kind = if self.delta == 0 {
            RemapKind::NoResize
        } else if self.old_len > self.new_len {
            RemapKind::Shrink
        } else {
            RemapKind::Expand
        };
    }

    /// `align_hugetlb`: a hugetlb VMA moves and shrinks in whole huge pages
    /// of `size` bytes: both lengths are rounded up to them, both addresses
    /// must be aligned to them (even a new address that only
    /// `MREMAP_FIXED` would use), and it never grows, since its pool
    /// reservation cannot be extended. False if the remap is refused.
    fn align_hugetlb(&mut self, size: u64) -> bool {
        self.old_len = super::hugetlb::huge_align(self.old_len, size);
        self.new_len = super::hugetlb::huge_align(self.new_len, size);
        (self.addr | self.new_addr) % size == 0 && self.new_len <= self.old_len
    }

    /// `vrm_implies_new_addr`: `MREMAP_FIXED` and `MREMAP_DONTUNMAP` always
    /// end at a new address.
    pub(super) fn implies_new_addr(&self) -> bool {
        self.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
    }

    /// `vrm_overlaps`: do the old and new ranges intersect?
    fn overlaps(&self) -> bool {
        let end_old = self.addr.wrapping_add(self.old_len);
        let end_new = self.new_addr.wrapping_add(self.new_len);
        end_old > self.new_addr && end_new > self.addr
    }

    /// `vrm_will_map_new`: does the operation map address space it did not
    /// have (a growth or a move)?
    fn will_map_new(&self) -> bool {
        self.kind == RemapKind::Expand || self.implies_new_addr()
    }

    /// `vrm_move_only`: a same-size `MREMAP_FIXED` move, which may span
    /// several VMAs (since 6.17).
    fn move_only(&self) -> bool {
        self.flags & MREMAP_FIXED != 0 && self.old_len == self.new_len
    }

    pub(super) fn vma(&self) -> VmaId {
        self.vma.expect("remap has its VMA")
    }
}

impl<E: Env> Mm<E> {
    /// `mremap(old_addr, old_len, new_len, flags, new_addr)`: resize and/or
    /// move a mapping. Returns the mapping's (possibly new) address.
    ///
    /// A same-size `MREMAP_FIXED` move may span several VMAs and the holes
    /// between them; the holes are kept at the destination. Such a move
    /// stops at the first VMA that fails, leaving the VMAs before it moved,
    /// as the kernel does.
    pub fn mremap(
        &mut self,
        old_addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> KResult<u64> {
        let mut vrm = Remap {
            addr: old_addr,
            old_len: old_len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1),
            new_len: new_len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1),
            flags,
            new_addr,
            vma: None,
            delta: 0,
            kind: RemapKind::NoResize,
            charged: 0,
            populate_expand: false,
        };
        if !self.config.mremap_multi_vma_6_17() {
            return self.mremap_one_vma(&mut vrm);
        }
        self.check_mremap_params(&vrm)?;
        let res = if vrm.move_only() {
            self.remap_move(&mut vrm)
        } else {
            vrm.vma = self.vma_at(vrm.addr);
            self.check_prep_vma(&mut vrm)?;
            if vrm.implies_new_addr() {
                self.mremap_to(&mut vrm)
            } else {
                self.mremap_at(&mut vrm)
            }
        }?;
        if vrm.populate_expand {
            self.populate(vrm.new_addr.wrapping_add(vrm.old_len), vrm.delta);
        }
        Ok(res)
    }

    /// mremap before 6.17: the range lies in one VMA, which is looked up
    /// (EFAULT, sealed EPERM) before a move's destination is checked; a
    /// move unmaps its destination (and shrinks) before the VMA's own
    /// checks, so a failing move may already have unmapped it.
    fn mremap_one_vma(&mut self, vrm: &mut Remap) -> KResult<u64> {
        let f = vrm.flags;
        if f & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0 {
            return Err(Errno::EINVAL);
        }
        if f & MREMAP_FIXED != 0 && f & MREMAP_MAYMOVE == 0 {
            return Err(Errno::EINVAL);
        }
        if f & MREMAP_DONTUNMAP != 0 && (f & MREMAP_MAYMOVE == 0 || vrm.old_len != vrm.new_len) {
            return Err(Errno::EINVAL);
        }
        if vrm.addr % PAGE_SIZE != 0 || vrm.new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let id = self.vma_at(vrm.addr).ok_or(Errno::EFAULT)?;
        if self.vma(id).is_sealed() {
            return Err(Errno::EPERM);
        }
        // Hugetlb alignment came right after the lookup, before anything
        // about the destination.
        if let Some(size) = vma_huge_page_size(self.vma(id)) {
            if !vrm.align_hugetlb(size) {
                return Err(Errno::EINVAL);
            }
        }
        vrm.vma = Some(id);
        let res = if vrm.implies_new_addr() {
            let task_size = self.config.task_size;
            if vrm.new_addr % PAGE_SIZE != 0
                || vrm.new_len > task_size
                || vrm.new_addr > task_size - vrm.new_len
                || vrm.overlaps()
            {
                return Err(Errno::EINVAL);
            }
            if self.map_count() + 2 >= self.config.max_map_count.saturating_sub(3) {
                return Err(Errno::ENOMEM);
            }
            if f & MREMAP_FIXED != 0 {
                vrm.vma = None;
                self.core().do_munmap(vrm.new_addr, vrm.new_len)?;
            }
            if vrm.old_len > vrm.new_len {
                vrm.vma = None;
                self.core().do_munmap(
                    vrm.addr.wrapping_add(vrm.new_len),
                    vrm.old_len - vrm.new_len,
                )?;
                vrm.old_len = vrm.new_len;
            }
            vrm.vma = self.vma_at(vrm.addr);
            self.check_prep_vma(vrm)?;
            if f & MREMAP_DONTUNMAP != 0 {
                let flags = self.vma(vrm.vma()).flags;
                if !self.may_expand_vm(flags, vrm.old_len >> PAGE_SHIFT) {
                    return Err(Errno::ENOMEM);
                }
            }
            self.set_new_addr(vrm)?;
            self.move_vma(vrm)?
        } else if vrm.old_len >= vrm.new_len {
            if vrm.old_len > vrm.new_len {
                vrm.vma = None;
                self.core().do_munmap(
                    vrm.addr.wrapping_add(vrm.new_len),
                    vrm.old_len - vrm.new_len,
                )?;
            }
            return Ok(vrm.addr);
        } else {
            self.check_prep_vma(vrm)?;
            self.expand_vma(vrm)?
        };
        if vrm.populate_expand {
            self.populate(vrm.new_addr.wrapping_add(vrm.old_len), vrm.delta);
        }
        Ok(res)
    }

    /// `check_mremap_params`: the checks that need no VMA. Lengths are
    /// already page-aligned (a length within a page of 2^64 wraps to 0).
    fn check_mremap_params(&self, vrm: &Remap) -> KResult<()> {
        let task_size = self.config.task_size;
        if vrm.flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0 {
            return Err(Errno::EINVAL);
        }
        if vrm.addr % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        if vrm.new_len == 0 || vrm.new_len > task_size {
            return Err(Errno::EINVAL);
        }
        if !vrm.implies_new_addr() {
            return Ok(());
        }
        if vrm.new_addr > task_size - vrm.new_len || vrm.new_addr % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        if vrm.flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::EINVAL);
        }
        if vrm.flags & MREMAP_DONTUNMAP != 0 && vrm.old_len != vrm.new_len {
            return Err(Errno::EINVAL);
        }
        if vrm.overlaps() {
            return Err(Errno::EINVAL);
        }
        // The worst case splits both the source and the destination VMAs in
        // three; 6.18 keeps four more maps of headroom on top of that.
        if self.map_count() + 2 >= self.config.max_map_count.saturating_sub(3) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// `check_prep_vma`: the checks against the VMA at `vrm.addr`, in the
    /// kernel's order, and the remap's kind. A sealed VMA refuses every
    /// mremap, even one that changes nothing.
    fn check_prep_vma(&mut self, vrm: &mut Remap) -> KResult<()> {
        let Some(id) = vrm.vma else {
            return Err(Errno::EFAULT);
        };
        let v = self.vma(id);
        if v.is_sealed() {
            return Err(Errno::EPERM);
        }
        if let Some(size) = vma_huge_page_size(v) {
            if !vrm.align_hugetlb(size) {
                return Err(Errno::EINVAL);
            }
        }
        vrm.set_delta();
        if !vrm.implies_new_addr() {
            vrm.new_addr = vrm.addr;
        }
        if !vrm.will_map_new() {
            return Ok(());
        }
        let (flags, start, end, pgoff) = (v.flags, v.start, v.end, v.pgoff);
        let mut old_len = vrm.old_len;
        let new_len = vrm.new_len;
        // Duplicating a private mapping (old_len 0) would only make an
        // unrelated new one.
        if old_len == 0 && !flags.intersects(VmFlags::SHARED | VmFlags::MAYSHARE) {
            return Err(Errno::EINVAL);
        }
        let special = VmFlags::DONTEXPAND | VmFlags::PFNMAP;
        if vrm.flags & MREMAP_DONTUNMAP != 0 && flags.intersects(special) {
            return Err(Errno::EINVAL);
        }
        // A shrinking move may unmap past the VMA; only what moves must
        // lie inside it.
        if vrm.kind == RemapKind::Shrink {
            old_len = new_len;
        }
        if old_len > end - vrm.addr {
            return Err(Errno::EFAULT);
        }
        if new_len == old_len {
            return Ok(());
        }
        if flags.contains(VmFlags::LOCKED) {
            vrm.populate_expand = true;
        }
        let pgoff = pgoff.wrapping_add((vrm.addr - start) >> PAGE_SHIFT);
        if pgoff.checked_add(new_len >> PAGE_SHIFT).is_none() {
            return Err(Errno::EINVAL);
        }
        if flags.intersects(special) {
            return Err(Errno::EFAULT);
        }
        if !self.mlock_future_ok(flags & VmFlags::LOCKED, vrm.delta) {
            return Err(Errno::EAGAIN);
        }
        if !self.may_expand_vm(flags, vrm.delta >> PAGE_SHIFT) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// `mremap_at`: resize where the mapping lies, moving it only if it
    /// must grow, cannot, and `MREMAP_MAYMOVE` allows it.
    fn mremap_at(&mut self, vrm: &mut Remap) -> KResult<u64> {
        match vrm.kind {
            RemapKind::NoResize => Ok(vrm.addr),
            RemapKind::Shrink => {
                self.shrink_vma(vrm, false)?;
                Ok(vrm.addr)
            }
            RemapKind::Expand => self.expand_vma(vrm),
        }
    }

    /// `shrink_vma`: unmap `[addr + new_len, addr + old_len)`, which may
    /// span several VMAs and holes. With `reload` (a move follows), find
    /// the VMA at `addr` again, since the unmap may have split it.
    fn shrink_vma(&mut self, vrm: &mut Remap, reload: bool) -> KResult<()> {
        let start = vrm.addr.wrapping_add(vrm.new_len);
        vrm.vma = None;
        self.core().do_munmap(start, vrm.delta)?;
        if reload {
            vrm.vma = Some(self.vma_at(vrm.addr).ok_or(Errno::EFAULT)?);
        }
        Ok(())
    }

    /// `expand_vma`: grow in place if the range ends the VMA and the space
    /// after it is free, else move (with `MREMAP_MAYMOVE`) or fail.
    fn expand_vma(&mut self, vrm: &mut Remap) -> KResult<u64> {
        if self.can_expand_in_place(vrm) {
            self.expand_vma_in_place(vrm)?;
            return Ok(vrm.addr);
        }
        if vrm.flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        self.set_new_addr(vrm)?;
        self.move_vma(vrm)
    }

    /// `vrm_can_expand_in_place` and `vma_expandable`: the range reaches the
    /// end of its VMA and `delta` bytes after it are free and addressable.
    fn can_expand_in_place(&self, vrm: &Remap) -> bool {
        let v = self.vma(vrm.vma());
        if v.end - vrm.addr != vrm.old_len {
            return false;
        }
        let Some(end) = v.end.checked_add(vrm.delta) else {
            return false;
        };
        if self.find_vma_intersection(v.end, end).is_some() {
            return false;
        }
        self.get_unmapped_area(None, v.start, end - v.start, 0, MAP_FIXED, VmFlags::NONE)
            .is_ok()
    }

    /// `expand_vma_in_place`: charge, then extend the VMA over the free
    /// space after it (`vma_merge_extend`), joining the next VMA if it
    /// matches.
    fn expand_vma_in_place(&mut self, vrm: &mut Remap) -> KResult<()> {
        self.remap_charge(vrm)?;
        let Some(vma) = self.core().merge_extend(vrm.vma(), vrm.delta) else {
            self.remap_uncharge(vrm);
            return Err(Errno::ENOMEM);
        };
        vrm.vma = Some(vma);
        self.remap_stat_account(vrm, vrm.delta);
        Ok(())
    }

    /// `mremap_to`: move to a chosen (`MREMAP_FIXED`) or new
    /// (`MREMAP_DONTUNMAP`) address. A fixed destination is unmapped first,
    /// and a shrink happens before the move.
    fn mremap_to(&mut self, vrm: &mut Remap) -> KResult<u64> {
        if vrm.flags & MREMAP_FIXED != 0 {
            vrm.vma = None;
            self.core().do_munmap(vrm.new_addr, vrm.new_len)?;
            // The destination may have been part of the source's VMA.
            vrm.vma = Some(self.vma_at(vrm.addr).ok_or(Errno::EFAULT)?);
        }
        if vrm.kind == RemapKind::Shrink {
            self.shrink_vma(vrm, true)?;
            vrm.old_len = vrm.new_len;
        }
        if vrm.flags & MREMAP_DONTUNMAP != 0 {
            // The source stays, so the address space grows by the move.
            let flags = self.vma(vrm.vma()).flags;
            if !self.may_expand_vm(flags, vrm.old_len >> PAGE_SHIFT) {
                return Err(Errno::ENOMEM);
            }
        }
        self.set_new_addr(vrm)?;
        self.move_vma(vrm)
    }

    /// `vrm_set_new_addr`: where the moved mapping goes -- the fixed
    /// address, the `MREMAP_DONTUNMAP` hint, or anywhere.
    fn set_new_addr(&mut self, vrm: &mut Remap) -> KResult<()> {
        let v = self.vma(vrm.vma());
        let pgoff = v.pgoff.wrapping_add((vrm.addr - v.start) >> PAGE_SHIFT);
        let hint = if vrm.implies_new_addr() {
            vrm.new_addr
        } else {
            0
        };
        let mut map_flags = 0;
        if vrm.flags & MREMAP_FIXED != 0 {
            map_flags |= MAP_FIXED;
        }
        if v.flags.contains(VmFlags::MAYSHARE) {
            map_flags |= MAP_SHARED;
        }
        let file = v.file.clone();
        let addr = self.get_unmapped_area(
            file.as_ref(),
            hint,
            vrm.new_len,
            pgoff,
            map_flags,
            VmFlags::NONE,
        )?;
        // security_mmap_addr: low addresses need CAP_SYS_RAWIO.
        if addr < self.config.mmap_min_addr && !self.config.cap_sys_rawio {
            return Err(Errno::EPERM);
        }
        vrm.new_addr = addr;
        Ok(())
    }

    /// `remap_move`: a same-size `MREMAP_FIXED` move of every VMA in
    /// `[addr, addr + old_len)`, keeping the gaps between them. The range
    /// must start in a VMA; it may end in a hole. A VMA with a userfaultfd
    /// registration can only move alone. The first failure ends the move:
    /// VMAs already moved stay moved. Returns where the first VMA went.
    fn remap_move(&mut self, vrm: &mut Remap) -> KResult<u64> {
        let start = vrm.addr;
        let end = start.wrapping_add(vrm.old_len);
        let mut target = vrm.new_addr;
        let mut cursor = start;
        let mut first = None;
        let mut last_end = 0;
        while let Some(id) = self.find_vma_intersection(cursor, end) {
            let (vstart, vend) = {
                let v = self.vma(id);
                (v.start, v.end)
            };
            if first.is_none() && start < vstart {
                return Err(Errno::EFAULT);
            }
            let addr = vstart.max(start);
            let len = end.min(vend) - addr;
            let gap = if first.is_some() {
                vstart - last_end
            } else {
                0
            };
            last_end = vend;
            vrm.vma = Some(id);
            vrm.addr = addr;
            vrm.new_addr = target.wrapping_add(gap);
            vrm.old_len = len;
            vrm.new_len = len;
            if !self.vma_multi_allowed(id) && (first.is_some() || vend < end) {
                return Err(Errno::EFAULT);
            }
            self.check_prep_vma(vrm)?;
            let res = self.mremap_to(vrm)?;
            first.get_or_insert(res);
            target = res + len;
            // The kernel's iterator resumes after the VMA it found.
            cursor = vend;
        }
        first.ok_or(Errno::EFAULT)
    }

    /// `vma_multi_allowed`: a VMA that may move as part of several. One
    /// armed for userfaultfd may not (its events need the lock dropped),
    /// nor one whose file chooses its own addresses and might not honour
    /// `MREMAP_FIXED`: here `/dev/zero` (private mappings keep it as their
    /// file) and SysV attaches (`shm_get_unmapped_area`; not
    /// `vma_is_shmem`, whose placement the kernel trusts). Hugetlbfs
    /// chooses too, but the kernel knows it complies.
    fn vma_multi_allowed(&self, id: VmaId) -> bool {
        let v = self.vma(id);
        let own_placement = v.is_sysv_shm()
            || v.file
                .as_ref()
                .is_some_and(|f| f.inner().kind == crate::file::FileKind::DevZero);
        !v.flags.intersects(VmFlags::UFFD_FLAGS) && !own_placement
    }

    /// `vrm_calc_charge`: charge overcommit for an accounted VMA -- the
    /// growth, or the whole new range when the source stays.
    pub(super) fn remap_charge(&mut self, vrm: &mut Remap) -> KResult<()> {
        vrm.charged = 0;
        if !self.vma(vrm.vma()).flags.contains(VmFlags::ACCOUNT) {
            return Ok(());
        }
        let bytes = if vrm.flags & MREMAP_DONTUNMAP != 0 {
            vrm.new_len
        } else {
            vrm.delta
        };
        let charged = bytes >> PAGE_SHIFT;
        self.core().vm_enough_memory(charged)?;
        vrm.charged = charged;
        Ok(())
    }

    /// `vrm_uncharge`: give back what `remap_charge` took.
    pub(super) fn remap_uncharge(&mut self, vrm: &mut Remap) {
        if self.vma(vrm.vma()).flags.contains(VmFlags::ACCOUNT) {
            self.core().vm_unacct_memory(vrm.charged);
            vrm.charged = 0;
        }
    }

    /// `vrm_stat_account`: `bytes` more of the VMA's kind (and locked
    /// memory if it is locked).
    pub(super) fn remap_stat_account(&mut self, vrm: &Remap, bytes: u64) {
        let pages = bytes >> PAGE_SHIFT;
        let flags = self.vma(vrm.vma()).flags;
        self.set.add_total(pages);
        self.set.account_kind(flags, pages as i64);
        if flags.contains(VmFlags::LOCKED) {
            self.set.add_locked(pages as i64);
        }
    }
}
