//! What exec does to the VMA layer: moving the initial stack down to its
//! final place (`relocate_vma_down`, from `setup_arg_pages`).

use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::mm::Mm;

impl<E: Env> Mm<E> {
    /// Moves the VMA starting at `start` down by `shift` bytes (page
    /// aligned), as exec does with the stack. EFAULT if a VMA is in the way.
    pub fn relocate_stack(&mut self, start: u64, shift: u64) -> KResult<()> {
        if shift % crate::config::PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let vma = self.vma_starting_at(start).ok_or(Errno::EFAULT)?;
        self.core().relocate_down(vma, shift)
    }
}
