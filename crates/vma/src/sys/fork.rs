//! `fork(2)` as the VMA layer does it (`dup_mmap`): every VMA but
//! `VM_DONTCOPY` ones is duplicated into the child, linked to the parent's
//! `anon_vma`s through a new `anon_vma` of its own (`anon_vma_fork`), so
//! that later merges in either process follow the kernel's fork rules.

use crate::core::anon::{anon_vma_fork, unlink_anon_vmas};
use crate::env::{AllocSite, Env};
use crate::errno::KResult;
use crate::flags::VmFlags;
use crate::mm::{count_stats, Mm, VmStats};

impl<E: Env> Mm<E> {
    /// Forks this address space; the child gets a clone of the environment.
    pub fn fork(&mut self) -> KResult<Mm<E>>
    where
        E: Clone,
    {
        let env = self.env.clone();
        self.fork_with(env)
    }

    /// Forks this address space into a child with its own environment.
    /// On failure the child is torn down and the parent is as before.
    pub fn fork_with<F: Env>(&mut self, env: F) -> KResult<Mm<F>> {
        let mut child = Mm::with_env(self.config.clone(), env);
        child.process = self.process.clone();
        child.shared_policies = self.shared_policies.clone();
        child.pages = self.pages.shmem_only();
        child.process.def_flags = self.process.def_flags & VmFlags::NOHUGEPAGE;
        child.set.share_anon();
        self.set.share_anon();
        let ids: alloc::vec::Vec<_> = self.vmas().map(|(id, _)| id).collect();
        for id in ids {
            if let Err(e) = self.dup_vma_into(&mut child, id) {
                child.teardown();
                return Err(e);
            }
        }
        let mut stats = VmStats::default();
        for (_, v) in child.vmas() {
            count_stats(&mut stats, v);
        }
        stats.locked_vm = 0;
        child.set.set_stats(stats);
        Ok(child)
    }

    /// One iteration of `dup_mmap`'s loop.
    fn dup_vma_into<F: Env>(&mut self, child: &mut Mm<F>, id: crate::slab::VmaId) -> KResult<()> {
        let pv = self.vma(id);
        if pv.flags.contains(VmFlags::DONTCOPY) {
            return Ok(());
        }
        if pv.flags.contains(VmFlags::ACCOUNT) {
            child.core().vm_enough_memory(pv.pages())?;
        }
        child.alloc(AllocSite::Vma)?;
        let mut vma = pv.dup();
        if vma.policy.is_some() {
            child.alloc(AllocSite::Policy)?;
        }
        // Without UFFD_FEATURE_EVENT_FORK the child loses the registration.
        vma.uffd_ctx = None;
        vma.flags.remove(VmFlags::UFFD_FLAGS);
        if vma.flags.contains(VmFlags::WIPEONFORK) {
            vma.anon_vma = None;
        } else {
            anon_vma_fork(&mut child.env, &mut vma, pv)?;
        }
        vma.flags.remove(VmFlags::LOCKED_MASK);
        if vma.ops.is_some_and(|o| o.open) {
            child.env.vma_open(&vma);
        }
        let (s, e) = (vma.start, vma.end);
        // copy_page_range: page tables, and the guard markers in them, are
        // copied unless the child starts with fresh memory (VM_WIPEONFORK).
        if !vma.flags.contains(VmFlags::WIPEONFORK) {
            for (gs, ge) in self.guards.slice(s, e).iter() {
                child.guards.insert(gs, ge);
            }
        }
        // copy_page_range copies page-table entries only where faults could
        // not refill them (`vma_needs_copy`); elsewhere the child starts
        // with none.
        // The write-protect bit counts in the child's VMA, which has lost
        // its registration by now; the other flags in the parent's.
        let copy_flags = (pv.flags & !VmFlags::UFFD_WP) | (vma.flags & VmFlags::UFFD_WP);
        if !vma.flags.contains(VmFlags::WIPEONFORK)
            && (pv.anon_vma.is_some() || copy_flags.intersects(VmFlags::COPY_ON_FORK))
        {
            child.pages.copy_mapped_from(&self.pages, s, e);
            self.pages.share(s, e);
        }
        child.set.link(vma);
        Ok(())
    }

    /// `child`, forked when this process's shared pages were
    /// `shared_at_fork` ([`Pages::shared`](crate::sys::Pages::shared)),
    /// exits: the pages this process shared with it alone are its own
    /// again, so MADV_FREE and reclaim advice treat them as such, and what
    /// belongs to shmem objects rather than to the child -- their pages and
    /// shared policies, which the model keeps per address space -- is as
    /// the child left it. The caller then drops the child, which unlinks
    /// its VMAs.
    pub fn child_exited<F: Env>(&mut self, child: &Mm<F>, shared_at_fork: &crate::sys::RangeSet) {
        self.child_reaped(shared_at_fork);
        self.adopt_file_state(child);
    }

    /// A child this process forked when its shared pages were
    /// `shared_at_fork` exits while this process runs (it reaps a child
    /// that waited): the pages it shared with it alone are its own again;
    /// the shmem state is this process's, which ran last.
    pub fn child_reaped(&mut self, shared_at_fork: &crate::sys::RangeSet) {
        self.pages.keep_shared(shared_at_fork);
    }

    /// What belongs to shmem objects rather than to an address space --
    /// their pages and shared policies, which the model keeps per address
    /// space -- is as `other`, a process of the same family that ran last,
    /// left it.
    pub fn adopt_file_state<F: Env>(&mut self, other: &Mm<F>) {
        self.pages.take_cache_from(&other.pages);
        self.shared_policies = other.shared_policies.clone();
    }

    /// `exit_mmap`: unlink and free every VMA.
    pub(crate) fn teardown(&mut self) {
        let ids: alloc::vec::Vec<_> = self.vmas().map(|(id, _)| id).collect();
        for id in ids {
            if let Some(mut v) = self.set.unlink(id) {
                crate::core::munmap::close_vma(&mut self.env, &mut v);
                unlink_anon_vmas(&mut v);
            }
        }
        self.set.set_stats(VmStats::default());
        self.guards = super::GuardMap::default();
    }
}

impl<E: Env> Drop for Mm<E> {
    /// The address space going away releases its `anon_vma` links, which
    /// its fork relatives still count.
    fn drop(&mut self) {
        for v in self.set.vmas_mut() {
            unlink_anon_vmas(v);
        }
    }
}
