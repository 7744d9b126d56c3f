// SPDX-License-Identifier: GPL-2.0-or-later
//! The task's memory policy and the policy queries (mm/mempolicy.c:
//! `set_mempolicy`, `get_mempolicy`, `set_mempolicy_home_node`).
//!
//! The task policy changes no VMA: VMAs without a policy of their own fall
//! back to it only when a page is allocated, which the model does not
//! follow. It is kept per process (copied on fork) so that `get_mempolicy`
//! can report it. `get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR)` does reach
//! the VMAs: it looks the page up with get_user_pages, faulting it in.
//! `set_mempolicy_home_node` changes VMA policies, so it splits and merges
//! like mbind.
//!
//! Nodes: the model knows the nodes the task may use
//! ([`Config::numa_nodes`](crate::Config::numa_nodes)), not where pages
//! live, so a page's node is the first of them -- exact on one-node
//! machines, which is where scenarios run.

use super::consts::*;
use super::mbind::{policy_range_end, sanitize_mpol_flags};
use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::policy::{MemPolicy, PolicyMode};
use crate::slab::VmaId;

/// `MAX_NUMNODES` of x86-64 distribution kernels (`CONFIG_NODES_SHIFT=10`).
const MAX_NUMNODES: u64 = 1 << 10;

/// What `get_mempolicy` writes: the policy word and the first 64 bits of
/// the node mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyReport {
    /// `*policy`: the mode with its `MPOL_F_*` mode flags, or a node
    /// number with `MPOL_F_NODE`, or 0 with `MPOL_F_MEMS_ALLOWED`.
    pub policy: i32,
    /// `*nmask`: the policy's nodes (the caller's mask where the policy
    /// keeps it), or the allowed nodes with `MPOL_F_MEMS_ALLOWED`.
    pub nodes: u64,
}

/// The mode number user space sees for a policy.
fn mode_number(mode: PolicyMode) -> u32 {
    match mode {
        PolicyMode::Preferred => MPOL_PREFERRED,
        PolicyMode::Bind => MPOL_BIND,
        PolicyMode::Interleave => MPOL_INTERLEAVE,
        PolicyMode::Local => MPOL_LOCAL,
        PolicyMode::PreferredMany => MPOL_PREFERRED_MANY,
        PolicyMode::WeightedInterleave => MPOL_WEIGHTED_INTERLEAVE,
    }
}

/// `get_policy_nodemask`, or the caller's mask where the policy keeps it
/// (`MPOL_F_STATIC_NODES`, `MPOL_F_RELATIVE_NODES`); a local policy and
/// the default have none.
fn reported_nodes(pol: Option<&MemPolicy>) -> u64 {
    let static_or_relative = (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES) as u16;
    match pol {
        None => 0,
        Some(p) if p.flags & static_or_relative != 0 => p.user_nodes,
        Some(p) if p.mode == PolicyMode::Local => 0,
        Some(p) => p.nodes,
    }
}

/// The first node of a mask (`first_node`), as the node a page is on.
fn first_node(nodes: u64) -> i32 {
    nodes.trailing_zeros().min(63) as i32
}

impl<E: Env> Mm<E> {
    /// `set_mempolicy(mode, nodemask)`: the task's policy, checked as
    /// mbind checks a VMA's (`MPOL_DEFAULT` removes it). Without
    /// `CONFIG_NUMA` the call does not exist (ENOSYS).
    pub fn set_mempolicy(&mut self, mode: u32, nodes: u64) -> KResult<()> {
        if !self.config.numa {
            return Err(Errno::ENOSYS);
        }
        let (mode, mode_flags) = sanitize_mpol_flags(&self.config, mode)?;
        let new = self.mpol_new(mode, mode_flags, nodes)?;
        self.process.task_policy = new;
        Ok(())
    }

    /// `get_mempolicy(policy, nmask, maxnode, addr, flags)` with both
    /// outputs present: the task's policy, the policy of the VMA at `addr`
    /// (`MPOL_F_ADDR`; for shmem the file's policy at that page), the node
    /// of the page there (`MPOL_F_NODE | MPOL_F_ADDR`, which faults it in),
    /// the next interleave node (`MPOL_F_NODE` under an interleaving task
    /// policy), or the allowed nodes (`MPOL_F_MEMS_ALLOWED`).
    pub fn get_mempolicy(&mut self, addr: u64, flags: u64) -> KResult<PolicyReport> {
        if !self.config.numa {
            return Err(Errno::ENOSYS);
        }
        let node_flag = flags & MPOL_F_NODE != 0;
        let addr_flag = flags & MPOL_F_ADDR != 0;
        if flags & !(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MPOL_F_MEMS_ALLOWED != 0 {
            if node_flag || addr_flag {
                return Err(Errno::EINVAL);
            }
            let nodes = self.config.numa_nodes;
            return Ok(PolicyReport { policy: 0, nodes });
        }
        let (pol, from_task) = if addr_flag {
            let vma = self.vma_at(addr).ok_or(Errno::EFAULT)?;
            (self.policy_at(vma, addr).cloned(), false)
        } else if addr != 0 {
            return Err(Errno::EINVAL);
        } else {
            (self.process.task_policy.clone(), true)
        };
        let policy = if node_flag && addr_flag {
            self.page_node(addr)?
        } else if node_flag {
            // The next node an interleaving task policy allocates from.
            match &pol {
                Some(p)
                    if from_task
                        && matches!(
                            p.mode,
                            PolicyMode::Interleave | PolicyMode::WeightedInterleave
                        ) =>
                {
                    first_node(p.nodes)
                }
                _ => return Err(Errno::EINVAL),
            }
        } else {
            pol.as_ref().map_or(MPOL_DEFAULT as i32, |p| {
                (mode_number(p.mode) | (u32::from(p.flags) & MPOL_MODE_FLAGS)) as i32
            })
        };
        let nodes = reported_nodes(pol.as_ref());
        Ok(PolicyReport { policy, nodes })
    }

    /// `lookup_node`: get_user_pages of the one page at `addr`, read, no
    /// `FOLL_FORCE`. A present entry the CPU lets this thread read answers
    /// at once (the lockless walk does not look at the VMA), unless it
    /// maps the shared zero page, which that walk leaves to the slow path;
    /// there the VMA must be readable and the page is faulted in as a read
    /// would.
    fn page_node(&mut self, addr: u64) -> KResult<i32> {
        let vma = self.vma_at(addr).ok_or(Errno::EFAULT)?;
        let page = addr & !(PAGE_SIZE - 1);
        let f = self.vma(vma).flags;
        let key_allows = !self.config.pkeys_enabled() || self.pkru_allows(f.pkey(), false);
        let node = first_node(self.config.numa_nodes);
        let fast = self.pages.is_mapped(page) && !self.pages.zero().contains(page);
        if fast && self.vma(vma).is_accessible() && key_allows {
            if self.pages.is_unsettled(page) {
                // Reclaim may have unmapped it, and the slow path may
                // refuse (no VM_READ) or fail (a userfaultfd, past EOF).
                self.pages.note_undetermined();
            }
            return Ok(node);
        }
        if f.intersects(VmFlags::IO | VmFlags::PFNMAP) || !f.contains(VmFlags::READ) || !key_allows
        {
            return Err(Errno::EFAULT);
        }
        self.fault_in_pages(vma, page, page + PAGE_SIZE, false)?;
        Ok(node)
    }

    /// `__get_vma_policy`: a shmem VMA asks its file for the policy of
    /// the page at `addr`; any other VMA has its own.
    fn policy_at(&self, vma: VmaId, addr: u64) -> Option<&MemPolicy> {
        let v = self.vma(vma);
        let page = v.pgoff + ((addr - v.start) >> crate::config::PAGE_SHIFT);
        self.shmem_policy(v, page).unwrap_or(v.policy.as_deref())
    }

    /// `set_mempolicy_home_node(start, len, home_node, flags)`: every VMA
    /// in the range that has a policy of its own gets a copy of it with
    /// this home node, splitting and merging as mbind does. Policies other
    /// than `MPOL_BIND` and `MPOL_PREFERRED_MANY` stop the walk with
    /// EOPNOTSUPP (those before keep their change); a range where no VMA
    /// has a policy is ENOENT.
    pub fn set_mempolicy_home_node(
        &mut self,
        start: u64,
        len: u64,
        home_node: u64,
        flags: u64,
    ) -> KResult<()> {
        if !self.config.numa {
            return Err(Errno::ENOSYS);
        }
        if start % PAGE_SIZE != 0 || flags != 0 {
            return Err(Errno::EINVAL);
        }
        let online = home_node < 64 && self.config.numa_nodes & (1 << home_node) != 0;
        if home_node >= MAX_NUMNODES || !online {
            return Err(Errno::EINVAL);
        }
        let Some(end) = policy_range_end(start, len)? else {
            return Ok(());
        };
        let mut result = Err(Errno::ENOENT);
        let mut next = start;
        while let Some(vma) = self.find_vma_intersection(next, end) {
            let v = self.vma(vma);
            let (vmstart, vmend) = (start.max(v.start), end.min(v.end));
            next = vmend;
            let Some(old) = v.policy.as_deref() else {
                continue;
            };
            if !matches!(old.mode, PolicyMode::Bind | PolicyMode::PreferredMany) {
                return Err(Errno::EOPNOTSUPP);
            }
            let new = MemPolicy {
                home_node: Some(home_node as u32),
                ..old.clone()
            };
            self.alloc(crate::env::AllocSite::Policy)?;
            result = self.mbind_apply(vmstart, vmend, Some(new));
            result?;
        }
        result
    }
}
