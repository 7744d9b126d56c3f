// SPDX-License-Identifier: GPL-2.0-or-later
//! Handles: C holds numbers, never pointers to Rust objects, so a freed,
//! forged or stale handle is an error value (EBADF) rather than a crash.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use vma::{File, Mm};

/// Every live address space and file, by handle. Handles count up from
/// 1 and are never reused, so 0 is never valid.
#[derive(Default)]
pub(crate) struct Registry {
    next: u64,
    pub(crate) mms: HashMap<u64, Mm>,
    pub(crate) files: HashMap<u64, File>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

impl Registry {
    /// A fresh handle.
    pub(crate) fn handle(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

/// Runs `f` on the registry. A panic in an earlier call poisons nothing
/// the caller can see: the registry's maps stay consistent between calls.
pub(crate) fn with<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    let mut guard: MutexGuard<'_, Option<Registry>> =
        REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Registry::default))
}
