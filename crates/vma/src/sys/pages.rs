//! The little page state the VMA layer's answers depend on: which pages of
//! this process have a page-table entry (present, zero page, swapped or
//! guard-free), and which pages of shmem files exist. userfaultfd's
//! missing faults fire only on pages without one, minor faults only on
//! shmem pages that exist but are not mapped here.
//!
//! Shmem pages belong to the file; the model keeps them per address space
//! (copied on fork), which agrees with the kernel as long as only one
//! process of a family faults a file's pages in.

use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::mm::Mm;
use alloc::collections::BTreeSet;

/// Page-table and shmem page presence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pages {
    /// Page addresses with a page-table entry in this process.
    mapped: BTreeSet<u64>,
    /// `(inode, page offset)` of shmem pages that exist.
    cached: BTreeSet<(u64, u64)>,
    /// Pages of private file mappings that hold this process's own copy
    /// (a write fault copied the file page): later writes to the file
    /// through other mappings no longer show through them.
    copied: BTreeSet<u64>,
}

impl Pages {
    pub fn is_mapped(&self, page: u64) -> bool {
        self.mapped.contains(&page)
    }

    pub fn is_cached(&self, ino: u64, pgoff: u64) -> bool {
        self.cached.contains(&(ino, pgoff))
    }

    /// Whether the page of a private file mapping at `page` is this
    /// process's copy rather than the file's page.
    pub fn is_private_copy(&self, page: u64) -> bool {
        self.copied.contains(&page)
    }

    /// Every page that holds a private copy of a file page, by address.
    pub fn private_copies(&self) -> impl Iterator<Item = u64> + '_ {
        self.copied.iter().copied()
    }

    pub(crate) fn copy(&mut self, page: u64) {
        self.copied.insert(page);
    }

    pub(crate) fn map(&mut self, page: u64) {
        self.mapped.insert(page);
    }

    pub(crate) fn cache(&mut self, ino: u64, pgoff: u64) {
        self.cached.insert((ino, pgoff));
    }

    /// Page-table entries of `[start, end)` are gone (zap, unmap).
    pub(crate) fn unmap(&mut self, start: u64, end: u64) {
        let gone: alloc::vec::Vec<u64> = self.mapped.range(start..end).copied().collect();
        for p in gone {
            self.mapped.remove(&p);
        }
        let gone: alloc::vec::Vec<u64> = self.copied.range(start..end).copied().collect();
        for p in gone {
            self.copied.remove(&p);
        }
    }

    /// Shmem pages `[start, end)` of a file are gone (hole punched).
    pub(crate) fn uncache(&mut self, ino: u64, start: u64, end: u64) {
        let gone: alloc::vec::Vec<_> = self
            .cached
            .range((ino, start)..(ino, end))
            .copied()
            .collect();
        for k in gone {
            self.cached.remove(&k);
        }
    }

    /// Page tables of `[from, from + len)` moved to `to` (mremap).
    pub(crate) fn move_range(&mut self, from: u64, to: u64, len: u64) {
        let end = from.saturating_add(len);
        let moved: alloc::vec::Vec<u64> = self.mapped.range(from..end).copied().collect();
        let copies: alloc::vec::Vec<u64> = self.copied.range(from..end).copied().collect();
        self.unmap(from, end);
        self.unmap(to, to.saturating_add(len));
        for p in moved {
            self.mapped.insert(p - from + to);
        }
        for p in copies {
            self.copied.insert(p - from + to);
        }
    }

    /// The shmem pages only: what a fork child starts from.
    pub(crate) fn shmem_only(&self) -> Pages {
        Pages {
            mapped: BTreeSet::new(),
            cached: self.cached.clone(),
            copied: BTreeSet::new(),
        }
    }

    /// Copies the mapped pages of `[start, end)` from `other` (fork).
    pub(crate) fn copy_mapped_from(&mut self, other: &Pages, start: u64, end: u64) {
        self.mapped.extend(other.mapped.range(start..end).copied());
        self.copied.extend(other.copied.range(start..end).copied());
    }
}

impl<E: Env> Mm<E> {
    /// The page state of this address space.
    pub fn pages(&self) -> &Pages {
        &self.pages
    }

    /// Tears down the page tables of `[start, end)` (`zap_page_range`):
    /// the environment is told, the pages are no longer mapped here.
    pub(crate) fn zap(&mut self, start: u64, end: u64) {
        self.env.zap(start, end);
        self.pages.unmap(start & !(PAGE_SIZE - 1), end);
    }
}
