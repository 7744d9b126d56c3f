// SPDX-License-Identifier: GPL-2.0-or-later
//! SysV shared memory (ipc/shm.c) as the VMA layer sees it: `shmat` maps
//! a segment's shmem object through a file of its own (so attaches never
//! merge with one another), shared, at an address the caller names or the
//! kernel picks; `shmdt` unmaps what one attach left at an address,
//! including the pieces mprotect, munmap or mremap cut it into.

use super::consts::*;
use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::File;
use crate::mm::Mm;
use crate::vma::Vma;

/// `SHMLBA` on x86: attach addresses are page aligned.
const SHMLBA: u64 = PAGE_SIZE;

/// Whether `v` is a piece of an attach made at `addr`: a SysV VMA whose
/// file offset is its distance from `addr` (the distance wraps for a VMA
/// that starts below `addr`, so such a VMA never matches).
fn piece_of(v: &Vma, addr: u64) -> bool {
    v.is_sysv_shm() && v.start.wrapping_sub(addr) / PAGE_SIZE == v.pgoff
}

impl<E: Env> Mm<E> {
    /// `shmat(shmid, addr, shmflg)` (`do_shmat`) on `segment`, the segment
    /// the id names (`None`, or a file that is no segment: an invalid id).
    ///
    /// A non-zero `addr` must be page aligned unless `SHM_RND` rounds it
    /// down (to a non-zero address if `SHM_REMAP`), and makes the mapping
    /// fixed; `SHM_REMAP` needs an address. All EINVAL, checked before the
    /// id. The whole segment is mapped shared, readable, writable unless
    /// `SHM_RDONLY` (whose file is then read-only: no `VM_MAYWRITE`, no
    /// `VM_SHARED`), executable with `SHM_EXEC`. Without `SHM_REMAP` an
    /// address whose range wraps or meets any mapping is EINVAL; the rest
    /// is `mmap`'s (placement, map count, locking, populating under
    /// `mlockall(MCL_FUTURE)`). Segments here are made with mode 0700, so
    /// the permission check always passes.
    pub fn shmat(&mut self, segment: Option<&File>, addr: u64, shmflg: u32) -> KResult<u64> {
        let mut addr = addr;
        let mut flags = MAP_SHARED;
        let remap = shmflg & SHM_REMAP != 0;
        if addr != 0 {
            if addr & (SHMLBA - 1) != 0 {
                if shmflg & SHM_RND == 0 {
                    return Err(Errno::EINVAL);
                }
                addr &= !(SHMLBA - 1);
                if addr == 0 && remap {
                    return Err(Errno::EINVAL);
                }
            }
            flags |= MAP_FIXED;
        } else if remap {
            return Err(Errno::EINVAL);
        }
        let segment = segment
            .filter(|f| f.inner().sysv_segment)
            .ok_or(Errno::EINVAL)?;
        let read_only = shmflg & SHM_RDONLY != 0;
        let mut prot = if read_only {
            PROT_READ
        } else {
            PROT_READ | PROT_WRITE
        };
        if shmflg & SHM_EXEC != 0 {
            prot |= PROT_EXEC;
        }
        let size = segment.size_bytes();
        let file = segment.shm_attach(!read_only);
        if addr != 0 && !remap {
            let end = addr.wrapping_add(size);
            if end < addr || self.find_vma_intersection(addr, end).is_some() {
                return Err(Errno::EINVAL);
            }
        }
        let (at, populate) = self.do_mmap(Some(&file), addr, size, prot, flags, 0)?;
        if let Some(len) = populate {
            self.populate(at, len);
        }
        Ok(at)
    }

    /// `shmdt(addr)`: `addr` must be page aligned. The first SysV VMA at
    /// or above `addr` whose offset in its segment is its distance from
    /// `addr` is unmapped whole; then every later VMA of the same attach
    /// (the same file) that fits, offset likewise, within the segment's
    /// size from `addr`. EINVAL if no VMA matched; the unmaps' own errors
    /// are ignored.
    pub fn shmdt(&mut self, addr: u64) -> KResult<()> {
        if addr & (PAGE_SIZE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let mut at = addr;
        let mut first = None;
        while let Some(id) = self.find_vma(at) {
            let v = self.vma(id);
            if piece_of(v, addr) {
                first = Some((v.file.clone(), v.start, v.end));
                break;
            }
            at = v.end;
        }
        let (file, start, end) = first.ok_or(Errno::EINVAL)?;
        let size = file.as_ref().map_or(0, File::size_bytes);
        let size = size.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE) as i64;
        let _ = self.munmap(start, end - start);
        let mut at = end;
        while let Some(id) = self.find_vma(at) {
            let v = self.vma(id);
            if v.end.wrapping_sub(addr) as i64 > size {
                break;
            }
            let (start, end) = (v.start, v.end);
            if piece_of(v, addr) && v.file == file {
                let _ = self.munmap(start, end - start);
            }
            at = end;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use crate::config::{Config, KernelVersion, PAGE_SIZE};
    use crate::errno::Errno;
    use crate::file::File;
    use crate::sys::consts::*;
    use crate::{Mm, VmFlags};

    const P: u64 = PAGE_SIZE;
    const BASE: u64 = 0x1000_0000_0000;

    fn pieces(mm: &Mm) -> Vec<(u64, u64, u64)> {
        mm.vmas()
            .map(|(_, v)| ((v.start - BASE) / P, (v.end - BASE) / P, v.pgoff))
            .collect()
    }

    #[test]
    fn attaches_are_shared_and_never_merge_with_each_other() {
        let mut mm = Mm::new(Config::linux_6_18());
        let seg = File::sysv_segment(0, 4 * P);
        assert_eq!(mm.shmat(Some(&seg), BASE, 0), Ok(BASE));
        assert_eq!(mm.shmat(Some(&seg), BASE + 4 * P, 0), Ok(BASE + 4 * P));
        assert_eq!(pieces(&mm), [(0, 4, 0), (4, 8, 0)]);
        let v = mm.get(mm.vma_at(BASE).unwrap()).unwrap();
        assert!(v
            .flags
            .contains(VmFlags::SHARED | VmFlags::MAYSHARE | VmFlags::WRITE));
        assert_eq!(
            v.file.as_ref().unwrap().inner().path,
            "/SYSV00000000 (deleted)"
        );
        // Overlap, an unaligned address, SHM_REMAP without one, no segment.
        assert_eq!(mm.shmat(Some(&seg), BASE + 2 * P, 0), Err(Errno::EINVAL));
        assert_eq!(mm.shmat(Some(&seg), BASE + 9, 0), Err(Errno::EINVAL));
        assert_eq!(mm.shmat(Some(&seg), 0, SHM_REMAP), Err(Errno::EINVAL));
        assert_eq!(mm.shmat(None, BASE + 10 * P, 0), Err(Errno::EINVAL));
        assert_eq!(
            mm.shmat(Some(&seg), BASE + 10 * P + 9, SHM_RND),
            Ok(BASE + 10 * P)
        );
        // A read-only attach may not become writable.
        let at = BASE + 20 * P;
        assert_eq!(mm.shmat(Some(&seg), at, SHM_RDONLY), Ok(at));
        assert_eq!(
            mm.mprotect(at, P, PROT_READ | PROT_WRITE),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn detach_takes_every_piece_of_the_attach_within_its_size() {
        let mut mm = Mm::new(Config::linux_6_18());
        let seg = File::sysv_segment(0, 4 * P);
        mm.shmat(Some(&seg), BASE, 0).unwrap();
        mm.mprotect(BASE + P, P, PROT_READ).unwrap();
        mm.munmap(BASE, P).unwrap();
        assert_eq!(pieces(&mm), [(1, 2, 1), (2, 4, 2)]);
        assert_eq!(mm.shmdt(BASE + P), Err(Errno::EINVAL));
        assert_eq!(mm.shmdt(BASE + 1), Err(Errno::EINVAL));
        assert_eq!(mm.shmdt(BASE), Ok(()));
        assert!(pieces(&mm).is_empty());
        assert_eq!(mm.shmdt(BASE), Err(Errno::EINVAL));
        // A piece grown past the segment's size from the address stays.
        mm.shmat(Some(&seg), BASE, 0).unwrap();
        mm.mprotect(BASE, P, PROT_READ).unwrap();
        mm.mremap(BASE + P, 3 * P, 5 * P, 0, 0).unwrap();
        assert_eq!(mm.shmdt(BASE), Ok(()));
        assert_eq!(pieces(&mm), [(1, 6, 1)]);
    }

    #[test]
    fn before_6_4_pieces_of_an_attach_do_not_merge_again() {
        let v6_1 = KernelVersion::parse("6.1").unwrap();
        for (config, merged) in [(Config::linux(v6_1), false), (Config::linux_6_18(), true)] {
            let mut mm = Mm::new(config);
            let seg = File::sysv_segment(0, 4 * P);
            mm.shmat(Some(&seg), BASE, 0).unwrap();
            mm.mprotect(BASE + 2 * P, 2 * P, PROT_READ).unwrap();
            mm.mprotect(BASE + 2 * P, P, PROT_READ | PROT_WRITE)
                .unwrap();
            let want: &[(u64, u64, u64)] = if merged {
                &[(0, 3, 0), (3, 4, 3)]
            } else {
                &[(0, 2, 0), (2, 3, 2), (3, 4, 3)]
            };
            assert_eq!(pieces(&mm), want);
            // Growing in place works either way.
            mm.munmap(BASE + 3 * P, P).unwrap();
            let last = if merged { 0 } else { 2 };
            let len = 3 - last;
            assert_eq!(
                mm.mremap(BASE + last * P, len * P, (len + 1) * P, 0, 0),
                Ok(BASE + last * P)
            );
            assert_eq!(pieces(&mm).last(), Some(&(last, 4, last)));
        }
    }
}
