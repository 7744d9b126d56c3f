//! Per-process state the memory system calls keep beside the VMAs:
//! where mmap and brk place things, `mlockall(MCL_FUTURE)`'s default flags,
//! protection keys, the process-wide KSM setting and the task's memory
//! policy.

use crate::flags::VmFlags;

/// `mm_struct` fields outside the VMA tree. An address space's are read
/// with [`Mm::process`](crate::Mm::process) and replaced, checked, with
/// [`Mm::set_process`](crate::Mm::set_process).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// Top of the top-down mmap area (`mm->mmap_base`).
    pub mmap_base: u64,
    /// Legacy bottom-up layout (`MMF_TOPDOWN` clear), with its base.
    pub legacy_layout: bool,
    /// Where bottom-up placement starts in the legacy layout.
    pub mmap_legacy_base: u64,
    /// Start of the heap (`mm->start_brk`) and the current break (`mm->brk`).
    pub start_brk: u64,
    /// The current break (`mm->brk`).
    pub brk: u64,
    /// Where the initial stack pointer was (`mm->start_stack`); the VMA
    /// containing it is `[stack]`.
    pub start_stack: Option<u64>,
    /// End of the data segment (`mm->end_data`), for `RLIMIT_DATA` on brk.
    pub start_data: u64,
    /// End of the data segment (`mm->end_data`).
    pub end_data: u64,
    /// Flags every new VMA gets (`mm->def_flags`: `VM_LOCKED` after
    /// `mlockall(MCL_FUTURE)`, `VM_NOHUGEPAGE` after `PR_SET_THP_DISABLE`).
    pub def_flags: VmFlags,
    /// Allocated protection keys (bit n = key n). Key 0 is allocated from the
    /// start where protection keys work; on a CPU without them the map
    /// starts empty (see `Mm::pkey_alloc`).
    pub pkeys_allocated: u16,
    /// The key of execute-only mappings, once one was needed.
    pub execute_only_pkey: Option<u32>,
    /// The thread's PKRU rights per key: bit 0 disables access, bit 1
    /// disables writes. Linux starts every key but 0 access-disabled.
    pub pkey_rights: [u8; 16],
    /// `PR_SET_MEMORY_MERGE` (`MMF_VM_MERGE_ANY`): new VMAs are KSM-mergeable.
    pub merge_any: bool,
    /// The task's memory policy (`current->mempolicy`, set by
    /// `set_mempolicy`); `None` is the default policy.
    pub task_policy: Option<crate::policy::MemPolicy>,
}

impl Process {
    /// A new process's state under `config`: x86's `init_new_context`
    /// allocates key 0 only where the CPU has protection keys.
    pub fn for_config(config: &crate::Config) -> Process {
        Process {
            pkeys_allocated: u16::from(
                config.pkeys_enabled() || config.pkeys_exhausted_without_pku,
            ),
            ..Process::default()
        }
    }
}

impl Default for Process {
    /// The layout of a 64-bit process without address randomization and
    /// with an 8 MiB stack limit.
    fn default() -> Self {
        Process {
            mmap_base: 0x7fff_f7ff_f000,
            legacy_layout: false,
            mmap_legacy_base: 0x2aaa_aaaa_b000,
            start_brk: 0x5555_5555_9000,
            brk: 0x5555_5555_9000,
            start_stack: None,
            start_data: 0x5555_5555_7000,
            end_data: 0x5555_5555_8000,
            def_flags: VmFlags::NONE,
            pkeys_allocated: 1,
            execute_only_pkey: None,
            pkey_rights: [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            merge_any: false,
            task_policy: None,
        }
    }
}
