// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab run FILE`: a scenario on the model only. Prints each step's
//! outcome, checks the expectations, and prints the final address space
//! in `/proc/PID/maps` form; with `--explain` the merge verdicts after
//! each step, with `--render OUT` a picture of the timeline.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::check::check;
use crate::explain::{scenario_space, window_verdict_lines};
use crate::host::HostConfig;
use crate::model::run_model;
use crate::scenario::parse_file;

/// What `run` adds to the outcomes.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// After each step, the merge verdicts on the window's adjacent VMAs.
    pub explain: bool,
    /// Also draw the scenario's timeline to this .svg or .html file.
    pub render: Option<PathBuf>,
}

/// Runs the command; returns true if every expectation held.
pub fn run_command(path: &Path) -> anyhow::Result<bool> {
    run_command_with(path, &RunOptions::default())
}

/// Runs the command with `opts`; returns true if every expectation held.
pub fn run_command_with(path: &Path, opts: &RunOptions) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    let host = HostConfig::detect();
    let sc = parse_file(path)?;
    let model = run_model(&sc, &host);
    if let Some(why) = &model.trace.skipped {
        writeln!(out, "skipped: {why}")?;
        return Ok(true);
    }
    for r in &model.trace.steps {
        if let Some(step) = sc.steps.get(r.index) {
            writeln!(
                out,
                "{:>5}  {}  -> {}",
                format!("L{}", step.line),
                step.kind,
                r.outcome
            )?;
            if opts.explain {
                if let Ok(space) = scenario_space(&sc, &host, Some(r.index + 1)) {
                    write!(out, "{}", window_verdict_lines(&space, "         "))?;
                }
            }
        }
    }
    let failures = check(&sc, &model.trace);
    for f in &failures {
        writeln!(out, "FAIL: {f}")?;
    }
    writeln!(
        out,
        "-- window of {} pages at {:#x}; address space:",
        model.window.pages, model.window.base
    )?;
    if let Some(maps) = &model.maps {
        write!(out, "{maps}")?;
    }
    drop(out);
    if let Some(pic) = &opts.render {
        crate::render::render_command(path, pic, None)?;
    }
    Ok(failures.is_empty())
}
