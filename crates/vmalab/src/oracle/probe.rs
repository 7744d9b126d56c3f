// SPDX-License-Identifier: GPL-2.0-or-later
//! Facts of the running kernel that no file shows and that only a system
//! call can reveal, asked in a throwaway child so the asking changes
//! nothing in the process that runs scenarios.

/// What a fresh process's first `pkey_alloc(0, 0)` answers: the key, or
/// the negative errno; `None` if the probe itself could not run. Asked
/// once per process: the answer is the kernel's, it cannot change.
pub fn first_pkey_alloc() -> Option<i64> {
    static ANSWER: std::sync::OnceLock<Option<i64>> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(probe_pkey_alloc)
}

/// Forks, calls `pkey_alloc(0, 0)` in the child, and reads its answer
/// from the exit status.
fn probe_pkey_alloc() -> Option<i64> {
    // SAFETY: the child makes one raw system call and leaves with _exit,
    // both async-signal-safe, so forking a multi-threaded process is sound.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return None;
    }
    if pid == 0 {
        // SAFETY: pkey_alloc takes two integers; _exit never returns.
        unsafe {
            let r = libc::syscall(libc::SYS_pkey_alloc, 0, 0);
            let code = if r >= 0 { 0 } else { *libc::__errno_location() };
            libc::_exit(code.clamp(0, 255));
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes an int status, which `status` is.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        // SAFETY: reading this thread's errno.
        if r < 0 && unsafe { *libc::__errno_location() } != libc::EINTR {
            return None;
        }
    }
    if !libc::WIFEXITED(status) {
        return None;
    }
    match libc::WEXITSTATUS(status) {
        0 => Some(0),
        e => Some(-i64::from(e)),
    }
}
