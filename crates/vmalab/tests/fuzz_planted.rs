// SPDX-License-Identifier: GPL-2.0-or-later
//! The fuzzer against the live kernel: the real model shows no divergence
//! on a fixed seed, and a deliberately planted model bug is caught and
//! shrunk to a handful of steps that still show it.

use std::path::PathBuf;

use vmalab::fuzz::{fuzz, FuzzOptions};
use vmalab::model::{ModelOptions, PlantedBug};
use vmalab::oracle::OracleOptions;

fn opts(seed: u64, cases: u64, model: ModelOptions, dir: &str) -> FuzzOptions {
    FuzzOptions {
        seed,
        cases,
        ops: 30,
        out_dir: std::env::temp_dir().join(dir),
        oracle: OracleOptions {
            runner: Some(PathBuf::from(env!("CARGO_BIN_EXE_vmalab"))),
            check_kept_layouts: true,
            ..Default::default()
        },
        model,
        ..Default::default()
    }
}

#[test]
fn real_model_agrees_with_the_kernel_on_a_fixed_seed() {
    let found = fuzz(&opts(11, 40, ModelOptions::default(), "vmalab-fuzz-real")).unwrap();
    if let Some(f) = found {
        panic!("divergence:\n{}\n{}", f.scenario, f.report);
    }
}

#[test]
fn planted_bug_is_caught_and_shrunk() {
    let planted = ModelOptions {
        plant: Some(PlantedBug::MprotectDropsExec),
    };
    let f = fuzz(&opts(1, 200, planted, "vmalab-fuzz-planted"))
        .unwrap()
        .expect("the planted bug is found");
    assert!(
        f.steps_after < f.steps_before,
        "shrunk: {} -> {}",
        f.steps_before,
        f.steps_after
    );
    assert!(f.steps_after <= 3, "minimal case:\n{}", f.scenario);
    let mprotects: Vec<&str> = f
        .scenario
        .lines()
        .filter(|l| l.starts_with("mprotect"))
        .collect();
    assert_eq!(mprotects.len(), 1, "{}", f.scenario);
    assert!(mprotects[0].contains("PROT_EXEC"), "{}", f.scenario);
    assert!(f.report.contains("first divergence"), "{}", f.report);
    let written = std::fs::read_to_string(&f.path).unwrap();
    assert!(written.starts_with(&f.scenario), "{written}");
    assert!(written.contains("# first divergence"), "{written}");
    assert!(f.reproduced);
}

/// The same planted bug, caught inside a booted Linux 7.2 and shrunk in
/// batched rounds (one boot each). Runs where qemu and the 7.2 image are
/// already at hand (`vmalab check --kernel 7.2` fetches it); says why
/// otherwise.
#[test]
fn planted_bug_is_caught_and_shrunk_in_a_booted_kernel() {
    let spec: vmalab::vm::KernelSpec = "7.2".parse().unwrap();
    let image = match vmalab::vm::at_hand(&spec) {
        Ok(Some(image)) => image,
        _ => {
            eprintln!("skipped: no cached Linux 7.2 image (run `vmalab check --kernel 7.2` once)");
            return;
        }
    };
    if std::process::Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: qemu-system-x86_64 is not installed");
        return;
    }
    let planted = ModelOptions {
        plant: Some(PlantedBug::MprotectDropsExec),
    };
    let mut o = opts(1, 60, planted, "vmalab-fuzz-planted-booted");
    o.guest = Some(vmalab::fuzz::GuestKernel {
        image,
        boot: vmalab::vm::BootOptions {
            vmalab: Some(PathBuf::from(env!("CARGO_BIN_EXE_vmalab"))),
            ..Default::default()
        },
    });
    let f = fuzz(&o).unwrap().expect("the planted bug is found");
    assert!(f.reproduced);
    assert!(f.steps_after <= 3, "minimal case:\n{}", f.scenario);
    assert!(f.report.contains("first divergence"), "{}", f.report);
}
