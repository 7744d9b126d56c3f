//! Limits and accounting the VMA operations consult: `RLIMIT_AS` and
//! `RLIMIT_DATA` (`may_expand_vm`), overcommit (`vm_enough_memory`), and
//! which mappings are charged (`accountable_mapping`).

use super::{Core, VmaSet};
use crate::config::{Config, Overcommit, PAGE_SHIFT};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::File;
use crate::flags::VmFlags;

/// `is_data_mapping`: private, writable, not stack.
pub(crate) fn is_data_mapping(flags: VmFlags) -> bool {
    flags & (VmFlags::WRITE | VmFlags::SHARED | VmFlags::STACK) == VmFlags::WRITE
}

/// `accountable_mapping`: private writable memory without `MAP_NORESERVE`
/// is charged against overcommit -- except hugetlb, whose pages come from
/// their own pool.
pub(crate) fn accountable_mapping(file: Option<&File>, flags: VmFlags) -> bool {
    !super::hugetlb::is_file_hugepages(file)
        && flags & (VmFlags::NORESERVE | VmFlags::SHARED | VmFlags::WRITE) == VmFlags::WRITE
}

/// `vm_commit_limit`: RAM times `overcommit_ratio` percent, plus swap.
/// Computed wide and saturated: the sysctls are configuration, any value.
fn commit_limit(c: &crate::config::Config) -> u64 {
    let ram = u128::from(c.total_ram_pages) * u128::from(c.overcommit_ratio) / 100;
    u64::try_from(ram)
        .unwrap_or(u64::MAX)
        .saturating_add(c.total_swap_pages)
}

impl VmaSet {
    /// `may_expand_vm`: would `npages` more pages with `flags` stay within
    /// `RLIMIT_AS` and, for data mappings, `RLIMIT_DATA`?
    pub(crate) fn may_expand_vm(&self, config: &Config, flags: VmFlags, npages: u64) -> bool {
        let limits = config.rlimits;
        let total = self.stats.total_vm.saturating_add(npages);
        if total > limits.address_space >> PAGE_SHIFT {
            return false;
        }
        if is_data_mapping(flags)
            && self.stats.data_vm.saturating_add(npages) > limits.data >> PAGE_SHIFT
        {
            return false;
        }
        true
    }
}

impl<E: Env> Core<'_, E> {
    /// `security_vm_enough_memory_mm` / `__vm_enough_memory`: applies the
    /// overcommit policy, then charges the pages.
    pub(crate) fn vm_enough_memory(&mut self, pages: u64) -> KResult<()> {
        let c = &self.config;
        let ok = match c.overcommit {
            Overcommit::Always => true,
            Overcommit::Guess => pages <= c.total_ram_pages.saturating_add(c.total_swap_pages),
            Overcommit::Never => self.set.stats.committed.saturating_add(pages) <= commit_limit(c),
        };
        if !ok {
            return Err(Errno::ENOMEM);
        }
        self.env.vm_enough_memory(pages)?;
        self.set.stats.committed = self.set.stats.committed.wrapping_add(pages);
        Ok(())
    }
}
