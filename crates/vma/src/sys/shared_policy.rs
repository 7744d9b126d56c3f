//! The NUMA policy of shared memory objects (`struct shared_policy`): mbind
//! on a VMA of a shmem file also sets the policy of the file's pages
//! (`shmem_set_policy`), and what numa_maps shows for any VMA of such a
//! file is the file's policy at the VMA's start (`shmem_get_policy`), not
//! the VMA's own -- which still decides merges.
//!
//! The kernel keeps it in the inode; the model keeps it per address space
//! (copied on fork), which agrees with the kernel as long as only one
//! process of a family changes a file's policy.

use crate::env::Env;
use crate::file::FileKind;
use crate::mm::Mm;
use crate::policy::MemPolicy;
use crate::slab::VmaId;
use crate::vma::Vma;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Page ranges of one file with their policies, sorted, non-overlapping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedPolicy(Vec<(u64, u64, MemPolicy)>);

impl SharedPolicy {
    /// `shared_policy_replace`: `[start, end)` gets `pol` (or none).
    pub fn replace(&mut self, start: u64, end: u64, pol: Option<MemPolicy>) {
        let mut out = Vec::new();
        for (s, e, p) in self.0.drain(..) {
            if s < start {
                out.push((s, e.min(start), p.clone()));
            }
            if e > end {
                out.push((s.max(end), e, p));
            }
        }
        if let Some(p) = pol {
            out.push((start, end, p));
        }
        out.sort_by_key(|&(s, _, _)| s);
        self.0 = out;
    }

    /// `mpol_shared_policy_lookup`.
    pub fn lookup(&self, pgoff: u64) -> Option<&MemPolicy> {
        self.0
            .iter()
            .find(|(s, e, _)| *s <= pgoff && pgoff < *e)
            .map(|(_, _, p)| p)
    }
}

/// Shared policies by file (inode number).
pub type SharedPolicies = BTreeMap<u64, SharedPolicy>;

/// Files whose VMAs use `shmem_vm_ops`: memfd/tmpfs and shared anonymous memory.
fn is_shmem(vma: &Vma) -> bool {
    vma.file
        .as_ref()
        .is_some_and(|f| f.inner().kind == FileKind::Shmem || f.inner().anon_shmem)
}

impl<E: Env> Mm<E> {
    /// `vma->vm_ops->set_policy` after a VMA's policy changed.
    pub(crate) fn set_shared_policy(&mut self, id: VmaId) {
        let vma = self.vma(id);
        if let (true, Some(f)) = (is_shmem(vma), &vma.file) {
            let (ino, start, end, pol) = (
                f.inner().ino,
                vma.pgoff,
                vma.pgoff + vma.pages(),
                vma.policy.as_deref().cloned(),
            );
            self.shared_policies
                .entry(ino)
                .or_default()
                .replace(start, end, pol);
        }
    }

    /// The policy numa_maps shows for a VMA: its own (`__get_vma_policy`
    /// at its start), or else the task's (`None`: the default).
    pub fn numa_policy<'a>(&'a self, vma: &'a Vma) -> Option<&'a MemPolicy> {
        self.shmem_policy(vma, vma.pgoff)
            .unwrap_or(vma.policy.as_deref())
            .or(self.process.task_policy.as_ref())
    }

    /// For a VMA of a shmem file, the file's policy at page `pgoff` of the
    /// file (`shmem_get_policy`); `None` for other VMAs, which answer with
    /// their own.
    pub(crate) fn shmem_policy(&self, vma: &Vma, pgoff: u64) -> Option<Option<&MemPolicy>> {
        let f = vma.file.as_ref().filter(|_| is_shmem(vma))?;
        Some(
            self.shared_policies
                .get(&f.inner().ino)
                .and_then(|p| p.lookup(pgoff)),
        )
    }
}
