// SPDX-License-Identifier: GPL-2.0-or-later
//! Merge verdicts for C: would two neighbouring VMAs merge, and if not,
//! which rule refused, as a stable integer code with the values the rule
//! compared. Codes are never renumbered; new rules get new codes.

use std::os::raw::c_char;

use vma::verdict::{AnonConflict, Role};
use vma::{Errno, MergeVerdict, NoMerge};

use crate::{on_mm, out};

/// The rules allow the merge.
pub const VMA_MERGE_YES: i32 = 0;
/// No VMA lies above the lower one.
pub const VMA_NOMERGE_NO_NEIGHBOUR: i32 = 1;
/// A hole lies between them: `detail[0]` is where the lower VMA ends,
/// `detail[1]` where the upper one starts.
pub const VMA_NOMERGE_NOT_ADJACENT: i32 = 2;
/// A `VM_SPECIAL` mapping never merges: `detail[0]` holds those flags.
pub const VMA_NOMERGE_SPECIAL: i32 = 3;
/// The flags differ: `detail[0]` holds the bits set on one side only.
pub const VMA_NOMERGE_FLAGS_DIFFER: i32 = 4;
/// The NUMA memory policies differ.
pub const VMA_NOMERGE_POLICY_DIFFERS: i32 = 5;
/// They map different files (or only one maps a file).
pub const VMA_NOMERGE_FILE_DIFFERS: i32 = 6;
/// They are registered with different userfaultfd contexts.
pub const VMA_NOMERGE_UFFD_CTX_DIFFERS: i32 = 7;
/// Their anonymous names differ.
pub const VMA_NOMERGE_ANON_NAME_DIFFERS: i32 = 8;
/// Both have been faulted, each into its own `anon_vma`.
pub const VMA_NOMERGE_ANON_BOTH_FAULTED: i32 = 9;
/// Only one side has an `anon_vma` and it is a fork child (6.16 and
/// later): `detail[0]` is 0 if that side is the upper VMA, 1 if the
/// lower.
pub const VMA_NOMERGE_ANON_FORK_CHILD: i32 = 10;
/// Before 6.16: only one side has an `anon_vma`, and the neighbour's
/// chain is not a single link: `detail[0]` is its length.
pub const VMA_NOMERGE_ANON_CHAIN_NOT_SINGULAR: i32 = 11;
/// The page offsets are not contiguous: `detail[0]` is the offset (in
/// pages) that would continue the lower VMA, `detail[1]` the upper one's.
pub const VMA_NOMERGE_PGOFF_DISCONTIGUOUS: i32 = 12;
/// The VMA a merge would remove has a `vm_ops->close` hook; `detail[0]`
/// is 1 where the kernel (before 6.4) refused any neighbour with one.
pub const VMA_NOMERGE_CLOSE_HOOK: i32 = 13;
/// The range would join both neighbours, whose `anon_vma`s differ.
pub const VMA_NOMERGE_PREV_NEXT_ANON_VMA: i32 = 14;

/// Names of the codes, by code, NUL-terminated.
const NAMES: [&str; 15] = [
    "merges\0",
    "no_neighbour\0",
    "not_adjacent\0",
    "special\0",
    "flags_differ\0",
    "policy_differs\0",
    "file_differs\0",
    "uffd_ctx_differs\0",
    "anon_name_differs\0",
    "anon_both_faulted\0",
    "anon_fork_child\0",
    "anon_chain_not_singular\0",
    "pgoff_discontiguous\0",
    "close_hook\0",
    "prev_next_anon_vma\0",
];

/// A merge verdict on two neighbouring VMAs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct vma_verdict {
    /// The lower VMA's first byte.
    pub lower_start: u64,
    /// One past the lower VMA's last byte.
    pub lower_end: u64,
    /// The upper VMA's first byte.
    pub upper_start: u64,
    /// One past the upper VMA's last byte.
    pub upper_end: u64,
    /// The values the refusing rule compared (see each code); 0 if unused.
    pub detail: [u64; 2],
    /// `VMA_MERGE_YES` or the `VMA_NOMERGE_*` code of the rule that refused.
    pub code: i32,
}

/// The code of a verdict and its details.
pub(crate) fn code_of(v: &MergeVerdict) -> (i32, [u64; 2]) {
    let MergeVerdict::Refused(why) = v else {
        return (VMA_MERGE_YES, [0; 2]);
    };
    match *why {
        NoMerge::NoNeighbour => (VMA_NOMERGE_NO_NEIGHBOUR, [0; 2]),
        NoMerge::NotAdjacent { end, start } => (VMA_NOMERGE_NOT_ADJACENT, [end, start]),
        NoMerge::Special { flags } => (VMA_NOMERGE_SPECIAL, [flags.0, 0]),
        NoMerge::FlagsDiffer { differ } => (VMA_NOMERGE_FLAGS_DIFFER, [differ.0, 0]),
        NoMerge::PolicyDiffers => (VMA_NOMERGE_POLICY_DIFFERS, [0; 2]),
        NoMerge::FileDiffers => (VMA_NOMERGE_FILE_DIFFERS, [0; 2]),
        NoMerge::UffdCtxDiffers => (VMA_NOMERGE_UFFD_CTX_DIFFERS, [0; 2]),
        NoMerge::AnonNameDiffers => (VMA_NOMERGE_ANON_NAME_DIFFERS, [0; 2]),
        NoMerge::AnonVma(AnonConflict::BothFaulted) => (VMA_NOMERGE_ANON_BOTH_FAULTED, [0; 2]),
        NoMerge::AnonVma(AnonConflict::ForkChild(role)) => {
            let side = match role {
                Role::Range | Role::CopySource => 0,
                Role::Neighbour => 1,
            };
            (VMA_NOMERGE_ANON_FORK_CHILD, [side, 0])
        }
        NoMerge::AnonVma(AnonConflict::ChainNotSingular { chain_len }) => (
            VMA_NOMERGE_ANON_CHAIN_NOT_SINGULAR,
            [u64::try_from(chain_len).unwrap_or(u64::MAX), 0],
        ),
        NoMerge::PgoffDiscontiguous { expected, actual } => {
            (VMA_NOMERGE_PGOFF_DISCONTIGUOUS, [expected, actual])
        }
        NoMerge::CloseHook => (VMA_NOMERGE_CLOSE_HOOK, [0; 2]),
        NoMerge::CloseHookBefore6_4 => (VMA_NOMERGE_CLOSE_HOOK, [1, 0]),
        NoMerge::PrevNextAnonVma => (VMA_NOMERGE_PREV_NEXT_ANON_VMA, [0; 2]),
    }
}

/// Would the VMA containing `lower` and the VMA containing `upper` -- the
/// next VMA above it -- merge, asked as the kernel asks when the upper
/// one's attributes are set again as they are (`mprotect` of all of it,
/// with the lower one as `prev`)? Fills `out` and returns its code
/// (`VMA_MERGE_YES`, 0, or a `VMA_NOMERGE_*` code > 0); changes nothing.
/// `-EINVAL` if no VMA contains `lower`, or if `upper` is not inside the
/// next VMA above it (a hole between them is allowed: the verdict is
/// then `VMA_NOMERGE_NOT_ADJACENT`); `-EFAULT` if `out` is null;
/// `-EBADF` for a bad handle.
#[no_mangle]
pub extern "C" fn vma_merge_verdict(
    mm: crate::vma_mm_t,
    lower: u64,
    upper: u64,
    out: *mut vma_verdict,
) -> i64 {
    on_mm(mm, |m| {
        let pair = match m.merge_verdict(lower) {
            Some(p) if m.vma_at(upper) == Some(p.upper) => p,
            _ => return -i64::from(Errno::EINVAL.0),
        };
        let (Some(lo), Some(up)) = (m.get(pair.lower), m.get(pair.upper)) else {
            return -i64::from(Errno::EINVAL.0);
        };
        let (code, detail) = code_of(&pair.verdict);
        let v = vma_verdict {
            lower_start: lo.start,
            lower_end: lo.end,
            upper_start: up.start,
            upper_end: up.end,
            detail,
            code,
        };
        if out::store(out, v) {
            i64::from(code)
        } else {
            -i64::from(Errno::EFAULT.0)
        }
    })
}

/// The name of a verdict code (`"merges"`, `"flags_differ"`, ...: the
/// constant's name without its prefix, in lower case), a static
/// NUL-terminated string; null for a code that is not one.
#[no_mangle]
pub extern "C" fn vma_verdict_name(code: i32) -> *const c_char {
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or(std::ptr::null(), |n| n.as_ptr().cast())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vma::VmFlags;

    #[test]
    fn names_are_the_constants_names() {
        let consts = [
            ("VMA_MERGE_YES", VMA_MERGE_YES),
            ("VMA_NOMERGE_NO_NEIGHBOUR", VMA_NOMERGE_NO_NEIGHBOUR),
            ("VMA_NOMERGE_NOT_ADJACENT", VMA_NOMERGE_NOT_ADJACENT),
            ("VMA_NOMERGE_SPECIAL", VMA_NOMERGE_SPECIAL),
            ("VMA_NOMERGE_FLAGS_DIFFER", VMA_NOMERGE_FLAGS_DIFFER),
            ("VMA_NOMERGE_POLICY_DIFFERS", VMA_NOMERGE_POLICY_DIFFERS),
            ("VMA_NOMERGE_FILE_DIFFERS", VMA_NOMERGE_FILE_DIFFERS),
            ("VMA_NOMERGE_UFFD_CTX_DIFFERS", VMA_NOMERGE_UFFD_CTX_DIFFERS),
            (
                "VMA_NOMERGE_ANON_NAME_DIFFERS",
                VMA_NOMERGE_ANON_NAME_DIFFERS,
            ),
            (
                "VMA_NOMERGE_ANON_BOTH_FAULTED",
                VMA_NOMERGE_ANON_BOTH_FAULTED,
            ),
            ("VMA_NOMERGE_ANON_FORK_CHILD", VMA_NOMERGE_ANON_FORK_CHILD),
            (
                "VMA_NOMERGE_ANON_CHAIN_NOT_SINGULAR",
                VMA_NOMERGE_ANON_CHAIN_NOT_SINGULAR,
            ),
            (
                "VMA_NOMERGE_PGOFF_DISCONTIGUOUS",
                VMA_NOMERGE_PGOFF_DISCONTIGUOUS,
            ),
            ("VMA_NOMERGE_CLOSE_HOOK", VMA_NOMERGE_CLOSE_HOOK),
            (
                "VMA_NOMERGE_PREV_NEXT_ANON_VMA",
                VMA_NOMERGE_PREV_NEXT_ANON_VMA,
            ),
        ];
        for (i, (name, code)) in consts.into_iter().enumerate() {
            assert_eq!(code, i as i32, "codes are dense and in order");
            let short = name
                .trim_start_matches("VMA_NOMERGE_")
                .trim_start_matches("VMA_MERGE_YES")
                .to_lowercase();
            let short = if short.is_empty() {
                "merges".into()
            } else {
                short
            };
            assert_eq!(NAMES[i], format!("{short}\0"));
        }
        assert!(vma_verdict_name(-1).is_null());
        assert!(vma_verdict_name(NAMES.len() as i32).is_null());
    }

    #[test]
    fn every_refusal_has_its_own_code_and_details() {
        let v = |r| code_of(&MergeVerdict::Refused(r));
        assert_eq!(code_of(&MergeVerdict::Merges), (VMA_MERGE_YES, [0, 0]));
        assert_eq!(
            v(NoMerge::NotAdjacent { end: 1, start: 2 }),
            (VMA_NOMERGE_NOT_ADJACENT, [1, 2])
        );
        assert_eq!(
            v(NoMerge::FlagsDiffer {
                differ: VmFlags::WRITE
            }),
            (VMA_NOMERGE_FLAGS_DIFFER, [VmFlags::WRITE.0, 0])
        );
        assert_eq!(
            v(NoMerge::AnonVma(AnonConflict::ForkChild(Role::Neighbour))),
            (VMA_NOMERGE_ANON_FORK_CHILD, [1, 0])
        );
        assert_eq!(
            v(NoMerge::AnonVma(AnonConflict::ChainNotSingular {
                chain_len: 3
            })),
            (VMA_NOMERGE_ANON_CHAIN_NOT_SINGULAR, [3, 0])
        );
        assert_eq!(
            v(NoMerge::PgoffDiscontiguous {
                expected: 4,
                actual: 9
            }),
            (VMA_NOMERGE_PGOFF_DISCONTIGUOUS, [4, 9])
        );
    }
}
