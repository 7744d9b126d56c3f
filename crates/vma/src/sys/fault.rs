//! Page faults as the VMA layer sees them: which access succeeds, which
//! signal a failing one raises, when a VMA gets its `anon_vma`, and stack
//! growth (`lock_mm_and_find_vma`, `expand_downwards`, `do_anonymous_page`,
//! `do_wp_page`, and `mm_populate` built on them).

use crate::config::{PAGE_SHIFT, PAGE_SIZE};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;

/// The signal a faulting access raises.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Signal {
    /// `SIGSEGV` with `SEGV_MAPERR`: nothing mapped there.
    SegvMaperr,
    /// `SIGSEGV` with `SEGV_ACCERR`: mapped, but not with this access.
    SegvAccerr,
    /// `SIGSEGV` with `SEGV_PKUERR`: the protection key forbids it.
    SegvPkuerr,
    /// `SIGBUS`: past the end of the file.
    Bus,
    /// `SIGBUS` with `BUS_MCEERR_AR`: a poisoned page (`UFFDIO_POISON`).
    BusMceerr,
}

/// The kind of access that faults.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch. x86 checks neither the protection key nor
    /// `VM_EXEC` before it brings a missing page in (as for a load, with
    /// the load's signals: SIGBUS past the end of a file, a userfaultfd,
    /// a guard marker); the page-table entry of a VMA without `VM_EXEC`
    /// then forbids the fetch (SEGV_ACCERR), and the page stays mapped.
    Exec,
}

impl<E: Env> Mm<E> {
    /// A user access to `addr`. Succeeds (possibly giving the VMA an
    /// `anon_vma`, possibly growing a stack) or returns the signal.
    pub fn fault(&mut self, addr: u64, access: Access) -> Result<(), Signal> {
        let vma = self.find_fault_vma(addr)?;
        let v = self.vma(vma);
        // x86 checks the protection key before the VMA's permissions.
        if self.config.pkeys_enabled()
            && access != Access::Exec
            && !self.pkru_allows(v.flags.pkey(), access == Access::Write)
        {
            return Err(Signal::SegvPkuerr);
        }
        let allowed = match access {
            Access::Write => v.flags.contains(VmFlags::WRITE),
            Access::Read | Access::Exec => v.is_accessible(),
        };
        if !allowed {
            return Err(Signal::SegvAccerr);
        }
        let no_exec = access == Access::Exec && !v.flags.contains(VmFlags::EXEC);
        let present = addr & !(PAGE_SIZE - 1);
        if no_exec && self.pages.is_mapped(present) && !self.pages.is_unsettled(present) {
            // A present page: the entry's no-execute bit faults at once.
            // (One reclaim may have unmapped takes the fault path below,
            // which tells where that changes the answer.)
            return Err(Signal::SegvAccerr);
        }
        // A guard marker in the PTE: handle_pte_marker answers SIGSEGV
        // before any page (or anon_vma) is allocated.
        if self.guards.contains(addr) {
            return Err(Signal::SegvMaperr);
        }
        let page = addr & !(PAGE_SIZE - 1);
        // A poison marker: handle_pte_marker answers VM_FAULT_HWPOISON.
        if self.pages.poisoned().contains(page) {
            return Err(if self.config.memory_failure {
                Signal::BusMceerr
            } else {
                Signal::Bus
            });
        }
        if access != Access::Write && !self.pages.is_mapped(page) {
            // do_read_fault maps the cached pages around first, before it
            // asks the file (or a userfaultfd) for this one: a read that
            // ends in SIGBUS leaves them mapped too.
            self.fault_around(vma, page);
        }
        let v = self.vma(vma);
        let cow = access == Access::Write && !v.flags.contains(VmFlags::SHARED);
        if let Some(file) = &v.file {
            let page = v.pgoff.saturating_add((addr - v.start) >> PAGE_SHIFT);
            if page >= file.size_pages() {
                // do_cow_fault prepares the anon_vma before it asks the file
                // for the page, so a private write past EOF leaves the VMA
                // with an anon_vma even though it ends in SIGBUS.
                if cow {
                    self.core().anon_vma_prepare(vma).map_err(|_| Signal::Bus)?;
                }
                return Err(Signal::Bus);
            }
        }
        if self.uffd_blocks(vma, addr) {
            // handle_userfault; with UFFD_FEATURE_SIGBUS, as the oracle's
            // context has, that is SIGBUS. A private write fault has
            // prepared the anon_vma first.
            if cow {
                self.core().anon_vma_prepare(vma).map_err(|_| Signal::Bus)?;
            }
            if self.decision_unsettled(vma, page, page + PAGE_SIZE) {
                // Had reclaim taken what the decision read, the fault
                // would have gone on and mapped the page: it stays as
                // unsettled as that decision.
                self.pages.map_unsettled(page, page + PAGE_SIZE);
            }
            return Err(Signal::Bus);
        }
        if access == Access::Write && self.uffd_wp_blocks(vma, page) {
            // A write to a write-protected entry goes to the userfaultfd
            // (SIGBUS here). A present page answers at once; a marker in
            // file-backed memory first faults the page in (with the bit,
            // a private one as a copy), and the retried write then fails.
            if !self.pages.is_mapped(page) {
                if cow {
                    self.core().anon_vma_prepare(vma).map_err(|_| Signal::Bus)?;
                }
                self.page_faulted_in(vma, page, page + PAGE_SIZE, true);
            }
            return Err(Signal::Bus);
        }
        if self.hugetlb_fault_fails(vma) {
            // hugetlb_no_page prepares a private mapping's anon_vma before
            // it asks the pool for a page.
            if !self.vma(vma).flags.contains(VmFlags::SHARED) {
                self.core().anon_vma_prepare(vma).map_err(|_| Signal::Bus)?;
            }
            return Err(Signal::Bus);
        }
        if cow {
            // A private write fault allocates an anonymous page (COW).
            self.core().anon_vma_prepare(vma).map_err(|_| Signal::Bus)?;
        }
        self.page_faulted_in(vma, page, page + PAGE_SIZE, access == Access::Write);
        if no_exec {
            // The retried fetch meets the new entry's no-execute bit.
            return Err(Signal::SegvAccerr);
        }
        Ok(())
    }

    /// Whether a write to the page at `page` of `vma` is a userfaultfd
    /// write-protect fault: the VMA is registered for it and the entry
    /// carries the bit (present page or marker).
    pub(crate) fn uffd_wp_blocks(&self, vma: VmaId, page: u64) -> bool {
        self.vma(vma).flags.contains(VmFlags::UFFD_WP) && self.pages.wp().contains(page)
    }

    /// Whether a fault at `addr` goes to the userfaultfd: a missing page
    /// in a `VM_UFFD_MISSING` range (no page-table entry for anonymous
    /// memory; no page in the file for shmem), or, for shmem in a
    /// `VM_UFFD_MINOR` range, a page the file has but this process has not
    /// mapped. A page reclaim may have taken makes the answer undetermined.
    pub(crate) fn uffd_blocks(&self, vma: VmaId, addr: u64) -> bool {
        let page = addr & !(PAGE_SIZE - 1);
        self.first_uffd_block(vma, page, page + PAGE_SIZE).is_some()
    }

    /// The first page of `[start, end)` (page aligned, inside `vma`) at
    /// which a fault goes to the userfaultfd (see [`Self::uffd_blocks`]).
    fn first_uffd_block(&self, vma: VmaId, start: u64, end: u64) -> Option<u64> {
        let v = self.vma(vma);
        let missing = v.flags.contains(VmFlags::UFFD_MISSING);
        let minor = v.flags.contains(VmFlags::UFFD_MINOR);
        if !missing && !minor {
            return None;
        }
        self.note_unsettled(vma, start, end);
        let mapped = self.pages.mapped();
        let mut pos = start;
        while let Some(gap) = mapped.first_gap(pos, end) {
            let gap_end = mapped.first_in(gap, end).unwrap_or(end);
            let hit = match shmem_page(v, gap) {
                None => missing.then_some(gap),
                Some((ino, first)) => {
                    let last = first + ((gap_end - gap) >> PAGE_SHIFT);
                    let cached = self.pages.cached(ino);
                    let uncached = match cached {
                        Some(c) => c.first_gap(first, last),
                        None => Some(first),
                    };
                    let in_cache = cached.and_then(|c| c.first_in(first, last));
                    let first_hit = [missing.then_some(uncached), minor.then_some(in_cache)]
                        .into_iter()
                        .flatten()
                        .flatten()
                        .min();
                    first_hit.map(|p| gap + ((p - first) << PAGE_SHIFT))
                }
            };
            if hit.is_some() {
                return hit;
            }
            pos = gap_end;
        }
        None
    }

    /// Notes an undetermined answer if a userfaultfd decision over
    /// `[start, end)` of `vma` reads pages reclaim may have taken: a
    /// mapped page reclaim may have unmapped, or an unmapped page whose
    /// presence in the file reclaim may have changed.
    fn note_unsettled(&self, vma: VmaId, start: u64, end: u64) {
        if self.decision_unsettled(vma, start, end) {
            self.pages.note_undetermined();
        }
    }

    /// Whether a userfaultfd decision over `[start, end)` of `vma` reads
    /// pages reclaim may have taken (see [`Self::note_unsettled`]).
    fn decision_unsettled(&self, vma: VmaId, start: u64, end: u64) -> bool {
        let v = self.vma(vma);
        let mut unsettled = self.pages.unsettled_in(start, end);
        if let Some((ino, _)) = shmem_page(v, start) {
            let mapped = self.pages.mapped();
            let mut pos = start;
            while let (false, Some(gap)) = (unsettled, mapped.first_gap(pos, end)) {
                let gap_end = mapped.first_in(gap, end).unwrap_or(end);
                let first = v.pgoff + ((gap - v.start) >> PAGE_SHIFT);
                let last = first + ((gap_end - gap) >> PAGE_SHIFT);
                unsettled = self.pages.cache_unsettled_in(ino, first, last);
                pos = gap_end;
            }
        }
        unsettled
    }

    /// A fault over `[start, end)` succeeded: the pages are mapped here
    /// and, for shmem, exist in the file. Outside a userfaultfd range the
    /// access settles what reclaim left open.
    pub(crate) fn page_faulted_in(&mut self, vma: VmaId, start: u64, end: u64, write: bool) {
        let v = self.vma(vma);
        let shmem = shmem_page(v, start);
        let private = !v.flags.contains(VmFlags::SHARED);
        let anon_read = !write && v.is_anonymous() && private;
        let copy = write && !v.is_anonymous() && private;
        let settles = !v
            .flags
            .intersects(VmFlags::UFFD_MISSING | VmFlags::UFFD_MINOR);
        // In a userfaultfd range, whether the fault went to the userfaultfd
        // may have depended on what reclaim took: what it mapped then is
        // as unsettled as that decision.
        let mut unsettled = !settles && self.pages.unsettled_in(start, end);
        if let Some((ino, first)) = shmem {
            let last = first + ((end - start) >> PAGE_SHIFT);
            unsettled |= !settles && self.pages.cache_unsettled_in(ino, first, last);
            // A page already holding a private copy asks the file for
            // nothing (one UFFDIO_COPY made may have no file page).
            let mut pos = start;
            while let Some(gap) = self.pages.copied().first_gap(pos, end) {
                let gap_end = self.pages.copied().first_in(gap, end).unwrap_or(end);
                let off = first + ((gap - start) >> PAGE_SHIFT);
                self.pages
                    .cache(ino, off, off + ((gap_end - gap) >> PAGE_SHIFT));
                pos = gap_end;
            }
            if settles {
                self.pages.settle_cache(ino, first, last);
            }
        }
        if anon_read {
            self.pages.map_zero(start, end);
        } else if copy {
            self.pages.map_copied(start, end);
        } else {
            self.pages.map_written(start, end);
        }
        if settles {
            self.pages.settle(start, end);
        } else if unsettled {
            self.pages.map_unsettled(start, end);
        }
    }

    /// `do_fault_around`: a read fault on a shmem-backed VMA also maps the
    /// pages of the file's cache in a 16-page window (`fault_around_bytes`,
    /// 64 KiB): from the aligned 16-page block's start, or the VMA's or
    /// the page table's start if later, 16 pages on, but not past the
    /// VMA or the page table. A userfaultfd minor or write-protect
    /// registration turns this off.
    fn fault_around(&mut self, vma: VmaId, page: u64) {
        const BLOCK: u64 = 16 * PAGE_SIZE;
        if !self.faults_around(vma) {
            return;
        }
        let v = self.vma(vma);
        let Some((ino, _)) = shmem_page(v, page) else {
            return;
        };
        const TABLE: u64 = 512 * PAGE_SIZE;
        let table = page & !(TABLE - 1);
        let start = (page & !(BLOCK - 1)).max(v.start).max(table);
        let end = start
            .saturating_add(BLOCK)
            .min(table.saturating_add(TABLE))
            .min(v.end);
        let (vstart, vpgoff) = (v.start, v.pgoff);
        let pgoff = |a: u64| vpgoff + ((a - vstart) >> PAGE_SHIFT);
        let Some(cached) = self
            .pages
            .cached(ino)
            .map(|c| c.slice(pgoff(start), pgoff(end)))
        else {
            return;
        };
        for (ps, pe) in cached.iter() {
            let (s, e) = (
                vstart + ((ps - vpgoff) << PAGE_SHIFT),
                vstart + ((pe - vpgoff) << PAGE_SHIFT),
            );
            // Guard markers are entries: filemap_map_pages skips them, as
            // it skips every page that has one.
            let unsettled = self.pages.cache_unsettled_in(ino, ps, pe);
            let mut pos = s;
            let mut guards = self.guards.slice(s, e);
            guards.extend(&self.pages.poisoned().slice(s, e));
            for (gs, ge) in guards.iter().chain(core::iter::once((e, e))) {
                while let Some(gap) = self.pages.mapped().first_gap(pos, gs) {
                    let gap_end = self.pages.mapped().first_in(gap, gs).unwrap_or(gs);
                    if unsettled {
                        self.pages.map_unsettled(gap, gap_end);
                    } else {
                        self.pages.map_written(gap, gap_end);
                    }
                    pos = gap_end;
                }
                pos = ge;
            }
        }
    }

    /// `lock_mm_and_find_vma`: the VMA containing `addr`, or a stack below
    /// which `addr` lies and which can grow down to it.
    fn find_fault_vma(&mut self, addr: u64) -> Result<VmaId, Signal> {
        let vma = self.find_vma(addr).ok_or(Signal::SegvMaperr)?;
        if self.vma(vma).start <= addr {
            return Ok(vma);
        }
        if !self.vma(vma).flags.contains(VmFlags::GROWSDOWN) {
            return Err(Signal::SegvMaperr);
        }
        self.expand_downwards(vma, addr)
            .map_err(|_| Signal::SegvMaperr)?;
        Ok(vma)
    }

    /// `expand_downwards`: grow a `VM_GROWSDOWN` VMA to cover `addr`, keeping
    /// `stack_guard_gap` from the accessible VMA below it.
    pub(crate) fn expand_downwards(&mut self, vma: VmaId, addr: u64) -> KResult<()> {
        let address = addr & !(PAGE_SIZE - 1);
        if address < self.config.mmap_min_addr {
            return Err(Errno::EPERM);
        }
        if let Some(prev) = self.vma_prev_of(self.vma(vma).start) {
            let p = self.vma(prev);
            if !p.flags.contains(VmFlags::GROWSDOWN)
                && p.is_accessible()
                && address.wrapping_sub(p.end) < self.config.stack_guard_gap
            {
                return Err(Errno::ENOMEM);
            }
        }
        self.tree_prealloc()?;
        self.core().anon_vma_prepare(vma)?;
        self.env.vma_start_write(vma);
        let v = self.vma(vma);
        if address >= v.start {
            return Ok(());
        }
        let size = v.end - address;
        let grow = (v.start - address) >> PAGE_SHIFT;
        if grow > v.pgoff {
            return Err(Errno::ENOMEM);
        }
        self.acct_stack_growth(vma, size, grow)?;
        let flags = self.vma(vma).flags;
        if flags.contains(VmFlags::LOCKED) {
            self.set.add_locked(grow as i64);
        }
        self.set.add_total(grow);
        self.set.account_kind(flags, grow as i64);
        self.set.grow_down(vma, address);
        Ok(())
    }

    /// `acct_stack_growth`: `RLIMIT_AS`, `RLIMIT_STACK`, `RLIMIT_MEMLOCK`,
    /// overcommit.
    fn acct_stack_growth(&mut self, vma: VmaId, size: u64, grow: u64) -> KResult<()> {
        let flags = self.vma(vma).flags;
        if !self.may_expand_vm(flags, grow) || size > self.config.rlimits.stack {
            return Err(Errno::ENOMEM);
        }
        if !self.mlock_future_ok(flags & VmFlags::LOCKED, grow << PAGE_SHIFT) {
            return Err(Errno::ENOMEM);
        }
        // The kernel charges every growth; only VM_ACCOUNT stacks are
        // uncharged when unmapped, so only they are charged here.
        if flags.contains(VmFlags::ACCOUNT) {
            self.core().vm_enough_memory(grow)?;
        }
        Ok(())
    }

    /// `mm_populate`: fault in `[addr, addr + len)` as `MAP_POPULATE`,
    /// `MAP_LOCKED` and `mlockall` do; errors are ignored.
    pub(crate) fn populate(&mut self, addr: u64, len: u64) {
        let _ = self.mm_populate(addr, len, true);
    }
}

impl<E: Env> Mm<E> {
    /// Faults in `[start, end)` of one VMA as get_user_pages does, with
    /// a write or a read fault; stops with EFAULT at the first page that
    /// cannot be faulted (a guard marker answers SIGSEGV, a page past the
    /// end of the file SIGBUS, a userfaultfd range SIGBUS). A private write
    /// fault that reaches the fault handler -- even one that ends in
    /// SIGBUS, since `do_cow_fault` prepares the `anon_vma` before reading
    /// the file -- gives the VMA its `anon_vma`. Works on whole ranges, so
    /// its cost does not grow with the number of pages.
    pub(crate) fn fault_in_pages(
        &mut self,
        vma: VmaId,
        start: u64,
        end: u64,
        write: bool,
    ) -> KResult<()> {
        let v = self.vma(vma);
        let cow = write && !v.flags.contains(VmFlags::SHARED);
        let start = start & !(PAGE_SIZE - 1);
        let end = end
            .checked_add(PAGE_SIZE - 1)
            .map_or(v.end, |e| e & !(PAGE_SIZE - 1))
            .min(v.end);
        if start >= end {
            return Ok(());
        }
        let guard = [
            self.guards.first_in(start, end),
            self.pages.poisoned().first_in(start, end),
        ]
        .into_iter()
        .flatten()
        .min();
        // A write meets the first write-protected entry: a present page
        // fails at once, a marker after the page was faulted in.
        let wp = if write && self.vma(vma).flags.contains(VmFlags::UFFD_WP) {
            self.pages.wp().first_in(start, end)
        } else {
            None
        };
        let eof = self
            .eof_addr(vma)
            .filter(|&a| a < end)
            .map(|a| a.max(start));
        let uffd = self.first_uffd_block(vma, start, end);
        // A hugetlb fault with no huge page to take fails at once.
        let huge = self.hugetlb_fault_fails(vma).then_some(start);
        let stop = [guard, eof, uffd, huge, wp].into_iter().flatten().min();
        let done = stop.unwrap_or(end);
        if done > start {
            if cow {
                self.core().anon_vma_prepare(vma)?;
            }
            if !write {
                self.read_faults_around(vma, start, done);
            }
            self.page_faulted_in(vma, start, done, write);
        }
        if let (false, Some(at)) = (write, stop.filter(|&at| guard != Some(at))) {
            // The read fault that fails did its fault-around first.
            self.fault_around(vma, at);
        }
        if let Some(at) = uffd.filter(|&at| stop == Some(at)) {
            if self.decision_unsettled(vma, at, at + PAGE_SIZE) {
                // Had reclaim taken what the decision read, the walk would
                // have gone on to the next stop: what it would have mapped
                // is as unsettled as that decision.
                let limit = [guard, eof, huge, wp].into_iter().flatten().min();
                self.pages.map_unsettled(at, limit.unwrap_or(end));
            }
        }
        if let Some(at) = stop.filter(|&at| wp == Some(at) && guard != Some(at)) {
            if uffd != Some(at) && !self.pages.is_mapped(at) {
                if cow {
                    self.core().anon_vma_prepare(vma)?;
                }
                self.page_faulted_in(vma, at, at + PAGE_SIZE, true);
            }
        }
        match stop {
            None => Ok(()),
            // A guard marker answers before the fault handler runs; so
            // does a present write-protected page (a marker was faulted in
            // above).
            Some(at) if guard == Some(at) => Err(Errno::EFAULT),
            Some(at) if wp == Some(at) && uffd != Some(at) && eof != Some(at) => Err(Errno::EFAULT),
            Some(_) => {
                if cow {
                    self.core().anon_vma_prepare(vma)?;
                }
                Err(Errno::EFAULT)
            }
        }
    }

    /// The address of the first page of `vma` past the end of its file,
    /// if it has a file and the address exists.
    fn eof_addr(&self, vma: VmaId) -> Option<u64> {
        let v = self.vma(vma);
        let size = v.file.as_ref()?.size_pages();
        if v.pgoff >= size {
            return Some(v.start);
        }
        (size - v.pgoff)
            .checked_mul(PAGE_SIZE)
            .and_then(|b| v.start.checked_add(b))
    }

    /// The fault-around a populate's read faults do: get_user_pages
    /// faults the pages of `[start, end)` in order, and each page not
    /// mapped by then maps its window's cached pages, which may reach
    /// past either end of the range. Followed fault by fault for up to
    /// 1024 faults; past that, only the last page's window is applied
    /// (the only one that can reach past the end).
    fn read_faults_around(&mut self, vma: VmaId, start: u64, end: u64) {
        const LIMIT: usize = 1024;
        if !self.faults_around(vma) {
            return;
        }
        let mut pos = start;
        for _ in 0..LIMIT {
            let Some(page) = self.pages.mapped().first_gap(pos, end) else {
                return;
            };
            self.fault_around(vma, page);
            self.page_faulted_in(vma, page, page + PAGE_SIZE, false);
            pos = page + PAGE_SIZE;
        }
        let last = end - PAGE_SIZE;
        if !self.pages.is_mapped(last) {
            self.fault_around(vma, last);
        }
    }

    /// Whether read faults in `vma` fault around (`should_fault_around`):
    /// shmem-backed, and no userfaultfd minor or write-protect range.
    fn faults_around(&self, vma: VmaId) -> bool {
        let v = self.vma(vma);
        !v.flags.intersects(VmFlags::UFFD_MINOR | VmFlags::UFFD_WP)
            && shmem_page(v, v.start).is_some()
            // secretmem's vm_ops have no map_pages.
            && !v.is_secretmem()
    }

    /// `populate_vma_page_range` with its error: lock-on-fault VMAs are
    /// left alone, inaccessible and secret ones fail with EFAULT, private writable
    /// memory is write-faulted, everything else read-faulted (`FOLL_FORCE`).
    pub(crate) fn populate_vma_range(&mut self, vma: VmaId, start: u64, end: u64) -> KResult<()> {
        let f = self.vma(vma).flags;
        if f.contains(VmFlags::LOCKONFAULT) {
            return Ok(());
        }
        // get_user_pages refuses secret memory.
        if !self.vma(vma).is_accessible() || self.vma(vma).is_secretmem() {
            return Err(Errno::EFAULT);
        }
        let write = f & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE;
        // get_user_pages honours this thread's protection keys.
        if self.config.pkeys_enabled() && !self.pkru_allows(f.pkey(), write) {
            return Err(Errno::EFAULT);
        }
        self.fault_in_pages(vma, start, end, write)
    }

    /// `__mm_populate(start, len, ignore_errors)`: populates every VMA in the
    /// range (but `VM_IO`/`VM_PFNMAP` ones). Without `ignore_errors` the
    /// first failure ends the walk and is returned.
    pub(crate) fn mm_populate(&mut self, start: u64, len: u64, ignore_errors: bool) -> KResult<()> {
        let end = start.saturating_add(len);
        let mut next = start;
        while let Some(vma) = self.find_vma_intersection(next, end) {
            let v = self.vma(vma);
            let (s, e) = (next.max(v.start), end.min(v.end));
            next = v.end;
            if v.flags.intersects(VmFlags::IO | VmFlags::PFNMAP) {
                continue;
            }
            if let Err(err) = self.populate_vma_range(vma, s, e) {
                if !ignore_errors {
                    return Err(err);
                }
            }
        }
        Ok(())
    }
}

/// The cached file page behind `addr`, if the VMA maps a shmem file (or
/// a `memfd_secret` one, whose pages live in its page cache the same way).
fn shmem_page(v: &crate::vma::Vma, addr: u64) -> Option<(u64, u64)> {
    let f = v.file.as_ref()?.inner();
    (f.kind == crate::file::FileKind::Shmem || f.anon_shmem || f.secretmem)
        .then(|| (f.ino, v.pgoff + ((addr - v.start) >> PAGE_SHIFT)))
}
