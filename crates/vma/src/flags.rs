//! VMA flags (`vm_flags_t`) with the kernel's bit values on x86-64, so that
//! the smaps `VmFlags` mnemonics map one to one.

use core::fmt;
use core::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, BitXor, Not};

/// A set of `VM_*` flags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct VmFlags(pub u64);

/// Bit number, kernel constant name, smaps mnemonic ("" when smaps prints none).
const TABLE: &[(u32, &str, &str)] = &[
    (0, "VM_READ", "rd"),
    (1, "VM_WRITE", "wr"),
    (2, "VM_EXEC", "ex"),
    (3, "VM_SHARED", "sh"),
    (4, "VM_MAYREAD", "mr"),
    (5, "VM_MAYWRITE", "mw"),
    (6, "VM_MAYEXEC", "me"),
    (7, "VM_MAYSHARE", "ms"),
    (8, "VM_GROWSDOWN", "gd"),
    (9, "VM_UFFD_MISSING", "um"),
    (10, "VM_PFNMAP", "pf"),
    (11, "VM_MAYBE_GUARD", "gu"),
    (12, "VM_UFFD_WP", "uw"),
    (13, "VM_LOCKED", "lo"),
    (14, "VM_IO", "io"),
    (15, "VM_SEQ_READ", "sr"),
    (16, "VM_RAND_READ", "rr"),
    (17, "VM_DONTCOPY", "dc"),
    (18, "VM_DONTEXPAND", "de"),
    (19, "VM_LOCKONFAULT", "lf"),
    (20, "VM_ACCOUNT", "ac"),
    (21, "VM_NORESERVE", "nr"),
    (22, "VM_HUGETLB", "ht"),
    (23, "VM_SYNC", "sf"),
    (24, "VM_PAT", "ar"),
    (25, "VM_WIPEONFORK", "wf"),
    (26, "VM_DONTDUMP", "dd"),
    (27, "VM_SOFTDIRTY", "sd"),
    (28, "VM_MIXEDMAP", "mm"),
    (29, "VM_HUGEPAGE", "hg"),
    (30, "VM_NOHUGEPAGE", "nh"),
    (31, "VM_MERGEABLE", "mg"),
    (32, "VM_PKEY_BIT0", ""),
    (33, "VM_PKEY_BIT1", ""),
    (34, "VM_PKEY_BIT2", ""),
    (35, "VM_PKEY_BIT3", ""),
    (37, "VM_SHADOW_STACK", "ss"),
    (40, "VM_DROPPABLE", "dp"),
    (41, "VM_UFFD_MINOR", "ui"),
    (42, "VM_SEALED", "sl"),
];

impl VmFlags {
    /// No flag.
    pub const NONE: VmFlags = VmFlags(0);
    /// `VM_READ`, smaps `rd`: readable.
    pub const READ: VmFlags = VmFlags(1 << 0);
    /// `VM_WRITE`, smaps `wr`: writable.
    pub const WRITE: VmFlags = VmFlags(1 << 1);
    /// `VM_EXEC`, smaps `ex`: executable.
    pub const EXEC: VmFlags = VmFlags(1 << 2);
    /// `VM_SHARED`, smaps `sh`: shared mapping.
    pub const SHARED: VmFlags = VmFlags(1 << 3);
    /// `VM_MAYREAD`, smaps `mr`: may be made readable.
    pub const MAYREAD: VmFlags = VmFlags(1 << 4);
    /// `VM_MAYWRITE`, smaps `mw`: may be made writable.
    pub const MAYWRITE: VmFlags = VmFlags(1 << 5);
    /// `VM_MAYEXEC`, smaps `me`: may be made executable.
    pub const MAYEXEC: VmFlags = VmFlags(1 << 6);
    /// `VM_MAYSHARE`, smaps `ms`: may be shared.
    pub const MAYSHARE: VmFlags = VmFlags(1 << 7);
    /// `VM_GROWSDOWN`, smaps `gd`: a stack that grows down.
    pub const GROWSDOWN: VmFlags = VmFlags(1 << 8);
    /// `VM_UFFD_MISSING`, smaps `um`: userfaultfd reports missing pages.
    pub const UFFD_MISSING: VmFlags = VmFlags(1 << 9);
    /// `VM_PFNMAP`, smaps `pf`: raw page frames, no struct page.
    pub const PFNMAP: VmFlags = VmFlags(1 << 10);
    /// Sticky: the range may hold guard markers (`MADV_GUARD_INSTALL`).
    pub const MAYBE_GUARD: VmFlags = VmFlags(1 << 11);
    /// `VM_UFFD_WP`, smaps `uw`: userfaultfd reports writes to protected pages.
    pub const UFFD_WP: VmFlags = VmFlags(1 << 12);
    /// `VM_LOCKED`, smaps `lo`: pages locked in memory.
    pub const LOCKED: VmFlags = VmFlags(1 << 13);
    /// `VM_IO`, smaps `io`: memory-mapped I/O.
    pub const IO: VmFlags = VmFlags(1 << 14);
    /// `VM_SEQ_READ`, smaps `sr`: sequential access expected.
    pub const SEQ_READ: VmFlags = VmFlags(1 << 15);
    /// `VM_RAND_READ`, smaps `rr`: random access expected.
    pub const RAND_READ: VmFlags = VmFlags(1 << 16);
    /// `VM_DONTCOPY`, smaps `dc`: not copied on fork.
    pub const DONTCOPY: VmFlags = VmFlags(1 << 17);
    /// `VM_DONTEXPAND`, smaps `de`: cannot grow with mremap.
    pub const DONTEXPAND: VmFlags = VmFlags(1 << 18);
    /// `VM_LOCKONFAULT`, smaps `lf`: locked as pages fault in.
    pub const LOCKONFAULT: VmFlags = VmFlags(1 << 19);
    /// `VM_ACCOUNT`, smaps `ac`: charged to the commit limit.
    pub const ACCOUNT: VmFlags = VmFlags(1 << 20);
    /// `VM_NORESERVE`, smaps `nr`: no swap reservation.
    pub const NORESERVE: VmFlags = VmFlags(1 << 21);
    /// `VM_HUGETLB`, smaps `ht`: hugetlbfs pages.
    pub const HUGETLB: VmFlags = VmFlags(1 << 22);
    /// `VM_SYNC`, smaps `sf`: synchronous faults (DAX).
    pub const SYNC: VmFlags = VmFlags(1 << 23);
    /// `VM_ARCH_1`, which is `VM_PAT` on x86.
    pub const PAT: VmFlags = VmFlags(1 << 24);
    /// `VM_WIPEONFORK`, smaps `wf`: the child sees zeroes.
    pub const WIPEONFORK: VmFlags = VmFlags(1 << 25);
    /// `VM_DONTDUMP`, smaps `dd`: left out of core dumps.
    pub const DONTDUMP: VmFlags = VmFlags(1 << 26);
    /// Sticky when `CONFIG_MEM_SOFT_DIRTY` is on; absent (never set) otherwise.
    pub const SOFTDIRTY: VmFlags = VmFlags(1 << 27);
    /// `VM_MIXEDMAP`, smaps `mm`: mixed page frames and pages.
    pub const MIXEDMAP: VmFlags = VmFlags(1 << 28);
    /// `VM_HUGEPAGE`, smaps `hg`: transparent huge pages preferred.
    pub const HUGEPAGE: VmFlags = VmFlags(1 << 29);
    /// `VM_NOHUGEPAGE`, smaps `nh`: no transparent huge pages.
    pub const NOHUGEPAGE: VmFlags = VmFlags(1 << 30);
    /// `VM_MERGEABLE`, smaps `mg`: KSM may merge the pages.
    pub const MERGEABLE: VmFlags = VmFlags(1 << 31);
    /// `VM_PKEY_BIT0`: protection key, bit 0.
    pub const PKEY_BIT0: VmFlags = VmFlags(1 << 32);
    /// `VM_PKEY_BIT1`: protection key, bit 1.
    pub const PKEY_BIT1: VmFlags = VmFlags(1 << 33);
    /// `VM_PKEY_BIT2`: protection key, bit 2.
    pub const PKEY_BIT2: VmFlags = VmFlags(1 << 34);
    /// `VM_PKEY_BIT3`: protection key, bit 3.
    pub const PKEY_BIT3: VmFlags = VmFlags(1 << 35);
    /// `VM_SHADOW_STACK`, smaps `ss`: a user shadow stack.
    pub const SHADOW_STACK: VmFlags = VmFlags(1 << 37);
    /// `VM_DROPPABLE`, smaps `dp`: pages may be dropped under pressure.
    pub const DROPPABLE: VmFlags = VmFlags(1 << 40);
    /// `VM_UFFD_MINOR`, smaps `ui`: userfaultfd reports minor faults.
    pub const UFFD_MINOR: VmFlags = VmFlags(1 << 41);
    /// `VM_SEALED`, smaps `sl`: sealed by mseal: no more changes.
    pub const SEALED: VmFlags = VmFlags(1 << 42);

    /// On x86 the stack grows down: `VM_STACK` is `VM_GROWSDOWN`.
    pub const STACK: VmFlags = VmFlags::GROWSDOWN;
    /// The four protection-key bits.
    pub const PKEY_MASK: VmFlags = VmFlags(0xf << 32);
    /// Read, write and execute.
    pub const ACCESS: VmFlags = VmFlags(0x7);
    /// Special mappings: never merged, never mlocked.
    pub const SPECIAL: VmFlags =
        VmFlags(Self::IO.0 | Self::DONTEXPAND.0 | Self::PFNMAP.0 | Self::MIXEDMAP.0);
    /// Either kind of lock (`VM_LOCKED_MASK`).
    pub const LOCKED_MASK: VmFlags = VmFlags(Self::LOCKED.0 | Self::LOCKONFAULT.0);
    /// Every userfaultfd mode (`__VM_UFFD_FLAGS`).
    pub const UFFD_FLAGS: VmFlags =
        VmFlags(Self::UFFD_MISSING.0 | Self::UFFD_WP.0 | Self::UFFD_MINOR.0);
    /// Flags a VMA grows a start gap for (`VM_STARTGAP_FLAGS`).
    pub const STARTGAP: VmFlags = VmFlags(Self::GROWSDOWN.0 | Self::SHADOW_STACK.0);
    /// `VM_DATA_DEFAULT_FLAGS` on x86-64 (`VM_DATA_FLAGS_TSK_EXEC`, without READ_IMPLIES_EXEC).
    pub const DATA_DEFAULT: VmFlags = VmFlags(
        Self::READ.0 | Self::WRITE.0 | Self::MAYREAD.0 | Self::MAYWRITE.0 | Self::MAYEXEC.0,
    );
    /// Page-table state that fork must copy (`VM_COPY_ON_FORK`).
    pub const COPY_ON_FORK: VmFlags =
        VmFlags(Self::PFNMAP.0 | Self::MIXEDMAP.0 | Self::UFFD_WP.0 | Self::MAYBE_GUARD.0);

    /// No flag set.
    pub const fn empty() -> Self {
        VmFlags(0)
    }
    /// The raw `vm_flags_t` value.
    pub const fn bits(self) -> u64 {
        self.0
    }
    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: VmFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Whether any flag of `other` is set.
    pub const fn intersects(self, other: VmFlags) -> bool {
        self.0 & other.0 != 0
    }
    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The flags of both.
    pub const fn union(self, other: VmFlags) -> Self {
        VmFlags(self.0 | other.0)
    }
    /// These flags without those of `other`.
    pub const fn without(self, other: VmFlags) -> Self {
        VmFlags(self.0 & !other.0)
    }
    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: VmFlags) {
        self.0 |= other.0;
    }
    /// Clears the flags of `other`.
    pub fn remove(&mut self, other: VmFlags) {
        self.0 &= !other.0;
    }

    /// The protection key encoded in the flags.
    pub const fn pkey(self) -> u32 {
        ((self.0 >> 32) & 0xf) as u32
    }

    /// The mnemonics smaps prints in its `VmFlags:` line, in bit order.
    pub fn mnemonics(self) -> impl Iterator<Item = &'static str> {
        TABLE
            .iter()
            .filter(move |(bit, _, m)| !m.is_empty() && self.0 & (1 << bit) != 0)
            .map(|(_, _, m)| *m)
    }

    /// The flag whose smaps mnemonic is `m`.
    pub fn from_mnemonic(m: &str) -> Option<VmFlags> {
        TABLE
            .iter()
            .find(|(_, _, mn)| *mn == m)
            .map(|(bit, _, _)| VmFlags(1 << bit))
    }

    /// The flag whose kernel name is `name` (`"VM_LOCKED"`).
    pub fn from_name(name: &str) -> Option<VmFlags> {
        if name == "VM_STACK" {
            return Some(VmFlags::STACK);
        }
        TABLE
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(bit, _, _)| VmFlags(1 << bit))
    }

    /// Writes the smaps `VmFlags` field: mnemonics separated by spaces.
    pub fn smaps(self) -> SmapsFlags {
        SmapsFlags(self)
    }
}

/// Display adapter for the smaps `VmFlags:` line (without the label).
pub struct SmapsFlags(VmFlags);

impl fmt::Display for SmapsFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.0.mnemonics().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(m)?;
        }
        Ok(())
    }
}

impl fmt::Debug for VmFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut first = true;
        for (bit, name, _) in TABLE {
            if rest & (1 << bit) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name.trim_start_matches("VM_"))?;
                first = false;
                rest &= !(1 << bit);
            }
        }
        if rest != 0 || first {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

impl BitOr for VmFlags {
    type Output = VmFlags;
    fn bitor(self, rhs: VmFlags) -> VmFlags {
        VmFlags(self.0 | rhs.0)
    }
}
impl BitOrAssign for VmFlags {
    fn bitor_assign(&mut self, rhs: VmFlags) {
        self.0 |= rhs.0;
    }
}
impl BitAnd for VmFlags {
    type Output = VmFlags;
    fn bitand(self, rhs: VmFlags) -> VmFlags {
        VmFlags(self.0 & rhs.0)
    }
}
impl BitAndAssign for VmFlags {
    fn bitand_assign(&mut self, rhs: VmFlags) {
        self.0 &= rhs.0;
    }
}
impl BitXor for VmFlags {
    type Output = VmFlags;
    fn bitxor(self, rhs: VmFlags) -> VmFlags {
        VmFlags(self.0 ^ rhs.0)
    }
}
impl Not for VmFlags {
    type Output = VmFlags;
    fn not(self) -> VmFlags {
        VmFlags(!self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn smaps_line_is_in_bit_order() {
        let f = VmFlags::READ
            | VmFlags::WRITE
            | VmFlags::MAYREAD
            | VmFlags::MAYWRITE
            | VmFlags::ACCOUNT;
        assert_eq!(format!("{}", f.smaps()), "rd wr mr mw ac");
        assert_eq!(VmFlags::from_mnemonic("gu"), Some(VmFlags::MAYBE_GUARD));
        assert_eq!(
            format!("{:?}", VmFlags::READ | VmFlags(1 << 50)),
            "READ|0x4000000000000"
        );
    }
}
