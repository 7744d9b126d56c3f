// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab shadow -- CMD`: runs a real program under ptrace and keeps a
//! model address space beside each of its processes. At exec the model is
//! seeded from /proc/PID/smaps; at every memory system call the call is
//! applied to the model too, and the result and the whole address space
//! are compared with the kernel's. The comparison reads /proc/PID/maps
//! (ranges, permissions, offsets, files, names), and smaps, VmFlags
//! included, after every call that may change flags maps does not show
//! and at least every `MAPS_ONLY_RUN` calls: smaps walks every page table
//! of the process and was most of shadowing's cost.
//!
//! Faults are invisible to ptrace but decide merges (a faulted VMA has an
//! `anon_vma`), so before each call the pages of the VMAs it touches are
//! read from /proc/PID/pagemap and an anonymous page the model does not
//! know of is reported to it. Stack growth is taken from the kernel.
//!
//! Where this cannot be exact: a snapshot gives every faulted VMA an
//! `anon_vma` of its own (the kernel's may be shared); calls of several
//! threads are serialised (below), which a program could notice; calls not
//! modelled one by one (shmat, mbind, prctl(PR_SET_VMA), userfaultfd,
//! process_madvise) are followed by taking the layout from the kernel.
//! Memory calls of the threads of one address space are let into the
//! kernel one at a time (a thread entering one while another's is in
//! flight waits stopped), so the model sees them in the kernel's order.
//! Programs run with address-space randomisation off (as `setarch -R`),
//! so that placement can be compared.

mod call;
mod files;
pub mod foreign;
mod procfs;
pub mod trace;

use std::collections::HashMap;
use std::ffi::CString;

use anyhow::{bail, Context};
use nix::sys::ptrace::{self, Event, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use vma::{Access, Mm, SeedProcess, SeedVma, VmFlags};

use call::{show_result, Call, Raw};
use files::Files;
use procfs::{snapshot, snapshot_maps, KernelVma, Pagemap};

/// Options of `vmalab shadow`.
#[derive(Clone, Debug, Default)]
pub struct ShadowOptions {
    /// The program and its arguments.
    pub cmd: Vec<String>,
    /// After a divergence, take the kernel's layout and go on counting.
    pub keep_going: bool,
    /// Print every checked call.
    pub verbose: bool,
    /// A file the program reads as its standard input.
    pub stdin: Option<std::path::PathBuf>,
    /// A deliberate model bug, to show shadowing catches one (tests).
    pub plant: Option<crate::model::PlantedBug>,
    /// Also write the run as a trace (`vmalab record`) to this file.
    pub record: Option<std::path::PathBuf>,
}

/// What a shadowed run found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShadowSummary {
    /// Processes (address spaces) followed.
    pub programs: u64,
    /// Memory calls applied to the model and compared.
    pub calls_checked: u64,
    /// Calls not modelled one by one (the layout was taken from the kernel).
    pub calls_resynced: u64,
    /// Of the calls checked, those compared through smaps, VmFlags
    /// included (the others through maps; see `MAPS_ONLY_RUN`).
    pub calls_with_flags: u64,
    /// The most VMAs one address space had.
    pub peak_vmas: usize,
    pub divergences: u64,
    /// The program's exit status (128 + signal if it was killed).
    pub exit_status: i32,
}

/// The model of one address space and the thread that reads /proc for it.
struct Model {
    mm: Mm,
    pid: i32,
    /// Calls compared through maps alone since smaps was last read.
    since_full: u32,
}

/// At most this many calls in a row are compared through /proc/PID/maps
/// alone (ranges, permissions, offsets, files, names); the next one reads
/// smaps and compares VmFlags too. Calls that may change flags maps does
/// not show always read smaps (see `Call::changes_hidden_flags`), so only
/// a hidden flag wrongly set by mmap, munmap, mprotect or brk (such as
/// VM_ACCOUNT) can be reported up to this many calls late.
const MAPS_ONLY_RUN: u32 = 16;

/// The break the kernel last reported for a process, which a snapshot
/// cannot show (it need not be page aligned); keyed by model.
type Breaks = HashMap<usize, u64>;

/// A traced thread.
struct Tracee {
    model: usize,
    /// Inside a system call (between its entry and exit stops).
    in_call: bool,
    /// The call at entry, if it is a memory call, with its registers.
    call: Option<Call>,
    raw: Option<Raw>,
}

/// Pages of one VMA looked at for anonymous pages (bounds the cost of
/// huge reservations).
const PAGEMAP_LIMIT: u64 = 1 << 16;

struct Shadow {
    opts: ShadowOptions,
    config: vma::Config,
    models: Vec<Option<Model>>,
    tracees: HashMap<i32, Tracee>,
    files: Files,
    summary: ShadowSummary,
    /// Threads seen stopped before their parent's fork event named them.
    early: Vec<i32>,
    /// Divergence found without --keep-going: stop checking.
    stopped_checking: bool,
    breaks: Breaks,
    /// The thread whose memory call is in flight, per model: memory calls
    /// of one address space are let through one at a time, so the model
    /// applies them in the kernel's order.
    busy: HashMap<usize, i32>,
    /// Threads stopped at a memory call's entry, waiting for `busy`.
    parked: HashMap<usize, Vec<i32>>,
    recorder: Option<trace::Recorder>,
}

/// Runs the command; returns the summary. It waits only for the tracees
/// of the calling thread, so several threads may shadow at once.
pub fn shadow(opts: &ShadowOptions) -> anyhow::Result<ShadowSummary> {
    if opts.cmd.is_empty() {
        bail!("no command to run");
    }
    let args: Vec<CString> = opts
        .cmd
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<Result<_, _>>()
        .context("an argument holds a NUL byte")?;
    let host = crate::host::HostConfig::detect();
    let config = crate::model::config_for(&host);
    let stdin = match &opts.stdin {
        Some(p) => Some(std::fs::File::open(p).with_context(|| p.display().to_string())?),
        None => None,
    };
    // SAFETY: the child only calls async-signal-safe functions (ptrace,
    // personality, raise-free execvp) before exec.
    #[allow(unsafe_code)]
    let pid = match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            if let Some(f) = &stdin {
                let _ = nix::unistd::dup2_stdin(f);
            }
            let _ = ptrace::traceme();
            let _ = nix::sys::personality::set(nix::sys::personality::Persona::ADDR_NO_RANDOMIZE);
            let _ = nix::unistd::execvp(&args[0], &args);
            std::process::exit(127);
        }
        ForkResult::Parent { child } => child,
    };
    match waitpid(pid, Some(WaitPidFlag::__WALL)).context("waiting for the program to start")? {
        WaitStatus::Stopped(_, Signal::SIGTRAP) => {}
        WaitStatus::Exited(_, code) => bail!("{} did not start (exit {code})", opts.cmd[0]),
        other => bail!("{} did not start: {other:?}", opts.cmd[0]),
    }
    let options = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_EXITKILL;
    ptrace::setoptions(pid, options).context("PTRACE_SETOPTIONS")?;
    let mut s = Shadow {
        opts: opts.clone(),
        config,
        models: Vec::new(),
        tracees: HashMap::new(),
        files: Files::default(),
        summary: ShadowSummary::default(),
        early: Vec::new(),
        stopped_checking: false,
        breaks: Breaks::new(),
        busy: HashMap::new(),
        parked: HashMap::new(),
        recorder: match &opts.record {
            Some(path) => {
                let f = std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                let out = Box::new(std::io::BufWriter::new(f));
                Some(trace::Recorder::new(out, &host)?)
            }
            None => None,
        },
    };
    let model = s.new_model(pid.as_raw())?;
    s.tracees.insert(
        pid.as_raw(),
        Tracee {
            model,
            in_call: false,
            call: None,
            raw: None,
        },
    );
    s.run(pid)?;
    if let Some(r) = &mut s.recorder {
        r.flush().context("writing the trace")?;
    }
    Ok(s.summary)
}

impl Shadow {
    /// A model seeded from the process's current address space.
    fn new_model(&mut self, pid: i32) -> anyhow::Result<usize> {
        let mm = self.seeded(self.models.len(), pid, None)?;
        self.summary.programs += 1;
        self.models.push(Some(Model {
            mm,
            pid,
            since_full: 0,
        }));
        Ok(self.models.len() - 1)
    }

    /// An address space like `pid`'s now; `brk` is its break if known
    /// (else start_brk, as right after exec).
    fn seeded(&mut self, space: usize, pid: i32, brk: Option<u64>) -> anyhow::Result<Mm> {
        let snap = snapshot(pid)?;
        let mut pm = Pagemap::open(pid)?;
        let task_size = self.config.task_size;
        let mut seeds = Vec::new();
        for v in snap.iter().filter(|v| v.is_user(task_size)) {
            let file = (v.key.2 != 0).then(|| self.files.for_vma(pid, v));
            let private = v.perms.ends_with('p');
            seeds.push(SeedVma {
                start: v.start,
                end: v.end,
                pgoff: SeedVma::pgoff_from_maps(v.start, v.offset, file.is_some()),
                flags: flags_of(v),
                faulted: private && pm.first_anon_page(v.start, v.end, PAGEMAP_LIMIT).is_some(),
                file,
            });
        }
        let start_brk = procfs::start_brk(pid).unwrap_or(0);
        let brk = brk.unwrap_or(start_brk);
        let stack = snap.iter().find(|v| v.path == "[stack]");
        let process = SeedProcess {
            start_brk,
            brk,
            start_stack: stack.map(|v| v.end - 4096),
            mmap_base: Some(mmap_base(&self.config)),
        };
        if let Some(r) = &mut self.recorder {
            for v in &snap {
                if let Some(f) = seeds
                    .iter()
                    .find(|s| s.start == v.start)
                    .and_then(|s| s.file.as_ref())
                {
                    r.file(f, v.key)?;
                }
            }
            r.seed(space, &seeds, &process)?;
        }
        let mut mm = Mm::new(self.config.clone());
        mm.seed(&seeds, process)
            .map_err(|e| anyhow::anyhow!("seeding the model of process {pid}: {e:?}"))?;
        self.summary.peak_vmas = self.summary.peak_vmas.max(mm.map_count());
        Ok(mm)
    }

    fn run(&mut self, first: Pid) -> anyhow::Result<()> {
        ptrace::syscall(first, None).context("PTRACE_SYSCALL")?;
        loop {
            let status = match waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD)) {
                Ok(s) => s,
                Err(nix::errno::Errno::ECHILD) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => bail!("waitpid: {e}"),
            };
            match status {
                WaitStatus::PtraceSyscall(pid) => {
                    let parked = !self.syscall_stop(pid.as_raw());
                    if !parked {
                        let _ = ptrace::syscall(pid, None);
                    }
                }
                WaitStatus::PtraceEvent(pid, _, event) => {
                    self.event(pid.as_raw(), event);
                    let _ = ptrace::syscall(pid, None);
                }
                WaitStatus::Stopped(pid, sig) => {
                    let tid = pid.as_raw();
                    if !self.tracees.contains_key(&tid) {
                        // A new thread's first stop, before its parent's event.
                        self.early.push(tid);
                        continue;
                    }
                    let inject = (sig != Signal::SIGSTOP && sig != Signal::SIGTRAP).then_some(sig);
                    let _ = ptrace::syscall(pid, inject);
                }
                WaitStatus::Exited(pid, code) => {
                    self.gone(pid.as_raw(), first.as_raw(), code);
                }
                WaitStatus::Signaled(pid, sig, _) => {
                    self.gone(pid.as_raw(), first.as_raw(), 128 + sig as i32);
                }
                _ => {}
            }
        }
    }

    fn gone(&mut self, tid: i32, first: i32, status: i32) {
        if let Some(t) = self.tracees.remove(&tid) {
            if self.busy.get(&t.model) == Some(&tid) {
                self.release(t.model);
            }
            if let Some(q) = self.parked.get_mut(&t.model) {
                q.retain(|&p| p != tid);
            }
        }
        if tid == first {
            self.summary.exit_status = status;
        }
    }

    /// fork, vfork, clone and exec.
    fn event(&mut self, tid: i32, event: i32) {
        let Some(parent_model) = self.tracees.get(&tid).map(|t| t.model) else {
            return;
        };
        if event == Event::PTRACE_EVENT_EXEC as i32 {
            // The thread that execs becomes the process: a new address space.
            match self.new_model(tid) {
                Ok(m) => {
                    if let Some(t) = self.tracees.get_mut(&tid) {
                        t.model = m;
                        t.in_call = true; // the execve's exit stop follows
                        t.call = None;
                    }
                }
                Err(e) => eprintln!("shadow: {e:#}"),
            }
            return;
        }
        let is_new = [
            Event::PTRACE_EVENT_FORK,
            Event::PTRACE_EVENT_VFORK,
            Event::PTRACE_EVENT_CLONE,
        ]
        .iter()
        .any(|e| *e as i32 == event);
        if !is_new {
            return;
        }
        let Ok(new) = ptrace::getevent(Pid::from_raw(tid)) else {
            return;
        };
        let new = new as i32;
        let shares = event == Event::PTRACE_EVENT_VFORK as i32
            || (event == Event::PTRACE_EVENT_CLONE as i32 && shares_mm(tid, new));
        let model = if shares {
            parent_model
        } else {
            self.fork_model(parent_model, tid, new)
        };
        if let Some(&b) = self.breaks.get(&parent_model) {
            self.breaks.entry(model).or_insert(b);
        }
        self.tracees.insert(
            new,
            Tracee {
                model,
                in_call: false, // a new thread's first syscall stop is an entry
                call: None,
                raw: None,
            },
        );
        if let Some(i) = self.early.iter().position(|&t| t == new) {
            self.early.swap_remove(i);
            let _ = ptrace::syscall(Pid::from_raw(new), None);
        }
    }

    /// The child's model: `fork()` of the parent's, after bringing the
    /// parent's `anon_vma`s up to date (they decide the child's).
    fn fork_model(&mut self, parent_model: usize, parent: i32, child: i32) -> usize {
        self.files.inherit(parent, child);
        let Some(Some(m)) = self.models.get_mut(parent_model) else {
            return parent_model;
        };
        if let Ok(mut pm) = Pagemap::open(parent) {
            let noted = sync_faults(&mut m.mm, &mut pm, 0, u64::MAX);
            record_faults(&mut self.recorder, parent_model, &noted);
        }
        match m.mm.fork() {
            Ok(mm) => {
                if let Some(r) = &mut self.recorder {
                    let _ = r.fork(self.models.len(), parent_model);
                }
                self.summary.programs += 1;
                self.models.push(Some(Model {
                    mm,
                    pid: child,
                    since_full: 0,
                }));
                self.models.len() - 1
            }
            Err(_) => match self.seeded(
                self.models.len(),
                child,
                self.breaks.get(&parent_model).copied(),
            ) {
                Ok(mm) => {
                    self.models.push(Some(Model {
                        mm,
                        pid: child,
                        since_full: 0,
                    }));
                    self.models.len() - 1
                }
                Err(_) => parent_model,
            },
        }
    }

    /// A syscall stop; false if the thread must stay stopped (parked
    /// until another thread's memory call on the same address space ends).
    fn syscall_stop(&mut self, tid: i32) -> bool {
        let Ok(regs) = ptrace::getregs(Pid::from_raw(tid)) else {
            return true;
        };
        let Some(t) = self.tracees.get_mut(&tid) else {
            return true;
        };
        if !t.in_call {
            t.in_call = true;
            let raw = Raw {
                nr: regs.orig_rax,
                args: [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9],
            };
            t.call = Call::decode(&raw);
            t.raw = Some(raw);
            let (model, call) = (t.model, t.call);
            let Some(call) = call else {
                return true;
            };
            if self.busy.get(&model).is_some_and(|&other| other != tid) {
                self.parked.entry(model).or_default().push(tid);
                return false;
            }
            self.busy.insert(model, tid);
            if !self.stopped_checking {
                self.before(model, tid, &call);
            }
        } else {
            t.in_call = false;
            let (model, call, raw) = (t.model, t.call.take(), t.raw.take());
            if let (Some(call), Some(raw)) = (call, raw) {
                if !self.stopped_checking {
                    self.after(model, tid, &call, &raw, regs.rax as i64);
                }
                self.release(model);
            }
        }
        true
    }

    /// The memory call in flight on `model` ended: the next parked thread
    /// may make its call.
    fn release(&mut self, model: usize) {
        self.busy.remove(&model);
        let next = self
            .parked
            .get_mut(&model)
            .and_then(|q| (!q.is_empty()).then(|| q.remove(0)));
        if let Some(tid) = next {
            self.busy.insert(model, tid);
            let call = self.tracees.get(&tid).and_then(|t| t.call);
            if let (Some(call), false) = (call, self.stopped_checking) {
                self.before(model, tid, &call);
            }
            let _ = ptrace::syscall(Pid::from_raw(tid), None);
        }
    }

    /// Before a call: tell the model of anonymous pages in what it touches.
    fn before(&mut self, model: usize, tid: i32, call: &Call) {
        let Some(Some(m)) = self.models.get_mut(model) else {
            return;
        };
        let Ok(mut pm) = Pagemap::open(tid) else {
            return;
        };
        for (s, e) in call.ranges() {
            let noted = sync_faults(
                &mut m.mm,
                &mut pm,
                s.saturating_sub(4096),
                e.saturating_add(4096),
            );
            record_faults(&mut self.recorder, model, &noted);
        }
    }

    /// After a call: apply it to the model and compare.
    fn after(&mut self, model: usize, tid: i32, call: &Call, raw: &Raw, kernel: i64) {
        let file = match call {
            Call::Mmap { flags, fd, .. } if flags & 0x20 == 0 => self.files.for_fd(tid, *fd),
            _ => None,
        };
        if let (Some(r), Some(f)) = (&mut self.recorder, &file) {
            if let Some(key) = self.files.known_key(f) {
                let _ = r.file(f, key);
            }
        }
        let Some(Some(m)) = self.models.get_mut(model) else {
            return;
        };
        m.pid = tid;
        if let (Some((s, e)), Ok(mut pm)) = (call.placed_range(kernel), Pagemap::open(tid)) {
            let noted = sync_faults(
                &mut m.mm,
                &mut pm,
                s.saturating_sub(4096),
                e.saturating_add(4096),
            );
            record_faults(&mut self.recorder, model, &noted);
        }
        let planted = plant(self.opts.plant, *call);
        let Some(result) = planted.apply(&mut m.mm, file.as_ref()) else {
            self.summary.calls_resynced += 1;
            self.resync(model, tid);
            return;
        };
        self.summary.calls_checked += 1;
        if let Call::Brk { .. } = call {
            self.breaks.insert(model, kernel as u64);
        }
        // Smaps costs a page-table walk of the whole process; maps does not.
        let full = self.recorder.is_some()
            || call.changes_hidden_flags()
            || m.since_full + 1 >= MAPS_ONLY_RUN;
        let read = if full { snapshot } else { snapshot_maps };
        let Ok(snap) = read(tid) else {
            return;
        };
        if full {
            m.since_full = 0;
            self.summary.calls_with_flags += 1;
        } else {
            m.since_full += 1;
        }
        let task_size = self.config.task_size;
        let kernel_vmas: Vec<&KernelVma> = snap.iter().filter(|v| v.is_user(task_size)).collect();
        grow_stack_like(&mut m.mm, &kernel_vmas);
        self.summary.peak_vmas = self.summary.peak_vmas.max(m.mm.map_count());
        let kernel_lines: Vec<String> = kernel_vmas.iter().map(|v| kernel_line(v)).collect();
        let files = &mut self.files;
        let mut model_lines =
            layout_lines(&m.mm, &kernel_lines, &mut |f, seen| files.key_of(f, seen));
        if !full {
            model_lines.iter_mut().for_each(drop_flags);
        }
        if let Some(r) = &mut self.recorder {
            let _ = r.call(model, raw, file.as_ref(), kernel, &kernel_lines);
        }
        if self.opts.verbose {
            say(format_args!(
                "shadow: [{tid}] {call} = {}\n",
                show_result(kernel)
            ));
        }
        if result == kernel && model_lines == kernel_lines {
            return;
        }
        self.summary.divergences += 1;
        say(format_args!(
            "shadow: divergence in process {tid} at {call}\n"
        ));
        say(format_args!("  kernel: {}\n", show_result(kernel)));
        say(format_args!("  model:  {}\n", show_result(result)));
        say(format_args!(
            "{}",
            differing_lines(&kernel_lines, &model_lines)
        ));
        if self.opts.keep_going {
            self.resync(model, tid);
        } else {
            say(format_args!(
                "shadow: stopped checking (use --keep-going to go on)\n"
            ));
            self.stopped_checking = true;
        }
    }

    /// Takes the kernel's layout as the model's.
    fn resync(&mut self, model: usize, tid: i32) {
        match self.seeded(model, tid, self.breaks.get(&model).copied()) {
            Ok(mm) => {
                if let Some(Some(m)) = self.models.get_mut(model) {
                    m.mm = mm;
                }
            }
            Err(e) => eprintln!("shadow: {e:#}"),
        }
    }
}

/// The call as a planted model bug would apply it.
fn plant(bug: Option<crate::model::PlantedBug>, call: Call) -> Call {
    match (bug, call) {
        (
            Some(crate::model::PlantedBug::MprotectDropsExec),
            Call::Mprotect {
                addr,
                len,
                prot,
                pkey,
            },
        ) => Call::Mprotect {
            addr,
            len,
            prot: prot & !vma::sys::consts::PROT_EXEC,
            pkey,
        },
        // An mlock of nothing changes nothing.
        (Some(crate::model::PlantedBug::MlockLocksNothing), Call::Mlock { addr, .. }) => {
            Call::Mlock {
                addr,
                len: 0,
                flags: 0,
            }
        }
        _ => call,
    }
}

/// Reports to the model the anonymous pages of private VMAs in
/// `[start, end)` that it does not know of.
fn sync_faults(mm: &mut Mm, pm: &mut Pagemap, start: u64, end: u64) -> Vec<u64> {
    let unfaulted: Vec<(u64, u64)> = mm
        .vmas()
        .filter(|(_, v)| v.end > start && v.start < end)
        .filter(|(_, v)| !v.flags.contains(VmFlags::SHARED) && v.anon_vma.is_none())
        .map(|(_, v)| (v.start, v.end))
        .collect();
    let mut noted = Vec::new();
    for (s, e) in unfaulted {
        if let Some(page) = pm.first_anon_page(s, e, PAGEMAP_LIMIT) {
            if mm.note_anon_fault(page).is_ok() {
                noted.push(page);
            }
        }
    }
    noted
}

/// Writes the faults reported to a model to the trace, if one is kept.
fn record_faults(recorder: &mut Option<trace::Recorder>, model: usize, noted: &[u64]) {
    if let Some(r) = recorder {
        for &a in noted {
            let _ = r.fault(model, a);
        }
    }
}

/// Grows the model's stack to where the kernel's has grown by faults.
fn grow_stack_like(mm: &mut Mm, kernel: &[&KernelVma]) {
    let Some(k) = kernel.iter().find(|v| v.path == "[stack]") else {
        return;
    };
    if let Some(id) = mm.vma_at(k.end - 1) {
        if mm.get(id).is_some_and(|v| v.start > k.start) {
            let _ = mm.fault(k.start, Access::Read);
        }
    }
}

/// `kcmp(KCMP_VM)`: the two threads share one address space.
#[allow(unsafe_code)]
fn shares_mm(a: i32, b: i32) -> bool {
    const KCMP_VM: libc::c_long = 1;
    // SAFETY: kcmp takes only integer arguments and reads no user memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            a as libc::c_long,
            b as libc::c_long,
            KCMP_VM,
            0 as libc::c_long,
            0 as libc::c_long,
        )
    };
    r == 0
}

/// The VM_* flags a smaps line shows.
fn flags_of(v: &KernelVma) -> VmFlags {
    v.flags
        .iter()
        .filter_map(|m| VmFlags::from_mnemonic(m))
        .fold(VmFlags::NONE, |a, b| a | b)
}

/// x86's `mmap_base` without randomisation: below the stack by the stack
/// rlimit plus the guard gap, at least 128 MiB and at most 5/6 of the
/// address space.
fn mmap_base(c: &vma::Config) -> u64 {
    let task = (1u64 << 47) - 4096;
    let gap = c
        .rlimits
        .stack
        .saturating_add(c.stack_guard_gap)
        .clamp(128 << 20, task / 6 * 5);
    (task - gap) & !4095
}

/// A kernel VMA as a comparison line.
fn kernel_line(v: &KernelVma) -> String {
    let (ma, mi, ino) = v.key;
    format!(
        "{:x}-{:x} {} {:08x} {ma:02x}:{mi:02x} {ino} [{}]",
        v.start,
        v.end,
        v.perms,
        v.offset,
        v.flags.join(" ")
    )
}

/// A comparison line with its VmFlags left out (`[]`), as a line from
/// /proc/PID/maps reads.
fn drop_flags(line: &mut String) {
    if let Some(at) = line.rfind(" [") {
        line.truncate(at);
        line.push_str(" []");
    }
}

/// The model's VMAs as comparison lines (the form of [`kernel_line`]),
/// files named by kernel identity through `key_of`, which is also told
/// the identity the kernel shows at the same address (to bind a file the
/// model made itself, such as a shared anonymous mapping's object).
pub(crate) fn layout_lines(
    mm: &Mm,
    kernel: &[String],
    key_of: &mut dyn FnMut(
        &vma::File,
        crate::oracle::smaps::FileKey,
    ) -> crate::oracle::smaps::FileKey,
) -> Vec<String> {
    mm.vmas()
        .map(|(_, v)| {
            let e = mm.map_entry(v);
            let perms = String::from_utf8_lossy(&e.perms).into_owned();
            let (ma, mi, ino) = match &v.file {
                None => (0, 0, 0),
                Some(f) => key_of(f, seen_key(kernel, v.start)),
            };
            let offset = if v.file.is_some() { v.pgoff * 4096 } else { 0 };
            format!(
                "{:x}-{:x} {perms} {offset:08x} {ma:02x}:{mi:02x} {ino} [{}]",
                v.start,
                v.end,
                v.flags.smaps()
            )
        })
        .collect()
}

/// The file identity a kernel line starting at `start` shows.
fn seen_key(kernel: &[String], start: u64) -> crate::oracle::smaps::FileKey {
    let prefix = format!("{start:x}-");
    kernel
        .iter()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            let (ma, mi) = w.get(3)?.split_once(':')?;
            Some((
                u32::from_str_radix(ma, 16).ok()?,
                u32::from_str_radix(mi, 16).ok()?,
                w.get(4)?.parse().ok()?,
            ))
        })
        .unwrap_or((0, 0, 0))
}

/// The lines that differ, kernel then model.
pub(crate) fn differing_lines(kernel: &[String], model: &[String]) -> String {
    let n = kernel.len().max(model.len());
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..n {
        let (k, m) = (kernel.get(i), model.get(i));
        if k != m {
            out.push_str(&format!(
                "  kernel {}\n  model  {}\n",
                k.map_or("-", |s| s.as_str()),
                m.map_or("-", |s| s.as_str())
            ));
            shown += 1;
            if shown >= 8 {
                out.push_str("  ...\n");
                break;
            }
        }
    }
    out
}

/// Prints a report. The traced program shares stdout; if its reader went
/// away (`vmalab shadow ... | head`), reports are dropped without a panic
/// and the program runs on under the checker, whose exit status still
/// tells whether the model diverged.
fn say(args: std::fmt::Arguments) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_fmt(args);
}
