// SPDX-License-Identifier: GPL-2.0-or-later
//! The model of every kernel the lab reproduces: each shipped scenario's
//! expectations (with their `expect when kernel>=...` variants) hold on a
//! model of Linux 6.1, 6.12, 6.18 and 7.2, or the scenario is skipped there
//! (`min-kernel`). The booted kernels are checked by `vmalab check
//! --kernel`; this keeps the profiles honest without qemu.

use std::path::{Path, PathBuf};

use vmalab::check::check;
use vmalab::host::HostConfig;
use vmalab::model::run_model;
use vmalab::scenario::{collect_files, parse_file, parse_version};

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    collect_files(&[dir]).expect("scenario directory")
}

#[track_caller]
fn all_hold_on(version: &str) {
    let mut host = HostConfig::detect();
    host.version = parse_version(version);
    let mut ran = 0;
    let mut failed = Vec::new();
    for path in scenarios() {
        let sc = parse_file(&path).expect("shipped scenarios parse");
        let model = run_model(&sc, &host);
        if model.trace.skipped.is_some() {
            continue;
        }
        ran += 1;
        for f in check(&sc, &model.trace) {
            failed.push(format!("{}: {f}", path.display()));
        }
    }
    assert!(ran > 100, "only {ran} scenarios ran on {version}");
    assert!(failed.is_empty(), "on {version}:\n{}", failed.join("\n"));
}

#[test]
fn expectations_hold_on_a_model_of_6_1() {
    all_hold_on("6.1.158");
}

#[test]
fn expectations_hold_on_a_model_of_6_12() {
    all_hold_on("6.12.118");
}

#[test]
fn expectations_hold_on_a_model_of_6_18() {
    all_hold_on("6.18.44");
}

#[test]
fn expectations_hold_on_a_model_of_7_2() {
    all_hold_on("7.2.13");
}
