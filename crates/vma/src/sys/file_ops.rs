//! What system calls on a mapped file do to the address spaces that map
//! it: `ftruncate`, `fallocate(FALLOC_FL_PUNCH_HOLE)` (and `MADV_REMOVE`,
//! which is one), `pwrite`, and the memfd seals of `fcntl(F_ADD_SEALS)`.
//! The file's own checks and size live on [`File`]; each address space
//! that maps the file then drops the page-table entries of pages that
//! left it, as `unmap_mapping_range` does for every mapping of the file.

use crate::config::PAGE_SHIFT;
use crate::env::Env;
use crate::errno::KResult;
use crate::file::File;
use crate::flags::VmFlags;
use crate::mm::Mm;

impl<E: Env> Mm<E> {
    /// `file` shrank to `pages` pages (`truncate_pagecache`): every page
    /// of it at or past `pages` leaves the cache and every mapping here,
    /// private copies of them included (`even_cows`).
    pub fn file_truncated(&mut self, file: &File, pages: u64) {
        self.drop_file_pages(file, pages, u64::MAX, true);
    }

    /// A hole was punched over the pages `[first, last)` of `file`: they
    /// leave the cache and the mappings that show the file's page, while
    /// private copies made from them stay.
    pub fn file_hole_punched(&mut self, file: &File, first: u64, last: u64) {
        self.drop_file_pages(file, first, last, false);
    }

    /// Pages `[first, last)` of shmem file `file` were written through the
    /// file: they exist now (a later userfaultfd minor fault sees them).
    pub fn file_written(&mut self, file: &File, first: u64, last: u64) {
        if is_shmem(file) && first < last {
            self.pages.cache(file.inner().ino, first, last);
        }
    }

    /// Whether a VMA here maps `file` shared and may make it writable
    /// (`vma_is_shared_maywrite`): such a mapping holds the file's
    /// `i_mmap_writable` count, which `F_SEAL_WRITE` must find at zero.
    pub fn maps_file_writably(&self, file: &File) -> bool {
        self.vmas().any(|(_, v)| {
            same_inode(v.file.as_ref(), file)
                && v.flags.contains(VmFlags::SHARED | VmFlags::MAYWRITE)
        })
    }

    /// `fcntl(fd, F_ADD_SEALS, seals)` on a file this process has open;
    /// `mapped_writably_elsewhere` says whether another process maps it
    /// shared and writable. The seals this kernel knows are the only
    /// ones accepted (see [`crate::Config::memfd_seals`]).
    pub fn add_file_seals(
        &self,
        file: &File,
        seals: u32,
        mapped_writably_elsewhere: bool,
    ) -> KResult<()> {
        let writably = mapped_writably_elsewhere || self.maps_file_writably(file);
        file.add_seals(seals, self.config.memfd_seals(), writably)
    }

    /// Drops pages `[first, last)` of `file` from the cache and from every
    /// VMA here that maps them; private copies only if `even_cows`.
    fn drop_file_pages(&mut self, file: &File, first: u64, last: u64, even_cows: bool) {
        if first >= last {
            return;
        }
        if is_shmem(file) {
            self.pages.uncache(file.inner().ino, first, last);
        }
        let spans: alloc::vec::Vec<(u64, u64, bool)> = self
            .vmas()
            .filter(|(_, v)| same_inode(v.file.as_ref(), file))
            .filter_map(|(_, v)| {
                let vma_last = v.pgoff.saturating_add(v.pages());
                let (lo, hi) = (first.max(v.pgoff), last.min(vma_last));
                (lo < hi).then(|| {
                    let start = v.start + ((lo - v.pgoff) << PAGE_SHIFT);
                    let end = v.start + ((hi - v.pgoff) << PAGE_SHIFT);
                    (start, end, v.flags.contains(VmFlags::SHARED))
                })
            })
            .collect();
        for (start, end, shared) in spans {
            if shared || even_cows {
                self.zap(start, end);
                continue;
            }
            // A private mapping keeps the pages it copied; the others show
            // the file's page, which is gone.
            let mut shown = self.pages.mapped().slice(start, end);
            for (s, e) in self.pages.copied().slice(start, end).iter() {
                shown.remove(s, e);
            }
            for (s, e) in shown.iter() {
                self.zap(s, e);
            }
        }
    }
}

/// Whether `mapped` is `file` or another open file of its inode (each
/// SysV attach opens the segment anew): what happens to the inode's pages
/// reaches every mapping of it.
fn same_inode(mapped: Option<&File>, file: &File) -> bool {
    mapped.is_some_and(|m| m == file || m.inner().ino == file.inner().ino)
}

/// Whether the file's pages live in the page cache of a shmem object.
fn is_shmem(file: &File) -> bool {
    let f = file.inner();
    f.kind == crate::file::FileKind::Shmem || f.anon_shmem
}
