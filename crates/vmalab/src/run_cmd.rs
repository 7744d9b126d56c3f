// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab run FILE`: a scenario on the model only. Prints each step's
//! outcome, checks the expectations, and prints the final address space
//! in `/proc/PID/maps` form.

use std::io::Write as _;
use std::path::Path;

use crate::check::check;
use crate::host::HostConfig;
use crate::model::run_model;
use crate::scenario::parse_file;

/// Runs the command; returns true if every expectation held.
pub fn run_command(path: &Path) -> anyhow::Result<bool> {
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
    Ok(failures.is_empty())
}
