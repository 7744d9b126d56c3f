// SPDX-License-Identifier: GPL-2.0-or-later
//! What `touch read` returns in the model. Page contents are not part of
//! the VMA model, so this tracks only what scenarios observe: a byte is 1
//! where it was written and 0 elsewhere, with the kernel's sharing rules --
//! file and shared-memory pages belong to their file (seen through every
//! shared mapping of it, and through private mappings until they copy the
//! page on write), private anonymous and copied pages belong to the
//! process (inherited by a fork child, dropped when unmapped).

use std::collections::BTreeSet;

use vma::{Env, Mm, VmFlags};

/// Written bytes of files, by `(inode, byte offset in the file)`; shared
/// by every process of a run.
#[derive(Clone, Debug, Default)]
pub struct FileContent(BTreeSet<(u64, u64)>);

/// One process's private memory.
#[derive(Clone, Debug, Default)]
pub struct Content {
    /// Written bytes of private pages, by address.
    bytes: BTreeSet<u64>,
    /// Pages (by address) that hold a private copy: anonymous pages once
    /// written, file pages once copied on write.
    pages: BTreeSet<u64>,
}

/// Where a byte lives: in the process, or in a file.
enum Home {
    Private(u64),
    File(u64, u64),
}

impl Content {
    fn home<E: Env>(&self, mm: &Mm<E>, addr: u64, page: u64) -> Option<Home> {
        let v = mm.get(mm.vma_at(addr)?).unwrap();
        let page_addr = addr & !(page - 1);
        match &v.file {
            Some(f) if v.flags.contains(VmFlags::SHARED) || !self.pages.contains(&page_addr) => {
                let off = v.pgoff * page + (addr - v.start);
                Some(Home::File(f.inner().ino, off))
            }
            _ => Some(Home::Private(addr)),
        }
    }

    /// Forgets what the kernel has thrown away since: private pages whose
    /// page-table entry is gone (munmap, MADV_DONTNEED, guard install) and
    /// file pages the file no longer has (MADV_REMOVE), as `vma` tracks them.
    /// Pages the kernel copied on a write fault that no touch made -- a
    /// populate (MAP_POPULATE, MADV_POPULATE_WRITE, mlock) writes private
    /// writable memory -- take the file's bytes now: file contents change
    /// only through touches, each preceded by a sync, so they are still
    /// what the copy saw.
    pub fn sync<E: Env>(&mut self, mm: &Mm<E>, files: &mut FileContent, page: u64) {
        let present = mm.pages();
        for p in present.private_copies() {
            if !self.pages.contains(&p) {
                self.copy_file_page(mm, files, p, page);
            }
        }
        self.pages.retain(|&p| present.is_mapped(p));
        let pages = &self.pages;
        self.bytes
            .retain(|&a| pages.contains(&(a & !(page - 1))) || present.is_mapped(a & !(page - 1)));
        files
            .0
            .retain(|&(ino, off)| present.is_cached(ino, off / page));
    }

    /// A successful write access stores 1 (a private write to a file page
    /// first copies the page).
    pub fn write<E: Env>(&mut self, mm: &Mm<E>, files: &mut FileContent, addr: u64, page: u64) {
        let Some(id) = mm.vma_at(addr) else { return };
        let v = mm.get(id).unwrap();
        let page_addr = addr & !(page - 1);
        if !v.flags.contains(VmFlags::SHARED) && !self.pages.contains(&page_addr) {
            self.copy_file_page(mm, files, page_addr, page);
        }
        match self.home(mm, addr, page) {
            Some(Home::Private(a)) => {
                self.bytes.insert(a);
            }
            Some(Home::File(ino, off)) => {
                files.0.insert((ino, off));
            }
            None => {}
        }
    }

    /// The private page at `page_addr` starts as a copy of what its file
    /// holds there (nothing to copy for anonymous memory).
    fn copy_file_page<E: Env>(
        &mut self,
        mm: &Mm<E>,
        files: &FileContent,
        page_addr: u64,
        page: u64,
    ) {
        let v = mm.vma_at(page_addr).and_then(|id| mm.get(id));
        if let Some((v, f)) = v.and_then(|v| Some((v, v.file.as_ref()?))) {
            let off = v.pgoff * page + (page_addr - v.start);
            let ino = f.inner().ino;
            for (_, b) in files.0.range((ino, off)..(ino, off + page)) {
                self.bytes.insert(page_addr + (b - off));
            }
        }
        self.pages.insert(page_addr);
    }

    /// The byte a successful read access returns.
    pub fn read<E: Env>(
        &mut self,
        mm: &Mm<E>,
        files: &mut FileContent,
        addr: u64,
        page: u64,
    ) -> i64 {
        match self.home(mm, addr, page) {
            Some(Home::Private(a)) => i64::from(self.bytes.contains(&a)),
            Some(Home::File(ino, off)) => i64::from(files.0.contains(&(ino, off))),
            None => 0,
        }
    }

    /// Forgets the private memory of `[start, end)` (new or discarded).
    pub fn clear(&mut self, start: u64, end: u64) {
        let gone: Vec<u64> = self.bytes.range(start..end).copied().collect();
        for a in gone {
            self.bytes.remove(&a);
        }
        let gone: Vec<u64> = self.pages.range(start..end).copied().collect();
        for a in gone {
            self.pages.remove(&a);
        }
    }

    /// Moves the private memory of `[from, from + len)` for which `moved`
    /// holds to the same offsets from `to` (mremap carries the pages).
    pub fn relocate(&mut self, from: u64, len: u64, to: u64, moved: impl Fn(u64) -> bool) {
        let end = from.saturating_add(len);
        let shift = |a: u64| to.wrapping_add(a - from);
        for set in [&mut self.bytes, &mut self.pages] {
            let going: Vec<u64> = set
                .range(from..end)
                .copied()
                .filter(|&a| moved(a))
                .collect();
            for a in &going {
                set.remove(a);
            }
            set.extend(going.into_iter().map(shift));
        }
    }

    /// Keeps only the private memory at addresses for which `keep` holds.
    pub fn retain(&mut self, keep: impl Fn(u64) -> bool) {
        self.bytes.retain(|&a| keep(a));
        self.pages.retain(|&a| keep(a));
    }
}
