//! Memory protection keys: `pkey_alloc(2)` and `pkey_free(2)` (x86
//! `mm_pkey_alloc`, `mm_pkey_free`, `mm_pkey_is_allocated`).

use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::mm::Mm;

/// `PKEY_DISABLE_ACCESS | PKEY_DISABLE_WRITE`.
const PKEY_ACCESS_MASK: u64 = 0x3;
/// x86 has 16 keys.
const MAX_PKEY: i32 = 16;

impl<E: Env> Mm<E> {
    /// `pkey_alloc(flags, access_rights)`: the lowest free key.
    pub fn pkey_alloc(&mut self, flags: u64, access: u64) -> KResult<i32> {
        if flags != 0 || access & !PKEY_ACCESS_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        if !self.config.pkeys {
            return Err(Errno::ENOSPC);
        }
        let free = (0..MAX_PKEY)
            .find(|k| self.process.pkeys_allocated & (1 << k) == 0)
            .ok_or(Errno::ENOSPC)?;
        self.process.pkeys_allocated |= 1 << free;
        self.process.pkey_rights[free as usize] = access as u8;
        Ok(free)
    }

    /// `pkey_free(pkey)`.
    pub fn pkey_free(&mut self, pkey: i64) -> KResult<()> {
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
        self.config.pkeys
            && (0..MAX_PKEY).contains(&pkey)
            && Some(pkey as u32) != self.process.execute_only_pkey
            && self.process.pkeys_allocated & (1 << pkey) != 0
    }
}
