// SPDX-License-Identifier: GPL-2.0-or-later
//! `remap_file_pages(2)` (mm/mmap.c): the deprecated call survives as an
//! emulation that maps the range again, shared and populated, at another
//! file offset. Nonlinear mappings are gone since 4.0; what is left is an
//! argument check, a check that the range lies in shared mappings of one
//! file with one set of flags, and an `mmap(MAP_FIXED)` over it.

use super::consts::*;
use crate::config::{PAGE_SHIFT, PAGE_SIZE};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;

impl<E: Env> Mm<E> {
    /// `remap_file_pages(start, size, prot, pgoff, flags)`.
    ///
    /// `prot` must be 0 (the new mapping keeps the VMA's read, write and
    /// execute permissions); `start` and `size` are rounded down to pages,
    /// and an empty or wrapping range, or a page offset whose range wraps,
    /// is EINVAL. The VMA at `start` must be shared (`VM_SHARED`: a shared
    /// mapping of a file opened for writing, or shared anonymous memory),
    /// and the range may reach into following VMAs only if they adjoin it
    /// without a hole and have the same file and flags (EINVAL otherwise).
    /// Then the range is mapped anew with `MAP_SHARED|MAP_FIXED|
    /// MAP_POPULATE` (plus `MAP_LOCKED` if the VMA is locked, and the
    /// caller's `MAP_NONBLOCK`, which skips the populate) at `pgoff`, with
    /// that mapping's errors (EOVERFLOW for an offset past the largest
    /// file, EAGAIN over the lock limit, EPERM on sealed memory, ...).
    pub fn remap_file_pages(
        &mut self,
        start: u64,
        size: u64,
        prot: u64,
        pgoff: u64,
        flags: u64,
    ) -> KResult<()> {
        if prot != 0 {
            return Err(Errno::EINVAL);
        }
        let start = start & !(PAGE_SIZE - 1);
        let size = size & !(PAGE_SIZE - 1);
        let end = match start.checked_add(size) {
            Some(end) if end > start => end,
            _ => return Err(Errno::EINVAL),
        };
        if pgoff.checked_add(size >> PAGE_SHIFT).is_none() {
            return Err(Errno::EINVAL);
        }
        let vma = self.vma_at(start).ok_or(Errno::EINVAL)?;
        let v = self.vma(vma);
        let vm_flags = v.flags;
        if !vm_flags.contains(VmFlags::SHARED) {
            return Err(Errno::EINVAL);
        }
        let file = v.file.clone().ok_or(Errno::EINVAL)?;
        // Every VMA the range reaches into: adjoining, same file, same
        // flags, and one of them must reach its end.
        let mut reached = v.end;
        while reached < end {
            let next = self.vma_at(reached).ok_or(Errno::EINVAL)?;
            let n = self.vma(next);
            if n.file.as_ref() != Some(&file) || n.flags != vm_flags {
                return Err(Errno::EINVAL);
            }
            reached = n.end;
        }
        let mut prot = 0;
        for (flag, bit) in [
            (VmFlags::READ, PROT_READ),
            (VmFlags::WRITE, PROT_WRITE),
            (VmFlags::EXEC, PROT_EXEC),
        ] {
            if vm_flags.contains(flag) {
                prot |= bit;
            }
        }
        let mut map_flags = (flags as u32 & MAP_NONBLOCK) | MAP_SHARED | MAP_FIXED | MAP_POPULATE;
        if vm_flags.contains(VmFlags::LOCKED) {
            map_flags |= MAP_LOCKED;
        }
        let (addr, populate) = self.do_mmap(Some(&file), start, size, prot, map_flags, pgoff)?;
        if let Some(len) = populate {
            self.populate(addr, len);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::config::{Config, PAGE_SIZE};
    use crate::errno::Errno;
    use crate::file::{File, FileKind};
    use crate::sys::consts::*;
    use crate::Mm;

    const P: u64 = PAGE_SIZE;
    const BASE: u64 = 0x1000_0000_0000;

    fn rw() -> u32 {
        PROT_READ | PROT_WRITE
    }

    #[test]
    fn maps_the_range_again_at_another_offset() {
        let mut mm = Mm::new(Config::linux_6_18());
        let f = File::new("f", 16, FileKind::Shmem, true, true);
        mm.mmap(BASE, 8 * P, rw(), MAP_SHARED | MAP_FIXED, Some(&f), 0)
            .unwrap();
        mm.remap_file_pages(BASE + 2 * P, P, 0, 5, 0).unwrap();
        let offs: Vec<(u64, u64, u64)> =
            mm.vmas().map(|(_, v)| (v.start, v.end, v.pgoff)).collect();
        assert_eq!(
            offs,
            [
                (BASE, BASE + 2 * P, 0),
                (BASE + 2 * P, BASE + 3 * P, 5),
                (BASE + 3 * P, BASE + 8 * P, 3)
            ]
        );
        // Back where it was: the three merge again.
        mm.remap_file_pages(BASE + 2 * P + 1, P + 7, 0, 2, 0)
            .unwrap();
        assert_eq!(mm.vmas().count(), 1);
        assert_eq!(
            mm.remap_file_pages(BASE, P, PROT_READ as u64, 1, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(mm.remap_file_pages(BASE, 0, 0, 1, 0), Err(Errno::EINVAL));
        assert_eq!(
            mm.remap_file_pages(BASE + 6 * P, 4 * P, 0, 1, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mm.remap_file_pages(BASE, P, 0, u64::MAX, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            mm.remap_file_pages(BASE, P, 0, 1 << 60, 0),
            Err(Errno::EOVERFLOW)
        );
        // Private mappings have no VM_SHARED.
        mm.mmap(
            BASE + 10 * P,
            4 * P,
            rw(),
            MAP_PRIVATE | MAP_FIXED,
            Some(&f),
            0,
        )
        .unwrap();
        assert_eq!(
            mm.remap_file_pages(BASE + 10 * P, P, 0, 1, 0),
            Err(Errno::EINVAL)
        );
        // The whole range over two VMAs of the file with the same flags.
        mm.remap_file_pages(BASE + 2 * P, P, 0, 9, 0).unwrap();
        mm.remap_file_pages(BASE, 8 * P, 0, 1, 0).unwrap();
        let first = mm.vmas().next().map(|(_, v)| (v.end, v.pgoff));
        assert_eq!(first, Some((BASE + 8 * P, 1)));
    }

    #[test]
    fn shared_anonymous_memory_is_its_shmem_object() {
        let mut mm = Mm::new(Config::linux_6_18());
        mm.mmap(
            BASE,
            4 * P,
            rw(),
            MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
        mm.remap_file_pages(BASE + P, P, 0, 3, 0).unwrap();
        let offs: Vec<u64> = mm.vmas().map(|(_, v)| v.pgoff).collect();
        assert_eq!(offs, [0, 3, 2]);
        assert_eq!(
            mm.remap_file_pages(BASE + 8 * P, P, 0, 3, 0),
            Err(Errno::EINVAL)
        );
    }
}
