// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab check`: every scenario runs on the live kernel and on the model;
//! they must agree step by step (outcome and layout), and both must meet
//! the scenario's expectations. On a divergence the first divergent step is
//! shown with both layouts side by side.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use crate::check::check;
use crate::diff::{diff, DiffKind};
use crate::host::HostConfig;
use crate::kernels::{run_files, KernelChoice};
use crate::layout::Layout;
use crate::model::run_model;
use crate::oracle::{run_kernel_with, OracleOptions};
use crate::scenario::{collect_files, parse_file, Scenario};
use crate::trace::Trace;
use crate::vm::{BootOptions, KernelSpec};

/// Options of the `check` command.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    pub oracle: OracleOptions,
    /// Print every scenario, not only failures.
    pub verbose: bool,
    /// The kernel to check against: the host's, or one booted under qemu.
    pub kernel: KernelSpec,
    /// How to boot it (ignored for the host).
    pub boot: BootOptions,
    /// For a failing scenario, the model's merge verdicts at the first
    /// divergent step (or at the end).
    pub explain: bool,
    /// Draw each failing scenario's model timeline into this directory
    /// (`NAME.html`).
    pub render: Option<PathBuf>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            paths: Vec::new(),
            oracle: OracleOptions::default(),
            verbose: false,
            kernel: KernelSpec::Host,
            boot: BootOptions::default(),
            explain: false,
            render: None,
        }
    }
}

/// How one scenario went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Kernel and model agree and meet every expectation.
    Agreed,
    /// Not run on this host (`min-kernel`, `requires`), with the reason.
    Skipped(String),
    /// Divergence, failed expectation or error, with the report.
    Failed(String),
}

/// Runs one parsed scenario on both sides and judges it.
pub fn check_scenario(sc: &Scenario, host: &HostConfig, oracle: &OracleOptions) -> Verdict {
    let kernel = match run_kernel_with(sc, oracle, host) {
        Ok(k) => k,
        Err(e) => return Verdict::Failed(format!("kernel run failed: {e:#}")),
    };
    if let Some(why) = &kernel.trace.skipped {
        return Verdict::Skipped(why.clone());
    }
    let model = run_model(sc, host);
    judge(sc, &kernel.trace, &model.trace)
}

/// Compares a kernel trace with a model trace of the same scenario.
pub fn judge(sc: &Scenario, kernel: &Trace, model: &Trace) -> Verdict {
    let mut report = String::new();
    let diffs = diff(sc, kernel, model);
    if let Some(d) = diffs.first() {
        let step = &sc.steps[d.index];
        let _ = writeln!(report, "first divergence at line {}: {}", d.line, step.kind);
        let k = kernel.steps.iter().find(|r| r.index == d.index);
        let m = model.steps.iter().find(|r| r.index == d.index);
        let outcome = |r: Option<&crate::trace::StepResult>| {
            r.map_or("(not run)".to_string(), |r| r.outcome.to_string())
        };
        let _ = writeln!(report, "  kernel: {}", outcome(k));
        let _ = writeln!(report, "  model:  {}", outcome(m));
        let empty = Layout::default();
        let kl = k.map_or(&empty, |r| &r.layout);
        let ml = m.map_or(&empty, |r| &r.layout);
        if matches!(d.what, DiffKind::Layout { .. }) || kl != ml {
            report.push_str(&side_by_side(kl, ml));
        }
        if diffs.len() > 1 {
            let _ = writeln!(report, "  ({} more divergent steps)", diffs.len() - 1);
        }
    }
    let kernel_misses = check(sc, kernel);
    let model_misses = check(sc, model);
    if diffs.is_empty() && !kernel_misses.is_empty() && kernel_misses == model_misses {
        // Not a model bug: the model of this kernel does what the kernel
        // does, and the scenario expects what another version does.
        let v = kernel
            .kernel
            .map_or("this kernel".to_string(), |v| format!("Linux {v}"));
        let _ = writeln!(
            report,
            "{v} and the model of it agree; the scenario expects another version's behaviour:"
        );
        for f in &kernel_misses {
            let _ = writeln!(report, "  version difference at {f}");
        }
    } else {
        for (side, misses) in [("kernel", &kernel_misses), ("model", &model_misses)] {
            for f in misses.iter() {
                let _ = writeln!(report, "{side} misses an expectation at {f}");
            }
        }
    }
    if report.is_empty() {
        Verdict::Agreed
    } else {
        Verdict::Failed(report)
    }
}

/// Two layouts in columns, `kernel | model`, with `*` marking lines that differ.
pub fn side_by_side(kernel: &Layout, model: &Layout) -> String {
    let k: Vec<String> = kernel.to_string().lines().map(str::to_string).collect();
    let m: Vec<String> = model.to_string().lines().map(str::to_string).collect();
    let width = k.iter().map(String::len).max().unwrap_or(0).max(6);
    let mut s = format!("    {:<width$} | model\n", "kernel");
    for i in 0..k.len().max(m.len()) {
        let a = k.get(i).map_or("", String::as_str);
        let b = m.get(i).map_or("", String::as_str);
        let mark = if a == b { ' ' } else { '*' };
        let _ = writeln!(s, "  {mark} {a:<width$} | {b}");
    }
    s
}

/// Runs the command; returns true if no scenario failed.
pub fn check_command(opts: &CheckOptions) -> anyhow::Result<bool> {
    let files = collect_files(&opts.paths)?;
    if files.is_empty() {
        anyhow::bail!("no scenario files given");
    }
    let choice = KernelChoice {
        spec: opts.kernel.clone(),
        oracle: opts.oracle.clone(),
        boot: opts.boot.clone(),
    };
    let runs = run_files(&files, &choice)?;
    if let Some(h) = &runs.header {
        writeln!(std::io::stdout().lock(), "{h}")?;
    }
    let bad_input = unparsable(&files);
    let verdicts: Vec<Verdict> = runs
        .files
        .iter()
        .zip(&bad_input)
        .map(|(f, &bad)| match &f.result {
            Err(e) if bad => Verdict::Failed(format!("{e:#}")),
            Err(e) => Verdict::Failed(format!("kernel run failed: {e:#}")),
            Ok((_, k)) if k.trace.skipped.is_some() => {
                Verdict::Skipped(k.trace.skipped.clone().unwrap_or_default())
            }
            Ok((sc, k)) => {
                let model = run_model(sc, &runs.host);
                match judge(sc, &k.trace, &model.trace) {
                    Verdict::Failed(report) if opts.explain => {
                        Verdict::Failed(report + &explain_failure(sc, &k.trace, &model, &runs.host))
                    }
                    v => v,
                }
            }
        })
        .collect();
    let failing: Vec<&PathBuf> = files
        .iter()
        .zip(&verdicts)
        .zip(&bad_input)
        .filter(|((_, v), &bad)| matches!(v, Verdict::Failed(_)) && !bad)
        .map(|((f, _), _)| f)
        .collect();
    let passed = print_verdicts(&files, verdicts, opts.verbose)?;
    if let Some(dir) = &opts.render {
        render_failures(dir, &failing)?;
    }
    bail_on_bad_input(&bad_input)?;
    Ok(passed)
}

/// Draws the model's timeline of each failing scenario into `dir`.
fn render_failures(dir: &std::path::Path, failing: &[&PathBuf]) -> anyhow::Result<()> {
    if failing.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    for f in failing {
        let stem = f
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy());
        let out = dir.join(format!("{stem}.html"));
        if let Err(e) = crate::render::render_command(f, &out, None) {
            writeln!(std::io::stdout().lock(), "render {}: {e:#}", f.display())?;
        }
    }
    Ok(())
}

/// The model's merge verdicts in the window at the first step where the
/// kernel and the model diverge (or after the last step).
fn explain_failure(
    sc: &Scenario,
    kernel: &Trace,
    model: &crate::model::ModelTrace,
    host: &HostConfig,
) -> String {
    let at = diff(sc, kernel, &model.trace)
        .first()
        .map_or(sc.steps.len(), |d| d.index + 1);
    match crate::explain::scenario_space(sc, host, Some(at)) {
        Ok(space) => format!(
            "model's merge verdicts after step {at}:\n{}",
            crate::explain::window_verdict_lines(&space, "  ")
        ),
        Err(why) => format!("no merge verdicts: {why}\n"),
    }
}

/// Which of the files cannot be read or parsed.
pub(crate) fn unparsable(files: &[PathBuf]) -> Vec<bool> {
    files.iter().map(|p| parse_file(p).is_err()).collect()
}

/// Scenario files that cannot be read or parsed are bad input, not
/// failing scenarios: after the others ran, the command fails with an
/// error (exit status 2).
pub(crate) fn bail_on_bad_input(unparsable: &[bool]) -> anyhow::Result<()> {
    let n = unparsable.iter().filter(|&&b| b).count();
    if n > 0 {
        anyhow::bail!("{n} scenario file(s) could not be read or parsed (see above)");
    }
    Ok(())
}

/// Prints each verdict and the totals; true if none failed.
fn print_verdicts(
    files: &[PathBuf],
    verdicts: Vec<Verdict>,
    verbose: bool,
) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (path, verdict) in files.iter().zip(verdicts) {
        match verdict {
            Verdict::Agreed => {
                passed += 1;
                if verbose {
                    writeln!(out, "ok    {}", path.display())?;
                }
            }
            Verdict::Skipped(why) => {
                skipped += 1;
                writeln!(out, "skip  {}: {why}", path.display())?;
            }
            Verdict::Failed(report) => {
                failed += 1;
                writeln!(out, "FAIL  {}", path.display())?;
                for line in report.lines() {
                    writeln!(out, "      {line}")?;
                }
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed, {skipped} skipped")?;
    Ok(failed == 0)
}
