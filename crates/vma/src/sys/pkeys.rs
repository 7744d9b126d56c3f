//! Memory protection keys: `pkey_alloc(2)` and `pkey_free(2)` (x86
//! `mm_pkey_alloc`, `mm_pkey_free`, `mm_pkey_is_allocated`).
//!
//! Three kinds of kernel answer differently:
//! - built without `CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS`: the `pkey_*`
//!   calls do not exist (ENOSYS);
//! - built with it, on a CPU without `pku`: x86 allows one key (key 0) but
//!   starts the map empty and treats key 0 as the execute-only key, so the
//!   first `pkey_alloc` takes key 0, fails to program PKRU (EINVAL) and
//!   cannot give it back; later ones find the map full (ENOSPC), and no key
//!   ever counts as allocated (`pkey_free`, `pkey_mprotect`: EINVAL);
//! - built with it on a `pku` CPU: 16 keys, key 0 allocated from the start.

use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::mm::Mm;

use super::consts::{PKEY_DISABLE_ACCESS, PKEY_DISABLE_WRITE};

/// Every access right `pkey_alloc` knows.
const PKEY_ACCESS_MASK: u64 = PKEY_DISABLE_ACCESS | PKEY_DISABLE_WRITE;
/// x86 has 16 keys.
const MAX_PKEY: i32 = 16;

impl<E: Env> Mm<E> {
    /// `pkey_alloc(flags, access_rights)`: the lowest free key.
    pub fn pkey_alloc(&mut self, flags: u64, access: u64) -> KResult<i32> {
        if flags != 0 || access & !PKEY_ACCESS_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        if !self.config.pkeys {
            return Err(Errno::ENOSYS);
        }
        if !self.config.pkeys_enabled() {
            return self.pkey_alloc_without_pku();
        }
        let free = (0..MAX_PKEY)
            .find(|k| self.process.pkeys_allocated & (1 << k) == 0)
            .ok_or(Errno::ENOSPC)?;
        self.process.pkeys_allocated |= 1 << free;
        self.process.pkey_rights[free as usize] = access as u8;
        Ok(free)
    }

    /// `pkey_alloc` on a CPU without protection keys: key 0 is taken for
    /// good, and the call fails either way.
    fn pkey_alloc_without_pku(&mut self) -> KResult<i32> {
        if self.process.pkeys_allocated & 1 != 0 {
            return Err(Errno::ENOSPC);
        }
        self.process.pkeys_allocated |= 1;
        Err(Errno::EINVAL)
    }

    /// `pkey_free(pkey)`.
    pub fn pkey_free(&mut self, pkey: i64) -> KResult<()> {
        if !self.config.pkeys {
            return Err(Errno::ENOSYS);
        }
        let Ok(pkey) = i32::try_from(pkey) else {
            return Err(Errno::EINVAL);
        };
        if !self.pkey_is_allocated(pkey) {
            return Err(Errno::EINVAL);
        }
        self.process.pkeys_allocated &= !(1 << pkey);
        Ok(())
    }

    /// `__pkru_allows_pkey`: may this thread access memory tagged `pkey`?
    pub(crate) fn pkru_allows(&self, pkey: u32, write: bool) -> bool {
        let rights = self
            .process
            .pkey_rights
            .get(pkey as usize)
            .copied()
            .unwrap_or(0);
        rights & 1 == 0 && !(write && rights & 2 != 0)
    }

    /// `mm_pkey_is_allocated`: returned by `pkey_alloc` (or key 0), and not
    /// the execute-only key, which no user interface may name.
    pub(crate) fn pkey_is_allocated(&self, pkey: i32) -> bool {
        self.config.pkeys_enabled()
            && (0..MAX_PKEY).contains(&pkey)
            && Some(pkey as u32) != self.process.execute_only_pkey
            && self.process.pkeys_allocated & (1 << pkey) != 0
    }
}
