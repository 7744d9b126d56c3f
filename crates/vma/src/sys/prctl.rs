//! The VMA-changing `prctl(2)` options: `PR_SET_VMA_ANON_NAME`
//! (kernel/sys.c `prctl_set_vma`, mm/madvise.c `madvise_set_anon_name`)
//! and `PR_SET_MEMORY_MERGE` (mm/ksm.c `ksm_enable_merge_any`,
//! `ksm_disable_merge_any`).

use super::consts::ANON_VMA_NAME_MAX_LEN;
use crate::config::PAGE_SIZE;
use crate::env::{AllocSite, Env};
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;
use crate::vma::AnonName;
use alloc::string::String;
use alloc::sync::Arc;

/// `is_valid_name_char`: printable ASCII except `\`, `` ` ``, `$`, `[`, `]`.
fn is_valid_name_char(c: u8) -> bool {
    (0x20..0x7f).contains(&c) && !b"\\`$[]".contains(&c)
}

impl<E: Env> Mm<E> {
    /// `prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name)`: names the
    /// anonymous memory of the range (`None` clears the name). Without
    /// `CONFIG_ANON_VMA_NAME` the option does not exist: EINVAL. The name is
    /// read as a C string (up to its first NUL) and must be shorter than 80
    /// bytes and printable. File-backed VMAs (but shared anonymous memory)
    /// stop the walk with EBADF; holes give ENOMEM after the walk.
    pub fn prctl_set_vma_anon_name(
        &mut self,
        start: u64,
        len: u64,
        name: Option<&str>,
    ) -> KResult<()> {
        if !self.config.anon_vma_name {
            return Err(Errno::EINVAL);
        }
        let name: Option<AnonName> = match name {
            None => None,
            Some(s) => {
                let bytes = s.as_bytes();
                let cstr = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
                if cstr.len() >= ANON_VMA_NAME_MAX_LEN {
                    return Err(Errno::EINVAL);
                }
                if !cstr.iter().all(|&c| is_valid_name_char(c)) {
                    return Err(Errno::EINVAL);
                }
                self.alloc(AllocSite::AnonName)?;
                // All bytes are ASCII, so this slice is a valid str.
                Some(Arc::new(String::from(&s[..cstr.len()])))
            }
        };
        // madvise_set_anon_name
        if start % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let aligned = super::mmap::page_align(len).ok_or(Errno::EINVAL)?;
        let end = start.checked_add(aligned).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(());
        }
        self.madvise_walk_vmas(start, end, |mm, prev, vma, s, e| {
            mm.set_anon_name_vma(prev, vma, s, e, name.clone())
        })
    }

    /// The `__MADV_SET_ANON_VMA_NAME` case of `madvise_vma_behavior` and
    /// `madvise_update_vma`: ENOMEM from the split becomes EAGAIN.
    fn set_anon_name_vma(
        &mut self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
        name: Option<AnonName>,
    ) -> KResult<VmaId> {
        let v = self.vma(vma);
        let anon_shmem = v.file.as_ref().is_some_and(|f| f.inner().anon_shmem);
        if v.file.is_some() && !anon_shmem {
            return Err(Errno::EBADF);
        }
        if v.anon_name == name {
            return Ok(vma);
        }
        let got = self
            .core()
            .modify_name(prev, vma, start, end, name.clone())
            .map_err(|e| if e == Errno::ENOMEM { Errno::EAGAIN } else { e })?;
        self.env.vma_start_write(got);
        self.vma_mut(got).anon_name = name;
        Ok(got)
    }

    /// `prctl(PR_SET_MEMORY_MERGE, on)`: with `on`, the process becomes
    /// KSM-mergeable as a whole (`MMF_VM_MERGE_ANY`): every compatible VMA
    /// gets `VM_MERGEABLE` in place -- no split, no merge -- and so do later
    /// mappings. Off clears `VM_MERGEABLE` from every VMA, again in place.
    /// Without `CONFIG_KSM`, or before 6.4, the option does not exist:
    /// EINVAL.
    pub fn prctl_set_memory_merge(&mut self, on: bool) -> KResult<()> {
        if !self.config.ksm || !self.config.memory_merge_prctl_6_4() {
            return Err(Errno::EINVAL);
        }
        if on == self.process.merge_any {
            return Ok(());
        }
        let ids: alloc::vec::Vec<VmaId> = self.vmas().map(|(id, _)| id).collect();
        for id in ids {
            let flags = self.vma(id).flags;
            if on {
                if super::ksm_should_add_vma(flags) {
                    self.vma_mut(id).flags |= VmFlags::MERGEABLE;
                }
            } else if flags.contains(VmFlags::MERGEABLE) {
                self.env.vma_start_write(id);
                self.vma_mut(id).flags.remove(VmFlags::MERGEABLE);
            }
        }
        self.process.merge_any = on;
        Ok(())
    }

    /// `prctl(PR_GET_MEMORY_MERGE)`: whether the process is KSM-mergeable
    /// as a whole; EINVAL where `PR_SET_MEMORY_MERGE` would be.
    pub fn prctl_get_memory_merge(&self) -> KResult<bool> {
        if !self.config.ksm || !self.config.memory_merge_prctl_6_4() {
            return Err(Errno::EINVAL);
        }
        Ok(self.process.merge_any)
    }
}
