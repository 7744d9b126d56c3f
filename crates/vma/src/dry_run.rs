//! Dry runs: what a system call would return, without making it. The
//! call runs on a scratch copy of the address space, which is dropped
//! afterwards; the address space itself is only read (`&self`).
//!
//! The copy is deep: the VMAs, the tree, the counters, the page state,
//! guard markers, shared memory policies, the process state and the
//! configuration, and a fresh copy of every `anon_vma` the VMAs reach
//! (those objects are shared with fork relatives, and a merge or unmap
//! on the copy must not change their counters). So a dry run costs what
//! copying the address space costs: time and memory linear in the number
//! of VMAs, page-state ranges and `anon_vma`s -- about as much as a
//! `fork` of it, and far more than the call itself: measured once (release
//! build, a shared two-core machine), a dry-run `munmap` took 0.4 ms at
//! 1 000 VMAs and 85 ms at 100 000 (half of them faulted, so with 50 000
//! `anon_vma`s), where the `munmap` itself took 1-2 µs. It is for asking
//! before acting (an emulator deciding whether to commit, a tool
//! explaining a failure), not for every call on a hot path.

use crate::env::Env;
use crate::mm::Mm;

impl<E: Env> Mm<E> {
    /// Runs `call` on a scratch copy of this address space and returns
    /// what it returned; this address space, its counters, page state and
    /// environment are left as they are. The copy's environment is a
    /// clone of this one's, so it answers as this one would (allocation
    /// failures to inject, file hooks); if the environment's `Clone`
    /// shares state (an `Rc`, an `Arc`), the copy's effects reach that
    /// state -- give [`Mm::dry_run_with`] an environment of its own.
    ///
    /// `call` may make any number of calls and read the copy afterwards,
    /// to see the layout a call would leave:
    ///
    /// ```
    /// use vma::sys::consts::*;
    /// use vma::{Config, Mm};
    ///
    /// let mut mm = Mm::new(Config::default());
    /// let a = mm.mmap(0, 0x4000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, None, 0)?;
    /// let (r, vmas) = mm.dry_run(|m| (m.mprotect(a + 0x1000, 0x1000, PROT_NONE), m.map_count()));
    /// assert_eq!((r, vmas), (Ok(()), 3));
    /// assert_eq!(mm.map_count(), 1, "nothing happened");
    /// assert_eq!(mm.mprotect(a + 0x1000, 0x1000, PROT_NONE), r);
    /// # Ok::<(), vma::Errno>(())
    /// ```
    ///
    /// Cost: a deep copy of the address space per dry run (see the
    /// module documentation), linear in its size.
    ///
    /// Numbers drawn from process-wide counters -- the inode of the file
    /// a shared anonymous mapping creates, `anon_vma` display ids -- are
    /// drawn in the dry run too, so the real call afterwards gets the
    /// next ones, not the same.
    pub fn dry_run<T>(&self, call: impl FnOnce(&mut Mm<E>) -> T) -> T
    where
        E: Clone,
    {
        self.dry_run_with(self.env.clone(), call)
    }

    /// [`Mm::dry_run`] with `env` as the copy's environment (for an
    /// environment that cannot or should not be cloned).
    pub fn dry_run_with<F: Env, T>(&self, env: F, call: impl FnOnce(&mut Mm<F>) -> T) -> T {
        let mut scratch = Mm {
            set: self.set.deep_copy(),
            config: self.config.clone(),
            env,
            process: self.process.clone(),
            guards: self.guards.clone(),
            shared_policies: self.shared_policies.clone(),
            pages: self.pages.clone(),
        };
        call(&mut scratch)
    }
}
