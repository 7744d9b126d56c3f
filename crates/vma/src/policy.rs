//! NUMA memory policy as VMA identity: two VMAs merge only if their policies
//! are equal in the sense of the kernel's `mpol_equal`.

/// `MPOL_*` modes (`MPOL_DEFAULT` is no policy at all: `None` on a VMA).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PolicyMode {
    /// `MPOL_PREFERRED`: one preferred node.
    Preferred,
    /// `MPOL_BIND`: only the given nodes.
    Bind,
    /// `MPOL_INTERLEAVE`: round-robin over the nodes.
    Interleave,
    /// `MPOL_LOCAL`: the faulting CPU's node.
    Local,
    /// `MPOL_PREFERRED_MANY`: any of several preferred nodes.
    PreferredMany,
    /// `MPOL_WEIGHTED_INTERLEAVE`: interleave by node weights.
    WeightedInterleave,
}

impl PolicyMode {
    /// Every mode.
    pub const ALL: [PolicyMode; 6] = [
        PolicyMode::Preferred,
        PolicyMode::Bind,
        PolicyMode::Interleave,
        PolicyMode::Local,
        PolicyMode::PreferredMany,
        PolicyMode::WeightedInterleave,
    ];

    /// The mode's name as `/proc/PID/numa_maps` prints it.
    pub fn name(self) -> &'static str {
        match self {
            PolicyMode::Preferred => "prefer",
            PolicyMode::Bind => "bind",
            PolicyMode::Interleave => "interleave",
            PolicyMode::Local => "local",
            PolicyMode::PreferredMany => "prefer (many)",
            PolicyMode::WeightedInterleave => "weighted interleave",
        }
    }
}

/// A memory policy attached to a VMA. `None` on a VMA is the default policy.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MemPolicy {
    /// The policy's mode.
    pub mode: PolicyMode,
    /// `MPOL_F_STATIC_NODES` / `MPOL_F_RELATIVE_NODES` / `MPOL_F_NUMA_BALANCING`.
    pub flags: u16,
    /// The effective node mask (bit n = node n): the requested nodes that
    /// the task may use, or just the first of them for `MPOL_PREFERRED`.
    pub nodes: u64,
    /// The node mask as the caller gave it, kept (and compared) only with
    /// `MPOL_F_STATIC_NODES` or `MPOL_F_RELATIVE_NODES`; 0 otherwise.
    pub user_nodes: u64,
    /// The node `set_mempolicy_home_node` asked allocations to start from
    /// (`None`: `NUMA_NO_NODE`, as every new policy has).
    pub home_node: Option<u32>,
}

/// So that [`mpol_equal`] takes a policy by reference or boxed alike.
impl AsRef<MemPolicy> for MemPolicy {
    fn as_ref(&self) -> &MemPolicy {
        self
    }
}

/// `MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES` as stored in `flags`.
const USER_NODEMASK_FLAGS: u16 = (1 << 15) | (1 << 14);

/// `mpol_equal`: both default, or same mode, flags and home node, same
/// user node mask where one is kept, and same nodes unless the policy is
/// local.
pub fn mpol_equal(a: Option<impl AsRef<MemPolicy>>, b: Option<impl AsRef<MemPolicy>>) -> bool {
    let a = a.as_ref().map(|p| p.as_ref());
    let b = b.as_ref().map(|p| p.as_ref());
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.mode == b.mode
                && a.flags == b.flags
                && a.home_node == b.home_node
                && (a.flags & USER_NODEMASK_FLAGS == 0 || a.user_nodes == b.user_nodes)
                && (a.mode == PolicyMode::Local || a.nodes == b.nodes)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol(mode: PolicyMode, flags: u16, nodes: u64, user_nodes: u64) -> MemPolicy {
        MemPolicy {
            mode,
            flags,
            nodes,
            user_nodes,
            home_node: None,
        }
    }

    #[test]
    fn static_nodes_compare_the_user_mask() {
        let a = pol(PolicyMode::Bind, 1 << 15, 1, 3);
        let b = pol(PolicyMode::Bind, 1 << 15, 1, 1);
        assert!(!mpol_equal(Some(&a), Some(&b)));
        let c = pol(PolicyMode::Bind, 0, 1, 0);
        assert!(!mpol_equal(Some(&a), Some(&c)));
        assert!(mpol_equal(Some(&c), Some(&c.clone())));
        let l1 = pol(PolicyMode::Local, 0, 0, 0);
        let l2 = pol(PolicyMode::Local, 0, 5, 0);
        assert!(mpol_equal(Some(&l1), Some(&l2)));
        assert!(!mpol_equal(Some(&l1), None::<&MemPolicy>));
        let homed = MemPolicy {
            home_node: Some(0),
            ..c.clone()
        };
        assert!(!mpol_equal(Some(&c), Some(&homed)));
    }
}
