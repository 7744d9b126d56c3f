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

use std::sync::atomic::{compiler_fence, AtomicBool, AtomicU64, AtomicU8, Ordering};

/// Whether touches are implemented on this architecture (x86_64 only so
/// far: the resume trick needs per-architecture asm and register names).
pub const SUPPORTED: bool = cfg!(target_arch = "x86_64");

/// Set only while a touch instruction may fault.
static ARMED: AtomicBool = AtomicBool::new(false);

/// The instruction-fetch probe's state: 0 idle, 1 jumped with the trap
/// flag set (the first single-step trap comes before the fetch), 2
/// fetching and executing one instruction.
static EXEC_STATE: AtomicU8 = AtomicU8::new(0);

/// The probe's target address.
static EXEC_ADDR: AtomicU64 = AtomicU64::new(0);

/// What the probe restores: RSP, RBP, RBX, the resume address, the FS
/// base; then the scratch stack the executed instruction may use.
static EXEC_SAVE: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
static EXEC_STACK: [AtomicU64; 512] = [const { AtomicU64::new(0) }; 512];

/// The register value every general register but the target's holds while
/// the probed instruction runs: an address in the never-mapped first page,
/// so a memory operand through any of them faults rather than writes.
const POISON: u64 = 0x10;

/// x86 flags the probe clears on the way back: trap, direction, alignment
/// check.
const FLAGS_CLEARED: i64 = 0x100 | 0x400 | 0x4_0000;

/// The handler of the instruction-fetch probe, while it runs: the first
/// trap (before the fetch) lets the fetch go on; whatever ends it -- the
/// next trap, a fault, an illegal instruction -- restores the runner's
/// registers and resumes after the probe, with the fetch's own signal if
/// the fetch faulted (a fault at the target's first bytes), else none.
#[cfg(target_arch = "x86_64")]
unsafe fn on_exec_probe(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the caller passes the handler's valid siginfo and ucontext.
    let (uc, info) = unsafe { (&mut *(ctx as *mut libc::ucontext_t), &*info) };
    let g = &mut uc.uc_mcontext.gregs;
    let target = EXEC_ADDR.load(Ordering::SeqCst);
    if sig == libc::SIGTRAP
        && EXEC_STATE.load(Ordering::SeqCst) == 1
        && g[libc::REG_RIP as usize] as u64 == target
    {
        EXEC_STATE.store(2, Ordering::SeqCst);
        return;
    }
    // SAFETY: si_addr is valid to read for any signal's siginfo.
    let at = unsafe { info.si_addr() } as u64;
    let fetch_fault = matches!(sig, libc::SIGSEGV | libc::SIGBUS) && at.wrapping_sub(target) < 16;
    let (s, c) = if fetch_fault {
        (i64::from(sig), i64::from(info.si_code))
    } else {
        (0, 0)
    };
    let save = |i: usize| EXEC_SAVE[i].load(Ordering::SeqCst) as i64;
    g[libc::REG_RSP as usize] = save(0);
    g[libc::REG_RBP as usize] = save(1);
    g[libc::REG_RBX as usize] = save(2);
    g[libc::REG_RIP as usize] = save(3);
    g[libc::REG_EFL as usize] &= !FLAGS_CLEARED;
    g[libc::REG_RDX as usize] = s;
    g[libc::REG_RSI as usize] = c;
    // The instruction may have moved the thread pointer (wrfsbase).
    // SAFETY: a raw arch_prctl is async-signal-safe and restores the value
    // read before the probe.
    unsafe { libc::syscall(libc::SYS_arch_prctl, 0x1002, save(4)) };
    EXEC_STATE.store(0, Ordering::SeqCst);
}

/// The SIGSEGV/SIGBUS handler (and, for the instruction-fetch probe,
/// SIGTRAP/SIGILL/SIGFPE).
#[cfg(target_arch = "x86_64")]
extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    if EXEC_STATE.load(Ordering::SeqCst) != 0 {
        // SAFETY: the kernel passes valid pointers to an SA_SIGINFO handler.
        unsafe { on_exec_probe(sig, info, ctx) };
        return;
    }
    if !ARMED.swap(false, Ordering::SeqCst) {
        // SAFETY: signal() is async-signal-safe; with the default action
        // restored, returning re-executes the faulting instruction and the
        // process dies with the signal, as it would without a handler (a
        // trap is not re-executed: it is raised again).
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            if sig == libc::SIGTRAP {
                libc::raise(sig);
            }
        }
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

/// Installs the handler for SIGSEGV and SIGBUS, and for the signals an
/// instruction-fetch probe may end with.
#[cfg(target_arch = "x86_64")]
pub fn install() -> std::io::Result<()> {
    for sig in [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGTRAP,
        libc::SIGILL,
        libc::SIGFPE,
    ] {
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

/// Unsupported architecture: never called (the runner checks
/// [`SUPPORTED`]).
#[cfg(not(target_arch = "x86_64"))]
pub fn exec(_addr: u64) -> Result<(), (i32, i32)> {
    Err((0, 0))
}

/// Fetches and executes one instruction at `addr`; on a fault of the fetch
/// itself returns `(signal, si_code)`.
///
/// The jump is made with the trap flag set, every general register but the
/// target's holding [`POISON`] and the stack pointer on a scratch stack:
/// the instruction, whatever the page holds, runs alone (a single-step
/// trap follows it), cannot write through a register into memory the
/// runner uses, and is undone as far as registers go by the handler
/// (`on_exec_probe`), which resumes after the probe.
#[cfg(target_arch = "x86_64")]
pub fn exec(addr: u64) -> Result<(), (i32, i32)> {
    let mut sig: u64 = 0;
    let mut code: u64 = 0;
    let mut fs: u64 = 0;
    // SAFETY: ARCH_GET_FS writes the thread pointer into `fs`.
    unsafe { libc::syscall(libc::SYS_arch_prctl, 0x1003, &mut fs as *mut u64) };
    EXEC_SAVE[4].store(fs, Ordering::SeqCst);
    EXEC_ADDR.store(addr, Ordering::SeqCst);
    let stack_top = (EXEC_STACK.as_ptr() as u64 + 8 * 512 - 64) & !15;
    EXEC_STATE.store(1, Ordering::SeqCst);
    compiler_fence(Ordering::SeqCst);
    // SAFETY: the window rule admitted `addr` as inside the scenario's
    // window or far region, which hold only the scenario's mappings. The
    // instruction there runs with the trap flag set, so exactly one runs;
    // every register it could address memory through holds POISON (the
    // never-mapped first page) or the scratch stack; the handler restores
    // RSP, RBP, RBX and the thread pointer and resumes at label 2 with
    // RDX/RSI set; everything else is declared clobbered.
    unsafe {
        std::arch::asm!(
            "mov [r8], rsp",
            "mov [r8 + 8], rbp",
            "mov [r8 + 16], rbx",
            "lea rax, [rip + 2f]",
            "mov [r8 + 24], rax",
            "mov rsp, r9",
            "mov eax, {poison}",
            "mov rbx, rax",
            "mov rcx, rax",
            "mov rbp, rax",
            "mov r8, rax",
            "mov r9, rax",
            "mov r10, rax",
            "mov r11, rax",
            "mov r12, rax",
            "mov r13, rax",
            "mov r14, rax",
            "mov r15, rax",
            "mov rdx, rax",
            "mov rsi, rax",
            "pushfq",
            "or qword ptr [rsp], 0x100",
            "popfq",
            "jmp rdi",
            "2:",
            poison = const POISON,
            in("rdi") addr,
            in("r8") EXEC_SAVE.as_ptr(),
            in("r9") stack_top,
            inout("rdx") sig,
            inout("rsi") code,
            out("rax") _,
            out("rcx") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            out("r13") _,
            out("r14") _,
            out("r15") _,
            clobber_abi("C"),
        );
    }
    compiler_fence(Ordering::SeqCst);
    EXEC_STATE.store(0, Ordering::SeqCst);
    if sig != 0 {
        Err((sig as i32, code as i32))
    } else {
        Ok(())
    }
}
