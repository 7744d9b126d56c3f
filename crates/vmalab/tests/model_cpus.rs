// SPDX-License-Identifier: GPL-2.0-or-later
//! The model on every kind of machine, on every machine: each shipped
//! scenario's expectations (including `expect when pku` / `when !pku`,
//! `when CAP_IPC_LOCK` ...) hold on a model of this host's kernel with and
//! without protection keys, as root and as an unprivileged user, whichever
//! kind of CPU and user runs the test.

use std::path::{Path, PathBuf};

use vmalab::check::check;
use vmalab::host::HostConfig;
use vmalab::model::run_model;
use vmalab::scenario::{collect_files, parse_file};

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    collect_files(&[dir]).expect("scenario directory")
}

/// Runs every scenario on the model of `host` and returns the failures.
fn failures_on(host: &HostConfig) -> (usize, Vec<String>) {
    let mut ran = 0;
    let mut out = Vec::new();
    for path in scenarios() {
        let sc = parse_file(&path).expect("shipped scenarios parse");
        let model = run_model(&sc, host);
        if model.trace.skipped.is_some() {
            continue;
        }
        ran += 1;
        for f in check(&sc, &model.trace) {
            out.push(format!("{}: {f}", path.display()));
        }
    }
    (ran, out)
}

/// This host as a machine with or without protection keys, whose task
/// holds every capability (root) or none.
fn host(pku: bool, root: bool) -> HostConfig {
    let mut host = HostConfig::detect();
    host.features.cpu.pku = pku;
    host.features.cap_eff = Some(if root { !0 } else { 0 });
    host.features.pkeys_exhausted = false;
    host
}

#[track_caller]
fn all_hold(host: &HostConfig) {
    let (ran, failed) = failures_on(host);
    assert!(ran > 100, "only {ran} scenarios ran");
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn expectations_hold_on_a_model_cpu_with_protection_keys() {
    all_hold(&host(true, true));
}

#[test]
fn expectations_hold_on_a_model_cpu_without_protection_keys() {
    all_hold(&host(false, true));
}

/// A kernel build whose key map starts full without `pku` (Debian's).
#[test]
fn expectations_hold_on_a_model_kernel_whose_pkeys_start_exhausted() {
    let mut h = host(false, true);
    h.features.pkeys_exhausted = true;
    all_hold(&h);
}

#[test]
fn expectations_hold_on_a_model_cpu_with_5_level_paging() {
    let mut h = host(true, true);
    h.features.cpu.la57 = true;
    all_hold(&h);
}

#[test]
fn expectations_hold_for_an_unprivileged_user_with_protection_keys() {
    all_hold(&host(true, false));
}

#[test]
fn expectations_hold_for_an_unprivileged_user_without_protection_keys() {
    all_hold(&host(false, false));
}
