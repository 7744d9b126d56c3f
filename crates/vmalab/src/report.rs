// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab kernel`: run scenarios on the live kernel, print each step's
//! outcome and the layouts, check the `expect` lines.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use crate::check::check;
use crate::kernels::{run_files, KernelChoice};
use crate::oracle::KernelTrace;
use crate::scenario::{collect_files, Scenario};

/// Options of the `kernel` command.
#[derive(Clone, Debug, Default)]
pub struct KernelOptions {
    pub paths: Vec<PathBuf>,
    /// Print the layout after every step, not only when it changed.
    pub all_layouts: bool,
    /// The kernel to run on (the host's by default).
    pub kernel: KernelChoice,
}

/// How one scenario went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
    Skipped,
}

/// Runs the command; returns true if every scenario passed or was skipped.
pub fn kernel_command(opts: &KernelOptions) -> anyhow::Result<bool> {
    let files = collect_files(&opts.paths)?;
    if files.is_empty() {
        anyhow::bail!("no scenario files given");
    }
    let runs = run_files(&files, &opts.kernel)?;
    let mut out = std::io::stdout().lock();
    if let Some(h) = &runs.header {
        writeln!(out, "{h}")?;
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for f in &runs.files {
        let verdict = match &f.result {
            Err(e) => {
                writeln!(out, "== {}\nerror: {e:#}\n", f.path.display())?;
                Verdict::Failed
            }
            Ok((sc, kt)) => {
                let (text, verdict) =
                    render(&f.path.display().to_string(), sc, kt, opts.all_layouts);
                writeln!(out, "{text}")?;
                verdict
            }
        };
        match verdict {
            Verdict::Passed => passed += 1,
            Verdict::Failed => failed += 1,
            Verdict::Skipped => skipped += 1,
        }
    }
    writeln!(
        out,
        "scenarios: {passed} passed, {failed} failed, {skipped} skipped"
    )?;
    crate::verify::bail_on_bad_input(&crate::verify::unparsable(&files))?;
    Ok(failed == 0)
}

/// Renders one scenario's kernel run and its expectation check.
pub fn render(file: &str, sc: &Scenario, kt: &KernelTrace, all_layouts: bool) -> (String, Verdict) {
    let mut s = String::new();
    let _ = write!(s, "== {file}: {}", sc.name);
    if let Some(w) = &kt.window {
        let _ = write!(s, " (window {} pages at {:#x}", w.pages, w.base);
        if let Some(k) = &kt.kernel {
            let _ = write!(s, ", kernel {k}");
        }
        s.push(')');
    }
    s.push('\n');
    if let Some(why) = &kt.trace.skipped {
        let _ = writeln!(s, "skipped: {why}");
        return (s, Verdict::Skipped);
    }
    let failures = check(sc, &kt.trace);
    let mut last_layout = None;
    for r in &kt.trace.steps {
        let Some(step) = sc.steps.get(r.index) else {
            continue;
        };
        let _ = writeln!(
            s,
            "{:>5}  {}  -> {}",
            format!("L{}", step.line),
            step.kind,
            r.outcome
        );
        if all_layouts || last_layout != Some(&r.layout) {
            for line in r.layout.to_string().lines() {
                let _ = writeln!(s, "         {line}");
            }
        }
        last_layout = Some(&r.layout);
        for f in failures.iter().filter(|f| f.line == step.line) {
            for (i, line) in f.message.lines().enumerate() {
                let lead = if i == 0 { "FAIL: " } else { "      " };
                let _ = writeln!(s, "       {lead}{line}");
            }
        }
    }
    let ran: Vec<usize> = kt.trace.steps.iter().map(|r| r.index).collect();
    for f in &failures {
        let shown = sc
            .steps
            .iter()
            .enumerate()
            .any(|(i, st)| st.line == f.line && ran.contains(&i));
        if !shown {
            let _ = writeln!(s, "       FAIL: {f}");
        }
    }
    let expects: usize = sc.steps.iter().map(|st| st.expect.len()).sum();
    let verdict = if failures.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed
    };
    let _ = writeln!(
        s,
        "-- {}: {} ({} steps, {} expectations, {} failed)",
        sc.name,
        if failures.is_empty() { "PASS" } else { "FAIL" },
        sc.steps.len(),
        expects,
        failures.len()
    );
    (s, verdict)
}
