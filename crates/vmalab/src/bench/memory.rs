// SPDX-License-Identifier: GPL-2.0-or-later
//! Heap bytes per VMA, read from a counting global allocator the binary
//! installs (the library cannot install one for its users), and the
//! in-line size of what a VMA carries, field by field.

use vma::Vma;

/// Net heap bytes a closure allocates, as the binary's counting allocator
/// sees them; the allocator counts only inside such a call, so nothing
/// else the benchmark times pays for the counting.
pub type NetBytes = fn(&mut dyn FnMut()) -> usize;

/// The in-line size of `Vma` and of each of its fields, in bytes.
pub fn field_sizes() -> Vec<(&'static str, usize)> {
    Vma::field_sizes().to_vec()
}
