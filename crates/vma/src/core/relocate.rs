//! exec's stack move (`relocate_vma_down`): shift a VMA down by `shift`
//! bytes, by expanding it over the destination, moving the page tables and
//! shrinking it to the new place.

use super::vmg::MergeState;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;

impl<E: Env> Mm<E> {
    /// `relocate_vma_down`. EFAULT if another VMA lies in the way.
    pub(crate) fn relocate_down(&mut self, id: VmaId, shift: u64) -> KResult<()> {
        let v = self.vma(id);
        let (old_start, old_end, pgoff) = (v.start, v.end, v.pgoff);
        let new_start = old_start.checked_sub(shift).ok_or(Errno::EINVAL)?;
        let new_end = old_end - shift;
        if self.find_vma(new_start) != Some(id) {
            return Err(Errno::EFAULT);
        }
        let mut vmg = MergeState::new(new_start, old_end, VmFlags::NONE, pgoff);
        vmg.target = Some(id);
        self.expand(&mut vmg)?;
        let length = old_end - old_start;
        if self.env.move_page_tables(old_start, new_start, length) != length {
            return Err(Errno::ENOMEM);
        }
        self.pages.move_range(old_start, new_start, length);
        self.guards.move_range(old_start, new_start, length);
        if new_end > old_start {
            self.zap(new_end, old_end);
        } else {
            self.zap(old_start, old_end);
        }
        self.shrink(id, new_start, new_end, pgoff)
    }
}
