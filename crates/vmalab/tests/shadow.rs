// SPDX-License-Identifier: GPL-2.0-or-later
//! Shadowing real programs: the model follows every memory call of a
//! program under ptrace and agrees with the kernel; a planted model bug
//! is caught. The programs are this crate's own oracle runner (which
//! makes exactly the calls of a scenario) and the shell.

use std::path::PathBuf;

use vmalab::model::PlantedBug;
use vmalab::shadow::trace::{replay, ReplayOptions};
use vmalab::shadow::{shadow, ShadowOptions, ShadowSummary};

fn runner_on(scenario: &str, plant: Option<PlantedBug>) -> Option<ShadowSummary> {
    let dir = std::env::temp_dir().join(format!("vmalab-shadow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.scenario", plant.is_some()));
    std::fs::write(&path, scenario).unwrap();
    let opts = ShadowOptions {
        cmd: vec![
            env!("CARGO_BIN_EXE_vmalab").to_string(),
            "oracle-runner".to_string(),
        ],
        stdin: Some(PathBuf::from(&path)),
        plant,
        keep_going: true,
        ..Default::default()
    };
    match shadow(&opts) {
        Ok(s) => Some(s),
        Err(e) => {
            // Containers may forbid ptrace; that is the machine, not the model.
            println!("skipped: cannot trace a child here: {e:#}");
            None
        }
    }
}

const SCENARIO: &str = "\
window 64
file f pages=4 rw
mmap 0 8 PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED
touch write 1
mprotect 2 2 PROT_READ|PROT_EXEC
mmap 16 4 PROT_READ|PROT_WRITE MAP_SHARED|MAP_FIXED fd=f
mremap 16 4 8 MREMAP_MAYMOVE
fork
munmap 4 1
mlock 0 2
madvise 6 2 MADV_DONTNEED
";

#[test]
fn the_model_follows_a_program_that_forks() {
    let Some(s) = runner_on(SCENARIO, None) else {
        return;
    };
    assert_eq!(s.divergences, 0, "{s:?}");
    assert_eq!(s.programs, 2, "{s:?}");
    assert!(s.calls_checked >= 10, "{s:?}");
    assert_eq!(s.exit_status, 0);
}

#[test]
fn a_planted_model_bug_is_caught() {
    let Some(s) = runner_on(SCENARIO, Some(PlantedBug::MprotectDropsExec)) else {
        return;
    };
    assert!(s.divergences >= 1, "{s:?}");
}

/// A bug only VmFlags show (a lock that is not taken) is caught too: an
/// mlock is always compared through smaps, not only through maps.
#[test]
fn a_planted_bug_in_hidden_flags_is_caught() {
    let Some(s) = runner_on(SCENARIO, Some(PlantedBug::MlockLocksNothing)) else {
        return;
    };
    assert_eq!(s.divergences, 1, "{s:?}");
    assert!(s.calls_with_flags >= 2, "{s:?}");
    assert!(s.calls_with_flags < s.calls_checked, "{s:?}");
}

#[test]
fn the_shell_and_its_children_agree_and_the_exit_status_passes_through() {
    let opts = ShadowOptions {
        cmd: [
            "sh",
            "-c",
            "ls / >/dev/null; cat /proc/self/maps >/dev/null; exit 3",
        ]
        .map(String::from)
        .to_vec(),
        ..Default::default()
    };
    let s = match shadow(&opts) {
        Ok(s) => s,
        Err(e) => return println!("skipped: cannot trace a child here: {e:#}"),
    };
    assert_eq!(s.divergences, 0, "{s:?}");
    assert!(s.programs >= 3, "{s:?}");
    assert_eq!(s.exit_status, 3);
}

#[test]
fn a_recorded_run_replays_to_the_same_results_and_layouts() {
    let dir = std::env::temp_dir().join(format!("vmalab-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("s.scenario");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let trace = dir.join("run.trace");
    let opts = ShadowOptions {
        cmd: vec![
            env!("CARGO_BIN_EXE_vmalab").to_string(),
            "oracle-runner".to_string(),
        ],
        stdin: Some(scenario),
        record: Some(trace.clone()),
        keep_going: true,
        ..Default::default()
    };
    let s = match shadow(&opts) {
        Ok(s) => s,
        Err(e) => return println!("skipped: cannot trace a child here: {e:#}"),
    };
    let r = replay(&trace, &ReplayOptions::default()).unwrap();
    assert_eq!(r.mismatches, 0);
    assert_eq!(r.calls, s.calls_checked);
    assert_eq!(r.spaces, 2);
    // The trace as a timeline: a row per call that changed a layout, each
    // naming its call; the scenario's mprotect split and the child's munmap
    // are among them, and a call that changes nothing (MADV_DONTNEED) is not.
    let page = dir.join("run.svg");
    let render = std::process::Command::new(env!("CARGO_BIN_EXE_vmalab"))
        .args([
            "render",
            trace.to_str().unwrap(),
            "-o",
            page.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(render.status.success(), "{render:?}");
    let svg = std::fs::read_to_string(&page).unwrap();
    let rows: Vec<&str> = svg
        .lines()
        .filter(|l| l.contains("class=\"rowlabel\""))
        .collect();
    assert!(rows.len() >= 5, "{rows:#?}");
    assert!(rows.iter().all(|l| l.contains(">call ")), "{rows:#?}");
    assert!(rows.iter().any(|l| l.contains("mprotect(")), "{rows:#?}");
    assert!(
        rows.iter()
            .any(|l| l.contains("(space 1") && l.contains("munmap(")),
        "{rows:#?}"
    );
    assert!(!rows.iter().any(|l| l.contains("madvise(")), "{rows:#?}");
    // A damaged trace is an error naming the file and line, not a panic.
    let text = std::fs::read_to_string(&trace).unwrap();
    let damaged = dir.join("damaged.trace");
    let cut: Vec<&str> = text.lines().collect();
    let mut bad = cut[..cut.len() / 2].join("\n");
    bad.push_str("\ncall 0 nine\n");
    std::fs::write(&damaged, bad).unwrap();
    let e = replay(&damaged, &ReplayOptions::default()).unwrap_err();
    assert!(format!("{e:#}").contains("damaged.trace:"), "{e:#}");
}

/// An strace log of a program that forks and execs replays on the model
/// with every recorded result reproduced.
#[test]
fn an_strace_log_replays_with_the_recorded_results() {
    let dir = std::env::temp_dir().join(format!("vmalab-strace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("sh.strace");
    let traced = std::process::Command::new("strace")
        .args([
            "-f",
            "-ttt",
            "-X",
            "raw",
            "-e",
            "trace=%memory,%process",
            "-o",
        ])
        .arg(&log)
        .args(["sh", "-c", "ls / >/dev/null; true"])
        .status();
    match traced {
        Ok(s) if s.success() => {}
        _ => {
            eprintln!("skipped: strace is missing or cannot trace here");
            return;
        }
    }
    let config = vmalab::model::config_for(&vmalab::host::HostConfig::detect());
    let s = vmalab::shadow::foreign::replay_strace(&log, config).unwrap();
    assert!(s.calls > 20, "{s:?}");
    assert!(s.spaces >= 2, "{s:?}");
    assert_eq!(s.differ, 0, "{}", s.report("strace"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A syzkaller program runs on the model after the executor's data
/// region; a malformed one is an error naming its line.
#[test]
fn a_syzkaller_program_replays_and_a_bad_one_names_its_line() {
    let dir = std::env::temp_dir().join(format!("vmalab-syz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("repro.syz");
    std::fs::write(
        &good,
        "mmap(&(0x7f0000000000/0x3000)=nil, 0x3000, 0x3, 0x32, 0xffffffffffffffff, 0x0)\n\
         mprotect(&(0x7f0000001000/0x1000)=nil, 0x1000, 0x1)\n",
    )
    .unwrap();
    let config = vmalab::model::config_for(&vmalab::host::HostConfig::detect());
    let s = vmalab::shadow::foreign::replay_syz(&good, config.clone()).unwrap();
    assert_eq!(s.calls, 2);
    let bad = dir.join("bad.syz");
    std::fs::write(
        &bad,
        "mmap(&(0x7f0000000000/0x3000)=nil, 0x3000, zz, 0x32)\n",
    )
    .unwrap();
    let e = vmalab::shadow::foreign::replay_syz(&bad, config).unwrap_err();
    assert!(format!("{e:#}").contains("bad.syz:1"), "{e:#}");
    std::fs::remove_dir_all(&dir).ok();
}
