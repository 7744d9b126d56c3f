//! `mmap(2)` and `munmap(2)`: argument checks in the kernel's order, the
//! flags a mapping gets (`do_mmap`), then the core's `mmap_region`.

use super::consts::*;
use super::hugetlb::is_file_hugepages;
use crate::config::{Overcommit, PAGE_SHIFT, PAGE_SIZE};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::{File, FileKind};
use crate::flags::VmFlags;
use crate::mm::Mm;

pub(crate) use crate::config::page_align;

/// `calc_vm_prot_bits`: PROT_* to VM_* (with the protection key).
pub(crate) fn prot_to_flags(prot: u32, pkey: u32) -> VmFlags {
    let mut f = VmFlags::NONE;
    if prot & PROT_READ != 0 {
        f |= VmFlags::READ;
    }
    if prot & PROT_WRITE != 0 {
        f |= VmFlags::WRITE;
    }
    if prot & PROT_EXEC != 0 {
        f |= VmFlags::EXEC;
    }
    f | VmFlags(u64::from(pkey & 0xf) << 32)
}

/// `calc_vm_flag_bits`: MAP_* to VM_*. `stack_nohugepage`: MAP_STACK
/// means VM_NOHUGEPAGE (a kernel with THP, 6.7 on).
fn map_to_flags(flags: u32, stack_nohugepage: bool) -> VmFlags {
    let mut f = VmFlags::NONE;
    if flags & MAP_GROWSDOWN != 0 {
        f |= VmFlags::GROWSDOWN;
    }
    if flags & MAP_LOCKED != 0 {
        f |= VmFlags::LOCKED;
    }
    if flags & MAP_SYNC != 0 {
        f |= VmFlags::SYNC;
    }
    if stack_nohugepage && flags & MAP_STACK != 0 {
        f |= VmFlags::NOHUGEPAGE;
    }
    f
}

impl<E: Env> Mm<E> {
    /// `mmap(addr, len, prot, flags, fd, offset)`. `file` stands for the
    /// descriptor (ignored with `MAP_ANONYMOUS`). Returns the address.
    pub fn mmap(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        file: Option<&File>,
        offset: u64,
    ) -> KResult<u64> {
        if offset % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let huge_file;
        let (file, len) = if flags & MAP_ANONYMOUS == 0 {
            let file = file.ok_or(Errno::EBADF)?;
            // No hugetlbfs descriptors exist in the model: a file-backed
            // MAP_HUGETLB names some other file.
            if flags & MAP_HUGETLB != 0 && !is_file_hugepages(Some(file)) {
                return Err(Errno::EINVAL);
            }
            (Some(file), len)
        } else if flags & MAP_HUGETLB != 0 {
            let (f, len) = self.anon_hugetlb_file(flags, len)?;
            huge_file = f;
            (Some(&huge_file), len)
        } else {
            (None, len)
        };
        let (addr, populate) = self.do_mmap(file, addr, len, prot, flags, offset >> PAGE_SHIFT)?;
        if let Some(len) = populate {
            self.populate(addr, len);
        }
        Ok(addr)
    }

    /// `do_mmap`. Returns the address and, when the mapping must be
    /// populated (`MAP_POPULATE`, `VM_LOCKED`), its length.
    pub(crate) fn do_mmap(
        &mut self,
        file: Option<&File>,
        mut addr: u64,
        len: u64,
        prot: u32,
        mut flags: u32,
        mut pgoff: u64,
    ) -> KResult<(u64, Option<u64>)> {
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 {
            flags |= MAP_FIXED;
        }
        if flags & MAP_FIXED == 0 {
            addr &= !(PAGE_SIZE - 1);
            if addr != 0 && addr < self.config.mmap_min_addr {
                addr = page_align(self.config.mmap_min_addr).unwrap_or(0);
            }
        }
        let len = match page_align(len) {
            Some(l) if l != 0 => l,
            _ => return Err(Errno::ENOMEM),
        };
        if pgoff.checked_add(len >> PAGE_SHIFT).is_none() {
            return Err(Errno::EOVERFLOW);
        }
        if self.map_count() > self.config.max_map_count {
            return Err(Errno::ENOMEM);
        }
        // The execute-only key is taken before the address is chosen since
        // 6.10, after it (and after MAP_FIXED_NOREPLACE's check) before.
        let pkey_first = self.config.exec_pkey_before_placement_6_10();
        let pkey = if prot == PROT_EXEC && pkey_first {
            self.execute_only_pkey().unwrap_or(0)
        } else {
            0
        };
        let mut vm_flags = prot_to_flags(prot, pkey)
            | map_to_flags(
                flags,
                self.config.transparent_hugepage && self.config.map_stack_nohugepage_6_7(),
            )
            | self.process.def_flags
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::MAYEXEC;
        addr = self.get_unmapped_area(file, addr, len, pgoff, flags, vm_flags)?;
        if addr < self.config.mmap_min_addr && !self.config.cap_sys_rawio {
            return Err(Errno::EPERM);
        }
        if flags & MAP_FIXED_NOREPLACE != 0
            && self.find_vma_intersection(addr, addr + len).is_some()
        {
            return Err(Errno::EEXIST);
        }
        if prot == PROT_EXEC && !pkey_first {
            vm_flags |= prot_to_flags(0, self.execute_only_pkey().unwrap_or(0));
        }
        if flags & MAP_LOCKED != 0 && !self.can_do_mlock() {
            return Err(Errno::EPERM);
        }
        if !self.mlock_future_ok(vm_flags, len) {
            return Err(Errno::EAGAIN);
        }
        // What do_mmap decides to populate: the flags before any hook.
        let populate = vm_flags.contains(VmFlags::LOCKED)
            || flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE;
        match file {
            Some(f) => {
                self.file_mapping_flags(f, pgoff, len, prot, flags, &mut vm_flags)?;
                if self.config.memfd_seals_checked_in_do_mmap_6_12() {
                    f.check_write_seal(&mut vm_flags)?;
                }
                if f.inner().secretmem {
                    self.secretmem_mmap(len, &mut vm_flags)?;
                }
            }
            None => match flags & MAP_TYPE {
                MAP_SHARED => {
                    if vm_flags.contains(VmFlags::GROWSDOWN) {
                        return Err(Errno::EINVAL);
                    }
                    pgoff = 0;
                    vm_flags |= VmFlags::SHARED | VmFlags::MAYSHARE;
                }
                MAP_DROPPABLE if self.config.map_droppable_6_11() => {
                    if flags & (MAP_LOCKED | MAP_HUGETLB) != 0
                        || vm_flags.contains(VmFlags::GROWSDOWN)
                    {
                        return Err(Errno::EINVAL);
                    }
                    vm_flags |= VmFlags::DROPPABLE
                        | VmFlags::NORESERVE
                        | VmFlags::WIPEONFORK
                        | VmFlags::DONTDUMP;
                    pgoff = addr >> PAGE_SHIFT;
                }
                MAP_PRIVATE => pgoff = addr >> PAGE_SHIFT,
                _ => return Err(Errno::EINVAL),
            },
        }
        // hugetlb applies strict overcommit unless MAP_NORESERVE, which it
        // honours whatever the overcommit policy.
        if flags & MAP_NORESERVE != 0
            && (self.config.overcommit != Overcommit::Never || is_file_hugepages(file))
        {
            vm_flags |= VmFlags::NORESERVE;
        }
        // mmap_zero: a shared mapping of /dev/zero becomes a new shmem
        // object, as a shared anonymous one would, but keeps its offset.
        let file = file
            .filter(|f| f.inner().kind != FileKind::DevZero || !vm_flags.contains(VmFlags::SHARED));
        let merge_any = self.ksm_flags(vm_flags);
        let addr = if self.ksm_flags_early(file) || merge_any == vm_flags {
            self.core()
                .mmap_region(file.cloned(), addr, len, merge_any, pgoff)?
        } else {
            // Before 6.16 (and for a driver's own mmap hook) a new VMA
            // became mergeable only once it was made, by `ksm_add_vma`; a
            // mapping that merged into a neighbour stays as that was.
            let addr = self
                .core()
                .mmap_region(file.cloned(), addr, len, vm_flags, pgoff)?;
            if let Some(v) = self.vma_at(addr) {
                let made = self.vma(v).start == addr && self.vma(v).end == addr + len;
                if made {
                    self.vma_mut(v).flags |= VmFlags::MERGEABLE;
                }
            }
            addr
        };
        Ok((addr, populate.then_some(len)))
    }

    /// `secretmem_mmap_prepare` (`secretmem_mmap` before 6.16): shared
    /// mappings only (EINVAL), within the locked-memory limit as if
    /// locked (EAGAIN), and locked and not dumped -- or, on builds that
    /// charge faulted pages instead ([`crate::Config::secretmem_locks_vma`]
    /// off), only not dumped (the charge at fault time is not modelled). Here the hook runs
    /// before the merge attempt and before a fixed mapping unmaps what it
    /// replaces, as it does since 6.16; before, it ran after both and a
    /// failure left a hole, and a changed VMA was offered to its
    /// neighbours again (same result for the cases the scenarios have).
    fn secretmem_mmap(&self, len: u64, vm_flags: &mut VmFlags) -> KResult<()> {
        if !vm_flags.intersects(VmFlags::SHARED | VmFlags::MAYSHARE) {
            return Err(Errno::EINVAL);
        }
        if !self.config.secretmem_locks_vma {
            // The pages are charged when they fault in instead.
            *vm_flags |= VmFlags::DONTDUMP;
            return Ok(());
        }
        if !self.mlock_future_ok(*vm_flags | VmFlags::LOCKED, len) {
            return Err(Errno::EAGAIN);
        }
        *vm_flags |= VmFlags::LOCKED | VmFlags::DONTDUMP;
        Ok(())
    }

    /// The file half of `do_mmap`: mapping type, access mode, offsets.
    fn file_mapping_flags(
        &self,
        file: &File,
        pgoff: u64,
        len: u64,
        prot: u32,
        flags: u32,
        vm_flags: &mut VmFlags,
    ) -> KResult<()> {
        let f = file.inner();
        // Regular files may be mapped up to MAX_LFS_FILESIZE.
        let maxsize = i64::MAX as u64;
        if len > maxsize || pgoff > (maxsize - len) >> PAGE_SHIFT {
            return Err(Errno::EOVERFLOW);
        }
        let ty = flags & MAP_TYPE;
        if ty == MAP_SHARED || ty == MAP_SHARED_VALIDATE {
            let checked = if ty == MAP_SHARED {
                flags & LEGACY_MAP_MASK
            } else {
                flags
            };
            if checked & !LEGACY_MAP_MASK != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            if prot & PROT_WRITE != 0 && !f.writable {
                return Err(Errno::EACCES);
            }
            *vm_flags |= VmFlags::SHARED | VmFlags::MAYSHARE;
            if !f.writable {
                vm_flags.remove(VmFlags::MAYWRITE | VmFlags::SHARED);
            }
        } else if ty != MAP_PRIVATE {
            return Err(Errno::EINVAL);
        }
        if !f.readable {
            return Err(Errno::EACCES);
        }
        // path_noexec: memfd_secret's mount, and in newer kernels sockfs
        // and pipefs.
        if f.secretmem || (f.pseudo_fs && self.config.pseudo_fs_noexec_6_18()) {
            if vm_flags.contains(VmFlags::EXEC) {
                return Err(Errno::EPERM);
            }
            vm_flags.remove(VmFlags::MAYEXEC);
        }
        if !f.has_mmap {
            return Err(Errno::ENODEV);
        }
        if vm_flags.contains(VmFlags::GROWSDOWN) {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// `can_set_ksm_flags_early`: whether a new mapping is made
    /// KSM-mergeable before it tries to merge -- since 6.16, unless a
    /// driver's `mmap` hook could still change it (here `/dev/zero` before
    /// 6.19).
    fn ksm_flags_early(&self, file: Option<&File>) -> bool {
        let hooked = file.is_some_and(|f| {
            f.inner().kind == FileKind::DevZero && !self.config.dev_zero_mmap_prepare_6_19()
        });
        self.config.ksm_flags_before_merge_6_16() && !hooked
    }

    /// `ksm_vma_flags`: with `PR_SET_MEMORY_MERGE`, new anonymous and
    /// shmem-free private mappings are born KSM-mergeable.
    fn ksm_flags(&self, flags: VmFlags) -> VmFlags {
        if self.process.merge_any && self.config.ksm && super::ksm_should_add_vma(flags) {
            flags | VmFlags::MERGEABLE
        } else {
            flags
        }
    }

    /// `execute_only_pkey`: with protection keys, `PROT_EXEC`-only memory
    /// gets a key of its own (the lowest free one, allocated once).
    pub(crate) fn execute_only_pkey(&mut self) -> Option<u32> {
        if !self.config.pkeys_enabled() {
            return None;
        }
        if let Some(k) = self.process.execute_only_pkey {
            return Some(k);
        }
        // The lowest free key -- even key 0, if the process freed it (the
        // thread then loses access to all its ordinary memory).
        let free = (0..16).find(|k| self.process.pkeys_allocated & (1 << k) == 0)?;
        self.process.pkeys_allocated |= 1 << free;
        self.process.execute_only_pkey = Some(free);
        self.process.pkey_rights[free as usize] = 1;
        Some(free)
    }

    /// `can_do_mlock`: a non-zero `RLIMIT_MEMLOCK` or `CAP_IPC_LOCK`.
    pub(crate) fn can_do_mlock(&self) -> bool {
        self.config.rlimits.memlock != 0 || self.config.cap_ipc_lock
    }

    /// `mlock_future_ok`: locking `bytes` more stays within `RLIMIT_MEMLOCK`.
    pub(crate) fn mlock_future_ok(&self, flags: VmFlags, bytes: u64) -> bool {
        if !flags.contains(VmFlags::LOCKED) || self.config.cap_ipc_lock {
            return true;
        }
        let pages = (bytes >> PAGE_SHIFT).saturating_add(self.stats().locked_vm);
        pages <= self.config.rlimits.memlock >> PAGE_SHIFT
    }

    /// `munmap(addr, len)`.
    pub fn munmap(&mut self, addr: u64, len: u64) -> KResult<()> {
        self.core().do_munmap(addr, len)
    }
}
