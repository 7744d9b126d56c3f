// SPDX-License-Identifier: GPL-2.0-or-later
//! The model's `vma::Config` from the detected host, so model and kernel
//! reproduce one kernel: version, build options, sysctls, rlimits,
//! capabilities.

use crate::host::{HostConfig, Rlimit};
use vma::config::{Overcommit, Rlimits, RLIM_INFINITY};
use vma::Config;

/// The configuration of the host's kernel as the model understands it.
pub fn config_for(host: &HostConfig) -> Config {
    let mut c = Config::linux_6_18();
    if let Some(v) = host.version {
        c.version = v;
    }
    let opt = |name: &str, default: bool| host.option(name).unwrap_or(default);
    c.anon_vma_name = opt("CONFIG_ANON_VMA_NAME", c.anon_vma_name);
    c.userfaultfd = opt("CONFIG_USERFAULTFD", c.userfaultfd);
    c.transparent_hugepage = opt("CONFIG_TRANSPARENT_HUGEPAGE", c.transparent_hugepage)
        && host.thp_enabled.as_deref() != Some("never");
    c.ksm = opt("CONFIG_KSM", c.ksm);
    c.soft_dirty = opt("CONFIG_MEM_SOFT_DIRTY", c.soft_dirty);
    c.memory_failure = opt("CONFIG_MEMORY_FAILURE", c.memory_failure);
    c.numa = opt("CONFIG_NUMA", c.numa);
    c.pkeys = opt("CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS", c.pkeys);
    c = c.with_cpu(host.features.cpu);
    c.pkeys_exhausted_without_pku = host.features.pkeys_exhausted;
    if let Some(locked) = host.features.secretmem_locked {
        c.secretmem_locks_vma = locked;
    }
    if let Some(beside) = host.features.dontunmap_beside_source {
        c.dontunmap_beside_source = beside;
    }
    if let Some(v) = host.max_map_count {
        c.max_map_count = v as usize;
    }
    if let Some(v) = host.mmap_min_addr {
        c.mmap_min_addr = v;
    }
    c.overcommit = match host.overcommit_memory {
        Some(1) => Overcommit::Always,
        Some(2) => Overcommit::Never,
        _ => Overcommit::Guess,
    };
    if let Some(v) = host.overcommit_ratio {
        c.overcommit_ratio = v;
    }
    c.stack_guard_gap = host.stack_guard_gap_pages * host.page_size;
    let soft = |r: Rlimit| r.soft.unwrap_or(RLIM_INFINITY);
    c.rlimits = Rlimits {
        address_space: soft(host.rlimit_as),
        data: soft(host.rlimit_data),
        stack: soft(host.rlimit_stack),
        memlock: soft(host.rlimit_memlock),
    };
    let m = &host.features;
    c.cap_ipc_lock = m.capable("CAP_IPC_LOCK");
    c.cap_sys_rawio = m.capable("CAP_SYS_RAWIO");
    c.cap_sys_nice = m.capable("CAP_SYS_NICE");
    // Without hugetlbfs no huge page size exists; with it, the sizes and
    // pools /sys shows (the defaults if /sys could not be read).
    if host.option("CONFIG_HUGETLBFS") == Some(false) {
        c.huge_pools.clear();
    } else if !host.huge_pools.is_empty() {
        c.huge_pools = host.huge_pools.clone();
    }
    if let Some(shift) = host.default_huge_shift {
        c.default_huge_shift = shift;
    }
    if let Some(ram) = host.mem_total {
        c.total_ram_pages = ram / host.page_size;
        c.total_swap_pages = host.swap_total.unwrap_or(0) / host.page_size;
    }
    c
}
