// SPDX-License-Identifier: GPL-2.0-or-later
//! Faulting accesses that report SIGSEGV/SIGBUS instead of dying.
//!
//! A touch is one byte-sized `mov` through the real MMU, in the runner
//! process itself (a forked helper would change anon_vma state and a
//! process_vm_readv does not fault like an access). Before the access the
//! asm loads the address of its own end into RCX; if the access faults, the
//! signal handler (armed only around the access) writes the signal number
//! and si_code into RDX/RSI of the saved context and resumes at RCX. The
//! access is then skipped, no jump buffers or unwinding involved. A fault
//! while disarmed restores the default action and re-faults, so runner bugs
//! still crash (and the parent reports the crash).

#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use std::sync::atomic::{compiler_fence, AtomicBool, Ordering};

/// Whether touches are implemented on this architecture (x86_64 only so
/// far: the resume trick needs per-architecture asm and register names).
pub const SUPPORTED: bool = cfg!(target_arch = "x86_64");

/// Set only while a touch instruction may fault.
static ARMED: AtomicBool = AtomicBool::new(false);

/// The SIGSEGV/SIGBUS handler.
#[cfg(target_arch = "x86_64")]
extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    if !ARMED.swap(false, Ordering::SeqCst) {
        // SAFETY: signal() is async-signal-safe; with the default action
        // restored, returning re-executes the faulting instruction and the
        // process dies with the signal, as it would without a handler.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
        return;
    }
    // SAFETY: for an SA_SIGINFO handler the kernel passes valid siginfo and
    // ucontext pointers for the interrupted thread; we only modify saved
    // general registers, which sigreturn then restores.
    unsafe {
        let uc = &mut *(ctx as *mut libc::ucontext_t);
        let g = &mut uc.uc_mcontext.gregs;
        g[libc::REG_RIP as usize] = g[libc::REG_RCX as usize];
        g[libc::REG_RDX as usize] = i64::from(sig);
        g[libc::REG_RSI as usize] = i64::from((*info).si_code);
    }
}

/// Installs the handler for SIGSEGV and SIGBUS (nothing to install where
/// touches are unsupported).
#[cfg(not(target_arch = "x86_64"))]
pub fn install() -> std::io::Result<()> {
    Ok(())
}

/// Installs the handler for SIGSEGV and SIGBUS.
#[cfg(target_arch = "x86_64")]
pub fn install() -> std::io::Result<()> {
    for sig in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask"
        // value; we fill in a handler with the SA_SIGINFO signature.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Unsupported architecture: never called (the runner checks
/// [`SUPPORTED`]).
#[cfg(not(target_arch = "x86_64"))]
pub fn touch(_addr: u64, _write: Option<u8>) -> Result<u8, (i32, i32)> {
    Err((0, 0))
}

/// Reads (returns the byte) or writes `write`'s byte at `addr`; on a
/// fault returns `(signal, si_code)`.
#[cfg(target_arch = "x86_64")]
pub fn touch(addr: u64, write: Option<u8>) -> Result<u8, (i32, i32)> {
    let mut sig: u64 = 0;
    let mut code: u64 = 0;
    let mut val: u64 = 0;
    ARMED.store(true, Ordering::SeqCst);
    compiler_fence(Ordering::SeqCst);
    if let Some(value) = write {
        // SAFETY: the window rule admitted `addr` as inside the scenario's
        // window, which holds only the scenario's mappings, never memory
        // this program uses; a fault resumes at label 2 (see on_fault) with
        // RDX/RSI set, which are declared as outputs.
        unsafe {
            std::arch::asm!(
                "lea rcx, [rip + 2f]",
                "mov byte ptr [rdi], {v}",
                "2:",
                v = in(reg_byte) value,
                in("rdi") addr,
                out("rcx") _,
                inout("rdx") sig,
                inout("rsi") code,
                options(nostack),
            );
        }
    } else {
        // SAFETY: as above; a read changes no memory.
        unsafe {
            std::arch::asm!(
                "lea rcx, [rip + 2f]",
                "mov al, byte ptr [rdi]",
                "2:",
                in("rdi") addr,
                out("rcx") _,
                inout("rdx") sig,
                inout("rsi") code,
                inout("rax") val,
                options(nostack),
            );
        }
    }
    compiler_fence(Ordering::SeqCst);
    ARMED.store(false, Ordering::SeqCst);
    if sig != 0 {
        Err((sig as i32, code as i32))
    } else {
        Ok(val as u8)
    }
}
