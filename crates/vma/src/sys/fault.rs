//! Page faults as the VMA layer sees them: which access succeeds, which
//! signal a failing one raises, when a VMA gets its `anon_vma`, and stack
//! growth (`lock_mm_and_find_vma`, `expand_downwards`, `do_anonymous_page`,
//! `do_wp_page`, and `mm_populate` built on them).

use crate::config::{PAGE_SHIFT, PAGE_SIZE};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::{account_kind, Mm};
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
}

/// The kind of access that faults.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    Read,
    Write,
}

impl<E: Env> Mm<E> {
    /// A user access to `addr`. Succeeds (possibly giving the VMA an
    /// `anon_vma`, possibly growing a stack) or returns the signal.
    pub fn fault(&mut self, addr: u64, access: Access) -> Result<(), Signal> {
        let vma = self.find_fault_vma(addr)?;
        let v = self.vma(vma);
        // x86 checks the protection key before the VMA's permissions.
        if self.config.pkeys && !self.pkru_allows(v.flags.pkey(), access == Access::Write) {
            return Err(Signal::SegvPkuerr);
        }
        let allowed = match access {
            Access::Write => v.flags.contains(VmFlags::WRITE),
            Access::Read => v.is_accessible(),
        };
        if !allowed {
            return Err(Signal::SegvAccerr);
        }
        if let Some(file) = &v.file {
            let page = v.pgoff + ((addr - v.start) >> PAGE_SHIFT);
            if page >= file.inner().size_pages {
                return Err(Signal::Bus);
            }
        }
        if access == Access::Write && !v.flags.contains(VmFlags::SHARED) {
            // A private write fault allocates an anonymous page (COW).
            self.anon_vma_prepare(vma).map_err(|_| Signal::Bus)?;
        }
        Ok(())
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
        self.anon_vma_prepare(vma)?;
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
            self.stats.locked_vm += grow;
        }
        self.stats.total_vm += grow;
        account_kind(&mut self.stats, flags, grow as i64);
        let v = self.vma_mut(vma);
        v.start = address;
        v.pgoff -= grow;
        let end = v.end;
        self.tree.store(address, end, vma);
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
            self.vm_enough_memory(grow)?;
        }
        Ok(())
    }

    /// `mm_populate`: fault in `[addr, addr + len)` as mlock and
    /// `MAP_POPULATE` do; errors are ignored.
    pub(crate) fn populate(&mut self, addr: u64, len: u64) {
        let end = addr.saturating_add(len);
        let mut next = addr;
        while let Some(vma) = self.find_vma_intersection(next, end) {
            next = self.vma(vma).end;
            if !self
                .vma(vma)
                .flags
                .intersects(VmFlags::IO | VmFlags::PFNMAP)
            {
                self.populate_vma(vma);
            }
        }
    }

    /// `populate_vma_page_range` over one VMA: private writable memory is
    /// write-faulted, so it gets its `anon_vma`; lock-on-fault and
    /// inaccessible VMAs are left alone.
    pub(crate) fn populate_vma(&mut self, vma: VmaId) {
        let f = self.vma(vma).flags;
        if f.contains(VmFlags::LOCKONFAULT) || !self.vma(vma).is_accessible() {
            return;
        }
        if f & (VmFlags::WRITE | VmFlags::SHARED) == VmFlags::WRITE {
            let _ = self.anon_vma_prepare(vma);
        }
    }
}
