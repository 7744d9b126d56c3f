// SPDX-License-Identifier: GPL-2.0-or-later
//! The oracle runner: executes a scenario with real system calls inside a
//! reserved window of its own address space and reports each step's
//! outcome and the window's layout (see `protocol` for the format).
//!
//! Each step goes through `machine::run_step` (window rule, argument
//! resolution) to the kernel machine in `calls.rs`, the same path the
//! model's steps take.
//!
//! Self-contained on purpose (stdin in, stdout out, no threads, no files
//! besides /proc/self) and a crate of its own, depending on the lab's
//! language (`vmalab-lang`), `vma`'s constants, libc and nix only: `vmalab
//! oracle-runner` runs it, and so does the small `vmalab-runner` binary,
//! which links statically (`RUSTFLAGS="-C target-feature=+crt-static"
//! cargo build --release -p vmalab-runner --target x86_64-unknown-linux-gnu`)
//! for machines that have no more than a kernel. This crate makes system
//! calls directly, so unsafe code is allowed here, each use with its
//! SAFETY comment.
//!
//! The window: a fixed, far-away base (16 TiB, then other candidates) is
//! claimed with one `MAP_FIXED_NOREPLACE` PROT_NONE shared-anonymous
//! mapping covering the window plus one page each side; the window part is
//! then unmapped, leaving two 1-page guards. Guards are shmem objects of
//! their own, so nothing in the window ever merges with them, and they stop
//! in-place growth (mremap) at the window's edges.

pub mod calls;
mod family;
mod far;
mod shm;
mod touch;
pub mod uffd;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::fcntl::{open, OFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::prctl::set_pdeathsig;
use nix::sys::signal::Signal;
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
use nix::sys::stat::{fstat, Mode};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{ftruncate, sysconf, Pid, SysconfVar};

use vmalab_lang::machine::{run_step, Bindings};
use vmalab_lang::outcome::{Outcome, Value};
use vmalab_lang::protocol::{encode_outcome, VERSION};
use vmalab_lang::scenario::names::errno_name;
use vmalab_lang::scenario::{parse, FileDecl, FileSource, Scenario};
use vmalab_lang::smaps::{dev_parts, shows_a_policy, window_layout, Identities};
use vmalab_lang::window::{Window, RUNNER_VMAS};

/// Window bases tried in order (1 GiB aligned, far from heap, mmap area and
/// stack on x86_64 with 4- or 5-level paging).
const BASES: &[u64] = &[
    0x1000_0000_0000,
    0x2000_0000_0000,
    0x3000_0000_0000,
    0x0800_0000_0000,
    0x4000_0000_0000,
];

/// A system call argument register.
type L = libc::c_long;

const SYS_MSEAL: libc::c_long = 462;
const PR_SET_VMA: libc::c_long = 0x5356_4d41;
const PR_SET_VMA_ANON_NAME: libc::c_long = 0;
const PR_SET_MEMORY_MERGE: libc::c_long = 67;
const PR_GET_MEMORY_MERGE: libc::c_long = 68;

/// Entry point of `vmalab oracle-runner` and `vmalab-runner`; returns the
/// exit code.
pub fn main() -> i32 {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        return fatal(&format!("cannot read the scenario: {e}"));
    }
    let scenario = match parse("stdin", &text) {
        Ok(s) => s,
        Err(e) => return fatal(&e.to_string()),
    };
    // Die with the parent, so no runner outlives a killed `vmalab`.
    let _ = set_pdeathsig(Signal::SIGKILL);
    let mut runner = match Runner::setup(&scenario) {
        Ok(r) => r,
        Err(e) => return fatal(&e),
    };
    runner.run()
}

/// Reports a setup failure.
fn fatal(msg: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "hello vmalab-oracle {VERSION}");
    let _ = writeln!(out, "fatal {}", msg.replace('\n', " "));
    let _ = out.flush();
    2
}

/// The last errno.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Makes a raw system call with up to six integer arguments (missing ones
/// are 0) and returns its value or errno.
///
/// Raw calls, not libc wrappers, so the kernel sees exactly the scenario's
/// arguments (glibc's mmap, for one, rejects unaligned offsets itself).
fn raw(nr: libc::c_long, args: &[libc::c_long]) -> Result<i64, i32> {
    let mut a = [0 as libc::c_long; 6];
    for (slot, v) in a.iter_mut().zip(args) {
        *slot = *v;
    }
    // SAFETY: every caller passes integers or pointers to live locals as
    // the call expects, and the window rule (Window::admit) has confirmed
    // that any range the call may change lies inside the scenario window
    // (or is one the kernel rejects in argument checks), so no memory this
    // program uses can be unmapped or altered.
    let ret = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if ret == -1 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

struct Runner<'s> {
    sc: &'s Scenario,
    w: Window,
    /// The scenario's files, by declaration index (none for a SysV
    /// segment, which has no descriptor: calls get -1).
    fds: Vec<Option<OwnedFd>>,
    /// The ids of the scenario's SysV segments, by declaration index.
    segments: Vec<Option<i32>>,
    ids: Identities,
    uffd: Option<Result<uffd::Uffd, i32>>,
    /// The step running now (a `wait` tells the parent where it was).
    current: usize,
    /// The pipes to this process's parent, if it is a fork child.
    up: Option<family::Link>,
    /// The pipes to a child waiting after `in parent`, and its pid.
    down: Option<(family::Link, Pid)>,
    /// Set in a parent whose child waited at this step: the parent goes
    /// on from there.
    resume_at: Option<usize>,
    /// The names bound before the step running now: a child hands them
    /// to the parent it resumes (names belong to the scenario, not to a
    /// process).
    names: Bindings,
    /// Whether a memory policy may show in numa_maps. Until one can, the
    /// runner does not read numa_maps after each step: every policy there
    /// is `default`, and the read cost about a fifth of a fuzz case's time
    /// under qemu.
    policies_may_show: bool,
    /// The last layout this process read, with the /proc/self/maps text
    /// it was read beside and the process that read it.
    last: Option<LastLayout>,
    /// Whether to check kept layouts ([`CHECK_KEPT_ENV`]).
    check_kept: bool,
}

/// A layout kept to answer for steps that cannot change it (see
/// [`LAYOUT_NEUTRAL`]).
struct LastLayout {
    pid: Pid,
    maps: String,
    layout: vmalab_lang::layout::Layout,
}

/// The calls that set a memory policy. A policy can show in numa_maps only
/// after one of them ran (in this process, or in a child, for a shared
/// memory object's policy), or if the runner started with one.
const POLICY_CALLS: &[&str] = &["mbind", "set_mempolicy", "set_mempolicy_home_node"];

/// Steps that change no VMA's flags or protection key unless they also
/// change /proc/self/maps (a touch can grow a stack; nothing else here
/// changes a VMA at all). After one of them, an unchanged maps text means
/// an unchanged layout, and the runner skips smaps, which under qemu
/// costs several times what maps does.
const LAYOUT_NEUTRAL: &[&str] = &[
    "touch",
    "mincore",
    "get_mempolicy",
    "memory-merge-get",
    "status",
    "smaps",
];

impl<'s> Runner<'s> {
    fn setup(sc: &'s Scenario) -> Result<Self, String> {
        let page_size = sysconf(SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|ps| u64::try_from(ps).ok())
            .ok_or("cannot read the page size")?;
        let mut w = reserve_window(sc.window_pages, page_size)?;
        let mut r = Runner {
            sc,
            w,
            fds: Vec::new(),
            segments: Vec::new(),
            ids: Identities::default(),
            uffd: None,
            current: 0,
            up: None,
            down: None,
            resume_at: None,
            names: Bindings::default(),
            policies_may_show: shows_a_policy(
                &std::fs::read_to_string("/proc/self/numa_maps").unwrap_or_default(),
            ),
            last: None,
            check_kept: std::env::var_os(CHECK_KEPT_ENV).is_some(),
        };
        for f in &sc.files {
            let size = f
                .size
                .to_u64(page_size)
                .ok_or_else(|| format!("file {}: size does not fit in 64 bits", f.name))?;
            if f.source == FileSource::Shm {
                let (id, key) = shm::make_segment(size, page_size)
                    .map_err(|e| format!("file {}: {e}", f.name))?;
                r.ids.files.insert(key, f.name.clone());
                r.fds.push(None);
                r.segments.push(Some(id));
                continue;
            }
            let fd =
                make_file(f, size).map_err(|e| format!("file {}: {}", f.name, errno_name(e)))?;
            let st = fstat(&fd).map_err(|_| format!("file {}: fstat failed", f.name))?;
            let (ma, mi) = dev_parts(st.st_dev);
            r.ids.files.insert((ma, mi, st.st_ino), f.name.clone());
            r.fds.push(Some(fd));
            r.segments.push(None);
        }
        touch::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
        stay_on_this_cpu();
        keep_allocations_on_the_heap();
        if legacy_layout() {
            pad_vmas();
        } else {
            w.far = Some(far::claim(page_size)?);
        }
        r.w = w;
        Ok(r)
    }

    fn run(&mut self) -> i32 {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "hello vmalab-oracle {VERSION}");
        if let Ok(u) = nix::sys::utsname::uname() {
            let _ = writeln!(
                out,
                "kernel {} {}",
                u.release().to_string_lossy(),
                u.machine().to_string_lossy()
            );
        }
        let _ = writeln!(
            out,
            "window {:#x} {} {} {:#x}",
            self.w.base,
            self.w.pages,
            self.w.page_size,
            self.w.far.unwrap_or(0)
        );
        let _ = out.flush();
        drop(out);
        let selftest = std::env::var(SELFTEST_ENV).ok();
        let mut names = Bindings::default();
        let mut i = 0;
        while let Some(step) = self.sc.steps.get(i) {
            emit(&format!("begin {i}\n"));
            if let Some(t) = &selftest {
                selftest_fault(t, i);
            }
            self.current = i;
            self.names = names.clone();
            self.policies_may_show |= POLICY_CALLS.contains(&step.kind.spec.keyword);
            let (sc, w) = (self.sc, self.w);
            let mut outcome = run_step(self, &w, &mut names, &sc.files, &step.kind);
            if let Some(at) = self.resume_at.take() {
                // The child ran the steps up to `at`, a `wait`, and exited:
                // this process, its parent, answers that step and goes on
                // with the names the child bound.
                (i, outcome) = (at, Outcome::Ok(Value::Int(0)));
                names = std::mem::take(&mut self.names);
                // The child may have set a shared object's policy.
                self.policies_may_show = true;
            }
            let layout = self.layout_after(step.kind.spec.keyword);
            let mut text = format!("result {i} {}\nlayout {i}\n", encode_outcome(&outcome));
            for e in &layout.0 {
                text.push_str(&format!("{e}\n"));
            }
            text.push_str("end\n");
            emit(&text);
            i += 1;
        }
        emit("done\n");
        0
    }

    /// The window's layout after a step: the last one read, if the step
    /// cannot have changed it and maps agrees; read afresh otherwise.
    fn layout_after(&mut self, keyword: &str) -> vmalab_lang::layout::Layout {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let pid = Pid::this();
        let kept = self
            .last
            .as_ref()
            .filter(|l| LAYOUT_NEUTRAL.contains(&keyword) && l.pid == pid && l.maps == maps)
            .map(|l| l.layout.clone());
        if let Some(layout) = kept {
            if self.check_kept {
                let fresh = self.layout();
                if fresh != layout {
                    eprintln!(
                        "oracle runner: `{keyword}` changed the layout while maps stayed the \
                         same:\nkept:\n{layout}fresh:\n{fresh}"
                    );
                    std::process::exit(3);
                }
            }
            return layout;
        }
        let layout = self.layout();
        self.last = Some(LastLayout {
            pid,
            maps,
            layout: layout.clone(),
        });
        layout
    }

    /// The window's layout now.
    fn layout(&mut self) -> vmalab_lang::layout::Layout {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
        let numa = match self.policies_may_show {
            true => std::fs::read_to_string("/proc/self/numa_maps").unwrap_or_default(),
            false => String::new(),
        };
        window_layout(&smaps, &numa, &self.w, &mut self.ids)
    }

    /// The userfaultfd, opened on first use.
    fn uffd(&mut self) -> Result<&uffd::Uffd, Outcome> {
        let u = self.uffd.get_or_insert_with(uffd::Uffd::open);
        u.as_ref()
            .map_err(|e| Outcome::Skipped(format!("userfaultfd unavailable: {}", errno_name(*e))))
    }
}

/// Set (to any value) when the runner may write sysctls: by `--allow-sysctl`
/// on the host, always inside a booted kernel.
pub const ALLOW_SYSCTL_ENV: &str = "VMALAB_ALLOW_SYSCTL";

/// Set (to any value) to have the runner check each layout it keeps after
/// a layout-neutral step (`LAYOUT_NEUTRAL`) against a fresh read, and stop with an error
/// if they differ: the tests' proof that keeping one is exact.
pub const CHECK_KEPT_ENV: &str = "VMALAB_CHECK_KEPT_LAYOUTS";

/// Environment variable of the runner's self-test hook (used by the
/// integration tests to prove crashes and hangs are reported):
/// `crash:N` aborts and `hang:N` sleeps forever when step N begins.
pub const SELFTEST_ENV: &str = "VMALAB_ORACLE_SELFTEST";

/// Acts on the self-test hook for step `i`.
fn selftest_fault(spec: &str, i: usize) {
    let Some((what, n)) = spec.split_once(':') else {
        return;
    };
    if n.split(':').next().and_then(|n| n.parse::<usize>().ok()) != Some(i) {
        return;
    }
    match what {
        "crash" => std::process::abort(),
        "hang" => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        _ => {}
    }
}

/// Writes protocol text and flushes it (before any fork, so nothing is
/// printed twice).
fn emit(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// Waits for `child` to end; how it ended. A failed wait loses the run.
fn wait_for(child: Pid) -> WaitStatus {
    loop {
        match waitpid(child, None) {
            Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return s,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => {
                emit("child-died lost (waitpid failed)\n");
                std::process::exit(3);
            }
        }
    }
}

/// An errno as a step's outcome.
fn errno_outcome(e: i32) -> Outcome {
    Outcome::Err(errno_name(e))
}

/// Claims the window and leaves two 1-page guards around it.
fn reserve_window(pages: u64, ps: u64) -> Result<Window, String> {
    let total = (pages + 2).checked_mul(ps).ok_or("window too large")?;
    for &base in BASES {
        if base.checked_add(total).is_none_or(|e| e > 0x7fff_ffff_0000) {
            continue;
        }
        let want = base - ps;
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
        let got = unsafe {
            libc::mmap(
                want as *mut libc::c_void,
                total as usize,
                libc::PROT_NONE,
                libc::MAP_SHARED
                    | libc::MAP_ANONYMOUS
                    | libc::MAP_FIXED_NOREPLACE
                    | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if got == libc::MAP_FAILED {
            continue;
        }
        if got as u64 != want {
            // An old kernel treated NOREPLACE as a hint: give it back.
            // SAFETY: unmapping exactly the mapping just created.
            unsafe { libc::munmap(got, total as usize) };
            continue;
        }
        // SAFETY: unmapping the middle of the mapping just created.
        let rc = unsafe { libc::munmap(base as *mut libc::c_void, (pages * ps) as usize) };
        if rc != 0 {
            return Err(format!("cannot open the window: {}", errno_name(errno())));
        }
        return Ok(Window {
            base,
            pages,
            page_size: ps,
            far: None,
        });
    }
    Err("no free window base".into())
}

/// Pins the runner (and the processes it forks) to the CPU it runs on.
/// Reclaim advice takes only the pages on the LRU and the current CPU's
/// batch of pages not yet added to it; a process that moved to another
/// CPU after it faulted pages in (a fork hand-over wakes it while the
/// other process still runs) would leave them in the old CPU's batch and
/// answer at random. Best effort: a failure leaves the runner unpinned.
fn stay_on_this_cpu() {
    // SAFETY: sched_getcpu takes no arguments and only returns a number.
    let cpu = unsafe { libc::sched_getcpu() };
    let Ok(cpu) = usize::try_from(cpu) else {
        return;
    };
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(Pid::from_raw(0), &set);
    }
}

/// Whether the kernel allocates bottom-up for this process (x86's
/// `mmap_is_legacy`: the `ADDR_COMPAT_LAYOUT` personality or
/// `vm.legacy_va_layout`): then there is no far region.
fn legacy_layout() -> bool {
    const ADDR_COMPAT_LAYOUT: libc::c_ulong = 0x0020_0000;
    // SAFETY: 0xffffffff only reads the personality.
    let persona = unsafe { libc::personality(0xffff_ffff) };
    let sysctl = std::fs::read_to_string("/proc/sys/vm/legacy_va_layout")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    (persona >= 0 && persona as libc::c_ulong & ADDR_COMPAT_LAYOUT != 0) || sysctl != 0
}

/// Makes malloc grow the brk heap instead of mapping large blocks of its
/// own: once a scenario has used up `vm.max_map_count`, no new mapping can
/// be made, but the heap still grows in place, so the runner can still
/// read the (then very long) smaps. It also keeps the runner's VMA count
/// constant, as [`pad_vmas`] assumes.
fn keep_allocations_on_the_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes malloc's tunables; no allocation is live
    // across a change that could invalidate it.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
    }
}

/// Brings the runner's VMAs up to [`RUNNER_VMAS`] with one-page PROT_NONE
/// shared anonymous mappings placed by the kernel (outside the window;
/// each is a shmem object of its own, so none merges with anything), so
/// the map count a scenario starts from is the one the model assumes. A
/// runner that already holds more is left as it is (only scenarios that
/// exhaust `vm.max_map_count` can tell).
fn pad_vmas() {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    // The vsyscall page is listed but is no VMA of the process.
    let have = maps.lines().filter(|l| !l.ends_with("[vsyscall]")).count();
    for _ in have..RUNNER_VMAS {
        // SAFETY: a non-fixed mapping never replaces an existing one.
        let _ = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                1,
                libc::PROT_NONE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
    }
}

/// Creates a scenario file: a memfd of `size` bytes (open to seals if
/// asked), `/dev/zero`, a pipe's read end, a directory or a Unix socket;
/// reopened read-only or
/// write-only as declared.
fn make_file(f: &FileDecl, size: u64) -> Result<OwnedFd, i32> {
    let fd = match f.source {
        FileSource::Memfd => {
            let flags = if f.sealable {
                MFdFlags::MFD_ALLOW_SEALING
            } else {
                MFdFlags::empty()
            };
            let fd = memfd_create(f.name.as_str(), flags).map_err(|e| e as i32)?;
            ftruncate(&fd, size as libc::off_t).map_err(|e| e as i32)?;
            fd
        }
        FileSource::DevZero => {
            open("/dev/zero", OFlag::O_RDWR, Mode::empty()).map_err(|e| e as i32)?
        }
        // Reopened below in the declared mode (the read end is while it
        // is, so a write-only open does not wait for a reader).
        FileSource::Pipe => nix::unistd::pipe().map_err(|e| e as i32)?.0,
        FileSource::Dir => {
            open("/", OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).map_err(|e| e as i32)?
        }
        // Always read-write: a socket cannot be reopened by its /proc path.
        FileSource::Socket => {
            let flags = SockFlag::SOCK_CLOEXEC;
            return socket(AddressFamily::Unix, SockType::Stream, flags, None)
                .map_err(|e| e as i32);
        }
        // Made by `shm::make_segment` instead.
        FileSource::Shm => return Err(libc::EINVAL),
        FileSource::Secret => {
            let flags = libc::c_long::from(libc::O_CLOEXEC);
            let fd = raw(vmalab_lang::probe::SYS_MEMFD_SECRET, &[flags])? as i32;
            // SAFETY: the kernel just gave this descriptor; nothing else owns it.
            let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
            // Its size is set once: a declared size of 0 leaves it unset.
            if size != 0 {
                ftruncate(&fd, size as libc::off_t).map_err(|e| e as i32)?;
            }
            fd
        }
    };
    let mode = match (f.readable, f.writable) {
        (true, true) if f.source != FileSource::Pipe => return Ok(fd),
        (true, false) if f.source == FileSource::Dir => return Ok(fd),
        (true, true) => OFlag::O_RDWR,
        (true, false) => OFlag::O_RDONLY,
        (false, true) => OFlag::O_WRONLY,
        (false, false) => OFlag::O_PATH,
    };
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    open(path.as_str(), mode, Mode::empty()).map_err(|e| e as i32)
}

#[cfg(test)]
mod tests {
    use super::{LAYOUT_NEUTRAL, POLICY_CALLS};
    use vmalab_lang::scenario::steps::spec;

    #[test]
    fn policy_calls_and_neutral_steps_are_steps() {
        for word in POLICY_CALLS.iter().chain(LAYOUT_NEUTRAL) {
            assert!(spec(word).is_some(), "{word} is not a step");
        }
    }
}
