// SPDX-License-Identifier: GPL-2.0-or-later
//! The userfaultfd range ioctls that resolve faults, as far as they change
//! what this model tracks: VMAs (`anon_vma`s), page presence, poison and
//! write-protect markers (fs/userfaultfd.c: `userfaultfd_copy`,
//! `_zeropage`, `_writeprotect`, `_continue`, `_poison`, `_move`;
//! mm/userfaultfd.c: `mfill_atomic`, `mwriteprotect_range`, `move_pages`).
//!
//! The fills (`UFFDIO_COPY`, `ZEROPAGE`, `CONTINUE`, `POISON`) work on one
//! registered VMA holding the whole destination range, page by page; the
//! first page that fails ends the call, which then answers the bytes done
//! before it (the ioctl fails with EAGAIN and reports them), or the error
//! if there were none. `UFFDIO_MOVE` moves private anonymous pages between
//! two VMAs of the same address space the same way.
//!
//! Page contents are not modelled here: the caller carries the bytes of
//! the pages a fill or move reports done.

use super::consts::*;
use super::hugetlb::vma_huge_page_size;
use crate::config::{PAGE_SHIFT, PAGE_SIZE};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::FileKind;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;
use crate::sys::fault::Access;
use crate::vma::UffdCtx;

/// Why a guard installation over write-protected entries is not run (see
/// [`Mm::guard_install_would_loop`]).
pub const GUARD_OVER_WP: &str =
    "MADV_GUARD_INSTALL over userfaultfd write-protected entries: the kernel \
     puts markers back as it zaps them in file memory and retries for ever";

/// What a fill ioctl puts in each page of its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UffdFill {
    /// `UFFDIO_COPY` from this source address (of the calling process,
    /// which need not be the one the userfaultfd acts on).
    Copy(u64),
    /// `UFFDIO_ZEROPAGE`.
    Zeropage,
    /// `UFFDIO_CONTINUE`: the file's page already in the cache.
    Continue,
    /// `UFFDIO_POISON`.
    Poison,
}

/// The access flags `UFFDIO_MOVE` compares.
const ACCESS: VmFlags = VmFlags::READ.union(VmFlags::WRITE).union(VmFlags::EXEC);

/// VMAs whose pages `UFFDIO_MOVE` cannot move.
const NOT_MOVABLE: VmFlags = VmFlags::PFNMAP
    .union(VmFlags::IO)
    .union(VmFlags::HUGETLB)
    .union(VmFlags::MIXEDMAP)
    .union(VmFlags::SHADOW_STACK);

impl<E: Env> Mm<E> {
    /// `validate_range` with the lower bound the kernel also checks.
    fn uffd_check_range(&self, start: u64, len: u64) -> KResult<u64> {
        if start < self.config.mmap_min_addr {
            return Err(Errno::EINVAL);
        }
        self.uffd_validate_range(start, len)
    }

    /// A fill ioctl of `[dst, dst + len)` with `mode`: the bytes done.
    /// `src_mm` is the calling process when it is not this one (a fork
    /// child using the userfaultfd it inherited): a copy reads its source
    /// there.
    pub fn uffd_fill(
        &mut self,
        kind: UffdFill,
        dst: u64,
        len: u64,
        mode: u64,
        mut src_mm: Option<&mut Mm<E>>,
    ) -> KResult<u64> {
        if !self.config.userfaultfd {
            return Err(Errno::ENOSYS);
        }
        let allowed = match kind {
            UffdFill::Copy(src) => {
                if self.config.uffd_move_6_8() {
                    // The source: as the destination, but unaligned.
                    let task_size = self.config.task_size;
                    if len % PAGE_SIZE != 0
                        || len == 0
                        || src < self.config.mmap_min_addr
                        || src >= task_size
                        || len > task_size - src
                    {
                        return Err(Errno::EINVAL);
                    }
                    self.uffd_check_range(dst, len)?;
                } else {
                    self.uffd_check_range(dst, len)?;
                    if src.checked_add(len).is_none() {
                        return Err(Errno::EINVAL);
                    }
                }
                UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP
            }
            UffdFill::Zeropage => {
                self.uffd_check_range(dst, len)?;
                UFFDIO_COPY_MODE_DONTWAKE
            }
            UffdFill::Continue => {
                self.uffd_check_range(dst, len)?;
                if self.config.uffd_continue_mode_wp_6_4() {
                    UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP
                } else {
                    UFFDIO_COPY_MODE_DONTWAKE
                }
            }
            UffdFill::Poison => {
                if !self.config.uffd_poison_6_6() {
                    return Err(Errno::EINVAL);
                }
                self.uffd_check_range(dst, len)?;
                UFFDIO_COPY_MODE_DONTWAKE
            }
        };
        if mode & !allowed != 0 {
            return Err(Errno::EINVAL);
        }
        let wp = mode & UFFDIO_COPY_MODE_WP != 0;
        let end = dst + len;
        let vma = self.vma_at(dst).ok_or(Errno::ENOENT)?;
        let private = !self.vma(vma).flags.contains(VmFlags::SHARED);
        let prepare_first = self.config.uffd_fill_prepares_anon_vma_first_6_9();
        if prepare_first && private {
            self.core()
                .anon_vma_prepare(vma)
                .map_err(|_| Errno::ENOMEM)?;
        }
        let v = self.vma(vma);
        if end > v.end || v.uffd_ctx.is_none() {
            return Err(Errno::ENOENT);
        }
        if wp && !v.flags.contains(VmFlags::UFFD_WP) {
            return Err(Errno::EINVAL);
        }
        if let Some(size) = vma_huge_page_size(v) {
            return self.uffd_fill_hugetlb(vma, kind, dst, len, size);
        }
        let shmem = is_shmem(v);
        if !v.is_anonymous() && !shmem {
            return Err(Errno::EINVAL);
        }
        if !shmem && kind == UffdFill::Continue {
            return Err(Errno::EINVAL);
        }
        if !prepare_first && private {
            self.core()
                .anon_vma_prepare(vma)
                .map_err(|_| Errno::ENOMEM)?;
        }
        let mut done = 0;
        while done < len {
            let page = dst + done;
            if let Err(e) = self.uffd_fill_page(vma, kind, page, done, wp, src_mm.as_deref_mut()) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            done += PAGE_SIZE;
        }
        Ok(done)
    }

    /// A copy or zeropage into a shared mapping: the file's page at
    /// `file_page` is created (EEXIST if it, or an entry, is there already;
    /// EFAULT past the file's size) and mapped.
    fn uffd_fill_shared_page(
        &mut self,
        file_page: Option<(u64, u64)>,
        over_size: bool,
        entry: bool,
        page: u64,
    ) -> KResult<()> {
        let (ino, pgoff) = file_page.ok_or(Errno::EINVAL)?;
        if over_size {
            return Err(Errno::EFAULT);
        }
        if self.pages.is_cached(ino, pgoff) || entry {
            return Err(Errno::EEXIST);
        }
        self.pages.cache(ino, pgoff, pgoff + 1);
        self.pages.map_written(page, page + PAGE_SIZE);
        Ok(())
    }

    /// One page of a fill, at `page` (`offset` bytes into the range).
    fn uffd_fill_page(
        &mut self,
        vma: VmaId,
        kind: UffdFill,
        page: u64,
        offset: u64,
        wp: bool,
        src_mm: Option<&mut Mm<E>>,
    ) -> KResult<()> {
        // Whether the page is there may have depended on reclaim.
        if self.pages.is_unsettled(page) {
            self.pages.note_undetermined();
        }
        let v = self.vma(vma);
        if let Some(f) = &v.file {
            let pgoff = v.pgoff + ((page - v.start) >> PAGE_SHIFT);
            if self.pages.is_cache_unsettled(f.inner().ino, pgoff) {
                self.pages.note_undetermined();
            }
        }
        let v = self.vma(vma);
        let shared = v.flags.contains(VmFlags::SHARED);
        let file_page = v
            .file
            .as_ref()
            .map(|f| (f.inner().ino, v.pgoff + ((page - v.start) >> PAGE_SHIFT)));
        let over_size = self.uffd_over_size(vma, page, kind == UffdFill::Zeropage);
        // A copy or continue may replace a marker (guard, poison or
        // write-protect); the zero page and poison need an empty entry.
        let entry = self.pages.is_mapped(page)
            || (self.config.uffd_fill_keeps_guard_6_19() && self.guards.contains(page));
        let marker = self.pages.poisoned().contains(page)
            || self.pages.wp().contains(page)
            || self.guards.contains(page);
        match kind {
            UffdFill::Copy(src) => {
                // The source is read first (faulting it in as a read would).
                let src = src.wrapping_add(offset);
                match src_mm {
                    Some(other) => {
                        other.uffd_read_source(src)?;
                        // Shmem pages it faulted in are the file's.
                        self.pages.merge_cache_from(&other.pages);
                    }
                    None => self.uffd_read_source(src)?,
                }
                let entry = self.pages.is_mapped(page)
                    || (self.config.uffd_fill_keeps_guard_6_19() && self.guards.contains(page));
                if shared {
                    self.uffd_fill_shared_page(file_page, over_size, entry, page)?;
                } else {
                    if over_size {
                        return Err(Errno::EFAULT);
                    }
                    if entry {
                        return Err(Errno::EEXIST);
                    }
                    if file_page.is_some() && !self.vma(vma).is_anonymous() {
                        self.pages.map_copied(page, page + PAGE_SIZE);
                    } else {
                        self.pages.map_written(page, page + PAGE_SIZE);
                    }
                }
            }
            UffdFill::Zeropage => {
                if shared {
                    self.uffd_fill_shared_page(file_page, over_size, entry, page)?;
                } else {
                    if over_size {
                        return Err(Errno::EFAULT);
                    }
                    // The zero page goes only where there is no entry at
                    // all, marker or not.
                    if entry || marker {
                        return Err(Errno::EEXIST);
                    }
                    if self.vma(vma).is_anonymous() {
                        self.pages.map_zero(page, page + PAGE_SIZE);
                    } else {
                        self.pages.map_copied(page, page + PAGE_SIZE);
                    }
                }
            }
            UffdFill::Continue => {
                let (ino, pgoff) = file_page.ok_or(Errno::EINVAL)?;
                if self.pages.is_cache_unsettled(ino, pgoff) {
                    self.pages.note_undetermined();
                }
                // The file is asked for the page without allocating one:
                // past its end that is EINVAL (EFAULT since 6.19), a hole
                // EFAULT.
                let size = self.vma(vma).file.as_ref().map_or(0, |f| f.size_pages());
                if pgoff >= size {
                    return Err(if self.config.uffd_continue_past_eof_efault_6_19() {
                        Errno::EFAULT
                    } else {
                        Errno::EINVAL
                    });
                }
                if !self.pages.is_cached(ino, pgoff) || over_size {
                    return Err(Errno::EFAULT);
                }
                if entry {
                    return Err(Errno::EEXIST);
                }
                self.pages.map_written(page, page + PAGE_SIZE);
            }
            UffdFill::Poison => {
                if over_size {
                    return Err(Errno::EFAULT);
                }
                if entry || marker {
                    return Err(Errno::EEXIST);
                }
                self.pages.set_poisoned(page, page + PAGE_SIZE, true);
                return Ok(());
            }
        }
        // A new entry replaces whatever marker was there.
        self.guards.remove(page, page + PAGE_SIZE);
        self.pages.set_poisoned(page, page + PAGE_SIZE, false);
        self.pages.set_wp(page, page + PAGE_SIZE, wp);
        Ok(())
    }

    /// Whether the page at `page` of `vma` lies past the end of the file
    /// behind it (`mfill_file_over_size`). Before 6.6 only the zero page
    /// (`zeropage`) looked at any file; the other fills at shmem's alone.
    fn uffd_over_size(&self, vma: VmaId, page: u64, zeropage: bool) -> bool {
        let v = self.vma(vma);
        let Some(f) = &v.file else { return false };
        let shmem = f.inner().kind == FileKind::Shmem || f.inner().anon_shmem;
        if !self.config.uffd_poison_6_6() && !zeropage && !shmem {
            return false;
        }
        // /dev/zero's inode has no size.
        if f.inner().kind == FileKind::DevZero {
            return true;
        }
        let pgoff = v.pgoff + ((page - v.start) >> PAGE_SHIFT);
        pgoff >= f.size_pages()
    }

    /// `copy_from_user` of one page from `src` in this address space: a
    /// read of each page it touches, any signal answering EFAULT.
    pub(crate) fn uffd_read_source(&mut self, src: u64) -> KResult<()> {
        let first = src & !(PAGE_SIZE - 1);
        let second = (src & (PAGE_SIZE - 1) != 0).then(|| first + PAGE_SIZE);
        for (p, at) in core::iter::once((first, src)).chain(second.map(|s| (s, s))) {
            let present = self.pages.is_mapped(p)
                && !self.pages.is_unsettled(p)
                && self.vma_at(p).is_some_and(|v| {
                    let v = self.vma(v);
                    v.is_accessible()
                        && (!self.config.pkeys_enabled() || self.pkru_allows(v.flags.pkey(), false))
                });
            if !present {
                self.fault(at, Access::Read).map_err(|_| Errno::EFAULT)?;
            }
        }
        Ok(())
    }

    /// The hugetlb path of a fill: no zero page, whole huge pages only; a
    /// copy needs a page from the pool. Modelled roughly: checked only
    /// with an empty pool.
    fn uffd_fill_hugetlb(
        &mut self,
        vma: VmaId,
        kind: UffdFill,
        dst: u64,
        len: u64,
        size: u64,
    ) -> KResult<u64> {
        if kind == UffdFill::Zeropage || dst % size != 0 || len % size != 0 {
            return Err(Errno::EINVAL);
        }
        if !self.vma(vma).flags.contains(VmFlags::SHARED) {
            self.core()
                .anon_vma_prepare(vma)
                .map_err(|_| Errno::ENOMEM)?;
        }
        let mut done = 0;
        while done < len {
            let page = dst + done;
            let r = if self.pages.is_mapped(page) || self.pages.poisoned().contains(page) {
                Err(Errno::EEXIST)
            } else {
                match kind {
                    UffdFill::Poison => {
                        self.pages.set_poisoned(page, page + size, true);
                        Ok(())
                    }
                    // No page in the file's cache (the model keeps none
                    // for hugetlbfs).
                    UffdFill::Continue => Err(Errno::EFAULT),
                    // No huge page to take (measured with an empty pool;
                    // hugetlb fills are otherwise unchecked).
                    _ if self.hugetlb_fault_fails(vma) => Err(
                        if self.config.uffd_hugetlb_copy_without_page_eexist_6_13() {
                            Errno::EEXIST
                        } else {
                            Errno::ENOMEM
                        },
                    ),
                    _ => {
                        self.pages.map_written(page, page + size);
                        Ok(())
                    }
                }
            };
            if let Err(e) = r {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            done += size;
        }
        Ok(done)
    }

    /// Whether `MADV_GUARD_INSTALL` of `[start, start + len)` meets an
    /// entry carrying the write-protect bit: in file memory registered for
    /// write-protection the zap puts a marker back and the kernel (6.18 at
    /// least) retries for ever, so neither side runs it.
    pub fn guard_install_would_loop(&self, start: u64, len: u64) -> bool {
        let Some(end) = start.checked_add(len) else {
            return false;
        };
        let first = start & !(PAGE_SIZE - 1);
        end > first
            && (end - first) >> PAGE_SHIFT <= 1 << 20
            && self.pages.wp().intersects(first, end)
    }

    /// `UFFDIO_WRITEPROTECT` of `[start, start + len)`: protect (`on`) or
    /// resolve. Anonymous memory protects only the entries it has; file
    /// memory leaves markers in the holes.
    pub fn uffd_writeprotect(&mut self, start: u64, len: u64, on: bool) -> KResult<()> {
        if !self.config.userfaultfd {
            return Err(Errno::ENOSYS);
        }
        let end = self.uffd_check_range(start, len)?;
        if !self.config.uffd_wp_spans_vmas_6_4() {
            let vma = self.find_vma(start).ok_or(Errno::ENOENT)?;
            let v = self.vma(vma);
            if start < v.start || end > v.end || v.uffd_ctx.is_none() {
                return Err(Errno::ENOENT);
            }
            if !v.flags.contains(VmFlags::UFFD_WP) || !self.vma_can_userfault(vma, v.flags) {
                return Err(Errno::ENOENT);
            }
            return self.uffd_wp_vma(vma, start, end, on);
        }
        let mut found = false;
        let mut next = start;
        while let Some(vma) = self.find_vma_intersection(next, end) {
            let v = self.vma(vma);
            next = v.end;
            if !v.flags.contains(VmFlags::UFFD_WP) {
                return Err(Errno::ENOENT);
            }
            self.uffd_wp_vma(vma, start.max(v.start), end.min(v.end), on)?;
            found = true;
        }
        if found {
            Ok(())
        } else {
            Err(Errno::ENOENT)
        }
    }

    /// `uffd_wp_range` over `[start, end)` of one VMA.
    fn uffd_wp_vma(&mut self, vma: VmaId, start: u64, end: u64, on: bool) -> KResult<()> {
        let v = self.vma(vma);
        if let Some(size) = vma_huge_page_size(v) {
            if start % size != 0 || end % size != 0 {
                return Err(Errno::EINVAL);
            }
        }
        if !on {
            self.pages.set_wp(start, end, false);
        } else if v.is_anonymous() {
            self.pages.protect_mapped(start, end);
        } else {
            // Poison and guard markers stay what they are.
            self.pages.set_wp(start, end, true);
            let mut keep = self.pages.poisoned().slice(start, end);
            keep.extend(&self.guards.slice(start, end));
            for (s, e) in keep.iter() {
                self.pages.set_wp(s, e, false);
            }
        }
        Ok(())
    }

    /// `UFFDIO_MOVE` of `len` bytes from `src` to `dst` (6.8): private
    /// anonymous pages only, between VMAs of the same access, lock state
    /// and protection key, the destination registered with `ctx`. The
    /// bytes moved (holes counted with `ALLOW_SRC_HOLES`). `cross_mm`: the
    /// caller is not the process the userfaultfd acts on (EINVAL).
    pub fn uffd_move(
        &mut self,
        ctx: UffdCtx,
        dst: u64,
        src: u64,
        len: u64,
        mode: u64,
        cross_mm: bool,
    ) -> KResult<u64> {
        if !self.config.userfaultfd {
            return Err(Errno::ENOSYS);
        }
        if !self.config.uffd_move_6_8() || cross_mm {
            return Err(Errno::EINVAL);
        }
        self.uffd_check_range(dst, len)?;
        self.uffd_check_range(src, len)?;
        if mode & !(UFFDIO_MOVE_MODE_DONTWAKE | UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES) != 0 {
            return Err(Errno::EINVAL);
        }
        let holes = mode & UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES != 0;
        let dst_vma = self.vma_at(dst).ok_or(Errno::ENOENT)?;
        if !self.vma(dst_vma).flags.contains(VmFlags::SHARED) {
            self.core()
                .anon_vma_prepare(dst_vma)
                .map_err(|_| Errno::ENOMEM)?;
        }
        let src_vma = self.vma_at(src).ok_or(Errno::ENOENT)?;
        let (s, d) = (self.vma(src_vma), self.vma(dst_vma));
        if s.flags.contains(VmFlags::SHARED)
            || src + len > s.end
            || d.flags.contains(VmFlags::SHARED)
            || dst + len > d.end
        {
            return Err(Errno::EINVAL);
        }
        let same_prot = s.flags & ACCESS == d.flags & ACCESS && s.flags.pkey() == d.flags.pkey();
        let locked = |f: VmFlags| f.contains(VmFlags::LOCKED);
        if !same_prot
            || locked(s.flags) != locked(d.flags)
            || !s.flags.contains(VmFlags::WRITE)
            || s.flags.intersects(NOT_MOVABLE)
            || d.flags.intersects(NOT_MOVABLE)
            || d.uffd_ctx != Some(ctx)
            || !s.is_anonymous()
            || !d.is_anonymous()
        {
            return Err(Errno::EINVAL);
        }
        let mut done = 0;
        while done < len {
            let (from, to) = (src + done, dst + done);
            if let Err(e) = self.uffd_move_page(from, to, holes) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            done += PAGE_SIZE;
        }
        Ok(done)
    }

    /// One page of a move: the destination must have no entry at all, the
    /// source a page of this process alone (or the zero page).
    fn uffd_move_page(&mut self, from: u64, to: u64, holes: bool) -> KResult<()> {
        let p = &self.pages;
        if p.is_unsettled(from) || p.is_unsettled(to) {
            p.note_undetermined();
        }
        let dst_entry = p.is_mapped(to)
            || self.guards.contains(to)
            || p.poisoned().contains(to)
            || p.wp().contains(to);
        if dst_entry {
            return Err(Errno::EEXIST);
        }
        if self.guards.contains(from) || p.poisoned().contains(from) {
            return Err(Errno::EFAULT);
        }
        if !p.is_mapped(from) {
            return if holes { Ok(()) } else { Err(Errno::ENOENT) };
        }
        if !p.zero().contains(from) && p.is_not_exclusive(from) {
            return Err(Errno::EBUSY);
        }
        self.pages.move_range(from, to, PAGE_SIZE);
        Ok(())
    }
}

/// Whether `v` maps shmem (a tmpfs file or shared anonymous memory).
fn is_shmem(v: &crate::vma::Vma) -> bool {
    v.file
        .as_ref()
        .is_some_and(|f| f.inner().kind == FileKind::Shmem || f.inner().anon_shmem)
}
