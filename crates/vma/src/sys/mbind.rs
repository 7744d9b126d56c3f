//! `mbind(2)` (mm/mempolicy.c: `kernel_mbind`, `sanitize_mpol_flags`,
//! `do_mbind`, `mpol_new`, `mpol_set_nodemask`, `queue_pages_range`'s hole
//! checks, `mbind_range`, `vma_replace_policy`).
//!
//! A memory policy is part of a VMA's identity: binding part of a VMA
//! splits it, and equal policies (`mpol_equal`) merge. `MPOL_DEFAULT`
//! removes the policy. Page migration (`MPOL_MF_MOVE*`) and the
//! `MPOL_MF_STRICT` check of misplaced pages are not modelled: the model
//! has no pages, so they never fail.

use super::consts::*;
use crate::config::{Config, PAGE_SIZE};
use crate::env::{AllocSite, Env};
use crate::errno::{Errno, KResult};
use crate::mm::Mm;
use crate::policy::{mpol_equal, MemPolicy, PolicyMode};

/// `mpol_relative_nodemask`: folds `user` onto the allowed nodes, the n-th
/// requested node becoming the n-th allowed one (modulo their number).
fn relative_nodes(user: u64, allowed: u64) -> u64 {
    let weight = allowed.count_ones();
    if weight == 0 {
        return 0;
    }
    let mut out = 0;
    for n in (0..64).filter(|n| user & (1 << n) != 0) {
        let idx = n % weight;
        let mut seen = 0;
        for bit in 0..64 {
            if allowed & (1 << bit) != 0 {
                if seen == idx {
                    out |= 1 << bit;
                    break;
                }
                seen += 1;
            }
        }
    }
    out
}

/// `sanitize_mpol_flags`, the checks mbind and set_mempolicy share: splits
/// the mode word into the mode and its `MPOL_F_*` flags.
pub(super) fn sanitize_mpol_flags(config: &Config, mode: u32) -> KResult<(u32, u32)> {
    let mode_flags = mode & MPOL_MODE_FLAGS;
    let mode = mode & !MPOL_MODE_FLAGS;
    let max = if config.weighted_interleave_6_9() {
        MPOL_MAX
    } else {
        MPOL_WEIGHTED_INTERLEAVE
    };
    if mode >= max {
        return Err(Errno::EINVAL);
    }
    let static_nodes = mode_flags & MPOL_F_STATIC_NODES != 0;
    let relative = mode_flags & MPOL_F_RELATIVE_NODES != 0;
    if static_nodes && relative {
        return Err(Errno::EINVAL);
    }
    let balances = mode == MPOL_BIND
        || (mode == MPOL_PREFERRED_MANY && config.numa_balancing_preferred_many_6_10());
    if mode_flags & MPOL_F_NUMA_BALANCING != 0 && !balances {
        return Err(Errno::EINVAL);
    }
    Ok((mode, mode_flags))
}

/// The end of the range mbind and set_mempolicy_home_node work on: the
/// length is page-aligned as `PAGE_ALIGN` does it, which wraps (a length
/// near 2^64 becomes 0: nothing to do, `None`), and a range that wraps
/// past the top is EINVAL.
pub(super) fn policy_range_end(start: u64, len: u64) -> KResult<Option<u64>> {
    let len = len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    let end = start.wrapping_add(len);
    if end < start {
        return Err(Errno::EINVAL);
    }
    Ok((end != start).then_some(end))
}

impl<E: Env> Mm<E> {
    /// `mbind(addr, len, mode, nodemask, flags)`: `mode` may carry
    /// `MPOL_F_*` mode flags; `nodes` is the node mask (bit n = node n; an
    /// absent mask is an empty one). Without `CONFIG_NUMA` the call does
    /// not exist (ENOSYS).
    pub fn mbind(
        &mut self,
        start: u64,
        len: u64,
        mode: u32,
        nodes: u64,
        flags: u32,
    ) -> KResult<()> {
        if !self.config.numa {
            return Err(Errno::ENOSYS);
        }
        let (mode, mode_flags) = sanitize_mpol_flags(&self.config, mode)?;
        // do_mbind
        if flags & !MPOL_MF_VALID != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MPOL_MF_MOVE_ALL != 0 && !self.config.cap_sys_nice {
            return Err(Errno::EPERM);
        }
        if start % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let Some(end) = policy_range_end(start, len)? else {
            return Ok(());
        };
        let new = self.mpol_new(mode, mode_flags, nodes)?;
        self.mbind_check_holes(start, end, new.is_none())?;
        self.mbind_apply(start, end, new)
    }

    /// `mpol_new` followed by `mpol_set_nodemask`: the policy mbind will
    /// apply, `None` for `MPOL_DEFAULT`.
    pub(super) fn mpol_new(
        &mut self,
        mode: u32,
        mode_flags: u32,
        nodes: u64,
    ) -> KResult<Option<MemPolicy>> {
        let user_mask_flags = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES;
        let kind = match mode {
            MPOL_DEFAULT => {
                if nodes != 0 {
                    return Err(Errno::EINVAL);
                }
                return Ok(None);
            }
            MPOL_PREFERRED if nodes == 0 => {
                if mode_flags & user_mask_flags != 0 {
                    return Err(Errno::EINVAL);
                }
                PolicyMode::Local
            }
            MPOL_PREFERRED => PolicyMode::Preferred,
            MPOL_LOCAL => {
                if nodes != 0 || mode_flags & user_mask_flags != 0 {
                    return Err(Errno::EINVAL);
                }
                PolicyMode::Local
            }
            _ if nodes == 0 => return Err(Errno::EINVAL),
            MPOL_BIND => PolicyMode::Bind,
            MPOL_INTERLEAVE => PolicyMode::Interleave,
            MPOL_PREFERRED_MANY => PolicyMode::PreferredMany,
            _ => PolicyMode::WeightedInterleave,
        };
        self.alloc(AllocSite::Policy)?;
        let mut pol = MemPolicy {
            mode: kind,
            flags: mode_flags as u16,
            nodes: 0,
            user_nodes: 0,
            home_node: None,
        };
        if kind == PolicyMode::Local {
            return Ok(Some(pol));
        }
        let allowed = self.config.numa_nodes;
        let effective = if mode_flags & MPOL_F_RELATIVE_NODES != 0 {
            relative_nodes(nodes, allowed)
        } else {
            nodes & allowed
        };
        if mode_flags & user_mask_flags != 0 {
            pol.user_nodes = nodes;
        }
        if effective == 0 {
            return Err(Errno::EINVAL);
        }
        pol.nodes = if kind == PolicyMode::Preferred {
            effective & effective.wrapping_neg()
        } else {
            effective
        };
        Ok(Some(pol))
    }

    /// The hole checks of `queue_pages_range`: a range with no VMA at all is
    /// EFAULT; unless `discontig_ok` (the default policy), so is any hole.
    fn mbind_check_holes(&self, start: u64, end: u64, discontig_ok: bool) -> KResult<()> {
        let first = self
            .find_vma_intersection(start, end)
            .ok_or(Errno::EFAULT)?;
        if discontig_ok {
            return Ok(());
        }
        if self.vma(first).start > start {
            return Err(Errno::EFAULT);
        }
        let mut vma = first;
        loop {
            let ve = self.vma(vma).end;
            if ve >= end {
                return Ok(());
            }
            match self.vma_starting_at(ve) {
                Some(next) => vma = next,
                None => return Err(Errno::EFAULT),
            }
        }
    }

    /// The `mbind_range` loop: each VMA's part of the range gets the policy
    /// through `vma_modify_policy` and `vma_replace_policy`.
    pub(super) fn mbind_apply(
        &mut self,
        start: u64,
        end: u64,
        new: Option<MemPolicy>,
    ) -> KResult<()> {
        let Some(first) = self.find_vma_intersection(start, end) else {
            return Ok(());
        };
        let mut prev = self.vma_prev_of(self.vma(first).start);
        let mut next = start;
        while let Some(vma) = self.find_vma_intersection(next, end) {
            let v = self.vma(vma);
            let vmend = end.min(v.end);
            let vmstart = if start > v.start {
                prev = Some(vma);
                start
            } else {
                v.start
            };
            next = v.end;
            if mpol_equal(v.policy.as_ref(), new.as_ref()) {
                prev = Some(vma);
                continue;
            }
            let got = self
                .core()
                .modify_policy(prev, vma, vmstart, vmend, new.clone())?;
            prev = Some(got);
            next = self.vma(got).end;
            if new.is_some() {
                self.alloc(AllocSite::Policy)?;
            }
            self.env.vma_start_write(got);
            self.vma_mut(got).policy = new.clone().map(alloc::boxed::Box::new);
            self.set_shared_policy(got);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::relative_nodes;

    #[test]
    fn relative_masks_fold_onto_allowed_nodes() {
        assert_eq!(relative_nodes(0b1, 0b1), 0b1);
        assert_eq!(relative_nodes(0b110, 0b1), 0b1);
        assert_eq!(relative_nodes(0b1, 0b1100), 0b100);
        assert_eq!(relative_nodes(0b10, 0b1100), 0b1000);
        assert_eq!(relative_nodes(0b100, 0b1100), 0b100);
    }
}
