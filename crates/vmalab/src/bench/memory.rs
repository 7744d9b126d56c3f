// SPDX-License-Identifier: GPL-2.0-or-later
//! Heap bytes per VMA, read from a counting global allocator the binary
//! installs (the library cannot install one for its users), and the
//! in-line size of what a VMA carries, field by field.

use std::mem::size_of;

use vma::{AnonName, AnonVma, File, MemPolicy, UffdCtx, VmFlags, VmOps, Vma};

/// Live heap bytes, as the binary's counting allocator sees them.
pub type LiveBytes = fn() -> usize;

/// The in-line size of `Vma` and of each of its fields, in bytes.
pub fn field_sizes() -> Vec<(&'static str, usize)> {
    vec![
        ("Vma (whole)", size_of::<Vma>()),
        ("start+end+pgoff", 3 * size_of::<u64>()),
        ("flags", size_of::<VmFlags>()),
        ("file", size_of::<Option<File>>()),
        ("ops", size_of::<Option<VmOps>>()),
        ("anon_vma", size_of::<Option<AnonVma>>()),
        ("chain", size_of::<Vec<AnonVma>>()),
        ("policy", size_of::<Option<MemPolicy>>()),
        ("uffd_ctx", size_of::<Option<UffdCtx>>()),
        ("anon_name", size_of::<Option<AnonName>>()),
    ]
}
