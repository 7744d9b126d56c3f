// SPDX-License-Identifier: GPL-2.0-or-later
//! `process_mrelease(2)` on the caller's own pidfd (mm/oom_kill.c).
//!
//! The call reaps the address space of a process that is being killed
//! (a fatal signal pending, the memory about to be freed). A process that
//! asks about itself is alive by definition, and its memory has not been
//! reaped before (`MMF_OOM_SKIP` is clear), so the only answers are the
//! argument check and that refusal: nothing changes.

use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::mm::Mm;

impl<E: Env> Mm<E> {
    /// `process_mrelease(pidfd_open(getpid()), flags)`: EINVAL for any
    /// flags, and EINVAL for a living process's address space.
    pub fn process_mrelease(&mut self, flags: u32) -> KResult<()> {
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        // task_will_free_mem is false for a running process, and its
        // memory was never reaped: "not the work of this call".
        Err(Errno::EINVAL)
    }
}
