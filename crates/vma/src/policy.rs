//! NUMA memory policy as VMA identity: two VMAs merge only if their policies
//! are equal in the sense of the kernel's `mpol_equal`.

/// `MPOL_*` modes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PolicyMode {
    Preferred,
    Bind,
    Interleave,
    Local,
    PreferredMany,
    WeightedInterleave,
}

/// A memory policy attached to a VMA. `None` on a VMA is the default policy.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MemPolicy {
    pub mode: PolicyMode,
    /// `MPOL_F_STATIC_NODES` / `MPOL_F_RELATIVE_NODES` / `MPOL_F_NUMA_BALANCING`.
    pub flags: u16,
    /// Node mask (bit n = node n).
    pub nodes: u64,
}

/// `mpol_equal`: both default, or same mode, flags and (where the mode has
/// them) nodes.
pub fn mpol_equal(a: Option<&MemPolicy>, b: Option<&MemPolicy>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.mode == b.mode
                && a.flags == b.flags
                && (a.mode == PolicyMode::Local || a.nodes == b.nodes)
        }
        _ => false,
    }
}
