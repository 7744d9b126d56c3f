// SPDX-License-Identifier: GPL-2.0-or-later
//! `vmalab fuzz`: random scenarios run on the kernel and on the model;
//! the first divergence is shrunk to a minimal scenario, written to a file
//! and reported.

pub mod gen;
pub mod rng;
pub mod shrink;

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::diff::diff;
use crate::host::HostConfig;
use crate::model::{run_model_with, ModelOptions};
use crate::oracle::{run_kernel_with, OracleOptions};
use crate::scenario::parse;
use crate::verify::{judge, Verdict};
use rng::Rng;

/// Options of the `fuzz` command.
#[derive(Clone, Debug)]
pub struct FuzzOptions {
    pub seed: u64,
    pub cases: u64,
    pub ops: usize,
    /// Where a shrunk failing scenario is written.
    pub out_dir: PathBuf,
    pub oracle: OracleOptions,
    /// Model options (a planted bug, in tests of the fuzzer itself).
    pub model: ModelOptions,
}

/// A divergence found by the fuzzer.
#[derive(Clone, Debug)]
pub struct Finding {
    pub case: u64,
    /// The shrunk scenario text, and where it was written.
    pub scenario: String,
    pub path: PathBuf,
    /// The comparison report of the shrunk scenario.
    pub report: String,
    /// Steps in the original and in the shrunk scenario.
    pub steps_before: usize,
    pub steps_after: usize,
}

/// Runs one generated scenario text on both sides; the report if they
/// disagree or a side misbehaves.
fn run_case(text: &str, host: &HostConfig, opts: &FuzzOptions) -> Option<String> {
    let sc = match parse("fuzz", text) {
        Ok(sc) => sc,
        Err(e) => return Some(format!("generated scenario does not parse: {e}")),
    };
    let kernel = match run_kernel_with(&sc, &opts.oracle, host) {
        Ok(k) => k,
        Err(e) => return Some(format!("kernel run failed: {e:#}")),
    };
    let model = run_model_with(&sc, host, &opts.model);
    // Generated scenarios carry no expectations: a case fails only where the
    // two sides differ (a crash both sides agree on is not a failure).
    if diff(&sc, &kernel.trace, &model.trace).is_empty() {
        return None;
    }
    match judge(&sc, &kernel.trace, &model.trace) {
        Verdict::Failed(report) => Some(report),
        _ => None,
    }
}

/// Runs the campaign; `Ok(None)` if no case diverged.
pub fn fuzz(opts: &FuzzOptions) -> anyhow::Result<Option<Finding>> {
    let host = HostConfig::detect();
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(opts.cases);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cases {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    for case in 0..opts.cases {
        let mut rng = Rng::new(opts.seed.wrapping_mul(0x1_0000_0001).wrapping_add(case));
        let name = format!("fuzz_s{}_c{case}", opts.seed);
        let text = gen::scenario(&mut rng, &name, opts.ops, gen::ALL_OPS);
        bar.inc(1);
        if run_case(&text, &host, opts).is_none() {
            continue;
        }
        bar.finish_and_clear();
        let shrunk = shrink::shrink(&text, |t| run_case(t, &host, opts).is_some());
        let report = run_case(&shrunk, &host, opts).unwrap_or_default();
        std::fs::create_dir_all(&opts.out_dir)?;
        let path = opts.out_dir.join(format!("{name}.scenario"));
        std::fs::write(&path, &shrunk)?;
        return Ok(Some(Finding {
            case,
            steps_before: shrink::split(&text).1.len(),
            steps_after: shrink::split(&shrunk).1.len(),
            scenario: shrunk,
            path,
            report,
        }));
    }
    bar.finish_and_clear();
    Ok(None)
}
