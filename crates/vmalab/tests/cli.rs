// SPDX-License-Identifier: GPL-2.0-or-later
//! The `vmalab` command line: exit codes and error positions.

use std::path::Path;
use std::process::Command;

fn vmalab(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vmalab"))
        .args(args)
        .output()
        .expect("run vmalab");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

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

    let (code, out) = vmalab(&["kernel", &broken]);
    assert_eq!(code, 1, "{out}");
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
    std::fs::remove_dir_all(d).unwrap();
}
