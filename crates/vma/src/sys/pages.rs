//! The little page state the VMA layer's answers depend on: which pages of
//! this process have a page-table entry (present, zero page, swapped or
//! guard-free), and which pages of shmem files exist. userfaultfd's
//! missing faults fire only on pages without one, minor faults only on
//! shmem pages that exist but are not mapped here.
//!
//! Both are kept as ranges ([`RangeSet`]), so populating terabytes costs
//! as much as populating a page.
//!
//! Shmem pages belong to the file; the model keeps them per address space
//! (copied on fork), which agrees with the kernel as long as only one
//! process of a family faults a file's pages in.
//!
//! Reclaim advice (`MADV_PAGEOUT`) may or may not unmap a page-cache page
//! and drop a clean one from the cache: whether reclaim takes a page
//! depends on the rest of the machine. Those pages are *unsettled* until
//! an access or a zap settles them, and a decision that reads an unsettled
//! page (a userfaultfd fault) is reported as undetermined instead of
//! guessed ([`Mm::take_undetermined`]).

use super::ranges::RangeSet;
use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::mm::Mm;
use alloc::collections::BTreeMap;
use core::cell::Cell;

/// Page-table and shmem page presence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pages {
    /// Page addresses with a page-table entry in this process.
    mapped: RangeSet,
    /// Mapped pages of private anonymous memory that map the shared zero
    /// page (read but never written): reclaim has nothing to take there.
    zero: RangeSet,
    /// Mapped pages of private file mappings that hold this process's own
    /// copy of the file's page (written, or populated for writing): later
    /// writes to the file through other mappings no longer show through.
    copied: RangeSet,
    /// Anonymous pages another process of the family maps too (mapped
    /// before a fork and not written since): MADV_FREE and reclaim advice
    /// leave them alone.
    shared: RangeSet,
    /// Private anonymous pages MADV_FREE left clean: reclaim discards them
    /// instead of keeping them, unless they are written first.
    lazyfree: RangeSet,
    /// Page offsets of shmem pages that exist, by inode.
    cached: BTreeMap<u64, RangeSet>,
    /// Mapped pages that reclaim may have unmapped.
    maybe_unmapped: RangeSet,
    /// Existing shmem pages that reclaim may have dropped, by inode.
    maybe_uncached: BTreeMap<u64, RangeSet>,
    /// Set when a decision read an unsettled page.
    undetermined: Cell<bool>,
    /// Pages whose entry carries the userfaultfd write-protect bit: present
    /// pages `UFFDIO_WRITEPROTECT` (or a fill in WP mode) protected, and,
    /// in file-backed memory, markers it left where nothing was mapped.
    wp: RangeSet,
    /// Pages holding a poison marker (`UFFDIO_POISON`): an access raises
    /// SIGBUS `BUS_MCEERR_AR`.
    poisoned: RangeSet,
    /// Anonymous pages mapped when the process forked and not written
    /// since: no longer exclusive to one process (`PageAnonExclusive`
    /// clear), even after the other process exited; `UFFDIO_MOVE` refuses
    /// them (EBUSY).
    not_exclusive: RangeSet,
}

/// Adds `[start, end)` to the set of `ino` in `map`.
fn insert_for(map: &mut BTreeMap<u64, RangeSet>, ino: u64, start: u64, end: u64) {
    if start < end {
        map.entry(ino).or_default().insert(start, end);
    }
}

/// Removes `[start, end)` from the set of `ino` in `map`.
fn remove_for(map: &mut BTreeMap<u64, RangeSet>, ino: u64, start: u64, end: u64) {
    if let Some(set) = map.get_mut(&ino) {
        set.remove(start, end);
        if set.is_empty() {
            map.remove(&ino);
        }
    }
}

impl Pages {
    /// Pages mapped by another process of the family too (fork, not
    /// written since).
    pub fn shared(&self) -> &RangeSet {
        &self.shared
    }

    /// Whether the page at `page` is present in the page tables.
    pub fn is_mapped(&self, page: u64) -> bool {
        self.mapped.contains(page)
    }

    /// Whether page `pgoff` of the file `ino` is in the page cache.
    pub fn is_cached(&self, ino: u64, pgoff: u64) -> bool {
        self.cached.get(&ino).is_some_and(|s| s.contains(pgoff))
    }

    /// The mapped page ranges (byte addresses).
    pub fn mapped(&self) -> &RangeSet {
        &self.mapped
    }

    /// Mapped pages of private anonymous memory that map the shared zero
    /// page (counted in no `Rss`).
    pub fn zero(&self) -> &RangeSet {
        &self.zero
    }

    /// Pages of private file mappings holding their own copy.
    pub fn copied(&self) -> &RangeSet {
        &self.copied
    }

    /// Whether the page of a private file mapping at `page` is this
    /// process's copy rather than the file's page.
    pub fn is_private_copy(&self, page: u64) -> bool {
        self.copied.contains(page)
    }

    /// Every page that holds a private copy of a file page, by address.
    pub fn private_copies(&self) -> impl Iterator<Item = u64> + '_ {
        self.copied
            .iter()
            .flat_map(|(s, e)| (s..e).step_by(PAGE_SIZE as usize))
    }

    /// The existing page offsets of shmem file `ino`.
    pub fn cached(&self, ino: u64) -> Option<&RangeSet> {
        self.cached.get(&ino)
    }

    /// Whether reclaim may have unmapped the page at `page`.
    pub fn is_unsettled(&self, page: u64) -> bool {
        self.maybe_unmapped.contains(page)
    }

    /// Whether reclaim may have dropped page `pgoff` of shmem file `ino`.
    pub fn is_cache_unsettled(&self, ino: u64, pgoff: u64) -> bool {
        self.maybe_uncached
            .get(&ino)
            .is_some_and(|s| s.contains(pgoff))
    }

    /// Whether reclaim may have unmapped a page of `[start, end)`.
    pub fn unsettled_in(&self, start: u64, end: u64) -> bool {
        self.maybe_unmapped.intersects(start, end)
    }

    /// Whether reclaim may have dropped a page of `[start, end)` of shmem
    /// file `ino`.
    pub fn cache_unsettled_in(&self, ino: u64, start: u64, end: u64) -> bool {
        self.maybe_uncached
            .get(&ino)
            .is_some_and(|s| s.intersects(start, end))
    }

    /// Pages `[start, end)` of anonymous memory were read: those without
    /// an entry now map the zero page.
    pub(crate) fn map_zero(&mut self, start: u64, end: u64) {
        let mut pos = start;
        while let Some(gap) = self.mapped.first_gap(pos, end) {
            let gap_end = self.mapped.first_in(gap, end).unwrap_or(end);
            self.zero.insert(gap, gap_end);
            pos = gap_end;
        }
        self.mapped.insert(start, end);
    }

    /// Pages carrying the userfaultfd write-protect bit.
    pub fn wp(&self) -> &RangeSet {
        &self.wp
    }

    /// Pages holding a poison marker.
    pub fn poisoned(&self) -> &RangeSet {
        &self.poisoned
    }

    /// Whether the page at `page` is anonymous memory no longer exclusive
    /// to this process (shared at a fork and not written since).
    pub fn is_not_exclusive(&self, page: u64) -> bool {
        self.not_exclusive.contains(page)
    }

    /// Pages `[start, end)` get (`on`) or lose the write-protect bit.
    pub(crate) fn set_wp(&mut self, start: u64, end: u64, on: bool) {
        if on {
            self.wp.insert(start, end);
        } else {
            self.wp.remove(start, end);
        }
    }

    /// The mapped pages of `[start, end)` get the write-protect bit.
    pub(crate) fn protect_mapped(&mut self, start: u64, end: u64) {
        let mapped = self.mapped.slice(start, end);
        self.wp.extend(&mapped);
    }

    /// Pages `[start, end)` hold a poison marker (or no longer do).
    pub(crate) fn set_poisoned(&mut self, start: u64, end: u64, on: bool) {
        if on {
            self.poisoned.insert(start, end);
        } else {
            self.poisoned.remove(start, end);
        }
    }

    /// Pages `[start, end)` were written: they hold their own page.
    pub(crate) fn map_written(&mut self, start: u64, end: u64) {
        self.not_exclusive.remove(start, end);
        self.zero.remove(start, end);
        self.shared.remove(start, end);
        self.lazyfree.remove(start, end);
        self.mapped.insert(start, end);
    }

    /// Pages `[start, end)` of a private file mapping were copied on write.
    pub(crate) fn map_copied(&mut self, start: u64, end: u64) {
        self.map_written(start, end);
        self.copied.insert(start, end);
    }

    /// The mapped pages of `[start, end)` that hold a page of their own
    /// (not the zero page).
    pub(crate) fn own_pages(&self, start: u64, end: u64) -> RangeSet {
        let mut own = self.mapped.slice(start, end);
        for (s, e) in self.zero.slice(start, end).iter() {
            own.remove(s, e);
        }
        own
    }

    /// Pages `[start, end)` of shmem file `ino` exist.
    pub(crate) fn cache(&mut self, ino: u64, start: u64, end: u64) {
        insert_for(&mut self.cached, ino, start, end);
    }

    /// Pages `[start, end)` are mapped, but only if reclaim left their
    /// file pages in the cache.
    pub(crate) fn map_unsettled(&mut self, start: u64, end: u64) {
        self.mapped.insert(start, end);
        self.maybe_unmapped.insert(start, end);
    }

    /// An access settled the mapped pages `[start, end)`: they are mapped
    /// whatever reclaim did.
    pub(crate) fn settle(&mut self, start: u64, end: u64) {
        self.maybe_unmapped.remove(start, end);
    }

    /// An access settled pages `[start, end)` of shmem file `ino`.
    pub(crate) fn settle_cache(&mut self, ino: u64, start: u64, end: u64) {
        remove_for(&mut self.maybe_uncached, ino, start, end);
    }

    /// Reclaim advice over the mapped page-cache pages of `[start, end)`:
    /// each may now be unmapped. Private copies are anonymous pages, which
    /// stay (or become swap entries, which count as present).
    pub(crate) fn reclaim(&mut self, start: u64, end: u64) {
        let mut hit = self.mapped.slice(start, end);
        for (s, e) in self.copied.slice(start, end).iter() {
            hit.remove(s, e);
        }
        self.maybe_unmapped.extend(&hit);
    }

    /// Reclaim advice over pages `[start, end)` of shmem file `ino`.
    pub(crate) fn reclaim_cache(&mut self, ino: u64, start: u64, end: u64) {
        if let Some(hit) = self.cached.get(&ino).map(|s| s.slice(start, end)) {
            if !hit.is_empty() {
                self.maybe_uncached.entry(ino).or_default().extend(&hit);
            }
        }
    }

    /// Fork copied the page tables of `[start, end)`: this process's
    /// pages there are now mapped by the child too.
    pub(crate) fn share(&mut self, start: u64, end: u64) {
        let own = self.own_pages(start, end);
        self.shared.extend(&own);
        self.not_exclusive.extend(&own);
        for (s, e) in own.iter() {
            self.lazyfree.remove(s, e);
        }
    }

    /// MADV_FREE over `[start, end)` of private anonymous memory: the
    /// pages only this process maps become lazily freeable.
    pub(crate) fn mark_lazyfree(&mut self, start: u64, end: u64) {
        let mut own = self.own_pages(start, end);
        for (s, e) in self.shared.slice(start, end).iter() {
            own.remove(s, e);
        }
        self.lazyfree.extend(&own);
    }

    /// The lazily freeable pages of `[start, end)`.
    pub(crate) fn lazyfree_in(&self, start: u64, end: u64) -> RangeSet {
        self.lazyfree.slice(start, end)
    }

    /// Records that a decision depended on an unsettled page.
    pub(crate) fn note_undetermined(&self) {
        self.undetermined.set(true);
    }

    /// Page-table entries of `[start, end)` are gone (zap, unmap).
    pub(crate) fn unmap(&mut self, start: u64, end: u64) {
        self.mapped.remove(start, end);
        self.zero.remove(start, end);
        self.copied.remove(start, end);
        self.shared.remove(start, end);
        self.lazyfree.remove(start, end);
        self.maybe_unmapped.remove(start, end);
        self.wp.remove(start, end);
        self.poisoned.remove(start, end);
        self.not_exclusive.remove(start, end);
    }

    /// Shmem pages `[start, end)` of a file are gone (hole punched).
    pub(crate) fn uncache(&mut self, ino: u64, start: u64, end: u64) {
        remove_for(&mut self.cached, ino, start, end);
        remove_for(&mut self.maybe_uncached, ino, start, end);
    }

    /// Adds the shmem pages `other` knows of (a page the process that
    /// called a userfaultfd ioctl faulted in while it read the source).
    pub(crate) fn merge_cache_from(&mut self, other: &Pages) {
        for (&ino, set) in &other.cached {
            self.cached.entry(ino).or_default().extend(set);
        }
    }

    /// The shmem pages are `other`'s (a fork child that exited: shmem
    /// pages belong to the files, which outlive it).
    pub(crate) fn take_cache_from(&mut self, other: &Pages) {
        self.cached = other.cached.clone();
        self.maybe_uncached = other.maybe_uncached.clone();
    }

    /// Only the pages in `keep` may still be shared (a child that shared
    /// the others exited).
    pub(crate) fn keep_shared(&mut self, keep: &RangeSet) {
        let mut still = RangeSet::default();
        for (s, e) in keep.iter() {
            still.extend(&self.shared.slice(s, e));
        }
        self.shared = still;
    }

    /// Page tables of `[from, from + len)` moved to `to` (mremap).
    /// The write-protect bits do not travel: the moved VMA loses its
    /// registration (no `UFFD_FEATURE_EVENT_REMAP`) and the kernel clears
    /// them as it moves the entries.
    pub(crate) fn move_range(&mut self, from: u64, to: u64, len: u64) {
        self.wp.remove(from, from.saturating_add(len));
        self.wp.remove(to, to.saturating_add(len));
        self.poisoned.move_range(from, to, len);
        self.not_exclusive.move_range(from, to, len);
        self.mapped.move_range(from, to, len);
        self.zero.move_range(from, to, len);
        self.copied.move_range(from, to, len);
        self.shared.move_range(from, to, len);
        self.lazyfree.move_range(from, to, len);
        self.maybe_unmapped.move_range(from, to, len);
    }

    /// The shmem pages only: what a fork child starts from.
    pub(crate) fn shmem_only(&self) -> Pages {
        Pages {
            cached: self.cached.clone(),
            maybe_uncached: self.maybe_uncached.clone(),
            ..Pages::default()
        }
    }

    /// Copies the mapped pages of `[start, end)` from `other` (fork).
    pub(crate) fn copy_mapped_from(&mut self, other: &Pages, start: u64, end: u64) {
        self.mapped.extend(&other.mapped.slice(start, end));
        self.zero.extend(&other.zero.slice(start, end));
        self.copied.extend(&other.copied.slice(start, end));
        self.shared.extend(&other.own_pages(start, end));
        self.not_exclusive.extend(&other.own_pages(start, end));
        // Poison markers are copied; write-protect bits are not (the
        // child's VMAs are not registered).
        self.poisoned.extend(&other.poisoned.slice(start, end));
        self.maybe_unmapped
            .extend(&other.maybe_unmapped.slice(start, end));
    }
}

impl<E: Env> Mm<E> {
    /// The page state of this address space.
    pub fn pages(&self) -> &Pages {
        &self.pages
    }

    /// Whether an answer since the last call depended on a page whose
    /// state reclaim left open (see the module documentation); clears the
    /// mark. The kernel's answer there may be either, so a checker must
    /// accept the kernel's.
    pub fn take_undetermined(&mut self) -> bool {
        self.pages.undetermined.replace(false)
    }

    /// Tears down the page tables of `[start, end)` (`zap_page_range`):
    /// the environment is told, the pages are no longer mapped here.
    /// In file-backed memory registered for write-protection the kernel
    /// leaves a marker where a protected entry was zapped (not on unmap,
    /// which goes through the core).
    pub(crate) fn zap(&mut self, start: u64, end: u64) {
        self.env.zap(start, end);
        let start = start & !(PAGE_SIZE - 1);
        let mut kept = RangeSet::default();
        let mut at = start;
        while let Some(id) = self.find_vma_intersection(at, end) {
            let v = self.vma(id);
            if !v.is_anonymous() && v.flags.contains(crate::flags::VmFlags::UFFD_WP) {
                kept.extend(&self.pages.wp.slice(v.start.max(start), v.end.min(end)));
            }
            at = v.end;
        }
        self.pages.unmap(start, end);
        self.pages.wp.extend(&kept);
    }
}

/// The core clears page state when it zaps or unmaps a range, and moves
/// it with the page tables when it relocates a VMA.
impl crate::core::PageState for Pages {
    fn clear(&mut self, start: u64, end: u64) {
        self.unmap(start & !(PAGE_SIZE - 1), end);
    }

    fn move_range(&mut self, from: u64, to: u64, len: u64) {
        Pages::move_range(self, from, to, len);
    }
}
