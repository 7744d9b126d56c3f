// SPDX-License-Identifier: GPL-2.0-or-later
//! Runs a scenario on the model: the same window (with the same guards),
//! the same window rule, each step as the `vma` system call it names, and
//! the layout after each step.

use super::config::config_for;
use super::content::{Content, FileContent};
use super::layout::{window_layout, FileNames};
use crate::host::HostConfig;
use crate::outcome::{Outcome, Value};
use crate::scenario::{Access as TouchAccess, FdArg, Scenario, StepKind};
use crate::trace::{StepResult, Trace};
use crate::window::{off_arg, Admission, Window};
use vma::sys::consts::{MAP_ANONYMOUS, MAP_FIXED, MAP_SHARED, PROT_NONE};
use vma::{Access, Errno, File, FileKind, Mm, Signal};

/// Where the model puts its window: the oracle's first choice (16 TiB).
pub const MODEL_WINDOW_BASE: u64 = 0x1000_0000_0000;

/// A model run: the trace, the window, and the final address space (for
/// printing it whole, e.g. as /proc/PID/maps).
pub struct ModelTrace {
    pub trace: Trace,
    pub window: Window,
    pub maps: Option<vma::Maps>,
    /// The final address space itself (for explaining it).
    pub mm: Option<Mm>,
}

/// A deliberate model bug, to show that the checker and the fuzzer catch
/// divergences (used by their tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedBug {
    /// `mprotect` loses `PROT_EXEC`.
    MprotectDropsExec,
}

/// How to run the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelOptions {
    pub plant: Option<PlantedBug>,
}

/// One process of the run (the parent stays alive after `fork`, holding
/// its `anon_vma`s, as the kernel's parent does while it waits).
struct Proc {
    mm: Mm,
    content: Content,
}

/// What every process of a run shares: the files and their contents.
struct Shared<'a> {
    files: &'a [(String, File)],
    content: FileContent,
}

/// Runs `scenario` on a model of `host`'s kernel.
pub fn run_model(scenario: &Scenario, host: &HostConfig) -> ModelTrace {
    run_model_with(scenario, host, &ModelOptions::default())
}

/// Runs `scenario` on a model of `host`'s kernel with `opts`.
pub fn run_model_with(scenario: &Scenario, host: &HostConfig, opts: &ModelOptions) -> ModelTrace {
    let window = Window {
        base: MODEL_WINDOW_BASE,
        pages: scenario.window_pages,
        page_size: host.page_size,
    };
    let mut trace = Trace {
        page_size: host.page_size,
        steps: Vec::new(),
        skipped: host.unmet(scenario),
        features: host.features,
        kernel: host.version,
    };
    if trace.skipped.is_some() {
        return ModelTrace {
            trace,
            window,
            maps: None,
            mm: None,
        };
    }
    let mut names = FileNames::default();
    let mut files = Vec::new();
    for f in &scenario.files {
        let pages = (f.size.value(host.page_size).max(0) as u64).div_ceil(host.page_size);
        let file = File::new(
            &format!("/memfd:{} (deleted)", f.name),
            pages,
            FileKind::Shmem,
            true,
            f.writable,
        );
        names.declared.insert(file.inner().ino, f.name.clone());
        files.push((f.name.clone(), file));
    }
    let mut mm = Mm::new(config_for(host));
    place_guards(&mut mm, &window);
    let mut proc = Proc {
        mm,
        content: Content::default(),
    };
    let mut ancestors = Vec::new();
    let mut shared = Shared {
        files: &files,
        content: FileContent::default(),
    };
    // The userfaultfd belongs to the process that opened it (on first
    // use): after a fork the child's registrations act on the parent.
    let mut uffd_owner: Option<usize> = None;
    for (index, step) in scenario.steps.iter().enumerate() {
        let mut outcome = match window.admit(&step.kind) {
            Admission::Skip(why) => Outcome::Skipped(why),
            Admission::Refuse(why) => Outcome::Refused(why),
            Admission::Run => match &step.kind {
                StepKind::Fork => match proc.mm.fork() {
                    Ok(child) => {
                        let content = proc.content.clone();
                        ancestors.push(std::mem::replace(&mut proc, Proc { mm: child, content }));
                        let mm = &proc.mm;
                        proc.content
                            .retain(|a| mm.vma_at(a).is_some_and(|v| !wiped(mm, v)));
                        Outcome::Ok(Value::Int(0))
                    }
                    Err(e) => errno(e),
                },
                StepKind::UffdRegister { .. } | StepKind::UffdUnregister { .. } => {
                    let owner = *uffd_owner.get_or_insert(ancestors.len());
                    let target = if owner == ancestors.len() {
                        &mut proc
                    } else {
                        &mut ancestors[owner]
                    };
                    run_step(target, &step.kind, &window, &mut shared, opts)
                }
                kind => {
                    proc.mm.take_undetermined();
                    let outcome = run_step(&mut proc, kind, &window, &mut shared, opts);
                    // What the step threw away is gone before a later step
                    // maps the same pages again (a populate after
                    // MADV_REMOVE must not bring back the old bytes).
                    proc.content
                        .sync(&proc.mm, &mut shared.content, window.page_size);
                    proc.content
                        .adopt_copies(&proc.mm, &shared.content, window.page_size);
                    if proc.mm.take_undetermined() {
                        Outcome::Undetermined("depends on what reclaim took".into())
                    } else {
                        outcome
                    }
                }
            },
        };
        let mut layout = window_layout(&proc.mm, &window, &mut names);
        if proc.mm.process.pkey_rights[0] & 1 != 0 {
            // The thread lost access to protection key 0, i.e. to all its
            // ordinary memory (pkey_free(0) and an execute-only mapping
            // taking key 0): it dies on its next access.
            outcome = Outcome::ChildCrash("runner killed by SIGSEGV".into());
            layout = Default::default();
        }
        let stop = matches!(outcome, Outcome::Refused(_) | Outcome::ChildCrash(_));
        trace.steps.push(StepResult {
            index,
            outcome,
            layout,
        });
        if stop {
            break;
        }
    }
    let maps = Some(proc.mm.maps());
    drop(ancestors);
    ModelTrace {
        trace,
        window,
        maps,
        mm: Some(proc.mm),
    }
}

/// A fork child's `VM_WIPEONFORK` memory reads as zero.
fn wiped(mm: &Mm, v: vma::VmaId) -> bool {
    mm.get(v).unwrap().flags.contains(vma::VmFlags::WIPEONFORK)
}

/// The one userfaultfd context the oracle's runner opens.
const UFFD_CTX: vma::UffdCtx = vma::UffdCtx(1);

/// The oracle's one-page PROT_NONE shared-anonymous guards on both sides.
fn place_guards(mm: &mut Mm, w: &Window) {
    let flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
    let _ = mm.mmap(w.base - w.page_size, w.page_size, PROT_NONE, flags, None, 0);
    let _ = mm.mmap(w.end(), w.page_size, PROT_NONE, flags, None, 0);
}

fn errno(e: Errno) -> Outcome {
    Outcome::Err(e.name().map_or_else(|| format!("E{}", e.0), str::to_string))
}

fn unit(r: Result<(), Errno>) -> Outcome {
    match r {
        Ok(()) => Outcome::Ok(Value::Int(0)),
        Err(e) => errno(e),
    }
}

/// Executes one admitted step on the current process.
fn run_step(
    p: &mut Proc,
    step: &StepKind,
    w: &Window,
    shared: &mut Shared,
    opts: &ModelOptions,
) -> Outcome {
    let addr = |a| w.resolve(a).unwrap_or(0);
    let len = |l| w.length(l).unwrap_or(u64::MAX);
    let mm = &mut p.mm;
    match step {
        StepKind::Mmap {
            addr: a,
            len: l,
            prot,
            flags,
            fd,
            off,
        } => {
            let file = match fd {
                FdArg::File(n) => shared
                    .files
                    .iter()
                    .find(|(name, _)| name == n)
                    .map(|(_, f)| f),
                FdArg::Raw(_) => None,
            };
            let (start, length) = (addr(a), len(l));
            match mm.mmap(
                start,
                length,
                prot.value as u32,
                flags.value as u32,
                file,
                off_arg(off, w.page_size),
            ) {
                Ok(at) => {
                    p.content.clear(at, at.saturating_add(length));
                    Outcome::Ok(w.value_of(at))
                }
                Err(e) => errno(e),
            }
        }
        StepKind::Munmap { addr: a, len: l } => {
            let r = unit(mm.munmap(addr(a), len(l)));
            forget_unmapped(p);
            r
        }
        StepKind::Mprotect {
            addr: a,
            len: l,
            prot,
        } => {
            let mut prot = prot.value as u32;
            if opts.plant == Some(PlantedBug::MprotectDropsExec) {
                prot &= !vma::sys::consts::PROT_EXEC;
            }
            unit(mm.mprotect(addr(a), len(l), prot))
        }
        StepKind::PkeyMprotect {
            addr: a,
            len: l,
            prot,
            pkey,
        } => unit(mm.pkey_mprotect(addr(a), len(l), prot.value as u32, *pkey as i32)),
        StepKind::Touch { access, addr: a } => {
            let at = addr(a);
            let acc = match access {
                TouchAccess::Read => Access::Read,
                TouchAccess::Write => Access::Write,
            };
            // Before the access maps the page again: forget what was discarded.
            p.content.sync(mm, &mut shared.content, w.page_size);
            let fault = mm.fault(at, acc);
            p.content.adopt_copies(mm, &shared.content, w.page_size);
            match fault {
                Ok(()) => match access {
                    TouchAccess::Read => Outcome::Ok(Value::Int(p.content.read(
                        mm,
                        &mut shared.content,
                        at,
                        w.page_size,
                    ))),
                    TouchAccess::Write => {
                        p.content.write(mm, &mut shared.content, at, w.page_size);
                        Outcome::Ok(Value::Int(0))
                    }
                },
                Err(sig) => signal(sig),
            }
        }
        StepKind::Mremap {
            addr: a,
            old_len,
            new_len,
            flags,
            new_addr,
        } => {
            let align = |l: u64| l.wrapping_add(w.page_size - 1) & !(w.page_size - 1);
            let call = RemapCall {
                old: addr(a),
                old_len: len(old_len),
                new_len: len(new_len),
                flags: flags.value as u32,
                new_addr: new_addr.as_ref().map_or(0, addr),
            };
            let pieces = mapped_pieces(mm, call.old, align(call.old_len));
            let target = mapped_pieces(mm, call.new_addr, align(call.old_len));
            let r = mm.mremap(
                call.old,
                call.old_len,
                call.new_len,
                call.flags,
                call.new_addr,
            );
            // Content moves by whole pages, as the kernel aligns lengths.
            let call = RemapCall {
                old_len: align(call.old_len),
                new_len: align(call.new_len),
                ..call
            };
            carry_content(p, &call, (&pieces, &target), r);
            match r {
                Ok(at) => Outcome::Ok(w.value_of(at)),
                Err(e) => errno(e),
            }
        }
        StepKind::PkeyAlloc { flags, access } => match mm.pkey_alloc(flags.value, access.value) {
            Ok(k) => Outcome::Ok(Value::Int(i64::from(k))),
            Err(e) => errno(e),
        },
        StepKind::PkeyFree { pkey } => unit(mm.pkey_free(*pkey)),
        StepKind::Madvise {
            addr: a,
            len: l,
            advice,
        } => unit(mm.madvise(addr(a), len(l), advice.value as i32)),
        StepKind::Mlock { addr: a, len: l } => unit(mm.mlock(addr(a), len(l))),
        StepKind::Mlock2 {
            addr: a,
            len: l,
            flags,
        } => unit(mm.mlock2(addr(a), len(l), flags.value as u32)),
        StepKind::Munlock { addr: a, len: l } => unit(mm.munlock(addr(a), len(l))),
        StepKind::Mlockall { flags } => unit(mm.mlockall(flags.value as u32)),
        StepKind::Munlockall => unit(mm.munlockall()),
        StepKind::Mseal {
            addr: a,
            len: l,
            flags,
        } => unit(mm.mseal(addr(a), len(l), flags.value)),
        StepKind::Mbind {
            addr: a,
            len: l,
            mode,
            nodes,
            flags,
        } => {
            // The model's node mask has 64 bits; a higher node is never
            // online, so it only matters if it is the only one (EINVAL).
            let list = nodes.as_deref().unwrap_or(&[]);
            let mut mask = 0u64;
            for &n in list {
                mask |= 1u64.checked_shl(n).unwrap_or(0);
            }
            if mask == 0 && !list.is_empty() {
                mask = 1 << 63;
            }
            unit(mm.mbind(addr(a), len(l), mode.value as u32, mask, flags.value as u32))
        }
        StepKind::UffdRegister {
            addr: a,
            len: l,
            modes,
        } => unit(mm.uffd_register(UFFD_CTX, addr(a), len(l), modes.value)),
        StepKind::UffdUnregister { addr: a, len: l } => {
            unit(mm.uffd_unregister(UFFD_CTX, addr(a), len(l)))
        }
        StepKind::SetAnonName {
            addr: a,
            len: l,
            name,
        } => unit(mm.prctl_set_vma_anon_name(addr(a), len(l), name.as_deref())),
        StepKind::MemoryMerge { on } => unit(mm.prctl_set_memory_merge(*on)),
        StepKind::Brk { .. } => Outcome::Skipped("brk: the heap is outside the window".into()),
        StepKind::Fork => Outcome::Skipped("fork runs in the scenario loop".into()),
    }
}

/// The arguments of one `mremap` step, resolved.
struct RemapCall {
    old: u64,
    old_len: u64,
    new_len: u64,
    flags: u32,
    new_addr: u64,
}

/// A mapped range `[start, end)`.
type Piece = (u64, u64);

/// The mapped pieces of `[start, start + len)`, before a remap moves them.
fn mapped_pieces(mm: &Mm, start: u64, len: u64) -> Vec<(u64, u64)> {
    let end = start.saturating_add(len);
    let mut pieces = Vec::new();
    let mut at = start;
    while let Some(id) = mm.find_vma_intersection(at, end) {
        let v = mm.get(id).unwrap();
        pieces.push((v.start.max(start), v.end.min(end)));
        at = v.end;
    }
    pieces
}

/// Private memory follows its pages through an `mremap`: each mapped piece
/// of the source that moved lands at the same offset from the destination
/// (replacing what a fixed move unmapped there); with `MREMAP_DONTUNMAP`
/// the source reads zero after. A failed multi-VMA move has carried the
/// pieces it moved before failing.
fn carry_content(
    p: &mut Proc,
    c: &RemapCall,
    (pieces, target): (&[Piece], &[Piece]),
    r: Result<u64, Errno>,
) {
    use vma::sys::consts::{MREMAP_DONTUNMAP, MREMAP_FIXED};
    let moves = c.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0;
    let fixed = c.flags & MREMAP_FIXED != 0;
    // A failure that left the target range as it was (an argument check)
    // moved nothing.
    let target_untouched = || mapped_pieces(&p.mm, c.new_addr, c.old_len) == target;
    let (to, limit) = match r {
        Ok(at) if at != c.old || moves => (at, c.new_len),
        Err(_) if fixed && !target_untouched() => (c.new_addr, c.old_len),
        _ => {
            forget_unmapped(p);
            return;
        }
    };
    // A successful move of one VMA lands in a range that held nothing
    // before (free, or unmapped by MREMAP_FIXED): no byte there survives,
    // even where no piece lands (the grown part, which a locked VMA
    // populates at once). A move of several pieces (or with holes) unmaps
    // only where each piece lands.
    let one_vma = pieces == [(c.old, c.old.saturating_add(c.old_len))];
    if r.is_ok() && one_vma {
        p.content.clear(to, to.saturating_add(c.new_len));
    }
    let limit = c.old.saturating_add(limit);
    for &(s, e) in pieces {
        let e = e.min(limit);
        let dest = to.wrapping_add(s - c.old);
        // A failed move carried the pieces before the failure: their source
        // is unmapped, or, with MREMAP_DONTUNMAP, their destination changed.
        let moved = match r {
            Ok(_) => true,
            Err(_) if c.flags & MREMAP_DONTUNMAP != 0 => {
                let now = mapped_pieces(&p.mm, dest, e.saturating_sub(s));
                now != clip(target, dest, dest.saturating_add(e.saturating_sub(s)))
            }
            Err(_) => p.mm.vma_at(s).is_none(),
        };
        if s >= e || !moved {
            continue;
        }
        p.content.clear(dest, dest.saturating_add(e - s));
        p.content.relocate(s, e - s, dest);
    }
    if r.is_ok() {
        for &(s, e) in pieces {
            p.content.clear(s, e);
        }
    }
    forget_unmapped(p);
}

/// The parts of `pieces` inside `[start, end)`.
fn clip(pieces: &[(u64, u64)], start: u64, end: u64) -> Vec<(u64, u64)> {
    pieces
        .iter()
        .map(|&(s, e)| (s.max(start), e.min(end)))
        .filter(|&(s, e)| s < e)
        .collect()
}

/// Drops written bytes that are no longer mapped.
fn forget_unmapped(p: &mut Proc) {
    let mm = &p.mm;
    p.content.retain(|a| mm.vma_at(a).is_some());
}

/// The signal and si_code names the oracle reports.
fn signal(s: Signal) -> Outcome {
    let (name, code) = match s {
        Signal::SegvMaperr => ("SIGSEGV", "SEGV_MAPERR"),
        Signal::SegvAccerr => ("SIGSEGV", "SEGV_ACCERR"),
        Signal::SegvPkuerr => ("SIGSEGV", "SEGV_PKUERR"),
        Signal::Bus => ("SIGBUS", "BUS_ADRERR"),
    };
    Outcome::Signal {
        name: name.into(),
        code: Some(code.into()),
    }
}
