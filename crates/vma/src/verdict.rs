//! Why two VMAs do (or do not) merge. The merge rules in `core` return a
//! [`NoMerge`] for the first rule that refused, and the decisions use only
//! whether they refused: an explanation is the decision's own answer, so
//! the two cannot disagree.
//!
//! [`Mm::merge_verdict`] asks the question for the VMA at an address and
//! the one above it; [`Mm::merge_verdicts`] for every adjacent pair.

use crate::env::Env;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;
use alloc::vec::Vec;
use core::fmt;

/// Which side of a proposed merge a rule looked at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// The range whose attributes are set: in a [`PairVerdict`], the
    /// upper VMA (and so it is worded).
    Range,
    /// The neighbour it would join: in a [`PairVerdict`], the lower VMA.
    Neighbour,
    /// The VMA mremap copies the range from.
    CopySource,
}

impl Role {
    fn words(self) -> &'static str {
        match self {
            Role::Range => "the upper VMA",
            Role::Neighbour => "the lower VMA",
            Role::CopySource => "the VMA mremap copies from",
        }
    }
}

/// Why the `anon_vma`s of the two sides are not compatible.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AnonConflict {
    /// Both sides have been faulted, each into its own `anon_vma`: their
    /// pages are indexed in different reverse maps.
    BothFaulted,
    /// Only one side has an `anon_vma`, and that side is a fork child (its
    /// chain links it to a parent's `anon_vma`): merging would let pages
    /// shared with the parent spread over the other side (6.16 and later).
    ForkChild(Role),
    /// Before 6.16: only one side has an `anon_vma`, and the neighbour is
    /// not linked to exactly one (`chain_len` entries): an unfaulted range
    /// joins only a neighbour with a single-entry chain.
    ChainNotSingular {
        /// The neighbour's `anon_vma_chain` length.
        chain_len: usize,
    },
}

/// The first merge rule that refused, with the values it compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NoMerge {
    /// There is no neighbour on that side.
    NoNeighbour,
    /// The neighbour does not touch the range: `[end, start)` is a hole.
    NotAdjacent {
        /// Where the lower VMA ends.
        end: u64,
        /// Where the upper VMA starts.
        start: u64,
    },
    /// The range has flags of `VM_SPECIAL` (these): such VMAs never merge.
    Special {
        /// The special flags present.
        flags: VmFlags,
    },
    /// The flags differ in these bits (sticky flags are not compared).
    FlagsDiffer {
        /// The bits set on one side only.
        differ: VmFlags,
    },
    /// The NUMA memory policies differ.
    PolicyDiffers,
    /// They map different files (or one maps a file and the other not).
    FileDiffers,
    /// They are registered with different userfaultfd contexts.
    UffdCtxDiffers,
    /// Their anonymous names differ.
    AnonNameDiffers,
    /// Their `anon_vma`s are not compatible.
    AnonVma(AnonConflict),
    /// The page offsets are not contiguous: the upper side starts at page
    /// `actual` of its file (or anonymous offset), not `expected`.
    PgoffDiscontiguous {
        /// The offset that would continue the lower side.
        expected: u64,
        /// The upper side's offset.
        actual: u64,
    },
    /// The VMA a merge would remove has a `vm_ops->close` hook.
    CloseHook,
    /// A neighbour has a `vm_ops->close` hook: before 6.4 no such VMA
    /// merged at all.
    CloseHookBefore6_4,
    /// The range would join both neighbours, but those two have different
    /// `anon_vma`s.
    PrevNextAnonVma,
}

impl NoMerge {
    /// The kernel function whose rule refused.
    pub fn kernel_function(&self) -> &'static str {
        match self {
            NoMerge::NoNeighbour | NoMerge::NotAdjacent { .. } => "can_vma_merge_left",
            NoMerge::Special { .. } => "vma_merge_existing_range",
            NoMerge::FlagsDiffer { .. }
            | NoMerge::PolicyDiffers
            | NoMerge::FileDiffers
            | NoMerge::UffdCtxDiffers
            | NoMerge::AnonNameDiffers => "is_mergeable_vma",
            NoMerge::AnonVma(_) => "is_mergeable_anon_vma",
            NoMerge::PgoffDiscontiguous { .. } => "can_vma_merge_after",
            NoMerge::CloseHook => "can_merge_remove_vma",
            NoMerge::CloseHookBefore6_4 => "is_mergeable_vma",
            NoMerge::PrevNextAnonVma => "can_vma_merge_right",
        }
    }

    /// A short name of the rule, for grouping (`flags`, `anon_vma`, ...).
    pub fn rule(&self) -> &'static str {
        match self {
            NoMerge::NoNeighbour => "no neighbour",
            NoMerge::NotAdjacent { .. } => "not adjacent",
            NoMerge::Special { .. } => "special mapping",
            NoMerge::FlagsDiffer { .. } => "flags differ",
            NoMerge::PolicyDiffers => "memory policy differs",
            NoMerge::FileDiffers => "different file",
            NoMerge::UffdCtxDiffers => "userfaultfd context differs",
            NoMerge::AnonNameDiffers => "anon name differs",
            NoMerge::AnonVma(_) => "anon_vma incompatible",
            NoMerge::PgoffDiscontiguous { .. } => "offset discontiguous",
            NoMerge::CloseHook => "close hook",
            NoMerge::CloseHookBefore6_4 => "close hook (before 6.4)",
            NoMerge::PrevNextAnonVma => "neighbours' anon_vmas differ",
        }
    }
}

/// Flag names without the `VM_` prefix, joined by `|`.
struct Names(VmFlags);

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for AnonConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AnonConflict::BothFaulted => {
                f.write_str("both have been faulted, into different anon_vmas")
            }
            AnonConflict::ForkChild(role) => write!(
                f,
                "only {} has an anon_vma and it is a fork child (it may share pages with its parent)",
                role.words()
            ),
            AnonConflict::ChainNotSingular { chain_len } => write!(
                f,
                "only one side has an anon_vma, and before 6.16 that needs the neighbour \
                 linked to exactly one (it is linked to {chain_len})"
            ),
        }
    }
}

impl fmt::Display for NoMerge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NoMerge::NoNeighbour => f.write_str("there is no neighbour"),
            NoMerge::NotAdjacent { end, start } => {
                write!(f, "not adjacent: a hole from {end:#x} to {start:#x}")
            }
            NoMerge::Special { flags } => {
                write!(f, "special mapping ({}) never merges", Names(flags))
            }
            NoMerge::FlagsDiffer { differ } => write!(f, "flags differ: {}", Names(differ)),
            NoMerge::PolicyDiffers => f.write_str("NUMA memory policies differ"),
            NoMerge::FileDiffers => f.write_str("they map different files"),
            NoMerge::UffdCtxDiffers => f.write_str("userfaultfd contexts differ"),
            NoMerge::AnonNameDiffers => f.write_str("anonymous names differ"),
            NoMerge::AnonVma(c) => write!(f, "anon_vma incompatible: {c}"),
            NoMerge::PgoffDiscontiguous { expected, actual } => write!(
                f,
                "page offsets not contiguous: the upper one starts at page {actual:#x}, \
                 the lower one ends at page {expected:#x}"
            ),
            NoMerge::CloseHook => {
                f.write_str("the VMA a merge would remove has a vm_ops->close hook")
            }
            NoMerge::CloseHookBefore6_4 => f.write_str(
                "a neighbour has a vm_ops->close hook, which refused any merge before 6.4",
            ),
            NoMerge::PrevNextAnonVma => f.write_str("the two neighbours have different anon_vmas"),
        }
    }
}

/// Whether two VMAs would merge, and if not, why.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MergeVerdict {
    /// The rules allow the merge.
    Merges,
    /// The first rule that refused.
    Refused(NoMerge),
}

impl MergeVerdict {
    /// Whether the rules allow the merge.
    pub fn would_merge(&self) -> bool {
        matches!(self, MergeVerdict::Merges)
    }

    /// Why not, if not.
    pub fn reason(&self) -> Option<&NoMerge> {
        match self {
            MergeVerdict::Merges => None,
            MergeVerdict::Refused(r) => Some(r),
        }
    }
}

impl From<Result<(), NoMerge>> for MergeVerdict {
    fn from(r: Result<(), NoMerge>) -> Self {
        match r {
            Ok(()) => MergeVerdict::Merges,
            Err(why) => MergeVerdict::Refused(why),
        }
    }
}

impl fmt::Display for MergeVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeVerdict::Merges => f.write_str("would merge"),
            MergeVerdict::Refused(why) => write!(f, "{why} ({})", why.kernel_function()),
        }
    }
}

/// The verdict on one pair of neighbouring VMAs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PairVerdict {
    /// The VMA below.
    pub lower: VmaId,
    /// The VMA above, starting where `lower` ends.
    pub upper: VmaId,
    /// Whether `lower` would absorb `upper`.
    pub verdict: MergeVerdict,
}

impl<E: Env> Mm<E> {
    /// Would the VMA containing `addr` merge with the VMA above it? Asked
    /// as the kernel asks when the upper VMA's attributes are set again
    /// as they are (the whole of it, by `mprotect` or `madvise`, with the
    /// lower one as `prev`: `vma_merge_existing_range`). `None` if no VMA
    /// contains `addr` or none lies above it. Changes nothing.
    pub fn merge_verdict(&self, addr: u64) -> Option<PairVerdict> {
        let lower = self.vma_at(addr)?;
        let upper = self.find_vma(self.vma(lower).end)?;
        Some(PairVerdict {
            lower,
            upper,
            verdict: self.set.rules(&self.config).whole_into_prev(lower, upper),
        })
    }

    /// The verdict on every pair of adjacent VMAs (no hole between), in
    /// address order.
    pub fn merge_verdicts(&self) -> Vec<PairVerdict> {
        let rules = self.set.rules(&self.config);
        let mut out = Vec::new();
        let mut prev: Option<(VmaId, u64)> = None;
        for (id, v) in self.vmas() {
            if let Some((lower, end)) = prev {
                if end == v.start {
                    out.push(PairVerdict {
                        lower,
                        upper: id,
                        verdict: rules.whole_into_prev(lower, id),
                    });
                }
            }
            prev = Some((id, v.end));
        }
        out
    }
}
