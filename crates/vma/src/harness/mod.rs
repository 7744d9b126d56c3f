//! The kernel's userland VMA tests (`tools/testing/vma/`), ported with the
//! same names and the same assertions, plus picture tests and fault
//! injection. Every test returns `Result<(), Failure>` instead of
//! panicking, so that the same list runs under `cargo test` and from the
//! `vmalab harness` command (as the kernel's `./vma` binary does), and
//! every operation is followed by [`Mm::validate`](crate::Mm::validate).
//!
//! Where the kernel's fixture fakes `anon_vma` objects (cloning and
//! unlinking only set flags), the ports use real `anon_vma` objects and
//! assert what the real kernel does; each such place says so.
//!
//! Ported: every test of the kernel's `tests/merge.c` (14) and
//! `tests/mmap.c` (`mmap_region_basic`, `mmap_region_fill_hole`), and
//! `copy_vma` of `tests/vma.c`. Not ported: the `vma_flags_*` tests of
//! `tests/vma.c`, which test the kernel's internal `vma_flags_t` bitmap
//! type (the model's flags are one `u64`, [`VmFlags`](crate::VmFlags)).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Where and why a harness test failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The source file of the failed check.
    pub file: &'static str,
    /// Its line.
    pub line: u32,
    /// What did not hold.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Fails the test unless `cond` holds.
macro_rules! check {
    ($cond:expr) => {
        if !$cond {
            return Err($crate::harness::Failure {
                file: file!(),
                line: line!(),
                message: alloc::format!("{} is false", stringify!($cond)),
            });
        }
    };
}

/// Fails the test unless `a == b`, printing both.
macro_rules! check_eq {
    ($a:expr, $b:expr) => {{
        let (a, b) = (&$a, &$b);
        if a != b {
            return Err($crate::harness::Failure {
                file: file!(),
                line: line!(),
                message: alloc::format!(
                    "{} == {} failed: {:?} != {:?}",
                    stringify!($a),
                    stringify!($b),
                    a,
                    b
                ),
            });
        }
    }};
}

/// Turns an invariant violation or other error into a test failure.
macro_rules! ok {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                return Err($crate::harness::Failure {
                    file: file!(),
                    line: line!(),
                    message: alloc::format!("{}: {:?}", stringify!($e), e),
                })
            }
        }
    };
}

pub(crate) mod fixture;
pub(crate) mod picture;

mod faults;
mod merge;
mod mmap;
mod pictures;
mod vma;

/// A test of the harness.
pub type TestFn = fn() -> Result<(), Failure>;

/// Declares every harness test once: the list `vmalab harness` runs and,
/// under `cargo test`, one `#[test]` each.
macro_rules! harness_tests {
    ($($name:ident => $($seg:ident)::+),* $(,)?) => {
        /// Every harness test, in the kernel's order, then ours.
        pub const TESTS: &[(&str, TestFn)] = &[$((stringify!($name), $($seg)::+)),*];

        #[cfg(test)]
        mod tests {
            $(
                #[test]
                fn $name() {
                    if let Err(e) = super::$($seg)::+() {
                        panic!("{e}");
                    }
                }
            )*
        }
    };
}

harness_tests!(
    simple_merge => merge::simple_merge,
    simple_modify => merge::simple_modify,
    simple_expand => merge::simple_expand,
    simple_shrink => merge::simple_shrink,
    merge_new => merge::merge_new,
    vma_merge_special_flags => merge::vma_merge_special_flags,
    vma_merge_with_close => merge::vma_merge_with_close,
    vma_merge_new_with_close => merge::vma_merge_new_with_close,
    merge_existing => merge::merge_existing,
    anon_vma_non_mergeable => merge::anon_vma_non_mergeable,
    dup_anon_vma => merge::dup_anon_vma,
    vmi_prealloc_fail => merge::vmi_prealloc_fail,
    merge_extend => merge::merge_extend,
    expand_only_mode => merge::expand_only_mode,
    mmap_region_basic => mmap::mmap_region_basic,
    mmap_region_fill_hole_merge => mmap::mmap_region_fill_hole_merge,
    mmap_region_fill_hole_no_merge => mmap::mmap_region_fill_hole_no_merge,
    copy_vma => vma::copy_vma,
    picture_mmap_merges => pictures::mmap_merges,
    picture_mprotect_split_and_remerge => pictures::mprotect_split_and_remerge,
    picture_munmap_spanning_holes => pictures::munmap_spanning_holes,
    picture_faulted_neighbours => pictures::faulted_neighbours,
    picture_fork_child_blocks_merge => pictures::fork_child_blocks_merge,
    picture_file_offsets => pictures::file_offsets,
    picture_relocate_down => pictures::relocate_down,
    picture_max_map_count => pictures::max_map_count,
    picture_attributes_are_identity => pictures::attributes_are_identity,
    fault_inject_split => faults::split,
    fault_inject_modify => faults::modify,
    fault_inject_merge => faults::merge,
    fault_inject_munmap => faults::munmap,
    fault_inject_mmap_region => faults::mmap_region,
    fault_inject_copy_vma => faults::copy_vma,
);

/// The result of one harness test.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The test's name.
    pub name: &'static str,
    /// Passed, or where and why it failed.
    pub result: Result<(), Failure>,
}

/// Runs every harness test.
pub fn run_all() -> Vec<Outcome> {
    TESTS
        .iter()
        .map(|&(name, f)| Outcome { name, result: f() })
        .collect()
}
