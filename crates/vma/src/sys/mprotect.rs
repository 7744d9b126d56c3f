//! `mprotect(2)` and `pkey_mprotect(2)` (`do_mprotect_pkey`, `mprotect_fixup`).

use super::consts::*;
use super::mmap::{page_align, prot_to_flags};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;

impl<E: Env> Mm<E> {
    /// `mprotect(addr, len, prot)`.
    pub fn mprotect(&mut self, start: u64, len: u64, prot: u32) -> KResult<()> {
        self.do_mprotect_pkey(start, len, prot, -1)
    }

    /// `pkey_mprotect(addr, len, prot, pkey)`; `pkey == -1` keeps each VMA's key.
    /// VMAs before a failing one keep their new protection, as in the kernel.
    /// ENOSYS where the kernel is built without protection keys.
    pub fn pkey_mprotect(&mut self, start: u64, len: u64, prot: u32, pkey: i32) -> KResult<()> {
        if !self.config.pkeys {
            return Err(Errno::ENOSYS);
        }
        self.do_mprotect_pkey(start, len, prot, pkey)
    }

    /// `do_mprotect_pkey`: both calls above.
    fn do_mprotect_pkey(&mut self, start: u64, len: u64, prot: u32, pkey: i32) -> KResult<()> {
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        let prot = prot & !(PROT_GROWSDOWN | PROT_GROWSUP);
        if grows == PROT_GROWSDOWN | PROT_GROWSUP {
            return Err(Errno::EINVAL);
        }
        if start % crate::config::PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = page_align(len).ok_or(Errno::ENOMEM)?;
        let end = start.wrapping_add(len);
        if end <= start {
            return Err(Errno::ENOMEM);
        }
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return Err(Errno::EINVAL);
        }
        if pkey != -1 && !self.pkey_is_allocated(pkey) {
            return Err(Errno::EINVAL);
        }
        let mut at = self.vma_mark(start);
        let Some(first) = self.find_vma_at(&mut at, start, end) else {
            return Err(Errno::ENOMEM);
        };
        let mut start = start;
        let f = self.vma(first);
        if grows & PROT_GROWSDOWN != 0 {
            if f.start >= end {
                return Err(Errno::ENOMEM);
            }
            start = f.start;
            if !f.flags.contains(VmFlags::GROWSDOWN) {
                return Err(Errno::EINVAL);
            }
        } else {
            if f.start > start {
                return Err(Errno::ENOMEM);
            }
            if grows & PROT_GROWSUP != 0 {
                // x86 has no VM_GROWSUP, so no VMA qualifies.
                return Err(Errno::EINVAL);
            }
        }
        self.walk_range(at, first, start, end, |mm, vma, prev, nstart, seg_end| {
            let new_pkey = mm.override_mprotect_pkey(vma, prot, pkey);
            let v = mm.vma(vma);
            let mut newflags =
                prot_to_flags(prot, new_pkey) | (v.flags & !(VmFlags::ACCESS | VmFlags::PKEY_MASK));
            if (newflags & !VmFlags(newflags.0 >> 4)).intersects(VmFlags::ACCESS) {
                return Err(Errno::EACCES);
            }
            mm.mprotect_fixup(vma, prev, nstart, seg_end, &mut newflags)
        })?;
        Ok(())
    }

    /// `mprotect_fixup`: apply `newflags` to `[start, end)` of `vma`.
    fn mprotect_fixup(
        &mut self,
        vma: VmaId,
        prev: &mut Option<VmaId>,
        start: u64,
        end: u64,
        newflags: &mut VmFlags,
    ) -> KResult<()> {
        let v = self.vma(vma);
        let oldflags = v.flags;
        let nrpages = (end - start) >> crate::config::PAGE_SHIFT;
        if v.is_sealed() {
            return Err(Errno::EPERM);
        }
        if *newflags == oldflags {
            *prev = Some(vma);
            return Ok(());
        }
        let mut charged = 0;
        if newflags.contains(VmFlags::WRITE) {
            if !self.may_expand_vm(*newflags, nrpages) && self.may_expand_vm(oldflags, nrpages) {
                return Err(Errno::ENOMEM);
            }
            let exempt = VmFlags::ACCOUNT
                | VmFlags::WRITE
                | VmFlags::HUGETLB
                | VmFlags::SHARED
                | VmFlags::NORESERVE;
            if !oldflags.intersects(exempt) {
                charged = nrpages;
                self.core().vm_enough_memory(charged)?;
                *newflags |= VmFlags::ACCOUNT;
            }
        } else if self.config.mprotect_unaccounts_unfaulted_6_7()
            && oldflags.contains(VmFlags::ACCOUNT)
            && v.is_anonymous()
            && v.anon_vma.is_none()
        {
            newflags.remove(VmFlags::ACCOUNT);
        }
        let got = match self.core().modify_flags(*prev, vma, start, end, newflags) {
            Ok(g) => g,
            Err(e) => {
                self.core().vm_unacct_memory(charged);
                return Err(e);
            }
        };
        *prev = Some(got);
        self.env.vma_start_write(got);
        self.vma_mut(got).flags = *newflags;
        self.env.change_protection(start, end, *newflags);
        if oldflags.contains(VmFlags::ACCOUNT) && !newflags.contains(VmFlags::ACCOUNT) {
            self.core().vm_unacct_memory(nrpages);
        }
        if oldflags & (VmFlags::WRITE | VmFlags::SHARED | VmFlags::LOCKED) == VmFlags::LOCKED
            && newflags.contains(VmFlags::WRITE)
        {
            // Only the range whose protection changed, even when it merged
            // into a neighbour that was writable already.
            let _ = self.populate_vma_range(got, start, end);
        }
        self.set.account_kind(oldflags, -(nrpages as i64));
        self.set.account_kind(*newflags, nrpages as i64);
        Ok(())
    }

    /// x86's `arch_override_mprotect_pkey`: every VMA has key 0 on a CPU
    /// without protection keys.
    fn override_mprotect_pkey(&mut self, vma: VmaId, prot: u32, pkey: i32) -> u32 {
        if !self.config.pkeys_enabled() {
            return 0;
        }
        if pkey != -1 {
            return pkey as u32;
        }
        if prot == PROT_EXEC {
            if let Some(k) = self.execute_only_pkey() {
                if k > 0 {
                    return k;
                }
            }
        } else {
            let v = self.vma(vma);
            if v.flags & VmFlags::ACCESS == VmFlags::EXEC
                && Some(v.flags.pkey()) == self.process.execute_only_pkey
            {
                return 0;
            }
        }
        self.vma(vma).flags.pkey()
    }
}
