// SPDX-License-Identifier: GPL-2.0-or-later
//! The `vmalab` command line: exit codes and error positions.

mod common;
use common::vmalab;
use std::path::Path;
use std::process::Command;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vmalab-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn passing_failing_and_malformed_scenarios() {
    let d = temp_dir("kernel");
    let good = write(
        &d,
        "good.scenario",
        "window 4\nmmap 0 1 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\nexpect = 0\n",
    );
    let bad = write(
        &d,
        "bad.scenario",
        "window 4\nmunmap 0 1\nexpect errno EPERM\n",
    );
    let broken = write(&d, "broken.scenario", "window 4\nmunmap 0 x1\n");

    let (code, out) = vmalab(&["kernel", &good]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("scenarios: 1 passed, 0 failed, 0 skipped"),
        "{out}"
    );

    let (code, out) = vmalab(&["kernel", &good, &bad]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL: expected `errno EPERM`, got `= 0`"),
        "{out}"
    );
    assert!(
        out.contains("scenarios: 1 passed, 1 failed, 0 skipped"),
        "{out}"
    );

    // A malformed file is bad input (status 2), not a failing scenario.
    let (code, out) = vmalab(&["kernel", &broken]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(&format!("{broken}:2:10: ")), "{out}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn host_prints_the_configuration() {
    let (code, out) = vmalab(&["host"]);
    assert_eq!(code, 0);
    assert!(out.contains("vm.max_map_count"), "{out}");
    assert!(out.contains("CONFIG_ANON_VMA_NAME"), "{out}");
}

/// Runs vmalab with its stdout a pipe whose reading end is already
/// closed; returns the exit status and what it wrote to stderr.
fn vmalab_into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (read, write) = nix::unistd::pipe().expect("pipe");
    drop(read);
    let out = Command::new(env!("CARGO_BIN_EXE_vmalab"))
        .args(args)
        .stdout(std::process::Stdio::from(write))
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run vmalab");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let d = temp_dir("pipe");
    let good = write(
        &d,
        "good.scenario",
        "window 4\nmmap 0 1 PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED\nexpect = 0\n",
    );
    for args in [
        vec!["run", good.as_str()],
        vec!["check", "-v", good.as_str()],
        vec!["kernel", good.as_str()],
        vec!["harness", "-v"],
        vec!["host"],
        vec![
            "fuzz",
            "--cases",
            "1",
            "--ops",
            "2",
            "--out",
            d.to_str().unwrap(),
        ],
    ] {
        let (code, err) = vmalab_into_closed_pipe(&args);
        assert!(matches!(code, Some(0 | 141)), "{args:?}: {code:?}\n{err}");
        assert!(err.is_empty(), "{args:?} wrote to stderr:\n{err}");
    }
    // shadow goes on supervising its program; its summary is on stderr.
    let (code, err) = vmalab_into_closed_pipe(&["shadow", "-v", "--", "/bin/true"]);
    assert!(!err.contains("panicked"), "shadow: {code:?}\n{err}");
    assert_eq!(code, Some(0), "shadow:\n{err}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn bad_input_files_name_the_file_and_exit_2() {
    let d = temp_dir("bad-input");
    let missing = d.join("missing.scenario").display().to_string();
    let broken = write(
        &d,
        "broken.scenario",
        "window 4\nmmap 0 1 PROT_BOGUS MAP_PRIVATE\n",
    );
    let binary = d.join("binary.scenario");
    std::fs::write(&binary, [0xff, 0xfe, 0, 1]).unwrap();
    let binary = binary.display().to_string();
    for cmd in ["run", "check", "kernel"] {
        let (code, out) = vmalab(&[cmd, &missing]);
        assert_eq!(code, 2, "{cmd}: {out}");
        assert!(
            out.contains(&format!("{missing}: cannot read")),
            "{cmd}: {out}"
        );
        let (code, out) = vmalab(&[cmd, &broken]);
        assert_eq!(code, 2, "{cmd}: {out}");
        assert!(out.contains(&format!("{broken}:2:")), "{cmd}: {out}");
        let (code, out) = vmalab(&[cmd, &binary]);
        assert_eq!(code, 2, "{cmd}: {out}");
        assert!(out.contains(binary.as_str()), "{cmd}: {out}");
        assert!(!out.contains("panicked"), "{cmd}: {out}");
    }
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn bad_option_values_are_usage_errors() {
    for args in [
        &["fuzz", "--cases", "abc"][..],
        &["fuzz", "--seed", "-1"],
        &["fuzz", "--ops", "99999999999999999999999"],
        &["check", "--timeout", "x", "scenarios"],
        &["check", "--timeout", "0", "scenarios"],
        &["kernel", "--timeout", "0", "scenarios"],
        &["run"],
        &["no-such-command"],
    ] {
        let (code, out) = vmalab(args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(!out.contains("panicked"), "{args:?}: {out}");
    }
}
