// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab explain INPUT [--at STEP] [ADDR | A B]`: why neighbouring VMAs
//! did not merge. INPUT is a scenario (run on the model up to a step), a
//! vmalab trace (replayed up to a call) or a maps/smaps snapshot. Every
//! verdict comes from the model's own merge rules
//! ([`vma::Mm::merge_verdict`]), in words, naming the kernel function
//! whose rule decided it.

use std::borrow::Borrow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use vma::verdict::{MergeVerdict, PairVerdict};
use vma::{Mm, VmaId};

use crate::host::HostConfig;
use crate::scenario::Scenario;
use crate::snapshot::Snapshot;
use crate::window::Window;

/// What kind of input a file is.
pub enum Input {
    Scenario(Scenario),
    /// A vmalab trace (`vmalab record`).
    Trace(PathBuf),
    Snapshot(Snapshot),
}

/// Reads `path` as a trace, a maps/smaps snapshot or a scenario, by its
/// contents.
pub fn read_input(path: &Path) -> anyhow::Result<Input> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.starts_with("vmalab-trace ") {
        return Ok(Input::Trace(path.to_path_buf()));
    }
    if looks_like_maps(first) {
        let snap = crate::snapshot::parse(&path.display().to_string(), &text)?;
        return Ok(Input::Snapshot(snap));
    }
    let sc = crate::scenario::parse(&path.display().to_string(), &text)?;
    Ok(Input::Scenario(sc))
}

/// `START-END ` in hex: a maps line.
fn looks_like_maps(line: &str) -> bool {
    let Some((range, _)) = line.split_once(' ') else {
        return false;
    };
    range.split_once('-').is_some_and(|(s, e)| {
        let hex = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit());
        hex(s) && hex(e)
    })
}

/// An address space to explain, with what is needed to name its VMAs.
/// It owns its `Mm` or, for a glance at one that lives elsewhere (a trace
/// being replayed), borrows it.
pub struct Space<M: Borrow<Mm> = Mm> {
    pub mm: M,
    /// What it is: `scenario X after step N (L12 mprotect ...)`.
    pub title: String,
    /// A scenario's window (VMAs are named by window page).
    pub window: Option<Window>,
    /// A snapshot's mappings (for names the model does not know).
    pub snapshot: Option<Snapshot>,
}

impl<M: Borrow<Mm>> Space<M> {
    /// The address space.
    fn mm(&self) -> &Mm {
        self.mm.borrow()
    }

    /// One VMA in words.
    pub fn label(&self, id: VmaId) -> String {
        let Some(v) = self.mm().get(id) else {
            return format!("{id:?}");
        };
        if let Some(w) = &self.window {
            let e = self.mm().map_entry(v);
            let perms = std::str::from_utf8(&e.perms).unwrap_or("????");
            let page = |a: u64| (a as i128 - w.base as i128) / w.page_size as i128;
            let name = if e.name.is_empty() {
                String::new()
            } else {
                format!(" {}", e.name)
            };
            return format!("pages {}-{} {perms}{name}", page(v.start), page(v.end));
        }
        let name = self
            .snapshot
            .as_ref()
            .and_then(|s| crate::maps_cmd::snap_name(s, v.start));
        crate::maps_cmd::describe(self.mm(), id, name)
    }

    /// The name a VMA shows in maps (a snapshot's own name where it has
    /// one: the model does not know `[vdso]`).
    pub fn name(&self, id: VmaId) -> String {
        let Some(v) = self.mm().get(id) else {
            return String::new();
        };
        if let Some(n) = self
            .snapshot
            .as_ref()
            .and_then(|s| crate::maps_cmd::snap_name(s, v.start))
        {
            return n.to_string();
        }
        self.mm().map_entry(v).name
    }

    /// A verdict in words.
    pub fn words(&self, v: &MergeVerdict) -> String {
        match (&self.snapshot, v) {
            (Some(s), _) => crate::maps_cmd::snapshot_reason(v, s.smaps),
            (None, MergeVerdict::Merges) => "would merge now: every rule agrees (no merge was \
                 attempted since they became compatible)"
                .to_string(),
            (None, MergeVerdict::Refused(why)) => {
                format!("{why} -- decided by {}()", why.kernel_function())
            }
        }
    }

    /// Resolves an address argument: `0x...` (or bare hex for snapshots)
    /// is absolute; for a scenario a bare number is a window page.
    pub fn address(&self, arg: &str) -> anyhow::Result<u64> {
        let bad = || anyhow::anyhow!("bad address {arg:?}");
        if let Some(h) = arg.strip_prefix("0x") {
            return u64::from_str_radix(h, 16).map_err(|_| bad());
        }
        match &self.window {
            Some(w) => {
                let page: u64 = arg.parse().map_err(|_| bad())?;
                page.checked_mul(w.page_size)
                    .and_then(|o| o.checked_add(w.base))
                    .ok_or_else(bad)
            }
            None => u64::from_str_radix(arg, 16).map_err(|_| bad()),
        }
    }
}

/// A scenario run on the model up to (and including) step `at` (all steps
/// without it); `None` with the reason when this host skips it.
pub fn scenario_space(
    sc: &Scenario,
    host: &HostConfig,
    at: Option<usize>,
) -> Result<Space, String> {
    let n = at.unwrap_or(sc.steps.len()).min(sc.steps.len());
    let cut = Scenario {
        steps: sc.steps[..n].to_vec(),
        ..sc.clone()
    };
    let run = crate::model::run_model(&cut, host);
    if let Some(why) = run.trace.skipped {
        return Err(why);
    }
    let Some(mm) = run.mm else {
        return Err("the model kept no address space".into());
    };
    let title = match n.checked_sub(1).and_then(|i| sc.steps.get(i)) {
        // A block step (`repeat ... end`) is named by its first line.
        Some(step) => format!(
            "scenario {} after step {n} (L{} {})",
            sc.name,
            step.line,
            step.kind.to_string().lines().next().unwrap_or_default()
        ),
        None => format!("scenario {} before its first step", sc.name),
    };
    Ok(Space {
        mm,
        title,
        window: Some(run.window),
        snapshot: None,
    })
}

/// The address space an input describes, at `at` (scenario steps or
/// trace calls).
pub fn load(input: Input, at: Option<u64>) -> anyhow::Result<Space> {
    match input {
        Input::Scenario(sc) => {
            let host = HostConfig::detect();
            let at = at.map(|a| a as usize);
            scenario_space(&sc, &host, at).map_err(|why| anyhow::anyhow!("skipped: {why}"))
        }
        Input::Trace(path) => {
            let mm = crate::shadow::trace::replay_space(&path, at)?;
            let title = match at {
                Some(n) => format!("trace {} after call {n}", path.display()),
                None => format!("trace {} at its end", path.display()),
            };
            Ok(Space {
                mm,
                title,
                window: None,
                snapshot: None,
            })
        }
        Input::Snapshot(snap) => {
            if at.is_some() {
                bail!("{}: --at needs a scenario or a trace", snap.source);
            }
            let m = crate::snapshot::model(&snap, crate::maps_cmd::snapshot_config())?;
            Ok(Space {
                mm: m.mm,
                title: format!("snapshot {}", snap.source),
                window: None,
                snapshot: Some(snap),
            })
        }
    }
}

/// The pairs to explain: the one at `addrs` (the VMA at A and the one
/// after it, which must hold B if given), or every adjacent pair that is
/// still apart.
pub fn pairs(space: &Space, addrs: &[String]) -> anyhow::Result<Vec<PairVerdict>> {
    let mm = &space.mm;
    match addrs {
        [] => Ok(mm.merge_verdicts()),
        [a, rest @ ..] if rest.len() <= 1 => {
            let at = space.address(a)?;
            let Some(p) = mm.merge_verdict(at) else {
                bail!("no VMA at {at:#x}, or none above it");
            };
            if let Some(b) = rest.first() {
                let bt = space.address(b)?;
                if mm.vma_at(bt) != Some(p.upper) {
                    bail!(
                        "{bt:#x} is not in the VMA after the one at {at:#x} ({})",
                        space.label(p.upper)
                    );
                }
            }
            Ok(vec![p])
        }
        _ => bail!("give one address, two addresses, or none"),
    }
}

/// The verdicts on the pairs inside a scenario's window (the guards
/// around it left out), one line each, indented by `indent`.
pub fn window_verdict_lines(space: &Space, indent: &str) -> String {
    let mut out = String::new();
    let inside = |id| {
        let (Some(w), Some(v)) = (&space.window, space.mm.get(id)) else {
            return true;
        };
        v.start >= w.base && v.end <= w.end()
    };
    for p in space.mm.merge_verdicts() {
        if inside(p.lower) && inside(p.upper) {
            let _ = writeln!(
                out,
                "{indent}{}  |  {}: {}",
                space.label(p.lower),
                space.label(p.upper),
                space.words(&p.verdict)
            );
        }
    }
    out
}

/// The explanation, as printed.
pub fn explain_text(space: &Space, pairs: &[PairVerdict]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} VMAs, {} adjacent pair(s) apart",
        space.title,
        space.mm.map_count(),
        pairs.len()
    );
    for p in pairs {
        let _ = writeln!(out, "{}  |  {}", space.label(p.lower), space.label(p.upper));
        let _ = writeln!(out, "    {}", space.words(&p.verdict));
    }
    out
}

/// `vmalab explain`; with `history`, the history of the VMA at the one
/// address given (scenarios only).
pub fn explain_command(
    path: &Path,
    at: Option<u64>,
    addrs: &[String],
    history: bool,
) -> anyhow::Result<bool> {
    let input = read_input(path)?;
    if history {
        let (Input::Scenario(sc), [addr]) = (&input, addrs) else {
            bail!("--history needs a scenario and one address");
        };
        let host = HostConfig::detect();
        let text = self::history(sc, &host, at.map(|a| a as usize), addr)?;
        use std::io::Write as _;
        std::io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(true);
    }
    let space = load(input, at)?;
    let pairs = pairs(&space, addrs)?;
    use std::io::Write as _;
    std::io::stdout()
        .lock()
        .write_all(explain_text(&space, &pairs).as_bytes())?;
    Ok(true)
}

/// The `[start, end)` of every VMA of an address space, in order.
type Ranges = Vec<(u64, u64)>;

/// The VMA ranges after each step `0..=at` of a scenario (step 0: before
/// the first), and the scenario's window.
fn ranges_by_step(
    sc: &Scenario,
    host: &HostConfig,
    at: usize,
) -> anyhow::Result<(Vec<Ranges>, Window)> {
    let mut out = Vec::new();
    let mut window = None;
    for k in 0..=at {
        let space =
            scenario_space(sc, host, Some(k)).map_err(|w| anyhow::anyhow!("skipped: {w}"))?;
        window = space.window;
        out.push(space.mm.vmas().map(|(_, v)| (v.start, v.end)).collect());
    }
    let window = window.ok_or_else(|| anyhow::anyhow!("the model run has no window"))?;
    Ok((out, window))
}

/// A scenario step for messages: `step 3 (L12 mprotect ...)`.
fn step_words(sc: &Scenario, k: usize) -> String {
    match k.checked_sub(1).and_then(|i| sc.steps.get(i)) {
        Some(s) => format!("step {k} (L{} {})", s.line, s.kind),
        None => "before the first step".to_string(),
    }
}

/// The history of the VMA holding `addr` after step `at` of a scenario:
/// how its range came about step by step (mapped, split, merged with
/// neighbours, grown), and which step made each of its two boundaries.
pub fn history(
    sc: &Scenario,
    host: &HostConfig,
    at: Option<usize>,
    addr: &str,
) -> anyhow::Result<String> {
    let at = at.unwrap_or(sc.steps.len()).min(sc.steps.len());
    let (steps, w) = ranges_by_step(sc, host, at)?;
    let probe = Space {
        mm: vma::Mm::new(vma::Config::default()),
        title: String::new(),
        window: Some(w),
        snapshot: None,
    };
    let a = probe.address(addr)?;
    let page = |x: u64| (x as i128 - w.base as i128) / w.page_size as i128;
    let pages = |r: (u64, u64)| format!("pages {}-{}", page(r.0), page(r.1));
    let holding = |k: usize| steps[k].iter().copied().find(|&(s, e)| s <= a && a < e);
    let Some(last) = holding(at) else {
        bail!("no VMA at {a:#x} after {}", step_words(sc, at));
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "history of the VMA at {} after {}:",
        pages(last),
        step_words(sc, at)
    );
    for k in 1..=at {
        let (before, now) = (holding(k - 1), holding(k));
        if before == now {
            continue;
        }
        let what = match (before, now) {
            (None, Some(r)) => format!("mapped as {}", pages(r)),
            (Some(r), None) => format!("{} unmapped", pages(r)),
            (Some(b), Some(r)) => {
                let parts = steps[k - 1]
                    .iter()
                    .filter(|&&(s, e)| s < r.1 && e > r.0)
                    .count();
                if parts > 1 {
                    format!("{parts} VMAs merged into {}", pages(r))
                } else if r.0 >= b.0 && r.1 <= b.1 {
                    format!("split: {} became {}", pages(b), pages(r))
                } else if r.0 <= b.0 && r.1 >= b.1 {
                    format!("grew from {} to {}", pages(b), pages(r))
                } else {
                    format!("{} became {}", pages(b), pages(r))
                }
            }
            (None, None) => continue,
        };
        let _ = writeln!(out, "  {}: {what}", step_words(sc, k));
    }
    for (side, b) in [("start", last.0), ("end", last.1)] {
        let is_edge = |k: usize| steps[k].iter().any(|&(s, e)| s == b || e == b);
        let mut since = at;
        while since > 0 && is_edge(since - 1) {
            since -= 1;
        }
        let _ = writeln!(
            out,
            "  its {side} (page {}) has been a VMA boundary since {}",
            page(b),
            step_words(sc, since)
        );
    }
    Ok(out)
}
