//! exec's stack move (`relocate_vma_down`): shift a VMA down by `shift`
//! bytes, by expanding it over the destination, moving the page tables and
//! shrinking it to the new place.

use super::set::account_kind;
use super::vmg::MergeState;
use super::Core;
use crate::config::PAGE_SHIFT;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::slab::VmaId;

impl<E: Env> Core<'_, E> {
    /// `relocate_vma_down`. EFAULT if another VMA lies in the way.
    ///
    /// If the page tables cannot be moved or the VMA cannot be shrunk, the
    /// VMA stays spread over both ranges, as in the kernel (where exec then
    /// fails and the address space is thrown away).
    pub(crate) fn relocate_down(&mut self, id: VmaId, shift: u64) -> KResult<()> {
        let v = self.vma(id);
        let (old_start, old_end, pgoff) = (v.start, v.end, v.pgoff);
        let new_start = old_start.checked_sub(shift).ok_or(Errno::EINVAL)?;
        if self.find_vma(new_start) != Some(id) {
            return Err(Errno::EFAULT);
        }
        let mut vmg = MergeState::new(new_start, old_end, VmFlags::NONE, pgoff);
        vmg.target = Some(id);
        self.expand(&mut vmg)?;
        let moved = self.move_stack_down(id, old_start, new_start, old_end - old_start, pgoff);
        if moved.is_err() {
            self.account_left_expanded(id, shift);
        }
        moved
    }

    /// The second half of `relocate_down`, once the VMA covers both the
    /// old and the new range: page tables (with the pages and guard
    /// markers in them) move down, the vacated top is zapped and the VMA
    /// shrinks to the new range.
    fn move_stack_down(
        &mut self,
        id: VmaId,
        old_start: u64,
        new_start: u64,
        len: u64,
        pgoff: u64,
    ) -> KResult<()> {
        // Both ranges lie inside the expanded VMA, which ends at old_end.
        let (new_end, old_end) = (new_start + len, old_start + len);
        if self.env.move_page_tables(old_start, new_start, len) != len {
            return Err(Errno::ENOMEM);
        }
        self.pages.move_range(old_start, new_start, len);
        self.markers.move_range(old_start, new_start, len);
        if new_end > old_start {
            self.zap(new_end, old_end);
        } else {
            self.zap(old_start, old_end);
        }
        self.shrink(id, new_start, new_end, pgoff)
    }

    /// A relocation that failed half-way leaves the VMA `shift` bytes
    /// larger. The kernel's counters lag behind (the address space is about
    /// to be freed); the model's stay a recount of the VMAs it holds.
    fn account_left_expanded(&mut self, id: VmaId, shift: u64) {
        // `shift` is at most the VMA's old start, so the page count fits an i64.
        let pages = shift >> PAGE_SHIFT;
        let flags = self.vma(id).flags;
        self.set.stats.total_vm = self.set.stats.total_vm.wrapping_add(pages);
        account_kind(&mut self.set.stats, flags, pages as i64);
        if flags.contains(VmFlags::ACCOUNT) {
            self.set.stats.committed = self.set.stats.committed.wrapping_add(pages);
        }
        if flags.contains(VmFlags::LOCKED) {
            self.set.stats.locked_vm = self.set.stats.locked_vm.wrapping_add(pages);
        }
    }
}
