// SPDX-License-Identifier: GPL-2.0-or-later
//! Runs scenario files on the chosen kernel -- the host's, one at a time,
//! or a booted one, all in one boot -- and returns each file's kernel
//! trace with the configuration the model must reproduce.

use std::path::PathBuf;

use anyhow::anyhow;

use crate::host::HostConfig;
use crate::oracle::{decode_run, run_kernel_with, KernelTrace, OracleOptions};
use crate::scenario::{parse_file, Scenario};
use crate::vm::frame::Frame;
use crate::vm::{BootOptions, GuestRun, KernelImage, KernelSpec};

/// Which kernel runs the scenarios, and how.
#[derive(Clone, Debug)]
pub struct KernelChoice {
    pub spec: KernelSpec,
    /// Runner options on the host (the guest sets its own timeout).
    pub oracle: OracleOptions,
    pub boot: BootOptions,
}

impl Default for KernelChoice {
    fn default() -> Self {
        KernelChoice {
            spec: KernelSpec::Host,
            oracle: OracleOptions::default(),
            boot: BootOptions::default(),
        }
    }
}

/// One file's run.
pub struct FileRun {
    pub path: PathBuf,
    /// The parsed scenario and its kernel trace; an error if the file
    /// does not parse or the run failed.
    pub result: anyhow::Result<(Scenario, KernelTrace)>,
}

/// The runs of a command.
pub struct Runs {
    /// The kernel's configuration, for the model.
    pub host: HostConfig,
    /// A line naming a booted kernel and the boot's duration.
    pub header: Option<String>,
    pub files: Vec<FileRun>,
}

/// Runs every file on the chosen kernel.
pub fn run_files(paths: &[PathBuf], choice: &KernelChoice) -> anyhow::Result<Runs> {
    match &choice.spec {
        KernelSpec::Host => {
            let host = HostConfig::detect();
            let files = paths
                .iter()
                .map(|path| FileRun {
                    path: path.clone(),
                    result: parse_file(path).and_then(|sc| {
                        let k = run_kernel_with(&sc, &choice.oracle, &host)?;
                        Ok((sc, k))
                    }),
                })
                .collect();
            Ok(Runs {
                host,
                header: None,
                files,
            })
        }
        spec => run_in_guest(paths, spec, &choice.boot),
    }
}

/// One boot for all files.
fn run_in_guest(paths: &[PathBuf], spec: &KernelSpec, boot: &BootOptions) -> anyhow::Result<Runs> {
    let image = crate::vm::obtain(spec)?;
    let parsed: Vec<anyhow::Result<Scenario>> = paths.iter().map(|p| parse_file(p)).collect();
    let runnable: Vec<&Scenario> = parsed.iter().filter_map(|r| r.as_ref().ok()).collect();
    let booted = run_booted(&image, &runnable, boot)?;
    let mut traces = booted.traces.into_iter();
    let files = paths
        .iter()
        .zip(parsed)
        .map(|(path, r)| FileRun {
            path: path.clone(),
            result: r.and_then(|sc| {
                let k = traces
                    .next()
                    .unwrap_or_else(|| Err(anyhow!("no trace for this scenario")))?;
                Ok((sc, k))
            }),
        })
        .collect();
    Ok(Runs {
        host: booted.host,
        header: Some(booted.header),
        files,
    })
}

/// What one boot of an already obtained image gave for a list of
/// scenarios.
pub struct Booted {
    /// The guest's configuration, for the model.
    pub host: HostConfig,
    /// A line naming the kernel, the CPU and the boot's duration.
    pub header: String,
    /// Each scenario's kernel trace, in order.
    pub traces: Vec<anyhow::Result<KernelTrace>>,
}

/// Runs `scenarios` inside `image` in one boot.
pub fn run_booted(
    image: &KernelImage,
    scenarios: &[&Scenario],
    boot: &BootOptions,
) -> anyhow::Result<Booted> {
    let run = crate::vm::run_in_guest(image, scenarios, boot)?;
    let header = format!(
        "kernel {} ({}, cpu {}): {} scenarios in {:.1} s{}",
        run.host.release,
        image.name,
        boot.cpu,
        scenarios.len(),
        run.elapsed.as_secs_f64(),
        if run.complete {
            ""
        } else {
            " (the guest stopped early)"
        }
    );
    let traces = scenarios
        .iter()
        .enumerate()
        .map(|(i, sc)| guest_trace(sc, i, &run))
        .collect();
    Ok(Booted {
        host: run.host,
        header,
        traces,
    })
}

/// The kernel trace of runnable scenario `index` of a guest run.
fn guest_trace(sc: &Scenario, index: usize, run: &GuestRun) -> anyhow::Result<KernelTrace> {
    let frame = run.frames.iter().find(|f| match f {
        Frame::Run(i, _) | Frame::Skip(i, _) | Frame::Error(i, _) => *i == index,
        _ => false,
    });
    match frame {
        Some(Frame::Run(_, raw)) => decode_run(sc, raw, &run.host),
        Some(Frame::Skip(_, why)) => Ok(crate::oracle::skipped(why.clone(), &run.host)),
        Some(Frame::Error(_, e)) => Err(anyhow!("{e}")),
        _ => Err(anyhow!(
            "the guest stopped before this scenario ran; its console ended:\n{}",
            run.console_tail
        )),
    }
}
