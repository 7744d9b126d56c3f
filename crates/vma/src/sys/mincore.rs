// SPDX-License-Identifier: GPL-2.0-or-later
//! `mincore(2)` (mm/mincore.c): which pages of a range are resident, as
//! far as the page presence `sys::pages` tracks tells. A mapped page is
//! resident; an unmapped page of a file mapping is resident when the file
//! has the page; an unmapped anonymous page is not. Hugetlb mappings
//! answer per huge page.

use alloc::vec::Vec;

use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::mm::Mm;

impl<E: Env> Mm<E> {
    /// `mincore(start, len)`: one entry per page, true where resident.
    /// The start must be page aligned (EINVAL); the whole range must be
    /// mapped, VMA after VMA without a hole (ENOMEM).
    pub fn mincore(&self, start: u64, len: u64) -> KResult<Vec<bool>> {
        if start % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        // access_ok: the range must lie below the top of user space.
        let last = start
            .checked_add(len)
            .filter(|&e| e <= self.config.task_size)
            .ok_or(Errno::ENOMEM)?;
        let end = last.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let mut out = Vec::new();
        let mut at = start;
        while at < end {
            let v = self
                .vma_at(at)
                .and_then(|id| self.get(id))
                .ok_or(Errno::ENOMEM)?;
            let stop = v.end.min(end);
            let huge = crate::sys::hugetlb::vma_huge_page_size(v);
            for page in (at..stop).step_by(PAGE_SIZE as usize) {
                let probe = match huge {
                    Some(size) => page & !(size - 1),
                    None => page,
                };
                let mapped = self.pages.is_mapped(probe);
                let cached = || match &v.file {
                    Some(f) => {
                        let pgoff = v.pgoff + (page - v.start) / PAGE_SIZE;
                        if self.pages.is_cache_unsettled(f.inner().ino, pgoff) {
                            self.pages.note_undetermined();
                        }
                        self.pages.is_cached(f.inner().ino, pgoff)
                    }
                    None => false,
                };
                if self.pages.is_unsettled(probe) {
                    self.pages.note_undetermined();
                }
                out.push(mapped || cached());
            }
            at = stop;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::sys::consts::*;
    use crate::{Access, Config, Errno, Mm};

    const P: u64 = crate::config::PAGE_SIZE;

    #[test]
    fn faulted_pages_are_resident() {
        let mut mm = Mm::new(Config::linux_6_18());
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        mm.mmap(0x10000, 4 * P, PROT_READ | PROT_WRITE, flags, None, 0)
            .unwrap();
        mm.fault(0x10000 + P, Access::Write).unwrap();
        assert_eq!(
            mm.mincore(0x10000, 4 * P),
            Ok(alloc::vec![false, true, false, false])
        );
        assert_eq!(mm.mincore(0x10001, P), Err(Errno::EINVAL));
        assert_eq!(mm.mincore(0x10000, 5 * P), Err(Errno::ENOMEM));
        assert_eq!(mm.mincore(0x10000, 0), Ok(alloc::vec![]));
    }
}
