//! Linux's VMA layer as a `no_std` library.
//!
//! An [`Mm`] is an address space reproducing one kernel ([`Config`]). Its
//! internal operations (`core`, the counterpart of mm/vma.c) are
//! crate-private and tested directly; the world -- page tables, file hooks,
//! allocation failures -- is behind the one [`Env`] trait.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod anon_vma;
pub mod config;
pub(crate) mod core;
mod dry_run;
pub mod env;
pub mod errno;
pub mod file;
pub mod flags;
pub mod mm;
pub mod policy;
pub mod slab;
pub mod sys;
pub(crate) mod tree;
pub mod verdict;
pub mod vma;

#[cfg(any(test, feature = "harness"))]
pub mod harness;

pub use anon_vma::AnonVma;
pub use config::{Config, DontunmapBesideSource, KernelVersion, PAGE_SIZE};
pub use env::{AllocSite, Env, NullEnv, RecordingEnv};
pub use errno::{Errno, KResult};
pub use file::{Falloc, File, FileKind, VmOps};
pub use flags::VmFlags;
pub use mm::{Invariant, Mm, VmStats};
pub use policy::{MemPolicy, PolicyMode};
pub use slab::VmaId;
pub use sys::{Access, MapEntry, Maps, PolicyReport, SeedProcess, SeedVma, Signal};
pub use verdict::{MergeVerdict, NoMerge, PairVerdict};
pub use vma::{AnonName, UffdCtx, Vma};
