//! The `anon_vma` operations of mm/rmap.c the VMA layer relies on:
//! prepare (first write fault), clone (split, merge, copy), fork, unlink,
//! and the search for a neighbour's reusable `anon_vma`.

use super::Core;
use crate::anon_vma::AnonVma;
use crate::env::{AllocSite, Env};
use crate::errno::KResult;
use crate::flags::VmFlags;
use crate::policy::mpol_equal;
use crate::slab::VmaId;
use crate::vma::Vma;

/// Links `vma` into `av`'s interval tree (`anon_vma_chain_link`).
pub(crate) fn chain_link(vma: &mut Vma, av: &AnonVma) {
    av.add_linked(1);
    vma.chain.push(av.clone());
}

/// `unlink_anon_vmas`: drops every chain entry of `vma` and its `anon_vma`.
/// An `anon_vma` whose tree empties stops counting as its parent's child.
pub(crate) fn unlink_anon_vmas(vma: &mut Vma) {
    for av in vma.chain.take().into_iter().rev() {
        av.add_linked(-1);
        if av.linked() == 0 {
            av.parent().add_children(-1);
        }
    }
    if let Some(av) = vma.anon_vma.take() {
        av.add_active(-1);
    }
}

/// Asks the environment for an allocation; ENOMEM if it refuses.
pub(crate) fn env_alloc<E: Env>(env: &mut E, site: AllocSite) -> KResult<()> {
    if env.alloc(site) {
        Ok(())
    } else {
        Err(crate::errno::Errno::ENOMEM)
    }
}

/// `anon_vma_clone(dst, src)`: links `dst` into every `anon_vma` of `src`
/// (given as its chain and whether it has an `anon_vma`). A `dst` without an
/// `anon_vma` (only possible on fork) reuses the oldest one that no VMA uses
/// and that has at most one child. On failure `dst` is left unlinked.
pub(crate) fn anon_vma_clone<E: Env>(
    env: &mut E,
    dst: &mut Vma,
    src_chain: &[AnonVma],
    src_has_anon: bool,
) -> KResult<()> {
    for av in src_chain {
        if let Err(e) = env_alloc(env, AllocSite::AnonVmaChain) {
            dst.anon_vma = None;
            unlink_anon_vmas(dst);
            return Err(e);
        }
        chain_link(dst, av);
        if dst.anon_vma.is_none()
            && src_has_anon
            && av.num_children() < 2
            && av.num_active_vmas() == 0
        {
            dst.anon_vma = Some(av.clone());
        }
    }
    if let Some(av) = &dst.anon_vma {
        av.add_active(1);
    }
    Ok(())
}

/// `anon_vma_fork`: the child's VMA gets the parent's chain and, unless it
/// could reuse one, a new `anon_vma` of its own whose parent is `pvma`'s.
pub(crate) fn anon_vma_fork<E: Env>(env: &mut E, vma: &mut Vma, pvma: &Vma) -> KResult<()> {
    let Some(parent_av) = pvma.anon_vma.clone() else {
        return Ok(());
    };
    vma.anon_vma = None;
    anon_vma_clone(env, vma, &pvma.chain, true)?;
    if vma.anon_vma.is_some() {
        return Ok(());
    }
    if let Err(e) =
        env_alloc(env, AllocSite::AnonVma).and_then(|_| env_alloc(env, AllocSite::AnonVmaChain))
    {
        unlink_anon_vmas(vma);
        return Err(e);
    }
    let av = AnonVma::new_child(&parent_av);
    av.add_active(1);
    vma.anon_vma = Some(av.clone());
    chain_link(vma, &av);
    parent_av.add_children(1);
    Ok(())
}

impl<E: Env> Core<'_, E> {
    /// `anon_vma_prepare`: gives the VMA an `anon_vma` on its first
    /// anonymous fault, reusing a compatible neighbour's when it can.
    pub(crate) fn anon_vma_prepare(&mut self, id: VmaId) -> KResult<()> {
        if self.vma(id).anon_vma.is_some() {
            return Ok(());
        }
        self.alloc(AllocSite::AnonVmaChain)?;
        let av = match self.find_mergeable_anon_vma(id) {
            Some(av) => av,
            None => {
                self.alloc(AllocSite::AnonVma)?;
                AnonVma::new_root()
            }
        };
        let vma = self.vma_mut(id);
        vma.anon_vma = Some(av.clone());
        chain_link(vma, &av);
        av.add_active(1);
        Ok(())
    }

    /// `find_mergeable_anon_vma`: the `anon_vma` of the next, then the
    /// previous, VMA if it is adjacent, compatible and not from a fork.
    pub(crate) fn find_mergeable_anon_vma(&self, id: VmaId) -> Option<AnonVma> {
        let vma = self.vma(id);
        let sticky = self.config.sticky_flags();
        if let Some(next) = self.vma_at(vma.end).map(|n| self.vma(n)) {
            if let Some(av) = reusable_anon_vma(next, vma, next, sticky) {
                return Some(av);
            }
        }
        let prev = self.vma_prev_of(vma.start).map(|p| self.vma(p))?;
        reusable_anon_vma(prev, prev, vma, sticky)
    }
}

/// `anon_vma_compatible`: adjacent, same policy and file, flags differing only
/// in access bits and sticky flags, and linear offsets.
fn anon_vma_compatible(a: &Vma, b: &Vma, sticky: VmFlags) -> bool {
    a.end == b.start
        && mpol_equal(a.policy.as_ref(), b.policy.as_ref())
        && a.file == b.file
        && ((a.flags ^ b.flags) & !(VmFlags::ACCESS | sticky)).is_empty()
        && b.pgoff == a.pgoff + a.pages()
}

/// `reusable_anon_vma`: `old`'s `anon_vma`, if `a`/`b` are compatible and
/// `old` is linked to a single `anon_vma`.
fn reusable_anon_vma(old: &Vma, a: &Vma, b: &Vma, sticky: VmFlags) -> Option<AnonVma> {
    if anon_vma_compatible(a, b, sticky) && old.chain.len() == 1 {
        old.anon_vma.clone()
    } else {
        None
    }
}

impl Vma {
    /// `(vma->vm_flags ^ flags)` restricted to the bits a merge compares.
    pub(crate) fn flags_differ(&self, flags: VmFlags, sticky: VmFlags) -> VmFlags {
        (self.flags ^ flags) & !sticky
    }
}
