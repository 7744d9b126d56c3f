// SPDX-License-Identifier: GPL-2.0-or-later
//! What `touch read` returns in the model. Page contents are not part of
//! the VMA model, so this tracks only what scenarios observe: a byte holds
//! the value last written there (`touch write ADDR VALUE`, 1 by default)
//! and 0 elsewhere, with the kernel's sharing rules --
//! file and shared-memory pages belong to their file (seen through every
//! shared mapping of it, and through private mappings until they copy the
//! page on write), private anonymous and copied pages belong to the
//! process (inherited by a fork child, dropped when unmapped).
//!
//! A write whose fault the model cannot decide (it depended on what
//! reclaim took) leaves its byte *unknown*: a later read of it is
//! undetermined rather than a guess.

use std::collections::{BTreeMap, BTreeSet};

use vma::sys::RangeSet;
use vma::{Env, Mm, VmFlags};

/// A written byte's value; `None` where the write may or may not have
/// happened.
pub type Byte = Option<u8>;

/// Written bytes of files, by `(inode, byte offset in the file)`, with
/// their values; shared by every process of a run.
#[derive(Clone, Debug, Default)]
pub struct FileContent(BTreeMap<(u64, u64), Byte>);

impl FileContent {
    /// A byte written through the file (`pwrite`).
    pub fn write(&mut self, ino: u64, off: u64, value: u8) {
        self.0.insert((ino, off), Some(value));
    }

    /// Page `[off, off + page)` of file `ino` is a new page holding
    /// exactly `bytes` (offsets into the page, values): a userfaultfd fill.
    pub fn fill(&mut self, ino: u64, off: u64, page: u64, bytes: &[(u64, Byte)]) {
        self.clear(ino, off, off + page);
        for &(o, v) in bytes {
            self.0.insert((ino, off + o), v);
        }
    }

    /// Bytes `[start, end)` of file `ino` read as zero again (truncated
    /// away, or in a punched hole).
    pub fn clear(&mut self, ino: u64, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let gone: Vec<(u64, u64)> = self
            .0
            .range((ino, start)..(ino, end))
            .map(|(&k, _)| k)
            .collect();
        for k in gone {
            self.0.remove(&k);
        }
    }
}

/// One process's private memory.
#[derive(Clone, Debug, Default)]
pub struct Content {
    /// Written bytes of private pages, by address, with their values.
    bytes: BTreeMap<u64, Byte>,
    /// Pages (by address) that hold a private copy: anonymous pages once
    /// written, file pages once copied on write.
    pages: BTreeSet<u64>,
    /// The copied file pages `vma` reported when last asked: pages it
    /// reports beyond these were copied since, from the file as it is now.
    adopted: RangeSet,
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
            Some(f)
                if v.flags.contains(VmFlags::SHARED)
                    || !(self.pages.contains(&page_addr)
                        || mm.pages().copied().contains(page_addr)) =>
            {
                let off = v.pgoff * page + (addr - v.start);
                Some(Home::File(f.inner().ino, off))
            }
            _ => Some(Home::Private(addr)),
        }
    }

    /// Forgets what the kernel has thrown away since: private pages whose
    /// page-table entry is gone (munmap, MADV_DONTNEED, guard install) and
    /// file pages the file no longer has (MADV_REMOVE), as `vma` tracks them.
    pub fn sync<E: Env>(&mut self, mm: &Mm<E>, files: &mut FileContent, page: u64) {
        let present = mm.pages();
        self.pages.retain(|&p| present.is_mapped(p));
        let pages = &self.pages;
        self.bytes.retain(|&a, _| {
            pages.contains(&(a & !(page - 1))) || present.is_mapped(a & !(page - 1))
        });
        files
            .0
            .retain(|&(ino, off), _| present.is_cached(ino, off / page));
    }

    /// Takes in the private file pages copied since the last call (by a
    /// write fault, or a populate for writing, which no write follows):
    /// they start as the file's bytes now, whatever was private there
    /// before. Call it after every step, and before a write is stored.
    pub fn adopt_copies<E: Env>(&mut self, mm: &Mm<E>, files: &FileContent, page: u64) {
        let copied = mm.pages().copied();
        for (s, e) in copied.iter() {
            let mut pos = s;
            while let Some(gap) = self.adopted.first_gap(pos, e) {
                let gap_end = self.adopted.first_in(gap, e).unwrap_or(e);
                self.clear(gap, gap_end);
                self.snapshot(mm, files, gap, gap_end, page);
                pos = gap_end;
            }
        }
        self.adopted = copied.clone();
    }

    /// Copies the file's written bytes behind `[start, end)` into private
    /// memory, VMA by VMA.
    fn snapshot<E: Env>(
        &mut self,
        mm: &Mm<E>,
        files: &FileContent,
        start: u64,
        end: u64,
        page: u64,
    ) {
        let mut a = start;
        while a < end {
            let Some(v) = mm.vma_at(a).and_then(|id| mm.get(id)) else {
                break;
            };
            let piece_end = end.min(v.end);
            if let Some(f) = &v.file {
                let ino = f.inner().ino;
                let off = v.pgoff * page + (a - v.start);
                let off_end = off + (piece_end - a);
                for (&(_, b), &v) in files.0.range((ino, off)..(ino, off_end)) {
                    self.bytes.insert(a + (b - off), v);
                }
            }
            a = piece_end;
        }
    }

    /// A successful write access stores `value` (a private write to a file
    /// page first copies the page); an undecided one stores `None`.
    pub fn write<E: Env>(
        &mut self,
        mm: &Mm<E>,
        files: &mut FileContent,
        (addr, value): (u64, Byte),
        page: u64,
    ) {
        let Some(id) = mm.vma_at(addr) else { return };
        let v = mm.get(id).unwrap();
        let page_addr = addr & !(page - 1);
        if !v.flags.contains(VmFlags::SHARED) && !self.pages.contains(&page_addr) {
            // A page `vma` reports copied was taken in by `adopt_copies`
            // when it was copied; the file may have changed since.
            let copied = mm.pages().copied().contains(page_addr);
            if let Some(f) = v.file.as_ref().filter(|_| !copied) {
                let off = v.pgoff * page + (page_addr - v.start);
                let ino = f.inner().ino;
                for (&(_, b), &v) in files.0.range((ino, off)..(ino, off + page)) {
                    self.bytes.insert(page_addr + (b - off), v);
                }
            }
            self.pages.insert(page_addr);
        }
        match self.home(mm, addr, page) {
            Some(Home::Private(a)) => {
                self.bytes.insert(a, value);
            }
            Some(Home::File(ino, off)) => {
                files.0.insert((ino, off), value);
            }
            None => {}
        }
    }

    /// The byte a successful read access returns, `None` if an undecided
    /// write may have changed it.
    pub fn read<E: Env>(&self, mm: &Mm<E>, files: &FileContent, addr: u64, page: u64) -> Byte {
        let stored = match self.home(mm, addr, page) {
            Some(Home::Private(a)) => self.bytes.get(&a),
            Some(Home::File(ino, off)) => files.0.get(&(ino, off)),
            None => None,
        };
        stored.copied().unwrap_or(Some(0))
    }

    /// The written bytes a read of `[start, end)` would see, by address:
    /// private ones, and the files' through the mappings that show them.
    pub fn bytes_in<E: Env>(
        &self,
        mm: &Mm<E>,
        files: &FileContent,
        (start, end): (u64, u64),
        page: u64,
    ) -> Vec<(u64, Byte)> {
        let mut out: Vec<(u64, Byte)> = self
            .bytes
            .range(start..end)
            .filter(|(&a, _)| matches!(self.home(mm, a, page), Some(Home::Private(_))))
            .map(|(&a, &v)| (a, v))
            .collect();
        let mut at = start;
        while let Some(id) = mm.find_vma_intersection(at, end) {
            let v = mm.get(id).unwrap();
            let (s, e) = (at.max(v.start), end.min(v.end));
            at = v.end;
            let Some(f) = &v.file else { continue };
            let ino = f.inner().ino;
            let off = v.pgoff * page + (s - v.start);
            for (&(_, b), &val) in files.0.range((ino, off)..(ino, off + (e - s))) {
                let addr = s + (b - off);
                if matches!(self.home(mm, addr, page), Some(Home::File(..))) {
                    out.push((addr, val));
                }
            }
        }
        out
    }

    /// The page at `at` is a new private page holding exactly `bytes`
    /// (offsets into the page, values): a userfaultfd fill. It is taken
    /// in as it is, not as a copy of a file page.
    pub fn fill(&mut self, at: u64, page: u64, bytes: &[(u64, Byte)]) {
        self.clear(at, at + page);
        self.pages.insert(at);
        self.adopted.insert(at, at + page);
        for &(o, v) in bytes {
            self.bytes.insert(at + o, v);
        }
    }

    /// Forgets the private memory of `[start, end)` (new or discarded).
    pub fn clear(&mut self, start: u64, end: u64) {
        let gone: Vec<u64> = self.bytes.range(start..end).map(|(&a, _)| a).collect();
        for a in gone {
            self.bytes.remove(&a);
        }
        let gone: Vec<u64> = self.pages.range(start..end).copied().collect();
        for a in gone {
            self.pages.remove(&a);
        }
        // New memory here: a copy `vma` reports in it is a new one, even
        // where an older copy had been taken in (mmap over a copied page).
        self.adopted.remove(start, end);
    }

    /// Moves the private memory of `[from, from + len)` to the same offsets
    /// from `to` (mremap carries the pages), and with it the record of
    /// which copies were already taken in, so a moved copy is not taken
    /// for a new one.
    pub fn relocate(&mut self, from: u64, len: u64, to: u64) {
        let end = from.saturating_add(len);
        let shift = |a: u64| to.wrapping_add(a - from);
        let going: Vec<(u64, Byte)> = self.bytes.range(from..end).map(|(&a, &v)| (a, v)).collect();
        for (a, _) in &going {
            self.bytes.remove(a);
        }
        self.bytes
            .extend(going.into_iter().map(|(a, v)| (shift(a), v)));
        let going: Vec<u64> = self.pages.range(from..end).copied().collect();
        for a in &going {
            self.pages.remove(a);
        }
        self.pages.extend(going.into_iter().map(shift));
        self.adopted.move_range(from, to, len);
    }

    /// Keeps only the private memory at addresses for which `keep` holds.
    pub fn retain(&mut self, keep: impl Fn(u64) -> bool) {
        self.bytes.retain(|&a, _| keep(a));
        self.pages.retain(|&a| keep(a));
    }
}
