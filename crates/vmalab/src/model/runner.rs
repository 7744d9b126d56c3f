// SPDX-License-Identifier: GPL-2.0-or-later
//! Runs a scenario on the model: the same window (with the same guards),
//! the same window rule and argument resolution (`machine::run_step`),
//! each step on the model machine (`machine.rs`), and the layout after
//! each step.

use super::config::config_for;
use super::layout::{window_layout, FileNames};
use super::machine::{Creds, Model};
use crate::host::HostConfig;
use crate::machine::{run_step, Bindings};
use crate::outcome::Outcome;
use crate::scenario::{Arg, FileSource, Scenario};
use crate::trace::{StepResult, Trace};
use crate::window::{Window, FAR_ALIGN, RUNNER_VMAS};
use vma::sys::consts::{MAP_ANONYMOUS, MAP_FIXED, MAP_SHARED, PROT_NONE};
use vma::{File, FileKind, Mm};

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
    /// `mlock` succeeds without locking: only VmFlags (`lo`) show it.
    MlockLocksNothing,
}

/// How to run the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelOptions {
    pub plant: Option<PlantedBug>,
}

/// Runs `scenario` on a model of `host`'s kernel.
pub fn run_model(scenario: &Scenario, host: &HostConfig) -> ModelTrace {
    run_model_with(scenario, host, &ModelOptions::default())
}

/// Runs `scenario` on a model of `host`'s kernel with `opts`.
pub fn run_model_with(scenario: &Scenario, host: &HostConfig, opts: &ModelOptions) -> ModelTrace {
    let far = (host.legacy_va_layout.unwrap_or(0) == 0).then(|| model_far_top(host.page_size));
    let window = Window {
        base: MODEL_WINDOW_BASE,
        pages: scenario.window_pages,
        page_size: host.page_size,
        far,
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
        let file = match f.source {
            FileSource::Memfd => {
                let bytes = f.size.value(host.page_size).max(0) as u64;
                let file = File::new(
                    &format!("/memfd:{} (deleted)", f.name),
                    bytes.div_ceil(host.page_size),
                    FileKind::Shmem,
                    f.readable,
                    f.writable,
                )
                .with_size_bytes(bytes);
                if f.sealable {
                    file.sealable()
                } else {
                    file
                }
            }
            FileSource::DevZero => File::dev_zero(f.readable, f.writable),
            FileSource::Pipe => {
                File::unmappable("pipe", f.readable, f.writable).on_pseudo_filesystem()
            }
            FileSource::Dir => File::unmappable("/", f.readable, f.writable),
            FileSource::Socket => File::socket(),
            // Made with IPC_PRIVATE: key 0.
            FileSource::Shm => File::sysv_segment(0, f.size.value(host.page_size).max(0) as u64),
            FileSource::Secret => File::secretmem(f.size.value(host.page_size).max(0) as u64),
        };
        names.declared.insert(file.inner().ino, f.name.clone());
        files.push((f.name.clone(), file));
    }
    let mut config = config_for(host);
    let own = 2 + usize::from(far.is_some());
    config.max_map_count = config.max_map_count.saturating_sub(RUNNER_VMAS - own);
    let mut mm = Mm::new(config);
    place_guards(&mut mm, &window);
    if let Some(top) = far {
        place_far_top(&mut mm, top, host.page_size);
    }
    let hard = |r: crate::host::Rlimit| r.hard.unwrap_or(vma::config::RLIM_INFINITY);
    let creds = Creds {
        hard: [
            hard(host.rlimit_data),
            hard(host.rlimit_stack),
            hard(host.rlimit_memlock),
            hard(host.rlimit_as),
        ],
        caps: host.features.cap_eff.unwrap_or(0),
    };
    let mut model = Model::new(mm, &files, window.page_size, *opts, creds);
    model.runner_extra_vmas = RUNNER_VMAS - own;
    // The oracle names shmem objects per process, as each copy of the
    // runner meets them: a fork child starts from its parent's names, and
    // the names it gives are gone when it exits.
    let mut parents_names = Vec::new();
    let mut children_names: Vec<FileNames> = Vec::new();
    let mut bindings = Bindings::default();
    for (index, step) in scenario.steps.iter().enumerate() {
        let mut outcome = run_step(
            &mut model,
            &window,
            &mut bindings,
            &scenario.files,
            &step.kind,
        );
        if let Outcome::Ok(_) = outcome {
            match (step.kind.keyword(), step.kind.args.first()) {
                ("fork", _) => parents_names.push(names.clone()),
                // A waiting child exits, or this process does.
                ("wait", _) if !children_names.is_empty() => children_names.clear(),
                ("wait", _) => names = parents_names.pop().unwrap_or(names),
                ("in", Some(Arg::Bool(true))) => {
                    let parent = parents_names.pop().unwrap_or_default();
                    children_names.insert(0, std::mem::replace(&mut names, parent));
                }
                ("in", _) if !children_names.is_empty() => {
                    let child = children_names.remove(0);
                    parents_names.push(std::mem::replace(&mut names, child));
                }
                _ => {}
            }
        }
        let mut layout = window_layout(model.current(), &window, &mut names);
        if model.current().process().pkey_rights[0] & 1 != 0 {
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
    let maps = Some(model.current().maps());
    ModelTrace {
        trace,
        window,
        maps,
        mm: Some(model.into_current()),
    }
}
/// The model's far region top: a PMD boundary just below its default
/// `mmap_base`.
fn model_far_top(ps: u64) -> u64 {
    let base = vma::sys::Process::default().mmap_base;
    (base - ps) / FAR_ALIGN * FAR_ALIGN
}

/// Makes `top` the far region's top as the oracle runner does: the
/// allocator searches below it (it is `mmap_base`), and a one-page
/// PROT_NONE shared-anonymous mapping on it keeps what lands below from
/// merging or growing upwards.
fn place_far_top(mm: &mut Mm, top: u64, ps: u64) {
    let process = vma::sys::Process {
        mmap_base: top,
        ..mm.process().clone()
    };
    let _ = mm.set_process(process);
    let flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
    let _ = mm.mmap(top, ps, PROT_NONE, flags, None, 0);
}

/// The oracle's one-page PROT_NONE shared-anonymous guards on both sides.
fn place_guards(mm: &mut Mm, w: &Window) {
    let flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
    let _ = mm.mmap(w.base - w.page_size, w.page_size, PROT_NONE, flags, None, 0);
    let _ = mm.mmap(w.end(), w.page_size, PROT_NONE, flags, None, 0);
}
